#include "atomicfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Removes "NAME.tmp.PID" leftovers of writers that were killed between
 * naming their file and renaming it (PID no longer alive). */
static void sweep_stale(int dfd, const char *base)
{
	DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
	if (d == NULL)
		return;
	size_t blen = strlen(base);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0)
			continue;
		char *end;
		long pid = strtol(n + blen + 5, &end, 10);
		if (*end == '\0' && pid > 0 && pid <= INT_MAX && kill((pid_t)pid, 0) < 0 &&
		    errno == ESRCH)
			unlinkat(dfd, n, 0);
	}
	closedir(d);
}

int atomic_write(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX], base[NAME_MAX + 1], fdpath[64];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return err_set(err, ENAMETOOLONG, "path %s is too long", path);
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", basename(dir));
	snprintf(dir, sizeof(dir), "%s", path);
	cleanup_close int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, errno, "cannot open the directory of %s", path);
	/* An unnamed file while it is written: a writer killed meanwhile leaves
	 * nothing behind. It gets a name only when whole and synced. */
	cleanup_close int fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	int named = fd < 0;
	if (named)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_sys(err, errno, "cannot create a file beside %s", path);
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		if (named)
			unlink(tmp);
		return err_sys(err, e, "cannot write %s", path);
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (!named && linkat(AT_FDCWD, fdpath, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0)
		return err_sys(err, errno, "cannot create %s", tmp);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return err_sys(err, e, "cannot rename %s to %s", tmp, path);
	}
	fsync(dfd);
	sweep_stale(dfd, base);
	return 0;
}
