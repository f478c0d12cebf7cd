/* One shim connection, from accept to close: who is calling (from the
 * kernel), what session it is, and whether it became a live session. */
#ifndef SSHBOX_CONN_H
#define SSHBOX_CONN_H

#include <sys/types.h>

#include "auditmsg.h"
#include "names.h"
#include "proto.h"
#include "session.h"

#define REQUEST_TIMEOUT_MS 10000
#define REPLY_TIMEOUT_MS   10000

struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
	char user[USER_NAME_MAX + 1];
	char session[PROTO_SESSION_LEN + 1];
	struct user_state *held;  /* a live session's user, once the login is answered */
	long long began_ms;       /* when the login was answered (monotonic) */
	struct audit_info *audit; /* what the shim reported of the outer session, or NULL */
	struct audit_end *end;    /* how it said the session ended, or NULL */
};

/* Closes the connection, gives back its admission slot, frees it. */
void conn_end(struct conn *c);
/* Runs fn(c) on a thread of its own (thread_spawn). */
int conn_thread(void *(*fn)(void *), struct conn *c);

#endif
