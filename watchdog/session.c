#include "session.h"

#include "clock.h"
#include "proto.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOTICE_TIMEOUT_MS 1000

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
			busy_reset(&u->busy);
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
	busy_reset(&u->busy);
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
		busy_idle_began(&u->busy);
		idle_schedule(u, mono_ms() + (long long)current.idle_grace_seconds * 1000);
	}
	pthread_mutex_unlock(&table_lock);
	return n;
}

int state_link(struct user_state *u, int fd)
{
	int rc = 0;
	pthread_mutex_lock(&table_lock);
	if (u->nlinks == u->caplinks) {
		int cap = u->caplinks ? u->caplinks * 2 : 4;
		int *l = realloc(u->links, (size_t)cap * sizeof(*l));
		if (l == NULL)
			rc = -1;
		else
			u->links = l, u->caplinks = cap;
	}
	if (rc == 0)
		u->links[u->nlinks++] = fd;
	pthread_mutex_unlock(&table_lock);
	return rc;
}

void state_unlink(struct user_state *u, int fd)
{
	pthread_mutex_lock(&table_lock);
	for (int i = 0; i < u->nlinks; i++)
		if (u->links[i] == fd) {
			u->links[i] = u->links[--u->nlinks];
			break;
		}
	pthread_mutex_unlock(&table_lock);
}

int state_notify(struct user_state *u, const char *message)
{
	/* Copies of the descriptors, so the sends run without the lock and a
	 * session ending meanwhile closes nothing we still use. */
	pthread_mutex_lock(&table_lock);
	int n = u->nlinks, *fds = n > 0 ? calloc((size_t)n, sizeof(*fds)) : NULL;
	for (int i = 0; fds != NULL && i < n; i++)
		fds[i] = fcntl(u->links[i], F_DUPFD_CLOEXEC, 3);
	pthread_mutex_unlock(&table_lock);
	if (fds == NULL)
		return 0;
	json_t *m =
	    json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "notice", "message", message);
	int sent = 0;
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (m != NULL && proto_send(fds[i], m, -1, NOTICE_TIMEOUT_MS, NULL) == 0)
			sent++;
		close(fds[i]);
	}
	json_decref(m);
	free(fds);
	return sent;
}
