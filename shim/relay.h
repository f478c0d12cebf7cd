/* The relay: one poll loop that carries the outer session's stdin, stdout,
 * stderr, window changes and signals to and from the inner channel, plus the
 * agent and X11 channels the container opens back towards the user. */
#ifndef SSHBOX_RELAY_H
#define SSHBOX_RELAY_H

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "err.h"
#include "forward.h"
#include "inner.h"
#include "outq.h"

#define RELAY_CHUNK (64 * 1024)

struct relay {
	ssh_session session;
	ssh_channel channel;
	ssh_event event; /* the session alone: ssh_event_dopoll(event, 0) handles packets */
	int pty;
	int got_status, exit_status, exit_signal;
	char exit_signal_name[16];
	unsigned long long bytes_in; /* from the user to the container */
	/* Set by libssh callbacks when something arrived during any libssh call
	 * (writes and reads may process incoming packets too): the loop then
	 * looks again before it sleeps, so no data waits in libssh unnoticed. */
	int wake;
	struct ssh_callbacks_struct session_cb; /* must outlive the session */
	struct ssh_channel_callbacks_struct channel_cb;
	struct forwards forwards;
	struct outq out, err; /* to fd 1 and fd 2 */
	int watchdog_fd;
	const char *session_id;
	inner_rejoin_fn rejoin;
	void *rejoin_ctx;
	struct castsend *cast; /* the recording, or NULL */
};

void relay_init(struct relay *r, ssh_session s, const struct inner_params *p);
void relay_attach(struct relay *r, ssh_channel ch);
int relay_run(struct relay *r, struct err *err);
void relay_free(struct relay *r);

#endif
