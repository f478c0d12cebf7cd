#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define REJOIN_RETRY_MS 1000

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	(void)!write(signal_pipe[1], &b, 1);
	errno = saved;
}

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
}

static void on_exit_signal(ssh_session s, ssh_channel ch, const char *signal, int core,
			   const char *errmsg, const char *lang, void *userdata)
{
	struct relay *r = userdata;
	r->exit_signal = signal_number(signal);
}

static ssh_channel add_forward(struct relay *r, int fd)
{
	if (fd < 0)
		return NULL;
	if (r->nforwards == RELAY_MAX_FORWARDS) {
		close(fd);
		return NULL;
	}
	ssh_channel ch = ssh_channel_new(r->session);
	if (ch == NULL) {
		close(fd);
		return NULL;
	}
	struct forward *f = &r->forwards[r->nforwards++];
	f->channel = ch;
	f->fd = fd;
	f->fd_eof = 0;
	return ch;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The container asks for the user's agent: join a channel to SSH_AUTH_SOCK. */
static ssh_channel on_agent_open(ssh_session s, void *userdata)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	return sock ? add_forward(userdata, connect_unix(sock)) : NULL;
}

/* DISPLAY "host:N[.S]" (sshd gives localhost:10.0) or ":N": the display number. */
static int display_number(const char *display, int *ret_tcp)
{
	const char *colon = strrchr(display, ':');
	if (colon == NULL)
		return -1;
	*ret_tcp = colon != display && strncmp(display, "unix", 4) != 0;
	return atoi(colon + 1);
}

/* An X11 client in the container: join a channel to the outer display. */
static ssh_channel on_x11_open(ssh_session s, const char *addr, int port, void *userdata)
{
	struct relay *r = userdata;
	int tcp = 0, n = display_number(r->x11_display, &tcp);
	if (n < 0)
		return NULL;
	int fd = -1;
	if (tcp) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)(6000 + n))};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			fd = -1;
		}
	} else {
		char path[64];
		snprintf(path, sizeof(path), "/tmp/.X11-unix/X%d", n);
		fd = connect_unix(path);
	}
	return add_forward(r, fd);
}

void relay_init(struct relay *r, ssh_session s, const struct inner_params *p)
{
	r->session = s;
	r->watchdog_fd = p->watchdog_fd;
	r->rejoin = p->rejoin;
	r->rejoin_ctx = p->rejoin_ctx;
	r->session_cb.userdata = r;
	r->session_cb.channel_open_request_auth_agent_function = on_agent_open;
	r->session_cb.channel_open_request_x11_function = on_x11_open;
	ssh_callbacks_init(&r->session_cb);
	ssh_set_callbacks(s, &r->session_cb);
}

void relay_attach(struct relay *r, ssh_channel ch)
{
	r->channel = ch;
	r->channel_cb.userdata = r;
	r->channel_cb.channel_exit_status_function = on_exit_status;
	r->channel_cb.channel_exit_signal_function = on_exit_signal;
	ssh_callbacks_init(&r->channel_cb);
	ssh_set_channel_callbacks(ch, &r->channel_cb);
}

/* The outer session's X11 cookie, from `xauth list DISPLAY` (run without a
 * shell). */
static int x11_cookie(const char *display, char *proto, size_t psize, char *cookie,
		      size_t csize)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {"/usr/bin/xauth", "list", (char *)display, NULL};
	extern char **environ;
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	char out[1024] = "";
	size_t len = 0;
	ssize_t n;
	while (rc == 0 && len < sizeof(out) - 1 &&
	       (n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	close(pfd[0]);
	if (rc == 0)
		waitpid(pid, NULL, 0);
	out[len] = '\0';
	char p[64], c[256];
	if (rc != 0 || sscanf(out, "%*s %63s %255s", p, c) != 2)
		return -1;
	snprintf(proto, psize, "%s", p);
	snprintf(cookie, csize, "%s", c);
	return 0;
}

void relay_request_x11(struct relay *r)
{
	const char *display = getenv("DISPLAY");
	char proto[64], cookie[256];
	int tcp;
	if (display == NULL || display_number(display, &tcp) < 0 ||
	    x11_cookie(display, proto, sizeof(proto), cookie, sizeof(cookie)) < 0)
		return;
	int screen = 0;
	const char *dot = strrchr(display, '.');
	if (dot != NULL && dot > strrchr(display, ':'))
		screen = atoi(dot + 1);
	if (ssh_channel_request_x11(r->channel, 0, proto, cookie, screen) == SSH_OK)
		snprintf(r->x11_display, sizeof(r->x11_display), "%s", display);
}

static void close_forward(struct relay *r, int i)
{
	struct forward *f = &r->forwards[i];
	if (f->fd >= 0)
		close(f->fd);
	if (!ssh_channel_is_closed(f->channel))
		ssh_channel_close(f->channel);
	ssh_channel_free(f->channel);
	r->forwards[i] = r->forwards[--r->nforwards];
}

void relay_free(struct relay *r)
{
	if (r->event != NULL) {
		ssh_event_remove_session(r->event, r->session);
		ssh_event_free(r->event);
		r->event = NULL;
	}
	while (r->nforwards > 0)
		close_forward(r, r->nforwards - 1);
	if (r->channel != NULL) {
		ssh_remove_channel_callbacks(r->channel, &r->channel_cb);
		ssh_channel_free(r->channel);
		r->channel = NULL;
	}
}

/* Writes everything; 0, or -1 when the reader is gone. Blocking is the
 * back-pressure: while the user's side is slow, nothing more is read. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

struct tty_state {
	int saved;
	struct termios tio;
};

static void tty_raw(struct tty_state *t)
{
	t->saved = tcgetattr(STDIN_FILENO, &t->tio) == 0;
	if (t->saved) {
		struct termios raw = t->tio;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
	}
}

static void tty_restore(struct tty_state *t)
{
	if (t->saved)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &t->tio);
}

static int install_signals(void)
{
	if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: writes wake */
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Moves what the inner side sent to the outer side; -1 when it is gone. */
static int pump_out(struct relay *r, char *buf, int *stdout_open)
{
	for (int is_stderr = 0; is_stderr <= 1; is_stderr++) {
		for (;;) {
			int n = ssh_channel_read_nonblocking(r->channel, buf, RELAY_CHUNK, is_stderr);
			if (n <= 0)
				break;
			int fd = is_stderr ? STDERR_FILENO : STDOUT_FILENO;
			if ((fd == STDOUT_FILENO && !*stdout_open) ||
			    write_all(fd, buf, (size_t)n) < 0)
				return -1;
		}
	}
	for (int i = 0; i < r->nforwards; i++) {
		struct forward *f = &r->forwards[i];
		int n;
		while ((n = ssh_channel_read_nonblocking(f->channel, buf, RELAY_CHUNK, 0)) > 0)
			if (write_all(f->fd, buf, (size_t)n) < 0)
				f->fd_eof = 1;
		if (ssh_channel_is_closed(f->channel) ||
		    (ssh_channel_is_eof(f->channel) && f->fd_eof)) {
			close_forward(r, i--);
		} else if (ssh_channel_is_eof(f->channel) && f->fd >= 0) {
			shutdown(f->fd, SHUT_WR);
		}
	}
	return 0;
}

/* Reads a forward's local socket into its channel. */
static void pump_forward_in(struct relay *r, int i, char *buf)
{
	struct forward *f = &r->forwards[i];
	ssize_t n = read(f->fd, buf, RELAY_CHUNK);
	if (n > 0) {
		/* Agent and X11 messages are small; a full window is waited out. */
		ssh_set_blocking(r->session, 1);
		ssh_channel_write(f->channel, buf, (uint32_t)n);
		ssh_set_blocking(r->session, 0);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		f->fd_eof = 1;
		ssh_channel_send_eof(f->channel);
	}
}

static void resize(struct relay *r)
{
	struct winsize ws;
	if (r->pty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ssh_channel_change_pty_size(r->channel, ws.ws_col, ws.ws_row);
}

/* The user went away: hang up the inner session so nothing is left behind. */
static void hang_up(struct relay *r)
{
	if (!ssh_channel_is_closed(r->channel)) {
		ssh_channel_request_send_signal(r->channel, "HUP");
		ssh_channel_close(r->channel);
		ssh_blocking_flush(r->session, 2000);
	}
}

int relay_run(struct relay *r, struct err *err)
{
	static char buf[RELAY_CHUNK], in[RELAY_CHUNK];
	size_t in_len = 0, in_off = 0;
	int stdin_open = 1, stdout_open = 1, gone = 0, rc = 0;
	long long rejoin_at = 0;
	struct tty_state tty = {0};
	struct stat st;
	int stdout_is_socket = fstat(STDOUT_FILENO, &st) == 0 && S_ISSOCK(st.st_mode);

	if (install_signals() < 0)
		return err_sys(err, errno, "cannot set up signals");
	if (r->pty)
		tty_raw(&tty);
	ssh_set_blocking(r->session, 0);
	r->event = ssh_event_new();
	if (r->event == NULL || ssh_event_add_session(r->event, r->session) != SSH_OK)
		return err_set(err, ENOMEM, "cannot set up the event loop");
	for (;;) {
		if (pump_out(r, buf, &stdout_open) < 0) {
			gone = 1;
			break;
		}
		if (in_off < in_len && ssh_channel_window_size(r->channel) > 0) {
			int n = ssh_channel_write(r->channel, in + in_off, (uint32_t)(in_len - in_off));
			if (n > 0)
				in_off += (size_t)n;
			if (in_off == in_len)
				in_off = in_len = 0;
		}
		if (stdout_open && ssh_channel_is_eof(r->channel)) {
			/* Inner EOF: pass it on, keeping fd 1 open when it is also fd 0. */
			stdout_open = 0;
			if (stdout_is_socket)
				shutdown(STDOUT_FILENO, SHUT_WR);
			else if (!r->pty)
				close(STDOUT_FILENO);
		}
		if (ssh_channel_is_closed(r->channel))
			break;
		if (!ssh_is_connected(r->session)) {
			rc = err_set(err, ECONNRESET, "the connection to your container was lost");
			break;
		}

		struct pollfd p[5 + RELAY_MAX_FORWARDS];
		int np = 0;
		int flags = ssh_get_poll_flags(r->session);
		p[np++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
		p[np++] = (struct pollfd){.fd = ssh_get_fd(r->session),
					  .events = POLLIN | (flags & SSH_WRITE_PENDING ? POLLOUT : 0)};
		int want_in = stdin_open && in_len == 0 && ssh_channel_window_size(r->channel) > 0;
		p[np++] = (struct pollfd){.fd = want_in ? STDIN_FILENO : -1, .events = POLLIN};
		/* Watching fd 1 with no events reports when the outer side is gone. */
		p[np++] = (struct pollfd){.fd = r->pty ? -1 : STDOUT_FILENO, .events = 0};
		p[np++] = (struct pollfd){.fd = r->watchdog_fd, .events = POLLIN};
		int base = np;
		for (int i = 0; i < r->nforwards; i++)
			p[np++] = (struct pollfd){
				.fd = r->forwards[i].fd_eof ? -1 : r->forwards[i].fd, .events = POLLIN};
		int timeout = -1;
		if (flags & SSH_READ_PENDING || (in_len > 0 && ssh_channel_window_size(r->channel) > 0))
			timeout = 0;
		else if (in_len > 0)
			timeout = 50; /* libssh 0.10 does not say when the window reopens */
		if (rejoin_at)
			timeout = (int)(rejoin_at > mono_ms() ? rejoin_at - mono_ms() : 0);
		if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR) {
			rc = err_sys(err, errno, "poll");
			break;
		}
		if (p[0].revents & POLLIN) {
			unsigned char sig;
			while (read(signal_pipe[0], &sig, 1) == 1) {
				if (sig == SIGWINCH)
					resize(r);
				else
					gone = 1;
			}
			if (gone)
				break;
		}
		if (p[1].revents)
			ssh_event_dopoll(r->event, 0); /* read, dispatch and flush packets */
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));
			if (n > 0) {
				in_len = (size_t)n;
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				stdin_open = 0;
				if (r->pty && n < 0) { /* EIO: the outer pty hung up */
					gone = 1;
					break;
				}
				ssh_channel_send_eof(r->channel);
			}
		}
		if (!r->pty && (p[3].revents & (POLLHUP | POLLERR))) {
			gone = 1;
			break;
		}
		for (int i = 0; i < np - base; i++)
			if (p[base + i].revents & (POLLIN | POLLHUP | POLLERR))
				pump_forward_in(r, i, buf);
		/* The watchdog restarted: re-register this session with the new one. */
		if (r->watchdog_fd >= 0 && p[4].revents) {
			close(r->watchdog_fd);
			r->watchdog_fd = -1;
			rejoin_at = r->rejoin ? mono_ms() + 200 : 0;
		} else if (rejoin_at && mono_ms() >= rejoin_at) {
			r->watchdog_fd = r->rejoin(r->rejoin_ctx);
			rejoin_at = r->watchdog_fd >= 0 ? 0 : mono_ms() + REJOIN_RETRY_MS;
		}
	}
	if (gone)
		hang_up(r);
	tty_restore(&tty);
	return rc;
}
