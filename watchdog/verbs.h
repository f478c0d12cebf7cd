/* Host verbs a user runs as `ssh host VERB`: commit, stop, remove, port,
 * freeport, hostkey, status. Each acts on the caller's own container only. */
#ifndef SSHBOX_VERBS_H
#define SSHBOX_VERBS_H

#include <jansson.h>

#include "config.h"
#include "proto.h"
#include "record.h"

/* Runs the verb; returns the reply {"ok":true,"status":N,"output":S,"error":S}. */
json_t *verb_run(const struct config *cfg, const char *user, const struct user_record *rec,
                 const struct proto_request *req);

#endif
