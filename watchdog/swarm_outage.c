#include "swarm_outage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "log.h"
#include "names.h"
#include "netns.h"
#include "swarm.h"
#include "swarm_health.h"
#include "swarm_reach.h"

/* One entry per user this node has logged in; more users are served as
 * before, just not while quorum is lost. */
#define KNOWN_MAX 4096
/* The remembered address answers at once or not at all. */
#define CONNECT_MS 3000

struct known {
	char user[USER_NAME_MAX + 1];
	struct user_record rec;
	char hostkey[sizeof(((struct cluster_login *)0)->hostkey)];
	char key[sizeof(((struct cluster_login *)0)->key)];
	char ip[48], task[80], container[80];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct known *table[KNOWN_MAX];
static char self[64];

static void known_free(struct known *k)
{
	if (k == NULL)
		return;
	explicit_bzero(k->key, sizeof(k->key));
	free(k);
}

/* The slot of user, or (create) a free one; -1 when none. Under lock. */
static int slot_of(const char *user, int create)
{
	int free_slot = -1;
	for (int i = 0; i < KNOWN_MAX; i++) {
		if (table[i] != NULL && strcmp(table[i]->user, user) == 0)
			return i;
		if (table[i] == NULL && free_slot < 0)
			free_slot = i;
	}
	return create ? free_slot : -1;
}

/* A copy of user's entry (malloc'd, known_free it), NULL when none. */
static struct known *known_get(const char *user)
{
	struct known *k = malloc(sizeof(*k));
	if (k == NULL)
		return NULL;
	pthread_mutex_lock(&lock);
	int i = slot_of(user, 0);
	if (i >= 0)
		*k = *table[i];
	pthread_mutex_unlock(&lock);
	if (i < 0) {
		free(k);
		return NULL;
	}
	return k;
}

int swarm_outage_gate(struct engine *e, int wait_s, struct err *err)
{
	char node[64];
	pthread_mutex_lock(&lock);
	snprintf(node, sizeof(node), "%s", self);
	pthread_mutex_unlock(&lock);
	if (swarm_health_gate(e, node, "your container cannot be started or stopped now", wait_s,
	                      err) < 0)
		return -1;
	/* Learnt while the engine answers, for the line when it does not. */
	char id[80];
	struct err ignored = {0};
	if (node[0] == '\0' && swarm_self(e, id, sizeof(id), node, sizeof(node), &ignored) == 0)
		swarm_outage_set_self(node);
	return 0;
}

void swarm_outage_remember(const char *user, const struct user_record *rec,
                           const struct cluster_login *lg, const char *ip, const char *task)
{
	struct known *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return;
	snprintf(k->user, sizeof(k->user), "%s", user);
	k->rec = *rec;
	memcpy(k->hostkey, lg->hostkey, sizeof(k->hostkey));
	memcpy(k->key, lg->key, sizeof(k->key));
	snprintf(k->ip, sizeof(k->ip), "%s", ip);
	snprintf(k->task, sizeof(k->task), "%s", task);
	snprintf(k->container, sizeof(k->container), "%s", lg->id);
	pthread_mutex_lock(&lock);
	int i = slot_of(user, 1);
	if (i >= 0) {
		known_free(table[i]);
		table[i] = k;
		k = NULL;
	}
	pthread_mutex_unlock(&lock);
	known_free(k);
}

int swarm_outage_record(const char *user, struct user_record *ret_rec)
{
	struct known *k = known_get(user);
	if (k == NULL)
		return -1;
	*ret_rec = k->rec;
	known_free(k);
	return 0;
}

int swarm_outage_login(struct engine *e, const struct config *cfg, const char *user,
                       struct cluster_login *ret)
{
	struct known *k = known_get(user);
	if (k == NULL)
		return -1;
	struct err err = {0};
	int rc = -1, reach = swarm_reach_pidfd(e, cfg, &err);
	int s = reach < 0 ? -1
	                  : netns_connect_addr(reach, k->ip, CONTAINER_SSHD_PORT, CONNECT_MS, &err);
	if (s < 0) {
		log_warn("user \"%s\": no manager quorum, and task %.12s at %s does not answer: %s",
		         user, k->task, k->ip, err.msg);
		goto out;
	}
	ret->sshd = s;
	memcpy(ret->hostkey, k->hostkey, sizeof(ret->hostkey));
	memcpy(ret->key, k->key, sizeof(ret->key));
	snprintf(ret->id, sizeof(ret->id), "%s", k->container);
	ret->path = CONTAINER_WAS_RUNNING;
	log_info("user \"%s\": no manager quorum: login into task %.12s at its last address %s "
	         "(the pinned host key decides)",
	         user, k->task, k->ip);
	rc = 0;
out:
	if (reach >= 0)
		close(reach);
	known_free(k);
	return rc;
}

void swarm_outage_set_self(const char *node)
{
	pthread_mutex_lock(&lock);
	snprintf(self, sizeof(self), "%s", node);
	pthread_mutex_unlock(&lock);
}
