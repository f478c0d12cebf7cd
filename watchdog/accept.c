#include "accept.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "server.h"

/* Per wake-up, so signals are still served under a flood. */
#define ACCEPT_BATCH 64
/* How long to leave the socket alone when nothing can be done about it. */
#define ACCEPT_BACKOFF_MS 200
#define LOG_EVERY_MS      10000

static int spare = -1;
static long long refused, last_log_ms;

int accept_init(void)
{
	if (spare < 0)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return spare >= 0 ? 0 : -1;
}

/* At the limit: one log line per LOG_EVERY_MS, with the count since. */
static void note_refusal(int e)
{
	refused++;
	long long now = mono_ms();
	if (last_log_ms != 0 && now - last_log_ms < LOG_EVERY_MS)
		return;
	log_warn("out of descriptors (%s): refused %lld connection(s); raise LimitNOFILE",
	         e == ENFILE ? "system-wide" : "per process", refused);
	refused = 0;
	last_log_ms = now;
}

/* Trades the spare for the waiting connection, refuses it, takes the spare
 * back. -1 when there was no spare or nothing could be accepted. */
static int refuse_with_spare(int ls, int e)
{
	if (spare < 0) {
		accept_init(); /* perhaps a descriptor came free meanwhile */
		return -1;
	}
	close(spare);
	spare = -1;
	int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		server_refuse(fd, "the sshbox service is overloaded (out of file descriptors); "
		                  "try again in a minute or tell your admin");
	accept_init();
	if (fd < 0)
		return -1;
	note_refusal(e);
	return 0;
}

int accept_pending(int ls)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			server_spawn(fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
			return 0;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
			if (refuse_with_spare(ls, errno) < 0)
				return ACCEPT_BACKOFF_MS;
			continue;
		default:
			/* ENOBUFS, ENOMEM and the unexpected: wait, do not spin. */
			log_warn("accept: %m; pausing for %d ms", ACCEPT_BACKOFF_MS);
			return ACCEPT_BACKOFF_MS;
		}
	}
	return 0;
}
