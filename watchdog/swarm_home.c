#include "swarm_home.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "box.h"
#include "bundle.h"
#include "clock.h"
#include "direct.h"
#include "engine.h"
#include "flags.h"
#include "log.h"
#include "names.h"
#include "session.h"
#include "swarm.h"
#include "swarm_commit.h"
#include "swarm_fence.h"
#include "swarm_flags.h"
#include "swarm_layer.h"
#include "swarm_save.h"
#include "swarm_mailbox.h"
#include "thread.h"

#define POLL_MS         500
#define BUNDLE_CHECK_MS 60000 /* a few stat calls when nothing changed */
#define TRACKED_MAX     512
#define CAS_TRIES       5

/* A task container running on this node, as followed from round to round. */
struct tracked {
	char container[80], task[80], user[USER_NAME_MAX + 1];
	int used, seen, fenced;
	unsigned long long nodes; /* the node list its fence holds (swarm_fence.h) */
	long long idle_t0;        /* mono ms the count was found 0 (H1), 0 = not idle */
	long long v0;             /* the service's version then */
	char login0[128];         /* and its sshbox.login */

	long long first_seen; /* mono ms this node first saw it running (flags) */
	int daemon_logged;    /* "kept: daemon mode" said for this idle time */
};

static struct tracked table[TRACKED_MAX];

static struct tracked *track(const char *container)
{
	struct tracked *free_slot = NULL;
	for (int i = 0; i < TRACKED_MAX; i++) {
		if (table[i].used && strcmp(table[i].container, container) == 0)
			return &table[i];
		if (!table[i].used && free_slot == NULL)
			free_slot = &table[i];
	}
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->used = 1;
		free_slot->first_seen = mono_ms();
		snprintf(free_slot->container, sizeof(free_slot->container), "%s", container);
	}
	return free_slot;
}

static const char *label_or_empty(json_t *svc, const char *key)
{
	const char *v = swarm_label(svc, key);
	return v ? v : "";
}

/* Sets (value) or removes (NULL) one label with the version read, again
 * while others write first; only_if: skip unless the label has this value. */
static int set_label(struct engine *e, const struct config *cfg, const char *user, const char *key,
                     const char *value, const char *only_if, struct err *err)
{
	for (int i = 0; i < CAS_TRIES; i++) {
		json_t *svc = NULL;
		int found = swarm_service_get(e, cfg, user, &svc, err);
		if (found <= 0)
			return found;
		const char *now = swarm_label(svc, key);
		int skip = (only_if != NULL && (now == NULL || strcmp(now, only_if) != 0)) ||
		           (value != NULL && now != NULL && strcmp(now, value) == 0);
		int rc = 0;
		if (!skip) {
			json_t *spec = swarm_spec_copy(svc);
			swarm_set_label(spec, key, value);
			rc = swarm_service_update(e, svc, spec, err);
			json_decref(spec);
		}
		json_decref(svc);
		if (rc != 1)
			return rc;
	}
	return err_set(err, EBUSY, "the service kept changing");
}

/* H1: remember the version and the last login the idle time began with. */
static void idle_begin(struct engine *e, const struct config *cfg, struct tracked *t)
{
	struct err err = {0};
	json_t *svc = NULL;
	if (swarm_service_get(e, cfg, t->user, &svc, &err) <= 0)
		return;
	t->v0 = swarm_version(svc);
	snprintf(t->login0, sizeof(t->login0), "%s", label_or_empty(svc, SWARM_LABEL_LOGIN));
	t->idle_t0 = mono_ms();
	json_decref(svc);
}

/* H2-H5 (docs/design-cluster.md 3.5): every step a compare-and-swap on the
 * version its decision was read at; any login in between makes it give up. */
static void idle_decide(struct engine *e, const struct config *cfg, struct tracked *t, pid_t pid)
{
	struct err err = {0};
	json_t *svc = NULL;
	int found = swarm_service_get(e, cfg, t->user, &svc, &err);
	if (found == 0) { /* removed meanwhile (cleanuser): nothing to stop */
		t->idle_t0 = 0;
		return;
	}
	if (found < 0)
		goto fail;
	if (swarm_version(svc) != t->v0) { /* H2: touched meanwhile */
		json_decref(svc);
		idle_begin(e, cfg, t);
		return;
	}
	int daemon = flags_daemon(cfg, t->user);
	if (swarm_replicas(json_object_get(svc, "Spec")) == 0 || daemon) {
		if (daemon && !t->daemon_logged)
			log_info("user \"%s\": idle, but in daemon mode: keeping task container "
			         "%.12s running",
			         t->user, t->container);
		t->daemon_logged = daemon;
		json_decref(svc);
		t->idle_t0 = mono_ms();
		return;
	}
	t->daemon_logged = 0;
	json_t *spec = swarm_spec_copy(svc); /* H3: the stop mark */
	swarm_set_label(spec, SWARM_LABEL_STOPPING, t->task);
	int rc = swarm_service_update(e, svc, spec, &err);
	json_decref(spec);
	json_decref(svc);
	svc = NULL;
	if (rc != 0)
		goto again;
	if (direct_sessions(pid) > 0) { /* H4: a session came meanwhile */
		set_label(e, cfg, t->user, SWARM_LABEL_STOPPING, NULL, t->task, &err);
		t->idle_t0 = 0;
		return;
	}
	if (swarm_service_get(e, cfg, t->user, &svc, &err) <= 0) /* H5 */
		goto fail;
	if (strcmp(label_or_empty(svc, SWARM_LABEL_LOGIN), t->login0) != 0 ||
	    strcmp(label_or_empty(svc, SWARM_LABEL_STOPPING), t->task) != 0) {
		json_decref(svc);
		t->idle_t0 = 0;
		return;
	}
	spec = swarm_spec_copy(svc);
	swarm_set_replicas(spec, 0);
	swarm_set_label(spec, SWARM_LABEL_STOPPED, t->task);
	swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
	swarm_layer_mark(spec, t->container); /* its writable layer is saved (3.10) */
	rc = swarm_service_update(e, svc, spec, &err);
	json_decref(spec);
	json_decref(svc);
	if (rc != 0)
		goto again;
	log_info("user \"%s\": task container %.12s stopped (idle; service scaled to 0)", t->user,
	         t->container);
	swarm_save_later(t->user, t->container);
	t->idle_t0 = 0;
	return;
again:
	if (rc < 0)
		goto fail;
	t->idle_t0 = 0; /* someone wrote first: decide again from H1 */
	return;
fail:
	log_err("user \"%s\": cannot stop the idle container: %s; retrying later", t->user,
	        err.msg);
	t->idle_t0 = mono_ms();
}

/* stopnow (design 3.6): H5 without the grace and the recount, so sessions
 * end; a login that touched the service after the request wins, as a login
 * cancels a pending stopnow on a single host. */
static void stop_now(struct engine *e, const struct config *cfg, struct tracked *t)
{
	struct err err = {0};
	char login0[128] = "";
	for (int i = 0; i < CAS_TRIES; i++) {
		json_t *svc = NULL;
		int found = swarm_service_get(e, cfg, t->user, &svc, &err);
		if (found <= 0)
			goto fail;
		const char *login = label_or_empty(svc, SWARM_LABEL_LOGIN);
		if (i == 0)
			snprintf(login0, sizeof(login0), "%s", login);
		if (strcmp(login, login0) != 0 ||
		    swarm_replicas(json_object_get(svc, "Spec")) == 0) {
			json_decref(svc);
			return;
		}
		json_t *spec = swarm_spec_copy(svc);
		swarm_set_replicas(spec, 0);
		swarm_set_label(spec, SWARM_LABEL_STOPPED, t->task);
		swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
		swarm_layer_mark(spec, t->container); /* saved as at an idle stop (3.10) */
		int rc = swarm_service_update(e, svc, spec, &err);
		json_decref(spec);
		json_decref(svc);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			log_info("user \"%s\": task container %.12s stopped (stopnow; service "
			         "scaled to 0)",
			         t->user, t->container);
			swarm_save_later(t->user, t->container);
			t->idle_t0 = 0;
			return;
		}
	}
	err_set(&err, EBUSY, "the service kept changing");
fail:
	log_err("user \"%s\": cannot stop the container (stopnow): %s", t->user, err.msg);
}

static void round_once(struct engine *e, const struct config *cfg)
{
	char filters[256], query[600], path[700];
	/* paused: a commit pauses its container for its whole length; that
	 * container stays followed (its requests served, not fenced again). */
	snprintf(filters, sizeof(filters),
	         "{\"label\":[\"%s=%s\"],\"status\":[\"running\",\"paused\"]}",
	         SWARM_CLABEL_INSTANCE, cfg->instance);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/containers/json?filters=%s", query);
	json_t *list = NULL;
	struct err err = {0};
	static const long ok[] = {200, 0};
	swarm_flags_home_round(e, cfg);
	if (engine_call(e, "GET", path, NULL, 10, ok, "list task containers", &list, &err) < 0)
		return;
	for (int i = 0; i < TRACKED_MAX; i++)
		table[i].seen = 0;
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		json_t *labels = json_object_get(c, "Labels");
		const char *user = json_string_value(json_object_get(labels, SWARM_CLABEL_USER));
		const char *task =
		    json_string_value(json_object_get(labels, "com.docker.swarm.task.id"));
		if (id == NULL || user == NULL || task == NULL || !user_name_valid(user))
			continue;
		struct tracked *t = track(id);
		if (t == NULL)
			continue;
		t->seen = 1;
		snprintf(t->user, sizeof(t->user), "%s", user);
		snprintf(t->task, sizeof(t->task), "%s", task);
		json_t *j = NULL;
		if (engine_inspect(e, "containers", id, &j, &err) <= 0)
			continue;
		pid_t pid =
		    (pid_t)json_integer_value(json_object_get(json_object_get(j, "State"), "Pid"));
		json_decref(j);
		if (pid <= 0)
			continue;
		if (!t->fenced) {
			if (!swarm_flags_stale(e, t->user, t->container, pid))
				t->fenced = swarm_fence(e, cfg, t->user, t->container, t->task, pid,
				                        &t->nodes) > 0;
			continue;
		}
		swarm_fence_renew(e, t->user, t->container, pid, &t->nodes);
		/* While its commit runs (on a thread), the container is neither
		 * idle nor stopped now: as on one host, where both wait for the
		 * commit's end; a stopnow is taken after it. */
		int committing = swarm_commit_busy(t->container);
		/* A stopnow made before this task ran came from an older one. */
		long long stopnow_at = committing ? 0 : swarm_flags_stopnow_take(t->user);
		if (stopnow_at != 0 && stopnow_at >= t->first_seen) {
			stop_now(e, cfg, t);
			continue;
		}
		json_t *svc = NULL;
		if (swarm_service_get(e, cfg, t->user, &svc, &err) > 0)
			swarm_mailbox_serve(e, cfg, svc, t->user, t->task, t->container, pid);
		json_decref(svc);
		if (committing || direct_sessions(pid) > 0)
			t->idle_t0 = 0;
		else if (t->idle_t0 == 0)
			idle_begin(e, cfg, t);
		else if (mono_ms() >= t->idle_t0 + (long long)cfg->idle_grace_seconds * 1000)
			idle_decide(e, cfg, t, pid);
	}
	json_decref(list);
	for (int k = 0; k < TRACKED_MAX; k++)
		if (table[k].used && !table[k].seen)
			table[k].used = 0;
}

static void *home_loop(void *arg)
{
	(void)arg;
	struct engine *e = NULL;
	long long bundle_checked = 0;
	for (;;) {
		struct config cfg;
		struct err err = {0};
		state_config_get(&cfg);
		/* Tasks placed here bind this node's bundle: it exists before
		 * the first one starts, and follows an upgrade of OpenSSH. */
		if (cfg.engine_mode == ENGINE_MODE_SWARM &&
		    (bundle_checked == 0 || mono_ms() - bundle_checked >= BUNDLE_CHECK_MS)) {
			char key[BUNDLE_KEYMAX];
			if (bundle_ensure(&cfg, key, sizeof(key), &err) < 0)
				log_err("swarm: %s", err.msg);
			bundle_checked = mono_ms();
		}
		if (e == NULL && engine_open(&cfg, &e, &err) < 0)
			e = NULL;
		if (e != NULL && cfg.engine_mode == ENGINE_MODE_SWARM) {
			round_once(e, &cfg);
			swarm_layer_scan(e, &cfg);
		}
		usleep(POLL_MS * 1000);
	}
	return NULL;
}

int swarm_home_start(void)
{
	return thread_spawn(home_loop, NULL) == 0 ? 0 : -1;
}

int swarm_home_set_label(struct engine *e, const struct config *cfg, const char *user,
                         const char *key, const char *value, const char *only_if, struct err *err)
{
	return set_label(e, cfg, user, key, value, only_if, err);
}
