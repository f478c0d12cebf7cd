#include "swarm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "names.h"
#include "swarm_health.h"

/* Short: without a raft leader dockerd itself waits 20 s. */
#define SWARM_TIMEOUT_S SWARM_CALL_TIMEOUT_S

int swarm_service_get(struct engine *e, const struct config *cfg, const char *user,
                      json_t **ret_service, struct err *err)
{
	char name[128];
	if (box_container_name(cfg->instance, user, name, sizeof(name)) < 0)
		return err_set(err, ENAMETOOLONG, "service name too long");
	json_t *svc = NULL;
	char path[200];
	snprintf(path, sizeof(path), "/services/%s", name);
	long status = 0;
	if (engine_request(e, "GET", path, NULL, SWARM_TIMEOUT_S, &status, &svc, err) < 0)
		return -1;
	if (status == 404) {
		json_decref(svc);
		return 0;
	}
	static const long ok[] = {200, 0};
	if (engine_expect(status, svc, ok, "read the user's swarm service", err) < 0) {
		json_decref(svc);
		return -1;
	}
	/* Found by name: checked to be this instance's and this user's. */
	const char *inst = swarm_label(svc, SWARM_LABEL_INSTANCE);
	const char *owner = swarm_label(svc, SWARM_LABEL_USER);
	if (inst == NULL || owner == NULL || strcmp(inst, cfg->instance) != 0 ||
	    strcmp(owner, user) != 0) {
		json_decref(svc);
		return err_set(err, EEXIST,
		               "swarm service \"%s\" is not sshbox's service of \"%s\"", name,
		               user);
	}
	*ret_service = svc;
	return 1;
}

int swarm_service_need(struct engine *e, const struct config *cfg, const char *user,
                       json_t **ret_service, struct err *err)
{
	int found = swarm_service_get(e, cfg, user, ret_service, err);
	if (found == 0)
		return err_set(err, ENOENT, "the swarm service of \"%s\" went away", user);
	return found < 0 ? -1 : 0;
}

int swarm_service_reread(struct engine *e, const struct config *cfg, const char *user,
                         json_t **service, struct err *err)
{
	json_t *fresh = NULL;
	if (swarm_service_need(e, cfg, user, &fresh, err) < 0)
		return -1;
	json_decref(*service);
	*service = fresh;
	return 0;
}

const char *swarm_label(json_t *service, const char *key)
{
	json_t *labels = json_object_get(json_object_get(service, "Spec"), "Labels");
	return json_string_value(json_object_get(labels, key));
}

long long swarm_version(json_t *service)
{
	return json_integer_value(json_object_get(json_object_get(service, "Version"), "Index"));
}

json_t *swarm_spec_copy(json_t *service)
{
	return json_deep_copy(json_object_get(service, "Spec"));
}

long long swarm_replicas(json_t *spec)
{
	json_t *r = json_object_get(json_object_get(json_object_get(spec, "Mode"), "Replicated"),
	                            "Replicas");
	return json_is_integer(r) ? json_integer_value(r) : -1;
}

/* A spec that could not be copied (out of memory) is left NULL by the
 * setters and refused by swarm_service_update: callers need not check. */
void swarm_set_replicas(json_t *spec, long long n)
{
	if (!json_is_object(spec))
		return;
	json_object_set_new(spec, "Mode", json_pack("{s:{s:I}}", "Replicated", "Replicas", n));
}

void swarm_set_label(json_t *spec, const char *key, const char *value)
{
	if (!json_is_object(spec))
		return;
	json_t *labels = json_object_get(spec, "Labels");
	if (labels == NULL) {
		labels = json_object();
		json_object_set_new(spec, "Labels", labels);
	}
	if (value == NULL)
		json_object_del(labels, key);
	else
		json_object_set_new(labels, key, json_string(value));
}

int swarm_service_update(struct engine *e, json_t *service, json_t *spec, struct err *err)
{
	const char *id = json_string_value(json_object_get(service, "ID"));
	if (id == NULL)
		return err_set(err, EPROTO, "swarm service without an ID");
	if (!json_is_object(spec))
		return err_set(err, ENOMEM, "out of memory (the service spec)");
	char path[200];
	snprintf(path, sizeof(path), "/services/%s/update?version=%lld", id,
	         swarm_version(service));
	long status = 0;
	json_t *answer = NULL;
	if (engine_request(e, "POST", path, spec, SWARM_TIMEOUT_S, &status, &answer, err) < 0)
		return -1;
	const char *msg = json_string_value(json_object_get(answer, "message"));
	int rc = 0;
	if (status != 200 && msg != NULL && strstr(msg, "out of sequence") != NULL)
		rc = 1;
	else {
		static const long ok[] = {200, 0};
		rc = engine_expect(status, answer, ok, "update the user's swarm service", err);
	}
	json_decref(answer);
	return rc;
}

int swarm_record(json_t *service, const char *user, struct user_record *ret_rec, struct err *err)
{
	const char *text = swarm_label(service, SWARM_LABEL_REC);
	if (text == NULL)
		return err_set(err, ENOENT, "the swarm service of \"%s\" has no record label",
		               user);
	char name[160];
	snprintf(name, sizeof(name), "service label %s of %s", SWARM_LABEL_REC, user);
	return record_parse(text, strlen(text), name, ret_rec, err);
}

int swarm_config_data(struct engine *e, const char *name, char *buf, size_t size, struct err *err)
{
	char path[200];
	snprintf(path, sizeof(path), "/configs/%s", name);
	json_t *cfg = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, SWARM_TIMEOUT_S, ok, "read a swarm config", &cfg,
	                err) < 0)
		return -1;
	const char *data = json_string_value(json_object_get(json_object_get(cfg, "Spec"), "Data"));
	int rc = data == NULL ? err_set(err, EPROTO, "swarm config \"%s\" has no data", name)
	                      : b64_decode(data, buf, size, err);
	json_decref(cfg);
	return rc;
}

int swarm_network_name(const struct config *cfg, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s-net", cfg->instance);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int swarm_self(struct engine *e, char *ret_id, size_t id_size, char *ret_node, size_t node_size,
               struct err *err)
{
	json_t *info = NULL, *node = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", "/info", NULL, SWARM_TIMEOUT_S, ok, "read the engine's info",
	                &info, err) < 0)
		return -1;
	const char *id =
	    json_string_value(json_object_get(json_object_get(info, "Swarm"), "NodeID"));
	int rc = -1;
	char path[200];
	if (id == NULL || id[0] == '\0') {
		err_set(err, ENOTCONN, "this engine is not part of a swarm (engine_mode = swarm)");
		goto out;
	}
	snprintf(ret_id, id_size, "%s", id);
	snprintf(path, sizeof(path), "/nodes/%s", id);
	if (engine_call(e, "GET", path, NULL, SWARM_TIMEOUT_S, ok, "read this swarm node", &node,
	                err) < 0)
		goto out;
	const char *name = json_string_value(json_object_get(
	    json_object_get(json_object_get(node, "Spec"), "Labels"), SWARM_LABEL_NODE));
	if (name == NULL) {
		err_set(err, ENOENT, "this swarm node has no label %s (the node's sshbox name)",
		        SWARM_LABEL_NODE);
		goto out;
	}
	snprintf(ret_node, node_size, "%s", name);
	rc = 0;
out:
	json_decref(info);
	json_decref(node);
	return rc;
}
