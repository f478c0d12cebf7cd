/* Per-user state under the state dir, all root-owned:
 *   users/NAME/record        the user record ("key = value", strict)
 *   users/NAME/inner_key     the inner private key the shim logs in with
 *   users/NAME/etc/          mounted read-only at /etc/sshbox in the container:
 *                            ssh_host_ed25519_key(.pub), authorized_keys
 *   users/NAME/recordings/   session recordings, SESSION.cast (asciicast v2)
 * Record keys: uid (required), image (required), memory, cpus, pids, fuse,
 * record (none, pty, pty+input: overrides the config's "record"),
 * and mount = HOSTPATH:CONTPATH[:ro] (repeatable, at most RECORD_MAX_MOUNTS). */
#ifndef SSHBOX_RECORD_H
#define SSHBOX_RECORD_H

#include <sys/types.h>

#include "config.h"
#include "err.h"

#define RECORD_MAX_MOUNTS 8
#define MOUNT_SPEC_MAX    512

struct user_record {
	uid_t uid;
	char image[CONFIG_STR_MAX];
	long long memory;    /* bytes, -1 = the config's default */
	long long nano_cpus; /* -1 = default */
	long pids;           /* -1 = default */
	int fuse;
	int record; /* RECORD_DEFAULT: the config's */
	int nmounts;
	char mounts[RECORD_MAX_MOUNTS][MOUNT_SPEC_MAX];
};

/* Checks HOSTPATH:CONTPATH[:ro]: absolute, normalised paths without ':' or
 * ',' and no "..". */
int mount_spec_valid(const char *spec);

void record_init(struct user_record *rec);
int record_parse(const char *text, size_t len, const char *name, struct user_record *ret_rec,
                 struct err *err);
int record_load(const struct config *cfg, const char *user, struct user_record *ret_rec,
                struct err *err);
/* Serialises rec into text (NUL-terminated, *ret_len bytes without it): what
 * record_parse made of it parses back to the same record. */
int record_format(const char *user, const struct user_record *rec, char *text, size_t size,
                  size_t *ret_len, struct err *err);
/* Serialises rec and writes it atomically. */
int record_store(const struct config *cfg, const char *user, const struct user_record *rec,
                 struct err *err);

/* Builds state_dir/users/USER[/leaf]; returns -1 if it does not fit. */
int user_path(const struct config *cfg, const char *user, const char *leaf, char *buf, size_t size);

#endif
