/* Channels the container opens back towards the user: agent requests (to
 * the outer SSH_AUTH_SOCK) and X11 clients (to the outer DISPLAY), each
 * joined to a local socket. */
#ifndef SSHBOX_FORWARD_H
#define SSHBOX_FORWARD_H

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "outq.h"

#define FORWARD_MAX 32

struct forward {
	ssh_channel channel;
	struct ssh_channel_callbacks_struct cb; /* only to set *wake */
	int fd_eof;                             /* the local side finished */
	struct outq out;                        /* channel -> local socket (out.fd) */
};

struct forwards {
	ssh_session session;
	int *wake;            /* set when data or EOF arrives on a forward channel */
	char x11_display[64]; /* the outer DISPLAY once X11 was granted */
	int n;
	struct forward *f[FORWARD_MAX];
};

/* Callbacks for ssh_callbacks_struct; userdata is the struct forwards. */
ssh_channel forward_agent_open(ssh_session s, void *userdata);
ssh_channel forward_x11_open(ssh_session s, const char *addr, int port, void *userdata);
/* Requests X11 on ch when the outer session has a DISPLAY and a cookie. */
void forward_request_x11(struct forwards *fw, ssh_channel ch);
/* Moves channel data to local sockets; closes finished forwards. */
void forward_pump_out(struct forwards *fw);
/* The local socket of forward i is readable. */
void forward_pump_in(struct forwards *fw, int i, char *buf, size_t size);
void forward_close_all(struct forwards *fw);

#endif
