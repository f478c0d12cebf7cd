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

/* sshbox's own static first process of a swarm task (gate/sshbox-gate.c),
 * carried as BUNDLE_MOUNT/gate as it is: it loads no library. */
#define BUNDLE_GATE "gate"
int bundle_gate_source(char *buf, size_t size);

/* Copies the files (from src, "" for /) into dir, with every library ldd
 * lists and the loader, patches them to load from BUNDLE_MOUNT, adds the
 * gate, and writes sshd_config and key. */
int bundle_build(const char *src, const char *dir, const char *key, struct err *err);

#endif
