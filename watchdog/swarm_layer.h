/* The container's writable layer across a stop in swarm mode (docs/
 * design-cluster.md 3.10). Every scale 0 -> 1 is a new task container, so
 * whoever stops a user's service also marks it sshbox.saving=CONTAINER in
 * the same versioned write; the home node then saves that exited container
 * (skipped when its diff holds only what sshd writes at every start) as
 * INSTANCE-layer:USER, points the service at it and clears the mark. A login
 * that reads the mark waits for it to clear before its touch, so it never
 * starts from the older image. remove forgets the layer: the next start is
 * from the committed image (INSTANCE-user:USER) or the record's. Saves run
 * on threads of their own (swarm_save.h), never on the home node's poll. */
#ifndef SSHBOX_SWARM_LAYER_H
#define SSHBOX_SWARM_LAYER_H

#include <jansson.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "record.h"

/* Home node, every poll round: exited task containers of this instance on
 * this node. One the service's sshbox.saving names is saved (after a
 * watchdog restart, or a stop --force written on another node); any other
 * was saved already or is not wanted, and is removed. */
void swarm_layer_scan(struct engine *e, const struct config *cfg);

/* Into spec (a stop's write): mark container to be saved. */
void swarm_layer_mark(json_t *spec, const char *container);
/* Into spec (a remove's write): forget the saved layer and any save under
 * way, so the next start is from the committed or the record's image. */
void swarm_layer_forget(json_t *spec);

/* The image the next task starts from: the saved layer, else the committed
 * image, else the record's. */
void swarm_layer_image(const struct config *cfg, json_t *svc, const struct user_record *rec,
                       char *buf, size_t size);

/* Login node: while *svc carries a save mark, waits (deadline) for the home
 * node to clear it, re-reading *svc; every few seconds home_down(e, *svc,
 * err) says whether the home node is down (1: give up with its err). 0 with
 * *svc unmarked, -1 with err. */
int swarm_layer_wait(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                     int (*home_down)(struct engine *, json_t *, struct err *), struct err *err);

#endif
