/* createuser in swarm mode: what makes a user servable from every node. */
#include "swarm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "kvfile.h"
#include "names.h"

#define PROVISION_TIMEOUT_S 30
#define KEY_MAX             8192

static int ensure_network(struct engine *e, const struct config *cfg, struct err *err)
{
	char name[128], path[200];
	swarm_network_name(cfg, name, sizeof(name));
	snprintf(path, sizeof(path), "/networks/%s", name);
	json_t *net = NULL;
	long status = 0;
	if (engine_request(e, "GET", path, NULL, PROVISION_TIMEOUT_S, &status, &net, err) < 0)
		return -1;
	if (status == 200) {
		const char *inst = json_string_value(
		    json_object_get(json_object_get(net, "Labels"), SWARM_LABEL_INSTANCE));
		int ours =
		    inst != NULL && strcmp(inst, cfg->instance) == 0 &&
		    strcmp(json_string_value(json_object_get(net, "Driver")) ?: "", "overlay") == 0;
		json_decref(net);
		return ours
		           ? 0
		           : err_set(err, EEXIST,
		                     "a network \"%s\" exists that is not this instance's overlay; "
		                     "remove or rename it",
		                     name);
	}
	json_decref(net);
	json_t *body =
	    json_pack("{s:s,s:s,s:b,s:b,s:{s:s}}", "Name", name, "Driver", "overlay", "Attachable",
	              1, "CheckDuplicate", 1, "Labels", SWARM_LABEL_INSTANCE, cfg->instance);
	static const long ok[] = {201, 0};
	int rc = engine_call(e, "POST", "/networks/create", body, PROVISION_TIMEOUT_S, ok,
	                     "create the instance's overlay network", NULL, err);
	json_decref(body);
	return rc;
}

/* A secret or config (kind "secrets"/"configs") named name with data;
 * an existing one of that name is kept (they are immutable). */
static int ensure_blob(struct engine *e, const struct config *cfg, const char *kind,
                       const char *name, const char *data, char *ret_id, size_t id_size,
                       struct err *err)
{
	char enc[KEY_MAX * 2], path[200];
	if (b64_encode(data, strlen(data), enc, sizeof(enc), err) < 0)
		return -1;
	json_t *body = json_pack("{s:s,s:s,s:{s:s}}", "Name", name, "Data", enc, "Labels",
	                         SWARM_LABEL_INSTANCE, cfg->instance);
	snprintf(path, sizeof(path), "/%s/create", kind);
	long status = 0;
	json_t *answer = NULL;
	int rc = engine_request(e, "POST", path, body, PROVISION_TIMEOUT_S, &status, &answer, err);
	json_decref(body);
	static const long ok[] = {200, 201, 0};
	if (rc == 0 && status == 409) {
		json_decref(answer);
		answer = NULL;
		snprintf(path, sizeof(path), "/%s/%s", kind, name);
		rc = engine_call(e, "GET", path, NULL, PROVISION_TIMEOUT_S, ok,
		                 "read a swarm secret or config", &answer, err);
	} else if (rc == 0) {
		rc = engine_expect(status, answer, ok, "create a swarm secret or config", err);
	}
	const char *id = json_string_value(json_object_get(answer, "ID"));
	if (rc == 0 && id == NULL)
		rc = err_set(err, EPROTO, "swarm secret or config \"%s\" has no ID", name);
	if (rc == 0)
		snprintf(ret_id, id_size, "%s", id);
	json_decref(answer);
	return rc;
}

/* The ready node labelled sshbox.node with the fewest of this instance's
 * services. */
static int least_loaded(struct engine *e, const struct config *cfg, char *ret_node, size_t size,
                        struct err *err)
{
	json_t *nodes = NULL, *services = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", "/nodes", NULL, PROVISION_TIMEOUT_S, ok, "list swarm nodes",
	                &nodes, err) < 0 ||
	    engine_call(e, "GET", "/services", NULL, PROVISION_TIMEOUT_S, ok, "list swarm services",
	                &services, err) < 0) {
		json_decref(nodes);
		return -1;
	}
	size_t i, j;
	json_t *n, *s;
	int best = -1;
	json_array_foreach(nodes, i, n)
	{
		const char *name = json_string_value(json_object_get(
		    json_object_get(json_object_get(n, "Spec"), "Labels"), SWARM_LABEL_NODE));
		const char *state =
		    json_string_value(json_object_get(json_object_get(n, "Status"), "State"));
		if (name == NULL || state == NULL || strcmp(state, "ready") != 0)
			continue;
		int count = 0;
		json_array_foreach(services, j, s)
		{
			const char *inst = swarm_label(s, SWARM_LABEL_INSTANCE);
			const char *home = swarm_label(s, SWARM_LABEL_NODE);
			count += inst != NULL && home != NULL && strcmp(inst, cfg->instance) == 0 &&
			         strcmp(home, name) == 0;
		}
		if (best < 0 || count < best) {
			best = count;
			snprintf(ret_node, size, "%s", name);
		}
	}
	json_decref(nodes);
	json_decref(services);
	return best < 0
	           ? err_set(err, ENOENT, "no ready swarm node has the label %s", SWARM_LABEL_NODE)
	           : 0;
}

static int read_state(const struct config *cfg, const char *user, const char *leaf, char *buf,
                      size_t size, struct err *err)
{
	char path[600];
	size_t len;
	if (user_path(cfg, user, leaf, path, sizeof(path)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path too long");
	return kv_read_file(path, 1, buf, size, &len, err);
}

int swarm_provision(struct engine *e, const struct config *cfg, const char *user,
                    const struct user_record *rec, const char *node, struct err *err)
{
	json_t *old = NULL;
	int found = swarm_service_get(e, cfg, user, &old, err);
	json_decref(old);
	if (found != 0)
		return found < 0 ? -1 : 0; /* createuser again: the cluster state stays */
	char home[64], hostkey[KEY_MAX], hostpub[1024], authkeys[KEY_MAX], inner[KEY_MAX];
	char text[8192], svc[128], secret[160], authcfg[160], innercfg[160], volume[128], net[128];
	size_t len;
	if (node != NULL && node[0] != '\0')
		snprintf(home, sizeof(home), "%s", node);
	else if (least_loaded(e, cfg, home, sizeof(home), err) < 0)
		return -1;
	if (read_state(cfg, user, "etc/ssh_host_ed25519_key", hostkey, sizeof(hostkey), err) < 0 ||
	    read_state(cfg, user, "etc/ssh_host_ed25519_key.pub", hostpub, sizeof(hostpub), err) <
	        0 ||
	    read_state(cfg, user, "etc/authorized_keys", authkeys, sizeof(authkeys), err) < 0 ||
	    read_state(cfg, user, "inner_key", inner, sizeof(inner), err) < 0 ||
	    record_format(user, rec, text, sizeof(text), &len, err) < 0)
		return -1;
	hostpub[strcspn(hostpub, "\n")] = '\0';
	box_container_name(cfg->instance, user, svc, sizeof(svc));
	box_volume_name(cfg->instance, user, volume, sizeof(volume));
	swarm_network_name(cfg, net, sizeof(net));
	snprintf(secret, sizeof(secret), "%s-hostkey-%s", cfg->instance, user);
	snprintf(authcfg, sizeof(authcfg), "%s-authkeys-%s", cfg->instance, user);
	snprintf(innercfg, sizeof(innercfg), "%s-innerkey-%s", cfg->instance, user);
	char secret_id[80], authcfg_id[80], innercfg_id[80];
	if (ensure_network(e, cfg, err) < 0 ||
	    ensure_blob(e, cfg, "secrets", secret, hostkey, secret_id, sizeof(secret_id), err) <
	        0 ||
	    ensure_blob(e, cfg, "configs", authcfg, authkeys, authcfg_id, sizeof(authcfg_id), err) <
	        0 ||
	    ensure_blob(e, cfg, "configs", innercfg, inner, innercfg_id, sizeof(innercfg_id), err) <
	        0)
		return -1;
	memset(hostkey, 0, sizeof(hostkey));
	memset(inner, 0, sizeof(inner));
	char constraint[128];
	snprintf(constraint, sizeof(constraint), "node.labels.%s==%s", SWARM_LABEL_NODE, home);
	/* The watchdog completes the ContainerSpec (sshd, capabilities,
	 * limits) at the first login: it owns the container's spec, as on a
	 * single host. Nothing is published; no VIP (dnsrr). Restarts have no
	 * limit: a home node's dockerd restarting rejects a few tasks before
	 * it rejoins, and a spent limit would leave the user with no task. */
	json_t *body = json_pack(
	    "{s:s, s:{s:s,s:s,s:s,s:s,s:s},"
	    " s:{s:{s:s,s:{s:s,s:s},"
	    "       s:[{s:s,s:s,s:s}],"
	    "       s:[{s:{s:s,s:s,s:s,s:i},s:s,s:s}],"
	    "       s:[{s:{s:s,s:s,s:s,s:i},s:s,s:s}]},"
	    "    s:{s:[s]}, s:[{s:s}], s:{s:s,s:I}},"
	    " s:{s:{s:i}}, s:{s:s}}",
	    "Name", svc, "Labels", SWARM_LABEL_INSTANCE, cfg->instance, SWARM_LABEL_USER, user,
	    SWARM_LABEL_NODE, home, SWARM_LABEL_REC, text, SWARM_LABEL_HOSTKEY, hostpub,
	    "TaskTemplate", "ContainerSpec", "Image", rec->image, "Labels", SWARM_CLABEL_INSTANCE,
	    cfg->instance, SWARM_CLABEL_USER, user, "Mounts", "Type", "volume", "Source", volume,
	    "Target", "/root", "Secrets", "File", "Name", "/etc/sshbox/ssh_host_ed25519_key", "UID",
	    "0", "GID", "0", "Mode", 0400, "SecretName", secret, "SecretID", secret_id, "Configs",
	    "File", "Name", "/etc/sshbox/authorized_keys", "UID", "0", "GID", "0", "Mode", 0444,
	    "ConfigName", authcfg, "ConfigID", authcfg_id, "Placement", "Constraints", constraint,
	    "Networks", "Target", net, "RestartPolicy", "Condition", "any", "Delay",
	    (json_int_t)2000000000, "Mode", "Replicated", "Replicas", 0, "EndpointSpec", "Mode",
	    "dnsrr");
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build the service spec");
	static const long ok[] = {201, 0};
	int rc = engine_call(e, "POST", "/services/create", body, PROVISION_TIMEOUT_S, ok,
	                     "create the user's swarm service", NULL, err);
	json_decref(body);
	return rc;
}

int swarm_deprovision(struct engine *e, const struct config *cfg, const char *user, struct err *err)
{
	char path[300], name[160];
	static const long ok[] = {200, 204, 404, 0};
	box_container_name(cfg->instance, user, name, sizeof(name));
	snprintf(path, sizeof(path), "/services/%s", name);
	if (engine_call(e, "DELETE", path, NULL, PROVISION_TIMEOUT_S, ok,
	                "remove the user's swarm service", NULL, err) < 0)
		return -1;
	/* A secret or config still used by a task being removed is refused for
	 * a moment: try again briefly. */
	static const char *const kinds[][2] = {
	    {"secrets", "hostkey"}, {"configs", "authkeys"}, {"configs", "innerkey"}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(path, sizeof(path), "/%s/%s-%s-%s", kinds[i][0], cfg->instance,
		         kinds[i][1], user);
		int rc = -1;
		for (int tries = 0; tries < 50 && rc < 0; tries++) {
			rc = engine_call(e, "DELETE", path, NULL, PROVISION_TIMEOUT_S, ok,
			                 "remove the user's swarm secret or config", NULL, err);
			if (rc < 0)
				usleep(200 * 1000);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}
