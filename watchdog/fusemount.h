/* The privileged half of the FUSE service: mounting and unmounting inside a
 * container's mount namespace, done by a short-lived forked child so that no
 * watchdog thread ever leaves the host's namespace. The container itself
 * holds no mount privilege at all. */
#ifndef SSHBOX_FUSEMOUNT_H
#define SSHBOX_FUSEMOUNT_H

#include <stdint.h>

#include "err.h"

/* The container whose mount namespace is entered: its init's pidfd (setns
 * on a pidfd where the kernel allows) and a descriptor of that namespace
 * (/proc/PID/ns/mnt, checked against the pidfd) for kernels before 5.8. */
struct fusemount_target {
	int init_pidfd;
	int mntns_fd;
};

/* Opens path in the container (no symlinks, no magic links, never above
 * the container's root), mounts FUSE on it with fuse_fd as the connection
 * (nosuid, nodev, allow_other, user_id=0, group_id=0; type fuse.SUBTYPE),
 * and returns the new mount's id. Within timeout_ms. */
int fusemount_mount(const struct fusemount_target *t, const char *path, const char *subtype,
                    int fuse_fd, int timeout_ms, uint64_t *ret_mnt_id, struct err *err);

/* Detaches (MNT_DETACH) the mount at path if it is the one with mnt_id. */
int fusemount_umount(const struct fusemount_target *t, const char *path, uint64_t mnt_id,
                     int timeout_ms, struct err *err);

#endif
