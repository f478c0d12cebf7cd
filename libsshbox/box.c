#include "box.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

int box_parse_inspect(json_t *j, const struct config *cfg, const char *user,
                      struct container_info *ret, struct err *err)
{
	memset(ret, 0, sizeof(*ret));
	json_t *lab = json_object_get(json_object_get(j, "Config"), "Labels");
	const char *inst = json_string_value(json_object_get(lab, "sshbox.instance"));
	const char *owner = json_string_value(json_object_get(lab, "sshbox.user"));
	if (inst == NULL || owner == NULL || strcmp(inst, cfg->instance) != 0 ||
	    strcmp(owner, user) != 0)
		return err_set(err, EEXIST,
		               "a container named for user \"%s\" exists that this sshbox instance "
		               "did not create",
		               user);
	long spec = 0;
	const char *spec_label = json_string_value(json_object_get(lab, "sshbox.spec"));
	if (spec_label != NULL && parse_long(spec_label, 1, 1000000, &spec) == 0)
		ret->spec = (int)spec;
	const char *id = json_string_value(json_object_get(j, "Id"));
	json_t *state = json_object_get(j, "State");
	if (id == NULL || !json_is_object(state))
		return err_set(err, EBADMSG, "container inspect lacks Id or State");
	/* The id goes into engine URLs unescaped: only the engine's own hex form,
	 * never empty or cut short. */
	size_t id_len = strlen(id);
	if (id_len == 0 || id_len >= sizeof(ret->id) || strspn(id, "0123456789abcdef") != id_len)
		return err_set(err, EBADMSG, "container inspect has a bad Id");
	memcpy(ret->id, id, id_len + 1);
	const char *image =
	    json_string_value(json_object_get(json_object_get(j, "Config"), "Image"));
	snprintf(ret->image, sizeof(ret->image), "%s", image ? image : "");
	ret->running = json_is_true(json_object_get(state, "Running")) &&
	               !json_is_true(json_object_get(state, "Paused"));
	/* Checked, not cast: a wrapped value could name a host process. */
	json_int_t pid = json_integer_value(json_object_get(state, "Pid"));
	if (pid < 0 || pid > INT_MAX)
		return err_set(err, EBADMSG, "container inspect has a bad Pid");
	ret->pid = (pid_t)pid;
	json_t *bind = json_array_get(
	    json_object_get(json_object_get(json_object_get(j, "NetworkSettings"), "Ports"),
	                    "22/tcp"),
	    0);
	const char *port = json_string_value(json_object_get(bind, "HostPort"));
	long p = 0;
	if (port != NULL && parse_long(port, 1, 65535, &p) == 0)
		ret->host_port = (int)p;
	if (ret->running && ret->pid <= 0)
		return err_set(err, EBADMSG, "running container has no init pid");
	return 0;
}

int box_lookup(struct engine *e, const struct config *cfg, const char *user,
               struct container_info *ret_info, struct err *err)
{
	char name[128];
	box_container_name(cfg->instance, user, name, sizeof(name));
	json_t *j = NULL;
	int found = engine_inspect(e, "containers", name, &j, err);
	if (found <= 0)
		return found;
	int rc = box_parse_inspect(j, cfg, user, ret_info, err);
	json_decref(j);
	return rc < 0 ? -1 : 1;
}

int box_stop(struct engine *e, const char *id, int seconds, struct err *err)
{
	char path[160];
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", id, seconds);
	static const long ok[] = {204, 304, 0};
	return engine_call(e, "POST", path, NULL, seconds + 30L, ok, "stop container", NULL, err);
}
