/* SSH_ORIGINAL_COMMAND as the shim sees it: classified (shell, exec, sftp)
 * and parsed for a host verb. A parsed verb, sent as the shim sends it, must
 * be accepted by the watchdog's request parser with the same arguments. */
#include "fuzz.h"

#include "command.h"
#include "hostverb.h"
#include "proto.h"

static const char session[] = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

static void check_verb(const char *command, const struct proto_request *req)
{
	FUZZ_CHECK(req->op == PROTO_OP_VERB && req->verb[0] != '\0');
	FUZZ_CHECK_STR(req->verb);
	FUZZ_CHECK(req->argc >= 0 && req->argc <= PROTO_MAX_ARGS);
	/* The verb and its arguments are the command's words, in order. */
	const char *p = command;
	for (int w = -1; w < req->argc; w++) {
		const char *word = w < 0 ? req->verb : req->args[w];
		FUZZ_CHECK(word[0] != '\0' && strcspn(word, " \t") == strlen(word));
		p += strspn(p, " \t");
		FUZZ_CHECK(strncmp(p, word, strlen(word)) == 0);
		p += strlen(word);
	}
	FUZZ_CHECK(p[strspn(p, " \t")] == '\0');

	json_t *msg = hostverb_message(session, req);
	FUZZ_CHECK(msg != NULL);
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	FUZZ_CHECK(text != NULL);
	struct err err = {0};
	json_t *back = NULL;
	struct proto_request got;
	FUZZ_CHECK(strlen(text) <= PROTO_MAX_MSG);
	FUZZ_CHECK(proto_decode(text, strlen(text), &back, &err) == 0);
	free(text);
	FUZZ_CHECK(proto_parse_request(back, &got, &err) == 0);
	json_decref(back);
	FUZZ_CHECK(got.op == PROTO_OP_VERB && strcmp(got.verb, req->verb) == 0);
	FUZZ_CHECK(got.argc == req->argc);
	for (int i = 0; i < req->argc; i++)
		FUZZ_CHECK(strcmp(got.args[i], req->args[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An environment variable holds no NUL: stop at the first. */
	char *command = malloc(size + 1);
	FUZZ_CHECK(command != NULL);
	memcpy(command, data, size);
	command[size] = '\0';

	enum command_kind kind = command_classify(command);
	FUZZ_CHECK(kind == COMMAND_EXEC || kind == COMMAND_SFTP);
	struct proto_request req;
	struct err err = {0};
	int verb = hostverb_parse(command, &req, &err);
	FUZZ_CHECK(verb >= -1 && verb <= 1);
	if (verb == 1) {
		FUZZ_CHECK(kind == COMMAND_EXEC);
		check_verb(command, &req);
	} else if (verb < 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	FUZZ_CHECK_STR(err.msg);
	free(command);

	FUZZ_CHECK(command_classify(NULL) == COMMAND_SHELL);
	FUZZ_CHECK(hostverb_parse(NULL, &req, &err) == 0);
	return 0;
}
