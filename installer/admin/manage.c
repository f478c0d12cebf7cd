/* sshbox cleanuser USER [--purge] and sshbox set USER KEY=VALUE... */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/mount.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "box.h"
#include "engine.h"
#include "names.h"
#include "record.h"
#include "run.h"

static int engine_delete(struct engine *e, const char *path, const char *what, struct err *err)
{
	static const long ok[] = {200, 204, 404, 0};
	return engine_call(e, "DELETE", path, NULL, 120, ok, what, NULL, err);
}

/* The named user's record; a missing one means "not an sshbox user". */
static int load_sshbox_user(const struct config *cfg, const char *user, struct user_record *ret_rec,
                            struct err *err)
{
	if (!user_name_valid(user))
		return err_set(err, EINVAL, "invalid user name \"%s\"", user);
	int in_swarm = cluster_record_load(cfg, user, ret_rec, err);
	if (in_swarm != 0)
		return in_swarm < 0 ? -1 : 0;
	if (record_load(cfg, user, ret_rec, err) == 0)
		return 0;
	if (err->code == ENOENT)
		return err_set(err, ENOENT, "\"%s\" is not an sshbox user (no record)", user);
	return -1; /* a damaged record: its own message names file and line */
}

int cmd_cleanuser(const struct config *cfg, int argc, char **argv, struct err *err)
{
	int purge = argc == 3 && strcmp(argv[2], "--purge") == 0;
	if (argc != 2 && !purge)
		return err_set(err, EINVAL, "usage: sshbox cleanuser USER [--purge]");
	const char *user = argv[1];
	struct user_record rec;
	if (load_sshbox_user(cfg, user, &rec, err) < 0)
		return -1;
	struct passwd *pw = getpwnam(user);
	struct group *gr = getgrnam(cfg->group);
	if (pw != NULL && (gr == NULL || pw->pw_uid != rec.uid))
		return err_set(err, EPERM, "account \"%s\" does not match its sshbox record", user);
	if (purge && cluster_purge_here(cfg, user, err) < 0)
		return -1;

	struct engine *e = NULL;
	char name[128], path[300];
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	box_container_name(cfg->instance, user, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/%s?force=1", name);
	int rc = engine_delete(e, path, "remove container", err);
	if (rc == 0)
		rc = cluster_deprovision(cfg, user, err);
	if (rc == 0 && purge) {
		box_volume_name(cfg->instance, user, name, sizeof(name));
		snprintf(path, sizeof(path), "/volumes/%s", name);
		rc = engine_delete(e, path, "remove home volume", err);
		box_image_name(cfg->instance, user, name, sizeof(name));
		snprintf(path, sizeof(path), "/images/%s", name);
		if (rc == 0)
			rc = engine_delete(e, path, "remove committed image", err);
		box_layer_image_name(cfg->instance, user, name, sizeof(name));
		snprintf(path, sizeof(path), "/images/%s", name);
		if (rc == 0 && cfg->engine_mode == ENGINE_MODE_SWARM)
			rc = engine_delete(e, path, "remove the saved layer image", err);
	}
	engine_close(e);
	if (rc < 0)
		return -1;
	if (pw != NULL) {
		char *kill_argv[] = {"/usr/bin/pkill", "-KILL", "-u", (char *)user, NULL};
		run_program(kill_argv, NULL); /* end the user's shims; no match is fine */
		char *ud[] = {"/usr/sbin/userdel", "--remove", (char *)user, NULL};
		if (run_program(ud, err) < 0)
			return err_wrap(err, "cannot remove account \"%s\"", user);
	}
	/* The flag dir is a tmpfs of its own (watchdog/flags.c): rm cannot
	 * remove a mount point. */
	char dir[512];
	user_path(cfg, user, "flags", dir, sizeof(dir));
	if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return err_sys(err, errno, "cannot unmount %s", dir);
	user_path(cfg, user, NULL, dir, sizeof(dir));
	char *rm[] = {"/bin/rm", "-rf", "--", dir, NULL};
	if (run_program(rm, err) < 0)
		return -1;
	printf("removed %s: container, account and sshbox state%s\n", user,
	       purge ? ", home volume and committed image"
	             : "; home volume and committed image kept");
	return 0;
}

static int set_one(const struct config *cfg, struct user_record *rec, const char *kv,
                   struct err *err)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL)
		return err_set(err, EINVAL, "expected KEY=VALUE, got \"%s\"", kv);
	char key[32];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	const char *v = eq + 1;
	int bad = 0;
	if (strcmp(key, "image") == 0) {
		if (image_check(cfg, v, err) < 0)
			return -1;
		snprintf(rec->image, sizeof(rec->image), "%s", v);
	} else if (strcmp(key, "memory") == 0) {
		bad = parse_size(v, &rec->memory) < 0;
	} else if (strcmp(key, "cpus") == 0) {
		bad = parse_cpus(v, &rec->nano_cpus) < 0;
	} else if (strcmp(key, "pids") == 0) {
		bad = parse_long(v, 1, 4194304, &rec->pids) < 0;
	} else if (strcmp(key, "fuse") == 0) {
		bad = parse_bool(v, &rec->fuse) < 0;
	} else if (strcmp(key, "record") == 0) {
		/* record= goes back to the config's setting */
		if (v[0] == '\0')
			rec->record = RECORD_DEFAULT;
		else
			bad = parse_record_mode(v, &rec->record) < 0;
	} else if (strcmp(key, "mount") == 0) {
		if (v[0] == '\0') {
			rec->nmounts = 0; /* mount= clears the list */
		} else if (!mount_spec_valid(v) || strlen(v) >= MOUNT_SPEC_MAX) {
			bad = 1;
		} else if (mount_host_exists(v, err) < 0) {
			return -1;
		} else if (rec->nmounts == RECORD_MAX_MOUNTS) {
			return err_set(err, EINVAL, "at most %d mounts", RECORD_MAX_MOUNTS);
		} else {
			strcpy(rec->mounts[rec->nmounts++], v);
		}
	} else if (strcmp(key, "node") == 0) {
		return err_set(err, EINVAL,
		               "\"node\" is not set this way: moving a user's container to another "
		               "node moves no data; see 'sshbox move USER NODE'");
	} else {
		return err_set(
		    err, EINVAL,
		    "unknown key \"%s\" (image, memory, cpus, pids, fuse, record, mount)", key);
	}
	if (bad)
		return err_set(err, EINVAL, "bad value \"%s\" for \"%s\"", v, key);
	return 0;
}

int cmd_set(const struct config *cfg, int argc, char **argv, struct err *err)
{
	if (argc < 3)
		return err_set(err, EINVAL, "usage: sshbox set USER KEY=VALUE...");
	const char *user = argv[1];
	struct user_record rec;
	if (load_sshbox_user(cfg, user, &rec, err) < 0)
		return -1;
	for (int i = 2; i < argc; i++)
		if (set_one(cfg, &rec, argv[i], err) < 0)
			return -1;
	if (cfg->engine_mode == ENGINE_MODE_SWARM) {
		/* The swarm's copy is the one logins read; a local one (the
		 * node createuser ran on) is kept the same. */
		struct user_record local;
		struct err ignored = {0};
		if (cluster_record_store(cfg, user, &rec, err) < 0 ||
		    (record_load(cfg, user, &local, &ignored) == 0 &&
		     record_store(cfg, user, &rec, err) < 0))
			return -1;
		printf("updated %s; this applies at the container's next start\n", user);
		return 0;
	}
	if (record_store(cfg, user, &rec, err) < 0)
		return -1;
	printf("updated %s; this applies when the container is next created (after the user's "
	       "'remove', or 'sshbox cleanuser')\n",
	       user);
	return 0;
}
