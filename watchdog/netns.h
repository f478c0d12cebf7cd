/* Connecting to a container's sshd from inside the container's own network
 * namespace: no host port, no docker-proxy, nothing another user can squat. */
#ifndef SSHBOX_NETNS_H
#define SSHBOX_NETNS_H

#include <sys/types.h>

#include "err.h"

/* Connects to 127.0.0.1:port in the network namespace of the process of
 * pidfd (pidfd.h: never a bare pid, which may name another process by now), retrying while
 * the port refuses (sshd still starting) until timeout_ms. Returns the
 * connected socket (CLOEXEC), or -1 with err set. Thread-safe: only the
 * calling thread enters the namespace, and it always comes back. */
int netns_connect_pidfd(int pidfd, int port, int timeout_ms, struct err *err);
/* The same to ipv4:port as seen from that namespace (swarm mode: a task's
 * overlay address, from the node's reach container). */
int netns_connect_addr(int pidfd, const char *ipv4, int port, int timeout_ms, struct err *err);

#endif
