/* Unit tests of issue 15's pure parts: the metrics and busy-stop config
 * keys, the "why is it up" text, and the engine operation names the
 * failure counter is labelled with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "why.h"

static int parse_cfg(const char *text, struct config *cfg, struct err *err)
{
	return config_parse(text, strlen(text), "test.conf", cfg, err);
}

static void config_keys(void **state)
{
	struct config cfg;
	struct err err = {0};
	assert_int_equal(parse_cfg("", &cfg, &err), 0);
	assert_string_equal(cfg.metrics_listen, "");
	assert_int_equal(cfg.idle_busy_cpu_percent, 5);
	assert_int_equal(cfg.idle_busy_max_ms, 24LL * 3600 * 1000);
	assert_int_equal(parse_cfg("metrics_listen = 127.0.0.1:9102\nidle_busy_cpu_percent = 0\n"
	                           "idle_busy_max_hours = 0.0075\n",
	                           &cfg, &err),
	                 0);
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:9102");
	assert_int_equal(cfg.idle_busy_cpu_percent, 0);
	assert_int_equal(cfg.idle_busy_max_ms, 27000);
	assert_int_equal(parse_cfg("metrics_listen = unix:/run/sshbox/metrics.sock\n", &cfg, &err),
	                 0);
	assert_int_equal(parse_cfg("metrics_listen = off\nidle_busy_max_hours = 2\n", &cfg, &err),
	                 0);
	assert_string_equal(cfg.metrics_listen, "");
	assert_int_equal(cfg.idle_busy_max_ms, 7200000);
	assert_int_equal(parse_cfg("idle_busy_max_hours = .5\n", &cfg, &err), 0);
	assert_int_equal(cfg.idle_busy_max_ms, 1800000);
}

static void config_keys_bad(void **state)
{
	struct config cfg;
	struct err err = {0};
	static const char *const bad[] = {"metrics_listen = 0.0.0.0:9100\n",
	                                  "metrics_listen = 127.0.0.1:0\n",
	                                  "metrics_listen = 127.0.0.1:65536\n",
	                                  "metrics_listen = [::1]:9100\n",
	                                  "metrics_listen = unix:relative\n",
	                                  "metrics_listen = 127.0.0.10:80\n",
	                                  "idle_busy_cpu_percent = -1\n",
	                                  "idle_busy_cpu_percent = 5%\n",
	                                  "idle_busy_max_hours = \n",
	                                  "idle_busy_max_hours = 1e3\n",
	                                  "idle_busy_max_hours = -1\n",
	                                  "idle_busy_max_hours = 0.0000001\n",
	                                  NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(parse_cfg(bad[i], &cfg, &err), -1);
	parse_cfg("metrics_listen = 0.0.0.0:9100\n", &cfg, &err);
	assert_non_null(strstr(err.msg, "\"metrics_listen\""));
	assert_non_null(strstr(err.msg, "127.0.0.1:PORT"));
}

static void why_texts(void **state)
{
	char buf[200];
	struct why w = {.found = 1,
	                .running = 1,
	                .known = 1,
	                .shim = 1,
	                .direct = 1,
	                .busy_tenths = -1,
	                .stop_in = -1,
	                .busy_left = -1};
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "2 sessions (1 shim, 1 direct)");
	w.direct = 0;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "1 session (1 shim, 0 direct)");
	w.shim = 0;
	w.daemon = 1;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "kept: daemon");
	w.daemon = 0;
	w.busy_tenths = 374;
	w.busy_left = 3 * 3600;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "busy: 37% CPU (stops when quiet, at the latest in 3 h)");
	w.busy_tenths = -1;
	w.stop_in = 40;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "stopping in 40 s");
	w.stop_in = -1;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "running, no stop pending");
	w.running = 0;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "stopped");
	w.found = 0;
	why_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "no container");
	why_duration(119, buf, sizeof(buf));
	assert_string_equal(buf, "119 s");
	why_duration(600, buf, sizeof(buf));
	assert_string_equal(buf, "10 min");
	why_duration(3 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "3 d");
}

static void engine_ops(void **state)
{
	assert_string_equal(engine_op_of("POST", "/containers/create?name=x"), "create");
	assert_string_equal(engine_op_of("POST", "/containers/abc/start"), "start");
	assert_string_equal(engine_op_of("POST", "/containers/abc/stop?t=10"), "stop");
	assert_string_equal(engine_op_of("GET", "/containers/abc/json"), "inspect");
	assert_string_equal(engine_op_of("GET", "/containers/json?all=1"), "list");
	assert_string_equal(engine_op_of("DELETE", "/containers/abc?force=1"), "remove");
	assert_string_equal(engine_op_of("POST", "/commit?container=abc"), "commit");
	assert_string_equal(engine_op_of("GET", "/images/x/json"), "image");
	assert_string_equal(engine_op_of("GET", "/events?filters=x"), "events");
	assert_string_equal(engine_op_of("GET", "/_ping"), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config_keys),
	    cmocka_unit_test(config_keys_bad),
	    cmocka_unit_test(why_texts),
	    cmocka_unit_test(engine_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
