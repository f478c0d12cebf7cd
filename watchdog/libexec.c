#include "libexec.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int libexec_path(const char *name, char *buf, size_t size)
{
	char self[PATH_MAX];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		const char *dir = dirname(self);
		static const char *const rel[] = {"", "/../libexec/sshbox", NULL};
		for (int i = 0; rel[i] != NULL; i++) {
			int m = snprintf(buf, size, "%s%s/%s", dir, rel[i], name);
			if (m > 0 && (size_t)m < size && lstat(buf, &st) == 0 &&
			    S_ISREG(st.st_mode))
				return 0;
		}
	}
	int m = snprintf(buf, size, "%s/sshbox/%s", SSHBOX_LIBEXECDIR, name);
	return m < 0 || (size_t)m >= size ? -1 : 0;
}
