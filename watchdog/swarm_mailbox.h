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

/* Home node: serves the request in svc's sshbox.op, if any, for the task
 * container running here (pid: its init). stop and remove are answered in
 * the write that scales to 0; a commit is first taken (moved to
 * sshbox.taken in one versioned write, so it runs once and its asker can
 * no longer withdraw it), then runs on a thread of its own
 * (swarm_commit.h), which answers with swarm_mailbox_finish. A taken
 * request no thread serves here is answered as failed. */
void swarm_mailbox_serve(struct engine *e, const struct config *cfg, json_t *svc, const char *user,
                         const char *task, const char *container, pid_t pid);
/* Home node: the answer to the taken request nonce (and, for a commit,
 * the new image's id in sshbox.image). 0, or -1 with err. */
int swarm_mailbox_finish(struct engine *e, const struct config *cfg, const char *user,
                         const char *nonce, int status, const char *text, const char *image_id,
                         struct err *err);

/* Login node: posts verb for user and waits (timeout_s) for the answer:
 * its status and text. When it gives up (deadline, error), it withdraws the
 * request with the version read, only if sshbox.op still carries its
 * nonce, so a request the user was told failed never runs later: -1 with
 * err naming that; EINPROGRESS when the home node had taken it already. */
int swarm_mailbox_ask(struct engine *e, const struct config *cfg, const char *user,
                      const char *verb, const char *self, int timeout_s, int *ret_status,
                      char *ret_text, size_t size, struct err *err);

#endif
