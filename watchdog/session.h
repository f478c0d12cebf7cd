/* The watchdog's shared state: the current configuration and one entry per
 * user seen, with the lock that serialises that user's container lifecycle
 * and the count of live shim sessions. Entries are never freed (one per
 * provisioned user at most), so pointers to them stay valid. */
#ifndef SSHBOX_SESSION_H
#define SSHBOX_SESSION_H

#include <pthread.h>
#include <sys/types.h>

#include "busy.h"
#include "config.h"
#include "err.h"
#include "names.h"

/* What the engine last said of a user's container (for the metrics). */
enum { BOX_STATE_UNKNOWN, BOX_STATE_RUNNING, BOX_STATE_STOPPED, BOX_STATE_NONE };

struct user_state {
	char name[USER_NAME_MAX + 1];
	pthread_mutex_t lifecycle; /* held for create/start/stop of this user's container */
	/* The rest is guarded by the table lock (state_lock()). */
	int sessions;                    /* live shim sessions */
	long long stop_at;               /* monotonic ms of a pending idle stop, 0 = none */
	int stop_forced;                 /* stopnow: stop even with sessions or daemon flag */
	int stopping;                    /* a stop thread of this user runs (idle.c) */
	int stop_again;                  /* a stop fell due meanwhile: that thread decides again */
	long long idle_since;            /* wall-clock seconds the count last reached 0, 0 = busy */
	int flags_watch;                 /* inotify watch of the flag dir, -1 = none */
	unsigned long long fenced_netns; /* netfence_key of what was last fenced (lifecycle lock) */
	long long flag_log_window;       /* flags.c's log rate limit: window start (ms), */
	int flag_log_count, flag_log_dropped; /* lines in it, lines left out */
	int box_state;                        /* BOX_STATE_* */
	struct busy_state busy;               /* busy.h: CPU use since the last session */
	int *links;                           /* live sessions' watchdog connections, for notices */
	int nlinks, caplinks;
	struct user_state *next;
};

/* The configuration, swapped whole on SIGHUP; readers take a copy. */
void state_config_set(const struct config *cfg);
void state_config_get(struct config *ret_cfg);

struct user_state *state_user(const char *name);
/* The table lock, for walking the list or reading the guarded fields. */
void state_lock(void);
void state_unlock(void);
struct user_state *state_first(void); /* with the lock held */
pthread_mutex_t *state_mutex(void);

/* Count sessions; the count reaching 0 schedules an idle stop after the
 * grace period, and a new session cancels it. Both return the new count. */
int state_session_begin(struct user_state *u);
int state_session_end(struct user_state *u);

/* A live session's connection, registered so notices reach it (the session's
 * own thread only reads from it; notices are the only writes). */
int state_link(struct user_state *u, int fd);
void state_unlink(struct user_state *u, int fd);
/* Sends {"op":"notice","message":...} to every live session of u, each
 * within a deadline; returns how many took it. */
int state_notify(struct user_state *u, const char *message);

/* Idle stops (idle.c): a reaper thread sleeps until the earliest stop_at and
 * hands each due stop to a thread of its own, so one user's long operation
 * (a commit holds the lifecycle lock for minutes) delays only that user. */
void idle_schedule(struct user_state *u, long long at_ms); /* with the lock held */
void idle_stop_now(struct user_state *u);                  /* without the lock */
int idle_start_reaper(void);

#endif
