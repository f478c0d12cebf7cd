#include "fusedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "atomicfile.h"
#include "libexec.h"

#define CLIENT_NAME      "sshbox-fuse"
#define CLIENT_MAX_BYTES (16 << 20)

/* The static client (libexec.h). */
static int read_client(char **ret_data, size_t *ret_len, struct err *err)
{
	char path[PATH_MAX + 32];
	if (libexec_path(CLIENT_NAME, path, sizeof(path)) < 0)
		return err_set(err, ENAMETOOLONG, "the FUSE client's path is too long");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return err_sys(err, errno, "cannot open the FUSE client %s", path);
	struct stat st;
	char *data = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > CLIENT_MAX_BYTES || (data = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return err_set(err, EINVAL, "%s is not a usable client binary", path);
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(data);
		return err_set(err, EIO, "cannot read %s", path);
	}
	*ret_data = data;
	*ret_len = got;
	return 0;
}

/* state/users/NAME/fuse: root's, 0755, a real directory. */
static int make_dir(const char *dir, struct err *err)
{
	struct stat st;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return err_set(err, EEXIST, "%s is not a root-owned directory", dir);
	if ((st.st_mode & 07777) != 0755 && chmod(dir, 0755) < 0)
		return err_sys(err, errno, "cannot chmod %s", dir);
	return 0;
}

static int install_client(const char *dir, struct err *err)
{
	char path[600];
	cleanup_free char *data = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/" CLIENT_NAME, dir);
	if (read_client(&data, &len, err) < 0)
		return -1;
	return atomic_write(path, data, len, 0755, err);
}

/* A fresh socket, root's and 0600: only the container's root may ask. */
int fusedir_listen(const char *dir, struct err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir) >=
	    sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s/sock is too long", dir);
	unlink(sa.sun_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(err, errno, "socket");
	mode_t old = umask(0177);
	int rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(s, 16) < 0) {
		int e = errno;
		close(s);
		return err_sys(err, e, "cannot listen on %s", sa.sun_path);
	}
	return s;
}

int fusedir_prepare(const char *dir, int refresh_client, struct err *err)
{
	char client[600];
	struct stat st;
	if (make_dir(dir, err) < 0)
		return -1;
	snprintf(client, sizeof(client), "%s/" CLIENT_NAME, dir);
	if (refresh_client || lstat(client, &st) < 0)
		return install_client(dir, err);
	return 0;
}
