#include "boxfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "bundle.h"
#include "flags.h"
#include "tar.h"

#define PASSWD_MAX (4 * 1024 * 1024)

static int has_user(const char *text, size_t len, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && p < text + len;) {
		if ((size_t)(text + len - p) > n && strncmp(p, name, n) == 0 && p[n] == ':')
			return 1;
		p = memchr(p, '\n', (size_t)(text + len - p));
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* Whether a line's third field is uid (text need not be NUL-ended). */
static int uid_used(const char *text, size_t len, long uid)
{
	const char *end = text + len;
	for (const char *p = text; p && p < end;) {
		const char *c1 = memchr(p, ':', (size_t)(end - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		long v = 0;
		const char *d = c2 ? c2 + 1 : end;
		for (; d < end && *d >= '0' && *d <= '9' && v <= 100000; d++)
			v = v * 10 + (*d - '0');
		if (c2 && d > c2 + 1 && v == uid)
			return 1;
		p = memchr(p, '\n', (size_t)(end - p));
		p = p ? p + 1 : NULL;
	}
	return 0;
}

int boxfiles_passwd(const char *old, size_t len, char **ret_text, struct err *err)
{
	if (old == NULL)
		len = 0;
	if (len > PASSWD_MAX)
		return err_set(err, EFBIG, "the container's /etc/passwd is over %d bytes",
		               PASSWD_MAX);
	if (memchr(old ? old : "", '\0', len) != NULL)
		return err_set(err, EBADMSG, "the container's /etc/passwd holds a NUL byte");
	/* A free system uid for sshd's unprivileged child. */
	long uid = 100;
	while (uid < 1000 && uid_used(old, len, uid))
		uid++;
	char add[256] = "";
	size_t n = 0;
	if (len > 0 && old[len - 1] != '\n')
		n += (size_t)snprintf(add + n, sizeof(add) - n, "\n");
	if (!has_user(old, len, "root"))
		n += (size_t)snprintf(add + n, sizeof(add) - n, "root:x:0:0:root:/root:/bin/sh\n");
	if (!has_user(old, len, "sshd"))
		snprintf(add + n, sizeof(add) - n,
		         "sshd:x:%ld:65534:sshd privsep:/run/sshd:/bin/false\n", uid);
	char *text = malloc(len + strlen(add) + 1);
	if (text == NULL)
		return err_set(err, ENOMEM, "out of memory");
	if (len > 0)
		memcpy(text, old, len);
	strcpy(text + len, add);
	*ret_text = text;
	return 0;
}

/* The container's /etc/passwd: 1 and a malloc'd *ret_text, 0 none. */
static int read_passwd(struct engine *e, const char *id, char **ret_text, size_t *ret_len,
                       struct err *err)
{
	char path[160];
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2Fetc%%2Fpasswd", id);
	long status = 0;
	char *data = NULL;
	size_t len = 0;
	if (engine_request_raw(e, "GET", path, NULL, 30, &status, &data, &len, err) < 0)
		return -1;
	if (status == 404) {
		free(data);
		return 0;
	}
	int rc = -1;
	const char *file = NULL;
	size_t flen = 0;
	if (status != 200)
		err_set(err, EIO, "reading /etc/passwd: engine answered %ld", status);
	else if ((rc = tar_first_file(data, len, &file, &flen, err)) == 0)
		rc = err_set(err, EINVAL, "/etc/passwd in the container is not a regular file");
	if (rc > 0 && (*ret_text = malloc(flen + 1)) != NULL) {
		memcpy(*ret_text, file, flen);
		(*ret_text)[flen] = '\0';
		*ret_len = flen;
	} else if (rc > 0) {
		rc = err_set(err, ENOMEM, "out of memory");
	}
	free(data);
	return rc;
}

int boxfiles_prepare(struct engine *e, const char *id, struct err *err)
{
	char *old = NULL, *passwd = NULL;
	size_t len = 0;
	struct tar t = {0};
	int rc = read_passwd(e, id, &old, &len, err);
	if (rc >= 0)
		rc = boxfiles_passwd(old, len, &passwd, err);
	/* /tmp is the sticky world-writable directory every image expects; sshd
	 * puts forwarded agent sockets there. */
	if (rc >= 0 &&
	    (tar_add(&t, "etc/passwd", '0', 0644, passwd, strlen(passwd), err) < 0 ||
	     tar_add(&t, "run/sshd", '5', 0755, NULL, 0, err) < 0 ||
	     tar_add(&t, "tmp", '5', 01777, NULL, 0, err) < 0 || tar_finish(&t, err) < 0))
		rc = -1;
	if (rc >= 0) {
		char path[160];
		snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", id);
		struct engine_body body = {t.data, t.len, "application/x-tar"};
		long status = 0;
		char *answer = NULL;
		size_t alen = 0;
		rc = engine_request_raw(e, "PUT", path, &body, 60, &status, &answer, &alen, err);
		if (rc == 0 && status != 200)
			rc = err_set(err, EIO, "engine answered %ld: %.200s", status,
			             answer ? answer : "");
		free(answer);
	}
	free(old);
	free(passwd);
	tar_free(&t);
	return rc < 0 ? err_wrap(err, "cannot add sshd's user and directories to the container")
	              : 0;
}

/* sshbox's mount points that an image could redirect: the engine resolves a
 * mount's target through the image's symlinks (inside its root), so a link
 * at one of them would put the bundle where the image says, or let another
 * mount (the user's writable flag dir, say) cover it. */
static const char *const mount_points[] = {"/.sshbox", BUNDLE_MOUNT, FLAGS_MOUNT, "/etc/sshbox",
                                           NULL};

#define GO_MODE_SYMLINK (1ULL << 27) /* the engine's stat mode is Go's os.FileMode */

/* 1 and the link's target in ret_target when where is a symlink in the
 * stopped container (not followed), 0 when it is anything else or absent. */
static int link_at(struct engine *e, const char *id, const char *where, char *ret_target,
                   size_t size, struct err *err)
{
	char path[256], enc[128], stat_b64[2048], stat_json[1600];
	long status = 0;
	if (engine_urlencode(where, enc, sizeof(enc)) < 0)
		return err_set(err, ENAMETOOLONG, "path \"%s\" is too long", where);
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", id, enc);
	if (engine_head(e, path, "X-Docker-Container-Path-Stat", 30, &status, stat_b64,
	                sizeof(stat_b64), err) < 0)
		return -1;
	if (status == 404)
		return 0;
	if (status != 200 || stat_b64[0] == '\0')
		return err_set(err, EIO, "the engine answered %ld with no stat for %s", status,
		               where);
	int n = b64_decode(stat_b64, stat_json, sizeof(stat_json), err);
	json_t *j = n < 0 ? NULL : json_loadb(stat_json, (size_t)n, 0, NULL);
	if (j == NULL)
		return err_set(err, EBADMSG, "the engine's stat of %s is not JSON", where);
	unsigned long long mode =
	    (unsigned long long)json_integer_value(json_object_get(j, "mode"));
	const char *target = json_string_value(json_object_get(j, "linkTarget"));
	/* Podman names the path itself as the target of what is no link. */
	int link = (mode & GO_MODE_SYMLINK) != 0 ||
	           (target != NULL && target[0] != '\0' && strcmp(target, where) != 0);
	snprintf(ret_target, size, "%s", target ? target : "");
	json_decref(j);
	return link;
}

int boxfiles_find_link(struct engine *e, const char *id, const char **ret_where, char *ret_target,
                       size_t size, struct err *err)
{
	for (size_t i = 0; mount_points[i] != NULL; i++) {
		int link = link_at(e, id, mount_points[i], ret_target, size, err);
		if (link < 0)
			return err_wrap(err,
			                "cannot check where sshbox's mounts land in the container");
		if (link > 0) {
			*ret_where = mount_points[i];
			return 1;
		}
	}
	return 0;
}

int boxfiles_check_links(struct engine *e, const char *id, const char *image, struct err *err)
{
	char target[256];
	const char *where = NULL;
	int link = boxfiles_find_link(e, id, &where, target, sizeof(target), err);
	if (link <= 0)
		return link;
	return err_set(err, ELOOP,
	               "image \"%s\" cannot be used: its %s is a symlink (to \"%.100s\"), "
	               "where sshbox mounts its own files; ask your admin to remove the "
	               "image or the link",
	               image, where, target);
}
