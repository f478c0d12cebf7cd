#include "container.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "flags.h"
#include "names.h"
#include "netfence.h"
#include "network.h"

/* Bumped whenever the container spec changes what isolates a container. */
#define SPEC_VERSION "2"

/* Capabilities kept (all others dropped), each for the container's sshd or a
 * root user's ordinary work: CHOWN, DAC_OVERRIDE, FOWNER, FSETID (files of
 * any owner, package installs), KILL (signals within the container), SETUID,
 * SETGID (sshd's privilege separation, su), SYS_CHROOT (sshd's privsep
 * chroot), NET_BIND_SERVICE (servers on ports below 1024), AUDIT_WRITE
 * (Debian's sshd writes login audit records and refuses logins without).
 * Not kept: NET_RAW (raw sockets, ARP spoofing), MKNOD (device nodes),
 * SETFCAP and SETPCAP (file and process capability games), and everything
 * Docker never grants (SYS_ADMIN, NET_ADMIN, ...). */
static const char *const kept_caps[] = {"CHOWN",  "DAC_OVERRIDE", "FOWNER",     "FSETID",
                                        "KILL",   "SETUID",       "SETGID",     "SYS_CHROOT",
                                        "NET_BIND_SERVICE",       "AUDIT_WRITE", NULL};

/* The container's sshd: the per-user host key and authorized_keys come from
 * the host (read-only at /etc/sshbox); works with any image's OpenSSH. */
static const char sshd_script[] =
    "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"
    " -h /etc/sshbox/ssh_host_ed25519_key"
    " -o HostKeyAlgorithms=ssh-ed25519"
    " -o AuthorizedKeysFile=/etc/sshbox/authorized_keys"
    " -o PermitRootLogin=prohibit-password"
    " -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no"
    " -o UsePAM=no -o MaxAuthTries=10 -o MaxStartups=512"
    " -o AllowAgentForwarding=yes -o X11Forwarding=yes -o AddressFamily=inet"
    " -o 'AcceptEnv=LANG LC_* SSHBOX_SESSION'";

static json_t *labels(const struct config *cfg, const char *user)
{
	return json_pack("{s:s,s:s}", "sshbox.instance", cfg->instance, "sshbox.user", user);
}

static json_t *container_labels(const struct config *cfg, const char *user)
{
	json_t *l = labels(cfg, user);
	json_object_set_new(l, "sshbox.spec", json_string(SPEC_VERSION));
	return l;
}

static json_t *string_array(const char *const *list)
{
	json_t *a = json_array();
	for (int i = 0; list[i] != NULL; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static long long limit_or(long long v, long long dflt)
{
	return v >= 0 ? v : dflt;
}

static json_t *create_body(const struct config *cfg, const char *user,
                           const struct user_record *rec, const char *image)
{
	char volume[128], etc[512], bind[600], hostname[64], network[128];
	box_volume_name(cfg->instance, user, volume, sizeof(volume));
	user_path(cfg, user, "etc", etc, sizeof(etc));
	snprintf(bind, sizeof(bind), "%s:/etc/sshbox:ro", etc);
	network_name(cfg, network, sizeof(network));
	snprintf(hostname, sizeof(hostname), "%s", user[0] == '_' ? user + 1 : user);
	if (hostname[0] == '\0')
		strcpy(hostname, "sshbox");

	/* Explicit limits within the host's own: Podman's defaults exceed them. */
	struct rlimit nofile = {1024, 1024};
	getrlimit(RLIMIT_NOFILE, &nofile);
	long long files = nofile.rlim_max > 1048576 ? 1048576 : (long long)nofile.rlim_max;

	json_t *host =
	    json_pack("{s:[s], s:[{s:s,s:s,s:s,s:{s:o}}], s:[s], s:b, s:{s:s},"
	              " s:[{s:s,s:I,s:I}]}",
	              "Binds", bind, "Mounts", "Type", "volume", "Source", volume, "Target",
	              "/root", "VolumeOptions", "Labels", labels(cfg, user), "SecurityOpt",
	              "no-new-privileges", "Init", 1, "RestartPolicy", "Name", "no", "Ulimits",
	              "Name", "nofile", "Soft", files, "Hard", files);
	char flag_binds[8][600];
	int n = flags_binds(cfg, user, flag_binds, 8);
	json_t *binds = json_object_get(host, "Binds");
	for (int i = 0; i < n; i++)
		json_array_append_new(binds, json_string(flag_binds[i]));
	for (int i = 0; i < rec->nmounts; i++)
		json_array_append_new(binds, json_string(rec->mounts[i]));
	if (rec->fuse) {
		/* FUSE mounts (sshbox-connect): only where the admin enabled them. */
		json_object_set_new(host, "CapAdd", json_pack("[s]", "SYS_ADMIN"));
		json_object_set_new(host, "Devices",
		                    json_pack("[{s:s,s:s,s:s}]", "PathOnHost", "/dev/fuse",
		                              "PathInContainer", "/dev/fuse", "CgroupPermissions",
		                              "rwm"));
		json_array_append_new(json_object_get(host, "SecurityOpt"),
		                      json_string("apparmor=unconfined"));
	}
	json_object_set_new(host, "CapDrop", json_pack("[s]", "ALL"));
	json_t *caps = string_array(kept_caps);
	json_array_extend(caps, json_object_get(host, "CapAdd"));
	json_object_set_new(host, "CapAdd", caps);
	json_object_set_new(host, "NetworkMode", json_string(network));
	long long memory = limit_or(rec->memory, cfg->default_memory);
	if (memory > 0) {
		json_object_set_new(host, "Memory", json_integer(memory));
		json_object_set_new(host, "MemorySwap", json_integer(memory));
	}
	long long cpus = limit_or(rec->nano_cpus, cfg->default_nano_cpus);
	if (cpus > 0)
		json_object_set_new(host, "NanoCpus", json_integer(cpus));
	long long pids = limit_or(rec->pids, cfg->default_pids);
	if (pids > 0)
		json_object_set_new(host, "PidsLimit", json_integer(pids));
	if (cfg->publish_port)
		json_object_set_new(
		    host, "PortBindings",
		    json_pack("{s:[{s:s,s:s}]}", "22/tcp", "HostIp", "127.0.0.1", "HostPort", ""));
	return json_pack("{s:s, s:s, s:[s,s,s], s:[s], s:o, s:{s:{}}, s:[s], s:o}", "Image", image,
	                 "Hostname", hostname, "Entrypoint", "/bin/sh", "-c", sshd_script, "Cmd",
	                 "sshbox", "Labels", container_labels(cfg, user), "ExposedPorts", "22/tcp", "Env",
	                 "SSHBOX=1", "HostConfig", host);
}

/* The user's committed image when there is one, else the record's. */
static int pick_image(struct engine *e, const struct config *cfg, const char *user,
                      const struct user_record *rec, char *buf, size_t size, struct err *err)
{
	char committed[128];
	box_image_name(cfg->instance, user, committed, sizeof(committed));
	json_t *j = NULL;
	int found = engine_inspect(e, "images", committed, &j, err);
	json_decref(j);
	if (found < 0)
		return -1;
	snprintf(buf, size, "%s", found ? committed : rec->image);
	return 0;
}

static int create(struct engine *e, const struct config *cfg, const char *user,
                  const struct user_record *rec, struct err *err)
{
	char image[CONFIG_STR_MAX], name[128], path[256];
	if (pick_image(e, cfg, user, rec, image, sizeof(image), err) < 0)
		return -1;
	json_t *found = NULL;
	int has = engine_inspect(e, "images", image, &found, err);
	json_decref(found);
	if (has < 0)
		return -1;
	if (has == 0)
		return err_set(err, ENOENT, "image \"%s\" does not exist on the engine", image);
	if (network_ensure(e, cfg, err) < 0)
		return -1;
	box_container_name(cfg->instance, user, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	json_t *body = create_body(cfg, user, rec, image);
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build container spec");
	long status = 0;
	json_t *answer = NULL;
	int rc = engine_request(e, "POST", path, body, 60, &status, &answer, err);
	json_decref(body);
	if (rc == 0) {
		static const long ok[] = {201, 0};
		rc = engine_expect(status, answer, ok, "create container", err);
	}
	json_decref(answer);
	return rc;
}

static int start(struct engine *e, const char *id, struct err *err)
{
	char path[128];
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	long status = 0;
	json_t *answer = NULL;
	int rc = engine_request(e, "POST", path, NULL, 60, &status, &answer, err);
	if (rc == 0) {
		static const long ok[] = {204, 304, 0};
		rc = engine_expect(status, answer, ok, "start container", err);
	}
	json_decref(answer);
	return rc;
}

int container_ensure(struct engine *e, const struct config *cfg, const char *user,
                     const struct user_record *rec, pid_t *fenced_pid,
                     struct container_info *ret_info, struct err *err)
{
	struct container_info info;
	int found = box_lookup(e, cfg, user, &info, err);
	if (found < 0)
		return -1;
	if (found == 0) {
		if (create(e, cfg, user, rec, err) < 0)
			return -1;
		found = box_lookup(e, cfg, user, &info, err);
		if (found <= 0)
			return found < 0 ? -1
			                 : err_set(err, ENOENT, "container vanished after create");
	}
	if (!info.running) {
		if (flags_prepare(cfg, user, err) < 0 || start(e, info.id, err) < 0)
			return -1;
		if (box_lookup(e, cfg, user, &info, err) <= 0)
			return -1;
		if (!info.running)
			return err_set(err, ECHILD, "container stopped right after start");
	}
	/* Once per container start (and once after a watchdog restart). */
	if (*fenced_pid != info.pid) {
		if (netfence_apply(info.pid, err) < 0)
			return err_wrap(err, "cannot fence the container's network");
		*fenced_pid = info.pid;
	}
	*ret_info = info;
	return 0;
}
