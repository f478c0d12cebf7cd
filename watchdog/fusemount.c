#include "fusemount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fuseproto.h"
#include "log.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8: ids never reused */
#endif

/* Where the child stopped, for the parent's message. */
enum step {
	STEP_DONE,
	STEP_SETNS,
	STEP_ROOT,
	STEP_OPEN,
	STEP_FSOPEN,
	STEP_FSCONFIG,
	STEP_FSMOUNT,
	STEP_MOVE,
	STEP_LEGACY,
	STEP_MNTID,
	STEP_NOT_OURS,
	STEP_UMOUNT,
};

struct result {
	int step;
	int code;
	uint64_t mnt_id;
};

/* What the child needs, all prepared before fork: after fork in a threaded
 * process the child makes system calls only (no malloc, no stdio). */
struct job {
	const struct fusemount_target *t;
	const char *path;
	const char *subtype;
	char parent[FUSE_PATH_MAX]; /* unmount: the directory holding the mount point */
	const char *base;           /* and the mount point's name in it */
	char fd_text[16];
	char legacy_type[64];
	char legacy_opts[128];
	int fuse_fd;
	int umount;
	uint64_t want_mnt_id;
};

static int enter_mntns(const struct fusemount_target *t)
{
	if (setns(t->init_pidfd, CLONE_NEWNS) == 0)
		return 0;
	return setns(t->mntns_fd, CLONE_NEWNS);
}

/* The directory at path, resolved as if the container's root were "/"
 * (it is, after setns), through no symlink and no /proc magic link. */
static int open_in_container(const char *path)
{
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -2;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	                       .resolve =
	                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS};
	int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	int saved = errno;
	close(root);
	errno = saved;
	return fd;
}

static int mount_id_of(int fd, uint64_t *ret)
{
	struct statx stx;
	/* DONT_SYNC: a stalled FUSE server must not hold us here. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID_UNIQUE | STATX_MNT_ID,
	          &stx) < 0)
		return -1;
	if (!(stx.stx_mask & (STATX_MNT_ID | STATX_MNT_ID_UNIQUE))) {
		errno = EOPNOTSUPP;
		return -1;
	}
	*ret = stx.stx_mnt_id;
	return 0;
}

/* The new mount API; mount(2) when the kernel lacks it. */
static struct result do_mount(const struct job *j, int target)
{
	struct result r = {STEP_DONE, 0, 0};
	int fs = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fs < 0 && errno == ENOSYS) {
		/* mount(2) on "." after fchdir: the directory checked above, not
		 * whatever the path names by now. */
		if (fchdir(target) < 0 || mount(j->subtype, ".", j->legacy_type,
		                                MS_NOSUID | MS_NODEV, j->legacy_opts) < 0)
			return (struct result){STEP_LEGACY, errno, 0};
		int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (here < 0 || mount_id_of(here, &r.mnt_id) < 0)
			return (struct result){STEP_MNTID, errno, 0};
		return r;
	}
	if (fs < 0)
		return (struct result){STEP_FSOPEN, errno, 0};
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", j->subtype, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "subtype", j->subtype, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "fd", j->fd_text, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "rootmode", "40000", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "user_id", "0", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "group_id", "0", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "allow_other", NULL, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return (struct result){STEP_FSCONFIG, errno, 0};
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return (struct result){STEP_FSMOUNT, errno, 0};
	if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return (struct result){STEP_MOVE, errno, 0};
	if (mount_id_of(mnt, &r.mnt_id) < 0)
		return (struct result){STEP_MNTID, errno, 0};
	return r;
}

/* By name in the opened parent: nothing is looked up inside the FUSE file
 * system, so a dead or stalled server cannot stop it, and a mount point
 * cannot be renamed away (EBUSY) between the check and the unmount. */
static struct result do_umount(const struct job *j)
{
	int parent = open_in_container(j->parent);
	if (parent == -2)
		return (struct result){STEP_ROOT, errno, 0};
	if (parent < 0)
		return (struct result){STEP_OPEN, errno, 0};
	struct statx stx;
	if (statx(parent, j->base, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
	          STATX_MNT_ID_UNIQUE | STATX_MNT_ID, &stx) < 0)
		return (struct result){STEP_OPEN, errno, 0};
	if (!(stx.stx_mask & (STATX_MNT_ID | STATX_MNT_ID_UNIQUE)))
		return (struct result){STEP_MNTID, EOPNOTSUPP, 0};
	if (stx.stx_mnt_id != j->want_mnt_id)
		return (struct result){STEP_NOT_OURS, 0, 0};
	if (fchdir(parent) < 0 || umount2(j->base, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		return (struct result){STEP_UMOUNT, errno, 0};
	return (struct result){STEP_DONE, 0, stx.stx_mnt_id};
}

static struct result child_work(const struct job *j)
{
	if (enter_mntns(j->t) < 0)
		return (struct result){STEP_SETNS, errno, 0};
	if (j->umount)
		return do_umount(j);
	int target = open_in_container(j->path);
	if (target == -2)
		return (struct result){STEP_ROOT, errno, 0};
	if (target < 0)
		return (struct result){STEP_OPEN, errno, 0};
	return do_mount(j, target);
}

static int explain(const struct job *j, const struct result *r, struct err *err)
{
	const char *p = j->path;
	switch (r->step) {
	case STEP_DONE:
		return 0;
	case STEP_OPEN:
		if (r->code == ELOOP)
			return err_set(err, ELOOP,
			               "\"%s\" passes through a symbolic link in the container; "
			               "give the real path",
			               p);
		if (r->code == ENOENT)
			return err_set(err, ENOENT, "\"%s\" does not exist in the container", p);
		if (r->code == ENOTDIR)
			return err_set(err, ENOTDIR, "\"%s\" is not a directory in the container",
			               p);
		if (r->code == EXDEV)
			return err_set(err, EXDEV, "\"%s\" leads out of the container's root", p);
		return err_sys(err, r->code, "cannot open \"%s\" in the container", p);
	case STEP_NOT_OURS:
		return err_set(err, EPERM,
		               "\"%s\" is not a FUSE mount that sshbox made in this container", p);
	case STEP_MNTID:
		return err_sys(err, r->code, "cannot identify the mount at \"%s\"", p);
	case STEP_SETNS:
		return err_sys(err, r->code, "cannot enter the container's mount namespace");
	case STEP_UMOUNT:
		return err_sys(err, r->code, "cannot unmount \"%s\"", p);
	default:
		return err_sys(err, r->code, "cannot mount FUSE at \"%s\" (step %d)", p, r->step);
	}
}

/* In the child: every inherited descriptor but the ones it needs, so a child
 * stuck on a stalled FUSE server holds nothing of other users (their
 * sessions' sockets, their /dev/fuse). Only close_range: async-signal-safe. */
static void close_all_but(int *keep, int n)
{
	for (int i = 1; i < n; i++) /* insertion sort: n is 4 */
		for (int k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
			int t = keep[k];
			keep[k] = keep[k - 1];
			keep[k - 1] = t;
		}
	unsigned int low = 3;
	for (int i = 0; i < n; i++) {
		if (keep[i] < (int)low)
			continue;
		if ((unsigned int)keep[i] > low)
			close_range(low, (unsigned int)keep[i] - 1, 0);
		low = (unsigned int)keep[i] + 1;
	}
	close_range(low, ~0U, 0);
}

static void *reap(void *arg)
{
	pid_t pid = *(pid_t *)arg;
	free(arg);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A killed child in uninterruptible sleep (on a FUSE server that never
 * answers) may take long to die: it is reaped on a thread of its own. */
static void reap_killed(pid_t pid)
{
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		usleep(10000);
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pid_t *arg = malloc(sizeof(*arg));
	if (arg != NULL)
		*arg = pid;
	if (arg == NULL || pthread_create(&t, &attr, reap, arg) != 0) {
		free(arg);
		log_warn("fuse: cannot reap a stuck mount child, pid %d", (int)pid);
	}
	pthread_attr_destroy(&attr);
}

/* Runs the job in a child with a deadline; a child stuck on a stalled FUSE
 * server (a lookup below another FUSE mount) is killed. */
static int run_child(const struct job *j, int timeout_ms, uint64_t *ret_mnt_id, struct err *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(err, e, "fork");
	}
	if (pid == 0) {
		int keep[] = {pfd[1], j->t->init_pidfd, j->t->mntns_fd,
		              j->umount ? -1 : j->fuse_fd};
		close_all_but(keep, 4);
		struct result r = child_work(j);
		ssize_t n = write(pfd[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(pfd[1]);
	struct result r = {STEP_DONE, 0, 0};
	ssize_t got = -1;
	long long deadline = mono_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - mono_ms();
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int n = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			got = read(pfd[0], &r, sizeof(r));
		break;
	}
	close(pfd[0]);
	if (got != (ssize_t)sizeof(r)) {
		kill(pid, SIGKILL); /* our own unreaped child: the pid is still it */
		reap_killed(pid);
	} else {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (got != (ssize_t)sizeof(r))
		return err_set(err, ETIMEDOUT, "%s \"%s\" in the container did not finish in %d ms",
		               j->umount ? "unmounting" : "mounting", j->path, timeout_ms);
	if (r.step != STEP_DONE)
		return explain(j, &r, err);
	if (ret_mnt_id != NULL)
		*ret_mnt_id = r.mnt_id;
	return 0;
}

int fusemount_mount(const struct fusemount_target *t, const char *path, const char *subtype,
                    int fuse_fd, int timeout_ms, uint64_t *ret_mnt_id, struct err *err)
{
	struct job j = {.t = t, .path = path, .subtype = subtype, .fuse_fd = fuse_fd};
	snprintf(j.fd_text, sizeof(j.fd_text), "%d", fuse_fd);
	snprintf(j.legacy_type, sizeof(j.legacy_type), "fuse.%s", subtype);
	snprintf(j.legacy_opts, sizeof(j.legacy_opts),
	         "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fuse_fd);
	return run_child(&j, timeout_ms, ret_mnt_id, err);
}

int fusemount_umount(const struct fusemount_target *t, const char *path, uint64_t mnt_id,
                     int timeout_ms, struct err *err)
{
	struct job j = {.t = t, .path = path, .umount = 1, .want_mnt_id = mnt_id};
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || slash == NULL || slash[1] == '\0')
		return err_set(err, EINVAL, "\"%s\" is not an absolute path to a directory", path);
	snprintf(j.parent, sizeof(j.parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	j.base = slash + 1;
	return run_child(&j, timeout_ms, NULL, err);
}
