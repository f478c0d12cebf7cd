#include "session.h"

#include "clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_state *users;
static struct config current;

void state_config_set(const struct config *cfg)
{
	pthread_mutex_lock(&table_lock);
	current = *cfg;
	pthread_mutex_unlock(&table_lock);
}

void state_config_get(struct config *ret_cfg)
{
	pthread_mutex_lock(&table_lock);
	*ret_cfg = current;
	pthread_mutex_unlock(&table_lock);
}

struct user_state *state_user(const char *name)
{
	pthread_mutex_lock(&table_lock);
	struct user_state *u = users;
	while (u != NULL && strcmp(u->name, name) != 0)
		u = u->next;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		if (u != NULL) {
			strncpy(u->name, name, USER_NAME_MAX);
			u->flags_watch = -1;
			u->idle_since = time(NULL);
			pthread_mutex_init(&u->lifecycle, NULL);
			u->next = users;
			users = u;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return u;
}

void state_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void state_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

pthread_mutex_t *state_mutex(void)
{
	return &table_lock;
}

struct user_state *state_first(void)
{
	return users;
}

int state_session_begin(struct user_state *u)
{
	pthread_mutex_lock(&table_lock);
	int n = ++u->sessions;
	u->idle_since = 0;
	idle_schedule(u, 0);
	pthread_mutex_unlock(&table_lock);
	return n;
}

int state_session_end(struct user_state *u)
{
	pthread_mutex_lock(&table_lock);
	int n = --u->sessions;
	if (n == 0) {
		u->idle_since = time(NULL);
		idle_schedule(u, mono_ms() + (long long)current.idle_grace_seconds * 1000);
	}
	pthread_mutex_unlock(&table_lock);
	return n;
}
