#include "swarm_exit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "box.h"
#include "clock.h"
#include "log.h"
#include "names.h"
#include "swarm.h"
#include "swarm_layer.h"
#include "swarm_save.h"

#define EXIT_WAIT_MS 30000 /* the home node converts within a second or two */
#define PENDING_MAX  64

static const char *str_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return json_string_value(b != NULL ? json_object_get(v, b) : v);
}

int swarm_exit_read(struct engine *e, const struct config *cfg, const char *user,
                    struct swarm_exit *ret, struct err *err)
{
	char name[128], filters[256], query[600], path[700];
	box_container_name(cfg->instance, user, name, sizeof(name));
	snprintf(filters, sizeof(filters), "{\"service\":[\"%s\"]}", name);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/tasks?filters=%s", query);
	json_t *tasks = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, 10, ok, "list the user's tasks", &tasks, err) < 0)
		return -1;
	memset(ret, 0, sizeof(*ret));
	json_int_t newest = -1;
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t)
	{
		const char *desired = str_at(t, "DesiredState", NULL);
		json_int_t v =
		    json_integer_value(json_object_get(json_object_get(t, "Version"), "Index"));
		if (desired != NULL && strcmp(desired, "running") == 0)
			ret->meant = 1;
		if (v <= newest)
			continue;
		newest = v;
		json_t *st = json_object_get(t, "Status");
		const char *why = str_at(st, "Err", NULL);
		if (why == NULL || why[0] == '\0')
			why = str_at(st, "Message", NULL);
		snprintf(ret->newest, sizeof(ret->newest), "%s", str_at(t, "ID", NULL) ?: "");
		snprintf(ret->container, sizeof(ret->container), "%s",
		         str_at(json_object_get(st, "ContainerStatus"), "ContainerID", NULL) ?: "");
		snprintf(ret->state, sizeof(ret->state), "%s", str_at(st, "State", NULL) ?: "?");
		ret->removed = desired != NULL && strcmp(desired, "remove") == 0;
		snprintf(ret->why, sizeof(ret->why), "%s", why ?: "");
	}
	json_decref(tasks);
	return 0;
}

int swarm_exit_unplanned(json_t *svc, const struct swarm_exit *x)
{
	const char *stopped = swarm_label(svc, SWARM_LABEL_STOPPED);
	return swarm_replicas(json_object_get(svc, "Spec")) == 1 &&
	       swarm_label(svc, SWARM_LABEL_SAVING) == NULL && !x->meant && x->newest[0] != '\0' &&
	       x->container[0] != '\0' && !x->removed &&
	       (stopped == NULL || strcmp(stopped, x->newest) != 0);
}

/* Candidates seen by the home node's last rounds, with the service version
 * each was seen at: one is converted only when a second round finds the
 * same version, so a touch the orchestrator has not acted on yet (it
 * starts the new task within milliseconds) is never taken for an exit. */
static struct {
	char container[80];
	long long version, at;
} pending[PENDING_MAX];

static int seen_before(const char *container, long long version)
{
	int slot = 0;
	for (int i = 0; i < PENDING_MAX; i++) {
		if (strcmp(pending[i].container, container) == 0) {
			int same = pending[i].version == version;
			pending[i].version = version;
			return same;
		}
		if (pending[i].at < pending[slot].at)
			slot = i;
	}
	snprintf(pending[slot].container, sizeof(pending[slot].container), "%s", container);
	pending[slot].version = version;
	pending[slot].at = mono_ms();
	return 0;
}

int swarm_exit_convert(struct engine *e, const struct config *cfg, const char *container,
                       json_t *labels)
{
	const char *user = json_string_value(json_object_get(labels, SWARM_CLABEL_USER));
	const char *task = json_string_value(json_object_get(labels, "com.docker.swarm.task.id"));
	struct err err = {0};
	struct swarm_exit x;
	json_t *svc = NULL;
	int keep = 0;
	if (user == NULL || task == NULL || !user_name_valid(user) ||
	    swarm_service_get(e, cfg, user, &svc, &err) <= 0 ||
	    swarm_exit_read(e, cfg, user, &x, &err) < 0)
		goto out;
	if (!swarm_exit_unplanned(svc, &x) || strcmp(x.newest, task) != 0 ||
	    strcmp(x.container, container) != 0)
		goto out;
	keep = 1;
	if (!seen_before(container, swarm_version(svc)))
		goto out;
	json_t *spec = swarm_spec_copy(svc);
	swarm_set_replicas(spec, 0);
	swarm_set_label(spec, SWARM_LABEL_STOPPED, task);
	swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
	swarm_layer_mark(spec, container);
	int rc = swarm_service_update(e, svc, spec, &err);
	json_decref(spec);
	if (rc < 0)
		log_err("user \"%s\": cannot turn the end of task container %.12s into a stop: %s; "
		        "retrying",
		        user, container, err.msg);
	if (rc != 0)
		goto out; /* a login wrote first: its new task runs; decided again */
	log_info("user \"%s\": task container %.12s ended on its own (%s: %s); service scaled to "
	         "0 to save it",
	         user, container, x.state, x.why);
	swarm_save_later(user, container);
out:
	json_decref(svc);
	return keep;
}

int swarm_exit_wait(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                    int (*home_down)(struct engine *, json_t *, struct err *),
                    struct swarm_exit *ret, struct err *err)
{
	long long deadline = mono_ms() + EXIT_WAIT_MS, next_node_check = 0;
	for (int waited = 0;; waited++) {
		if (swarm_exit_read(e, cfg, user, ret, err) < 0)
			return -1;
		if (!swarm_exit_unplanned(*svc, ret))
			return waited ? 1 : 0;
		if (!waited)
			log_info("user \"%s\": waiting for the home node to save task container "
			         "%.12s, which ended on its own (%s)",
			         user, ret->container, ret->state);
		if (mono_ms() >= next_node_check) {
			if (home_down(e, *svc, err))
				return -1;
			next_node_check = mono_ms() + 2000;
		}
		if (mono_ms() >= deadline)
			return err_set(err, ETIMEDOUT,
			               "your container stopped unexpectedly and node %s has not "
			               "saved it yet; try again in a minute",
			               swarm_label(*svc, SWARM_LABEL_NODE) ?: "?");
		usleep(200 * 1000);
		if (swarm_service_reread(e, cfg, user, svc, err) < 0)
			return -1;
	}
}
