#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "enginekind.h"
#include "flags.h"
#include "fusesvc.h"
#include "audit.h"
#include "log.h"
#include "names.h"
#include "record.h"
#include "session.h"
#include "thread.h"

static int label_filter(const struct config *cfg, const char *extra, char *buf, size_t size)
{
	char filters[256];
	snprintf(filters, sizeof(filters), "{%s\"label\":[\"sshbox.instance=%s\"]}", extra,
	         cfg->instance);
	return engine_urlencode(filters, buf, size);
}

/* Schedules an idle stop for a running container whose user has no session. */
static void note_running(const struct config *cfg, const char *user, long long extra_ms)
{
	struct user_state *u = state_user(user);
	if (u == NULL)
		return;
	flags_watch(cfg, user);
	fusesvc_watch(cfg, user);
	state_lock();
	u->box_state = BOX_STATE_RUNNING;
	if (u->sessions == 0 && u->stop_at == 0)
		idle_schedule(u, mono_ms() + (long long)cfg->idle_grace_seconds * 1000 + extra_ms);
	state_unlock();
}

void events_adopt(const struct config *cfg, long long extra_ms)
{
	struct err err = {0};
	struct engine *e = NULL;
	char enc[512], path[600];
	if (label_filter(cfg, "", enc, sizeof(enc)) < 0 || engine_open(cfg, &e, &err) < 0)
		return;
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", enc);
	long status = 0;
	json_t *list = NULL;
	static const long ok[] = {200, 0};
	if (engine_request(e, "GET", path, NULL, 30, &status, &list, &err) < 0 ||
	    engine_expect(status, list, ok, "list containers", &err) < 0 || !json_is_array(list)) {
		log_warn("cannot adopt existing containers: %s",
		         err.msg[0] ? err.msg : "bad answer");
		json_decref(list);
		engine_close(e);
		return;
	}
	size_t i;
	json_t *c;
	int adopted = 0;
	json_array_foreach(list, i, c)
	{
		const char *user =
		    json_string_value(json_object_get(json_object_get(c, "Labels"), "sshbox.user"));
		const char *st = json_string_value(json_object_get(c, "State"));
		if (user == NULL || !user_name_valid(user))
			continue;
		adopted++;
		if (st != NULL && strcmp(st, "running") == 0) {
			note_running(cfg, user, extra_ms);
		} else {
			struct user_state *u = state_user(user);
			state_lock();
			if (u != NULL)
				u->box_state = BOX_STATE_STOPPED;
			state_unlock();
		}
	}
	log_info("adopted %d existing container(s) of instance \"%s\"", adopted, cfg->instance);
	json_decref(list);
	engine_close(e);
}

/* The kernel killed a process in the container for want of memory: say so in
 * the user's sessions, with the limit, rather than leave a bare "Killed". */
static void note_oom(const struct config *cfg, const char *user)
{
	struct user_state *u = state_user(user);
	struct user_record rec;
	struct err err = {0};
	long long limit = cfg->default_memory;
	if (record_load(cfg, user, &rec, &err) == 0 && rec.memory >= 0)
		limit = rec.memory;
	char msg[200], size[32] = "";
	if (limit > 0)
		snprintf(size, sizeof(size), " (limit %lld MiB)", limit >> 20);
	snprintf(msg, sizeof(msg),
	         "your container ran out of memory%s: the kernel killed a process in it", size);
	int n = u != NULL ? state_notify(u, msg) : 0;
	log_warn("user \"%s\": container out of memory%s; told %d session(s)", user, size, n);
}

/* Notices in flight: each may wait on slow sessions (state_notify's
 * deadlines), so they run beside the event stream, a bounded number at once. */
#define OOM_NOTICES_MAX 8
static int oom_in_flight; /* guarded by the table lock */

struct oom_notice {
	struct config cfg;
	char user[USER_NAME_MAX + 1];
};

static void *oom_notice_thread(void *arg)
{
	struct oom_notice *n = arg;
	note_oom(&n->cfg, n->user);
	state_lock();
	oom_in_flight--;
	state_unlock();
	free(n);
	return NULL;
}

/* Never waits: a slow session must not hold up the engine's event stream
 * (and with it every other user's start and stop events). */
static void note_oom_later(const struct config *cfg, const char *user)
{
	struct oom_notice *n = malloc(sizeof(*n));
	state_lock();
	int room = n != NULL && oom_in_flight < OOM_NOTICES_MAX;
	if (room)
		oom_in_flight++;
	state_unlock();
	if (!room) {
		log_warn("user \"%s\": container out of memory; too many notices in flight, not "
		         "told",
		         user);
		free(n);
		return;
	}
	n->cfg = *cfg;
	snprintf(n->user, sizeof(n->user), "%s", user);
	if (thread_spawn(oom_notice_thread, n) != 0) {
		log_warn("user \"%s\": container out of memory; no thread to tell the sessions",
		         user);
		state_lock();
		oom_in_flight--;
		state_unlock();
		free(n);
	}
}

/* One line per lifecycle event of a user's container, with why it
 * happened: the watchdog's own hint (login, verb, stopnow), an idle stop in
 * progress, or else someone outside the watchdog (the admin, the engine). */
static void audit_container(const char *user, const char *action, json_t *ev, json_t *attrs)
{
	static const char *const names[][2] = {
	    {"create", "create"}, {"start", "start"}, {"stop", "stop"}, {"destroy", "remove"},
	    {"commit", "commit"}, {"die", "exit"},    {"oom", "oom"}};
	const char *name = NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(action, names[i][0]) == 0)
			name = names[i][1];
	if (name == NULL)
		return;
	json_t *f = json_pack("{s:s}", "action", name);
	const char *id = json_string_value(json_object_get(ev, "id"));
	if (id != NULL)
		json_object_set_new(f, "container", json_stringn(id, strnlen(id, 12)));
	if (strcmp(name, "exit") == 0) {
		const char *code = json_string_value(json_object_get(attrs, "exitCode"));
		if (code != NULL)
			json_object_set_new(f, "exit_code", json_string(code));
	} else if (strcmp(name, "oom") != 0) {
		char why[32] = "outside sshbox";
		if (!audit_reason_take(user, name, why, sizeof(why)) && strcmp(name, "stop") == 0) {
			/* The event may trail the stop thread's end: an idle count
			 * past the grace period says idle too. */
			struct config cfg;
			state_config_get(&cfg);
			struct user_state *u = state_user(user);
			long long now = (long long)time(NULL);
			state_lock();
			if (u != NULL &&
			    (u->stopping || (u->sessions == 0 && u->idle_since != 0 &&
			                     now - u->idle_since >= cfg.idle_grace_seconds - 1)))
				snprintf(why, sizeof(why), "idle");
			state_unlock();
		}
		json_object_set_new(f, "reason", json_string(why));
	}
	audit_event(strcmp(name, "oom") == 0 ? "oom" : "container", user, AUDIT_NO_UID, NULL, f);
}

static int on_event(void *ctx, json_t *ev)
{
	const struct config *cfg = ctx;
	const char *action = json_string_value(json_object_get(ev, "Action"));
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	const char *user = json_string_value(json_object_get(attrs, "sshbox.user"));
	const char *inst = json_string_value(json_object_get(attrs, "sshbox.instance"));
	if (action == NULL || user == NULL || inst == NULL || !user_name_valid(user) ||
	    strcmp(inst, cfg->instance) != 0)
		return 0;
	audit_container(user, action, ev, attrs);
	if (strcmp(action, "start") == 0) {
		note_running(cfg, user, 0);
	} else if (strcmp(action, "oom") == 0) {
		note_oom_later(cfg, user);
	} else if (strcmp(action, "die") == 0 || strcmp(action, "destroy") == 0 ||
	           strcmp(action, "remove") == 0) { /* Podman says "remove" for "destroy" */
		struct user_state *u = state_user(user);
		log_info("user \"%s\": container %s", user,
		         action[0] == 'd' && action[1] == 'i' ? "exited" : "removed");
		if (u != NULL) {
			state_lock();
			if (u->stop_at != 0)
				idle_schedule(u, 0); /* nothing left to stop */
			u->busy.kept_tenths = -1;
			u->box_state = action[1] == 'i' ? BOX_STATE_STOPPED : BOX_STATE_NONE;
			state_unlock();
		}
	}
	return 0;
}

static void *follow(void *arg)
{
	int delay = 1;
	struct config first;
	state_config_get(&first);
	events_adopt(&first, REJOIN_GRACE_MS);
	for (;;) {
		struct config cfg;
		struct err err = {0};
		struct engine *e = NULL;
		char enc[512], path[600];
		state_config_get(&cfg);
		label_filter(&cfg, "\"type\":[\"container\"],", enc, sizeof(enc));
		snprintf(path, sizeof(path), "/events?filters=%s", enc);
		if (engine_open(&cfg, &e, &err) == 0) {
			/* Which engine answers decides a few requests (network.c). */
			struct err kind_err = {0};
			int kind = engine_kind(e, &kind_err);
			if (kind >= 0)
				log_info("container engine at %s is %s", cfg.engine,
				         engine_kind_name((enum engine_kind)kind));
			long long began = mono_ms();
			engine_stream(e, path, on_event, &cfg, &err);
			engine_close(e);
			if (mono_ms() - began > 10000)
				delay = 1;
			log_warn("engine event stream ended%s%s; reconnecting in %d s",
			         err.msg[0] ? ": " : "", err.msg, delay);
		}
		sleep((unsigned)delay);
		if (delay < 30)
			delay *= 2;
		/* Catch up with what happened while the stream was down. */
		state_config_get(&cfg);
		events_adopt(&cfg, 0);
	}
	return NULL;
}

int events_start(void)
{
	pthread_t t;
	return pthread_create(&t, NULL, follow, NULL) == 0 ? 0 : -1;
}
