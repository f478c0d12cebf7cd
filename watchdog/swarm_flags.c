#include "swarm_flags.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"
#include "clock.h"
#include "flags.h"
#include "log.h"
#include "names.h"
#include "record.h"
#include "swarm.h"
#include "swarm_home.h"
#include "swarm_sshd.h"

#define SELF_REFRESH_MS 30000
#define ERR_LOG_MS      30000
#define FLAGS_WAIT_MS   5000
#define STOPNOW_MAX     64
#define STOPNOW_TTL_MS  30000
#define PREPARED_MAX    1024

/* This node's sshbox.node name, re-read now and then (home thread only). */
static char self_node[64];
static long long self_read_at;
static long long next_err_log;

static int self_known(struct engine *e)
{
	long long now = mono_ms();
	if (self_node[0] != '\0' && now - self_read_at < SELF_REFRESH_MS)
		return 1;
	char id[80], node[64];
	struct err err = {0};
	if (swarm_self(e, id, sizeof(id), node, sizeof(node), &err) == 0) {
		snprintf(self_node, sizeof(self_node), "%s", node);
		self_read_at = now;
	}
	return self_node[0] != '\0';
}

/* One line per 30 s at most: a failing flag dir is retried every round. */
static void log_err_limited(const char *user, const char *what, const char *why)
{
	long long now = mono_ms();
	if (now < next_err_log)
		return;
	next_err_log = now + ERR_LOG_MS;
	log_err("user \"%s\": %s: %s; retrying", user, what, why);
}

/* A node's own state dir holds no user in swarm mode: the user's directory
 * is made here, as createuser makes it (0700), before the fence and flag
 * dirs in it (the task binds both). */
static int prepare_user(const struct config *cfg, const char *user, struct err *err)
{
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/users", cfg->state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	if (user_path(cfg, user, NULL, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	if (swarm_sshd_fence_dir(cfg, user, err) < 0)
		return -1;
	return flags_prepare(cfg, user, err);
}

/* Users whose flag dir this node prepared (home thread only): one whose
 * service is no longer placed here (cleanuser) gets its tmpfs unmounted. */
static struct {
	char user[USER_NAME_MAX + 1];
	int seen;
} prepared[PREPARED_MAX];

static void note_prepared(const char *user)
{
	int slot = -1;
	for (int i = 0; i < PREPARED_MAX; i++) {
		if (strcmp(prepared[i].user, user) == 0) {
			prepared[i].seen = 1;
			return;
		}
		if (prepared[i].user[0] == '\0' && slot < 0)
			slot = i;
	}
	if (slot >= 0) {
		snprintf(prepared[slot].user, sizeof(prepared[slot].user), "%s", user);
		prepared[slot].seen = 1;
	}
}

static void release_gone(const struct config *cfg)
{
	char dir[600];
	for (int i = 0; i < PREPARED_MAX; i++) {
		if (prepared[i].user[0] == '\0' || prepared[i].seen)
			continue;
		struct user_state *u = state_user(prepared[i].user);
		if (u != NULL) {
			state_lock();
			u->flags_watch = -1;
			state_unlock();
		}
		if (user_path(cfg, prepared[i].user, "flags", dir, sizeof(dir)) == 0 &&
		    umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			log_info("user \"%s\": no service here any more; flag dir unmounted",
			         prepared[i].user);
		prepared[i].user[0] = '\0';
	}
}

void swarm_flags_home_round(struct engine *e, const struct config *cfg)
{
	if (!self_known(e))
		return;
	char filters[400], query[1000], path[1100], want[CONFIG_STR_MAX + 80];
	snprintf(filters, sizeof(filters), "{\"label\":[\"%s=%s\",\"%s=%s\"]}",
	         SWARM_LABEL_INSTANCE, cfg->instance, SWARM_LABEL_NODE, self_node);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/services?filters=%s", query);
	snprintf(want, sizeof(want), "%s:%s", self_node, cfg->state_dir);
	json_t *list = NULL;
	struct err err = {0};
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, 10, ok, "list this node's services", &list, &err) < 0)
		return;
	size_t i;
	json_t *s;
	for (int k = 0; k < PREPARED_MAX; k++)
		prepared[k].seen = 0;
	json_array_foreach(list, i, s)
	{
		const char *user = swarm_label(s, SWARM_LABEL_USER);
		const char *have = swarm_label(s, SWARM_LABEL_FLAGS);
		if (user == NULL || !user_name_valid(user))
			continue;
		note_prepared(user);
		struct user_state *u = state_user(user);
		if (u == NULL)
			continue;
		state_lock();
		int watched = u->flags_watch >= 0;
		state_unlock();
		int published = have != NULL && strcmp(have, want) == 0;
		if (watched && published)
			continue;
		if (prepare_user(cfg, user, &err) < 0) {
			log_err_limited(user, "cannot prepare the flag dir", err.msg);
			continue;
		}
		flags_watch(cfg, user);
		if (published)
			continue;
		if (swarm_home_set_label(e, cfg, user, SWARM_LABEL_FLAGS, want, NULL, &err) < 0)
			log_err_limited(user, "cannot publish the flag dir", err.msg);
		else
			log_info("user \"%s\": flag dir ready on this node for the swarm task",
			         user);
	}
	json_decref(list);
	release_gone(cfg);
}

/* 1 when the container's /run/sshbox is the flag file system this node
 * watches, or when it has no flag mount (a spec of before flags). */
static int flags_bound(pid_t pid)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 1; /* gone or unreadable: nothing to judge */
	int bound = 1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char mp[256], fstype[64], source[128];
		const char *sep = strstr(line, " - ");
		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1 ||
		    strcmp(mp, FLAGS_MOUNT) != 0 ||
		    sscanf(sep + 3, "%63s %127s", fstype, source) != 2)
			continue;
		/* The last mount there is the one the container sees. */
		bound = strcmp(fstype, "tmpfs") == 0 && strcmp(source, FLAGS_FS_SOURCE) == 0;
	}
	fclose(f);
	return bound;
}

/* Queued stopnow requests, with the time each was made (the polling thread
 * ignores one older than the task it finds); one not taken within
 * STOPNOW_TTL_MS (no task of that user runs here) expires. */
int swarm_flags_stale(struct engine *e, const char *user, const char *container, pid_t pid)
{
	if (flags_bound(pid))
		return 0;
	log_warn("user \"%s\": task container %.12s has a stale flag dir; stopping it (saved; "
	         "the next login starts it anew)",
	         user, container);
	struct err err = {0};
	if (box_stop(e, container, 0, &err) < 0)
		log_err("user \"%s\": cannot stop task container %.12s: %s", user, container,
		        err.msg);
	return 1;
}

static pthread_mutex_t stopnow_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char user[USER_NAME_MAX + 1];
	long long at;
} stopnow_queue[STOPNOW_MAX];

static void stopnow_expire(long long now)
{
	for (int i = 0; i < STOPNOW_MAX; i++)
		if (stopnow_queue[i].user[0] != '\0' && now - stopnow_queue[i].at > STOPNOW_TTL_MS)
			stopnow_queue[i].user[0] = '\0';
}

void swarm_flags_stopnow(struct user_state *u)
{
	long long now = mono_ms();
	int slot = -1;
	pthread_mutex_lock(&stopnow_lock);
	stopnow_expire(now);
	for (int i = 0; i < STOPNOW_MAX; i++) {
		if (strcmp(stopnow_queue[i].user, u->name) == 0) {
			slot = i; /* already queued: renewed */
			break;
		}
		if (stopnow_queue[i].user[0] == '\0' && slot == -1)
			slot = i;
	}
	if (slot >= 0) {
		snprintf(stopnow_queue[slot].user, sizeof(stopnow_queue[0].user), "%s", u->name);
		stopnow_queue[slot].at = now;
	}
	pthread_mutex_unlock(&stopnow_lock);
	if (slot < 0)
		log_warn("user \"%s\": too many stopnow requests at once; ignored", u->name);
}

long long swarm_flags_stopnow_take(const char *user)
{
	long long at = 0;
	pthread_mutex_lock(&stopnow_lock);
	stopnow_expire(mono_ms());
	for (int i = 0; i < STOPNOW_MAX && at == 0; i++)
		if (strcmp(stopnow_queue[i].user, user) == 0) {
			stopnow_queue[i].user[0] = '\0';
			at = stopnow_queue[i].at;
		}
	pthread_mutex_unlock(&stopnow_lock);
	return at;
}

/* The home node's state dir from sshbox.flags when it names the service's
 * home node (an absolute path a bind spec can carry), else NULL. */
const char *swarm_flags_home_dir(json_t *svc)
{
	const char *home = swarm_label(svc, SWARM_LABEL_NODE);
	const char *flags = swarm_label(svc, SWARM_LABEL_FLAGS);
	size_t n = home ? strlen(home) : 0;
	if (home == NULL || flags == NULL || strncmp(flags, home, n) != 0 || flags[n] != ':')
		return NULL;
	const char *dir = flags + n + 1;
	if (dir[0] != '/' || strchr(dir, ':') != NULL || strlen(dir) >= CONFIG_STR_MAX)
		return NULL;
	return dir;
}

int swarm_flags_wait(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                     struct err *err)
{
	if (swarm_replicas(json_object_get(*svc, "Spec")) != 0)
		return 0; /* running: its spec is not rewritten now */
	long long deadline = mono_ms() + FLAGS_WAIT_MS;
	while (swarm_flags_home_dir(*svc) == NULL) {
		if (mono_ms() >= deadline) {
			/* An older sshbox on the home node publishes nothing: the
			 * container starts without flags rather than not at all. */
			log_warn("user \"%s\": home node %s published no flag dir within %d s; "
			         "starting without daemon/nodaemon/stopnow",
			         user, swarm_label(*svc, SWARM_LABEL_NODE) ?: "?",
			         FLAGS_WAIT_MS / 1000);
			return 0;
		}
		usleep(100 * 1000);
		if (swarm_service_reread(e, cfg, user, svc, err) < 0)
			return -1;
	}
	return 0;
}

void swarm_flags_spec_id(json_t *svc, char *buf, size_t size)
{
	const char *dir = swarm_flags_home_dir(svc);
	snprintf(buf, size, "%d.%d%s%s%s%s", BOX_SPEC_VERSION, SWARM_SPEC_REV, dir ? " " : "",
	         dir ? swarm_label(svc, SWARM_LABEL_NODE) : "", dir ? ":" : "", dir ? dir : "");
}

/* 1 when target is one of binds' targets ("SOURCE:TARGET:MODE"). */
static int is_flag_target(const char *target, char binds[][600], int n)
{
	size_t len = strlen(target);
	for (int k = 0; k < n; k++) {
		const char *t = strchr(binds[k], ':');
		if (t != NULL && strncmp(t + 1, target, len) == 0 && t[1 + len] == ':')
			return 1;
	}
	return 0;
}

int swarm_flags_mounts(const struct config *cfg, json_t *svc, json_t *spec, struct err *err)
{
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	const char *dir = swarm_flags_home_dir(svc);
	const char *user = swarm_label(svc, SWARM_LABEL_USER);
	struct config home = *cfg;
	char binds[8][600];
	if (dir != NULL)
		snprintf(home.state_dir, sizeof(home.state_dir), "%s", dir);
	int n = user != NULL ? flags_binds(&home, user, binds, 8) : -1;
	if (n < 0)
		return err_set(err, ENAMETOOLONG, "flag dir path too long");
	/* Earlier flag binds go (the home node's state dir may have moved);
	 * the other mounts (home volume, sshd bundle) stay. */
	json_t *mounts = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(cs, "Mounts"), i, m)
	{
		const char *target = json_string_value(json_object_get(m, "Target"));
		if (target == NULL || !is_flag_target(target, binds, n))
			json_array_append(mounts, m);
	}
	for (int k = 0; dir != NULL && k < n; k++) { /* SOURCE:TARGET:MODE, no ':' in paths */
		char *target = strchr(binds[k], ':');
		char *mode = target ? strchr(target + 1, ':') : NULL;
		if (mode == NULL)
			continue;
		*target++ = '\0';
		*mode++ = '\0';
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind",
		                                        "Source", binds[k], "Target", target,
		                                        "ReadOnly", strcmp(mode, "ro") == 0));
	}
	json_object_set_new(cs, "Mounts", mounts);
	return 0;
}
