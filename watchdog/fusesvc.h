/* The FUSE service: FUSE mounts in a container that holds no mount
 * privilege. For each user whose record has fuse on, the watchdog keeps
 * state/users/NAME/fuse/ (root-owned, bind-mounted read-only at
 * FUSE_SOCKET_DIR in that user's container only) with a socket it serves
 * and its own copy of the static client sshbox-fuse. A request is answered
 * only for a process whose mount, pid and network namespaces are those of
 * that user's container init (SO_PEERCRED + pidfd); the watchdog then opens
 * /dev/fuse, mounts it at the asked directory inside the container (see
 * fusemount.h) and passes the descriptor back. Protocol: fuseproto.h. */
#ifndef SSHBOX_FUSESVC_H
#define SSHBOX_FUSESVC_H

#include <stddef.h>

#include "config.h"
#include "err.h"

/* Makes the user's FUSE dir (client, socket) and serves it; before the
 * container is created. */
int fusesvc_prepare(const struct config *cfg, const char *user, struct err *err);
/* Serves the user's socket when their record has fuse on and nobody serves
 * it yet (after a watchdog restart). */
void fusesvc_watch(const struct config *cfg, const char *user);
/* The bind spec of the user's FUSE dir (read-only). */
int fusesvc_bind(const struct config *cfg, const char *user, char *buf, size_t size);

#endif
