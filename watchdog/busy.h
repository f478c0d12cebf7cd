/* Busy-aware idle stop. When a user's last session ends, the CPU time of the
 * container's cgroup (cpu.stat usage_usec) is sampled; when the grace period
 * is over it is sampled again. More than idle_busy_cpu_percent of one CPU in
 * between: the container is kept for another grace period (a timer, the
 * reaper's, not a polling loop), until a window is quiet or
 * idle_busy_max_hours have passed since the last session ended. */
#ifndef SSHBOX_BUSY_H
#define SSHBOX_BUSY_H

#include <sys/types.h>

#include "config.h"

#define BUSY_CGROUP_MAX 256

/* Part of struct user_state, guarded by the table lock. */
struct busy_state {
	char cgroup[BUSY_CGROUP_MAX]; /* its CPU time file (busy_cgroup_of), "" = not known yet */
	long long idle_began_ms;      /* monotonic ms the last session ended, 0 = sessions live */
	long long window_ms;          /* monotonic ms of the sample below, 0 = none */
	long long window_usec;        /* usage_usec then */
	int kept_tenths;              /* kept busy: share of one CPU in 0.1 %, -1 = not kept */
};

struct user_state;

/* The file that holds the CPU time of the container's cgroup, from
 * /proc/PID/cgroup: cpu.stat under /sys/fs/cgroup (cgroup v2) or
 * /sys/fs/cgroup/unified (v2 beside v1), else cpuacct.usage under v1's
 * cpuacct hierarchy. 0, or -1 when there is none to read. */
int busy_cgroup_of(pid_t pid, char *ret_file, size_t size);
/* The CPU time in that file, in microseconds. */
int busy_usage_usec(const char *file, long long *ret_usec);
/* CPU share of one CPU, in 0.1 %, over about ms milliseconds from now
 * (sleeps that long); -1 when it cannot be measured. */
int busy_probe_tenths(const char *file, int ms);

/* A login found the container running as pid: remember its cgroup. Takes
 * the table lock. */
void busy_note_container(struct user_state *u, pid_t pid);
/* With the table lock held: sessions began (forget any busy keep), or the
 * last one ended (start the first window). */
void busy_reset(struct busy_state *b);
void busy_idle_began(struct busy_state *b);
/* With the table lock held: a new window starts now (the container was kept
 * for another reason, e.g. a direct ssh session). */
void busy_window_restart(struct busy_state *b);

/* The grace period of an idle container is over: 1 when it is to be kept
 * (it was busy; the next decision is scheduled), 0 when it stops now. Sets
 * *ret_max_reached when it stops only because idle_busy_max_hours passed.
 * Takes the table lock. */
int busy_keep(struct user_state *u, const struct config *cfg, pid_t pid, int *ret_max_reached);

/* Text for a user whose last session is ending in a busy container ("" when
 * it is not busy or would not be kept). Probes for a moment. */
void busy_leaving_message(struct user_state *u, const struct config *cfg, char *buf, size_t size);

#endif
