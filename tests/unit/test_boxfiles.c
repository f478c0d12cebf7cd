/* What the bundled sshd needs in a container: the passwd lines added (only
 * when missing) and the archives that carry them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boxfiles.h"
#include "tar.h"

static char *passwd_of(const char *old)
{
	char *text = NULL;
	struct err err = {0};
	assert_int_equal(boxfiles_passwd(old, old ? strlen(old) : 0, &text, &err), 0);
	return text;
}

static void no_passwd_gets_a_minimal_one(void **state)
{
	(void)state;
	char *t = passwd_of(NULL);
	assert_string_equal(t, "root:x:0:0:root:/root:/bin/sh\n"
	                       "sshd:x:100:65534:sshd privsep:/run/sshd:/bin/false\n");
	free(t);
}

static void existing_users_are_kept_as_they_are(void **state)
{
	(void)state;
	const char *debian = "root:x:0:0:root:/root:/bin/bash\n"
	                     "sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n";
	char *t = passwd_of(debian);
	assert_string_equal(t, debian);
	free(t);
}

static void sshd_gets_a_free_uid_and_a_newline_first(void **state)
{
	(void)state;
	char *t = passwd_of("root:x:0:0::/root:/bin/sh\n_apt:x:100:65534::/x:/y\nu:x:101:1::/:/z");
	assert_string_equal(t,
	                    "root:x:0:0::/root:/bin/sh\n_apt:x:100:65534::/x:/y\nu:x:101:1::/:/z\n"
	                    "sshd:x:102:65534:sshd privsep:/run/sshd:/bin/false\n");
	free(t);
}

static void a_user_named_like_a_prefix_is_not_root(void **state)
{
	(void)state;
	char *t = passwd_of("rootless:x:1000:1000::/home/r:/bin/sh\nsshd:x:101:1::/run/sshd:/x\n");
	assert_non_null(strstr(t, "\nroot:x:0:0:root:/root:/bin/sh\n"));
	free(t);
}

static void nul_bytes_are_refused(void **state)
{
	(void)state;
	char *t = NULL;
	struct err err = {0};
	assert_int_equal(boxfiles_passwd("root\0x", 6, &t, &err), -1);
	assert_null(t);
}

static void tar_round_trip(void **state)
{
	(void)state;
	struct tar t = {0};
	struct err err = {0};
	assert_int_equal(tar_add(&t, "etc/passwd", '0', 0644, "abc\n", 4, &err), 0);
	assert_int_equal(tar_add(&t, "run/sshd", '5', 0755, NULL, 0, &err), 0);
	assert_int_equal(tar_finish(&t, &err), 0);
	assert_int_equal(t.len, 512 * 2 + 512 + 1024);
	assert_memory_equal(t.data + 257, "ustar", 6);
	const char *data = NULL;
	size_t len = 0;
	assert_int_equal(tar_first_file(t.data, t.len, &data, &len, &err), 1);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "abc\n", 4);
	/* A directory first: not a file. Cut short: malformed. */
	assert_int_equal(tar_first_file(t.data + 1024, t.len - 1024, &data, &len, &err), 0);
	assert_int_equal(tar_first_file(t.data, 600, &data, &len, &err), 1);
	assert_int_equal(tar_first_file(t.data, 100, &data, &len, &err), -1);
	tar_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_passwd_gets_a_minimal_one),
	    cmocka_unit_test(existing_users_are_kept_as_they_are),
	    cmocka_unit_test(sshd_gets_a_free_uid_and_a_newline_first),
	    cmocka_unit_test(a_user_named_like_a_prefix_is_not_root),
	    cmocka_unit_test(nul_bytes_are_refused),
	    cmocka_unit_test(tar_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
