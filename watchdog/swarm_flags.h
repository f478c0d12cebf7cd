/* In-container flags (daemon, nodaemon, stopnow) in swarm mode
 * (docs/design-cluster.md 3.6). The container runs on its home node H, so
 * its flag dir and commands are H's (flags.h): H's watchdog prepares them
 * for every service placed on it, then writes the service label
 * sshbox.flags = "NODE:STATE_DIR". A login node binds those paths into the
 * task's spec, and before a start it waits for that label: swarm rejects a
 * task whose bind source is missing on its node. */
#ifndef SSHBOX_SWARM_FLAGS_H
#define SSHBOX_SWARM_FLAGS_H

#include <jansson.h>
#include <sys/types.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "session.h"

#define SWARM_LABEL_FLAGS "sshbox.flags"
/* The swarm spec's own revision, after BOX_SPEC_VERSION in sshbox.spec:
 * 1: the flag dir and the commands are bound; 2: the gate is the first
 * process (swarm_sshd.h). */
#define SWARM_SPEC_REV 2

/* Home side, once per polling round: prepares and watches the flag dir of
 * every service placed on this node and publishes it in sshbox.flags. */
void swarm_flags_home_round(struct engine *e, const struct config *cfg);

/* Home side, before the fence of a task container first seen running:
 * when it bound a stale flag dir (swarm restarted it before this node's
 * watchdog prepared the dir, after a reboot), stops it: its end is saved
 * (swarm_exit.h) and the next login starts it anew with the flag dir this
 * node watches; 1 then, else 0. */
int swarm_flags_stale(struct engine *e, const char *user, const char *container, pid_t pid);

/* stopnow from inside a container on this node (flags.c via the seam):
 * queued for the polling thread, which takes it with
 * swarm_flags_stopnow_take: the request's time (mono ms), now cleared, or 0
 * when none is pending for user. */
void swarm_flags_stopnow(struct user_state *u);
long long swarm_flags_stopnow_take(const char *user);

/* Login side, before a touch: when the service is at 0, waits until its
 * home node has published the flag dir (re-reading *svc). */
int swarm_flags_wait(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                     struct err *err);

/* The service's spec identity, "SPEC.REV NODE:STATE_DIR" (label
 * sshbox.spec): when it differs from the label, the spec is rewritten at the
 * next start. */
void swarm_flags_spec_id(json_t *svc, char *buf, size_t size);
/* The home node's state dir it published in sshbox.flags (an absolute
 * path), NULL when not (yet) published for the service's home node. */
const char *swarm_flags_home_dir(json_t *svc);

/* Puts the binds of the flag dir and commands (from svc's sshbox.flags)
 * into spec's ContainerSpec.Mounts, replacing earlier binds. */
int swarm_flags_mounts(const struct config *cfg, json_t *svc, json_t *spec, struct err *err);

#endif
