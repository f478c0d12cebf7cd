#include "pidfd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

int pidfd_alive(int pidfd)
{
	return pidfd_send_signal(pidfd, 0, NULL, 0) == 0;
}

/* /proc/PID/cgroup names the container's cgroup, which holds its full id
 * (docker: /docker/ID or docker-ID.scope; podman: libpod-ID). */
static int in_container_cgroup(pid_t pid, const char *container_id)
{
	char buf[8192];
	return pidfd_proc_read(pid, "cgroup", buf, sizeof(buf)) > 0 && strlen(container_id) >= 12 &&
	       strstr(buf, container_id) != NULL;
}

ssize_t pidfd_proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

int pidfd_of_container(pid_t pid, const char *container_id, struct err *err)
{
	if (pid <= 1)
		return err_set(err, ESRCH, "container %.12s has no init process", container_id);
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return err_sys(err, errno, "container %.12s: init process %d is gone", container_id,
		               (int)pid);
	/* The pidfd came first: if its process was still alive after the check,
	 * /proc/PID during the check was that same process, not a reuse. */
	if (!in_container_cgroup(pid, container_id) || !pidfd_alive(fd)) {
		close(fd);
		return err_set(err, ESRCH,
		               "container %.12s: process %d is no longer its init (restarted?)",
		               container_id, (int)pid);
	}
	return fd;
}
