#include "jump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "selfpipe.h"
#include "watchdog_client.h"

/* A larger pipe means fewer wake-ups per megabyte (the default, 64 KiB, when
 * the user's pipe quota says no). */
#define JUMP_PIPE_BYTES (1024 * 1024)
/* Once one direction has ended, the other gets this long: an SSH peer that
 * sent EOF closes its side soon after; a wedged one must not hold the
 * session (and the container) forever. */
#define JUMP_LINGER_MS  30000
#define REJOIN_FIRST_MS 200
#define REJOIN_RETRY_MS 1000
/* Rounds of splicing per wake-up, so one busy direction cannot starve the
 * other, the signals or the watchdog. */
#define JUMP_ROUNDS 16

/* One direction: from -> pipe -> to. The bytes stay in the kernel. */
struct half {
	int from, to;
	int pipe[2];
	size_t cap, queued; /* the pipe's size, bytes in it now */
	int eof;            /* from has nothing more */
	int done;           /* and its EOF was passed on to `to` */
	unsigned long long bytes;
};

static int half_open(struct half *h, int from, int to, struct err *err)
{
	h->from = from;
	h->to = to;
	if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_sys(err, errno, "cannot create a pipe");
	int size = fcntl(h->pipe[1], F_SETPIPE_SZ, JUMP_PIPE_BYTES);
	if (size < 0)
		size = fcntl(h->pipe[1], F_GETPIPE_SZ);
	h->cap = size > 0 ? (size_t)size : 65536;
	return 0;
}

static void half_close(struct half *h)
{
	for (int i = 0; i < 2; i++)
		if (h->pipe[i] >= 0)
			close(h->pipe[i]);
	h->pipe[0] = h->pipe[1] = -1;
}

/* Moves what can move now without blocking: 0, or -1 when `to` is gone
 * (then nothing more can be delivered that way). */
static int half_move(struct half *h)
{
	for (int round = 0; round < JUMP_ROUNDS; round++) {
		int moved = 0;
		if (!h->eof && h->queued < h->cap) {
			ssize_t n = splice(h->from, NULL, h->pipe[1], NULL, h->cap - h->queued,
			                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->queued += (size_t)n;
				moved = 1;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				h->eof = 1; /* EOF, or the sender reset: nothing more comes */
			}
		}
		if (h->queued > 0) {
			ssize_t n = splice(h->pipe[0], NULL, h->to, NULL, h->queued,
			                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->queued -= (size_t)n;
				h->bytes += (unsigned long long)n;
				moved = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (!moved)
			break;
	}
	if (h->eof && h->queued == 0 && !h->done) {
		h->done = 1;
		/* Pass the EOF on. Without a pty, fd 0 and fd 1 are one socket:
		 * shut down the sending half only; a pipe is closed. */
		if (shutdown(h->to, SHUT_WR) < 0 && errno == ENOTSOCK)
			close(h->to);
	}
	return 0;
}

static int nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A notice from the watchdog goes to the session's stderr, which the user's
 * ssh shows (a ProxyCommand's stderr is the terminal). */
static void show_notice(const char *session_id, const char *text)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "sshbox: %.400s\n", text);
	(void)!write(STDERR_FILENO, line, (size_t)n);
	log_info("session %s: watchdog notice: %s", session_id, text);
}

enum { P_SIGNAL, P_IN, P_SSHD_OUT, P_SSHD_IN, P_OUT, P_WATCHDOG, P_COUNT };

static int relay_loop(const struct jump_params *p, struct half *up, struct half *down,
                      int signal_fd, struct err *err)
{
	long long linger_until = 0, rejoin_at = 0;
	int wd = p->watchdog_fd;
	for (;;) {
		if (half_move(up) < 0 || half_move(down) < 0) {
			log_info("session %s: jump: one side went away", p->session_id);
			return 0;
		}
		if (up->done && down->done)
			return 0;
		long long now = mono_ms();
		if ((up->done || down->done) && linger_until == 0)
			linger_until = now + JUMP_LINGER_MS;
		if (linger_until && now >= linger_until) {
			log_warn("session %s: jump: %s ended %d s ago and the other side did not "
			         "follow: ending",
			         p->session_id, up->done ? "the client" : "the container",
			         JUMP_LINGER_MS / 1000);
			return 0;
		}
		struct pollfd f[P_COUNT];
		f[P_SIGNAL] = (struct pollfd){.fd = signal_fd, .events = POLLIN};
		f[P_IN] = (struct pollfd){.fd = !up->eof && up->queued < up->cap ? up->from : -1,
		                          .events = POLLIN};
		f[P_SSHD_OUT] = (struct pollfd){.fd = up->queued ? up->to : -1, .events = POLLOUT};
		f[P_SSHD_IN] =
		    (struct pollfd){.fd = !down->eof && down->queued < down->cap ? down->from : -1,
		                    .events = POLLIN};
		/* fd 1 with no events still reports when the client's side is gone. */
		f[P_OUT] = (struct pollfd){.fd = down->done ? -1 : down->to,
		                           .events = down->queued ? POLLOUT : 0};
		f[P_WATCHDOG] = (struct pollfd){.fd = wd, .events = POLLIN};
		long long wake = linger_until;
		if (rejoin_at && (wake == 0 || rejoin_at < wake))
			wake = rejoin_at;
		int timeout = wake ? (int)(wake > now ? wake - now : 0) : -1;
		if (poll(f, P_COUNT, timeout) < 0 && errno != EINTR)
			return err_sys(err, errno, "poll");
		if (f[P_SIGNAL].revents & POLLIN) {
			unsigned char sig;
			int ending = 0;
			while (read(signal_fd, &sig, 1) == 1)
				ending = 1;
			if (ending) {
				log_info("session %s: jump: ended by a signal", p->session_id);
				return 0;
			}
		}
		if (!down->queued && (f[P_OUT].revents & (POLLHUP | POLLERR))) {
			log_info("session %s: jump: the client's side is gone", p->session_id);
			return 0;
		}
		if (wd >= 0 && f[P_WATCHDOG].revents) {
			char text[512];
			if (watchdog_read_notice(wd, text, sizeof(text)) == 0) {
				show_notice(p->session_id, text);
			} else {
				/* The watchdog restarted: re-register this session. */
				close(wd);
				wd = -1;
				rejoin_at = p->rejoin ? mono_ms() + REJOIN_FIRST_MS : 0;
			}
		} else if (rejoin_at && mono_ms() >= rejoin_at) {
			wd = p->rejoin(p->rejoin_ctx);
			rejoin_at = wd >= 0 ? 0 : mono_ms() + REJOIN_RETRY_MS;
		}
	}
}

int jump_relay_run(const struct jump_params *p, struct jump_stats *ret, struct err *err)
{
	struct half up = {.pipe = {-1, -1}}, down = {.pipe = {-1, -1}};
	int rc = -1;
	static const int sigs[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};
	int signal_fd = selfpipe_install(sigs, sizeof(sigs) / sizeof(sigs[0]));
	if (signal_fd < 0) {
		err_sys(err, errno, "cannot set up signals");
		goto out;
	}
	if (nonblocking(STDIN_FILENO) < 0 || nonblocking(STDOUT_FILENO) < 0 ||
	    nonblocking(p->sshd_fd) < 0) {
		err_sys(err, errno, "cannot make the session's descriptors non-blocking");
		goto out;
	}
	if (half_open(&up, STDIN_FILENO, p->sshd_fd, err) < 0 ||
	    half_open(&down, p->sshd_fd, STDOUT_FILENO, err) < 0)
		goto out;
	rc = relay_loop(p, &up, &down, signal_fd, err);
	ret->up = up.bytes;
	ret->down = down.bytes;
out:
	half_close(&up);
	half_close(&down);
	close(p->sshd_fd);
	return rc;
}
