/* The admin CLI's side of swarm mode (engine_mode = swarm): what createuser
 * adds so that every node serves the user. Single host: nothing. */
#include <errno.h>

#include "admin.h"
#include "engine.h"
#include "swarm.h"

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
	int rc = swarm_provision(e, cfg, user, rec, node, err);
	engine_close(e);
	return rc < 0 ? err_wrap(err, "cannot provision \"%s\" in the swarm", user) : 0;
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
