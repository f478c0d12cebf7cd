/* "key = value" files (the config and user records): '#' comments, blank
 * lines; CR, NUL and lines without '=' are errors naming file and line. */
#ifndef SSHBOX_KVFILE_H
#define SSHBOX_KVFILE_H

#include <stddef.h>

#include "err.h"

#define KVFILE_MAX_BYTES (64 * 1024)

/* Called for each key/value; returns 0, or -1 with err set (the caller adds
 * file and line). */
typedef int (*kv_fn)(void *ctx, const char *key, const char *value, struct err *err);

int kv_parse(const char *text, size_t len, const char *name, kv_fn fn, void *ctx, struct err *err);
/* Reads a regular file (nofollow: refuse a symlink) of at most KVFILE_MAX_BYTES into buf
 * (NUL-terminated). */
int kv_read_file(const char *path, int nofollow, char *buf, size_t size, size_t *ret_len,
                 struct err *err);

#endif
