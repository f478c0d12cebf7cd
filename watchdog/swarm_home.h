/* The home node's part of swarm mode (docs/design-cluster.md 3.3-3.5): for
 * every sshbox task container running on this node, the fence, the session
 * count in its network namespace, and the idle stop as versioned
 * compare-and-swaps with a stop mark and a recount. One thread, polling. */
#ifndef SSHBOX_SWARM_HOME_H
#define SSHBOX_SWARM_HOME_H

#include "config.h"
#include "engine.h"
#include "err.h"

int swarm_home_start(void);

/* Sets (value) or removes (NULL) one label of the user's service with the
 * version read, again while others write first; only_if: only while the
 * label has that value. */
int swarm_home_set_label(struct engine *e, const struct config *cfg, const char *user,
                         const char *key, const char *value, const char *only_if, struct err *err);

#endif
