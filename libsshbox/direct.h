/* Sessions that bypass the shim: established TCP connections to the
 * container's sshd that did not come over its loopback (users who tunnel to
 * the published port), read host-side from the container's namespace. */
#ifndef SSHBOX_DIRECT_H
#define SSHBOX_DIRECT_H

#include <sys/types.h>

/* Counts them in the network namespace of pid; 0 when unreadable. */
int direct_sessions(pid_t pid);
/* Counts them in /proc/net/tcp-format text (tcp6 when v6); for tests. */
int direct_sessions_parse(const char *text, int v6);

#endif
