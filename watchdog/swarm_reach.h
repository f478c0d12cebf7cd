/* This node's reach container (swarm mode): a small container of the
 * instance's image on the overlay network, doing nothing; the watchdog opens
 * its sockets to tasks' sshds from its network namespace (the host itself is
 * not on the overlay). Created and started when missing. */
#ifndef SSHBOX_SWARM_REACH_H
#define SSHBOX_SWARM_REACH_H

#include "config.h"
#include "engine.h"
#include "err.h"

/* A pidfd (CLOEXEC) of the reach container's init, ready for setns. */
int swarm_reach_pidfd(struct engine *e, const struct config *cfg, struct err *err);

#endif
