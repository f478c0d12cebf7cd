#include "swarm_health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

/* The managers /info last named (this process): asked when /info hangs. */
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static char known_addr[SWARM_MANAGERS_MAX][64];
static int known_naddr;

/* GET /_ping (plain text): 1 when this node's engine itself answers. */
static int engine_answers(struct engine *e)
{
	struct err ignored = {0};
	long status = 0;
	char *data = NULL;
	size_t len = 0;
	int rc = engine_request_raw(e, "GET", "/_ping", NULL, 2, &status, &data, &len, &ignored);
	free(data);
	return rc == 0 && status == 200;
}

int swarm_health_read(struct engine *e, const char *node, struct swarm_health *ret, struct err *err)
{
	json_t *info = NULL;
	static const long ok[] = {200, 0};
	memset(ret, 0, sizeof(*ret));
	int rc = engine_call(e, "GET", "/info", NULL, SWARM_INFO_TIMEOUT_S, ok,
	                     "read the engine's info", &info, err);
	if (rc < 0 && err->code == ETIMEDOUT && engine_answers(e)) {
		/* A manager that lost its leader a moment ago holds /info (and
		 * every swarm call) for dockerd's 20 s: the engine is there, and
		 * the managers are the ones it last named. */
		snprintf(ret->state, sizeof(ret->state), "active");
		ret->manager = 1;
		ret->silent = 1;
		ret->reachable = -1;
		pthread_mutex_lock(&known_lock);
		memcpy(ret->addr, known_addr, sizeof(ret->addr));
		ret->naddr = known_naddr;
		pthread_mutex_unlock(&known_lock);
		return 0;
	}
	if (rc < 0) {
		/* The whole line: this node's engine, not the container's node. */
		char why[ERR_MSG_MAX / 2];
		snprintf(why, sizeof(why), "%s", err->msg);
		if (node != NULL && node[0] != '\0')
			return err_set(
			    err, SWARM_ENOENGINE,
			    "the container engine of this node (%s) is not available (%s); "
			    "log in through another node, or tell your admin",
			    node, why);
		return err_set(err, SWARM_ENOENGINE,
		               "the container engine of this node is not available (%s); log in "
		               "through another node, or tell your admin",
		               why);
	}
	json_t *sw = json_object_get(info, "Swarm");
	snprintf(ret->node_id, sizeof(ret->node_id), "%s",
	         json_string_value(json_object_get(sw, "NodeID")) ?: "");
	snprintf(ret->state, sizeof(ret->state), "%s",
	         json_string_value(json_object_get(sw, "LocalNodeState")) ?: "");
	snprintf(ret->error, sizeof(ret->error), "%s",
	         json_string_value(json_object_get(sw, "Error")) ?: "");
	ret->manager = json_is_true(json_object_get(sw, "ControlAvailable"));
	ret->managers = (int)json_integer_value(json_object_get(sw, "Managers"));
	ret->reachable = -1;
	/* Without a leader /info cannot list the nodes: the managers this node
	 * knows of (itself too) are still there. */
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(sw, "RemoteManagers"), i, m)
	{
		const char *addr = json_string_value(json_object_get(m, "Addr"));
		if (addr != NULL && ret->naddr < SWARM_MANAGERS_MAX)
			snprintf(ret->addr[ret->naddr++], sizeof(ret->addr[0]), "%s", addr);
	}
	if (ret->managers == 0)
		ret->managers = ret->naddr;
	if (ret->naddr > 0) {
		pthread_mutex_lock(&known_lock);
		memcpy(known_addr, ret->addr, sizeof(known_addr));
		known_naddr = ret->naddr;
		pthread_mutex_unlock(&known_lock);
	}
	json_decref(info);
	return 0;
}

int swarm_health_check(const struct swarm_health *h, const char *what, struct err *err)
{
	if (strcmp(h->state, "active") != 0)
		return err_set(err, ENOTCONN, "this node is not an active swarm member (%s): %s",
		               h->state[0] ? h->state : "no state", what);
	if (!h->manager)
		return err_set(err, ENOTCONN, "this node is not a swarm manager: %s", what);
	if (!h->silent && h->error[0] == '\0')
		return 0;
	/* dockerd words a lost raft leader as "The swarm does not have a
	 * leader. ..." (or swarmkit's "lost quorum"); anything else is still
	 * the managers failing, named as they name it. */
	int leaderless =
	    h->silent || strstr(h->error, "leader") != NULL || strstr(h->error, "quorum") != NULL;
	if (!leaderless)
		return err_set(err, SWARM_ENOQUORUM,
		               "the cluster's managers cannot serve (%.300s): %s", h->error, what);
	if (h->reachable >= 0 && h->naddr > 0 && h->reachable * 2 > h->naddr)
		return err_set(err, SWARM_ENOLEADER,
		               "the cluster has no manager leader right now (%d of its %d managers "
		               "reachable: an election is under way): %s",
		               h->reachable, h->naddr, what);
	if (h->reachable >= 0 && h->naddr > 0)
		return err_set(
		    err, SWARM_ENOQUORUM,
		    "the cluster has no manager quorum (%d of its %d managers reachable, "
		    "more than %d needed): %s",
		    h->reachable, h->naddr, h->naddr / 2, what);
	if (h->silent)
		return err_set(err, SWARM_ENOLEADER,
		               "the cluster has no manager quorum (its managers did not answer "
		               "within %d s; too few may be online): %s",
		               SWARM_INFO_TIMEOUT_S, what);
	if (h->managers > 0)
		return err_set(err, SWARM_ENOLEADER,
		               "the cluster has no manager quorum (no leader: more than %d of its "
		               "%d managers must be reachable): %s",
		               h->managers / 2, h->managers, what);
	return err_set(err, SWARM_ENOLEADER,
	               "the cluster has no manager quorum (no leader: too few managers are "
	               "reachable): %s",
	               what);
}

/* Managers whose swarm port accepts a TCP connection within timeout_ms
 * (all tried at once). A dead dockerd refuses at once; a dead host times
 * out. */
static int reachable_managers(const struct swarm_health *h, int timeout_ms)
{
	struct pollfd p[SWARM_MANAGERS_MAX];
	int n = 0, up = 0;
	for (int i = 0; i < h->naddr; i++) {
		char host[64];
		snprintf(host, sizeof(host), "%s", h->addr[i]);
		char *colon = strrchr(host, ':');
		struct sockaddr_in sa = {.sin_family = AF_INET};
		long port = colon ? strtol(colon + 1, NULL, 10) : 0;
		if (colon != NULL)
			*colon = '\0';
		if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
			continue;
		sa.sin_port = htons((uint16_t)port);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			up++;
			close(fd);
			continue;
		}
		if (errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		p[n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
	}
	long long deadline = mono_ms() + timeout_ms;
	int open = n;
	while (open > 0 && mono_ms() < deadline) {
		if (poll(p, (nfds_t)n, (int)(deadline - mono_ms())) <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
			    soerr == 0)
				up++;
			close(p[i].fd);
			p[i].fd = -1;
			open--;
		}
	}
	for (int i = 0; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return up;
}

int swarm_health_gate(struct engine *e, const char *node, const char *what, int wait_s,
                      struct err *err)
{
	long long deadline = mono_ms() + (long long)wait_s * 1000;
	for (;;) {
		struct swarm_health h;
		if (swarm_health_read(e, node, &h, err) < 0)
			return -1;
		if ((h.silent || h.error[0] != '\0') && h.naddr > 0)
			h.reachable = reachable_managers(&h, 1000);
		if (swarm_health_check(&h, what, err) == 0)
			return 0;
		/* Only a missing leader with a majority of managers reachable (or
		 * not known) may come back by itself: a new one is elected 10-20 s
		 * after the old one's death. */
		if (err->code != SWARM_ENOLEADER || mono_ms() + 1000 >= deadline)
			return -1;
		sleep(1);
	}
}
