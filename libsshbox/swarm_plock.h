/* One createuser of a user at a time in the whole swarm: a config named
 * INSTANCE-provision-USER (labelled as this instance's and the user's) is
 * the lock. Swarm refuses a second config of one name, so of two createusers
 * on two managers at once one takes it and the other is told. Without it
 * each could remove the other's fresh secret or config as an earlier
 * attempt's leftover (swarm_blob.h), or take back the account the other
 * relies on. Library code: it does not log. */
#ifndef SSHBOX_SWARM_PLOCK_H
#define SSHBOX_SWARM_PLOCK_H

#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "err.h"

/* A lock older than this was left by a createuser that died: taken over. */
#define SWARM_PLOCK_STALE_S 120

/* Takes the lock for user, holder saying who takes it (e.g. "n1 pid 42");
 * 0 and *ret_id (the config's ID, for the release), -1 with err: EBUSY
 * while another createuser holds it (naming it and its age), EEXIST when
 * a config of that name is not this instance's. */
int swarm_plock_take(struct engine *e, const struct config *cfg, const char *user,
                     const char *holder, char *ret_id, size_t id_size, struct err *err);
/* Releases it by the ID taken (a failure is ignored: it goes stale). */
void swarm_plock_release(struct engine *e, const char *id);

/* Seconds from the engine's timestamp (RFC 3339, UTC) to now; -1 when it
 * cannot be read. Pure but for the clock. */
long swarm_plock_age(const char *created, long now);

#endif
