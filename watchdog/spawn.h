/* Runs a helper program (ldd, patchelf) with a deadline: no shell, a fixed
 * environment, stdin from /dev/null, its output collected. */
#ifndef SSHBOX_SPAWN_H
#define SSHBOX_SPAWN_H

#include <stddef.h>

#include "err.h"

/* Runs argv[0] (an absolute path). Its stdout and stderr, up to size - 1
 * bytes, go to out (NUL-terminated; may be NULL). Killed when it outlives
 * timeout_ms. 0 when it exited 0; else -1 naming the program and, from its
 * output, the first line. */
int spawn_run(char *const argv[], char *out, size_t size, int timeout_ms, struct err *err);

#endif
