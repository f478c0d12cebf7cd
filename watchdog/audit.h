/* The audit log: one JSON line per event, written by the watchdog alone, to
 * the config's "audit_log" file (root 0600 in a 0700 directory, reopened on
 * SIGHUP so logrotate can move it) or to syslog (authpriv). A write that
 * fails never holds up a login: the first failure is logged, later ones are
 * counted and reported once the log works again. */
#ifndef SSHBOX_AUDIT_H
#define SSHBOX_AUDIT_H

#include <jansson.h>
#include <sys/types.h>

#include "auditmsg.h"
#include "config.h"

/* Opens (or reopens, after a SIGHUP or a config change) the log. */
void audit_open(const struct config *cfg);

#define AUDIT_NO_UID ((uid_t)-1)

/* Writes {"time","event","user","uid","session",...fields} (fields taken;
 * user NULL, uid AUDIT_NO_UID or session NULL leave that member out). */
void audit_event(const char *event, const char *user, uid_t uid, const char *session,
                 json_t *fields);

/* The shim's audit data failed a check: logged (journal and audit log),
 * naming the field; the caller goes on without that data. */
void audit_data_refused(const char *user, uid_t uid, const char *session, const char *why);

/* The outer session's facts as the shim reported them, as log fields. */
json_t *audit_info_fields(const struct audit_info *info);

/* Why the next lifecycle action ("create", "start", "stop", "remove",
 * "commit") on user's container happens ("login", "verb", "stopnow"): the
 * engine's event stream, which writes the container lines, takes it (once;
 * hints expire after a minute). 1 when there was one. */
void audit_reason_set(const char *user, const char *action, const char *reason);
int audit_reason_take(const char *user, const char *action, char *buf, size_t size);

/* RFC 3339 UTC with milliseconds, from a wall-clock time in ns. */
void audit_time_format(long long ns, char *buf, size_t size);

#endif
