/* Verbs that need the home node (swarm mode, docs/design-cluster.md 3.7):
 * stop without --force needs the session count, commit the home node's
 * engine. The login node asks through the service's labels (only the
 * swarm's authenticated store, no new listener); the home node answers. */
#ifndef SSHBOX_SWARM_MAILBOX_H
#define SSHBOX_SWARM_MAILBOX_H

#include <jansson.h>
#include <sys/types.h>

#include "config.h"
#include "engine.h"
#include "err.h"

/* Home node: serves the op in svc's sshbox.op, if any, for the task
 * container running here (pid: its init). served (size 40) remembers the
 * last nonce served for it, so an op is never run twice. */
void swarm_mailbox_serve(struct engine *e, const struct config *cfg, json_t *svc, const char *user,
                         const char *task, const char *container, pid_t pid, char *served);

/* Login node: posts verb for user and waits (timeout_s) for the answer:
 * its status and text. -1 with err when it never came. */
int swarm_mailbox_ask(struct engine *e, const struct config *cfg, const char *user,
                      const char *verb, const char *self, int timeout_s, int *ret_status,
                      char *ret_text, size_t size, struct err *err);

#endif
