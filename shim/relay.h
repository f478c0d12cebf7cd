/* The relay: one poll loop that carries the outer session's stdin, stdout,
 * stderr, window changes and signals to and from the inner channel, plus the
 * agent and X11 channels the container opens back towards the user. */
#ifndef SSHBOX_RELAY_H
#define SSHBOX_RELAY_H

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "err.h"
#include "inner.h"

#define RELAY_MAX_FORWARDS 64
#define RELAY_CHUNK        (64 * 1024)

/* An agent or X11 channel joined to a local socket. */
struct forward {
	ssh_channel channel;
	int fd;
	int fd_eof; /* the local side finished */
};

struct relay {
	ssh_session session;
	ssh_channel channel;
	ssh_event event; /* the session alone: ssh_event_dopoll(event, 0) handles packets */
	int pty;
	int got_status, exit_status, exit_signal;
	struct ssh_callbacks_struct session_cb;  /* must outlive the session */
	struct ssh_channel_callbacks_struct channel_cb;
	struct forward forwards[RELAY_MAX_FORWARDS];
	int nforwards;
	char x11_display[64]; /* the outer DISPLAY when X11 is forwarded */
	int watchdog_fd;
	inner_rejoin_fn rejoin;
	void *rejoin_ctx;
};

void relay_init(struct relay *r, ssh_session s, const struct inner_params *p);
void relay_attach(struct relay *r, ssh_channel ch);
/* Requests X11 on the channel when the outer session has a DISPLAY. */
void relay_request_x11(struct relay *r);
int relay_run(struct relay *r, struct err *err);
void relay_free(struct relay *r);

#endif
