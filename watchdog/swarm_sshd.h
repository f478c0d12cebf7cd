/* A swarm task's sshd is the bundle's (bundle.h), as a local container's:
 * the home node's bundle bound read-only at BUNDLE_MOUNT. What a local
 * container gets by an upload before its start (sshd's user, /run/sshd),
 * a task gets at its start: swarm starts tasks itself. */
#ifndef SSHBOX_SWARM_SSHD_H
#define SSHBOX_SWARM_SSHD_H

#include <jansson.h>

/* Sets the ContainerSpec's Command and its bundle (under the home node's
 * state dir) and /run/sshd mounts, replacing earlier ones; other mounts
 * stay. */
void swarm_sshd_spec(const char *home_state_dir, json_t *cs);

#endif
