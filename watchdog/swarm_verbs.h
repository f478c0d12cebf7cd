/* Host verbs in swarm mode: the seam's verb for cluster_swarm_ops. */
#ifndef SSHBOX_SWARM_VERBS_H
#define SSHBOX_SWARM_VERBS_H

#include <jansson.h>

#include "config.h"
#include "proto.h"
#include "record.h"

json_t *swarm_verb_run(const struct config *cfg, const char *user, const struct user_record *rec,
                       const struct proto_request *req);

#endif
