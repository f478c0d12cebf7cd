/* The engine seam (docs/design-cluster.md, section 1): what the login path
 * asks of wherever the user's container runs. The local implementation
 * (cluster_local.c) is the single-host code; the swarm one (swarm_login.c,
 * swarm_home.c) serves a user's swarm service from any node. Chosen once per
 * request from the config's engine_mode; callers never test the mode. */
#ifndef SSHBOX_CLUSTER_H
#define SSHBOX_CLUSTER_H

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "proto.h"
#include "record.h"
#include "session.h"

/* Errors the caller words for the user (err->code). */
/* the user's sshbox state is incomplete: a code no engine or library path
 * sets (EBADMSG was one: the engine client's "malformed JSON") */
#define CLUSTER_EBROKEN ENOKEY
/* err->msg is the user's whole line, worded by the implementation (swarm:
 * no manager quorum, this node's engine down): shown as is. */
#define CLUSTER_ESAID EREMCHG

struct cluster_login {
	int sshd;           /* connected (CLOEXEC, blocking) to the container's sshd */
	char hostkey[1024]; /* the container's pinned public host key, one line */
	char key[8192];     /* the inner private key the shim logs in with */
	char id[80];        /* the container, for the log */
	int path;           /* enum container_path: hot, warm or cold (metrics) */
};

struct cluster_ops {
	const char *name;
	/* The user's record (uid, image, limits). 0, or -1 with err (ENOENT:
	 * the user is not provisioned). */
	int (*record_load)(const struct config *cfg, const char *user, struct user_record *ret_rec,
	                   struct err *err);
	/* Counts a session of u (state_session_begin), ensures the container
	 * runs and connects to its sshd. On failure the session is not counted
	 * and ret->sshd is -1. */
	int (*login)(const struct config *cfg, struct user_state *u, const struct user_record *rec,
	             struct cluster_login *ret, struct err *err);
	/* A host verb (verbs.h's reply). */
	json_t *(*verb)(const struct config *cfg, const char *user, const struct user_record *rec,
	                const struct proto_request *req);
	/* stopnow from inside the user's container on this node (flags.c). */
	void (*stop_now)(struct user_state *u);
	/* Background work of this node, started once with the watchdog. */
	int (*start)(void);
};

const struct cluster_ops *cluster_ops(const struct config *cfg);

extern const struct cluster_ops cluster_local_ops;
extern const struct cluster_ops cluster_swarm_ops;

#endif
