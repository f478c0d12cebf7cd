/* Flattening a user's layer image (docs/design-cluster.md 3.10): every save
 * commits one more layer, and overlay2 refuses an image past ~125, so a
 * save onto an image of swarm_layer_flatten layers or more exports the
 * exited task container's whole filesystem and imports it as a one-layer
 * image under the same name, with the image's config carried over. */
#ifndef SSHBOX_SWARM_FLATTEN_H
#define SSHBOX_SWARM_FLATTEN_H

#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "err.h"

struct flatten_stats {
	size_t depth_before;   /* layers of the image the container ran from */
	long long bytes;       /* the exported filesystem */
	long long image_bytes; /* the new image's size, as the engine says */
	long long ms;
};

/* Flattens container (exited) into image (NAME:TAG) when the image it ran
 * from has min_depth layers or more (min_depth 0: never): 1 and the new
 * image's id in ret_id, 0 when not due, -1 with err (nothing is tagged
 * then). The whole transfer ends within timeout_s. */
int swarm_flatten(struct engine *e, const char *container, const char *image, long min_depth,
                  long timeout_s, char *ret_id, size_t size, struct flatten_stats *ret_stats,
                  struct err *err);

/* The save's use of it, logged once (depth before, bytes, size, seconds;
 * or why not): 1 when user's exited container was flattened into image
 * (its id in ret_id), 0 when not due (below cfg's swarm_layer_flatten) or
 * when it failed, and the save commits on top instead. */
int swarm_flatten_save(struct engine *e, const struct config *cfg, const char *user,
                       const char *container, const char *image, long timeout_s, char *ret_id,
                       size_t size);

/* After a flatten nothing builds on the older layer image: removed (its
 * untagged parents, the earlier saves, with it) once the container that
 * ran from it is gone. Best effort, logged: a kept container of an older
 * save still holds it. */
void swarm_flatten_forget(struct engine *e, const char *user, const char *old);

#endif
