/* The few ustar archives the engine's archive API takes and gives: a handful
 * of small entries built in memory, and the one file a GET of a single path
 * answers. Pure: no I/O. */
#ifndef SSHBOX_TAR_H
#define SSHBOX_TAR_H

#include <stddef.h>

#include "err.h"

struct tar {
	char *data;
	size_t len, cap;
};

/* Appends an entry owned by root: type '0' a file holding data[0..len), '5'
 * a directory (data NULL). name is relative, under 100 bytes. */
int tar_add(struct tar *t, const char *name, char type, unsigned mode, const char *data, size_t len,
            struct err *err);
/* Ends the archive (two zero blocks of 512 bytes). */
int tar_finish(struct tar *t, struct err *err);
void tar_free(struct tar *t);

/* The first entry of an archive: 1 and *ret_data and *ret_len (pointing into
 * data) when it is a regular file, 0 when it is something else, -1 when the
 * archive is malformed. */
int tar_first_file(const char *data, size_t len, const char **ret_data, size_t *ret_len,
                   struct err *err);

#endif
