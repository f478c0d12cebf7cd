/* Live sessions. A session is only its shim's connection, held open for as
 * long as the session lasts; one epoll thread waits on all of them (not a
 * thread each: 500 sessions cost 500 small structs). When a connection has
 * something to say, a short-lived thread reads it: the shim's "hangup" hangs
 * up that session's processes in the container and the wait goes on;
 * anything else, or the connection's end, ends the session. */
#ifndef SSHBOX_HOLDER_H
#define SSHBOX_HOLDER_H

#include "conn.h"

int holder_start(void);
/* Takes c (c->held set, the session already counted) until the session ends. */
void holder_add(struct conn *c);

#endif
