/* sshbox list / status in swarm mode (docs/design-cluster.md 3.8): every user
 * of the cluster from the managers' API, whichever node this runs on. The
 * session count lives in the task's network namespace on the node the task
 * runs on: counted here when that is this node, "?" for a container running
 * elsewhere, "-" when none runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "direct.h"
#include "engine.h"
#include "swarm.h"
#include "swarm_list.h"

/* Established connections to the task's sshd: every session, from every
 * login node, arrives over the overlay. */
static void sessions_text(struct engine *e, const struct swarm_row *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s", r->running ? "?" : "-");
	if (!r->running || !r->here || r->container[0] == '\0')
		return;
	json_t *c = NULL;
	struct err ignored = {0};
	if (engine_inspect(e, "containers", r->container, &c, &ignored) <= 0)
		return;
	pid_t pid = (pid_t)json_integer_value(json_object_get(json_object_get(c, "State"), "Pid"));
	if (pid > 0)
		snprintf(buf, size, "%d", direct_sessions(pid));
	json_decref(c);
}

static int rows_of(const struct config *cfg, const char *only, struct engine **ret_e,
                   struct swarm_row **ret_rows, size_t *ret_n, struct err *err)
{
	if (engine_open(cfg, ret_e, err) < 0)
		return -1;
	if (swarm_list(*ret_e, cfg, only, ret_rows, ret_n, err) < 0) {
		engine_close(*ret_e);
		*ret_e = NULL;
		return -1;
	}
	return 0;
}

int cmd_list_swarm(const struct config *cfg, struct err *err)
{
	struct engine *e = NULL;
	struct swarm_row *rows = NULL;
	size_t n = 0;
	if (rows_of(cfg, NULL, &e, &rows, &n, err) < 0)
		return -1;
	printf("%-16s %-10s %-10s %-8s %-24s %s\n", "USER", "NODE", "RUNS-ON", "SESSIONS", "IMAGE",
	       "STATE");
	for (size_t i = 0; i < n; i++) {
		char sessions[16];
		sessions_text(e, &rows[i], sessions, sizeof(sessions));
		printf("%-16s %-10s %-10s %-8s %-24s %s\n", rows[i].user, rows[i].node,
		       rows[i].task_node[0] ? rows[i].task_node : "-", sessions, rows[i].image,
		       rows[i].state);
	}
	free(rows);
	engine_close(e);
	return 0;
}

int cmd_status_swarm(const struct config *cfg, const char *name, struct err *err)
{
	struct engine *e = NULL;
	struct swarm_row *rows = NULL;
	size_t n = 0;
	if (rows_of(cfg, name, &e, &rows, &n, err) < 0)
		return -1;
	json_t *svc = NULL;
	struct user_record rec;
	char limits[96] = "?", sessions[16];
	int rc = -1;
	if (n == 0) {
		err_set(err, ENOENT, "user \"%s\" has no service in the cluster", name);
		goto out;
	}
	if (swarm_service_get(e, cfg, name, &svc, err) > 0 &&
	    swarm_record(svc, name, &rec, err) == 0)
		limits_text(&rec, limits, sizeof(limits));
	sessions_text(e, &rows[0], sessions, sizeof(sessions));
	printf("user:       %s\nstate:      %s\nnode:       %s (home)\nruns on:    %s\n"
	       "sessions:   %s%s\nimage:      %s\nlimits:     %s\n",
	       name, rows[0].state, rows[0].node, rows[0].task_node[0] ? rows[0].task_node : "-",
	       sessions,
	       !rows[0].running ? " (not running)"
	       : rows[0].here   ? " (counted on this node)"
	                        : " (the container runs on another node: count there)",
	       rows[0].image, limits);
	rc = 0;
out:
	json_decref(svc);
	free(rows);
	engine_close(e);
	return rc;
}
