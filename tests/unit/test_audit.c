/* Unit tests of issue 15's pure parts: the shim's audit data as the
 * watchdog checks it, the "end" and "record" requests, UTF-8 prefixes and
 * asciicast event lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asciicast.h"
#include "auditmsg.h"
#include "proto.h"
#include "utf8.h"

#define SUM "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int info_of(const char *text, struct audit_info *info, struct err *err)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	int rc = auditmsg_parse_info(j, info, err);
	json_decref(j);
	return rc;
}

static void audit_info_fields(void **state)
{
	struct audit_info info;
	struct err err = {0};
	assert_int_equal(info_of("{\"kind\":\"exec\",\"client\":\"192.0.2.1\",\"port\":5022,"
	                         "\"command\":\"ls\",\"command_bytes\":2,\"command_sha256\":\"" SUM
	                         "\"}",
	                         &info, &err),
	                 0);
	assert_string_equal(info.kind, "exec");
	assert_int_equal(info.port, 5022);
	assert_int_equal(info.command_bytes, 2);
	assert_int_equal(info_of("{\"kind\":\"shell\",\"client\":\"2001:db8::1\",\"port\":1,"
	                         "\"command\":\"\",\"command_bytes\":0,\"command_sha256\":\"" SUM
	                         "\"}",
	                         &info, &err),
	                 0);
	/* Each bad field is named. */
	static const struct {
		const char *json, *field;
	} bad[] = {
	    {"{\"kind\":\"root\",\"client\":\"1.2.3.4\",\"port\":1,\"command\":\"\","
	     "\"command_bytes\":0,\"command_sha256\":\"" SUM "\"}",
	     "\"kind\""},
	    {"{\"kind\":\"exec\",\"client\":\"host\",\"port\":1,\"command\":\"\","
	     "\"command_bytes\":0,\"command_sha256\":\"" SUM "\"}",
	     "\"client\""},
	    {"{\"kind\":\"exec\",\"client\":\"1.2.3.4\",\"port\":70000,\"command\":\"\","
	     "\"command_bytes\":0,\"command_sha256\":\"" SUM "\"}",
	     "\"port\""},
	    {"{\"kind\":\"exec\",\"client\":\"1.2.3.4\",\"port\":1,\"command\":\"ls\","
	     "\"command_bytes\":9,\"command_sha256\":\"" SUM "\"}",
	     "\"command_bytes\""},
	    {"{\"kind\":\"exec\",\"client\":\"1.2.3.4\",\"port\":1,\"command\":\"\","
	     "\"command_bytes\":0,\"command_sha256\":\"XYZ\"}",
	     "\"command_sha256\""},
	    {"{\"kind\":\"shell\",\"client\":\"1.2.3.4\",\"port\":1,\"command\":\"ls\","
	     "\"command_bytes\":2,\"command_sha256\":\"" SUM "\"}",
	     "\"command\""},
	    {"{\"kind\":\"exec\",\"client\":\"1.2.3.4\",\"port\":1,\"command\":\"\","
	     "\"command_bytes\":0,\"command_sha256\":\"" SUM "\",\"user\":\"root\"}",
	     "\"user\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(info_of(bad[i].json, &info, &err), -1);
		assert_non_null(strstr(err.msg, bad[i].field));
	}
	/* A command cut at 4 KiB may stand for a longer one. */
	char *big = malloc(AUDIT_COMMAND_MAX + 512);
	assert_non_null(big);
	memset(big, 'x', AUDIT_COMMAND_MAX);
	big[AUDIT_COMMAND_MAX] = '\0';
	json_t *j =
	    json_pack("{s:s,s:s,s:i,s:s,s:I,s:s}", "kind", "exec", "client", "::1", "port", 2,
	              "command", big, "command_bytes", (json_int_t)204800, "command_sha256", SUM);
	assert_int_equal(auditmsg_parse_info(j, &info, &err), 0);
	json_decref(j);
	free(big);
}

static void end_and_record_requests(void **state)
{
	struct proto_request req;
	struct audit_end end;
	struct err err = {0};
	json_t *m = json_loads("{\"v\":1,\"op\":\"end\",\"session\":"
	                       "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\",\"status\":3,"
	                       "\"bytes_in\":10,\"bytes_out\":20}",
	                       0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), 0);
	assert_int_equal(req.op, PROTO_OP_END);
	assert_int_equal(auditmsg_parse_end(m, &end, &err), 0);
	assert_int_equal(end.status, 3);
	assert_int_equal(end.bytes_out, 20);
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"end\",\"session\":"
	               "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\",\"signal\":\"kill\","
	               "\"bytes_in\":0,\"bytes_out\":0}",
	               0, NULL);
	assert_int_equal(auditmsg_parse_end(m, &end, &err), -1);
	assert_non_null(strstr(err.msg, "\"signal\""));
	json_decref(m);
	/* Exit data belongs to "end" only. */
	m = json_loads("{\"v\":1,\"op\":\"login\",\"session\":"
	               "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\",\"status\":0}",
	               0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"record\",\"session\":"
	               "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\",\"width\":80,\"height\":24,"
	               "\"term\":\"xterm-256color\"}",
	               0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), 0);
	assert_int_equal(req.op, PROTO_OP_RECORD);
	assert_int_equal(req.width, 80);
	assert_string_equal(req.term, "xterm-256color");
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"record\",\"session\":"
	               "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\",\"width\":80,\"height\":24,"
	               "\"term\":\"x\\\",\\\"y\"}",
	               0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	assert_non_null(strstr(err.msg, "\"term\""));
	json_decref(m);
}

static void utf8_prefixes(void **state)
{
	char out[16];
	/* é is two bytes: cut in the middle, it is dropped, not split. */
	assert_int_equal(utf8_prefix("ab\xc3\xa9", 4, 3, out), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(utf8_prefix("a\xff"
	                             "b",
	                             3, 8, out),
	                 3);
	assert_string_equal(out, "a?b");
	assert_int_equal(utf8_prefix("\xed\xa0\x80", 3, 8, out), 3); /* a surrogate */
	assert_string_equal(out, "???");
}

static void asciicast_lines(void **state)
{
	char line[ASCIICAST_LINE_MAX(16)];
	struct cast_stream st = {0};
	size_t n = asciicast_event(line, 1.5, 'o', &st, "a\"\r\n\x1b", 5);
	assert_int_equal(n, strlen(line));
	assert_string_equal(line, "[1.500000,\"o\",\"a\\\"\\r\\n\\u001b\"]\n");
	/* A sequence split over two chunks is carried whole into the second. */
	asciicast_event(line, 2, 'o', &st, "x\xc3", 2);
	assert_string_equal(line, "[2.000000,\"o\",\"x\"]\n");
	asciicast_event(line, 3, 'o', &st, "\xa9y", 2);
	assert_string_equal(line, "[3.000000,\"o\",\"\xc3\xa9y\"]\n");
	asciicast_event(line, 4, 'i', &st, "\xff", 1);
	assert_string_equal(line, "[4.000000,\"i\",\"\xef\xbf\xbd\"]\n");
	json_t *j = json_loads(line, 0, NULL);
	assert_non_null(j);
	json_decref(j);
	char head[256];
	assert_true(asciicast_header(head, sizeof(head), 80, 24, 1700000000, "xterm") > 0);
	j = json_loads(head, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(audit_info_fields),
	    cmocka_unit_test(end_and_record_requests),
	    cmocka_unit_test(utf8_prefixes),
	    cmocka_unit_test(asciicast_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
