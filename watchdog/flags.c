#include "flags.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cluster.h"
#include "clock.h"
#include "audit.h"
#include "log.h"
#include "record.h"
#include "session.h"

/* Log lines one user's flag dir may cause per minute; the rest are counted. */
#define FLAG_LOG_PER_MINUTE 20

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

static int flag_dir(const struct config *cfg, const char *user, char *buf, size_t size)
{
	return user_path(cfg, user, "flags", buf, size);
}

/* The flag dir is a small tmpfs of its own: container root can create names
 * there, but never fill the disk that holds every user's state. */
static int mount_flag_fs(const char *dir, struct err *err)
{
	struct statfs fs;
	struct stat here, parent;
	char up[600];
	snprintf(up, sizeof(up), "%s/..", dir);
	if (statfs(dir, &fs) < 0 || stat(dir, &here) < 0 || stat(up, &parent) < 0)
		return err_sys(err, errno, "cannot inspect %s", dir);
	/* Mounted already (by an earlier watchdog): kept only as sshbox mounts
	 * it. noexec matters: a container's image decides where its mount
	 * points resolve (a symlinked /.sshbox), so nothing written here may
	 * ever run as the bundle would. */
	if (fs.f_type == TMPFS_MAGIC && here.st_dev != parent.st_dev) {
		unsigned long want = ST_NOSUID | ST_NODEV | ST_NOEXEC;
		if ((fs.f_flags & want) == want)
			return 0;
		if (mount(NULL, dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			return err_sys(err, errno,
			               "cannot remount the flag file system on %s noexec", dir);
		return 0;
	}
	if (mount(FLAGS_FS_SOURCE, dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          "size=" FLAGS_FS_SIZE ",nr_inodes=" FLAGS_FS_INODES ",mode=0755") < 0)
		return err_sys(err, errno, "cannot mount the flag file system on %s", dir);
	return 0;
}

/* 1 when path is a regular file holding exactly text (not followed). */
static int same_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	char buf[1024];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
	                    len <= sizeof(buf)
	                ? read(fd, buf, len)
	                : -1;
	close(fd);
	return n == (ssize_t)len && memcmp(buf, text, len) == 0;
}

/* The commands are the user's own read-only copies: no host file is shared
 * by every container. Written only when they differ, so a login still works
 * on a full state disk. */
static int write_commands(const struct config *cfg, const char *user, struct err *err)
{
	char dir[512], path[600];
	if (user_path(cfg, user, "bin", dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, commands[i].name);
		if (same_file(path, commands[i].text))
			continue;
		if (atomic_write(path, commands[i].text, strlen(commands[i].text), 0755, err) < 0)
			return -1;
	}
	return 0;
}

int flags_prepare(const struct config *cfg, const char *user, struct err *err)
{
	char dir[512];
	if (flag_dir(cfg, user, dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	if (mount_flag_fs(dir, err) < 0)
		return -1;
	return write_commands(cfg, user, err);
}

/* 1 when the name exists in the user's flag dir (never followed or opened). */
static int flag_present(const struct config *cfg, const char *user, const char *name)
{
	char dir[512];
	struct stat st;
	if (flag_dir(cfg, user, dir, sizeof(dir)) < 0)
		return 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	int on = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return on;
}

int flags_daemon(const struct config *cfg, const char *user)
{
	return flag_present(cfg, user, "daemon");
}

int flags_binds(const struct config *cfg, const char *user, char binds[][600], int max)
{
	char dir[512], bin[512];
	int n = 0;
	if (max < 1 + (int)N_COMMANDS || flag_dir(cfg, user, dir, sizeof(dir)) < 0 ||
	    user_path(cfg, user, "bin", bin, sizeof(bin)) < 0)
		return -1;
	snprintf(binds[n++], 600, "%s:" FLAGS_MOUNT ":rw", dir);
	for (size_t i = 0; i < N_COMMANDS; i++)
		snprintf(binds[n++], 600, "%s/%s:/usr/local/bin/%s:ro", bin, commands[i].name,
		         commands[i].name);
	return n;
}

/* A flood of flag changes must not flood the log: a few lines a minute per
 * user, then one line saying how many were left out. */
static int log_allowed(struct user_state *u)
{
	long long now = mono_ms();
	int allowed;
	state_lock();
	if (now - u->flag_log_window >= 60000) {
		if (u->flag_log_dropped > 0)
			log_warn(
			    "user \"%s\": %d more flag changes in the last minute (not logged)",
			    u->name, u->flag_log_dropped);
		u->flag_log_window = now;
		u->flag_log_count = 0;
		u->flag_log_dropped = 0;
	}
	allowed = u->flag_log_count++ < FLAG_LOG_PER_MINUTE;
	if (!allowed)
		u->flag_log_dropped++;
	state_unlock();
	return allowed;
}

static void on_stopnow(const struct config *cfg, struct user_state *u)
{
	char dir[512];
	flag_dir(cfg, u->name, dir, sizeof(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		/* The name itself, whatever it is (an empty directory too). */
		if (unlinkat(dfd, "stopnow", 0) < 0 && errno == EISDIR)
			unlinkat(dfd, "stopnow", AT_REMOVEDIR);
		close(dfd);
	}
	if (log_allowed(u))
		log_info("user \"%s\": stopnow from inside the container", u->name);
	audit_reason_set(u->name, "stop", "stopnow");
	cluster_ops(cfg)->stop_now(u);
}

static void on_daemon_off(const struct config *cfg, struct user_state *u)
{
	state_lock();
	if (u->sessions == 0 && u->stop_at == 0)
		idle_schedule(u, mono_ms() + (long long)cfg->idle_grace_seconds * 1000);
	state_unlock();
}

/* What the names say now, for a watch just set up (a stopnow left while no
 * watchdog ran) or after the kernel dropped events (queue overflow). */
static void rescan(const struct config *cfg, struct user_state *u)
{
	if (flag_present(cfg, u->name, "stopnow"))
		on_stopnow(cfg, u);
	else if (!flag_present(cfg, u->name, "daemon"))
		on_daemon_off(cfg, u);
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
	int fresh = u->flags_watch != wd;
	u->flags_watch = wd;
	state_unlock();
	if (fresh && flag_present(cfg, user, "stopnow"))
		on_stopnow(cfg, u);
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

static void rescan_all(const struct config *cfg)
{
	log_warn("flag watcher: the kernel dropped events; rescanning every flag dir");
	state_lock();
	struct user_state *first = state_first();
	state_unlock();
	/* Entries are never freed or unlinked, so the walk needs no lock. */
	for (struct user_state *u = first; u != NULL; u = u->next)
		if (u->flags_watch >= 0)
			rescan(cfg, u);
}

static void on_event(const struct inotify_event *ev)
{
	struct config cfg;
	state_config_get(&cfg);
	if (ev->mask & IN_Q_OVERFLOW) {
		rescan_all(&cfg);
		return;
	}
	struct user_state *u = user_by_watch(ev->wd);
	if (u == NULL || ev->len == 0)
		return;
	int created = (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
	if (created && strcmp(ev->name, "stopnow") == 0) {
		on_stopnow(&cfg, u);
	} else if (strcmp(ev->name, "daemon") == 0) {
		if (log_allowed(u))
			log_info("user \"%s\": daemon mode %s", u->name, created ? "on" : "off");
		if (!created)
			on_daemon_off(&cfg, u);
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
