#include "fuseproto.h"

#include <errno.h>
#include <string.h>

#define FUSE_PROTO_VERSION 1

/* Kernel file systems a FUSE mount must never cover. */
static const char *const kernel_trees[] = {"/proc", "/sys", "/dev"};
/* What sshbox mounts into every container: covering one, or a directory
 * above one, would swap what sshbox put there for the user's files. */
static const char *const managed[] = {"/etc/sshbox",
                                      "/run/sshbox",
                                      FUSE_SOCKET_DIR,
                                      "/usr/local/bin/daemon",
                                      "/usr/local/bin/nodaemon",
                                      "/usr/local/bin/stopnow"};

/* 1 when path is dir or below it. */
static int is_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int fuse_path_check(const char *path, struct err *err)
{
	size_t len = strlen(path);
	if (path[0] != '/')
		return err_set(err, EINVAL, "path \"%.200s\" is not absolute", path);
	if (len >= FUSE_PATH_MAX)
		return err_set(err, ENAMETOOLONG, "path \"%.200s...\" is longer than %d bytes",
		               path, FUSE_PATH_MAX - 1);
	if (len == 1)
		return err_set(err, EINVAL, "refusing to mount over the container's root \"/\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x20 || c == 0x7f)
			return err_set(err, EINVAL, "path \"%.200s\" holds a control character",
			               path);
	}
	if (path[len - 1] == '/')
		return err_set(err, EINVAL, "path \"%.200s\" ends in \"/\"", path);
	for (const char *p = path; *p != '\0';) {
		const char *name = p + 1;
		const char *end = strchr(name, '/');
		size_t n = end != NULL ? (size_t)(end - name) : strlen(name);
		if (n == 0)
			return err_set(err, EINVAL, "path \"%.200s\" holds \"//\"", path);
		if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
			return err_set(err, EINVAL,
			               "path \"%.200s\" holds \"%.*s\": give it normalised", path,
			               (int)n, name);
		p = name + n;
	}
	for (size_t i = 0; i < sizeof(kernel_trees) / sizeof(kernel_trees[0]); i++)
		if (is_within(path, kernel_trees[i]))
			return err_set(err, EPERM, "path \"%.200s\" is in %s: no FUSE mounts there",
			               path, kernel_trees[i]);
	for (size_t i = 0; i < sizeof(managed) / sizeof(managed[0]); i++)
		if (is_within(path, managed[i]) || is_within(managed[i], path))
			return err_set(err, EPERM,
			               "path \"%.200s\" would cover %s, which sshbox manages", path,
			               managed[i]);
	return 0;
}

int fuse_subtype_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FUSE_SUBTYPE_MAX)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* A string member, checked for type, length and embedded NULs. */
static int get_string(const json_t *msg, const char *key, char *dst, size_t size, struct err *err)
{
	json_t *v = json_object_get(msg, key);
	if (!json_is_string(v))
		return err_set(err, EBADMSG, "\"%s\" is missing or not a string", key);
	size_t n = json_string_length(v);
	if (n >= size || strlen(json_string_value(v)) != n)
		return err_set(err, EBADMSG, "\"%s\" is too long or holds a NUL", key);
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

int fuse_parse_request(const json_t *msg, struct fuse_request *ret_req, struct err *err)
{
	struct fuse_request req;
	memset(&req, 0, sizeof(req));
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)msg, key, member)
	{
		if (strcmp(key, "v") != 0 && strcmp(key, "op") != 0 && strcmp(key, "path") != 0 &&
		    strcmp(key, "subtype") != 0)
			return err_set(err, EBADMSG, "unknown member \"%.32s\"", key);
	}
	json_t *v = json_object_get(msg, "v");
	if (!json_is_integer(v) || json_integer_value(v) != FUSE_PROTO_VERSION)
		return err_set(err, EPROTO, "unsupported protocol version");
	char op[16];
	if (get_string(msg, "op", op, sizeof(op), err) < 0)
		return -1;
	if (strcmp(op, "mount") == 0)
		req.op = FUSE_OP_MOUNT;
	else if (strcmp(op, "umount") == 0)
		req.op = FUSE_OP_UMOUNT;
	else
		return err_set(err, EBADMSG, "unknown op \"%.15s\"", op);
	if (get_string(msg, "path", req.path, sizeof(req.path), err) < 0)
		return -1;
	if (fuse_path_check(req.path, err) < 0)
		return -1;
	strcpy(req.subtype, FUSE_DEFAULT_SUBTYPE);
	if (json_object_get(msg, "subtype") != NULL) {
		if (req.op != FUSE_OP_MOUNT)
			return err_set(err, EBADMSG, "\"subtype\" belongs to mount only");
		if (get_string(msg, "subtype", req.subtype, sizeof(req.subtype), err) < 0)
			return -1;
		if (!fuse_subtype_valid(req.subtype))
			return err_set(err, EBADMSG, "subtype \"%s\" is not [a-z0-9_.-]",
			               req.subtype);
	}
	*ret_req = req;
	return 0;
}

json_t *fuse_build_request(enum fuse_op op, const char *path, const char *subtype)
{
	json_t *r = json_pack("{s:i,s:s,s:s}", "v", FUSE_PROTO_VERSION, "op",
	                      op == FUSE_OP_MOUNT ? "mount" : "umount", "path", path);
	if (r != NULL && op == FUSE_OP_MOUNT && subtype != NULL &&
	    json_object_set_new(r, "subtype", json_string(subtype)) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}
