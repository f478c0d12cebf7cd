#include "hangup.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidfd.h"
#include "proto.h"

static int same_pidns(pid_t pid, const struct stat *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

static int has_session(pid_t pid, const char *needle, size_t nlen)
{
	char path[64], buf[32768];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	for (ssize_t i = 0; n > 0 && i + (ssize_t)nlen <= n;) {
		if (memcmp(buf + i, needle, nlen) == 0)
			return 1;
		const char *end = memchr(buf + i, '\0', (size_t)(n - i));
		if (end == NULL)
			break;
		i = end - buf + 1;
	}
	return 0;
}

/* One candidate: its pidfd is opened before anything is read about it, so
 * the signal reaches the process that was checked or, if that one exited
 * and the number was reused meanwhile, nobody. */
static int hangup_one(pid_t pid, const struct stat *ns, const char *needle, size_t nlen)
{
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return 0;
	int done = same_pidns(pid, ns) && has_session(pid, needle, nlen) &&
	           pidfd_send_signal(fd, SIGHUP, NULL, 0) == 0;
	close(fd);
	return done;
}

int hangup_session(pid_t container_init, const char *container_id, const char *session)
{
	char needle[PROTO_SESSION_LEN + 32], path[64];
	int nlen = snprintf(needle, sizeof(needle), "SSHBOX_SESSION=%s", session);
	struct err err = {0};
	struct stat ns;
	if (strlen(session) != PROTO_SESSION_LEN)
		return 0;
	int init = pidfd_of_container(container_init, container_id, &err);
	if (init < 0)
		return 0;
	/* The namespace read through /proc is the init's while its pidfd lives. */
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)container_init);
	int ok = stat(path, &ns) == 0 && pidfd_alive(init);
	close(init);
	if (!ok)
		return 0;
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 1 || pid == container_init || pid > INT_MAX)
			continue;
		/* nlen + 1: the NUL ends the variable, so a longer value cannot match. */
		count += hangup_one((pid_t)pid, &ns, needle, (size_t)nlen + 1);
	}
	closedir(d);
	return count;
}
