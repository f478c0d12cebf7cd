/* Who is asking the FUSE service. A caller is served only when it is a
 * process of the user's running container: its mount, pid and network
 * namespaces equal those of the container's init (pid from the engine),
 * read through /proc and pinned by pidfds. */
#ifndef SSHBOX_FUSEPEER_H
#define SSHBOX_FUSEPEER_H

#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"
#include "fusemount.h"

struct fuse_peer {
	pid_t pid;
	uid_t uid;
	int pidfd; /* -1 when none could be had */
};

/* The peer of a connected unix socket, from SO_PEERCRED (and SO_PEERPIDFD). */
int fusepeer_get(int sock, struct fuse_peer *ret);

/* 0 when p is a process of user's container; fills the container's target
 * (its init's pidfd and mount namespace fd, for the caller to close) and
 * that mount namespace's identity. */
int fusepeer_check(const char *user, const struct fuse_peer *p, struct fusemount_target *ret_t,
                   struct stat *ret_mntns, struct err *err);

#endif
