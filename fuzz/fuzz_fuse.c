/* The FUSE service's requests (fuseproto.h), as a process in a container may
 * send them: one frame's body, decoded and checked as the watchdog does
 * (proto_decode, fuse_parse_request). An accepted request names a path the
 * path rules accept and a valid subtype, and built again it parses back the
 * same. */
#include "fuzz.h"

#include "fuseproto.h"
#include "proto.h"

static void check_request(const struct fuse_request *req)
{
	struct err err = {0};
	FUZZ_CHECK(req->op == FUSE_OP_MOUNT || req->op == FUSE_OP_UMOUNT);
	FUZZ_CHECK_STR(req->path);
	FUZZ_CHECK_STR(req->subtype);
	FUZZ_CHECK(fuse_path_check(req->path, &err) == 0);
	size_t n = strlen(req->path);
	FUZZ_CHECK(req->path[0] == '/' && strstr(req->path, "/../") == NULL);
	FUZZ_CHECK(n < 3 || strcmp(req->path + n - 3, "/..") != 0);
	FUZZ_CHECK(strncmp(req->path, "/proc", 5) != 0 ||
	           (req->path[5] != '\0' && req->path[5] != '/'));
	FUZZ_CHECK(fuse_subtype_valid(req->subtype));

	json_t *msg = fuse_build_request(req->op, req->path, req->subtype);
	FUZZ_CHECK(msg != NULL);
	struct fuse_request again;
	FUZZ_CHECK(fuse_parse_request(msg, &again, &err) == 0);
	json_decref(msg);
	FUZZ_CHECK(again.op == req->op && strcmp(again.path, req->path) == 0);
	FUZZ_CHECK(req->op != FUSE_OP_MOUNT || strcmp(again.subtype, req->subtype) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = {0};
	char *body = malloc(size ? size : 1);
	FUZZ_CHECK(body != NULL);
	memcpy(body, data, size);
	json_t *msg = NULL;
	if (proto_decode(body, size, &msg, &err) == 0) {
		struct fuse_request req;
		if (fuse_parse_request(msg, &req, &err) == 0)
			check_request(&req);
		json_decref(msg);
	}
	free(body);
	FUZZ_CHECK_STR(err.msg);
	return 0;
}
