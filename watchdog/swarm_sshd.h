/* A swarm task's sshd is the bundle's (bundle.h), as a local container's:
 * the home node's bundle bound read-only at BUNDLE_MOUNT. What a local
 * container gets before its start (sshd's user, /run/sshd, the fence), a
 * task gets at its start, since swarm starts tasks itself: its first
 * process is the bundle's gate (gate/sshbox-gate.c), which waits until the
 * home node has fenced the task, then starts sshd. The home node says so
 * by creating STATE/users/USER/fence/TASK, a directory bound read-only at
 * SWARM_FENCE_MOUNT that only it writes. */
#ifndef SSHBOX_SWARM_SSHD_H
#define SSHBOX_SWARM_SSHD_H

#include <jansson.h>

#include "config.h"
#include "err.h"

#define SWARM_FENCE_MOUNT "/.sshbox/fence"

/* Sets the ContainerSpec's Command (the gate, then sshd), its task id in
 * Env, and its bundle, fence dir (both under the home node's state dir)
 * and /run/sshd mounts, replacing earlier ones; other mounts stay. */
void swarm_sshd_spec(const char *home_state_dir, const char *user, json_t *cs);

/* Home side: makes the user's fence dir (root's, 0755) if missing. */
int swarm_sshd_fence_dir(const struct config *cfg, const char *user, struct err *err);

/* Home side, once task's network namespace is fenced: creates its token,
 * after removing any other (an earlier task's), so its gate starts sshd. */
int swarm_sshd_release(const struct config *cfg, const char *user, const char *task,
                       struct err *err);

#endif
