#include "direct.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSHD_PORT_HEX   "0016"
#define TCP_ESTABLISHED "01"

/* The shim's connections arrive on 127.0.0.1 (or ::1) inside the container;
 * anything else established on port 22 came from outside. */
static int is_loopback(const char *addr, int v6)
{
	if (!v6)
		return strncmp(addr, "0100007F", 8) == 0;
	return strcmp(addr, "00000000000000000000000001000000") == 0 ||
	       strcmp(addr, "0000000000000000FFFF00000100007F") == 0;
}

int direct_sessions_parse(const char *text, int v6)
{
	int count = 0;
	const char *line = strchr(text, '\n'); /* skip the header */
	while (line != NULL && *++line) {
		char local[64], remote[64], st[8];
		if (sscanf(line, "%*d: %63s %63s %7s", local, remote, st) == 3) {
			char *colon = strchr(local, ':');
			if (colon != NULL && strcmp(colon + 1, SSHD_PORT_HEX) == 0 &&
			    strcmp(st, TCP_ESTABLISHED) == 0) {
				*colon = '\0';
				if (!is_loopback(local, v6))
					count++;
			}
		}
		line = strchr(line, '\n');
	}
	return count;
}

static int count_file(pid_t pid, const char *name, int v6)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	enum { MAX = 1024 * 1024 };
	char *buf = malloc(MAX);
	if (buf == NULL) {
		close(fd);
		return 0;
	}
	size_t len = 0;
	ssize_t n;
	while (len < MAX - 1 && (n = read(fd, buf + len, MAX - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	int count = direct_sessions_parse(buf, v6);
	free(buf);
	return count;
}

int direct_sessions(pid_t pid)
{
	return count_file(pid, "tcp", 0) + count_file(pid, "tcp6", 1);
}
