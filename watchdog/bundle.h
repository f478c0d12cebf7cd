/* The container's OpenSSH server, brought by sshbox: the host's installed
 * sshd, its session binaries and sftp-server, with the libraries and the
 * loader they need, patched (patchelf) to load only from the fixed mount
 * path, so they run in any image (glibc, musl or none). Stored root-only
 * under STATE/bundles/KEY, KEY = package version + checksum of the source
 * files; STATE/bundles/current names the newest and is what containers bind
 * (the engine resolves it at each start: running containers keep the
 * bundle they started with, the next start gets the new one). */
#ifndef SSHBOX_BUNDLE_H
#define SSHBOX_BUNDLE_H

#include <stddef.h>

#include "config.h"
#include "err.h"

#define BUNDLE_MOUNT  "/.sshbox/sshd"
#define BUNDLE_KEYMAX 160

/* Computes the key of the host's OpenSSH server now; builds its bundle when
 * there is none (atomically: a temp dir, then rename), points current at
 * it and removes old bundles no container has mounted. *ret_key gets the
 * key. Serialised within the process. */
int bundle_ensure(const struct config *cfg, char *ret_key, size_t size, struct err *err);

/* The path containers bind: STATE/bundles/current (the symlink). */
int bundle_current(const struct config *cfg, char *buf, size_t size);
/* The same under another node's state dir (swarm: the home node's). */
int bundle_current_in(const char *state_dir, char *buf, size_t size);

/* The container's bind of the current bundle: "SRC:" BUNDLE_MOUNT ":ro". */
int bundle_bind(const struct config *cfg, char *buf, size_t size);

#endif
