#include "swarm_save.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxfiles.h"
#include "bundle.h"
#include "clock.h"
#include "log.h"
#include "names.h"
#include "session.h"
#include "swarm_commit.h"
#include "swarm_flatten.h"
#include "swarm.h"
#include "thread.h"

#define SAVES_MAX      16  /* saves under way at once on this node */
#define SAVE_TIMEOUT_S 900 /* a commit, as the commit verb's */
#define EXIT_TIMEOUT_S 60  /* the task's stop, after the stop's write */
#define DEPTH_WARN     100 /* overlay2 refuses images past ~125 layers */
#define SAVE_TRIES     3   /* a failed save is tried again, then kept */
#define RETRY_S        5
#define UNSAVED_MAX    4 /* kept containers named in sshbox.unsaved */
#define KEPT_ID        12

/* Containers being saved on this node: a save is never started twice. */
static pthread_mutex_t saves_lock = PTHREAD_MUTEX_INITIALIZER;
static char saves[SAVES_MAX][80];

struct save_job {
	char user[USER_NAME_MAX + 1], container[80];
};

/* The first path in changes (GET /containers/ID/changes) a user changed,
 * NULL when none: what sshd and the engine write at every start (/run, the
 * login records, the mount points of the key files, of the bundled sshd,
 * of docker-init and of the flag commands) does not count, nor a directory
 * marked changed only because something below it changed. */
static const char *diff_content(json_t *changes)
{
	static const char *const noise[] = {"/run",     "/var/run",   "/etc/sshbox",
	                                    "/.sshbox", BUNDLE_MOUNT, NULL};
	/* docker-init: the mount point of Init's binary (Init: true); the
	 * three in-container commands: their bind mount points (flags.h). */
	static const char *const noise_files[] = {
	    "/var/log/wtmp",          "/var/log/btmp",
	    "/var/log/lastlog",       "/usr/sbin/docker-init",
	    "/usr/local/bin/daemon",  "/usr/local/bin/nodaemon",
	    "/usr/local/bin/stopnow", NULL};
	size_t i, j;
	json_t *c, *d;
	json_array_foreach(changes, i, c)
	{
		const char *path = json_string_value(json_object_get(c, "Path"));
		json_int_t kind = json_integer_value(json_object_get(c, "Kind"));
		int skip = path == NULL;
		for (const char *const *n = noise; !skip && *n != NULL; n++) {
			size_t len = strlen(*n);
			skip =
			    strncmp(path, *n, len) == 0 && (path[len] == '\0' || path[len] == '/');
		}
		for (const char *const *n = noise_files; !skip && *n != NULL; n++)
			skip = strcmp(path, *n) == 0;
		/* Kind 0 (modified) on an ancestor of another entry. */
		size_t len = skip ? 0 : strlen(path);
		json_array_foreach(changes, j, d)
		{
			const char *other = json_string_value(json_object_get(d, "Path"));
			if (skip || kind != 0 || other == NULL)
				break;
			skip = strncmp(other, path, len) == 0 &&
			       (other[len] == '/' || (len == 1 && other[1] != '\0'));
		}
		if (!skip)
			return path;
	}
	return NULL;
}

/* Commits the exited container as the user's layer image (or flattens it
 * into one): 1 and its id (and in ret_why a path that changed; in
 * ret_old, after a flatten, the older image, to remove once the container
 * is gone), 0 when there was nothing to save, -1 with err. */
static int commit_layer(struct engine *e, const struct config *cfg, const struct save_job *job,
                        char *ret_id, size_t size, char *ret_why, size_t why_size, char *ret_old,
                        size_t old_size, struct err *err)
{
	char path[400], image[160], *data = NULL;
	size_t len = 0;
	long status = 0;
	json_t *answer = NULL, *old = NULL;
	static const long created[] = {201, 0};
	/* An empty diff is the JSON "null", which the engine client refuses. */
	snprintf(path, sizeof(path), "/containers/%s/changes", job->container);
	json_t *changes = NULL;
	if (engine_request_raw(e, "GET", path, NULL, 60, &status, &data, &len, err) < 0) {
		/* A diff too long to read (a big install) certainly holds a
		 * change of the user's: saved without looking further. */
		if (err->code != EMSGSIZE)
			return -1;
		status = 200;
		changes = json_pack("[{s:s,s:i}]", "Path", "(a diff too large to read)", "Kind", 1);
	} else {
		changes = data != NULL ? json_loadb(data, len, JSON_DECODE_ANY, NULL) : NULL;
	}
	free(data);
	/* Unreadable is an error, never "nothing to save". */
	if (status != 200 || changes == NULL ||
	    (!json_is_array(changes) && !json_is_null(changes))) {
		json_decref(changes);
		return err_set(err, EPROTO, "the engine answered %ld to GET %s (%s)", status, path,
		               changes == NULL ? "not JSON" : "not a list of changes");
	}
	const char *why = diff_content(changes);
	snprintf(ret_why, why_size, "%s", why ? why : "");
	json_decref(changes);
	if (why == NULL)
		return 0;
	box_layer_image_name(cfg->instance, job->user, image, sizeof(image));
	char old_id[80] = "";
	if (engine_inspect(e, "images", image, &old, err) > 0)
		snprintf(old_id, sizeof(old_id), "%s",
		         json_string_value(json_object_get(old, "Id")) ?: "");
	json_decref(old);
	ret_old[0] = '\0';
	if (swarm_flatten_save(e, cfg, job->user, job->container, image, SAVE_TIMEOUT_S, ret_id,
	                       size)) {
		snprintf(ret_old, old_size, "%s", old_id);
		return 1;
	}
	snprintf(path, sizeof(path), "/commit?container=%s&repo=%.*s&tag=%s&pause=false",
	         job->container, (int)strcspn(image, ":"), image, job->user);
	if (engine_call(e, "POST", path, NULL, SAVE_TIMEOUT_S, created, "commit", &answer, err) < 0)
		return -1;
	snprintf(ret_id, size, "%s", json_string_value(json_object_get(answer, "Id")) ?: "?");
	json_decref(answer);
	/* Best effort: the older layer usually stays as the new one's parent. */
	if (old_id[0] != '\0' && strcmp(old_id, ret_id) != 0) {
		struct err ignored = {0};
		static const long gone[] = {200, 0};
		snprintf(path, sizeof(path), "/images/%s", old_id);
		engine_call(e, "DELETE", path, NULL, 60, gone, "remove old image", NULL, &ignored);
	}
	json_t *img = NULL;
	if (engine_inspect(e, "images", ret_id, &img, err) > 0) {
		size_t depth =
		    json_array_size(json_object_get(json_object_get(img, "RootFS"), "Layers"));
		if (depth > DEPTH_WARN)
			log_warn("user \"%s\": saved image %s has %zu layers; past ~125 it cannot "
			         "start: run 'sshbox cleanuser' or rebuild it",
			         job->user, image, depth);
	}
	json_decref(img);
	return 1;
}

int swarm_save_kept(const char *unsaved, const char *container)
{
	size_t len = strlen(container) < KEPT_ID ? strlen(container) : KEPT_ID;
	for (const char *p = unsaved; p != NULL && *p != '\0'; p += strcspn(p, " "), p += *p == ' ')
		if (len > 0 && strncmp(p, container, len) == 0 && strcspn(p, " ") == len)
			return 1;
	return 0;
}

/* The sshbox.unsaved list after a save: entries naming a container no
 * longer here (the admin recovered it) dropped, failed (when set) first. */
static void unsaved_list(struct engine *e, const char *now, const char *failed, char *buf,
                         size_t size)
{
	int n = 0;
	snprintf(buf, size, "%.*s", failed ? KEPT_ID : 0, failed ? failed : "");
	n += failed != NULL;
	for (const char *p = now; p != NULL && *p != '\0' && n < UNSAVED_MAX;
	     p += strcspn(p, " "), p += *p == ' ') {
		char id[KEPT_ID + 1];
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(p, " "), p);
		json_t *c = NULL;
		struct err ignored = {0};
		int there = engine_inspect(e, "containers", id, &c, &ignored);
		json_decref(c);
		if (there == 0 || (failed != NULL && strncmp(id, failed, KEPT_ID) == 0))
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s%s", used ? " " : "", id);
		n++;
	}
}

/* The save is done (saved, empty, or failed): clears the mark if it still
 * names this container, with the new layer (id, or NULL) and, at 0
 * replicas, the service's image; a failed one joins sshbox.unsaved. 0, or
 * -1 with err. */
static int clear_mark(struct engine *e, const struct config *cfg, const struct save_job *job,
                      const char *image_id, int failed, struct err *err)
{
	for (int i = 0; i < 8; i++) {
		json_t *svc = NULL;
		int found = swarm_service_get(e, cfg, job->user, &svc, err);
		if (found <= 0)
			return found;
		const char *mark = swarm_label(svc, SWARM_LABEL_SAVING);
		if (mark == NULL || strcmp(mark, job->container) != 0) {
			json_decref(svc); /* a remove forgot it meanwhile */
			return 0;
		}
		json_t *spec = swarm_spec_copy(svc);
		swarm_set_label(spec, SWARM_LABEL_SAVING, NULL);
		char kept[UNSAVED_MAX * (KEPT_ID + 1) + 1];
		unsaved_list(e, swarm_label(svc, SWARM_LABEL_UNSAVED),
		             failed ? job->container : NULL, kept, sizeof(kept));
		swarm_set_label(spec, SWARM_LABEL_UNSAVED, kept[0] ? kept : NULL);
		if (image_id != NULL) {
			char image[160];
			swarm_set_label(spec, SWARM_LABEL_LAYER, image_id);
			box_layer_image_name(cfg->instance, job->user, image, sizeof(image));
			if (swarm_replicas(spec) == 0)
				json_object_set_new(
				    json_object_get(json_object_get(spec, "TaskTemplate"),
				                    "ContainerSpec"),
				    "Image", json_string(image));
		}
		int rc = swarm_service_update(e, svc, spec, err);
		json_decref(spec);
		json_decref(svc);
		if (rc != 1)
			return rc;
	}
	return err_set(err, EBUSY, "the service kept changing");
}

void swarm_save_remove(struct engine *e, const char *id)
{
	char path[160];
	struct err ignored = {0};
	static const long ok[] = {204, 404, 0};
	snprintf(path, sizeof(path), "/containers/%s?force=1", id);
	engine_call(e, "DELETE", path, NULL, 60, ok, "remove container", NULL, &ignored);
}

/* 1 when container is a task container of this instance's user here, 0
 * when there is no such container, -1 with err when it is someone else's: a
 * mark never makes one user's container another's image. */
static int owned(struct engine *e, const struct config *cfg, const struct save_job *job,
                 struct err *err)
{
	json_t *c = NULL;
	int found = engine_inspect(e, "containers", job->container, &c, err);
	json_t *labels = json_object_get(json_object_get(c, "Config"), "Labels");
	const char *user = json_string_value(json_object_get(labels, SWARM_CLABEL_USER));
	const char *inst = json_string_value(json_object_get(labels, SWARM_CLABEL_INSTANCE));
	int mine = user != NULL && inst != NULL && strcmp(user, job->user) == 0 &&
	           strcmp(inst, cfg->instance) == 0;
	json_decref(c);
	if (found <= 0)
		return found;
	return mine ? 1 : err_set(err, EPERM, "it is not a task container of \"%s\"", job->user);
}

/* Swarm deletes a stopped task of a service at 0 replicas within seconds,
 * and its agent then removes the container by the task's name: a save
 * that failed once renames it, so that it stays for the retries (and for
 * the admin) until this node removes it. Not at every save: the agent then
 * cannot undo the task's service binding by name, which delayed the next
 * task's start on the bed; never while it runs: renaming a running task
 * container breaks its overlay endpoint. */
static void keep_from_swarm(struct engine *e, const struct config *cfg, const struct save_job *job)
{
	char path[400];
	struct err err = {0};
	json_t *c = NULL;
	static const long renamed[] = {204, 400, 409, 0};
	int found = engine_inspect(e, "containers", job->container, &c, &err);
	int running = json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
	json_decref(c);
	if (found <= 0 || running)
		return;
	snprintf(path, sizeof(path), "/containers/%s/rename?name=%s-saving-%.12s", job->container,
	         cfg->instance, job->container);
	if (engine_call(e, "POST", path, NULL, 30, renamed, "rename container", NULL, &err) < 0)
		log_warn("user \"%s\": cannot keep task container %.12s from swarm's removal: %s",
		         job->user, job->container, err.msg);
}

/* A layer no task could start from (a symlink where sshbox mounts: the
 * engine would follow it) is not saved: the container is kept as after a
 * failed save, and the next start is from the older image. */
static int links(struct engine *e, const struct config *cfg, const struct save_job *job,
                 struct err *err)
{
	char image[160];
	box_layer_image_name(cfg->instance, job->user, image, sizeof(image));
	return boxfiles_check_links(e, job->container, image, err);
}

static void save(struct engine *e, const struct config *cfg, const struct save_job *job)
{
	struct err err = {0};
	char path[400], id[80] = "", why[128] = "", old[80] = "";
	static const long ok[] = {200, 0};
	long long began = mono_ms();
	int own = owned(e, cfg, job, &err);
	if (own <= 0) {
		if (own < 0)
			log_err("user \"%s\": not saving container %.12s: %s", job->user,
			        job->container, err.msg);
		else /* a stop --force written before the fence named an older one */
			log_info("user \"%s\": no task container %.12s here to save", job->user,
			         job->container);
		if (clear_mark(e, cfg, job, NULL, 0, &err) < 0)
			log_err("user \"%s\": cannot clear the save mark of %.12s: %s", job->user,
			        job->container, err.msg);
		return;
	}
	/* A stop --force during the user's commit: the commit reads this
	 * container's layer until it ends, so it is neither saved nor removed
	 * before (swarm's own stop of it does not end the commit). */
	if (swarm_commit_wait(job->container, SAVE_TIMEOUT_S) < 0)
		log_warn("user \"%s\": a commit of task container %.12s still runs after %d s; "
		         "saving it anyway",
		         job->user, job->container, SAVE_TIMEOUT_S);
	/* The stop was written (a mark is only ever set with 0 replicas), but
	 * swarm's agent takes ~3 s to stop the task: stopping it here shortens
	 * the wait of a login racing the save. */
	static const long stop_ok[] = {204, 304, 404, 0};
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", job->container,
	         cfg->stop_timeout_seconds);
	if (engine_call(e, "POST", path, NULL, (long)cfg->stop_timeout_seconds + 30, stop_ok,
	                "stop container", NULL, &err) < 0)
		log_warn("user \"%s\": cannot stop task container %.12s: %s; waiting for swarm",
		         job->user, job->container, err.msg);
	/* A failed save keeps the mark (a login waits) and is tried again; the
	 * last failure keeps the container for the admin. */
	int saved = -1, tried = 0;
	long long exited = 0;
	for (int attempt = 1; saved < 0 && attempt <= SAVE_TRIES; attempt++) {
		tried = attempt;
		if (attempt > 1)
			sleep(RETRY_S);
		snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running",
		         job->container);
		saved = engine_call(e, "POST", path, NULL, EXIT_TIMEOUT_S, ok, "wait for the stop",
		                    NULL, &err);
		exited = mono_ms();
		if (saved == 0 && links(e, cfg, job, &err) < 0) {
			saved = -1;
			if (err.code == ELOOP)
				attempt = SAVE_TRIES; /* tried again it would not change */
		}
		if (saved == 0)
			saved = commit_layer(e, cfg, job, id, sizeof(id), why, sizeof(why), old,
			                     sizeof(old), &err);
		if (saved < 0 && attempt == 1)
			keep_from_swarm(e, cfg, job);
		if (saved < 0 && attempt < SAVE_TRIES)
			log_err("user \"%s\": cannot save task container %.12s: %s; retrying in %d "
			        "s (attempt %d of %d)",
			        job->user, job->container, err.msg, RETRY_S, attempt, SAVE_TRIES);
	}
	if (saved < 0)
		log_err("user \"%s\": cannot save task container %.12s after %d attempt%s: %s; "
		        "the container is kept on this node ('docker commit' recovers what was "
		        "changed in it); its next start is from the older image",
		        job->user, job->container, tried, tried == 1 ? "" : "s", err.msg);
	struct err cerr = {0};
	if (clear_mark(e, cfg, job, saved == 1 ? id : NULL, saved < 0, &cerr) < 0) {
		log_err("user \"%s\": cannot clear the save mark of %.12s: %s; retrying", job->user,
		        job->container, cerr.msg);
		return; /* the container stays named by the mark: the scan retries */
	}
	if (saved == 1)
		log_info("user \"%s\": task container %.12s saved as %.19s (\"%s\" changed; "
		         "exited after %lld ms, saved %lld ms later)",
		         job->user, job->container, id, why, exited - began, mono_ms() - exited);
	else if (saved == 0)
		log_info("user \"%s\": task container %.12s had nothing to save (exited after %lld "
		         "ms)",
		         job->user, job->container, exited - began);
	if (saved >= 0)
		swarm_save_remove(e, job->container);
	if (saved == 1 && old[0] != '\0' && strcmp(old, id) != 0)
		swarm_flatten_forget(e, job->user, old);
}

static void saves_release(const char *container)
{
	pthread_mutex_lock(&saves_lock);
	for (int i = 0; i < SAVES_MAX; i++)
		if (strcmp(saves[i], container) == 0)
			saves[i][0] = '\0';
	pthread_mutex_unlock(&saves_lock);
}

static void *save_thread(void *arg)
{
	struct save_job *job = arg;
	struct config cfg;
	struct engine *e = NULL;
	struct err err = {0};
	state_config_get(&cfg);
	if (engine_open(&cfg, &e, &err) < 0)
		log_err("user \"%s\": cannot save task container %.12s: %s", job->user,
		        job->container, err.msg);
	else
		save(e, &cfg, job);
	engine_close(e);
	saves_release(job->container);
	free(job);
	return NULL;
}

/* 1 when container is being saved here; with claim, claims a slot for it
 * (0 claimed, -1 no slot: the next scan tries again). */
static int saves_claim(const char *container, int claim)
{
	int rc = claim ? -1 : 0, free_slot = -1;
	pthread_mutex_lock(&saves_lock);
	for (int i = 0; i < SAVES_MAX; i++) {
		if (strcmp(saves[i], container) == 0) {
			rc = 1;
			free_slot = -1;
			break;
		}
		if (saves[i][0] == '\0' && free_slot < 0)
			free_slot = i;
	}
	if (claim && rc != 1 && free_slot >= 0) {
		snprintf(saves[free_slot], sizeof(saves[free_slot]), "%s", container);
		rc = 0;
	}
	pthread_mutex_unlock(&saves_lock);
	return rc;
}

void swarm_save_later(const char *user, const char *container)
{
	if (saves_claim(container, 1) != 0)
		return;
	struct save_job *job = calloc(1, sizeof(*job));
	if (job != NULL) {
		snprintf(job->user, sizeof(job->user), "%s", user);
		snprintf(job->container, sizeof(job->container), "%s", container);
	}
	if (job == NULL || thread_spawn(save_thread, job) != 0) {
		log_err("user \"%s\": cannot start saving task container %.12s; retrying", user,
		        container);
		free(job);
		saves_release(container);
	}
}

int swarm_save_busy(const char *container)
{
	return saves_claim(container, 0) == 1;
}
