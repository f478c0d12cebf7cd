/* One thread per shim connection: identify the caller from SO_PEERCRED,
 * read one request with a deadline, answer it, and for a session hold the
 * connection until the shim goes away. */
#ifndef SSHBOX_SERVER_H
#define SSHBOX_SERVER_H

#include <sys/types.h>

/* Takes ownership of fd. Returns 0 when a handler thread was started. */
int server_spawn(int fd);

#endif
