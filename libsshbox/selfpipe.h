/* Signals delivered into a pipe, so a poll loop wakes for them (libssh's own
 * poll retries EINTR, so handlers alone would not wake it). */
#ifndef SSHBOX_SELFPIPE_H
#define SSHBOX_SELFPIPE_H

#include <stddef.h>

/* Installs handlers (without SA_RESTART) for the signals; each delivery
 * writes the signal number as one byte. Returns the non-blocking read end,
 * or -1 with errno. Idempotent: one pipe per process. */
int selfpipe_install(const int *signals, size_t n);

#endif
