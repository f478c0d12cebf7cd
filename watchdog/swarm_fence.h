/* The home node's fence of a swarm task (docs/design-cluster.md 3.3): the
 * single-host fence (netfence.h) plus every swarm node's address, since a
 * task reaches the nodes' swarm ports (2377, 7946, 4789/udp) through
 * docker_gwbridge's NAT otherwise; then the token that lets the task's
 * gate start sshd (swarm_sshd.h) and the label sshbox.fenced logins wait
 * for. A node that joins later is added to the fences in place. Home
 * thread only. */
#ifndef SSHBOX_SWARM_FENCE_H
#define SSHBOX_SWARM_FENCE_H

#include <sys/types.h>

#include "config.h"
#include "engine.h"

/* Fences the task container (pid: its init): 1 done (*ret_nodes: the node
 * list it holds), 0 to be tried again next round, -1 it cannot be fenced
 * without a hole and was stopped (said in the log). */
int swarm_fence(struct engine *e, const struct config *cfg, const char *user, const char *container,
                const char *task, pid_t pid, unsigned long long *ret_nodes);

/* For a fenced container: when the swarm's node list differs from the one
 * its fence holds (*nodes), applies it again with the new list (a
 * container whose fence cannot be renewed is stopped). The list is read
 * at most every few seconds for all containers. */
void swarm_fence_renew(struct engine *e, const char *user, const char *container, pid_t pid,
                       unsigned long long *nodes);

#endif
