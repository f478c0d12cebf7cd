/* Atomic file replacement: write an unnamed file (O_TMPFILE) beside the
 * target, fsync it, name it, rename it over the target, fsync the directory.
 * A crash leaves the old file or the new one, never half of either; a writer
 * killed mid-write leaves nothing, and the rare leftover name of one killed
 * between naming and renaming is swept by the next write. */
#ifndef SSHBOX_ATOMICFILE_H
#define SSHBOX_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

int atomic_write(const char *path, const void *data, size_t len, mode_t mode, struct err *err);

#endif
