/* A user's container as the engine tells it: found by its name, checked by
 * its labels (this instance, this user). */
#ifndef SSHBOX_BOX_H
#define SSHBOX_BOX_H

#include <sys/types.h>

#include "config.h"
#include "engine.h"
#include "err.h"

/* The container spec's version, in the label sshbox.spec: bumped whenever
 * the spec changes what isolates a container. A stopped container of an
 * older spec is re-created (after a commit, so nothing in it is lost). */
#define BOX_SPEC_VERSION                                                                           \
	5 /* 2: isolated network, fence, capabilities; 3: FUSE without SYS_ADMIN;                  \
	     4: the bundled sshd (watchdog/bundle.h); 5: no image HEALTHCHECK */

struct container_info {
	char id[65];
	char image[CONFIG_STR_MAX];
	int running;
	pid_t pid;     /* init process on the host, when running */
	int host_port; /* published 127.0.0.1 port, 0 when none */
	int spec;      /* its sshbox.spec label, 0 when it has none */
};

/* Reads the state of the user's container: 1 found, 0 none, -1 error. */
int box_lookup(struct engine *e, const struct config *cfg, const char *user,
               struct container_info *ret_info, struct err *err);

/* Turns a container inspect answer into *ret_info, checking that the
 * container is this instance's and user's. Pure: exposed for the fuzz
 * harness. */
/* Stops a container: SIGTERM, then SIGKILL after seconds (0: at once);
 * an already stopped one is fine. The deadline is seconds + 30. */
int box_stop(struct engine *e, const char *id, int seconds, struct err *err);

int box_parse_inspect(json_t *j, const struct config *cfg, const char *user,
                      struct container_info *ret_info, struct err *err);

#endif
