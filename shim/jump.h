/* The "jump" verb: the session's stdin and stdout joined to the container's
 * sshd, so the user's own ssh client speaks SSH end to end with the container
 * (ProxyCommand, the way `ssh -W` works through a jump host). Forwards, IDE
 * remotes, rsync and git then work as the container's sshd allows, enforced
 * inside the container. No libssh here: bytes move with splice(2). */
#ifndef SSHBOX_JUMP_H
#define SSHBOX_JUMP_H

#include "err.h"
#include "inner.h"

struct jump_params {
	int sshd_fd;            /* connected to the container's sshd; the callee owns it */
	int watchdog_fd;        /* the session's reference; watched for notices and restarts */
	const char *session_id; /* for the log */
	inner_rejoin_fn rejoin; /* may be NULL */
	void *rejoin_ctx;
};

struct jump_stats {
	unsigned long long up, down; /* bytes client -> container, container -> client */
};

/* Relays until both directions ended (EOF passed on with shutdown) or one
 * side is gone. -1 with err when the relay could not be set up or failed. */
int jump_relay_run(const struct jump_params *p, struct jump_stats *ret, struct err *err);

#endif
