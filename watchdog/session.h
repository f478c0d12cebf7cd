/* The watchdog's shared state: the current configuration and one entry per
 * user seen, with the lock that serialises that user's container lifecycle
 * and the count of live shim sessions. Entries are never freed (one per
 * provisioned user at most), so pointers to them stay valid. */
#ifndef SSHBOX_SESSION_H
#define SSHBOX_SESSION_H

#include <pthread.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"
#include "names.h"

struct user_state {
	char name[USER_NAME_MAX + 1];
	pthread_mutex_t lifecycle; /* held for create/start/stop of this user's container */
	int sessions;              /* live shim sessions; guarded by the table lock */
	struct user_state *next;
};

/* The configuration, swapped whole on SIGHUP; readers take a copy. */
void state_config_set(const struct config *cfg);
void state_config_get(struct config *ret_cfg);

struct user_state *state_user(const char *name);
/* Returns the new count. */
int state_session_begin(struct user_state *u);
int state_session_end(struct user_state *u);

#endif
