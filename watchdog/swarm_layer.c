#include "swarm_layer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "names.h"
#include "swarm.h"
#include "swarm_commit.h"
#include "swarm_exit.h"
#include "swarm_save.h"

#define LOGIN_WAIT_MS 90000 /* below the shim's 120 s for a login's answer */

void swarm_layer_mark(json_t *spec, const char *container)
{
	swarm_set_label(spec, SWARM_LABEL_SAVING, container);
}

void swarm_layer_forget(json_t *spec)
{
	swarm_set_label(spec, SWARM_LABEL_SAVING, NULL);
	swarm_set_label(spec, SWARM_LABEL_LAYER, NULL);
}

void swarm_layer_image(const struct config *cfg, json_t *svc, const struct user_record *rec,
                       char *buf, size_t size)
{
	const char *user = swarm_label(svc, SWARM_LABEL_USER);
	if (user != NULL && swarm_label(svc, SWARM_LABEL_LAYER) != NULL)
		box_layer_image_name(cfg->instance, user, buf, size);
	else if (user != NULL && swarm_label(svc, SWARM_LABEL_IMAGE) != NULL)
		box_image_name(cfg->instance, user, buf, size);
	else
		snprintf(buf, size, "%s", rec->image);
}

/* An exited container is removed only once it stayed unmarked for a while:
 * a manager that is a raft follower may answer a read slightly stale, and
 * a stop --force written elsewhere marks it only just before its exit. */
#define UNMARKED_MS 5000
#define SEEN_MAX    64
static struct {
	char id[80];
	long long since;
} seen[SEEN_MAX];

static int unmarked_long_enough(const char *id)
{
	int slot = 0;
	for (int i = 0; i < SEEN_MAX; i++) {
		if (strcmp(seen[i].id, id) == 0)
			return mono_ms() - seen[i].since >= UNMARKED_MS;
		if (seen[i].since < seen[slot].since)
			slot = i; /* the oldest entry makes room */
	}
	snprintf(seen[slot].id, sizeof(seen[slot].id), "%s", id);
	seen[slot].since = mono_ms();
	return 0;
}

/* Services placed here with a save mark: the container it names is saved
 * (a stop written on another node, a watchdog restart); a mark naming no
 * container of this node (a stop --force before the fence) is cleared. */
static void scan_marks(struct engine *e, const struct config *cfg)
{
	static char self[64];
	char self_id[80], filters[256], query[600], path[700];
	struct err err = {0};
	if (self[0] == '\0' &&
	    swarm_self(e, self_id, sizeof(self_id), self, sizeof(self), &err) < 0)
		return;
	snprintf(filters, sizeof(filters), "{\"label\":[\"%s=%s\",\"%s\",\"%s=%s\"]}",
	         SWARM_LABEL_INSTANCE, cfg->instance, SWARM_LABEL_SAVING, SWARM_LABEL_NODE, self);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/services?filters=%s", query);
	json_t *list = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, 10, ok, "list services being saved", &list, &err) < 0)
		return;
	size_t i;
	json_t *svc;
	json_array_foreach(list, i, svc)
	{
		const char *user = swarm_label(svc, SWARM_LABEL_USER);
		const char *mark = swarm_label(svc, SWARM_LABEL_SAVING);
		if (user != NULL && mark != NULL && user_name_valid(user))
			swarm_save_later(user, mark); /* it clears a mark naming none */
	}
	json_decref(list);
}

void swarm_layer_scan(struct engine *e, const struct config *cfg)
{
	char filters[256], query[600], path[700];
	scan_marks(e, cfg);
	snprintf(filters, sizeof(filters), "{\"label\":[\"%s=%s\"],\"status\":[\"exited\"]}",
	         SWARM_CLABEL_INSTANCE, cfg->instance);
	engine_urlencode(filters, query, sizeof(query));
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", query);
	json_t *list = NULL;
	struct err err = {0};
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, 10, ok, "list exited task containers", &list, &err) <
	    0)
		return;
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *user = json_string_value(
		    json_object_get(json_object_get(c, "Labels"), SWARM_CLABEL_USER));
		if (id == NULL || user == NULL || !user_name_valid(user) || swarm_save_busy(id) ||
		    swarm_commit_busy(id))
			continue;
		json_t *svc = NULL;
		int found = swarm_service_get(e, cfg, user, &svc, &err);
		const char *mark = found > 0 ? swarm_label(svc, SWARM_LABEL_SAVING) : NULL;
		const char *unsaved = found > 0 ? swarm_label(svc, SWARM_LABEL_UNSAVED) : NULL;
		if (mark != NULL && strcmp(mark, id) == 0) {
			swarm_save_later(user, id);
		} else {
			/* Kept: its save failed (for the admin), or it ended on
			 * its own and is being turned into a stop and saved. */
			int keep = (unsaved != NULL && swarm_save_kept(unsaved, id)) ||
			           (found > 0 &&
			            swarm_exit_convert(e, cfg, id, json_object_get(c, "Labels")));
			if (!keep && found >= 0 && unmarked_long_enough(id))
				swarm_save_remove(e, id); /* saved already, or never to be */
		}
		json_decref(svc);
	}
	json_decref(list);
}

int swarm_layer_wait(struct engine *e, const struct config *cfg, const char *user, json_t **svc,
                     int (*home_down)(struct engine *, json_t *, struct err *), struct err *err)
{
	long long deadline = mono_ms() + LOGIN_WAIT_MS, next_node_check = mono_ms() + 3000;
	int logged = 0;
	while (swarm_label(*svc, SWARM_LABEL_SAVING) != NULL) {
		if (!logged++)
			log_info("user \"%s\": waiting for the home node to save task container "
			         "%.12s before the start",
			         user, swarm_label(*svc, SWARM_LABEL_SAVING));
		if (mono_ms() >= deadline)
			return err_set(err, ETIMEDOUT,
			               "your container is still being saved on node %s; try again "
			               "in a minute",
			               swarm_label(*svc, SWARM_LABEL_NODE) ?: "?");
		if (mono_ms() >= next_node_check) {
			if (home_down(e, *svc, err))
				return -1;
			next_node_check = mono_ms() + 2000;
		}
		usleep(200 * 1000);
		if (swarm_service_reread(e, cfg, user, svc, err) < 0)
			return -1;
	}
	return 0;
}
