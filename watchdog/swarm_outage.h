/* A login node when the swarm is not whole (docs/design-cluster.md 3.9):
 * the one line when this node's engine is down or the managers have no
 * quorum, and the login that still reaches a running container without
 * quorum. For that, the node remembers its last login of each user: the
 * task's address, the pinned host key and the inner key. Without a raft
 * leader no swarm read answers, but no stop can happen either, and the
 * pinned host key makes a stale address fail closed. In memory only: a
 * watchdog restarted during the outage serves nobody until quorum is back. */
#ifndef SSHBOX_SWARM_OUTAGE_H
#define SSHBOX_SWARM_OUTAGE_H

#include <stddef.h>

#include "cluster.h"
#include "engine.h"
#include "err.h"
#include "record.h"

/* 0 when the swarm can take lifecycle work; -1 with err: SWARM_ENOQUORUM
 * or SWARM_ENOENGINE (swarm_health.h) with the user's whole line in
 * err->msg (this node named), or another code. Waits up to wait_s for a
 * leader (swarm_health_gate). */
int swarm_outage_gate(struct engine *e, int wait_s, struct err *err);

/* After a login through this node: what a login without quorum needs. */
void swarm_outage_remember(const char *user, const struct user_record *rec,
                           const struct cluster_login *lg, const char *ip, const char *task);
/* The record remembered for user: 0, or -1 when none. */
int swarm_outage_record(const char *user, struct user_record *ret_rec);
/* Without quorum: connects to the task this node last logged user into,
 * from the node's reach container. 0 with *ret filled, -1 when unknown or
 * it does not answer (err untouched: the caller's quorum line stands). */
int swarm_outage_login(struct engine *e, const struct config *cfg, const char *user,
                       struct cluster_login *ret);

/* This node's sshbox.node name, kept for lines written while its own engine
 * is down. */
void swarm_outage_set_self(const char *node);

#endif
