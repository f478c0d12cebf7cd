/* A swarm user's secret and configs (the container's private host key, its
 * authorized_keys, the inner key): named INSTANCE-KIND-USER and labelled
 * sshbox.instance (and, since issue 14's review, sshbox.user), created by
 * createuser before the service, removed by cleanuser. Swarm keeps them
 * immutable, so a createuser must never meet one of an earlier attempt: it
 * would carry the old keys. Library code: it does not log. */
#ifndef SSHBOX_SWARM_BLOB_H
#define SSHBOX_SWARM_BLOB_H

#include "config.h"
#include "engine.h"
#include "err.h"

enum swarm_blob { SWARM_BLOB_HOSTKEY, SWARM_BLOB_AUTHKEYS, SWARM_BLOB_INNERKEY, SWARM_BLOBS };

/* "secrets" or "configs", as the API's paths say. */
const char *swarm_blob_kind(enum swarm_blob b);
/* INSTANCE-KIND-USER. */
int swarm_blob_name(const struct config *cfg, const char *user, enum swarm_blob b, char *buf,
                    size_t size, struct err *err);
/* Creates it from data; *ret_id gets its ID. One of that name that exists
 * already is an error naming it (EEXIST), never reused. */
int swarm_blob_create(struct engine *e, const struct config *cfg, const char *user,
                      enum swarm_blob b, const char *data, char *ret_id, size_t id_size,
                      struct err *err);
/* Removes the one this attempt created (by ID), undoing a createuser that
 * failed later; errors are ignored, the next createuser clears leftovers. */
void swarm_blob_drop(struct engine *e, enum swarm_blob b, const char *id);
/* Before a createuser of a user with no service: removes what an earlier
 * attempt left of that user's blobs, only those labelled as this
 * instance's (and this user's, when labelled so); another's of that name is
 * left for swarm_blob_create to refuse. The caller has checked that no
 * service of the user exists (swarm also refuses to remove one in use). */
int swarm_blob_clear_leftovers(struct engine *e, const struct config *cfg, const char *user,
                               struct err *err);
/* cleanuser: all three by name, retrying for a while (swarm refuses while
 * a task being removed still uses one); a missing one is fine. */
int swarm_blob_remove_all(struct engine *e, const struct config *cfg, const char *user,
                          struct err *err);

#endif
