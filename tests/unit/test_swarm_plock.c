/* Unit tests of the createuser lock's age (issue 14): the engine's
 * CreatedAt, read against a given now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "swarm_plock.h"

/* 2026-12-01T17:00:00Z */
#define T0 1796144400L

static void ages(void **state)
{
	(void)state;
	assert_int_equal(swarm_plock_age("2026-12-01T17:00:00.123456789Z", T0 + 5), 5);
	assert_int_equal(swarm_plock_age("2026-12-01T17:00:00Z", T0 + 121), 121);
	assert_int_equal(swarm_plock_age("2026-12-01T16:58:00.5Z", T0), 120);
	/* A manager's clock ahead of this node's: not negative. */
	assert_int_equal(swarm_plock_age("2026-12-01T17:00:09.1Z", T0), 0);
}

static void unreadable(void **state)
{
	(void)state;
	assert_int_equal(swarm_plock_age(NULL, T0), -1);
	assert_int_equal(swarm_plock_age("", T0), -1);
	assert_int_equal(swarm_plock_age("yesterday", T0), -1);
	assert_int_equal(swarm_plock_age("2026-12-01", T0), -1);
	assert_int_equal(swarm_plock_age("2026-12-01T17:00:00+01:00", T0), -1);
	assert_int_equal(swarm_plock_age("2026-13-01T17:00:00Z", T0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ages),
	    cmocka_unit_test(unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
