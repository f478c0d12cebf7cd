#include "inner.h"

#include <errno.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"
#include "relay.h"

#define INNER_TIMEOUT_S 20
#define INNER_CIPHERS   "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"

/* The handshake runs in non-blocking mode with our own poll, setting
 * TCP_QUICKACK before each wait: otherwise the inner sshd's small writes meet
 * our delayed ACKs and each step (KEX, auth, channel open) stalls ~40 ms. */
static long long setup_deadline;

static int wait_io(ssh_session s)
{
	int fd = ssh_get_fd(s), one = 1;
	long long left = setup_deadline - mono_ms();
	if (left <= 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	struct pollfd p = {
	    .fd = fd, .events = POLLIN | (ssh_get_poll_flags(s) & SSH_WRITE_PENDING ? POLLOUT : 0)};
	return poll(&p, 1, (int)left) < 0 && errno != EINTR ? -1 : 0;
}

/* rc = CALL, repeated while it answers AGAIN and the deadline allows. */
#define DRIVE(s, rc, call, again)                                                                  \
	do {                                                                                       \
		(rc) = (call);                                                                     \
	} while ((rc) == (again) && wait_io(s) == 0)

/* "type base64 [comment]" -> a libssh public key. */
static int import_pin(const char *line, ssh_key *ret, struct err *err)
{
	char type[64], b64[2048];
	if (sscanf(line, "%63s %2047s", type, b64) != 2)
		return err_set(err, EINVAL, "the pinned host key is malformed");
	enum ssh_keytypes_e kt = ssh_key_type_from_name(type);
	if (kt == SSH_KEYTYPE_UNKNOWN || ssh_pki_import_pubkey_base64(b64, kt, ret) != SSH_OK)
		return err_set(err, EINVAL, "the pinned host key is malformed");
	return 0;
}

static int connect_and_verify(ssh_session s, const struct inner_params *p, struct err *err)
{
	ssh_key pin = NULL, seen = NULL;
	int rc = -1;
	if (import_pin(p->pinned_hostkey, &pin, err) < 0)
		return -1;
	socket_t fd = p->fd;
	long timeout = INNER_TIMEOUT_S;
	int no = 0;
	ssh_options_set(s, SSH_OPTIONS_FD, &fd);
	ssh_options_set(s, SSH_OPTIONS_HOST, "sshbox-container");
	ssh_options_set(s, SSH_OPTIONS_USER, "root");
	ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no); /* never ~/.ssh/config */
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, ssh_key_type_to_char(ssh_key_type(pin)));
	ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, INNER_CIPHERS);
	ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, INNER_CIPHERS);
	ssh_options_set(s, SSH_OPTIONS_COMPRESSION, "no");
	ssh_set_blocking(s, 0);
	int rc_connect;
	DRIVE(s, rc_connect, ssh_connect(s), SSH_AGAIN);
	if (rc_connect != SSH_OK) {
		err_set(err, ECONNREFUSED, "cannot talk to your container's sshd: %s",
		        ssh_get_error(s));
		goto out;
	}
	if (ssh_get_server_publickey(s, &seen) != SSH_OK ||
	    ssh_key_cmp(seen, pin, SSH_KEY_CMP_PUBLIC) != 0) {
		err_set(err, EPERM,
		        "container host key does not match the pinned key; not logging in "
		        "(tell your admin)");
		goto out;
	}
	rc = 0;
out:
	ssh_key_free(pin);
	ssh_key_free(seen);
	return rc;
}

static int authenticate(ssh_session s, const char *pem, struct err *err)
{
	ssh_key key = NULL;
	if (ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, &key) != SSH_OK)
		return err_set(err, EINVAL, "your inner key is unreadable (tell your admin)");
	int rc;
	DRIVE(s, rc, ssh_userauth_publickey(s, NULL, key), SSH_AUTH_AGAIN);
	ssh_key_free(key);
	if (rc != SSH_AUTH_SUCCESS)
		return err_set(err, EACCES, "your container's sshd refused your inner key: %s",
		               ssh_get_error(s));
	return 0;
}

/* LANG, LC_* and the session id; a refusal is not fatal. */
static void send_env(ssh_channel ch, const char *session_id)
{
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "LANG=", 5) != 0 && strncmp(*e, "LC_", 3) != 0)
			continue;
		char name[64];
		const char *eq = strchr(*e, '=');
		if (eq == NULL || (size_t)(eq - *e) >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
		int rc;
		DRIVE(ssh_channel_get_session(ch), rc, ssh_channel_request_env(ch, name, eq + 1),
		      SSH_AGAIN);
	}
	int rc;
	DRIVE(ssh_channel_get_session(ch), rc,
	      ssh_channel_request_env(ch, "SSHBOX_SESSION", session_id), SSH_AGAIN);
}

static int open_channel(struct relay *r, const struct inner_params *p, struct err *err)
{
	ssh_channel ch = ssh_channel_new(r->session);
	int rc = SSH_ERROR;
	if (ch != NULL)
		DRIVE(r->session, rc, ssh_channel_open_session(ch), SSH_AGAIN);
	if (rc != SSH_OK) {
		ssh_channel_free(ch);
		return err_set(err, EIO, "cannot open a session in your container: %s",
		               ssh_get_error(r->session));
	}
	relay_attach(r, ch);
	enum command_kind kind = command_classify(p->command);
	if (getenv("SSH_AUTH_SOCK") != NULL && kind != COMMAND_SFTP)
		ssh_channel_request_auth_agent(ch);
	send_env(ch, p->session_id);
	if (kind != COMMAND_SFTP) {
		ssh_set_blocking(r->session, 1); /* rare: X11 is only asked for with a DISPLAY */
		forward_request_x11(&r->forwards, ch);
		ssh_set_blocking(r->session, 0);
	}
	if (isatty(STDIN_FILENO) && kind != COMMAND_SFTP) {
		struct winsize ws = {.ws_col = 80, .ws_row = 24};
		ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
		const char *term = getenv("TERM");
		DRIVE(r->session, rc,
		      ssh_channel_request_pty_size(ch, term && *term ? term : "xterm", ws.ws_col,
		                                   ws.ws_row),
		      SSH_AGAIN);
		if (rc != SSH_OK)
			return err_set(err, EIO, "the container refused a terminal: %s",
			               ssh_get_error(r->session));
		r->pty = 1;
	}
	if (kind == COMMAND_SHELL)
		DRIVE(r->session, rc, ssh_channel_request_shell(ch), SSH_AGAIN);
	else if (kind == COMMAND_SFTP)
		DRIVE(r->session, rc, ssh_channel_request_subsystem(ch, "sftp"), SSH_AGAIN);
	else
		DRIVE(r->session, rc, ssh_channel_request_exec(ch, p->command), SSH_AGAIN);
	if (rc != SSH_OK)
		return err_set(err, EIO, "the container refused to run %s: %s",
		               kind == COMMAND_SFTP ? "sftp" : "the command",
		               ssh_get_error(r->session));
	return 0;
}

static FILE *debug_file;

static void debug_log(int priority, const char *function, const char *buffer, void *userdata)
{
	fprintf(debug_file, "%d %s: %s\n", priority, function, buffer);
	fflush(debug_file);
}

/* SSHBOX_SHIM_DEBUG=FILE (set by an admin in a wrapper) logs libssh's
 * protocol trace there. */
static void maybe_debug(void)
{
	const char *path = getenv("SSHBOX_SHIM_DEBUG");
	if (path == NULL || (debug_file = fopen(path, "ae")) == NULL)
		return;
	ssh_set_log_callback(debug_log);
	ssh_set_log_level(SSH_LOG_PACKET);
}

int inner_session_run(const struct inner_params *p, struct inner_result *ret, struct err *err)
{
	maybe_debug();
	int one = 1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setup_deadline = mono_ms() + INNER_TIMEOUT_S * 1000LL;
	ssh_session s = ssh_new();
	if (s == NULL) {
		close(p->fd);
		return err_set(err, ENOMEM, "out of memory");
	}
	struct relay *r = calloc(1, sizeof(*r));
	int rc = -1;
	if (r == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	relay_init(r, s, p);
	int authed =
	    connect_and_verify(s, p, err) == 0 && authenticate(s, p->private_key, err) == 0;
	/* Not needed again for this session: gone before the session runs. */
	explicit_bzero(p->private_key, strlen(p->private_key));
	if (!authed || open_channel(r, p, err) < 0)
		goto out;
	rc = relay_run(r, err);
	ret->exit_status = r->got_status ? r->exit_status : 255;
	ret->exit_signal = r->exit_signal;
	memcpy(ret->exit_signal_name, r->exit_signal_name, sizeof(ret->exit_signal_name));
	ret->bytes_in = r->bytes_in;
	ret->bytes_out = r->out.total + r->err.total;
out:
	if (r != NULL)
		relay_free(r);
	ssh_disconnect(s);
	ssh_free(s);
	free(r);
	return rc;
}
