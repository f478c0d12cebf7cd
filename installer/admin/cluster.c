/* The admin CLI's side of swarm mode (engine_mode = swarm): what createuser
 * adds so that every node serves the user, the record kept in the swarm,
 * cleanuser and set from any node, and move. Single host: nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "box.h"
#include "engine.h"
#include "names.h"
#include "swarm.h"
#include "swarm_plock.h"

int cluster_provision(const struct config *cfg, const char *user, const struct user_record *rec,
                      const char *node, struct err *err)
{
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return node[0] == '\0'
		           ? 0
		           : err_set(err, EINVAL, "--node \"%s\" needs engine_mode = swarm", node);
	if (rec->fuse)
		return err_set(err, ENOTSUP,
		               "--fuse is not available with engine_mode = swarm yet");
	if (rec->nmounts > 0)
		return err_set(err, ENOTSUP,
		               "--mount is not available with engine_mode = swarm (a host path "
		               "exists on one node only)");
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = node[0] == '\0' ? 0 : swarm_node_check(e, node, err);
	if (rc == 0)
		rc = swarm_provision(e, cfg, user, rec, node, err);
	engine_close(e);
	return rc < 0 ? err_wrap(err, "cannot provision \"%s\" in the swarm", user) : 0;
}

int cluster_provision_lock(const struct config *cfg, const char *user, char *ret_id, size_t size,
                           struct err *err)
{
	ret_id[0] = '\0';
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return 0;
	struct engine *e = NULL;
	char node_id[80], node[64], holder[128];
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = swarm_self(e, node_id, sizeof(node_id), node, sizeof(node), err);
	if (rc == 0) {
		snprintf(holder, sizeof(holder), "createuser on node %s, pid %d", node,
		         (int)getpid());
		rc = swarm_plock_take(e, cfg, user, holder, ret_id, size, err);
	}
	engine_close(e);
	return rc;
}

void cluster_provision_unlock(const struct config *cfg, const char *id)
{
	struct engine *e = NULL;
	struct err ignored = {0};
	if (id[0] == '\0' || engine_open(cfg, &e, &ignored) < 0)
		return;
	swarm_plock_release(e, id);
	engine_close(e);
}

int cluster_deprovision(const struct config *cfg, const char *user, struct err *err)
{
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return 0;
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = swarm_deprovision(e, cfg, user, err);
	engine_close(e);
	return rc;
}

/* The user's record: in swarm mode the service's (it may have been
 * provisioned on another node); 1 when found there, 0 when the caller reads
 * the local record (single host, or no service), -1 on error. */
int cluster_record_load(const struct config *cfg, const char *user, struct user_record *ret_rec,
                        struct err *err)
{
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return 0;
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = swarm_record_load(e, cfg, user, ret_rec, err);
	engine_close(e);
	if (rc < 0 && err->code == ENOENT)
		return 0;
	return rc < 0 ? -1 : 1;
}

int cluster_record_store(const struct config *cfg, const char *user, const struct user_record *rec,
                         struct err *err)
{
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return 0;
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = swarm_record_store(e, cfg, user, rec, err);
	engine_close(e);
	return rc;
}

/* cleanuser --purge: the home volume and committed image are on the home
 * node's engine, the only one this CLI can remove them from. */
int cluster_purge_here(const struct config *cfg, const char *user, struct err *err)
{
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return 0;
	struct engine *e = NULL;
	json_t *svc = NULL;
	char id[80], self[64];
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = swarm_self(e, id, sizeof(id), self, sizeof(self), err);
	if (rc == 0)
		rc = swarm_service_get(e, cfg, user, &svc, err);
	engine_close(e);
	if (rc <= 0)
		return rc;
	const char *home = swarm_label(svc, SWARM_LABEL_NODE);
	if (home != NULL && strcmp(home, self) != 0)
		rc = err_set(err, EXDEV,
		             "the home volume and committed image of \"%s\" are on node %s: run "
		             "'sshbox cleanuser %s --purge' there (or without --purge here)",
		             user, home, user);
	else
		rc = 0;
	json_decref(svc);
	return rc;
}

int cmd_move(const struct config *cfg, int argc, char **argv, struct err *err)
{
	if (argc != 3)
		return err_set(err, EINVAL, "usage: sshbox move USER NODE");
	if (cfg->engine_mode != ENGINE_MODE_SWARM)
		return err_set(err, EINVAL,
		               "move needs engine_mode = swarm (one host has one node)");
	const char *user = argv[1], *node = argv[2];
	if (!user_name_valid(user))
		return err_set(err, EINVAL, "invalid user name \"%s\"", user);
	if (!user_name_valid(node))
		return err_set(err, EINVAL, "bad node \"%s\" (a swarm node's %s label)", node,
		               SWARM_LABEL_NODE);
	struct engine *e = NULL;
	char from[64], volume[128];
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int rc = swarm_move(e, cfg, user, node, from, sizeof(from), err);
	engine_close(e);
	if (rc < 0)
		return -1;
	box_volume_name(cfg->instance, user, volume, sizeof(volume));
	printf("moved %s from node %s to node %s. No data moved: the home volume %s and any "
	       "committed image stay on %s; the next start on %s begins with the record's image "
	       "and an empty home unless you copied the volume first (admin guide, \"Moving a "
	       "user\")\n",
	       user, from, node, volume, from, node);
	return 0;
}
