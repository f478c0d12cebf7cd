#include "swarm_sshd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "bundlebuild.h"

#define TASK_ENV "SSHBOX_TASK"

static int is_ours(const char *target)
{
	return strcmp(target, BUNDLE_MOUNT) == 0 || strcmp(target, "/run/sshd") == 0 ||
	       strcmp(target, SWARM_FENCE_MOUNT) == 0;
}

/* STATE/users/USER/fence under the given state dir. */
static int fence_dir(const char *state_dir, const char *user, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/users/%s/fence", state_dir, user);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void swarm_sshd_spec(const char *home_state_dir, const char *user, json_t *cs)
{
	char src[CONFIG_STR_MAX + 32], fence[CONFIG_STR_MAX + 128];
	json_t *old = json_object_get(cs, "Mounts");
	json_t *mounts = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(old, i, m)
	{
		const char *target = json_string_value(json_object_get(m, "Target"));
		if (target == NULL || !is_ours(target))
			json_array_append(mounts, m);
	}
	/* The home node's own bundle, built by its watchdog at start, and the
	 * user's fence dir, under the state dir it publishes (label
	 * sshbox.flags, swarm_flags.h). */
	if (bundle_current_in(home_state_dir, src, sizeof(src)) == 0)
		json_array_append_new(mounts,
		                      json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source", src,
		                                "Target", BUNDLE_MOUNT, "ReadOnly", 1));
	if (fence_dir(home_state_dir, user, fence, sizeof(fence)) == 0)
		json_array_append_new(mounts,
		                      json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source",
		                                fence, "Target", SWARM_FENCE_MOUNT, "ReadOnly", 1));
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:{s:i}}", "Type", "tmpfs", "Target",
	                                        "/run/sshd", "TmpfsOptions", "Mode", 0755));
	json_object_set_new(cs, "Mounts", mounts);
	/* Swarm's template: each task's own id (the gate's token name). */
	json_t *env = json_object_get(cs, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cs, "Env", env);
	}
	json_array_append_new(env, json_string(TASK_ENV "={{.Task.ID}}"));
	/* Nothing but the gate runs before the fence: not the image's
	 * HEALTHCHECK either (the engine execs it from the start). */
	json_object_set_new(cs, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
	json_object_set_new(cs, "Command",
	                    json_pack("[s,s,s,s,s,s,s,s]", BUNDLE_MOUNT "/" BUNDLE_GATE,
	                              SWARM_FENCE_MOUNT, "--", BUNDLE_MOUNT "/sshd", "-D", "-e",
	                              "-f", BUNDLE_MOUNT "/sshd_config"));
}

int swarm_sshd_fence_dir(const struct config *cfg, const char *user, struct err *err)
{
	char dir[CONFIG_STR_MAX + 128];
	struct stat st;
	if (fence_dir(cfg->state_dir, user, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return err_set(err, EEXIST, "%s is not a root-owned directory", dir);
	return 0;
}

int swarm_sshd_release(const struct config *cfg, const char *user, const char *task,
                       struct err *err)
{
	char dir[CONFIG_STR_MAX + 128];
	size_t n = strlen(task);
	if (n == 0 || n > 64 || strspn(task, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
		return err_set(err, EINVAL, "task id \"%.80s\" is not a swarm task id", task);
	if (swarm_sshd_fence_dir(cfg, user, err) < 0)
		return -1;
	fence_dir(cfg->state_dir, user, dir, sizeof(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return err_sys(err, errno, "cannot open %s", dir);
	DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 0));
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, task) != 0)
			unlinkat(dfd, de->d_name, 0);
	if (d != NULL)
		closedir(d);
	int fd = openat(dfd, task, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	int saved = errno;
	close(dfd);
	if (fd < 0)
		return err_sys(err, saved, "cannot create %s/%s", dir, task);
	close(fd);
	return 0;
}
