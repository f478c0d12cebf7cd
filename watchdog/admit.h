/* Admission of shim connections: a cap on all connections and one per uid,
 * so a user who opens connections and says nothing costs their own slots,
 * never everyone's. The caps follow the process's descriptor limit, so the
 * watchdog refuses a connection before it runs out of descriptors. */
#ifndef SSHBOX_ADMIT_H
#define SSHBOX_ADMIT_H

#include <sys/types.h>

#define ADMIT_MAX_PER_UID 128
/* Descriptors kept back from shim connections: the engine's curl sockets,
 * netns and pidfds of logins in flight, inotify, epoll, the event stream,
 * log and pid files, the accept reserve. */
#define ADMIT_HEADROOM_MIN 32

struct admit_caps {
	int total;
	int per_uid;
};

/* The caps for a descriptor limit of nofile (pure; unit-tested). */
struct admit_caps admit_caps_for(long long nofile);

/* Raises the soft descriptor limit to the hard one; returns the new soft
 * limit (or the old one when it cannot be raised). */
long long admit_raise_nofile(void);

/* 0 when admitted (pair with admit_release), -1 when over a cap. */
int admit_take(uid_t uid);
void admit_release(uid_t uid);

#endif
