#include "record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "atomicfile.h"
#include "kvfile.h"
#include "names.h"

void record_init(struct user_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->uid = (uid_t)-1;
	rec->memory = -1;
	rec->nano_cpus = -1;
	rec->pids = -1;
	rec->record = RECORD_DEFAULT;
}

int user_path(const struct config *cfg, const char *user, const char *leaf, char *buf, size_t size)
{
	int n = leaf ? snprintf(buf, size, "%s/users/%s/%s", cfg->state_dir, user, leaf)
	             : snprintf(buf, size, "%s/users/%s", cfg->state_dir, user);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

struct record_ctx {
	struct user_record rec;
	unsigned seen;
};

static int record_kv(void *ctx, const char *key, const char *v, struct err *err)
{
	static const char *const keys[] = {"uid",  "image", "memory", "cpus", "pids",
	                                   "fuse", "mount", "record", NULL};
	struct record_ctx *c = ctx;
	int idx = -1;
	for (int i = 0; keys[i]; i++)
		if (strcmp(keys[i], key) == 0)
			idx = i;
	if (idx < 0)
		return err_set(err, EINVAL, "unknown key \"%s\"", key);
	if (idx == 6) { /* mount: the one repeatable key */
		if (!mount_spec_valid(v) || strlen(v) >= MOUNT_SPEC_MAX)
			return err_set(err, EINVAL, "bad value \"%s\" for \"mount\"", v);
		if (c->rec.nmounts == RECORD_MAX_MOUNTS)
			return err_set(err, EINVAL, "more than %d mounts", RECORD_MAX_MOUNTS);
		strcpy(c->rec.mounts[c->rec.nmounts++], v);
		return 0;
	}
	if (c->seen & (1u << idx))
		return err_set(err, EINVAL, "duplicate key \"%s\"", key);
	c->seen |= 1u << idx;
	long n;
	int bad = 0;
	switch (idx) {
	case 0:
		bad = parse_long(v, 0, 0x7fffffffL, &n) < 0;
		c->rec.uid = (uid_t)n;
		break;
	case 1:
		bad = !image_name_valid(v) || strlen(v) >= sizeof(c->rec.image);
		if (!bad)
			strcpy(c->rec.image, v);
		break;
	case 2:
		bad = parse_size(v, &c->rec.memory) < 0;
		break;
	case 3:
		bad = parse_cpus(v, &c->rec.nano_cpus) < 0;
		break;
	case 4:
		bad = parse_long(v, 0, 4194304, &c->rec.pids) < 0;
		break;
	case 5:
		bad = parse_bool(v, &c->rec.fuse) < 0;
		break;
	case 7:
		bad = parse_record_mode(v, &c->rec.record) < 0;
		break;
	}
	if (bad)
		return err_set(err, EINVAL, "bad value \"%s\" for \"%s\"", v, key);
	return 0;
}

int record_parse(const char *text, size_t len, const char *name, struct user_record *ret_rec,
                 struct err *err)
{
	struct record_ctx ctx;
	ctx.seen = 0;
	record_init(&ctx.rec);
	if (kv_parse(text, len, name, record_kv, &ctx, err) < 0)
		return -1;
	if (!(ctx.seen & 1u))
		return err_set(err, EINVAL, "%s: no \"uid\"", name);
	if (!(ctx.seen & 2u))
		return err_set(err, EINVAL, "%s: no \"image\"", name);
	*ret_rec = ctx.rec;
	return 0;
}

int record_load(const struct config *cfg, const char *user, struct user_record *ret_rec,
                struct err *err)
{
	char path[512];
	if (!user_name_valid(user))
		return err_set(err, EINVAL, "invalid user name \"%s\"", user);
	if (user_path(cfg, user, "record", path, sizeof(path)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	char buf[KVFILE_MAX_BYTES];
	size_t len = 0;
	if (kv_read_file(path, 1, buf, sizeof(buf), &len, err) < 0)
		return -1;
	return record_parse(buf, len, path, ret_rec, err);
}

/* snprintf at *len; once text is full, only *len keeps growing. */
__attribute__((format(printf, 4, 5))) static void append(char *text, size_t size, size_t *len,
                                                         const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = *len < size ? vsnprintf(text + *len, size - *len, fmt, ap)
	                    : vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*len += n > 0 ? (size_t)n : 0;
}

int record_format(const char *user, const struct user_record *rec, char *text, size_t size,
                  size_t *ret_len, struct err *err)
{
	size_t n = 0;
	append(text, size, &n, "# sshbox user record for %s\nuid = %u\nimage = %s\n", user,
	       (unsigned)rec->uid, rec->image);
	if (rec->memory >= 0)
		append(text, size, &n, "memory = %lld\n", rec->memory);
	if (rec->nano_cpus >= 0)
		append(text, size, &n, "cpus = %lld.%03lld\n", rec->nano_cpus / 1000000000LL,
		       (rec->nano_cpus % 1000000000LL) / 1000000LL);
	if (rec->pids >= 0)
		append(text, size, &n, "pids = %ld\n", rec->pids);
	append(text, size, &n, "fuse = %s\n", rec->fuse ? "yes" : "no");
	if (rec->record != RECORD_DEFAULT)
		append(text, size, &n, "record = %s\n", record_mode_name(rec->record));
	for (int i = 0; i < rec->nmounts; i++)
		append(text, size, &n, "mount = %s\n", rec->mounts[i]);
	if (n >= size)
		return err_set(err, E2BIG, "record of %s is too large", user);
	*ret_len = n;
	return 0;
}

int record_store(const struct config *cfg, const char *user, const struct user_record *rec,
                 struct err *err)
{
	char path[512];
	if (user_path(cfg, user, "record", path, sizeof(path)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	char text[8192];
	size_t len = 0;
	if (record_format(user, rec, text, sizeof(text), &len, err) < 0)
		return -1;
	return atomic_write(path, text, len, 0600, err);
}

static int path_ok(const char *p, size_t n)
{
	if (n < 1 || p[0] != '/' || (n > 1 && p[n - 1] == '/'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		/* No control characters (a tab or CR would not survive the
		 * record's own "key = value" lines), no ',' (Docker's separator). */
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == ',' ||
		    (p[i] == '/' && i + 1 < n && p[i + 1] == '/'))
			return 0;
		if (p[i] == '.' && p[i - 1] == '/' &&
		    (i + 1 == n || p[i + 1] == '/' ||
		     (p[i + 1] == '.' && (i + 2 == n || p[i + 2] == '/'))))
			return 0;
	}
	return 1;
}

int mount_spec_valid(const char *spec)
{
	const char *c1 = strchr(spec, ':');
	if (c1 == NULL)
		return 0;
	const char *c2 = strchr(c1 + 1, ':');
	size_t cont_len = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (c2 != NULL && strcmp(c2, ":ro") != 0 && strcmp(c2, ":rw") != 0)
		return 0;
	return path_ok(spec, (size_t)(c1 - spec)) && path_ok(c1 + 1, cont_len);
}
