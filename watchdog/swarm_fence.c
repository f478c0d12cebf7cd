#include "swarm_fence.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "box.h"
#include "clock.h"
#include "log.h"
#include "netfence.h"
#include "swarm.h"
#include "swarm_home.h"
#include "swarm_sshd.h"

#define NODES_CHECK_MS 5000

#define NODES_MAX 64

/* Adds a if it is a usable IPv4 address not listed yet: 1 added or
 * already there, 0 not usable (unspecified, loopback, IPv6: the overlay and
 * the fence are IPv4), -1 no room. */
static int add_addr(const char *a, char addrs[][48], const char **list, int *count)
{
	char host[48];
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(a, ":"), a); /* ADDR or ADDR:PORT */
	struct in_addr in;
	if (strchr(a, ':') != strrchr(a, ':') || inet_pton(AF_INET, host, &in) != 1 ||
	    in.s_addr == htonl(INADDR_ANY) || (ntohl(in.s_addr) >> 24) == 127)
		return 0;
	for (int k = 0; k < *count; k++)
		if (strcmp(addrs[k], host) == 0)
			return 1;
	if (*count >= NODES_MAX)
		return -1;
	snprintf(addrs[*count], 48, "%s", host);
	list[*count] = addrs[*count];
	(*count)++;
	return 1;
}

/* Every node's underlay address (the swarm's own ports, 2377, 7946 and
 * 4789/udp, listen there): fenced besides the task's own subnets. A
 * manager's Status.Addr may read 0.0.0.0 or 127.0.0.1 (moby#35437): its
 * ManagerStatus.Addr counts too. A node with no usable address, or more
 * nodes than fit, fails the fence (the task is stopped), never a fence
 * with a hole. */
static int node_addrs(struct engine *e, char addrs[][48], const char **ret_list, struct err *err)
{
	json_t *nodes = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", "/nodes", NULL, 10, ok, "list swarm nodes", &nodes, err) < 0)
		return -1;
	size_t i;
	json_t *n;
	int count = 0, rc = 0;
	json_array_foreach(nodes, i, n)
	{
		const char *a =
		    json_string_value(json_object_get(json_object_get(n, "Status"), "Addr"));
		const char *m =
		    json_string_value(json_object_get(json_object_get(n, "ManagerStatus"), "Addr"));
		int got = 0;
		for (int k = 0; k < 2 && rc == 0; k++) {
			const char *x = k == 0 ? a : m;
			int r = x == NULL ? 0 : add_addr(x, addrs, ret_list, &count);
			if (r < 0)
				rc =
				    err_set(err, E2BIG, "the swarm has more than %d node addresses",
				            NODES_MAX);
			got |= r > 0;
		}
		if (rc == 0 && !got)
			rc =
			    err_set(err, EADDRNOTAVAIL,
			            "swarm node %s has no usable IPv4 address (Status.Addr \"%s\")",
			            json_string_value(json_object_get(n, "ID")) ?: "?", a ? a : "");
	}
	ret_list[count] = NULL;
	json_decref(nodes);
	return rc;
}

/* The swarm's node addresses as last read, with an order-free signature of
 * the last list read whole (0: none yet), or why that read failed. */
static struct {
	char addrs[NODES_MAX][48];
	const char *list[NODES_MAX + 1];
	unsigned long long sig;
	long long read_at;
	struct err failed;
} nodes;

static unsigned long long signature(const char *const *list)
{
	unsigned long long sum = 0;
	for (int i = 0; list[i] != NULL; i++) {
		unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
		for (const char *p = list[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		sum += h;
	}
	return sum | 1;
}

/* The list, re-read when older than NODES_CHECK_MS: 0, or -1 with err
 * (E2BIG, EADDRNOTAVAIL: no fence without a hole can be made; else the
 * engine did not answer). A failure is kept as long as a list would be, so
 * a round of many tasks asks once; the list, partly read then, is used
 * only after a read succeeds. */
static int nodes_now(struct engine *e, struct err *err)
{
	if (nodes.read_at == 0 || mono_ms() - nodes.read_at >= NODES_CHECK_MS) {
		nodes.read_at = mono_ms();
		memset(&nodes.failed, 0, sizeof(nodes.failed));
		if (node_addrs(e, nodes.addrs, nodes.list, &nodes.failed) == 0)
			nodes.sig = signature(nodes.list);
		else if (nodes.failed.code == 0)
			nodes.failed.code = EIO;
	}
	if (nodes.failed.code == 0)
		return 0;
	*err = nodes.failed;
	return -1;
}

static void stop_unfenced(struct engine *e, const char *user, const char *container,
                          const char *why)
{
	struct err err = {0};
	log_err("user \"%s\": cannot fence task container %.12s: %s; stopping it", user, container,
	        why);
	box_stop(e, container, 0, &err);
}

int swarm_fence(struct engine *e, const struct config *cfg, const char *user, const char *container,
                const char *task, pid_t pid, unsigned long long *ret_nodes)
{
	struct err err = {0};
	if (nodes_now(e, &err) < 0) {
		if (err.code != E2BIG && err.code != EADDRNOTAVAIL) {
			log_err("user \"%s\": cannot list the swarm's nodes to fence %.12s: %s",
			        user, container, err.msg);
			return 0; /* tried again next round; logins wait for the fence */
		}
		stop_unfenced(e, user, container, err.msg);
		return -1;
	}
	if (netfence_apply_also(pid, container, nodes.list, &err) < 0) {
		stop_unfenced(e, user, container, err.msg);
		return -1;
	}
	if (swarm_sshd_release(cfg, user, task, &err) < 0) {
		log_err("user \"%s\": cannot let task container %.12s start its sshd: %s; "
		        "stopping it",
		        user, container, err.msg);
		box_stop(e, container, 0, &err);
		return -1;
	}
	if (swarm_home_set_label(e, cfg, user, SWARM_LABEL_FENCED, container, NULL, &err) < 0) {
		log_err("user \"%s\": cannot record the fence of %.12s: %s", user, container,
		        err.msg);
		return 0;
	}
	*ret_nodes = nodes.sig;
	log_info("user \"%s\": task container %.12s fenced", user, container);
	return 1;
}

void swarm_fence_renew(struct engine *e, const char *user, const char *container, pid_t pid,
                       unsigned long long *nodes_held)
{
	static long long next_err_log;
	struct err err = {0};
	if (nodes_now(e, &err) < 0) {
		/* A node without a usable address joined, or too many: no fence
		 * without a hole can be made, so the task stops (as a new one
		 * would); an engine that did not answer is asked again later. */
		if (err.code == E2BIG || err.code == EADDRNOTAVAIL) {
			stop_unfenced(e, user, container, err.msg);
		} else if (mono_ms() >= next_err_log) {
			log_err("cannot renew the fences with the swarm's nodes: %s", err.msg);
			next_err_log = mono_ms() + 30000;
		}
		return;
	}
	if (*nodes_held == nodes.sig)
		return;
	if (netfence_apply_also(pid, container, nodes.list, &err) < 0) {
		stop_unfenced(e, user, container, err.msg);
		return;
	}
	*nodes_held = nodes.sig;
	log_info("user \"%s\": task container %.12s fenced again: the swarm's nodes changed", user,
	         container);
}
