/* What the shim tells the watchdog for the audit log (auditmsg.h): the
 * outer session's kind, client address and command (its first 4 KiB and a
 * sha256 of all of it) with the login or verb request, and how the session
 * ended just before the shim exits. The watchdog checks every field and
 * takes the user from the kernel, never from here. */
#ifndef SSHBOX_REPORT_H
#define SSHBOX_REPORT_H

#include <jansson.h>

/* The "audit" member for a request: kind is shell, exec, sftp, scp, verb or
 * jump; command NULL for a shell. Client from SSH_CONNECTION (SSH_CLIENT).
 * NULL when the environment gives no client address (not run by sshd). */
json_t *report_outer(const char *kind, const char *command);

/* The kind of a session from its command (scp is an exec of "scp ..."). */
const char *report_kind(const char *command);

/* Sends "end" on the session's watchdog connection (no reply): exit status
 * or signal name ("KILL"; NULL or "": none), bytes from and to the user. */
void report_end(int wd, const char *session_id, int status, const char *signal,
                unsigned long long bytes_in, unsigned long long bytes_out);

#endif
