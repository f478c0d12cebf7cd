#include "forward.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
                   void *userdata)
{
	*(int *)userdata = 1;
	return 0; /* the loop reads it */
}

static void on_eof_or_close(ssh_session s, ssh_channel ch, void *userdata)
{
	*(int *)userdata = 1;
}

static ssh_channel add_forward(struct forwards *fw, int fd)
{
	if (fd < 0)
		return NULL;
	struct forward *f = fw->n < FORWARD_MAX ? calloc(1, sizeof(*f)) : NULL;
	ssh_channel ch = f ? ssh_channel_new(fw->session) : NULL;
	if (ch == NULL) {
		free(f);
		close(fd);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	f->channel = ch;
	f->out.fd = fd;
	f->cb.userdata = fw->wake;
	f->cb.channel_data_function = on_data;
	f->cb.channel_eof_function = on_eof_or_close;
	f->cb.channel_close_function = on_eof_or_close;
	ssh_callbacks_init(&f->cb);
	ssh_set_channel_callbacks(ch, &f->cb);
	fw->f[fw->n++] = f;
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

ssh_channel forward_agent_open(ssh_session s, void *userdata)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	return sock ? add_forward(userdata, connect_unix(sock)) : NULL;
}

/* The decimal number at s, up to the end or a '.'; -1 unless it is 0..max. */
static int display_field(const char *s, long max)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	char *end = NULL;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno != 0 || n > max || (*end != '\0' && *end != '.'))
		return -1;
	return (int)n;
}

/* DISPLAY "host:N[.S]" (sshd gives localhost:10.0) or ":N": N, and whether
 * it is reached over TCP. */
static int display_number(const char *display, int *ret_tcp)
{
	const char *colon = strrchr(display, ':');
	int n = colon ? display_field(colon + 1, 65535 - 6000) : -1;
	if (n < 0)
		return -1;
	*ret_tcp = colon != display && strncmp(display, "unix", 4) != 0;
	return n;
}

ssh_channel forward_x11_open(ssh_session s, const char *addr, int port, void *userdata)
{
	struct forwards *fw = userdata;
	int tcp = 0, n = display_number(fw->x11_display, &tcp);
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
	return add_forward(fw, fd);
}

/* The outer session's X11 cookie, from `xauth list DISPLAY` (no shell). */
static int x11_cookie(const char *display, char *proto, size_t psize, char *cookie, size_t csize)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {"/usr/bin/xauth", "list", (char *)display, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	char out[1024];
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

void forward_request_x11(struct forwards *fw, ssh_channel ch)
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
		screen = display_field(dot + 1, INT_MAX);
	if (screen < 0)
		return; /* a malformed screen number */
	if (ssh_channel_request_x11(ch, 0, proto, cookie, screen) == SSH_OK)
		snprintf(fw->x11_display, sizeof(fw->x11_display), "%s", display);
}

static void close_forward(struct forwards *fw, int i)
{
	struct forward *f = fw->f[i];
	close(f->out.fd);
	if (!ssh_channel_is_closed(f->channel))
		ssh_channel_close(f->channel);
	ssh_remove_channel_callbacks(f->channel, &f->cb);
	ssh_channel_free(f->channel);
	free(f);
	fw->f[i] = fw->f[--fw->n];
}

void forward_pump_out(struct forwards *fw)
{
	for (int i = 0; i < fw->n; i++) {
		struct forward *f = fw->f[i];
		if (outq_pump(&f->out, f->channel, 0) < 0)
			f->fd_eof = 1;
		int drained = !outq_pending(&f->out);
		if (ssh_channel_is_closed(f->channel) ||
		    (ssh_channel_is_eof(f->channel) && drained && f->fd_eof)) {
			close_forward(fw, i--);
		} else if (ssh_channel_is_eof(f->channel) && drained) {
			shutdown(f->out.fd, SHUT_WR);
		}
	}
}

void forward_pump_in(struct forwards *fw, int i, char *buf, size_t size)
{
	struct forward *f = fw->f[i];
	ssize_t n = read(f->out.fd, buf, size);
	if (n > 0) {
		/* Agent and X11 requests are small; a full window is waited out. */
		ssh_set_blocking(fw->session, 1);
		ssh_channel_write(f->channel, buf, (uint32_t)n);
		ssh_set_blocking(fw->session, 0);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		f->fd_eof = 1;
		ssh_channel_send_eof(f->channel);
	}
}

void forward_close_all(struct forwards *fw)
{
	while (fw->n > 0)
		close_forward(fw, fw->n - 1);
}
