/* The home node's save of one stopped task container (docs/
 * design-cluster.md 3.10, swarm_layer.h): on a thread of its own, stop it,
 * wait for its exit, commit it as INSTANCE-layer:USER (or flatten it into
 * one layer there: swarm_flatten.h) unless its diff holds
 * only what every start writes, then, with the version read, clear the save
 * mark, name the layer and (at 0 replicas) point the service at it, and
 * remove the container. A failed save is tried again (SAVE_TRIES), then the
 * container is kept and named in the service's sshbox.unsaved. */
#ifndef SSHBOX_SWARM_SAVE_H
#define SSHBOX_SWARM_SAVE_H

#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "err.h"

/* Starts saving container (user's, stopped or stopping) on a thread of its
 * own, unless it is being saved already. */
void swarm_save_later(const char *user, const char *container);
/* 1 while container is being saved on this node. */
int swarm_save_busy(const char *container);
/* 1 when the sshbox.unsaved list names container (a save that failed
 * every try: kept for the admin, never removed). */
int swarm_save_kept(const char *unsaved, const char *container);
/* Removes a container (best effort). */
void swarm_save_remove(struct engine *e, const char *id);

#endif
