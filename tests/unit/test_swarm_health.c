/* Unit tests of the swarm health verdict (issue 14, design-cluster 3.9):
 * which line /info's answer turns into. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "swarm_health.h"

static const char what[] = "your container cannot be started or stopped now";

static struct swarm_health manager(const char *error)
{
	struct swarm_health h;
	memset(&h, 0, sizeof(h));
	snprintf(h.state, sizeof(h.state), "active");
	snprintf(h.error, sizeof(h.error), "%s", error);
	h.manager = 1;
	h.reachable = -1;
	return h;
}

static void healthy(void **state)
{
	(void)state;
	struct err err = {0};
	struct swarm_health h = manager("");
	h.managers = 3;
	assert_int_equal(swarm_health_check(&h, what, &err), 0);
}

static void no_leader(void **state)
{
	(void)state;
	struct err err = {0};
	struct swarm_health h =
	    manager("rpc error: code = Unknown desc = The swarm does not have a leader. It's "
	            "possible that too few managers are online.");
	h.naddr = 3;
	h.managers = 3;
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_non_null(strstr(err.msg, "the cluster has no manager quorum (no leader"));
	assert_non_null(strstr(err.msg, what));
	assert_int_equal(err.code, SWARM_ENOLEADER); /* not counted: it may come back */
	h.reachable = 1;
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_int_equal(err.code, SWARM_ENOQUORUM);
	assert_non_null(strstr(err.msg, "(1 of its 3 managers reachable, more than 1 needed)"));
	h.reachable = 2; /* a majority: an election, not a lost quorum */
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_int_equal(err.code, SWARM_ENOLEADER);
	assert_non_null(strstr(err.msg, "an election is under way"));
}

static void silent_and_other(void **state)
{
	(void)state;
	struct err err = {0};
	struct swarm_health h = manager("");
	h.silent = 1;
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_int_equal(err.code, SWARM_ENOLEADER);
	assert_non_null(strstr(err.msg, "did not answer"));
	h.naddr = 3; /* the managers /info named before: tried */
	h.reachable = 1;
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_int_equal(err.code, SWARM_ENOQUORUM);
	h = manager("rpc error: code = DeadlineExceeded desc = context deadline exceeded");
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_non_null(strstr(err.msg, "managers cannot serve (rpc error"));
}

static void not_a_manager(void **state)
{
	(void)state;
	struct err err = {0};
	struct swarm_health h = manager("");
	snprintf(h.state, sizeof(h.state), "inactive");
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_int_equal(err.code, ENOTCONN);
	assert_non_null(strstr(err.msg, "not an active swarm member (inactive)"));
	h = manager("");
	h.manager = 0;
	assert_int_equal(swarm_health_check(&h, what, &err), -1);
	assert_non_null(strstr(err.msg, "not a swarm manager"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(healthy),
	    cmocka_unit_test(no_leader),
	    cmocka_unit_test(silent_and_other),
	    cmocka_unit_test(not_a_manager),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
