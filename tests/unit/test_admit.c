/* The watchdog's admission caps as a function of its descriptor limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "admit.h"

static void caps_leave_headroom(void **state)
{
	(void)state;
	struct admit_caps c = admit_caps_for(65536);
	assert_int_equal(c.total, 65536 - 32 - 8192);
	assert_int_equal(c.per_uid, ADMIT_MAX_PER_UID);
	c = admit_caps_for(1024);
	assert_int_equal(c.total, 1024 - 32 - 128);
	c = admit_caps_for(96);
	assert_int_equal(c.total, 52); /* test_stall.sh relies on this */
}

static void caps_never_zero_or_negative(void **state)
{
	(void)state;
	for (long long n = 0; n < 64; n++) {
		struct admit_caps c = admit_caps_for(n);
		assert_true(c.total >= 1);
		assert_true(c.per_uid >= 1 && c.per_uid <= c.total);
	}
}

static void caps_bounded_for_huge_limits(void **state)
{
	(void)state;
	struct admit_caps c = admit_caps_for(1LL << 40);
	assert_int_equal(c.total, 1 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(caps_leave_headroom),
	    cmocka_unit_test(caps_never_zero_or_negative),
	    cmocka_unit_test(caps_bounded_for_huge_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
