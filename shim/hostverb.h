/* Host verbs: `ssh host VERB [ARGS]` is answered on the host by the
 * watchdog instead of running in the container. Anything else runs there. */
#ifndef SSHBOX_HOSTVERB_H
#define SSHBOX_HOSTVERB_H

#include "err.h"
#include "proto.h"

/* 1 and *ret filled when command is a host verb, 0 when it is not, -1 with
 * err when it is a verb with unusable arguments. */
int hostverb_parse(const char *command, struct proto_request *ret, struct err *err);

/* The "verb" request for a parsed verb, as sent to the watchdog; NULL when
 * out of memory or an argument is not UTF-8. */
json_t *hostverb_message(const char *session_id, const struct proto_request *req);

/* Sends a parsed verb to the watchdog and returns its reply (the caller
 * frees it). */
int hostverb_ask(int wd, const char *session_id, const struct proto_request *req,
                 json_t **ret_reply, struct err *err);

/* Runs a parsed verb through the watchdog; prints its output; returns the
 * exit status. "help" is answered here. */
int hostverb_run(int wd, const char *session_id, const struct proto_request *req);

#endif
