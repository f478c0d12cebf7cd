#include "inner.h"

#include <errno.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "command.h"
#include "relay.h"

#define INNER_TIMEOUT_S 20
#define INNER_CIPHERS   "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"

extern char **environ;

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
	if (ssh_connect(s) != SSH_OK) {
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
	int rc = ssh_userauth_publickey(s, NULL, key);
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
		ssh_channel_request_env(ch, name, eq + 1);
	}
	ssh_channel_request_env(ch, "SSHBOX_SESSION", session_id);
}

static int open_channel(struct relay *r, const struct inner_params *p, struct err *err)
{
	ssh_channel ch = ssh_channel_new(r->session);
	if (ch == NULL || ssh_channel_open_session(ch) != SSH_OK) {
		ssh_channel_free(ch);
		return err_set(err, EIO, "cannot open a session in your container: %s",
		               ssh_get_error(r->session));
	}
	relay_attach(r, ch);
	enum command_kind kind = command_classify(p->command);
	if (getenv("SSH_AUTH_SOCK") != NULL && kind != COMMAND_SFTP)
		ssh_channel_request_auth_agent(ch);
	send_env(ch, p->session_id);
	if (kind != COMMAND_SFTP)
		forward_request_x11(&r->forwards, ch);
	if (isatty(STDIN_FILENO) && kind != COMMAND_SFTP) {
		struct winsize ws = {.ws_col = 80, .ws_row = 24};
		ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
		const char *term = getenv("TERM");
		if (ssh_channel_request_pty_size(ch, term && *term ? term : "xterm", ws.ws_col,
		                                 ws.ws_row) != SSH_OK)
			return err_set(err, EIO, "the container refused a terminal: %s",
			               ssh_get_error(r->session));
		r->pty = 1;
	}
	int rc = kind == COMMAND_SHELL  ? ssh_channel_request_shell(ch)
	         : kind == COMMAND_SFTP ? ssh_channel_request_subsystem(ch, "sftp")
	                                : ssh_channel_request_exec(ch, p->command);
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
	if (connect_and_verify(s, p, err) < 0 || authenticate(s, p->private_key, err) < 0 ||
	    open_channel(r, p, err) < 0)
		goto out;
	rc = relay_run(r, err);
	ret->exit_status = r->got_status ? r->exit_status : 255;
	ret->exit_signal = r->exit_signal;
out:
	if (r != NULL)
		relay_free(r);
	ssh_disconnect(s);
	ssh_free(s);
	free(r);
	return rc;
}
