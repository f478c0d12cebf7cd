/* The admin CLI's changes to a provisioned user in swarm mode, from any
 * manager: the record (set), the home node (move). Each is a write with the
 * version it was read at, tried again when a login or the home node wrote
 * first. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "swarm.h"

#define ADMIN_TIMEOUT_S 20
#define CAS_TRIES       10

int swarm_record_load(struct engine *e, const struct config *cfg, const char *user,
                      struct user_record *ret_rec, struct err *err)
{
	json_t *svc = NULL;
	int found = swarm_service_get(e, cfg, user, &svc, err);
	if (found == 0)
		return err_set(err, ENOENT, "\"%s\" is not an sshbox user (no swarm service)",
		               user);
	int rc = found < 0 ? -1 : swarm_record(svc, user, ret_rec, err);
	json_decref(svc);
	return rc;
}

/* One compare-and-swap round of change on the user's service: 0 done, 1
 * written by someone else first, -1 error (change's own included). */
typedef int (*spec_change)(json_t *svc, json_t *spec, const void *arg, struct err *err);

static int update_loop(struct engine *e, const struct config *cfg, const char *user,
                       spec_change change, const void *arg, struct err *err)
{
	for (int i = 0; i < CAS_TRIES; i++) {
		json_t *svc = NULL;
		int found = swarm_service_get(e, cfg, user, &svc, err);
		if (found <= 0)
			return found == 0
			           ? err_set(err, ENOENT,
			                     "\"%s\" is not an sshbox user (no swarm service)",
			                     user)
			           : -1;
		json_t *spec = swarm_spec_copy(svc);
		int rc = spec == NULL ? err_set(err, ENOMEM, "out of memory")
		                      : change(svc, spec, arg, err);
		if (rc == 0)
			rc = swarm_service_update(e, svc, spec, err);
		json_decref(spec);
		json_decref(svc);
		if (rc <= 0)
			return rc;
	}
	return err_set(err, EBUSY, "the swarm service of \"%s\" kept changing; try again", user);
}

static int put_record(json_t *svc, json_t *spec, const void *arg, struct err *err)
{
	const struct user_record *rec = arg;
	const char *user = swarm_label(svc, SWARM_LABEL_USER);
	char text[8192];
	size_t len;
	if (record_format(user, rec, text, sizeof(text), &len, err) < 0)
		return -1;
	swarm_set_label(spec, SWARM_LABEL_REC, text);
	/* The next start writes the container spec anew (limits, image). */
	swarm_set_label(spec, SWARM_LABEL_SPEC, NULL);
	return 0;
}

int swarm_record_store(struct engine *e, const struct config *cfg, const char *user,
                       const struct user_record *rec, struct err *err)
{
	return update_loop(e, cfg, user, put_record, rec, err);
}

int swarm_node_check(struct engine *e, const char *node, struct err *err)
{
	json_t *nodes = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", "/nodes", NULL, ADMIN_TIMEOUT_S, ok, "list swarm nodes", &nodes,
	                err) < 0)
		return -1;
	char names[512] = "";
	size_t i, len = 0;
	json_t *n;
	int found = 0;
	json_array_foreach(nodes, i, n)
	{
		const char *name = json_string_value(json_object_get(
		    json_object_get(json_object_get(n, "Spec"), "Labels"), SWARM_LABEL_NODE));
		if (name == NULL)
			continue;
		found |= strcmp(name, node) == 0;
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
			                        len ? ", " : "", name);
	}
	json_decref(nodes);
	return found ? 0
	             : err_set(err, ENOENT, "no swarm node has the label %s=%s (nodes: %s)",
	                       SWARM_LABEL_NODE, node, names[0] ? names : "none labelled");
}

struct move {
	const char *node;
	char from[64];
};

static int put_node(json_t *svc, json_t *spec, const void *arg, struct err *err)
{
	struct move *m = (struct move *)arg;
	const char *user = swarm_label(svc, SWARM_LABEL_USER);
	const char *home = swarm_label(svc, SWARM_LABEL_NODE);
	snprintf(m->from, sizeof(m->from), "%s", home ? home : "");
	if (home != NULL && strcmp(home, m->node) == 0)
		return err_set(err, EALREADY, "the home node of \"%s\" is %s already", user, home);
	if (swarm_replicas(spec) != 0)
		return err_set(err, EBUSY,
		               "the container of \"%s\" is running on %s: it moves only while "
		               "stopped (it stops when idle, or when the user runs 'stop')",
		               user, home ? home : "its node");
	struct user_record rec;
	if (swarm_record(svc, user, &rec, err) < 0)
		return -1;
	char constraint[128];
	snprintf(constraint, sizeof(constraint), "node.labels.%s==%s", SWARM_LABEL_NODE, m->node);
	json_t *tt = json_object_get(spec, "TaskTemplate");
	json_object_set_new(json_object_get(tt, "Placement"), "Constraints",
	                    json_pack("[s]", constraint));
	/* A committed image and a saved layer (3.10) are on the old node: the
	 * new one starts from the record's image. */
	json_object_set_new(json_object_get(tt, "ContainerSpec"), "Image", json_string(rec.image));
	swarm_set_label(spec, SWARM_LABEL_NODE, m->node);
	swarm_set_label(spec, SWARM_LABEL_IMAGE, NULL);
	swarm_set_label(spec, SWARM_LABEL_LAYER, NULL);
	swarm_set_label(spec, SWARM_LABEL_SAVING, NULL);
	swarm_set_label(spec, SWARM_LABEL_FENCED, NULL);
	swarm_set_label(spec, SWARM_LABEL_SPEC, NULL);
	return 0;
}

int swarm_move(struct engine *e, const struct config *cfg, const char *user, const char *node,
               char *ret_from, size_t size, struct err *err)
{
	struct move m = {.node = node};
	if (swarm_node_check(e, node, err) < 0 || update_loop(e, cfg, user, put_node, &m, err) < 0)
		return -1;
	snprintf(ret_from, size, "%s", m.from);
	return 0;
}
