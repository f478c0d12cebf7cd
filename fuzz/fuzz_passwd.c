/* What the watchdog reads back from a container before each start (issue
 * 18): the archive the engine answers for /etc/passwd, and that file, both
 * written by container root. The first file is found inside the input or
 * refused; the new passwd keeps the old one's bytes and has root and sshd. */
#include "fuzz.h"

#include "boxfiles.h"
#include "tar.h"

static int has_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(text, prefix, n) == 0)
		return 1;
	for (const char *p = strchr(text, '\n'); p != NULL; p = strchr(p + 1, '\n'))
		if (strncmp(p + 1, prefix, n) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *file = NULL;
	size_t len = 0;
	struct err err = {0};
	if (tar_first_file(in, size, &file, &len, &err) == 1)
		FUZZ_CHECK(file == in + 512 && len <= size - 512);
	char *text = NULL;
	if (boxfiles_passwd(in, size, &text, &err) == 0) {
		FUZZ_CHECK(memcmp(text, in, size) == 0);
		FUZZ_CHECK(has_line(text, "root:") && has_line(text, "sshd:"));
		FUZZ_CHECK(text[strlen(text) - 1] == '\n');
		free(text);
	} else {
		FUZZ_CHECK(text == NULL && err.msg[0] != '\0');
	}
	return 0;
}
