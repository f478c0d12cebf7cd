/* Issue 15's untrusted inputs on the watchdog's side. The first byte picks:
 * 'a' the rest is a login's "audit" member, 'e' an "end" request (both as
 * the shim sends them; a field the checks accept must hold what the log
 * promises), anything else is terminal data for an asciicast event line,
 * cut into two chunks at the second byte: every line must be one valid
 * JSON array whatever the bytes, and a sequence split between the chunks
 * comes out whole. */
#include "fuzz.h"

#include <jansson.h>

#include "asciicast.h"
#include "auditmsg.h"
#include "utf8.h"

static void check_info(const char *text, size_t len)
{
	struct err err = {0};
	struct audit_info info;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return;
	if (auditmsg_parse_info(j, &info, &err) == 0) {
		FUZZ_CHECK_STR(info.kind);
		FUZZ_CHECK_STR(info.command);
		FUZZ_CHECK(strlen(info.command) <= AUDIT_COMMAND_MAX);
		FUZZ_CHECK((long long)strlen(info.command) <= info.command_bytes);
		FUZZ_CHECK(strlen(info.command_sha256) == 64);
		FUZZ_CHECK(info.port >= 1 && info.port <= 65535);
	}
	FUZZ_CHECK_STR(err.msg);
	json_decref(j);
}

static void check_end(const char *text, size_t len)
{
	struct err err = {0};
	struct audit_end end;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return;
	}
	if (auditmsg_parse_end(j, &end, &err) == 0) {
		FUZZ_CHECK(end.status >= -1 && end.status <= 255);
		FUZZ_CHECK_STR(end.signal);
		FUZZ_CHECK(end.status == -1 || end.signal[0] == '\0');
	}
	json_decref(j);
}

static void check_line(const char *line, size_t n)
{
	json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, NULL); /* NUL is "\u0000" */
	FUZZ_CHECK(j != NULL && json_is_array(j) && json_array_size(j) == 3);
	json_decref(j);
}

static void check_cast(const uint8_t *data, size_t size)
{
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	char *line = malloc(ASCIICAST_LINE_MAX(size));
	FUZZ_CHECK(line != NULL);
	struct cast_stream st = {0};
	size_t n = asciicast_event(line, 0.5, 'o', &st, (const char *)data, cut);
	FUZZ_CHECK(n < ASCIICAST_LINE_MAX(size) && line[n - 1] == '\n');
	check_line(line, n);
	n = asciicast_event(line, 1, 'o', &st, (const char *)data + cut, size - cut);
	check_line(line, n);
	FUZZ_CHECK(st.ncarry <= 3);
	char *copy = malloc(size + 1);
	FUZZ_CHECK(copy != NULL);
	size_t m = utf8_prefix((const char *)data, size, size, copy);
	FUZZ_CHECK(m <= size && copy[m] == '\0');
	json_t *s = json_stringn(copy, m); /* jansson takes valid UTF-8 only */
	FUZZ_CHECK(s != NULL);
	json_decref(s);
	free(copy);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'a')
		check_info((const char *)data + 1, size - 1);
	else if (size > 0 && data[0] == 'e')
		check_end((const char *)data + 1, size - 1);
	else if (size > 1)
		check_cast(data + 1, size - 1);
	return 0;
}
