/* Session recording (asciicast v2) on the watchdog's side. The shim runs as
 * the user, so it only carries the terminal's bytes here, over a connection
 * of its own; the watchdog stamps the times, writes the file (root 0600 in
 * users/NAME/recordings, 0700) and enforces the user's cap, none of which
 * the user can reach. A login whose reply says "record" is offered one
 * recording; only that session's id, from the same uid, may claim it. */
#ifndef SSHBOX_RECORDER_H
#define SSHBOX_RECORDER_H

#include "config.h"
#include "conn.h"
#include "record.h"

/* The mode for the user: the record's "record" if set, else the config's. */
int recorder_mode(const struct config *cfg, const struct user_record *rec);

/* A login of this session may now send its recording. 0, or -1 when the
 * table is full (then the session is not recorded and that is logged). */
int recorder_offer(const char *user, const char *session);
/* The session ended: its offer, if never claimed, goes. 1 when there was
 * one (the session was to be recorded and was not: the log says so). */
int recorder_forget(const char *session);

/* Serves a "record" request to its end (the session's end, or the cap). */
void recorder_run(struct conn *c, const struct config *cfg, const struct user_record *rec,
                  const struct proto_request *req);

#endif
