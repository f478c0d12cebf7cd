/* The seam's single-host implementation: the container on this host's
 * engine, reached inside its own network namespace. */
#include "cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "busy.h"
#include "container.h"
#include "engine.h"
#include "flags.h"
#include "fusesvc.h"
#include "kvfile.h"
#include "netns.h"
#include "pidfd.h"
#include "verbs.h"

#define SSHD_READY_MS 30000

static int read_text(const struct config *cfg, const char *user, const char *leaf, char *buf,
                     size_t size, struct err *err)
{
	char path[512];
	size_t len;
	if (user_path(cfg, user, leaf, path, sizeof(path)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path too long");
	return kv_read_file(path, 1, buf, size, &len, err);
}

static int local_login(const struct config *cfg, struct user_state *u,
                       const struct user_record *rec, struct cluster_login *ret, struct err *err)
{
	struct engine *e = NULL;
	struct container_info info;
	ret->sshd = -1;
	if (read_text(cfg, u->name, "etc/ssh_host_ed25519_key.pub", ret->hostkey,
	              sizeof(ret->hostkey), err) < 0 ||
	    read_text(cfg, u->name, "inner_key", ret->key, sizeof(ret->key), err) < 0) {
		err->code = CLUSTER_EBROKEN;
		return -1;
	}
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	/* The session counts from before the container is ensured, under the
	 * lifecycle lock, so an idle stop can never slip in between. */
	pthread_mutex_lock(&u->lifecycle);
	audit_reason_set(u->name, "create", "login");
	audit_reason_set(u->name, "start", "login");
	int alone = state_session_begin(u) == 1;
	enum container_path path = CONTAINER_WAS_RUNNING;
	if (container_ensure(e, cfg, u->name, rec, alone, &u->fenced_netns, &info, &path, err) ==
	    0) {
		state_lock();
		u->box_state = BOX_STATE_RUNNING;
		state_unlock();
		busy_note_container(u, info.pid);
		int pidfd = pidfd_of_container(info.pid, info.id, err);
		if (pidfd >= 0)
			ret->sshd =
			    netns_connect_pidfd(pidfd, CONTAINER_SSHD_PORT, SSHD_READY_MS, err);
		if (pidfd >= 0)
			close(pidfd);
	}
	pthread_mutex_unlock(&u->lifecycle);
	engine_close(e);
	flags_watch(cfg, u->name);
	if (rec->fuse)
		fusesvc_watch(cfg, u->name);
	if (ret->sshd < 0) {
		state_session_end(u);
		return -1;
	}
	snprintf(ret->id, sizeof(ret->id), "%s", info.id);
	ret->path = (int)path;
	return 0;
}

static int local_start(void)
{
	return 0; /* the idle reaper and the event follower are today's threads */
}

const struct cluster_ops cluster_local_ops = {
    .name = "local",
    .record_load = record_load,
    .login = local_login,
    .verb = verb_run,
    .stop_now = idle_stop_now,
    .start = local_start,
};

const struct cluster_ops *cluster_ops(const struct config *cfg)
{
	return cfg->engine_mode == ENGINE_MODE_SWARM ? &cluster_swarm_ops : &cluster_local_ops;
}
