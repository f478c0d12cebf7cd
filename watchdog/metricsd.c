#include "metricsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "thread.h"

#define REQUEST_MAX 2048
#define BODY_MAX    (48 * 1024)
#define HEADER_MAX  256

/* One scraper: its request as read so far, then the answer as written. All
 * buffers are static: a scrape allocates nothing. */
struct scrape {
	int fd;
	long long deadline;
	size_t got;
	char req[REQUEST_MAX];
	size_t off, len; /* of out, once answering */
	char out[HEADER_MAX + BODY_MAX];
};

static struct scrape slots[METRICSD_MAX_CONNS];
static char body[BODY_MAX];
static int listen_fd = -1;

static int bind_listener(const char *addr, struct err *err)
{
	int s = -1;
	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", addr + 5);
		struct stat st;
		/* A stale socket of an earlier run goes; anything else stays. */
		if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(sa.sun_path);
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		mode_t old = umask(0177);
		int rc = s < 0 ? -1 : bind(s, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
		if (rc < 0)
			goto fail;
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		long port = 0;
		if (parse_long(addr + 10, 1, 65535, &port) < 0)
			return err_set(err, EINVAL, "metrics_listen %s: bad port", addr);
		sa.sin_port = htons((unsigned short)port);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int one = 1;
		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	if (listen(s, 16) < 0)
		goto fail;
	return s;
fail:;
	int e = errno;
	if (s >= 0)
		close(s);
	return err_sys(err, e, "metrics_listen %s: cannot listen", addr);
}

static void finish(struct scrape *c)
{
	close(c->fd);
	c->fd = -1;
}

static void answer(struct scrape *c, const char *status, const char *type, const char *text,
                   size_t len)
{
	int h = snprintf(c->out, HEADER_MAX,
	                 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, type, len);
	memcpy(c->out + h, text, len);
	c->len = (size_t)h + len;
	c->off = 0;
}

/* The request is complete: pick the answer. */
static void respond(struct scrape *c)
{
	static const char bad[] = "only GET /metrics is served here\n";
	const char *type = "text/plain; charset=utf-8";
	if (strncmp(c->req, "GET ", 4) != 0) {
		answer(c, "405 Method Not Allowed", type, bad, sizeof(bad) - 1);
		return;
	}
	const char *path = c->req + 4;
	size_t plen = strcspn(path, " \r\n");
	/* A query string (Prometheus sends none; curl users may) is ignored. */
	size_t pure = strcspn(path, "? \r\n");
	if (pure != 8 || strncmp(path, "/metrics", 8) != 0 || plen > REQUEST_MAX) {
		answer(c, "404 Not Found", type, bad, sizeof(bad) - 1);
		return;
	}
	int n = metrics_render(body, sizeof(body));
	if (n < 0) {
		static const char big[] = "the metrics outgrew the watchdog's buffer\n";
		log_err("metrics: the exposition outgrew its %d byte buffer", BODY_MAX);
		answer(c, "500 Internal Server Error", type, big, sizeof(big) - 1);
		return;
	}
	answer(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, (size_t)n);
}

/* The scraper's socket is ready: read more of the request, or write more of
 * the answer. */
static void step(struct scrape *c)
{
	if (c->len == 0) {
		ssize_t n = read(c->fd, c->req + c->got, sizeof(c->req) - 1 - c->got);
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				finish(c);
			return;
		}
		c->got += (size_t)n;
		c->req[c->got] = '\0';
		/* Headers end with an empty line; a request too long for the
		 * buffer is answered from what came (the first line decides). */
		if (strstr(c->req, "\r\n\r\n") == NULL && strstr(c->req, "\n\n") == NULL &&
		    c->got < sizeof(c->req) - 1)
			return;
		respond(c);
	}
	ssize_t n = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		finish(c);
		return;
	}
	c->off += (size_t)n;
	if (c->off == c->len)
		finish(c);
}

static void take(int fd)
{
	for (int i = 0; i < METRICSD_MAX_CONNS; i++)
		if (slots[i].fd < 0) {
			slots[i].fd = fd;
			slots[i].deadline = mono_ms() + METRICSD_DEADLINE_MS;
			slots[i].got = slots[i].off = slots[i].len = 0;
			return;
		}
	close(fd); /* not reached: the listener is polled only with a slot free */
}

/* Binds the address, retrying while it is taken (a watchdog restarted a
 * moment ago may still hold it): the metrics come late, never the logins. */
static void bind_retrying(const char *addr)
{
	int delay = 1, logged = 0;
	for (;;) {
		struct err err = {0};
		listen_fd = bind_listener(addr, &err);
		if (listen_fd >= 0)
			break;
		if (!logged++)
			log_err("%s; retrying (the watchdog serves logins meanwhile)", err.msg);
		sleep((unsigned)delay);
		if (delay < 30)
			delay *= 2;
	}
	log_info("metrics served on %s", addr);
}

static void *serve(void *arg)
{
	bind_retrying(arg);
	for (;;) {
		struct pollfd p[METRICSD_MAX_CONNS + 1];
		int idx[METRICSD_MAX_CONNS + 1], np = 0, free_slots = 0;
		long long now = mono_ms(), next = 0;
		for (int i = 0; i < METRICSD_MAX_CONNS; i++) {
			struct scrape *c = &slots[i];
			if (c->fd < 0) {
				free_slots++;
				continue;
			}
			if (now >= c->deadline) {
				finish(c);
				free_slots++;
				continue;
			}
			if (next == 0 || c->deadline < next)
				next = c->deadline;
			idx[np] = i;
			p[np++] = (struct pollfd){.fd = c->fd, .events = c->len ? POLLOUT : POLLIN};
		}
		/* With every slot taken, waiting scrapers stay in the backlog. */
		if (free_slots > 0) {
			idx[np] = -1;
			p[np++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
		}
		int timeout = next == 0 ? -1 : (int)(next - now);
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno != EINTR)
				sleep(1);
			continue;
		}
		for (int k = 0; k < np; k++) {
			if (p[k].revents == 0)
				continue;
			if (idx[k] >= 0) {
				step(&slots[idx[k]]);
				continue;
			}
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0)
				take(fd);
		}
	}
	return NULL;
}

void metricsd_stop(const struct config *cfg)
{
	if (strncmp(cfg->metrics_listen, "unix:", 5) == 0)
		unlink(cfg->metrics_listen + 5);
}

int metricsd_start(const struct config *cfg, struct err *err)
{
	metrics_started();
	if (cfg->metrics_listen[0] == '\0')
		return 0;
	static char addr[CONFIG_STR_MAX];
	for (int i = 0; i < METRICSD_MAX_CONNS; i++)
		slots[i].fd = -1;
	snprintf(addr, sizeof(addr), "%s", cfg->metrics_listen);
	if (thread_spawn(serve, addr) != 0)
		return err_set(err, EAGAIN, "metrics: cannot start the thread");
	return 0;
}
