/* An exit that is not a stop, in swarm mode (docs/design-cluster.md 3.10):
 * services run with RestartPolicy none, so a task that ends on its own (its
 * sshd killed, the home node's dockerd restarted, a failed fence) leaves the
 * service at 1 replica with no task meant to run, and its container exited
 * on the home node. The home node turns that into a stop (scale to 0, save
 * mark, with the version read) and saves the layer as at any stop; a login
 * meanwhile waits for it rather than start a new task from the older
 * image. */
#ifndef SSHBOX_SWARM_EXIT_H
#define SSHBOX_SWARM_EXIT_H

#include <jansson.h>

#include "config.h"
#include "engine.h"
#include "err.h"

/* The user's tasks as the orchestrator sees them. */
struct swarm_exit {
	int meant;          /* a task has DesiredState running */
	char newest[80];    /* the task changed last (highest Version.Index) */
	char container[80]; /* its container, "" when it never had one */
	char state[24];     /* its Status.State */
	int removed;        /* its DesiredState is remove: scaled away by a stop */
	char why[200];      /* its Status.Err, else Status.Message */
};

/* Reads the user's tasks: 0 and *ret, -1 with err. */
int swarm_exit_read(struct engine *e, const struct config *cfg, const char *user,
                    struct swarm_exit *ret, struct err *err);

/* 1 when svc (at 1 replica, no save mark) has no task meant to run and its
 * last task's container ran and ended unplanned (not scaled away, not the
 * stop named by sshbox.stopped): the home node will save it. */
int swarm_exit_unplanned(json_t *svc, const struct swarm_exit *x);

/* Home node, for an exited task container of this node that no mark names
 * (labels: the container's): 1 when it is the unplanned end of its user's
 * task and is (being) turned into a stop here, so it must be kept; 0 when
 * not. */
int swarm_exit_convert(struct engine *e, const struct config *cfg, const char *container,
                       json_t *labels);

/* Login node, before its touch: while *svc shows an unplanned exit, waits
 * (deadline) for the home node to turn it into a stop, re-reading *svc;
 * home_down as swarm_layer_wait's. 0 nothing to wait for (*ret: the tasks
 * as read), 1 waited (read the service again), -1 with err. */
int swarm_exit_wait(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                    int (*home_down)(struct engine *, json_t *, struct err *),
                    struct swarm_exit *ret, struct err *err);

#endif
