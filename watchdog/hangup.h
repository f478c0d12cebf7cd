/* A hang-up for a session whose user vanished: OpenSSH refuses "signal"
 * requests for root sessions, so the watchdog delivers SIGHUP itself to the
 * processes in the container that carry the session's SSHBOX_SESSION, as a
 * terminal hang-up would (nohup'd processes survive, as they should). */
#ifndef SSHBOX_HANGUP_H
#define SSHBOX_HANGUP_H

#include <sys/types.h>

/* container_init and container_id as the engine gave them (checked here,
 * pidfd.h). Returns how many processes were signalled, each by pidfd. */
int hangup_session(pid_t container_init, const char *container_id, const char *session);

#endif
