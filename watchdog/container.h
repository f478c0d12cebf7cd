/* A user's container: created from the user's committed image if any, else
 * the image in the user record; started when stopped; ready once its sshd
 * accepts inside the container's network namespace. Callers hold the user's
 * lifecycle lock. */
#ifndef SSHBOX_CONTAINER_H
#define SSHBOX_CONTAINER_H

#include <sys/types.h>

#include "box.h"
#include "config.h"
#include "engine.h"
#include "err.h"
#include "record.h"

#define CONTAINER_SSHD_PORT 22

/* What container_ensure had to do. */
enum container_path { CONTAINER_WAS_RUNNING, CONTAINER_STARTED, CONTAINER_CREATED };

/* Ensures the container exists, runs and is fenced (netfence.h); fills
 * *ret_info, and *ret_path with what it took (may be NULL). *fenced
 * remembers what was last fenced (netfence_key). alone: the caller's login
 * is the user's only session, so a running container of an older spec may
 * be re-created. */
int container_ensure(struct engine *e, const struct config *cfg, const char *user,
                     const struct user_record *rec, int alone, unsigned long long *fenced,
                     struct container_info *ret_info, enum container_path *ret_path,
                     struct err *err);

/* Saves the container as the user's image (INSTANCE-user:USER), replacing
 * the previous one; *ret_image_id gets the new image's id. comment (NULL:
 * none) becomes the image's Comment: it tells later which commit made it. */
int container_commit(struct engine *e, const struct config *cfg, const char *user, const char *id,
                     const char *comment, char *ret_image_id, size_t size, struct err *err);

/* The capabilities a container keeps (NULL-terminated): one list for local
 * containers and swarm tasks. */
const char *const *container_kept_caps(void);

#endif
