/* "Why is it up": one line that says why a user's container runs or when it
 * stops, from what the watchdog knows (sessions, daemon flag, busy keep,
 * pending stop) and what the engine says. Shared by the admin CLI (list,
 * status) and the watchdog's status verb, so both say the same. Pure. */
#ifndef SSHBOX_WHY_H
#define SSHBOX_WHY_H

#include <stddef.h>

struct why {
	int found, running;  /* the container exists / runs */
	int known;           /* the watchdog answered: the fields below hold */
	int shim, direct;    /* live sessions through the shim / straight to its sshd */
	int daemon;          /* daemon flag set */
	int busy_tenths;     /* kept busy: CPU share in 0.1 %, -1 = not kept */
	long long stop_in;   /* seconds to the pending stop (or next busy check), -1 = none */
	long long busy_left; /* seconds until idle_busy_max_hours, -1 = not kept */
};

/* "2 sessions (1 shim, 1 direct)", "kept: daemon", "busy: 37% CPU",
 * "stopping in 40 s", "stopped", "no container", "running, no stop pending". */
void why_text(const struct why *w, char *buf, size_t size);

/* "40 s", "12 min", "3 h", "2 d" (rounded down past a minute). */
void why_duration(long long seconds, char *buf, size_t size);

#endif
