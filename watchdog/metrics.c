#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

typedef _Atomic unsigned long long counter;

static const char *const login_results[METRICS_LOGIN_RESULTS] = {"ok", "refused", "failed"};
static const char *const login_kinds[METRICS_KINDS] = {"hot", "warm", "cold"};
static const char *const stop_names[METRICS_STOPS] = {"idle", "busy_max", "stopnow"};
/* engine.c's operation names; anything else counts as "other". */
static const char *const engine_ops[] = {"create",  "start",  "stop",   "remove",
                                         "inspect", "list",   "commit", "image",
                                         "network", "volume", "events", "other"};
#define ENGINE_OPS (sizeof(engine_ops) / sizeof(engine_ops[0]))
/* Login latency buckets, in seconds: a hot login is ~0.1 s, a cold one with
 * a large image can take a minute. */
static const double buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static counter logins[METRICS_LOGIN_RESULTS];
static counter duration_bucket[METRICS_KINDS][BUCKETS + 1]; /* per bucket, +Inf last */
static counter duration_sum_usec[METRICS_KINDS];
static counter stops[METRICS_STOPS];
static counter busy_kept, verbs;
static counter engine_errors[ENGINE_OPS];
static _Atomic long long start_time;

void metrics_login(enum metrics_login_result result)
{
	atomic_fetch_add_explicit(&logins[result], 1, memory_order_relaxed);
}

void metrics_login_duration(enum metrics_login_kind kind, long long usec)
{
	size_t b = 0;
	while (b < BUCKETS && (double)usec > buckets[b] * 1e6)
		b++;
	atomic_fetch_add_explicit(&duration_bucket[kind][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&duration_sum_usec[kind], (unsigned long long)usec,
	                          memory_order_relaxed);
}

void metrics_stop(enum metrics_stop why)
{
	atomic_fetch_add_explicit(&stops[why], 1, memory_order_relaxed);
}

void metrics_busy_kept(void)
{
	atomic_fetch_add_explicit(&busy_kept, 1, memory_order_relaxed);
}

void metrics_verb(void)
{
	atomic_fetch_add_explicit(&verbs, 1, memory_order_relaxed);
}

void metrics_engine_error(const char *op)
{
	size_t i = 0;
	while (i < ENGINE_OPS - 1 && strcmp(engine_ops[i], op) != 0)
		i++;
	atomic_fetch_add_explicit(&engine_errors[i], 1, memory_order_relaxed);
}

static unsigned long long get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Open descriptors: entries of /proc/self/fd, read with getdents64 into a
 * stack buffer (opendir would allocate). */
static long open_fds(void)
{
	int d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -1;
	char buf[4096];
	long n = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, d, buf, sizeof(buf));
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof(reclen)); /* d_reclen */
			if (buf[off + 19] != '.')                        /* d_name */
				n++;
			off += reclen;
		}
	}
	close(d);
	return n - 1; /* not the one reading the directory */
}

/* "Threads:" of /proc/self/status. */
static long threads(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *t = strstr(buf, "\nThreads:");
	if (t == NULL)
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(t + 9, &end, 10); /* skips the tab */
	return errno != 0 || end == t + 9 || *end != '\n' ? -1 : v;
}

struct out {
	char *buf;
	size_t size, len;
	int full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len)
		o->full = 1;
	else
		o->len += (size_t)n;
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_logins(struct out *o)
{
	head(o, "sshbox_logins_total", "counter",
	     "Logins through the shim, by result (ok, refused, failed).");
	for (int r = 0; r < METRICS_LOGIN_RESULTS; r++)
		put(o, "sshbox_logins_total{result=\"%s\"} %llu\n", login_results[r],
		    get(&logins[r]));
	head(o, "sshbox_login_duration_seconds", "histogram",
	     "Time from the shim's login request to the watchdog's answer, by kind: hot "
	     "(container running), warm (started), cold (created).");
	for (int k = 0; k < METRICS_KINDS; k++) {
		unsigned long long cum = 0;
		for (size_t b = 0; b <= BUCKETS; b++) {
			cum += get(&duration_bucket[k][b]);
			if (b < BUCKETS)
				put(o,
				    "sshbox_login_duration_seconds_bucket{kind=\"%s\",le=\"%g\"} "
				    "%llu\n",
				    login_kinds[k], buckets[b], cum);
			else
				put(o,
				    "sshbox_login_duration_seconds_bucket{kind=\"%s\",le=\"+Inf\"} "
				    "%llu\n",
				    login_kinds[k], cum);
		}
		put(o, "sshbox_login_duration_seconds_sum{kind=\"%s\"} %.6f\n", login_kinds[k],
		    (double)get(&duration_sum_usec[k]) / 1e6);
		put(o, "sshbox_login_duration_seconds_count{kind=\"%s\"} %llu\n", login_kinds[k],
		    cum);
	}
}

static void render_state(struct out *o)
{
	long sessions = 0, running = 0, stopped = 0, none = 0, busy = 0, pending = 0, users = 0;
	state_lock();
	for (struct user_state *u = state_first(); u != NULL; u = u->next) {
		users++;
		sessions += u->sessions;
		running += u->box_state == BOX_STATE_RUNNING;
		stopped += u->box_state == BOX_STATE_STOPPED;
		none += u->box_state == BOX_STATE_NONE;
		busy += u->busy.kept_tenths >= 0;
		pending += u->stop_at != 0;
	}
	state_unlock();
	head(o, "sshbox_sessions", "gauge", "Live shim sessions.");
	put(o, "sshbox_sessions %ld\n", sessions);
	head(o, "sshbox_users_seen", "gauge", "Users the watchdog has seen since it started.");
	put(o, "sshbox_users_seen %ld\n", users);
	head(o, "sshbox_containers", "gauge",
	     "Containers of users the watchdog has seen, by state as the engine last said.");
	put(o, "sshbox_containers{state=\"running\"} %ld\n", running);
	put(o, "sshbox_containers{state=\"stopped\"} %ld\n", stopped);
	put(o, "sshbox_containers{state=\"none\"} %ld\n", none);
	head(o, "sshbox_containers_kept_busy", "gauge",
	     "Containers with no session kept running because they are busy.");
	put(o, "sshbox_containers_kept_busy %ld\n", busy);
	head(o, "sshbox_idle_stops_pending", "gauge", "Containers with an idle stop scheduled.");
	put(o, "sshbox_idle_stops_pending %ld\n", pending);
}

static void render_counters(struct out *o)
{
	head(o, "sshbox_idle_stops_total", "counter",
	     "Containers stopped for want of sessions: after the grace period (idle) or, "
	     "busy, at idle_busy_max_hours (busy_max).");
	for (int s = METRICS_STOP_IDLE; s <= METRICS_STOP_BUSY_MAX; s++)
		put(o, "sshbox_idle_stops_total{reason=\"%s\"} %llu\n", stop_names[s],
		    get(&stops[s]));
	head(o, "sshbox_stopnow_total", "counter", "Containers stopped by stopnow inside them.");
	put(o, "sshbox_stopnow_total %llu\n", get(&stops[METRICS_STOP_STOPNOW]));
	head(o, "sshbox_idle_busy_keeps_total", "counter",
	     "Idle stops put off because the container was busy.");
	put(o, "sshbox_idle_busy_keeps_total %llu\n", get(&busy_kept));
	head(o, "sshbox_host_verbs_total", "counter", "Host verbs answered.");
	put(o, "sshbox_host_verbs_total %llu\n", get(&verbs));
	head(o, "sshbox_engine_errors_total", "counter",
	     "Container engine calls that failed (no answer, or a 5xx answer), by operation.");
	for (size_t i = 0; i < ENGINE_OPS; i++)
		put(o, "sshbox_engine_errors_total{op=\"%s\"} %llu\n", engine_ops[i],
		    get(&engine_errors[i]));
}

static void render_process(struct out *o)
{
	struct rlimit rl;
	long long max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	                        ? (long long)rl.rlim_cur
	                        : -1;
	head(o, "sshbox_watchdog_open_fds", "gauge", "Descriptors the watchdog has open.");
	put(o, "sshbox_watchdog_open_fds %ld\n", open_fds());
	head(o, "sshbox_watchdog_max_fds", "gauge", "The watchdog's descriptor limit (soft).");
	put(o, "sshbox_watchdog_max_fds %lld\n", max_fds);
	head(o, "sshbox_watchdog_threads", "gauge", "Threads of the watchdog.");
	put(o, "sshbox_watchdog_threads %ld\n", threads());
	head(o, "sshbox_watchdog_start_time_seconds", "gauge",
	     "When the watchdog started, in seconds since the epoch.");
	put(o, "sshbox_watchdog_start_time_seconds %lld\n", atomic_load(&start_time));
}

void metrics_started(void)
{
	atomic_store(&start_time, (long long)time(NULL));
}

int metrics_render(char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size};
	render_logins(&o);
	render_state(&o);
	render_counters(&o);
	render_process(&o);
	return o.full ? -1 : (int)o.len;
}
