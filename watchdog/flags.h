/* In-container flags. Each user's flag dir (state/users/NAME/flags, a tiny
 * tmpfs of its own so it cannot fill the state disk) is bind-mounted at
 * /run/sshbox in the container; the commands `daemon`, `nodaemon` and
 * `stopnow` (plain /bin/sh scripts: the user's own read-only copies in
 * state/users/NAME/bin, mounted at /usr/local/bin) create or remove names
 * there. The watchdog only looks at names: it never follows a link or opens
 * anything in that dir, so a planted symlink or FIFO cannot fool or block it. */
#ifndef SSHBOX_FLAGS_H
#define SSHBOX_FLAGS_H

#include "config.h"
#include "err.h"

#define FLAGS_MOUNT     "/run/sshbox"
#define FLAGS_FS_SIZE   "64k"
#define FLAGS_FS_INODES "32"
#define FLAGS_FS_SOURCE "sshbox-flags" /* its mount source, as /proc/PID/mountinfo shows it */

/* Before every container start: the user's flag dir (mounted, if it is not
 * yet) and their copies of the in-container commands. */
int flags_prepare(const struct config *cfg, const char *user, struct err *err);
/* 1 when the user's container is in daemon mode. */
int flags_daemon(const struct config *cfg, const char *user);
/* Starts the thread that watches flag dirs with inotify. */
int flags_start_watcher(struct err *err);
/* Watches the user's flag dir (idempotent); a stopnow already there (left
 * while no watchdog ran) is honoured when the watch is new. */
void flags_watch(const struct config *cfg, const char *user);

/* Bind specs for the container: flag dir and commands. */
int flags_binds(const struct config *cfg, const char *user, char binds[][600], int max);

#endif
