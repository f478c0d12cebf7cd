/* The seam's swarm implementation, login side (docs/design-cluster.md 3.1,
 * 3.2, 3.5): any node ensures the user's service runs with a versioned
 * touch, waits for its task and the home node's fence, connects to the
 * task's sshd from this node's reach container, then confirms that no idle
 * stop claimed the task meanwhile. */
#include "cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "engine.h"
#include "log.h"
#include "names.h"
#include "netns.h"
#include "pidfd.h"
#include "swarm.h"
#include "swarm_flags.h"
#include "swarm_exit.h"
#include "swarm_health.h"
#include "swarm_home.h"
#include "swarm_outage.h"
#include "swarm_layer.h"
#include "swarm_reach.h"
#include "swarm_sshd.h"
#include "swarm_verbs.h"

#define TASK_WAIT_MS  30000
#define SSHD_READY_MS 20000
#define TOUCH_TRIES   8

static atomic_llong login_seq;

static int record_from_swarm(const struct config *cfg, const char *user,
                             struct user_record *ret_rec, struct err *err)
{
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	if (swarm_outage_gate(e, 0, err) < 0) {
		/* Without quorum a login may still reach a running container
		 * (swarm_login): its record is the one remembered. */
		int remembered =
		    swarm_leaderless(err->code) && swarm_outage_record(user, ret_rec) == 0;
		if (remembered || err->code != SWARM_ENOLEADER ||
		    swarm_outage_gate(e, SWARM_LEADER_WAIT_S, err) < 0) {
			engine_close(e);
			if (remembered)
				return 0;
			if (swarm_leaderless(err->code) || err->code == SWARM_ENOENGINE)
				err->code = CLUSTER_ESAID;
			return -1;
		}
	}
	int rc = swarm_record_load(e, cfg, user, ret_rec, err);
	engine_close(e);
	return rc;
}

/* The ContainerSpec is the watchdog's, as a local container's create body
 * is: written when the service's sshbox.spec (swarm_flags_spec_id) is not
 * this build's. */
static int complete_spec(const struct config *cfg, json_t *svc, json_t *spec,
                         const struct user_record *rec, const char *spec_id, struct err *err)
{
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	char hostname[64];
	const char *user =
	    json_string_value(json_object_get(json_object_get(spec, "Labels"), SWARM_LABEL_USER));
	if (user == NULL || !user_name_valid(user))
		return err_set(err, EINVAL, "the service's label %s is missing or not a user name",
		               SWARM_LABEL_USER);
	/* As a local container's: the user's name ('_' dropped in front). */
	snprintf(hostname, sizeof(hostname), "%s", user + (user[0] == '_'));
	json_object_set_new(cs, "Hostname", json_string(hostname));
	json_object_set_new(cs, "Init", json_true());
	const char *home_dir = swarm_flags_home_dir(svc);
	json_object_set_new(cs, "Env", json_pack("[s]", "SSHBOX=1"));
	swarm_sshd_spec(home_dir ? home_dir : cfg->state_dir, user, cs);
	json_object_set_new(cs, "CapabilityDrop", json_pack("[s]", "ALL"));
	json_t *caps = json_array();
	for (const char *const *c = container_kept_caps(); *c != NULL; c++)
		json_array_append_new(caps, json_string(*c));
	json_object_set_new(cs, "CapabilityAdd", caps);
	json_object_set_new(
	    cs, "Ulimits",
	    json_pack("[{s:s,s:i,s:i}]", "Name", "nofile", "Soft", 1024, "Hard", 4096));
	json_t *limits = json_object();
	long long memory = rec->memory >= 0 ? rec->memory : cfg->default_memory;
	long long cpus = rec->nano_cpus >= 0 ? rec->nano_cpus : cfg->default_nano_cpus;
	long long pids = rec->pids >= 0 ? rec->pids : cfg->default_pids;
	if (memory > 0)
		json_object_set_new(limits, "MemoryBytes", json_integer(memory));
	if (cpus > 0)
		json_object_set_new(limits, "NanoCPUs", json_integer(cpus));
	if (pids > 0)
		json_object_set_new(limits, "Pids", json_integer(pids));
	json_object_set_new(json_object_get(spec, "TaskTemplate"), "Resources",
	                    json_pack("{s:o}", "Limits", limits));
	swarm_set_label(spec, SWARM_LABEL_SPEC, spec_id);
	return swarm_flags_mounts(cfg, svc, spec, err);
}

/* Replicas 1, a new sshbox.login, no stop mark, with the version read:
 * 0 done, 1 someone else wrote first, -1 error. */
static int touch(struct engine *e, const struct config *cfg, json_t *svc, const char *self,
                 const struct user_record *rec, struct err *err)
{
	char login[96], spec_id[CONFIG_STR_MAX + 100];
	json_t *spec = swarm_spec_copy(svc);
	if (spec == NULL)
		return err_set(err, ENOMEM, "out of memory");
	swarm_flags_spec_id(svc, spec_id, sizeof(spec_id));
	const char *have = swarm_label(svc, SWARM_LABEL_SPEC);
	if ((have == NULL || strcmp(have, spec_id) != 0) && swarm_replicas(spec) == 0 &&
	    complete_spec(cfg, svc, spec, rec, spec_id, err) < 0) {
		json_decref(spec);
		return -1;
	}
	/* The saved layer, a commit or a remove (on the home node) take effect
	 * at the next start: changing the image of a running service would
	 * replace its task. */
	if (swarm_replicas(spec) == 0) {
		char image[160];
		json_t *tt = json_object_get(spec, "TaskTemplate");
		swarm_layer_image(cfg, svc, rec, image, sizeof(image));
		json_object_set_new(json_object_get(tt, "ContainerSpec"), "Image",
		                    json_string(image));
		/* Never restarted by swarm: the home node saves a task that ended
		 * on its own first (swarm_exit.h); services made before say any. */
		json_object_set_new(tt, "RestartPolicy", json_pack("{s:s}", "Condition", "none"));
	}
	snprintf(login, sizeof(login), "%s:%d:%lld", self, (int)getpid(),
	         atomic_fetch_add(&login_seq, 1) + 1);
	swarm_set_replicas(spec, 1);
	swarm_set_label(spec, SWARM_LABEL_LOGIN, login);
	swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
	int rc = swarm_service_update(e, svc, spec, err);
	json_decref(spec);
	return rc;
}

struct task {
	char id[80], container[80], ip[48];
};

/* The home node's state when no task runs: a clear line when it is down. */
static int home_down(struct engine *e, json_t *svc, struct err *err)
{
	const char *home = swarm_label(svc, SWARM_LABEL_NODE);
	json_t *nodes = NULL;
	static const long ok[] = {200, 0};
	if (home == NULL ||
	    engine_call(e, "GET", "/nodes", NULL, 10, ok, "list swarm nodes", &nodes, err) < 0)
		return 0;
	size_t i;
	json_t *n;
	int down = 0;
	json_array_foreach(nodes, i, n)
	{
		const char *name = json_string_value(json_object_get(
		    json_object_get(json_object_get(n, "Spec"), "Labels"), SWARM_LABEL_NODE));
		const char *state =
		    json_string_value(json_object_get(json_object_get(n, "Status"), "State"));
		if (name != NULL && strcmp(name, home) == 0 && state != NULL &&
		    strcmp(state, "ready") != 0)
			down = 1;
	}
	json_decref(nodes);
	if (down)
		err_set(err, EHOSTDOWN,
		        "your container's node %s is down; try again when it is back", home);
	return down;
}

/* The service updated with its spec unchanged (a new version): the
 * orchestrator reconciles it. 0 (also when another write came first, which
 * does the same), -1 with err. */
static int nudge(struct engine *e, json_t *svc, struct err *err)
{
	json_t *spec = swarm_spec_copy(svc);
	int rc = swarm_service_update(e, svc, spec, err);
	json_decref(spec);
	return rc < 0 ? -1 : 0;
}

/* TaskTemplate.ForceUpdate + 1, with the version read (a lost race is
 * fine: whoever wrote first changed the service too). */
static int reschedule(struct engine *e, json_t *svc, struct err *err)
{
	json_t *spec = swarm_spec_copy(svc);
	json_t *tt = json_object_get(spec, "TaskTemplate");
	json_int_t n = json_integer_value(json_object_get(tt, "ForceUpdate"));
	json_object_set_new(tt, "ForceUpdate", json_integer(n + 1));
	int rc = swarm_service_update(e, svc, spec, err);
	json_decref(spec);
	return rc < 0 ? -1 : 0;
}

/* Waits for the service's task to run and for the home node's fence on its
 * container; fills *ret. 1 (with err saying why) when the task touched
 * ended or was stopped before it was reached (the home node saves it):
 * start again. before: the task changed last before the touch. */
static int wait_task(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                     const char *before, struct task *ret, struct err *err)
{
	char name[128], filters[256], query[600], path[700], net[128];
	box_container_name(cfg->instance, user, name, sizeof(name));
	swarm_network_name(cfg, net, sizeof(net));
	snprintf(filters, sizeof(filters), "{\"service\":[\"%s\"],\"desired-state\":[\"running\"]}",
	         name);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/tasks?filters=%s", query);
	long long start = mono_ms(), deadline = start + TASK_WAIT_MS,
	          next_node_check = start + 1000;
	long long pending_since = 0;
	int kicked = 0;
	for (;;) {
		int pending = 0;
		json_t *tasks = NULL;
		static const long ok[] = {200, 0};
		if (engine_call(e, "GET", path, NULL, 10, ok, "list the user's tasks", &tasks,
		                err) < 0)
			return -1;
		size_t i;
		json_t *t;
		int running = 0;
		json_array_foreach(tasks, i, t)
		{
			json_t *st = json_object_get(t, "Status");
			const char *state = json_string_value(json_object_get(st, "State"));
			if (state != NULL &&
			    (strcmp(state, "rejected") == 0 || strcmp(state, "failed") == 0)) {
				const char *why = json_string_value(json_object_get(st, "Err"));
				err_set(err, ECHILD, "the container did not start: %s",
				        why ? why : state);
				json_decref(tasks);
				return -1;
			}
			if (state != NULL && strcmp(state, "pending") == 0)
				pending = 1;
			if (state == NULL || strcmp(state, "running") != 0)
				continue;
			const char *cid = json_string_value(
			    json_object_get(json_object_get(st, "ContainerStatus"), "ContainerID"));
			size_t j;
			json_t *a;
			json_array_foreach(json_object_get(t, "NetworksAttachments"), j, a)
			{
				const char *nn = json_string_value(json_object_get(
				    json_object_get(json_object_get(a, "Network"), "Spec"),
				    "Name"));
				const char *addr = json_string_value(
				    json_array_get(json_object_get(a, "Addresses"), 0));
				if (nn != NULL && strcmp(nn, net) == 0 && addr != NULL &&
				    cid != NULL) {
					snprintf(ret->ip, sizeof(ret->ip), "%.*s",
					         (int)strcspn(addr, "/"), addr);
					snprintf(ret->container, sizeof(ret->container), "%s", cid);
					snprintf(ret->id, sizeof(ret->id), "%s",
					         json_string_value(json_object_get(t, "ID")) ?: "");
					running = 1;
				}
			}
		}
		json_decref(tasks);
		if (!running && pending_since == 0 && pending)
			pending_since = mono_ms();
		if (running) {
			/* Isolation first: the home node fences every task it starts. */
			const char *fenced = swarm_label(*svc, SWARM_LABEL_FENCED);
			if (fenced != NULL && strcmp(fenced, ret->container) == 0)
				return 0;
		} else if (mono_ms() >= next_node_check) {
			if (home_down(e, *svc, err))
				return -1;
			next_node_check = mono_ms() + 2000;
			/* RestartPolicy none: a task that ended is not replaced. */
			struct swarm_exit x;
			if (swarm_replicas(json_object_get(*svc, "Spec")) == 0 ||
			    swarm_label(*svc, SWARM_LABEL_SAVING) != NULL) {
				err_set(err, EAGAIN, "your container was stopped as it started");
				return 1;
			}
			if (swarm_exit_read(e, cfg, user, &x, err) < 0)
				return -1;
			/* No task meant to run since the touch: with RestartPolicy
			 * none the orchestrator counts a slot whose only task has
			 * stopped (the previous task, desired "remove" until the
			 * task reaper deletes it) as filled, and reconciles again
			 * only on a service event. An unchanged update makes it
			 * look again; it touches no running task. */
			if (!x.meant && (x.newest[0] == '\0' || strcmp(x.newest, before) == 0) &&
			    nudge(e, *svc, err) < 0)
				return -1;
			if (!x.meant && x.newest[0] != '\0' && strcmp(x.newest, before) != 0) {
				/* Tried once more: a home node's dockerd just back
				 * rejects a task or two before it has rejoined. */
				err_set(err, ECHILD, "the container %s: %s",
				        x.container[0] == '\0' ? "did not start"
				                               : "stopped as it started",
				        x.why[0] ? x.why : x.state);
				return 1;
			}
			/* Swarm 20.10 may leave a task pending ("no suitable node")
			 * after its node came back: a forced update places it anew. */
			if (pending_since != 0 && mono_ms() - pending_since > 3000 && !kicked) {
				kicked = 1;
				if (reschedule(e, *svc, err) < 0)
					return -1;
			}
		}
		if (mono_ms() >= deadline)
			return err_set(err, ETIMEDOUT,
			               running ? "the container's node did not fence it "
			                         "in time"
			                       : "the container did not start in time");
		usleep(100 * 1000);
		if (swarm_service_reread(e, cfg, user, svc, err) < 0)
			return -1;
	}
}

/* After the connect: the service must still be meant to run this task
 * (no stop mark, not stopped), and a second touch must commit that. 0 ok,
 * 1 start again from the touch, -1 error. */
static int confirm(struct engine *e, const struct config *cfg, const char *user, const char *self,
                   const struct user_record *rec, const struct task *t, struct err *err)
{
	for (int i = 0; i < TOUCH_TRIES; i++) {
		json_t *svc = NULL;
		if (swarm_service_need(e, cfg, user, &svc, err) < 0)
			return -1;
		const char *stopping = swarm_label(svc, SWARM_LABEL_STOPPING);
		const char *stopped = swarm_label(svc, SWARM_LABEL_STOPPED);
		json_t *spec = json_object_get(svc, "Spec");
		if (swarm_replicas(spec) == 0 || (stopping && strcmp(stopping, t->id) == 0) ||
		    (stopped && strcmp(stopped, t->id) == 0)) {
			json_decref(svc);
			return 1;
		}
		int rc = touch(e, cfg, svc, self, rec, err);
		json_decref(svc);
		if (rc <= 0)
			return rc;
	}
	return err_set(err, EBUSY, "your container is busy; try again");
}

static int swarm_login(const struct config *cfg, struct user_state *u,
                       const struct user_record *rec, struct cluster_login *ret, struct err *err)
{
	struct engine *e = NULL;
	json_t *svc = NULL;
	char self_id[80], self[64], innercfg[160];
	int reach = -1, rc = -1, ended = 0;
	ret->sshd = -1;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	pthread_mutex_lock(&u->lifecycle);
	state_session_begin(u);
	/* No stop can happen without quorum either: a container still running
	 * where this node last reached it is served at once; else a leader
	 * is waited for. */
	if (swarm_outage_gate(e, 0, err) < 0) {
		if (swarm_leaderless(err->code) && swarm_outage_login(e, cfg, u->name, ret) == 0) {
			rc = 0;
			goto out;
		}
		if (err->code != SWARM_ENOLEADER ||
		    swarm_outage_gate(e, SWARM_LEADER_WAIT_S, err) < 0) {
			if (swarm_leaderless(err->code) || err->code == SWARM_ENOENGINE)
				err->code = CLUSTER_ESAID;
			goto out;
		}
	}
	if (swarm_self(e, self_id, sizeof(self_id), self, sizeof(self), err) < 0 ||
	    (reach = swarm_reach_pidfd(e, cfg, err)) < 0)
		goto out;
	swarm_outage_set_self(self);
	struct task task = {0};
	for (int attempt = 0; attempt < TOUCH_TRIES && ret->sshd < 0; attempt++) {
		json_decref(svc);
		svc = NULL;
		int found = swarm_service_get(e, cfg, u->name, &svc, err);
		if (found <= 0) {
			if (found == 0)
				err_set(err, ENOENT,
				        "your account has no container in the cluster");
			goto out;
		}
		/* A stop's save still under way: never start from the older image. */
		if (swarm_layer_wait(e, cfg, u->name, &svc, home_down, err) < 0 ||
		    swarm_flags_wait(e, cfg, u->name, &svc, err) < 0)
			goto out;
		/* A task that ended on its own: the home node saves it first. */
		struct swarm_exit before;
		int x = swarm_exit_wait(e, cfg, u->name, &svc, home_down, &before, err);
		if (x < 0)
			goto out;
		if (x == 1)
			continue;
		int t = touch(e, cfg, svc, self, rec, err);
		if (t < 0)
			goto out;
		if (t == 1)
			continue; /* another login or a stop wrote first: read again */
		int w = wait_task(e, cfg, u->name, &svc, before.newest, &task, err);
		if (w < 0 || (w == 1 && ++ended > 1))
			goto out; /* twice: it ends as it starts (err says how) */
		if (w == 1)
			continue;
		int s = netns_connect_addr(reach, task.ip, CONTAINER_SSHD_PORT, SSHD_READY_MS, err);
		if (s < 0)
			goto out;
		int c = confirm(e, cfg, u->name, self, rec, &task, err);
		if (c < 0 || c == 1) {
			close(s);
			if (c < 0)
				goto out;
			continue; /* an idle stop claimed this task: start again */
		}
		ret->sshd = s;
		snprintf(ret->id, sizeof(ret->id), "%s", task.container);
	}
	if (ret->sshd < 0) {
		err_set(err, EBUSY, "your container is busy; try again");
		goto out;
	}
	const char *hostkey = swarm_label(svc, SWARM_LABEL_HOSTKEY);
	snprintf(innercfg, sizeof(innercfg), "%s-innerkey-%s", cfg->instance, u->name);
	if (hostkey == NULL ||
	    swarm_config_data(e, innercfg, ret->key, sizeof(ret->key), err) < 0) {
		if (hostkey == NULL)
			err_set(err, ENOENT, "no pinned host key in the service");
		err->code = CLUSTER_EBROKEN;
		goto out;
	}
	snprintf(ret->hostkey, sizeof(ret->hostkey), "%s", hostkey);
	swarm_outage_remember(u->name, rec, ret, task.ip, task.id);
	rc = 0;
out:
	/* Quorum lost while this login ran: its calls time out; the line says
	 * why rather than "timed out". */
	if (rc < 0 && err->code == ETIMEDOUT) {
		struct err again = {0};
		if (swarm_outage_gate(e, 0, &again) < 0 &&
		    (swarm_leaderless(again.code) || again.code == SWARM_ENOENGINE)) {
			*err = again;
			err->code = CLUSTER_ESAID;
		}
	}
	if (rc < 0 && ret->sshd >= 0) {
		close(ret->sshd);
		ret->sshd = -1;
	}
	if (rc < 0)
		state_session_end(u);
	pthread_mutex_unlock(&u->lifecycle);
	if (reach >= 0)
		close(reach);
	json_decref(svc);
	engine_close(e);
	return rc;
}

const struct cluster_ops cluster_swarm_ops = {
    .name = "swarm",
    .record_load = record_from_swarm,
    .login = swarm_login,
    .verb = swarm_verb_run,
    .stop_now = swarm_flags_stopnow,
    .start = swarm_home_start,
};
