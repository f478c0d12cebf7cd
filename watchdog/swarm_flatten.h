/* Flattening a user's layer image (docs/design-cluster.md 3.10): every save
 * commits one more layer, and overlay2 refuses an image past ~125, so a
 * save onto an image of swarm_layer_flatten layers or more exports the
 * exited task container's whole filesystem and imports it as a one-layer
 * image under the same name, with the image's config carried over. */
#ifndef SSHBOX_SWARM_FLATTEN_H
#define SSHBOX_SWARM_FLATTEN_H

#include <stddef.h>

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

#endif
