/* sshbox's own helper programs (sshbox-fuse, sshbox-gate): beside the
 * watchdog's binary in a build tree or the test bed, else where
 * `cmake --install` or the package put them: ../libexec/sshbox from the
 * watchdog's sbin (an install under a root prefix too), else the
 * configured libexec dir. */
#ifndef SSHBOX_LIBEXEC_H
#define SSHBOX_LIBEXEC_H

#include <stddef.h>

/* The path of helper name: the first of those that exists, else
 * SSHBOX_LIBEXECDIR/sshbox/NAME (the caller's open names it). -1 when it
 * does not fit. */
int libexec_path(const char *name, char *buf, size_t size);

#endif
