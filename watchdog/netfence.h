/* A fence inside each container's own network namespace: new outgoing
 * connections to the container's own subnets (the other containers and the
 * bridge's gateway, which is the engine's host) and to every address of this
 * host are refused; the internet, the container's loopback and answers to
 * connections made to it stay open (only the reply direction of a tracked
 * connection is let through, so a connection the container opened before the
 * fence went up is cut by it). Container root cannot lift it: it has no
 * NET_ADMIN. Applied with the host's iptables-restore run in that namespace,
 * after every start. */
#ifndef SSHBOX_NETFENCE_H
#define SSHBOX_NETFENCE_H

#include <sys/types.h>

#include "err.h"

/* pid and container_id as the engine gave them: the namespace is entered
 * through a pidfd checked to be that container's init (pidfd.h). */
int netfence_apply(pid_t pid, const char *container_id, struct err *err);

/* What a fence was applied to, to tell whether a container still has it:
 * its network namespace's inode and its init's start time together (0 when
 * unreadable). The inode alone is not enough: the kernel hands a freed
 * namespace's number to the next one (seen within seconds, when Podman
 * stops a container and starts it again), which would pass a fresh,
 * unfenced namespace for the fenced one. */
unsigned long long netfence_key(pid_t pid);
/* The same, and also every IPv4 address in also (NULL-terminated; swarm
 * mode: every node's underlay address, which the task reaches through
 * docker_gwbridge's NAT otherwise). */
int netfence_apply_also(pid_t pid, const char *container_id, const char *const *also,
                        struct err *err);

#endif
