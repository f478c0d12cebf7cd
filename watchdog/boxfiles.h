/* What the bundled sshd (bundle.h) needs in a container, put there through
 * the engine's archive upload before each start, never by changing the
 * image: root and the privilege-separation user "sshd" in /etc/passwd
 * (appended only when missing; a minimal file when the image has none),
 * the empty privsep directory /run/sshd and /tmp (agent and X11 sockets). */
#ifndef SSHBOX_BOXFILES_H
#define SSHBOX_BOXFILES_H

#include <stddef.h>

#include "engine.h"
#include "err.h"

/* Uploads them into the created, stopped container id. */
int boxfiles_prepare(struct engine *e, const char *id, struct err *err);

/* Refuses (ELOOP, one line naming the image and the path) a stopped
 * container whose image has a symlink at one of sshbox's mount points
 * (/.sshbox, the bundle's, the flag dir's, /etc/sshbox): the engine would
 * follow it when it mounts there. */
int boxfiles_check_links(struct engine *e, const char *id, const char *image, struct err *err);
/* The same search in a container, running or not: 1 with the mount point
 * (*ret_where, static) and the link's target, 0 when none, -1 with err. */
int boxfiles_find_link(struct engine *e, const char *id, const char **ret_where, char *ret_target,
                       size_t size, struct err *err);

/* The image's passwd (NULL when it has none) with what is missing
 * appended: a malloc'd string in *ret_text. Pure: exposed for tests. */
int boxfiles_passwd(const char *old, size_t len, char **ret_text, struct err *err);

#endif
