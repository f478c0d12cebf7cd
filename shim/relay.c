#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "proto.h"
#include "selfpipe.h"

#define REJOIN_RETRY_MS   1000
#define LAST_NOTICE_MS    500
#define LEAVING_ANSWER_MS 3000

static int signal_number(const char *name)
{
	static const struct {
		const char *name;
		int sig;
	} map[] = {{"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"FPE", SIGFPE},   {"HUP", SIGHUP},
	           {"ILL", SIGILL},   {"INT", SIGINT},   {"KILL", SIGKILL}, {"PIPE", SIGPIPE},
	           {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV}, {"TERM", SIGTERM}, {"USR1", SIGUSR1},
	           {"USR2", SIGUSR2}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, name) == 0)
			return map[i].sig;
	return SIGTERM;
}

static void on_exit_status(ssh_session s, ssh_channel ch, int status, void *userdata)
{
	struct relay *r = userdata;
	r->got_status = 1;
	r->exit_status = status;
	r->wake = 1;
}

/* Notification only: the data stays in libssh's buffer (and counts against
 * the window) until the loop reads it. */
static int on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
                   void *userdata)
{
	((struct relay *)userdata)->wake = 1;
	return 0;
}

static void on_eof_or_close(ssh_session s, ssh_channel ch, void *userdata)
{
	((struct relay *)userdata)->wake = 1;
}

static void on_exit_signal(ssh_session s, ssh_channel ch, const char *signal, int core,
                           const char *errmsg, const char *lang, void *userdata)
{
	struct relay *r = userdata;
	r->exit_signal = signal_number(signal);
	snprintf(r->exit_signal_name, sizeof(r->exit_signal_name), "%s", signal);
	r->wake = 1;
}

static void record_output(void *ctx, const char *data, size_t len)
{
	castsend_frame(ctx, 'o', data, len);
}

/* The recording stopped (cap, or the recorder gone): the user hears once. */
static void recording_stopped(struct relay *r)
{
	if (r->cast == NULL || r->cast->fd >= 0 || r->cast->stopped[0] == '\0')
		return;
	char line[256];
	int n = snprintf(line, sizeof(line), "\r\nsshbox: %.200s\r\n", r->cast->stopped);
	outq_append(&r->err, line, (size_t)n);
	log_info("session %s: %s", r->session_id, r->cast->stopped);
	r->cast->stopped[0] = '\0';
	r->out.tap = r->err.tap = NULL;
}

void relay_init(struct relay *r, ssh_session s, const struct inner_params *p)
{
	r->session = s;
	r->forwards.session = s;
	r->forwards.wake = &r->wake;
	r->out.fd = STDOUT_FILENO;
	r->err.fd = STDERR_FILENO;
	r->watchdog_fd = p->watchdog_fd;
	r->session_id = p->session_id;
	r->rejoin = p->rejoin;
	r->rejoin_ctx = p->rejoin_ctx;
	r->cast = p->cast;
	if (r->cast != NULL) {
		r->out.tap = r->err.tap = record_output;
		r->out.tap_ctx = r->err.tap_ctx = r->cast;
	}
	r->session_cb.userdata = &r->forwards;
	r->session_cb.channel_open_request_auth_agent_function = forward_agent_open;
	r->session_cb.channel_open_request_x11_function = forward_x11_open;
	ssh_callbacks_init(&r->session_cb);
	ssh_set_callbacks(s, &r->session_cb);
}

void relay_attach(struct relay *r, ssh_channel ch)
{
	r->channel = ch;
	r->channel_cb.userdata = r;
	r->channel_cb.channel_exit_status_function = on_exit_status;
	r->channel_cb.channel_exit_signal_function = on_exit_signal;
	r->channel_cb.channel_data_function = on_data;
	r->channel_cb.channel_eof_function = on_eof_or_close;
	r->channel_cb.channel_close_function = on_eof_or_close;
	ssh_callbacks_init(&r->channel_cb);
	ssh_set_channel_callbacks(ch, &r->channel_cb);
}

void relay_free(struct relay *r)
{
	forward_close_all(&r->forwards);
	if (r->event != NULL) {
		ssh_event_remove_session(r->event, r->session);
		ssh_event_free(r->event);
		r->event = NULL;
	}
	if (r->channel != NULL) {
		ssh_remove_channel_callbacks(r->channel, &r->channel_cb);
		ssh_channel_free(r->channel);
		r->channel = NULL;
	}
}

/* The outer terminal in raw mode (the inner pty does the line editing) and
 * the outer descriptors non-blocking, both undone on every way out. */
struct outer_state {
	int tty_saved;
	struct termios tio;
	int flags[3];
};

static void outer_setup(struct outer_state *o, int pty)
{
	for (int fd = 0; fd < 3; fd++) {
		o->flags[fd] = fcntl(fd, F_GETFL);
		if (o->flags[fd] >= 0)
			fcntl(fd, F_SETFL, o->flags[fd] | O_NONBLOCK);
	}
	o->tty_saved = pty && tcgetattr(STDIN_FILENO, &o->tio) == 0;
	if (o->tty_saved) {
		struct termios raw = o->tio;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
	}
}

static void outer_restore(struct outer_state *o)
{
	if (o->tty_saved)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &o->tio);
	for (int fd = 0; fd < 3; fd++)
		if (o->flags[fd] >= 0)
			fcntl(fd, F_SETFL, o->flags[fd]);
}

static int install_signals(void)
{
	static const int sigs[] = {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT};
	signal(SIGPIPE, SIG_IGN);
	return selfpipe_install(sigs, sizeof(sigs) / sizeof(sigs[0]));
}

static void resize(struct relay *r)
{
	struct winsize ws;
	if (r->pty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
		ssh_channel_change_pty_size(r->channel, ws.ws_col, ws.ws_row);
		castsend_resize(r->cast, ws.ws_col, ws.ws_row);
	}
}

/* The user went away: hang up what the session runs in the container. */
static void hang_up(struct relay *r)
{
	log_info("session %s: the user's side went away: hanging up", r->session_id);
	if (r->watchdog_fd >= 0) {
		/* sshd refuses "signal" requests for root sessions: the watchdog
		 * delivers the hang-up to this session's processes instead. */
		json_t *m = json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "hangup",
		                      "session", r->session_id);
		proto_send(r->watchdog_fd, m, -1, 2000, NULL);
		json_decref(m);
	}
	if (!ssh_channel_is_closed(r->channel)) {
		ssh_channel_close(r->channel);
		ssh_blocking_flush(r->session, 2000);
	}
}

/* Input from the user, taken only while the inner window has room. */
struct input {
	int open;
	size_t off, len;
	char buf[RELAY_CHUNK];
};

static void input_push(struct relay *r, struct input *in)
{
	if (in->off < in->len && ssh_channel_window_size(r->channel) > 0) {
		int n =
		    ssh_channel_write(r->channel, in->buf + in->off, (uint32_t)(in->len - in->off));
		if (n > 0) {
			in->off += (size_t)n;
			r->bytes_in += (unsigned long long)n;
		}
	}
	if (in->off == in->len)
		in->off = in->len = 0;
}

/* 1 when the user's side is gone. */
static int input_read(struct relay *r, struct input *in)
{
	ssize_t n = read(STDIN_FILENO, in->buf, sizeof(in->buf));
	if (n > 0) {
		in->len = (size_t)n;
		castsend_frame(r->cast, 'i', in->buf, (size_t)n);
		return 0;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	in->open = 0;
	if (r->pty && n < 0) /* EIO: the outer pty hung up */
		return 1;
	ssh_channel_send_eof(r->channel);
	return 0;
}

/* A message from the watchdog for the user (say, the container ran out of
 * memory), written on the session's stderr. 0, or -1 if the watchdog's side
 * is gone or spoke out of turn. */
static int watchdog_notice(struct relay *r)
{
	json_t *m = NULL;
	if (proto_recv(r->watchdog_fd, 1000, &m, NULL, NULL) < 0)
		return -1;
	const char *op = json_string_value(json_object_get(m, "op"));
	const char *text = json_string_value(json_object_get(m, "message"));
	int rc = -1;
	if (op != NULL && strcmp(op, "notice") == 0 && text != NULL) {
		char line[512];
		int n = snprintf(line, sizeof(line), "%ssshbox: %.400s%s", r->pty ? "\r\n" : "",
		                 text, r->pty ? "\r\n" : "\n");
		outq_append(&r->err, line, (size_t)n);
		log_info("session %s: watchdog notice: %s", r->session_id, text);
		rc = 0;
	}
	json_decref(m);
	return rc;
}

/* The command was SIGKILLed (status 137 from a shell): likely the kernel's
 * out-of-memory killer. Its notice travels engine -> watchdog -> here and may
 * trail the command's end by a few milliseconds: wait for it, briefly. */
static void last_notice(struct relay *r)
{
	int killed = r->exit_signal == SIGKILL || (r->got_status && r->exit_status == 137);
	struct pollfd p = {.fd = r->watchdog_fd, .events = POLLIN};
	if (killed && r->watchdog_fd >= 0 && poll(&p, 1, LAST_NOTICE_MS) == 1)
		watchdog_notice(r);
}

/* An interactive session ended: tell the watchdog, whose answer may hold a
 * line for the user (the container keeps running because it is busy). A
 * notice that crosses it is shown too. The watchdog measures for a third of
 * a second first, so commands without a terminal (scripts, scp, benchmarks)
 * do not ask: their container is kept all the same, silently. */
static void say_leaving(struct relay *r)
{
	if (r->watchdog_fd < 0 || !r->pty)
		return;
	json_t *m = json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "leaving", "session",
	                      r->session_id);
	if (m == NULL || proto_send(r->watchdog_fd, m, -1, 1000, NULL) < 0) {
		json_decref(m);
		return;
	}
	json_decref(m);
	long long deadline = mono_ms() + LEAVING_ANSWER_MS;
	for (int i = 0; i < 4; i++) {
		long long left = deadline - mono_ms();
		json_t *a = NULL;
		if (left <= 0 || proto_recv(r->watchdog_fd, (int)left, &a, NULL, NULL) < 0)
			return;
		const char *op = json_string_value(json_object_get(a, "op"));
		const char *text = json_string_value(json_object_get(a, "message"));
		int done = json_object_get(a, "ok") != NULL;
		if (text != NULL && (done || (op != NULL && strcmp(op, "notice") == 0))) {
			char line[600];
			int n = snprintf(line, sizeof(line), "sshbox: %.500s%s", text,
			                 r->pty ? "\r\n" : "\n");
			outq_append(&r->err, line, (size_t)n);
			log_info("session %s: watchdog at logout: %s", r->session_id, text);
		}
		json_decref(a);
		if (done)
			return;
	}
}

enum { P_SIGNAL, P_SSH, P_STDIN, P_STDOUT, P_STDERR, P_WATCHDOG, P_RECORD, P_FORWARDS };

int relay_run(struct relay *r, struct err *err)
{
	static struct input in = {.open = 1};
	static char buf[RELAY_CHUNK];
	int stdout_open = 1, gone = 0, rc = 0;
	long long rejoin_at = 0;
	struct outer_state outer;
	struct stat st;
	int stdout_is_socket = fstat(STDOUT_FILENO, &st) == 0 && S_ISSOCK(st.st_mode);

	int signal_fd = install_signals();
	if (signal_fd < 0)
		return err_sys(err, errno, "cannot set up signals");
	ssh_set_blocking(r->session, 0);
	r->event = ssh_event_new();
	if (r->event == NULL || ssh_event_add_session(r->event, r->session) != SSH_OK)
		return err_set(err, ENOMEM, "cannot set up the event loop");
	outer_setup(&outer, r->pty);
	for (;;) {
		r->wake = 0;
		recording_stopped(r);
		input_push(r, &in);
		if (outq_pump(&r->out, r->channel, 0) < 0 ||
		    outq_pump(&r->err, r->channel, 1) < 0) {
			gone = 1;
			break;
		}
		forward_pump_out(&r->forwards);
		if (stdout_open && ssh_channel_is_eof(r->channel) && !outq_pending(&r->out) &&
		    ssh_channel_poll(r->channel, 0) <= 0) {
			/* Inner EOF: pass it on, keeping fd 1 open when it is also fd 0. */
			stdout_open = 0;
			if (stdout_is_socket)
				shutdown(STDOUT_FILENO, SHUT_WR);
			else if (!r->pty)
				close(STDOUT_FILENO);
		}
		if (ssh_channel_is_closed(r->channel) && !outq_pending(&r->out) &&
		    !outq_pending(&r->err))
			break;
		if (!ssh_is_connected(r->session)) {
			rc = err_set(err, ECONNRESET, "the connection to your container was lost");
			break;
		}

		struct pollfd p[P_FORWARDS + FORWARD_MAX];
		int window = ssh_channel_window_size(r->channel) > 0;
		p[P_SIGNAL] = (struct pollfd){.fd = signal_fd, .events = POLLIN};
		p[P_SSH] = (struct pollfd){
		    .fd = ssh_get_fd(r->session),
		    .events = POLLIN |
		              (ssh_get_poll_flags(r->session) & SSH_WRITE_PENDING ? POLLOUT : 0)};
		p[P_STDIN] = (struct pollfd){.fd = in.open && in.len == 0 && window ? 0 : -1,
		                             .events = POLLIN};
		/* fd 1 with no events still reports when the outer side is gone. */
		int watch_out = (stdout_open && !r->pty) || outq_pending(&r->out);
		p[P_STDOUT] = (struct pollfd){.fd = watch_out ? 1 : -1,
		                              .events = outq_pending(&r->out) ? POLLOUT : 0};
		p[P_STDERR] =
		    (struct pollfd){.fd = outq_pending(&r->err) ? 2 : -1, .events = POLLOUT};
		p[P_WATCHDOG] = (struct pollfd){.fd = r->watchdog_fd, .events = POLLIN};
		p[P_RECORD] =
		    (struct pollfd){.fd = r->cast != NULL ? r->cast->fd : -1, .events = POLLIN};
		int np = P_FORWARDS;
		for (int i = 0; i < r->forwards.n; i++) {
			struct forward *f = r->forwards.f[i];
			p[np++] = (struct pollfd){
			    .fd = f->out.fd,
			    .events = (short)((f->fd_eof ? 0 : POLLIN) |
			                      (outq_pending(&f->out) ? POLLOUT : 0))};
		}
		/* libssh 0.10 does not say when the inner window reopens: look again soon. */
		int timeout = r->wake ? 0 : in.len > 0 && !window ? 50 : -1;
		if (rejoin_at)
			timeout = (int)(rejoin_at > mono_ms() ? rejoin_at - mono_ms() : 0);
		if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR) {
			rc = err_sys(err, errno, "poll");
			break;
		}
		if (p[P_SIGNAL].revents & POLLIN) {
			unsigned char sig;
			while (read(signal_fd, &sig, 1) == 1) {
				if (sig == SIGWINCH)
					resize(r);
				else
					gone = 1;
			}
			if (gone)
				break;
		}
		/* Read, dispatch and flush packets. libssh reads 4 KiB per round:
		 * take several rounds while more is there, up to what one pass of
		 * the loop can hand on. */
		for (int round = 0; p[P_SSH].revents && round < 16; round++)
			if (ssh_event_dopoll(r->event, 0) != SSH_OK)
				break;
		if ((p[P_STDIN].revents & (POLLIN | POLLHUP | POLLERR)) && input_read(r, &in)) {
			gone = 1;
			break;
		}
		if (!r->pty && !outq_pending(&r->out) &&
		    (p[P_STDOUT].revents & (POLLHUP | POLLERR))) {
			gone = 1;
			break;
		}
		if (p[P_RECORD].revents && r->cast != NULL && r->cast->fd >= 0)
			castsend_readable(r->cast);
		recording_stopped(r);
		for (int i = 0; i < np - P_FORWARDS; i++)
			if (p[P_FORWARDS + i].revents & (POLLIN | POLLHUP | POLLERR))
				forward_pump_in(&r->forwards, i, buf, sizeof(buf));
		/* A notice, or the watchdog restarted: then re-register this
		 * session with the new one. */
		if (r->watchdog_fd >= 0 && p[P_WATCHDOG].revents && watchdog_notice(r) < 0) {
			close(r->watchdog_fd);
			r->watchdog_fd = -1;
			rejoin_at = r->rejoin ? mono_ms() + 200 : 0;
		} else if (rejoin_at && mono_ms() >= rejoin_at) {
			r->watchdog_fd = r->rejoin(r->rejoin_ctx);
			rejoin_at = r->watchdog_fd >= 0 ? 0 : mono_ms() + REJOIN_RETRY_MS;
		}
	}
	if (gone) {
		hang_up(r);
	} else {
		last_notice(r);
		say_leaving(r);
	}
	outer_restore(&outer);
	outq_flush(&r->err); /* a last notice, now that fd 2 blocks again */
	return rc;
}
