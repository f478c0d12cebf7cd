/* A user's swarm service (engine_mode = swarm, docs/design-cluster.md): the
 * calls both the watchdog and the admin CLI make on a manager's Engine API.
 * Every write carries the version it was read at (compare-and-swap); an
 * "update out of sequence" answer is returned as 1, never as an error, so a
 * caller re-reads and decides again. Library code: it does not log. */
#ifndef SSHBOX_SWARM_H
#define SSHBOX_SWARM_H

#include <jansson.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "record.h"

/* Labels of a user's service (state the whole cluster reads). */
#define SWARM_LABEL_USER     "sshbox.user"
#define SWARM_LABEL_INSTANCE "sshbox.instance"
#define SWARM_LABEL_NODE     "sshbox.node"    /* the home node's sshbox.node name */
#define SWARM_LABEL_REC      "sshbox.rec"     /* the user record, record_format() text */
#define SWARM_LABEL_HOSTKEY  "sshbox.hostkey" /* the container's public host key */
#define SWARM_LABEL_LOGIN    "sshbox.login"   /* NODE:SEQ, new at every login's touch */
#define SWARM_LABEL_STOPPING "sshbox.stopping"
#define SWARM_LABEL_STOPPED  "sshbox.stopped"
#define SWARM_LABEL_FENCED   "sshbox.fenced" /* the task container the home node fenced */
/* The mailbox to the home node (design 3.7): a login node writes
 * "VERB NONCE NODE" into sshbox.op, the home node answers with
 * "NONCE STATUS TEXT" in sshbox.done (the last few answers, newest first,
 * separated by ASCII RS); a commit moves its request to sshbox.taken while
 * it runs. */
#define SWARM_LABEL_OP    "sshbox.op"
#define SWARM_LABEL_DONE  "sshbox.done"
#define SWARM_LABEL_TAKEN "sshbox.taken"
#define SWARM_LABEL_IMAGE "sshbox.image" /* the committed image's id, on the home node */
#define SWARM_LABEL_SPEC  "sshbox.spec"  /* BOX_SPEC_VERSION the container spec was written at */
/* The writable layer across a stop (design 3.10): the task container a
 * stop left to be saved, and the saved image's id (INSTANCE-layer:USER). */
#define SWARM_LABEL_SAVING "sshbox.saving"
#define SWARM_LABEL_LAYER  "sshbox.layer"
/* Task containers whose save failed every retry, kept on the home node for
 * the admin (their short ids, space-separated, newest first). */
#define SWARM_LABEL_UNSAVED "sshbox.unsaved"
/* Labels of the task's container (not sshbox.instance: the local code's
 * adoption must never take a task container for a local one). */
#define SWARM_CLABEL_INSTANCE "sshbox.swarm.instance"
#define SWARM_CLABEL_USER     "sshbox.swarm.user"

/* 1 and *ret_service (the inspect answer) when the user has a service, 0
 * when not, -1 on error. */
int swarm_service_get(struct engine *e, const struct config *cfg, const char *user,
                      json_t **ret_service, struct err *err);
/* The same where the service must exist: 0 and *ret_service, or -1 (a
 * missing one is ENOENT, "went away"). */
int swarm_service_need(struct engine *e, const struct config *cfg, const char *user,
                       json_t **ret_service, struct err *err);
/* *service read again (replaced on success): 0, or -1 as swarm_service_need. */
int swarm_service_reread(struct engine *e, const struct config *cfg, const char *user,
                         json_t **service, struct err *err);
/* The label's value in a service inspect answer, NULL when absent. */
const char *swarm_label(json_t *service, const char *key);
/* Its Version.Index. */
long long swarm_version(json_t *service);
/* A copy of the service's Spec, to change and write back. */
json_t *swarm_spec_copy(json_t *service);
/* Replicas of a spec (-1 when not a replicated service). */
long long swarm_replicas(json_t *spec);
void swarm_set_replicas(json_t *spec, long long n);
void swarm_set_label(json_t *spec, const char *key, const char *value); /* NULL removes */
/* POST /services/ID/update?version=V: 0 done, 1 out of sequence (someone
 * else wrote first), -1 error. */
int swarm_service_update(struct engine *e, json_t *service, json_t *spec, struct err *err);

/* The record kept in the service's labels, checked like a record file. */
int swarm_record(json_t *service, const char *user, struct user_record *ret_rec, struct err *err);
/* A swarm config's data by name, NUL-terminated (for the inner key). */
int swarm_config_data(struct engine *e, const char *name, char *buf, size_t size, struct err *err);

/* The overlay network of the instance: INSTANCE-net. */
int swarm_network_name(const struct config *cfg, char *buf, size_t size);
/* This engine's swarm node id and its sshbox.node label. */
int swarm_self(struct engine *e, char *ret_id, size_t id_size, char *ret_node, size_t node_size,
               struct err *err);

/* createuser on a manager: the overlay (when missing), the user's secret
 * (container host key) and configs (container authorized_keys, inner key)
 * from the state createuser just wrote, and the service at 0 replicas
 * pinned to node (NULL or "": the node with the fewest sshbox services). */
int swarm_provision(struct engine *e, const struct config *cfg, const char *user,
                    const struct user_record *rec, const char *node, struct err *err);

/* cleanuser: the service, its secret and configs (the home volume and any
 * committed image stay on the home node). */
int swarm_deprovision(struct engine *e, const struct config *cfg, const char *user,
                      struct err *err);

/* The admin CLI's changes from any manager (swarm_admin.c). The record
 * kept in the service's label: */
int swarm_record_load(struct engine *e, const struct config *cfg, const char *user,
                      struct user_record *ret_rec, struct err *err);
/* ... written back; the container spec is written anew at the next start. */
int swarm_record_store(struct engine *e, const struct config *cfg, const char *user,
                       const struct user_record *rec, struct err *err);
/* 0 when a node has the label sshbox.node=node; else an error naming the
 * nodes there are. */
int swarm_node_check(struct engine *e, const char *node, struct err *err);
/* The user's home node becomes node, only while the container is stopped;
 * *ret_from gets the old one. Data stays where it was (docs: moving a user). */
int swarm_move(struct engine *e, const struct config *cfg, const char *user, const char *node,
               char *ret_from, size_t size, struct err *err);

#endif
