/* The watchdog's side of the protocol: bytes as a client may send them,
 * framed, decoded and checked as the server does (proto_check_length,
 * proto_decode, proto_parse_request). An input starting with a zero byte is
 * a stream of frames (every valid length header starts with one); any other
 * input is one frame's body. An accepted request, encoded again, must come
 * back the same. */
#include "fuzz.h"

#include "proto.h"

static const char *const op_names[] = {
    [PROTO_OP_LOGIN] = "login", [PROTO_OP_REJOIN] = "rejoin", [PROTO_OP_VERB] = "verb",
    [PROTO_OP_LIST] = "list",   [PROTO_OP_HANGUP] = "hangup", [PROTO_OP_LEAVING] = "leaving",
    [PROTO_OP_END] = "end",     [PROTO_OP_RECORD] = "record",
};

static void check_request(const struct proto_request *req)
{
	FUZZ_CHECK(req->op >= PROTO_OP_LOGIN && req->op <= PROTO_OP_RECORD);
	FUZZ_CHECK(strnlen(req->session, sizeof(req->session)) == PROTO_SESSION_LEN);
	FUZZ_CHECK_STR(req->verb);
	FUZZ_CHECK(req->argc >= 0 && req->argc <= PROTO_MAX_ARGS);
	for (int i = 0; i < req->argc; i++)
		FUZZ_CHECK_STR(req->args[i]);
	if (req->op != PROTO_OP_VERB)
		FUZZ_CHECK(req->verb[0] == '\0' && req->argc == 0);
}

static void check_roundtrip(const struct proto_request *req)
{
	struct err err = {0};
	json_t *msg = json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", op_names[req->op],
	                        "session", req->session);
	FUZZ_CHECK(msg != NULL);
	if (req->op == PROTO_OP_VERB) {
		json_t *args = json_array();
		for (int i = 0; i < req->argc; i++)
			FUZZ_CHECK(json_array_append_new(args, json_string(req->args[i])) == 0);
		FUZZ_CHECK(json_object_set_new(msg, "verb", json_string(req->verb)) == 0);
		FUZZ_CHECK(json_object_set_new(msg, "args", args) == 0);
	}
	if (req->op == PROTO_OP_RECORD) {
		FUZZ_CHECK(json_object_set_new(msg, "width", json_integer(req->width)) == 0);
		FUZZ_CHECK(json_object_set_new(msg, "height", json_integer(req->height)) == 0);
		FUZZ_CHECK(json_object_set_new(msg, "term", json_string(req->term)) == 0);
	}
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	FUZZ_CHECK(text != NULL);
	json_t *back = NULL;
	struct proto_request again;
	FUZZ_CHECK(proto_decode(text, strlen(text), &back, &err) == 0);
	free(text);
	FUZZ_CHECK(proto_parse_request(back, &again, &err) == 0);
	json_decref(back);
	FUZZ_CHECK(again.op == req->op && strcmp(again.session, req->session) == 0);
	FUZZ_CHECK(strcmp(again.verb, req->verb) == 0 && again.argc == req->argc);
	FUZZ_CHECK(again.width == req->width && again.height == req->height &&
	           strcmp(again.term, req->term) == 0);
	for (int i = 0; i < req->argc; i++)
		FUZZ_CHECK(strcmp(again.args[i], req->args[i]) == 0);
}

/* One frame's body, in a buffer of exactly len bytes as proto_recv has it. */
static void decode_body(const uint8_t *data, size_t len)
{
	struct err err = {0};
	char *body = malloc(len ? len : 1);
	FUZZ_CHECK(body != NULL);
	memcpy(body, data, len);
	json_t *msg = NULL;
	if (proto_decode(body, len, &msg, &err) == 0) {
		FUZZ_CHECK(json_is_object(msg));
		struct proto_request req;
		if (proto_parse_request(msg, &req, &err) == 0) {
			check_request(&req);
			check_roundtrip(&req);
		}
		json_decref(msg);
	}
	free(body);
	FUZZ_CHECK_STR(err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = {0};
	size_t len = 0;
	if (size > 0 && data[0] != 0) {
		unsigned char hdr[4] = {(unsigned char)(size >> 24), (unsigned char)(size >> 16),
		                        (unsigned char)(size >> 8), (unsigned char)size};
		if (proto_check_length(hdr, &len, &err) == 0) {
			FUZZ_CHECK(len == size);
			decode_body(data, size);
		}
		return 0;
	}
	while (size >= 4) {
		if (proto_check_length(data, &len, &err) < 0) {
			FUZZ_CHECK_STR(err.msg);
			break;
		}
		FUZZ_CHECK(len > 0 && len <= PROTO_MAX_MSG);
		data += 4;
		size -= 4;
		if (len > size) /* a short frame: proto_recv waits for the rest */
			break;
		decode_body(data, len);
		data += len;
		size -= len;
	}
	return 0;
}
