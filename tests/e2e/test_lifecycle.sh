#!/usr/bin/env bash
# Issue 2: first login creates the container, the next reuses it, a stopped
# one is started; the home volume survives stop/start.
. "$(dirname "$0")/lib.sh"
u=sbt-bob

remove_container $u
sbx_api DELETE "/images/$SBX_INSTANCE-user:$u?force=1" >/dev/null # a committed image would be used
expect_eq "no container before the first login" 0 "$(container_count $u)"
check "first login succeeds" sbx_ssh $u true
expect_eq "first login created one container" 1 "$(container_count $u)"
first=$(container_field $u .Id)
check "second login succeeds" sbx_ssh $u 'echo persistent > /root/keep'
expect_eq "second login reused it" "$first" "$(container_field $u .Id)"
stop_container $u
check_not "container is stopped" container_running $u
out=$(sbx_ssh $u 'cat /root/keep')
expect_eq "login into a stopped container starts it; home survived" persistent "$out"
expect_eq "still the same container" "$first" "$(container_field $u .Id)"
check "container is running again" container_running $u
image=$(container_field $u .Config.Image)
expect_eq "created from the record's image" sshbox-base:latest "$image"
expect_eq "published on 127.0.0.1 only" 127.0.0.1 \
	"$(container_field $u '.NetworkSettings.Ports["22/tcp"][0].HostIp')"
expect_eq "labelled with its owner" $u "$(container_field $u '.Config.Labels["sshbox.user"]')"
expect_eq "no-new-privileges" no-new-privileges "$(container_field $u '.HostConfig.SecurityOpt | join(",")')"
expect_eq "not privileged" false "$(container_field $u .HostConfig.Privileged)"
expect_eq "pids limit from the config default" 1024 "$(container_field $u .HostConfig.PidsLimit)"
finish
