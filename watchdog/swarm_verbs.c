/* Host verbs in swarm mode (docs/design-cluster.md 3.7), from any node:
 * hostkey from the service's label, stop/remove --force through the swarm
 * API, stop/remove/commit otherwise through the home node's mailbox; port
 * says that cluster mode publishes none. */
#include "swarm_verbs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "swarm.h"
#include "swarm_health.h"
#include "swarm_layer.h"
#include "swarm_mailbox.h"
#include "swarm_outage.h"
#include "verbs.h"

#define MAILBOX_TIMEOUT_S 30
#define COMMIT_TIMEOUT_S  900

struct reply {
	int status;
	char out[1200], err[ERR_MSG_MAX + 128];
};

static json_t *reply_json(const struct reply *r)
{
	return json_pack("{s:b,s:i,s:s,s:s}", "ok", 1, "status", r->status, "output", r->out,
	                 "error", r->err);
}

static void refuse(struct reply *r, const char *text)
{
	r->status = 1;
	snprintf(r->err, sizeof(r->err), "%s", text);
}

/* Only "--force", and only where allowed: 1 forced, 0 not, -1 refused. */
static int force_arg(const struct proto_request *req, int allowed, struct reply *r)
{
	if (req->argc == 0)
		return 0;
	if (allowed && req->argc == 1 && strcmp(req->args[0], "--force") == 0)
		return 1;
	char text[300];
	snprintf(text, sizeof(text), "sshbox: unexpected argument \"%s\"%s\n", req->args[0],
	         allowed ? " (only --force)" : "");
	refuse(r, text);
	return -1;
}

static void hostkey(json_t *svc, struct reply *r)
{
	char key[1024];
	const char *label = swarm_label(svc, SWARM_LABEL_HOSTKEY);
	if (label == NULL)
		return refuse(r, "sshbox: your container's host key is not in the cluster; ask "
		                 "your admin\n");
	snprintf(key, sizeof(key), "%s", label);
	char *sp = strchr(key, ' '); /* "type base64": the comment goes */
	if (sp != NULL && (sp = strchr(sp + 1, ' ')) != NULL)
		*sp = '\0';
	snprintf(r->out, sizeof(r->out), "[127.0.0.1]:* %s\n", key);
}

/* stop/remove --force: scale to 0 with the version read, from any node; a
 * stop marks the task container the home node fenced (the running one) to
 * be saved there, a remove forgets the saved layer (design 3.10). Also a
 * remove of a stopped container: the layer is forgotten all the same. */
static void force_stop(struct engine *e, const struct config *cfg, const char *user,
                       const char *verb, struct reply *r)
{
	struct err err = {0};
	for (int i = 0; i < 5; i++) {
		json_t *svc = NULL;
		if (swarm_service_get(e, cfg, user, &svc, &err) <= 0)
			break;
		json_t *spec = swarm_spec_copy(svc);
		const char *fenced = swarm_label(svc, SWARM_LABEL_FENCED);
		int running = swarm_replicas(spec) != 0;
		swarm_set_replicas(spec, 0);
		swarm_set_label(spec, SWARM_LABEL_STOPPED, verb);
		swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
		if (verb[0] != 's')
			swarm_layer_forget(spec);
		else if (running && fenced != NULL)
			swarm_layer_mark(spec, fenced);
		int rc = swarm_service_update(e, svc, spec, &err);
		json_decref(spec);
		json_decref(svc);
		if (rc == 0) {
			snprintf(r->out, sizeof(r->out), "%s\n",
			         verb[0] == 's' ? "stopped your container"
			                        : "removed your container; your home volume and "
			                          "committed image are kept");
			log_info("user \"%s\": service scaled to 0 by the user (%s --force)", user,
			         verb);
			return;
		}
		if (rc < 0)
			break;
	}
	char text[ERR_MSG_MAX + 64];
	snprintf(text, sizeof(text), "sshbox: %s failed: %s\n", verb,
	         err.msg[0] ? err.msg : "the service kept changing");
	refuse(r, text);
}

static void ask_home(struct engine *e, const struct config *cfg, const char *user, const char *verb,
                     struct reply *r)
{
	struct err err = {0};
	char self_id[80], self[64], text[1024];
	int status = 1;
	if (swarm_self(e, self_id, sizeof(self_id), self, sizeof(self), &err) < 0 ||
	    swarm_mailbox_ask(e, cfg, user, verb, self,
	                      strcmp(verb, "commit") == 0 ? COMMIT_TIMEOUT_S : MAILBOX_TIMEOUT_S,
	                      &status, text, sizeof(text), &err) < 0) {
		/* Taken by the home node before the deadline: not a failure yet. */
		snprintf(text, sizeof(text), "sshbox: %s%s: %s\n", verb,
		         err.code == EINPROGRESS ? "" : " failed", err.msg);
		return refuse(r, text);
	}
	r->status = status;
	snprintf(status ? r->err : r->out, status ? sizeof(r->err) : sizeof(r->out), "%s", text);
}

json_t *swarm_verb_run(const struct config *cfg, const char *user, const struct user_record *rec,
                       const struct proto_request *req)
{
	const char *v = req->verb;
	struct reply r = {0};
	int stop = strcmp(v, "stop") == 0, remove = strcmp(v, "remove") == 0;
	if (strcmp(v, "port") == 0) {
		refuse(&r, "sshbox: cluster mode publishes no port; use ssh -J through sshbox "
		           "(see the user guide)\n");
		return reply_json(&r);
	}
	if (!stop && !remove && strcmp(v, "commit") != 0 && strcmp(v, "hostkey") != 0)
		return verb_run(cfg, user, rec, req); /* freeport (this host's), unknown verbs */
	int force = force_arg(req, stop || remove, &r);
	if (force < 0)
		return reply_json(&r);
	struct engine *e = NULL;
	json_t *svc = NULL;
	struct err err = {0};
	if (engine_open(cfg, &e, &err) == 0 &&
	    swarm_outage_gate(e, SWARM_LEADER_WAIT_S, &err) < 0) {
		/* This node's engine down, or no quorum: the one line. */
		char text[ERR_MSG_MAX + 16];
		snprintf(text, sizeof(text), "sshbox: %s\n", err.msg);
		refuse(&r, text);
	} else if (e == NULL || swarm_service_get(e, cfg, user, &svc, &err) <= 0) {
		char text[ERR_MSG_MAX + 64];
		snprintf(text, sizeof(text), "sshbox: cannot read your container's service: %s\n",
		         err.msg[0] ? err.msg : "none");
		refuse(&r, text);
	} else if (strcmp(v, "hostkey") == 0) {
		hostkey(svc, &r);
	} else if (swarm_replicas(json_object_get(svc, "Spec")) == 0) {
		if (stop)
			snprintf(r.out, sizeof(r.out), "your container is already stopped\n");
		else if (remove)
			force_stop(e, cfg, user, v, &r);
		else
			refuse(&r, "sshbox: your container is not running: log in, then commit (a "
			           "cluster keeps no stopped container)\n");
	} else if (force) {
		force_stop(e, cfg, user, v, &r);
	} else {
		ask_home(e, cfg, user, v, &r);
	}
	json_decref(svc);
	engine_close(e);
	return reply_json(&r);
}
