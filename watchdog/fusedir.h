/* A FUSE user's directory on the host, state/users/NAME/fuse: root's, 0755,
 * holding the user's own copy of the static client sshbox-fuse and the
 * socket the watchdog serves (root's, 0600: only the container's root may
 * ask). Mounted read-only into that user's container. */
#ifndef SSHBOX_FUSEDIR_H
#define SSHBOX_FUSEDIR_H

#include "err.h"

/* Makes dir if missing and copies the client in (always when
 * refresh_client, else only when it is missing). */
int fusedir_prepare(const char *dir, int refresh_client, struct err *err);
/* Binds a fresh socket dir/sock and listens; returns it (CLOEXEC). */
int fusedir_listen(const char *dir, struct err *err);

#endif
