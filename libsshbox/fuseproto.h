/* The FUSE service's protocol: sshbox-fuse (in a container, as root there)
 * asks the watchdog to mount or unmount a FUSE file system at a directory of
 * that container, over the per-user socket FUSE_SOCKET_DIR/sock (frames as
 * in proto.h: 4-byte big-endian length, one JSON object).
 *
 * Requests, each exactly {"v":1,"op":OP,"path":PATH[,"subtype":NAME]}:
 *   "mount"   the watchdog mounts FUSE at PATH (nosuid, nodev, allow_other,
 *             user_id=0, group_id=0) and replies {"ok":true} with the
 *             mount's /dev/fuse descriptor attached (SCM_RIGHTS); NAME (the
 *             FUSE server's name, e.g. "sshfs") makes the type fuse.NAME.
 *   "umount"  the watchdog detaches the mount at PATH if it made it.
 * Replies: {"ok":true} or {"ok":false,"error":MESSAGE_FOR_THE_USER}.
 * Nothing names a user or container: the watchdog knows the user from the
 * socket the request came in on, and checks with SO_PEERCRED that the caller
 * lives in that user's container. */
#ifndef SSHBOX_FUSEPROTO_H
#define SSHBOX_FUSEPROTO_H

#include <jansson.h>

#include "err.h"

/* Where the per-user FUSE directory (socket and client) appears inside a
 * container, read-only. */
#define FUSE_SOCKET_DIR      "/run/sshbox-fuse"
#define FUSE_PATH_MAX        1024
#define FUSE_SUBTYPE_MAX     32
#define FUSE_DEFAULT_SUBTYPE "sshbox"

enum fuse_op { FUSE_OP_MOUNT, FUSE_OP_UMOUNT };

struct fuse_request {
	enum fuse_op op;
	char path[FUSE_PATH_MAX];
	char subtype[FUSE_SUBTYPE_MAX + 1];
};

/* Checks a decoded request strictly: members, version, op, path, subtype. */
int fuse_parse_request(const json_t *msg, struct fuse_request *ret_req, struct err *err);

/* Builds a request; NULL when path or subtype are unusable. */
json_t *fuse_build_request(enum fuse_op op, const char *path, const char *subtype);

/* A mount point a container may ask for: absolute, normalised (no "//",
 * ".", "..", trailing "/"), printable, not /proc, /sys, /dev or below, and
 * neither on nor above a mount sshbox manages (/etc/sshbox, the flag and
 * FUSE dirs, the in-container commands). 0, or -1 with a message that
 * quotes the path and says why. */
int fuse_path_check(const char *path, struct err *err);

/* A FUSE subtype: 1..FUSE_SUBTYPE_MAX of [a-z0-9_.-]. */
int fuse_subtype_valid(const char *s);

#endif
