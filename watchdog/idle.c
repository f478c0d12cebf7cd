/* Idle stops. One reaper thread sleeps until the earliest pending stop (no
 * polling: with nothing pending it waits without a timeout), then starts a
 * stop thread for that user, which stops the container if the user still has
 * no session, no daemon flag and no direct TCP session to its sshd. The
 * reaper itself never takes a lifecycle lock: a user whose lock is held by a
 * long commit keeps only their own stop waiting. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "box.h"
#include "clock.h"
#include "container.h"
#include "direct.h"
#include "flags.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "thread.h"

static pthread_cond_t reaper_wake;

void idle_schedule(struct user_state *u, long long at_ms)
{
	if (at_ms == 0)
		u->stop_forced = u->stop_again = 0;
	u->stop_at = at_ms;
	pthread_cond_signal(&reaper_wake);
}

void idle_stop_now(struct user_state *u)
{
	state_lock();
	idle_schedule(u, mono_ms());
	u->stop_forced = 1;
	state_unlock();
}

/* Decides under the user's lifecycle lock, so no login can slip in between
 * the check and the stop. Whether it is a stopnow is read there too: a login
 * that came first has cancelled it. */
static void try_stop(struct user_state *u)
{
	struct config cfg;
	struct err err = {0};
	struct engine *e = NULL;
	struct container_info info;
	state_config_get(&cfg);
	pthread_mutex_lock(&u->lifecycle);
	state_lock();
	int sessions = u->sessions;
	int forced = u->stop_forced;
	u->stop_forced = 0;
	state_unlock();
	if (!forced && sessions > 0)
		goto out;
	if (engine_open(&cfg, &e, &err) < 0)
		goto fail;
	int found = box_lookup(e, &cfg, u->name, &info, &err);
	if (found < 0)
		goto fail;
	if (found == 0 || !info.running)
		goto out;
	/* Daemon mode does not keep a container of an older, less isolated
	 * spec: stopped, it is re-created at the next login. */
	if (!forced && info.spec >= BOX_SPEC_VERSION && flags_daemon(&cfg, u->name)) {
		log_info("user \"%s\": idle, but in daemon mode: keeping the container running",
		         u->name);
		goto out;
	}
	int direct = forced ? 0 : direct_sessions(info.pid);
	if (direct > 0) {
		log_info("user \"%s\": %d direct ssh session(s) to the container: not idle",
		         u->name, direct);
		state_lock();
		busy_window_restart(&u->busy);
		if (u->sessions == 0 && u->stop_at == 0)
			idle_schedule(u, mono_ms() + (long long)cfg.idle_grace_seconds * 1000);
		state_unlock();
		goto out;
	}
	int max_reached = 0;
	if (!forced && busy_keep(u, &cfg, info.pid, &max_reached)) {
		state_lock();
		int tenths = u->busy.kept_tenths;
		state_unlock();
		metrics_busy_kept();
		log_info("user \"%s\": idle, but busy (%d.%d%% CPU over the grace period): "
		         "keeping the container running",
		         u->name, tenths / 10, tenths % 10);
		goto out;
	}
	if (box_stop(e, info.id, cfg.stop_timeout_seconds, &err) < 0)
		goto fail;
	metrics_stop(forced        ? METRICS_STOP_STOPNOW
	             : max_reached ? METRICS_STOP_BUSY_MAX
	                           : METRICS_STOP_IDLE);
	state_lock();
	u->box_state = BOX_STATE_STOPPED;
	state_unlock();
	log_info("user \"%s\": container %.12s stopped (%s)", u->name, info.id,
	         forced        ? "stopnow"
	         : max_reached ? "busy, but idle_busy_max_hours reached"
	                       : "idle");
	goto out;
fail:
	log_err("user \"%s\": cannot stop the idle container: %s; retrying later", u->name,
	        err.msg);
	state_lock();
	if (u->stop_at == 0)
		idle_schedule(u, mono_ms() + 30000);
	state_unlock();
out:
	engine_close(e);
	pthread_mutex_unlock(&u->lifecycle);
}

/* One user's stop, on its own thread; again while stops fell due meanwhile. */
static void *stop_thread(void *arg)
{
	struct user_state *u = arg;
	for (;;) {
		try_stop(u);
		state_lock();
		int again = u->stop_again;
		u->stop_again = 0;
		if (!again)
			u->stopping = 0;
		state_unlock();
		if (!again)
			return NULL;
	}
}

static void *reaper(void *arg)
{
	state_lock();
	for (;;) {
		long long now = mono_ms(), next = 0;
		struct user_state *due = NULL;
		for (struct user_state *u = state_first(); u != NULL; u = u->next) {
			if (u->stop_at == 0)
				continue;
			if (u->stop_at <= now) {
				due = u;
				break;
			}
			if (next == 0 || u->stop_at < next)
				next = u->stop_at;
		}
		if (due != NULL) {
			due->stop_at = 0;
			if (due->stopping) {
				due->stop_again = 1; /* its thread decides again */
				continue;
			}
			due->stopping = 1;
			if (thread_spawn(stop_thread, due) != 0) {
				due->stopping = 0;
				due->stop_at = now + 1000;
				log_warn(
				    "user \"%s\": no thread for the idle stop; retrying in 1 s",
				    due->name);
			}
			continue;
		}
		if (next == 0) {
			pthread_cond_wait(&reaper_wake, state_mutex());
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			long long wait = next - now;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&reaper_wake, state_mutex(), &ts);
		}
	}
	return NULL;
}

int idle_start_reaper(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&reaper_wake, &ca);
	pthread_condattr_destroy(&ca);
	return thread_spawn(reaper, NULL) == 0 ? 0 : -1;
}
