/* The admin CLI's commands. Each returns 0, or -1 with err naming the bad
 * thing; main() prints it and picks the exit status. */
#ifndef SSHBOX_ADMIN_H
#define SSHBOX_ADMIN_H

#include "config.h"
#include "err.h"
#include "record.h"

int cmd_createuser(const struct config *cfg, int argc, char **argv, struct err *err);
int cmd_cleanuser(const struct config *cfg, int argc, char **argv, struct err *err);
int cmd_set(const struct config *cfg, int argc, char **argv, struct err *err);
int cmd_list(const struct config *cfg, int argc, char **argv, struct err *err);
int cmd_status(const struct config *cfg, int argc, char **argv, struct err *err);

/* engine_mode = swarm: list and status over the whole cluster (list_swarm.c). */
int cmd_list_swarm(const struct config *cfg, struct err *err);
int cmd_status_swarm(const struct config *cfg, const char *name, struct err *err);
/* A record's limits as one word (list.c). */
void limits_text(const struct user_record *rec, char *buf, size_t size);

/* Checks that a mount's host path exists (createuser.c). */
int mount_host_exists(const char *spec, struct err *err);
/* Checks that image exists and has an sshd (image.c). */
int image_check(const struct config *cfg, const char *image, struct err *err);

/* engine_mode = swarm: the user's service, secret and configs (cluster.c);
 * node: the home node's sshbox.node label, "" for the least loaded. */
int cluster_provision(const struct config *cfg, const char *user, const struct user_record *rec,
                      const char *node, struct err *err);
/* Swarm mode: one createuser of a user at a time in the whole swarm
 * (swarm_plock.h); *ret_id is "" on a single host. Release with
 * cluster_provision_unlock whatever happens next. */
int cluster_provision_lock(const struct config *cfg, const char *user, char *ret_id, size_t size,
                           struct err *err);
void cluster_provision_unlock(const struct config *cfg, const char *id);
/* engine_mode = swarm: removes them again (cleanuser). */
int cluster_deprovision(const struct config *cfg, const char *user, struct err *err);
/* swarm mode: the record from the user's service (1; 0: read the local one). */
int cluster_record_load(const struct config *cfg, const char *user, struct user_record *ret_rec,
                        struct err *err);
/* swarm mode: the record into the service; applies at the next start. */
int cluster_record_store(const struct config *cfg, const char *user, const struct user_record *rec,
                         struct err *err);
/* swarm mode: refuses --purge off the user's home node, naming it. */
int cluster_purge_here(const struct config *cfg, const char *user, struct err *err);
/* sshbox move USER NODE (swarm mode, while the container is stopped). */
int cmd_move(const struct config *cfg, int argc, char **argv, struct err *err);

#endif
