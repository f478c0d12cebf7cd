/* Every user of the cluster (engine_mode = swarm, docs/design-cluster.md
 * 3.8), from a manager's API: the instance's services, their tasks and the
 * nodes. What `sshbox list` and `sshbox status` print on any node. Library
 * code: it does not log. */
#ifndef SSHBOX_SWARM_LIST_H
#define SSHBOX_SWARM_LIST_H

#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "names.h"

struct swarm_row {
	char user[USER_NAME_MAX + 1];
	char node[64];      /* the home node (label sshbox.node), "?" when unset */
	char task_node[64]; /* where the running task is, "" when none runs */
	char state[300];    /* running, stopped, stopping, starting, pending: REASON,
	                       home node down (NODE STATE) */
	char image[CONFIG_STR_MAX];
	char container[80]; /* the running task's container, "" when none */
	int running;        /* a task runs (its node may be down: see state) */
	int here;           /* ... on this node: its sessions can be counted here */
};

/* The rows, sorted by user (only: one user's row, or none). *ret_rows is
 * malloc'd (free it), *ret_n may be 0. */
int swarm_list(struct engine *e, const struct config *cfg, const char *only,
               struct swarm_row **ret_rows, size_t *ret_n, struct err *err);

#endif
