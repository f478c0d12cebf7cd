#include "flags.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "clock.h"
#include "log.h"
#include "record.h"
#include "session.h"

static const struct {
	const char *name;
	const char *text;
} commands[] = {
    {"daemon", "#!/bin/sh\n"
               "# sshbox: keep this container running when no session is open.\n"
               ": > " FLAGS_MOUNT "/daemon || exit 1\n"
               "echo \"sshbox: daemon mode on: this container keeps running with no "
               "sessions ('nodaemon' reverts)\"\n"},
    {"nodaemon", "#!/bin/sh\n"
                 "# sshbox: stop this container again when its last session ends.\n"
                 "rm -f " FLAGS_MOUNT "/daemon || exit 1\n"
                 "echo \"sshbox: daemon mode off: this container stops when idle\"\n"},
    {"stopnow", "#!/bin/sh\n"
                "# sshbox: stop this container now, ending every session in it.\n"
                "echo \"sshbox: stopping this container now\"\n"
                ": > " FLAGS_MOUNT "/stopnow\n"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int inotify_fd = -1;

int flags_install_commands(const struct config *cfg, struct err *err)
{
	char dir[512], path[600];
	snprintf(dir, sizeof(dir), "%s/container-bin", cfg->state_dir);
	if (mkdir(cfg->state_dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", cfg->state_dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, commands[i].name);
		if (atomic_write(path, commands[i].text, strlen(commands[i].text), 0755, err) < 0)
			return -1;
	}
	return 0;
}

static int flag_dir(const struct config *cfg, const char *user, char *buf, size_t size)
{
	return user_path(cfg, user, "flags", buf, size);
}

int flags_prepare(const struct config *cfg, const char *user, struct err *err)
{
	char dir[512];
	if (flag_dir(cfg, user, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	return 0;
}

int flags_daemon(const struct config *cfg, const char *user)
{
	char dir[512];
	struct stat st;
	if (flag_dir(cfg, user, dir, sizeof(dir)) < 0)
		return 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	int on = fstatat(dfd, "daemon", &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return on;
}

int flags_binds(const struct config *cfg, const char *user, char binds[][600], int max)
{
	char dir[512];
	int n = 0;
	if (max < 1 + (int)N_COMMANDS || flag_dir(cfg, user, dir, sizeof(dir)) < 0)
		return -1;
	snprintf(binds[n++], 600, "%s:" FLAGS_MOUNT ":rw", dir);
	for (size_t i = 0; i < N_COMMANDS; i++)
		snprintf(binds[n++], 600, "%s/container-bin/%s:/usr/local/bin/%s:ro",
		         cfg->state_dir, commands[i].name, commands[i].name);
	return n;
}

void flags_watch(const struct config *cfg, const char *user)
{
	char dir[512];
	struct user_state *u = state_user(user);
	if (u == NULL || inotify_fd < 0 || flag_dir(cfg, user, dir, sizeof(dir)) < 0)
		return;
	int wd = inotify_add_watch(inotify_fd, dir,
	                           IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
	                               IN_DONT_FOLLOW | IN_ONLYDIR);
	if (wd < 0) {
		log_warn("user \"%s\": cannot watch %s: %m", user, dir);
		return;
	}
	state_lock();
	u->flags_watch = wd;
	state_unlock();
}

static struct user_state *user_by_watch(int wd)
{
	struct user_state *found = NULL;
	state_lock();
	for (struct user_state *u = state_first(); u != NULL && found == NULL; u = u->next)
		if (u->flags_watch == wd)
			found = u;
	state_unlock();
	return found;
}

static void on_event(const struct inotify_event *ev)
{
	struct user_state *u = user_by_watch(ev->wd);
	if (u == NULL || ev->len == 0)
		return;
	int created = (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
	struct config cfg;
	state_config_get(&cfg);
	if (created && strcmp(ev->name, "stopnow") == 0) {
		char dir[512], path[600];
		flag_dir(&cfg, u->name, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/stopnow", dir);
		unlink(path); /* removes the name itself, whatever it is */
		log_info("user \"%s\": stopnow from inside the container", u->name);
		idle_stop_now(u);
	} else if (strcmp(ev->name, "daemon") == 0) {
		log_info("user \"%s\": daemon mode %s", u->name, created ? "on" : "off");
		if (!created) {
			state_lock();
			if (u->sessions == 0 && u->stop_at == 0)
				idle_schedule(u,
				              mono_ms() + (long long)cfg.idle_grace_seconds * 1000);
			state_unlock();
		}
	}
}

static void *watcher(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(inotify_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("flag watcher: read: %m");
			return NULL;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			on_event(ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

int flags_start_watcher(struct err *err)
{
	inotify_fd = inotify_init1(IN_CLOEXEC);
	if (inotify_fd < 0)
		return err_sys(err, errno, "inotify_init1");
	pthread_t t;
	if (pthread_create(&t, NULL, watcher, NULL) != 0)
		return err_set(err, EAGAIN, "cannot start the flag watcher");
	return 0;
}
