/* One thread per shim request: identify the caller from SO_PEERCRED, read
 * one request with a deadline, answer it; a login's connection then becomes
 * a live session, held by holder.c until the shim goes away. */
#ifndef SSHBOX_SERVER_H
#define SSHBOX_SERVER_H

#include <sys/types.h>

/* Takes ownership of fd. Returns 0 when a handler thread was started. */
int server_spawn(int fd);
/* Answers a connection with an error reply carrying msg, then closes it. */
void server_refuse(int fd, const char *msg);

#endif
