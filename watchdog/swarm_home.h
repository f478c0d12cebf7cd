/* The home node's part of swarm mode (docs/design-cluster.md 3.3-3.5): for
 * every sshbox task container running on this node, the fence, the session
 * count in its network namespace, and the idle stop as versioned
 * compare-and-swaps with a stop mark and a recount. One thread, polling. */
#ifndef SSHBOX_SWARM_HOME_H
#define SSHBOX_SWARM_HOME_H

int swarm_home_start(void);

#endif
