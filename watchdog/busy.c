#include "busy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "flags.h"
#include "session.h"
#include "why.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* A window shorter than this says nothing about a container's load. */
#define WINDOW_MIN_MS 200
/* With no window to judge by: a third of a second tells a running job from
 * an idle shell. */
#define BUSY_PROBE_MS 300

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The path of the cgroup named on the line of /proc/PID/cgroup that starts
 * with prefix ("0::" for cgroup v2, or a v1 hierarchy's "N:cpuacct:"). */
static int cgroup_line(const char *text, const char *prefix, char *ret, size_t size)
{
	size_t plen = strlen(prefix);
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		const char *colon;
		/* v1 lines are "ID:CONTROLLERS:/path": match from the first colon. */
		if (prefix[0] != '0' && (colon = memchr(line, ':', len)) != NULL)
			colon++;
		else
			colon = line;
		size_t rest = len - (size_t)(colon - line);
		if (rest > plen && strncmp(colon, prefix, plen) == 0 && colon[plen] == '/' &&
		    memmem(colon + plen, rest - plen, "..", 2) == NULL && rest - plen < size) {
			memcpy(ret, colon + plen, rest - plen);
			ret[rest - plen] = '\0';
			return 0;
		}
		line += len + (line[len] == '\n');
	}
	return -1;
}

int busy_cgroup_of(pid_t pid, char *ret_file, size_t size)
{
	char path[64], buf[4096], cg[BUSY_CGROUP_MAX];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (pid <= 0 || read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	/* cgroup v2 (cpu.stat, in microseconds), whole or beside v1 ("hybrid",
	 * at unified/); else v1's cpuacct (cpuacct.usage, in nanoseconds). */
	static const char *const v2_roots[] = {CGROUP_ROOT, CGROUP_ROOT "/unified"};
	if (cgroup_line(buf, "0::", cg, sizeof(cg)) == 0 && strcmp(cg, "/") != 0)
		for (size_t i = 0; i < 2; i++)
			if (snprintf(ret_file, size, "%s%s/cpu.stat", v2_roots[i], cg) <
			        (int)size &&
			    access(ret_file, R_OK) == 0)
				return 0;
	static const char *const v1[][2] = {{"cpuacct:", CGROUP_ROOT "/cpuacct"},
	                                    {"cpu,cpuacct:", CGROUP_ROOT "/cpu,cpuacct"}};
	for (size_t i = 0; i < 2; i++)
		if (cgroup_line(buf, v1[i][0], cg, sizeof(cg)) == 0 &&
		    snprintf(ret_file, size, "%s%s/cpuacct.usage", v1[i][1], cg) < (int)size &&
		    access(ret_file, R_OK) == 0)
			return 0;
	return -1;
}

/* A count at the start of s, checked: digits, no overflow. */
static int leading_count(const char *s, long long *ret)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0 || (*end != '\n' && *end != '\0'))
		return -1;
	*ret = v;
	return 0;
}

int busy_usage_usec(const char *file, long long *ret_usec)
{
	char buf[1024];
	long long v = 0;
	if (read_small(file, buf, sizeof(buf)) < 0)
		return -1;
	size_t len = strlen(file);
	if (len > 14 && strcmp(file + len - 14, "/cpuacct.usage") == 0) {
		if (leading_count(buf, &v) < 0)
			return -1;
		*ret_usec = v / 1000;
		return 0;
	}
	if (strncmp(buf, "usage_usec ", 11) != 0 || leading_count(buf + 11, &v) < 0)
		return -1;
	*ret_usec = v;
	return 0;
}

/* Share of one CPU in 0.1 % for usec used over ms. */
static int tenths_of(long long usec, long long ms)
{
	long long t = ms > 0 ? usec / ms : 0;
	return t > 1000000 ? 1000000 : (int)t;
}

int busy_probe_tenths(const char *file, int ms)
{
	long long a = 0, b = 0, t0 = mono_ms();
	if (busy_usage_usec(file, &a) < 0)
		return -1;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (busy_usage_usec(file, &b) < 0)
		return -1;
	return tenths_of(b - a, mono_ms() - t0);
}

void busy_note_container(struct user_state *u, pid_t pid)
{
	char dir[BUSY_CGROUP_MAX];
	if (busy_cgroup_of(pid, dir, sizeof(dir)) < 0)
		return;
	state_lock();
	memcpy(u->busy.cgroup, dir, sizeof(dir));
	state_unlock();
}

void busy_reset(struct busy_state *b)
{
	b->idle_began_ms = b->window_ms = 0;
	b->kept_tenths = -1;
}

void busy_window_restart(struct busy_state *b)
{
	long long usec = 0;
	b->window_ms = 0;
	if (b->cgroup[0] != '\0' && busy_usage_usec(b->cgroup, &usec) == 0) {
		b->window_ms = mono_ms();
		b->window_usec = usec;
	}
}

void busy_idle_began(struct busy_state *b)
{
	busy_reset(b);
	b->idle_began_ms = mono_ms();
	busy_window_restart(b);
}

int busy_keep(struct user_state *u, const struct config *cfg, pid_t pid, int *ret_max_reached)
{
	*ret_max_reached = 0;
	if (cfg->idle_busy_cpu_percent <= 0)
		return 0;
	char file[BUSY_CGROUP_MAX];
	state_lock();
	memcpy(file, u->busy.cgroup, sizeof(file));
	long long window_ms = u->busy.window_ms, window_usec = u->busy.window_usec;
	state_unlock();
	if (file[0] == '\0') {
		busy_note_container(u, pid);
		state_lock();
		memcpy(file, u->busy.cgroup, sizeof(file));
		state_unlock();
	}
	long long usec = 0;
	if (file[0] == '\0' || busy_usage_usec(file, &usec) < 0)
		return 0; /* cannot be measured: idle, as without this rule */
	int tenths = 0;
	if (window_ms == 0 || usec < window_usec) {
		/* No window to judge by (the watchdog restarted since the last
		 * session, or the container did): a short reading instead. */
		tenths = busy_probe_tenths(file, BUSY_PROBE_MS);
		if (busy_usage_usec(file, &usec) < 0)
			return 0;
	} else if (mono_ms() - window_ms >= WINDOW_MIN_MS) {
		tenths = tenths_of(usec - window_usec, mono_ms() - window_ms);
	}
	long long now = mono_ms(), grace = (long long)cfg->idle_grace_seconds * 1000;
	int keep = 0;
	state_lock();
	struct busy_state *b = &u->busy;
	if (b->idle_began_ms == 0)
		b->idle_began_ms = now;
	long long last = b->idle_began_ms + cfg->idle_busy_max_ms;
	if (tenths > cfg->idle_busy_cpu_percent * 10) {
		keep = now < last;
		*ret_max_reached = !keep;
	}
	b->kept_tenths = keep ? tenths : -1;
	if (keep) {
		b->window_ms = now;
		b->window_usec = usec;
		idle_schedule(u, now + grace < last ? now + grace : last);
	}
	state_unlock();
	return keep;
}

void busy_leaving_message(struct user_state *u, const struct config *cfg, char *buf, size_t size)
{
	char dir[BUSY_CGROUP_MAX];
	buf[0] = '\0';
	state_lock();
	int last = u->sessions == 1;
	memcpy(dir, u->busy.cgroup, sizeof(dir));
	state_unlock();
	if (!last || cfg->idle_busy_cpu_percent <= 0 || dir[0] == '\0' ||
	    flags_daemon(cfg, u->name))
		return;
	int tenths = busy_probe_tenths(dir, BUSY_PROBE_MS);
	if (tenths <= cfg->idle_busy_cpu_percent * 10)
		return;
	char grace[32], max[32], host[256] = "this-host";
	why_duration(cfg->idle_grace_seconds, grace, sizeof(grace));
	why_duration(cfg->idle_busy_max_ms / 1000, max, sizeof(max));
	gethostname(host, sizeof(host) - 1);
	snprintf(buf, size,
	         "your container keeps running: it is busy (%d%% CPU). It stops once quiet for "
	         "%s, at the latest in %s. To stop it now: ssh %s stop (or stopnow inside it).",
	         (tenths + 5) / 10, grace, max, host);
}
