/* The shim's inner SSH session: libssh over a socket the watchdog connected
 * to the container's sshd, host key pinned, mirroring the outer session. */
#ifndef SSHBOX_INNER_H
#define SSHBOX_INNER_H

#include "castsend.h"
#include "err.h"

/* Reconnects to the watchdog after it restarted and re-registers this
 * session; returns the new connection or -1 (tried again later). */
typedef int (*inner_rejoin_fn)(void *ctx);

struct inner_params {
	int fd;                     /* connected to the container's sshd; the callee owns it */
	const char *pinned_hostkey; /* "ssh-ed25519 AAAA... [comment]", the only key accepted */
	char *private_key;          /* the user's inner private key, OpenSSH PEM text;
	                               wiped once the inner login is done */
	const char *command;        /* SSH_ORIGINAL_COMMAND verbatim, or NULL for a shell */
	const char *session_id;     /* UUID; SSHBOX_SESSION in the container */
	int watchdog_fd;            /* the session's reference; watched for hangup */
	inner_rejoin_fn rejoin;     /* may be NULL */
	struct castsend *cast;      /* the session's recording, or NULL */
	void *rejoin_ctx;
};

struct inner_result {
	int exit_status;           /* inner exit status; 255 when neither status nor signal came */
	int exit_signal;           /* 0, or the signal the inner command died of */
	char exit_signal_name[16]; /* its name as the container's sshd sent it */
	unsigned long long bytes_in, bytes_out; /* from and to the user */
};

/* Runs the session to its end. -1 with err set when setup failed (nothing
 * ran). The outer tty is restored on every path. */
int inner_session_run(const struct inner_params *p, struct inner_result *ret, struct err *err);

#endif
