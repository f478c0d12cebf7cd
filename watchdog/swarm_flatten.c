#include "swarm_flatten.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine_pipe.h"
#include "log.h"

#define CHANGE_MAX 4096 /* one Dockerfile line of the config */

struct changes {
	char *path; /* the import's query, the changes appended */
	size_t len;
	struct err *err;
};

/* Appends "&changes=LINE" (encoded) to the import's path. */
static int add_change(struct changes *c, const char *line)
{
	char enc[3 * CHANGE_MAX + 1];
	if (strlen(line) >= CHANGE_MAX || strchr(line, '\n') != NULL ||
	    engine_urlencode(line, enc, sizeof(enc)) < 0)
		return err_set(c->err, E2BIG,
		               "the image's config line \"%.40s...\" cannot be "
		               "carried over",
		               line);
	int n = snprintf(c->path + c->len, ENGINE_EASY_URL_MAX - 64 - c->len, "&changes=%s", enc);
	if (n < 0 || (size_t)n >= ENGINE_EASY_URL_MAX - 64 - c->len)
		return err_set(c->err, E2BIG, "the image's config is too long to carry over");
	c->len += (size_t)n;
	return 0;
}

/* s as one Dockerfile word in double quotes: the builder expands $ and
 * takes quotes and backslashes as syntax unless escaped. */
static int quoted(const char *s, char *buf, size_t size)
{
	size_t o = 0;
	buf[o++] = '"';
	for (; *s; s++) {
		if (o + 4 >= size)
			return -1;
		if (*s == '"' || *s == '$' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}

/* "KEYWORD value" with value quoted. */
static int add_quoted(struct changes *c, const char *keyword, const char *value)
{
	char q[CHANGE_MAX], line[CHANGE_MAX + 32];
	if (quoted(value, q, sizeof(q)) < 0)
		return err_set(c->err, E2BIG, "the image's %s is too long to carry over", keyword);
	snprintf(line, sizeof(line), "%s %s", keyword, q);
	return add_change(c, line);
}

/* "KEYWORD json" for a list (ENTRYPOINT, CMD, VOLUME): no shell, no $. */
static int add_json(struct changes *c, const char *keyword, json_t *list)
{
	char *text = json_dumps(list, JSON_COMPACT);
	char line[CHANGE_MAX + 32];
	int n = text ? snprintf(line, sizeof(line), "%s %s", keyword, text) : -1;
	free(text);
	if (n < 0 || (size_t)n >= sizeof(line))
		return err_set(c->err, E2BIG, "the image's %s cannot be carried over", keyword);
	return add_change(c, line);
}

/* HEALTHCHECK from Config.Healthcheck {Test, Interval, Timeout, ...}. */
static int add_healthcheck(struct changes *c, json_t *hc)
{
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	if (kind == NULL)
		return 0; /* inherited: nothing set */
	if (strcmp(kind, "NONE") == 0)
		return add_change(c, "HEALTHCHECK NONE");
	char opts[256] = "", line[CHANGE_MAX + 300];
	static const char *const durations[][2] = {
	    {"Interval", "interval"}, {"Timeout", "timeout"}, {"StartPeriod", "start-period"}};
	for (size_t i = 0; i < 3; i++) {
		json_int_t ns = json_integer_value(json_object_get(hc, durations[i][0]));
		size_t used = strlen(opts);
		if (ns > 0)
			snprintf(opts + used, sizeof(opts) - used, "--%s=%lldns ", durations[i][1],
			         (long long)ns);
	}
	json_int_t retries = json_integer_value(json_object_get(hc, "Retries"));
	if (retries > 0) {
		size_t used = strlen(opts);
		snprintf(opts + used, sizeof(opts) - used, "--retries=%lld ", (long long)retries);
	}
	char *cmd = NULL;
	if (strcmp(kind, "CMD-SHELL") == 0) {
		const char *shell = json_string_value(json_array_get(test, 1));
		cmd = shell ? strdup(shell) : NULL;
	} else {
		json_t *rest = json_array();
		for (size_t i = 1; i < json_array_size(test); i++)
			json_array_append(rest, json_array_get(test, i));
		cmd = json_dumps(rest, JSON_COMPACT);
		json_decref(rest);
	}
	int n = cmd ? snprintf(line, sizeof(line), "HEALTHCHECK %sCMD %s", opts, cmd) : -1;
	free(cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return err_set(c->err, E2BIG, "the image's HEALTHCHECK cannot be carried over");
	return add_change(c, line);
}

/* The config an import keeps (the engine's import takes these Dockerfile
 * instructions; STOPSIGNAL, SHELL, and the history are not among them). */
static int add_config(struct changes *c, json_t *config)
{
	size_t i;
	json_t *v;
	const char *key;
	char line[CHANGE_MAX];
	json_array_foreach(json_object_get(config, "Env"), i, v)
	{
		const char *kv = json_string_value(v);
		const char *eq = kv ? strchr(kv, '=') : NULL;
		if (eq == NULL || eq == kv || (size_t)(eq - kv) >= 256 ||
		    strspn(kv,
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
		        (size_t)(eq - kv))
			return err_set(c->err, EINVAL,
			               "the image's ENV entry \"%.40s\" cannot be "
			               "carried over",
			               kv ? kv : "?");
		char keyword[300];
		snprintf(keyword, sizeof(keyword), "ENV %.*s=", (int)(eq - kv), kv);
		if (quoted(eq + 1, line, sizeof(line)) < 0)
			return err_set(c->err, E2BIG, "the image's ENV is too long to carry over");
		char full[CHANGE_MAX + 300];
		snprintf(full, sizeof(full), "%s%s", keyword, line);
		if (add_change(c, full) < 0)
			return -1;
	}
	json_object_foreach(json_object_get(config, "Labels"), key, v)
	{
		char qk[CHANGE_MAX / 2], qv[CHANGE_MAX / 2], full[CHANGE_MAX + 16];
		if (!json_is_string(v) || quoted(key, qk, sizeof(qk)) < 0 ||
		    quoted(json_string_value(v), qv, sizeof(qv)) < 0)
			return err_set(c->err, E2BIG,
			               "the image's LABEL \"%.40s\" cannot be "
			               "carried over",
			               key);
		snprintf(full, sizeof(full), "LABEL %s=%s", qk, qv);
		if (add_change(c, full) < 0)
			return -1;
	}
	json_object_foreach(json_object_get(config, "ExposedPorts"), key, v)
	{
		snprintf(line, sizeof(line), "EXPOSE %s", key); /* "22/tcp": no quoting */
		if (strspn(key, "0123456789/tcpudsp-") != strlen(key) || add_change(c, line) < 0)
			return err_set(c->err, EINVAL,
			               "the image's EXPOSE %.40s cannot be carried "
			               "over",
			               key);
	}
	json_t *volumes = json_array();
	json_object_foreach(json_object_get(config, "Volumes"), key, v)
	{
		json_array_append_new(volumes, json_string(key));
	}
	int rc = json_array_size(volumes) ? add_json(c, "VOLUME", volumes) : 0;
	json_decref(volumes);
	const char *s = json_string_value(json_object_get(config, "WorkingDir"));
	if (rc == 0 && s != NULL && s[0] != '\0')
		rc = add_quoted(c, "WORKDIR", s);
	s = json_string_value(json_object_get(config, "User"));
	if (rc == 0 && s != NULL && s[0] != '\0')
		rc = add_quoted(c, "USER", s);
	/* ENTRYPOINT before CMD: an ENTRYPOINT line resets an earlier CMD. */
	if (rc == 0 && json_is_array(json_object_get(config, "Entrypoint")))
		rc = add_json(c, "ENTRYPOINT", json_object_get(config, "Entrypoint"));
	if (rc == 0 && json_is_array(json_object_get(config, "Cmd")))
		rc = add_json(c, "CMD", json_object_get(config, "Cmd"));
	if (rc == 0 && json_is_object(json_object_get(config, "Healthcheck")))
		rc = add_healthcheck(c, json_object_get(config, "Healthcheck"));
	json_array_foreach(json_object_get(config, "OnBuild"), i, v)
	{
		snprintf(line, sizeof(line), "ONBUILD %s", json_string_value(v) ?: "");
		if (rc == 0)
			rc = add_change(c, line);
	}
	return rc;
}

/* The new image's id from the import's answer: JSON lines, the last
 * {"status":"sha256:..."}, or {"error":...} when it failed. */
static int import_result(const char *answer, long status, char *ret_id, size_t size,
                         struct err *err)
{
	const char *p = answer ? answer : "";
	ret_id[0] = '\0';
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");
		json_t *j = json_loadb(p, len, 0, NULL);
		const char *error = json_string_value(json_object_get(j, "error"));
		const char *st = json_string_value(json_object_get(j, "status"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		if (error != NULL || (status != 200 && msg != NULL)) {
			err_set(err, EIO, "the engine refused the import (%ld): %s", status,
			        error ? error : msg);
			json_decref(j);
			return -1;
		}
		if (st != NULL && strncmp(st, "sha256:", 7) == 0)
			snprintf(ret_id, size, "%s", st);
		json_decref(j);
		p += len + (p[len] == '\n');
	}
	if (status != 200 || ret_id[0] == '\0')
		return err_set(err, EIO, "the engine answered %ld to the import without an image",
		               status);
	return 0;
}

/* The config and depth of the image container ran from: 1, 0 when it has
 * fewer than min_depth layers, -1 with err. */
static int due(struct engine *e, const char *container, long min_depth, json_t **ret_image,
               size_t *ret_depth, struct err *err)
{
	json_t *c = NULL, *img = NULL;
	int found = engine_inspect(e, "containers", container, &c, err);
	const char *from = json_string_value(json_object_get(c, "Image"));
	if (found > 0 && from != NULL)
		found = engine_inspect(e, "images", from, &img, err);
	else if (found >= 0)
		found = err_set(err, ENOENT, "no container %.12s with an image", container);
	json_decref(c);
	if (found <= 0)
		return found < 0 ? -1 : err_set(err, ENOENT, "its image is gone");
	*ret_depth = json_array_size(json_object_get(json_object_get(img, "RootFS"), "Layers"));
	if ((long)*ret_depth < min_depth) {
		json_decref(img);
		return 0;
	}
	*ret_image = img;
	return 1;
}

int swarm_flatten(struct engine *e, const char *container, const char *image, long min_depth,
                  long timeout_s, char *ret_id, size_t size, struct flatten_stats *ret_stats,
                  struct err *err)
{
	json_t *from = NULL;
	size_t depth = 0;
	long long began = mono_ms();
	if (min_depth <= 0)
		return 0;
	int rc = due(e, container, min_depth, &from, &depth, err);
	if (rc <= 0)
		return rc;
	char *path = malloc(ENGINE_EASY_URL_MAX);
	struct changes c = {path, 0, err};
	char repo[160], tag[80], export[160], msg[200], enc[300];
	snprintf(repo, sizeof(repo), "%.*s", (int)strcspn(image, ":"), image);
	snprintf(tag, sizeof(tag), "%s", strchr(image, ':') ? strchr(image, ':') + 1 : "latest");
	snprintf(msg, sizeof(msg), "sshbox: %zu layers flattened from %.19s", depth,
	         json_string_value(json_object_get(from, "Id")) ?: "?");
	engine_urlencode(msg, enc, sizeof(enc));
	rc = -1;
	if (path == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	c.len =
	    (size_t)snprintf(path, ENGINE_EASY_URL_MAX,
	                     "/images/create?fromSrc=-&repo=%s&tag=%s&message=%s", repo, tag, enc);
	if (add_config(&c, json_object_get(from, "Config")) < 0)
		goto out;
	snprintf(export, sizeof(export), "/containers/%s/export", container);
	long status = 0;
	char *answer = NULL;
	size_t len = 0;
	long long bytes = 0;
	if (engine_pipe(e, export, path, "application/x-tar", timeout_s, &status, &answer, &len,
	                &bytes, err) < 0)
		goto out;
	rc = import_result(answer, status, ret_id, size, err);
	free(answer);
	if (rc < 0)
		goto out;
	json_t *img = NULL;
	long long image_bytes = -1;
	if (engine_inspect(e, "images", ret_id, &img, err) > 0)
		image_bytes = json_integer_value(json_object_get(img, "Size"));
	json_decref(img);
	*ret_stats = (struct flatten_stats){depth, bytes, image_bytes, mono_ms() - began};
	rc = 1;
out:
	free(path);
	json_decref(from);
	return rc;
}

int swarm_flatten_save(struct engine *e, const struct config *cfg, const char *user,
                       const char *container, const char *image, long timeout_s, char *ret_id,
                       size_t size)
{
	struct flatten_stats st = {0};
	struct err err = {0};
	int rc = swarm_flatten(e, container, image, cfg->swarm_layer_flatten, timeout_s, ret_id,
	                       size, &st, &err);
	if (rc < 0)
		log_warn("user \"%s\": cannot flatten task container %.12s into %s: %s; committing "
		         "it on top instead",
		         user, container, image, err.msg);
	else if (rc > 0)
		log_info("user \"%s\": task container %.12s flattened into %s as %.19s: %zu layers "
		         "before, 1 now; %lld bytes exported, image size %lld bytes, %.1f s",
		         user, container, image, ret_id, st.depth_before, st.bytes, st.image_bytes,
		         (double)st.ms / 1000.0);
	return rc > 0;
}

void swarm_flatten_forget(struct engine *e, const char *user, const char *old)
{
	char path[160];
	struct err err = {0};
	static const long gone[] = {200, 404, 0};
	snprintf(path, sizeof(path), "/images/%s", old);
	if (engine_call(e, "DELETE", path, NULL, 60, gone, "remove old image", NULL, &err) < 0)
		log_warn("user \"%s\": the layer image %.19s before the flatten stays: %s", user,
		         old, err.msg);
}
