/* Answers from the container engine: the body of an HTTP answer (decoded by
 * engine_decode_answer), its status checked by engine_expect, and a
 * container inspect turned into a container_info (box_parse_inspect). The
 * first input byte picks the HTTP status, the rest is the body. */
#include "fuzz.h"

#include "box.h"
#include "config.h"
#include "engine.h"

static const long statuses[] = {200, 200, 200, 200, 201, 204, 304, 400, 404, 409, 500, 503};

static void check_inspect(json_t *j)
{
	struct config cfg;
	config_defaults(&cfg);
	struct container_info info;
	struct err err = {0};
	if (box_parse_inspect(j, &cfg, "alice", &info, &err) == 0) {
		FUZZ_CHECK_STR(info.id);
		FUZZ_CHECK_STR(info.image);
		FUZZ_CHECK(info.id[0] != '\0');
		FUZZ_CHECK(strspn(info.id, "0123456789abcdef") == strlen(info.id));
		FUZZ_CHECK(info.running == 0 || info.running == 1);
		FUZZ_CHECK(!info.running || info.pid > 0);
		FUZZ_CHECK(info.host_port >= 0 && info.host_port <= 65535);
		/* A pid that is not the engine's own value could name a host process. */
		if (info.running)
			FUZZ_CHECK(json_integer_value(json_object_get(json_object_get(j, "State"),
			                                              "Pid")) == info.pid);
	}
	FUZZ_CHECK_STR(err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	long status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	size_t len = size - 1;
	char *body = malloc(len ? len : 1);
	FUZZ_CHECK(body != NULL);
	memcpy(body, data + 1, len);
	json_t *j = NULL;
	struct err err = {0};
	if (engine_decode_answer(body, len, status, &j, &err) < 0) {
		FUZZ_CHECK(status < 300 && len > 0);
	} else {
		/* An error answer always keeps something for the user to read. */
		if (status >= 300 && len > 0)
			FUZZ_CHECK(j != NULL);
		static const long ok[] = {200, 0};
		int expected = engine_expect(status, j, ok, "inspect", &err);
		FUZZ_CHECK((expected == 0) == (status == 200));
		if (expected == 0 && json_is_object(j))
			check_inspect(j);
		json_decref(j);
	}
	FUZZ_CHECK_STR(err.msg);
	free(body);
	return 0;
}
