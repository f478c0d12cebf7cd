#include "hangup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

int hangup_session(pid_t container_init, const char *session)
{
	char needle[PROTO_SESSION_LEN + 32], path[64];
	int nlen = snprintf(needle, sizeof(needle), "SSHBOX_SESSION=%s", session);
	struct stat ns;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)container_init);
	if (strlen(session) != PROTO_SESSION_LEN || stat(path, &ns) < 0)
		return 0;
	/* nlen + 1: the NUL ends the variable, so a longer value cannot match. */
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 1 || pid == container_init)
			continue;
		if (same_pidns((pid_t)pid, &ns) &&
		    has_session((pid_t)pid, needle, (size_t)nlen + 1) &&
		    kill((pid_t)pid, SIGHUP) == 0)
			count++;
	}
	closedir(d);
	return count;
}
