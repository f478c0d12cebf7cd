/* Fills a bundle directory (bundle.h) from the host's OpenSSH server. */
#ifndef SSHBOX_BUNDLEBUILD_H
#define SSHBOX_BUNDLEBUILD_H

#include "err.h"

/* What a bundle carries from the source tree: the mount path's name, the
 * path below the source root, and whether the version may lack it
 * (sshd-session from OpenSSH 9.8, sshd-auth from 10.0). */
struct bundle_file {
	const char *name;
	const char *path;
	int optional;
};
extern const struct bundle_file bundle_files[];

/* Copies the files (from src, "" for /) into dir, with every library ldd
 * lists and the loader, patches them to load from BUNDLE_MOUNT, and writes
 * sshd_config and key. */
int bundle_build(const char *src, const char *dir, const char *key, struct err *err);

#endif
