/* createuser in swarm mode: what makes a user servable from every node. */
#include "swarm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvfile.h"
#include "names.h"
#include "swarm_blob.h"

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

/* The service at 0 replicas, using the secret and configs of ids. */
static int create_service(struct engine *e, const struct config *cfg, const char *user,
                          const struct user_record *rec, const char *home, const char *hostpub,
                          const char *text, char ids[SWARM_BLOBS][80], struct err *err)
{
	char svc[128], volume[128], net[128], constraint[128], names[SWARM_BLOBS][160];
	for (int b = 0; b < SWARM_BLOBS; b++)
		if (swarm_blob_name(cfg, user, (enum swarm_blob)b, names[b], sizeof(names[b]),
		                    err) < 0)
			return -1;
	box_container_name(cfg->instance, user, svc, sizeof(svc));
	box_volume_name(cfg->instance, user, volume, sizeof(volume));
	swarm_network_name(cfg, net, sizeof(net));
	snprintf(constraint, sizeof(constraint), "node.labels.%s==%s", SWARM_LABEL_NODE, home);
	/* The watchdog completes the ContainerSpec (sshd, capabilities,
	 * limits) at the first login: it owns the container's spec, as on a
	 * single host. Nothing is published; no VIP (dnsrr). Swarm never
	 * restarts a task: one that ended on its own holds the user's writable
	 * layer, which the home node saves before a login starts the next
	 * (watchdog/swarm_exit.h). */
	json_t *body = json_pack(
	    "{s:s, s:{s:s,s:s,s:s,s:s,s:s},"
	    " s:{s:{s:s,s:{s:s,s:s},"
	    "       s:[{s:s,s:s,s:s}],"
	    "       s:[{s:{s:s,s:s,s:s,s:i},s:s,s:s}],"
	    "       s:[{s:{s:s,s:s,s:s,s:i},s:s,s:s}]},"
	    "    s:{s:[s]}, s:[{s:s}], s:{s:s}},"
	    " s:{s:{s:i}}, s:{s:s}}",
	    "Name", svc, "Labels", SWARM_LABEL_INSTANCE, cfg->instance, SWARM_LABEL_USER, user,
	    SWARM_LABEL_NODE, home, SWARM_LABEL_REC, text, SWARM_LABEL_HOSTKEY, hostpub,
	    "TaskTemplate", "ContainerSpec", "Image", rec->image, "Labels", SWARM_CLABEL_INSTANCE,
	    cfg->instance, SWARM_CLABEL_USER, user, "Mounts", "Type", "volume", "Source", volume,
	    "Target", "/root", "Secrets", "File", "Name", "/etc/sshbox/ssh_host_ed25519_key", "UID",
	    "0", "GID", "0", "Mode", 0400, "SecretName", names[SWARM_BLOB_HOSTKEY], "SecretID",
	    ids[SWARM_BLOB_HOSTKEY], "Configs", "File", "Name", "/etc/sshbox/authorized_keys",
	    "UID", "0", "GID", "0", "Mode", 0444, "ConfigName", names[SWARM_BLOB_AUTHKEYS],
	    "ConfigID", ids[SWARM_BLOB_AUTHKEYS], "Placement", "Constraints", constraint,
	    "Networks", "Target", net, "RestartPolicy", "Condition", "none", "Mode", "Replicated",
	    "Replicas", 0, "EndpointSpec", "Mode", "dnsrr");
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build the service spec");
	static const long ok[] = {201, 0};
	int rc = engine_call(e, "POST", "/services/create", body, PROVISION_TIMEOUT_S, ok,
	                     "create the user's swarm service", NULL, err);
	json_decref(body);
	return rc;
}

int swarm_provision(struct engine *e, const struct config *cfg, const char *user,
                    const struct user_record *rec, const char *node, struct err *err)
{
	json_t *old = NULL;
	int found = swarm_service_get(e, cfg, user, &old, err);
	json_decref(old);
	if (found != 0)
		return found < 0 ? -1 : 0; /* createuser again: the cluster state stays */
	char home[64], hostpub[1024], text[8192];
	char data[SWARM_BLOBS][KEY_MAX], ids[SWARM_BLOBS][80];
	static const char *const files[SWARM_BLOBS] = {
	    [SWARM_BLOB_HOSTKEY] = "etc/ssh_host_ed25519_key",
	    [SWARM_BLOB_AUTHKEYS] = "etc/authorized_keys",
	    [SWARM_BLOB_INNERKEY] = "inner_key"};
	size_t len;
	int made = 0, rc = -1;
	if (node != NULL && node[0] != '\0')
		snprintf(home, sizeof(home), "%s", node);
	else if (least_loaded(e, cfg, home, sizeof(home), err) < 0)
		return -1;
	if (read_state(cfg, user, "etc/ssh_host_ed25519_key.pub", hostpub, sizeof(hostpub), err) <
	        0 ||
	    record_format(user, rec, text, sizeof(text), &len, err) < 0)
		return -1;
	hostpub[strcspn(hostpub, "\n")] = '\0';
	for (int b = 0; b < SWARM_BLOBS; b++)
		if (read_state(cfg, user, files[b], data[b], sizeof(data[b]), err) < 0)
			goto out;
	/* With no service, anything of this user's left by an earlier failed
	 * createuser holds older keys: it goes before this attempt's. */
	if (ensure_network(e, cfg, err) < 0 || swarm_blob_clear_leftovers(e, cfg, user, err) < 0)
		goto out;
	for (; made < SWARM_BLOBS; made++)
		if (swarm_blob_create(e, cfg, user, (enum swarm_blob)made, data[made], ids[made],
		                      sizeof(ids[made]), err) < 0)
			goto out;
	rc = create_service(e, cfg, user, rec, home, hostpub, text, ids, err);
out:
	memset(data, 0, sizeof(data));
	/* A failed attempt takes back what it created: the next createuser
	 * makes new keys, and swarm keeps secrets and configs immutable. */
	while (rc < 0 && made-- > 0)
		swarm_blob_drop(e, (enum swarm_blob)made, ids[made]);
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
	return swarm_blob_remove_all(e, cfg, user, err);
}
