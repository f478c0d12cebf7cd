#include "kvfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int kv_parse(const char *text, size_t len, const char *name, kv_fn fn, void *ctx, struct err *err)
{
	char line[1024];
	size_t pos = 0;
	for (int lineno = 1; pos < len; lineno++) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		size_t n = end - pos;
		if (n >= sizeof(line))
			return err_set(err, EINVAL, "%s:%d: line is too long", name, lineno);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', n) != NULL)
			return err_set(err, EINVAL, "%s:%d: line holds a NUL byte", name, lineno);
		if (n > 0 && line[n - 1] == '\r')
			return err_set(err, EINVAL,
			               "%s:%d: line ends in CR (DOS line endings are not accepted)",
			               name, lineno);
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL)
			return err_set(err, EINVAL, "%s:%d: expected \"key = value\", got \"%s\"",
			               name, lineno, s);
		*eq = '\0';
		if (fn(ctx, trim(s), trim(eq + 1), err) < 0)
			return err_wrap(err, "%s:%d", name, lineno);
	}
	return 0;
}

int kv_read_file(const char *path, int nofollow, char *buf, size_t size, size_t *ret_len,
                 struct err *err)
{
	/* O_NONBLOCK: a FIFO or device put in a file's place must not hang the
	 * open; it is refused below as not a regular file. */
	cleanup_close int fd =
	    open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return err_sys(err, errno, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "%s is not a regular file", path);
	size_t len = 0;
	for (;;) {
		if (len + 1 >= size)
			return err_set(err, EFBIG, "%s is larger than %zu bytes", path, size - 1);
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "cannot read %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_len = len;
	return 0;
}
