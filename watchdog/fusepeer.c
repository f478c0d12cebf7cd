#include "fusepeer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "box.h"
#include "engine.h"
#include "session.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5: a pidfd of the peer as it connected */
#endif

/* Who connected, from the kernel: a pidfd of the peer itself when the
 * kernel gives one (6.5+), else one opened from its pid (which a process
 * that exited at once could have handed on; it must pass the namespace
 * check all the same). */
int fusepeer_get(int sock, struct fuse_peer *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	ret->pid = cred.pid;
	ret->uid = cred.uid;
	ret->pidfd = -1;
	len = sizeof(ret->pidfd);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &ret->pidfd, &len) < 0 || ret->pidfd < 0)
		ret->pidfd = cred.pid > 0 ? pidfd_open(cred.pid, 0) : -1;
	if (ret->pidfd >= 0)
		fcntl(ret->pidfd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* One namespace of pid, as (dev, ino), and for "mnt" optionally its fd. */
static int ns_id(pid_t pid, const char *ns, struct stat *ret, int *ret_fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fstat(fd, ret);
	if (rc == 0 && ret_fd != NULL)
		*ret_fd = fd;
	else
		close(fd);
	return rc;
}

/* The mount, pid and network namespaces of the process pidfd refers to
 * (pid is its number): read through /proc, then the pidfd proves the
 * number still named that process while we read. */
static int namespaces_of(pid_t pid, int pidfd, struct stat ret[3], int *ret_mntns_fd)
{
	static const char *const names[] = {"mnt", "pid", "net"};
	int mntfd = -1;
	for (int i = 0; i < 3; i++)
		if (ns_id(pid, names[i], &ret[i], i == 0 ? &mntfd : NULL) < 0)
			goto fail;
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		goto fail;
	if (ret_mntns_fd != NULL)
		*ret_mntns_fd = mntfd;
	else
		close(mntfd);
	return 0;
fail:
	if (mntfd >= 0)
		close(mntfd);
	return -1;
}

static int same_ns(const struct stat a[3], const struct stat b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i].st_dev != b[i].st_dev || a[i].st_ino != b[i].st_ino)
			return 0;
	return 1;
}

/* The caller must be a process of this user's running container: its
 * namespaces equal the container init's (pid from the engine). Fills the
 * target for fusemount and the namespace the mounts are recorded under. */
int fusepeer_check(const char *user, const struct fuse_peer *p, struct fusemount_target *ret_t,
                   struct stat *ret_mntns, struct err *err)
{
	struct config cfg;
	struct engine *e = NULL;
	struct container_info info;
	struct stat peer[3], init[3];
	state_config_get(&cfg);
	if (engine_open(&cfg, &e, err) < 0)
		return -1;
	int found = box_lookup(e, &cfg, user, &info, err);
	engine_close(e);
	if (found < 0)
		return -1;
	if (found == 0 || !info.running)
		return err_set(err, ESRCH, "the container of user \"%s\" is not running", user);
	int init_pidfd = pidfd_open(info.pid, 0);
	int mntfd = -1;
	if (init_pidfd < 0 || namespaces_of(info.pid, init_pidfd, init, &mntfd) < 0) {
		int e2 = errno;
		if (init_pidfd >= 0)
			close(init_pidfd);
		return err_sys(err, e2, "cannot read the namespaces of the container's init");
	}
	if (p->pidfd < 0 || namespaces_of(p->pid, p->pidfd, peer, NULL) < 0 ||
	    !same_ns(peer, init)) {
		close(init_pidfd);
		close(mntfd);
		return err_set(err, EPERM,
		               "pid %d is not a process of the container of user \"%s\"",
		               (int)p->pid, user);
	}
	ret_t->init_pidfd = init_pidfd;
	ret_t->mntns_fd = mntfd;
	*ret_mntns = init[0];
	return 0;
}
