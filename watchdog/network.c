#include "network.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "enginekind.h"

#define ICC_OPTION "com.docker.network.bridge.enable_icc"

int network_name(const struct config *cfg, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s-net", cfg->instance);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The existing network must be ours and, on Docker, keep containers apart.
 * Podman's netavark has no such option (it accepts and ignores it): there
 * each container's fence (netfence.c), which refuses the container's own
 * subnet, is what keeps them apart. */
static int check_existing(json_t *net, const struct config *cfg, const char *name, int kind,
                          struct err *err)
{
	const char *inst =
	    json_string_value(json_object_get(json_object_get(net, "Labels"), "sshbox.instance"));
	const char *icc =
	    json_string_value(json_object_get(json_object_get(net, "Options"), ICC_OPTION));
	if (inst == NULL || strcmp(inst, cfg->instance) != 0)
		return err_set(err, EEXIST,
		               "a network \"%s\" exists that this sshbox instance did not create; "
		               "remove or rename it",
		               name);
	if (kind == ENGINE_KIND_DOCKER && (icc == NULL || strcmp(icc, "false") != 0))
		return err_set(err, EPERM,
		               "network \"%s\" lets containers reach one another (%s is not "
		               "false); remove it and the watchdog creates it anew",
		               name, ICC_OPTION);
	return 0;
}

/* 1 and *ret_net when found, 0 when not, -1 on error (networks have no
 * "/json" suffix, unlike containers and images). */
static int inspect(struct engine *e, const char *name, json_t **ret_net, struct err *err)
{
	char path[200];
	snprintf(path, sizeof(path), "/networks/%s", name);
	long status = 0;
	json_t *net = NULL;
	if (engine_request(e, "GET", path, NULL, 15, &status, &net, err) < 0)
		return -1;
	static const long ok[] = {200, 404, 0};
	int rc = engine_expect(status, net, ok, "inspect network", err);
	if (rc == 0 && status == 200 && !json_is_object(net))
		rc = err_set(err, EBADMSG, "inspect of network \"%s\": not a JSON object", name);
	if (rc < 0 || status == 404) {
		json_decref(net);
		return rc < 0 ? -1 : 0;
	}
	*ret_net = net;
	return 1;
}

/* Podman: its own API, for a network without DNS (aardvark-dns answers on
 * the gateway, which the fence refuses: lookups would wait on it first). */
static json_t *create_body(const struct config *cfg, const char *name, int kind)
{
	if (kind == ENGINE_KIND_PODMAN)
		return json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "driver", "bridge",
		                 "dns_enabled", 0, "labels", "sshbox.instance", cfg->instance);
	return json_pack("{s:s,s:s,s:b,s:{s:s},s:{s:s}}", "Name", name, "Driver", "bridge",
	                 "CheckDuplicate", 1, "Options", ICC_OPTION, "false", "Labels",
	                 "sshbox.instance", cfg->instance);
}

static int create(struct engine *e, const struct config *cfg, const char *name, int kind,
                  long *ret_status, struct err *err)
{
	json_t *body = create_body(cfg, name, kind);
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build network spec");
	const char *path =
	    kind == ENGINE_KIND_PODMAN ? "/libpod/networks/create" : "/networks/create";
	json_t *answer = NULL;
	int rc = engine_request(e, "POST", path, body, 60, ret_status, &answer, err);
	json_decref(body);
	/* 409: another login created it a moment ago; it is checked like any
	 * other. Podman's own API answers 200 for a new one. */
	static const long ok[] = {200, 201, 409, 0};
	if (rc == 0)
		rc = engine_expect(*ret_status, answer, ok, "create network", err);
	if (*ret_status == 200)
		*ret_status = 201;
	json_decref(answer);
	return rc;
}

int network_ensure(struct engine *e, const struct config *cfg, struct err *err)
{
	char name[128];
	if (network_name(cfg, name, sizeof(name)) < 0)
		return err_set(err, ENAMETOOLONG, "network name too long");
	int kind = engine_kind(e, err);
	if (kind < 0)
		return -1;
	json_t *net = NULL;
	int found = inspect(e, name, &net, err);
	long status = 0;
	if (found == 0 && (create(e, cfg, name, kind, &status, err) < 0 || status == 201))
		return status == 201 ? 0 : -1;
	if (found == 0)
		found = inspect(e, name, &net, err);
	if (found <= 0)
		return found < 0 ? -1 : err_set(err, ENOENT, "network \"%s\" vanished", name);
	int rc = check_existing(net, cfg, name, kind, err);
	json_decref(net);
	return rc;
}
