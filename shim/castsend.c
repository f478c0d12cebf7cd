#include "castsend.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "proto.h"
#include "watchdog_client.h"

#define FRAME_SEND_MS 1000

int castsend_open(struct castsend *cs, const char *socket_path, const char *session_id, int input,
                  struct err *err)
{
	struct winsize ws = {.ws_col = 80, .ws_row = 24};
	ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	char term[64];
	/* TERM as the recording's header shows it: a name, else xterm. */
	const char *t = getenv("TERM");
	snprintf(term, sizeof(term), "%s", t != NULL && *t ? t : "xterm");
	if (strspn(term, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_") !=
	    strlen(term))
		strcpy(term, "xterm");
	cs->fd = -1;
	cs->input = input;
	cs->stopped[0] = '\0';
	int wd = watchdog_connect(socket_path, err);
	if (wd < 0)
		return -1;
	json_t *req = json_pack("{s:i,s:s,s:s,s:i,s:i,s:s}", "v", PROTO_VERSION, "op", "record",
	                        "session", session_id, "width", ws.ws_col ? ws.ws_col : 80,
	                        "height", ws.ws_row ? ws.ws_row : 24, "term", term);
	json_t *reply = NULL;
	if (watchdog_request(wd, req, 10000, &reply, NULL, err) < 0) {
		close(wd);
		return -1;
	}
	int ok = json_is_true(json_object_get(reply, "ok"));
	if (!ok) {
		const char *m = json_string_value(json_object_get(reply, "error"));
		err_set(err, EPERM, "%s", m ? m : "the watchdog refused the recording");
		close(wd);
	}
	json_decref(reply);
	if (ok)
		cs->fd = wd;
	return ok ? 0 : -1;
}

static void stop(struct castsend *cs, const char *why)
{
	if (cs->fd >= 0)
		close(cs->fd);
	cs->fd = -1;
	snprintf(cs->stopped, sizeof(cs->stopped), "%s", why);
}

/* Stops with the watchdog's notice if one is there, else with fallback. */
static void stop_saying(struct castsend *cs, int wait_ms, const char *fallback)
{
	json_t *m = NULL;
	const char *text = NULL;
	if (cs->fd >= 0 && proto_recv(cs->fd, wait_ms, &m, NULL, NULL) == 0)
		text = json_string_value(json_object_get(m, "message"));
	stop(cs, text != NULL ? text : fallback);
	json_decref(m);
}

static int send_all(int fd, const unsigned char *buf, size_t len, long long deadline)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		long long left = deadline - mono_ms();
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR))
			return -1;
	}
	return 0;
}

void castsend_frame(struct castsend *cs, char type, const char *data, size_t len)
{
	if (cs == NULL || cs->fd < 0 || (type == 'i' && !cs->input))
		return;
	long long deadline = mono_ms() + FRAME_SEND_MS;
	do {
		size_t n = len < PROTO_RECORD_MAX ? len : PROTO_RECORD_MAX;
		unsigned char hdr[4] = {(unsigned char)type, (unsigned char)(n >> 16),
		                        (unsigned char)(n >> 8), (unsigned char)n};
		if (send_all(cs->fd, hdr, 4, deadline) < 0 ||
		    send_all(cs->fd, (const unsigned char *)data, n, deadline) < 0) {
			/* The watchdog may have said why (the cap) and closed. */
			stop_saying(cs, 200,
			            "recording stopped: the recorder did not keep up "
			            "(the session goes on)");
			return;
		}
		data += n;
		len -= n;
	} while (len > 0);
}

void castsend_resize(struct castsend *cs, int cols, int rows)
{
	char size[32];
	int n = snprintf(size, sizeof(size), "%dx%d", cols, rows);
	castsend_frame(cs, 'r', size, (size_t)n);
}

void castsend_readable(struct castsend *cs)
{
	stop_saying(cs, 1000, "recording stopped (the session goes on)");
}

void castsend_close(struct castsend *cs)
{
	if (cs->fd >= 0)
		close(cs->fd);
	cs->fd = -1;
}
