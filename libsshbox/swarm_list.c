#include "swarm_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm.h"
#include "swarm_health.h"

#define S(obj, key) json_string_value(json_object_get((obj), (key)))

static json_t *get_json(struct engine *e, const char *path, const char *what, struct err *err)
{
	json_t *j = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, SWARM_CALL_TIMEOUT_S, ok, what, &j, err) < 0)
		return NULL;
	if (!json_is_array(j)) {
		json_decref(j);
		err_set(err, EPROTO, "%s: the engine's answer is not a list", what);
		return NULL;
	}
	return j;
}

/* The node's sshbox.node name (its hostname when unlabelled) and state. */
static void node_of(json_t *nodes, const char *id, const char **ret_name, const char **ret_state)
{
	size_t i;
	json_t *n;
	*ret_name = NULL;
	*ret_state = NULL;
	json_array_foreach(nodes, i, n)
	{
		const char *nid = S(n, "ID");
		if (id == NULL || nid == NULL || strcmp(nid, id) != 0)
			continue;
		*ret_name =
		    S(json_object_get(json_object_get(n, "Spec"), "Labels"), SWARM_LABEL_NODE);
		if (*ret_name == NULL)
			*ret_name = S(json_object_get(n, "Description"), "Hostname");
		*ret_state = S(json_object_get(n, "Status"), "State");
	}
}

/* The state of the node named home (sshbox.node), NULL when no node has it. */
static const char *home_state(json_t *nodes, const char *home)
{
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n)
	{
		const char *name =
		    S(json_object_get(json_object_get(n, "Spec"), "Labels"), SWARM_LABEL_NODE);
		if (name != NULL && home != NULL && strcmp(name, home) == 0)
			return S(json_object_get(n, "Status"), "State");
	}
	return NULL;
}

static int task_state_is(json_t *task, const char *state)
{
	const char *s = S(json_object_get(task, "Status"), "State");
	return s != NULL && strcmp(s, state) == 0;
}

/* Why a task meant to run does not: its error, else swarm's message. */
static void task_reason(json_t *task, char *buf, size_t size)
{
	json_t *st = json_object_get(task, "Status");
	const char *why = S(st, "Err");
	if (why == NULL || why[0] == '\0')
		why = S(st, "Message");
	snprintf(buf, size, "%s", why && why[0] ? why : "no reason given");
}

static void describe(json_t *svc, json_t *tasks, json_t *nodes, const char *self,
                     struct swarm_row *r)
{
	const char *sid = S(svc, "ID");
	json_t *spec = json_object_get(svc, "Spec");
	const char *home = swarm_label(svc, SWARM_LABEL_NODE);
	snprintf(r->node, sizeof(r->node), "%s", home ? home : "?");
	const char *image =
	    S(json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"), "Image");
	snprintf(r->image, sizeof(r->image), "%.*s", image ? (int)strcspn(image, "@") : 1,
	         image ? image : "?");
	json_t *meant = NULL, *live = NULL, *last = NULL, *t;
	json_int_t last_v = -1;
	size_t i;
	json_array_foreach(tasks, i, t)
	{
		const char *ts = S(t, "ServiceID");
		if (ts == NULL || sid == NULL || strcmp(ts, sid) != 0)
			continue;
		const char *desired = S(t, "DesiredState");
		if (desired != NULL && strcmp(desired, "running") == 0)
			meant = t;
		if (task_state_is(t, "running"))
			live = t;
		json_int_t v =
		    json_integer_value(json_object_get(json_object_get(t, "Version"), "Index"));
		if (v > last_v) {
			last_v = v;
			last = t; /* the task changed last */
		}
	}
	if (live != NULL) {
		const char *name = NULL, *state = NULL, *nid = S(live, "NodeID");
		node_of(nodes, nid, &name, &state);
		r->running = 1;
		r->here = nid != NULL && self != NULL && strcmp(nid, self) == 0;
		snprintf(r->task_node, sizeof(r->task_node), "%s", name ? name : "?");
		snprintf(r->container, sizeof(r->container), "%s",
		         S(json_object_get(json_object_get(live, "Status"), "ContainerStatus"),
		           "ContainerID")
		             ?: "");
	}
	const char *hs = home_state(nodes, home);
	long long replicas = swarm_replicas(spec);
	char why[200];
	if (hs == NULL)
		snprintf(r->state, sizeof(r->state), "home node down (no node is named %s)",
		         r->node);
	else if (strcmp(hs, "ready") != 0)
		snprintf(r->state, sizeof(r->state), "home node down (%s is %s)", r->node, hs);
	else if (replicas <= 0)
		snprintf(r->state, sizeof(r->state), "%s%s", live ? "stopping" : "stopped",
		         swarm_label(svc, SWARM_LABEL_SAVING) ? " (saving its layer)" : "");
	else if (meant == NULL && last != NULL && !task_state_is(last, "rejected")) {
		task_reason(last, why, sizeof(why));
		snprintf(r->state, sizeof(r->state),
		         "ended on its own (%s): the home node saves it", why);
	} else if (meant != NULL && task_state_is(meant, "running"))
		snprintf(r->state, sizeof(r->state), "running");
	else if (meant != NULL && task_state_is(meant, "pending")) {
		task_reason(meant, why, sizeof(why));
		snprintf(r->state, sizeof(r->state), "pending: %s", why);
	} else if (meant != NULL &&
	           (task_state_is(meant, "failed") || task_state_is(meant, "rejected"))) {
		task_reason(meant, why, sizeof(why));
		snprintf(r->state, sizeof(r->state), "failed: %s", why);
	} else
		snprintf(r->state, sizeof(r->state), "starting");
	const char *unsaved = swarm_label(svc, SWARM_LABEL_UNSAVED);
	if (unsaved != NULL) {
		size_t used = strlen(r->state);
		snprintf(r->state + used, sizeof(r->state) - used,
		         "; save failed, kept on %s: container %s", r->node, unsaved);
	}
}

static int by_user(const void *a, const void *b)
{
	return strcmp(((const struct swarm_row *)a)->user, ((const struct swarm_row *)b)->user);
}

int swarm_list(struct engine *e, const struct config *cfg, const char *only,
               struct swarm_row **ret_rows, size_t *ret_n, struct err *err)
{
	struct swarm_health h;
	if (swarm_health_gate(e, NULL, "the cluster's users cannot be listed now",
	                      SWARM_LEADER_WAIT_S, err) < 0 ||
	    swarm_health_read(e, NULL, &h, err) < 0)
		return -1;
	char filters[300], query[600], path[700];
	snprintf(filters, sizeof(filters), "{\"label\":[\"%s=%s\"]}", SWARM_LABEL_INSTANCE,
	         cfg->instance);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/services?filters=%s", query);
	json_t *services = get_json(e, path, "list the cluster's services", err);
	json_t *tasks = services ? get_json(e, "/tasks", "list the cluster's tasks", err) : NULL;
	json_t *nodes = tasks ? get_json(e, "/nodes", "list the cluster's nodes", err) : NULL;
	struct swarm_row *rows = NULL;
	size_t n = 0, i;
	int rc = -1;
	json_t *svc;
	if (nodes == NULL)
		goto out;
	rows = calloc(json_array_size(services) + 1, sizeof(*rows));
	if (rows == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(services, i, svc)
	{
		const char *user = swarm_label(svc, SWARM_LABEL_USER);
		const char *inst = swarm_label(svc, SWARM_LABEL_INSTANCE);
		if (user == NULL || !user_name_valid(user) || inst == NULL ||
		    strcmp(inst, cfg->instance) != 0 || (only != NULL && strcmp(user, only) != 0))
			continue;
		snprintf(rows[n].user, sizeof(rows[n].user), "%s", user);
		describe(svc, tasks, nodes, h.node_id, &rows[n]);
		n++;
	}
	qsort(rows, n, sizeof(*rows), by_user);
	*ret_rows = rows;
	*ret_n = n;
	rows = NULL;
	rc = 0;
out:
	free(rows);
	json_decref(services);
	json_decref(tasks);
	json_decref(nodes);
	return rc;
}
