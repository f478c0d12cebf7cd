#include "swarm_reach.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pidfd.h"
#include "swarm.h"

static pthread_mutex_t reach_lock = PTHREAD_MUTEX_INITIALIZER;

static int create_reach(struct engine *e, const struct config *cfg, const char *name,
                        struct err *err)
{
	char net[128], path[200];
	swarm_network_name(cfg, net, sizeof(net));
	/* Nothing in it listens or runs but sleep: no capability, no port. */
	json_t *body =
	    json_pack("{s:s,s:[s,s],s:{s:s,s:s},s:{s:b,s:[s],s:s,s:[s],s:{s:s}}}", "Image",
	              cfg->default_image, "Cmd", "sleep", "infinity", "Labels", "sshbox.role",
	              "reach", SWARM_CLABEL_INSTANCE, cfg->instance, "HostConfig", "Init", 1,
	              "CapDrop", "ALL", "NetworkMode", net, "SecurityOpt", "no-new-privileges",
	              "RestartPolicy", "Name", "unless-stopped");
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	static const long ok[] = {201, 0};
	int rc = engine_call(e, "POST", path, body, 60, ok, "create this node's reach container",
	                     NULL, err);
	json_decref(body);
	return rc;
}

static int reach_locked(struct engine *e, const struct config *cfg, struct err *err)
{
	char name[128], path[200];
	snprintf(name, sizeof(name), "%s-reach", cfg->instance);
	for (int round = 0; round < 5; round++) {
		json_t *j = NULL;
		int found = engine_inspect(e, "containers", name, &j, err);
		if (found < 0)
			return -1;
		if (found == 0) {
			if (create_reach(e, cfg, name, err) < 0)
				return -1;
			continue;
		}
		const char *role = json_string_value(json_object_get(
		    json_object_get(json_object_get(j, "Config"), "Labels"), "sshbox.role"));
		json_t *state = json_object_get(j, "State");
		int running = json_is_true(json_object_get(state, "Running"));
		pid_t pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
		char id[80];
		snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "Id")) ?: "");
		int ours = role != NULL && strcmp(role, "reach") == 0;
		json_decref(j);
		if (!ours)
			return err_set(
			    err, EEXIST,
			    "a container \"%s\" exists that is not sshbox's reach container", name);
		if (running && pid > 0)
			return pidfd_of_container(pid, id, err);
		snprintf(path, sizeof(path), "/containers/%s/start", id);
		static const long ok[] = {204, 304, 0};
		if (engine_call(e, "POST", path, NULL, 60, ok, "start this node's reach container",
		                NULL, err) == 0)
			continue;
		/* A first attach of this node to the overlay can time out and leave
		 * a container naming a network the node never got: made anew. */
		struct err ignored = {0};
		snprintf(path, sizeof(path), "/containers/%s?force=1", id);
		static const long gone[] = {204, 404, 0};
		if (engine_call(e, "DELETE", path, NULL, 30, gone, "remove the reach container",
		                NULL, &ignored) < 0)
			return -1;
	}
	return err_set(err, EAGAIN, "this node's reach container does not stay up");
}

int swarm_reach_pidfd(struct engine *e, const struct config *cfg, struct err *err)
{
	pthread_mutex_lock(&reach_lock);
	int rc = reach_locked(e, cfg, err);
	pthread_mutex_unlock(&reach_lock);
	return rc;
}
