#include "proto.h"

#include "clock.h"
#include "names.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Frees p after overwriting all of it: messages carry the inner private key. */
static void free_wiped(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void free_wiped_ptr(void *pp)
{
	free_wiped(*(void **)pp);
}
#define cleanup_wiped __attribute__((cleanup(free_wiped_ptr)))

void proto_wipe_json_memory(void)
{
	json_set_alloc_funcs(malloc, free_wiped);
}

/* Waits until sock is ready for events, or the deadline passes. */
static int wait_ready(int sock, short events, long long deadline, struct err *err)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0)
			return err_set(err, ETIMEDOUT, "timed out");
		struct pollfd p = {.fd = sock, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "poll");
		if (n > 0)
			return 0;
	}
}

int proto_send(int sock, json_t *msg, int pass_fd, int timeout_ms, struct err *err)
{
	cleanup_wiped char *body = json_dumps(msg, JSON_COMPACT);
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot encode message");
	size_t len = strlen(body);
	if (len > PROTO_MAX_MSG)
		return err_set(err, EMSGSIZE, "message of %zu bytes is over the limit", len);
	size_t total = 4 + len;
	cleanup_wiped unsigned char *frame = malloc(total);
	if (frame == NULL)
		return err_set(err, ENOMEM, "out of memory");
	frame[0] = (unsigned char)(len >> 24);
	frame[1] = (unsigned char)(len >> 16);
	frame[2] = (unsigned char)(len >> 8);
	frame[3] = (unsigned char)len;
	/* A frame is length-prefixed bytes, not a C string: no NUL belongs in it. */
	memcpy(frame + 4, body, len); /* NOLINT(bugprone-not-null-terminated-result) */

	long long deadline = mono_ms() + timeout_ms;
	size_t off = 0;
	while (off < total) {
		if (wait_ready(sock, POLLOUT, deadline, err) < 0)
			return err_wrap(err, "sending");
		struct iovec iov = {.iov_base = frame + off, .iov_len = total - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		if (off == 0 && pass_fd >= 0) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return err_sys(err, errno, "sending");
		off += (size_t)n;
	}
	return 0;
}

int proto_check_length(const unsigned char hdr[4], size_t *ret_len, struct err *err)
{
	uint32_t len =
	    ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
	if (len == 0)
		return err_set(err, EBADMSG, "empty message");
	if (len > PROTO_MAX_MSG)
		return err_set(err, EMSGSIZE, "message of %u bytes is over the limit of %d", len,
		               PROTO_MAX_MSG);
	*ret_len = len;
	return 0;
}

int proto_decode(const char *buf, size_t len, json_t **ret_msg, struct err *err)
{
	json_error_t jerr;
	json_t *msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (msg == NULL)
		return err_set(err, EBADMSG, "malformed message: %s", jerr.text);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return err_set(err, EBADMSG, "malformed message: not an object");
	}
	*ret_msg = msg;
	return 0;
}

/* Reads exactly len bytes; collects at most one passed descriptor. */
static int recv_exact(int sock, unsigned char *buf, size_t len, long long deadline, int *fd_slot,
                      struct err *err)
{
	size_t off = 0;
	while (off < len) {
		if (wait_ready(sock, POLLIN, deadline, err) < 0)
			return -1;
		struct iovec iov = {.iov_base = buf + off, .iov_len = len - off};
		union {
			char buf[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} ctl;
		struct msghdr mh = {.msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = ctl.buf,
		                    .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return err_sys(err, errno, "receiving");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfds; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fd_slot != NULL && *fd_slot < 0)
					*fd_slot = fd;
				else
					close(fd);
			}
		}
		if (n == 0)
			return err_set(err, ECONNRESET, "connection closed");
		off += (size_t)n;
	}
	return 0;
}

int proto_recv(int sock, int timeout_ms, json_t **ret_msg, int *ret_fd, struct err *err)
{
	long long deadline = mono_ms() + timeout_ms;
	int fd = -1;
	unsigned char hdr[4];
	size_t len = 0;
	cleanup_wiped unsigned char *body = NULL;

	if (recv_exact(sock, hdr, sizeof(hdr), deadline, ret_fd ? &fd : NULL, err) < 0)
		goto fail;
	if (proto_check_length(hdr, &len, err) < 0)
		goto fail;
	body = malloc(len);
	if (body == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (recv_exact(sock, body, len, deadline, ret_fd ? &fd : NULL, err) < 0)
		goto fail;
	json_t *msg = NULL;
	if (proto_decode((const char *)body, len, &msg, err) < 0)
		goto fail;
	*ret_msg = msg;
	if (ret_fd != NULL)
		*ret_fd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int is_uuid(const char *s)
{
	if (strlen(s) != PROTO_SESSION_LEN)
		return 0;
	for (int i = 0; i < PROTO_SESSION_LEN; i++) {
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL || s[i] == 0)
			return 0;
	}
	return 1;
}

int proto_get_string(const json_t *msg, const char *key, char *dst, size_t size, int required,
                     struct err *err)
{
	json_t *v = json_object_get(msg, key);
	if (v == NULL) {
		if (required)
			return err_set(err, EBADMSG, "request lacks \"%s\"", key);
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, EBADMSG, "\"%s\" is not a string", key);
	size_t n = json_string_length(v);
	if (n >= size || strlen(json_string_value(v)) != n)
		return err_set(err, EBADMSG, "\"%s\" is too long or holds a NUL", key);
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

/* "record"'s terminal: a sane size and a TERM that names a terminal. */
static int parse_terminal(const json_t *msg, struct proto_request *req, struct err *err)
{
	json_t *w = json_object_get(msg, "width"), *h = json_object_get(msg, "height");
	if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 10000)
		return err_set(err, EBADMSG, "\"width\" is not a terminal width");
	if (!json_is_integer(h) || json_integer_value(h) < 1 || json_integer_value(h) > 10000)
		return err_set(err, EBADMSG, "\"height\" is not a terminal height");
	req->width = (int)json_integer_value(w);
	req->height = (int)json_integer_value(h);
	if (proto_get_string(msg, "term", req->term, sizeof(req->term), 1, err) < 0)
		return -1;
	for (const char *p = req->term; *p; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_",
		           *p) == NULL)
			return err_set(err, EBADMSG, "\"term\" is not a terminal name");
	return 0;
}

int proto_parse_request(const json_t *msg, struct proto_request *ret_req, struct err *err)
{
	struct proto_request req;
	memset(&req, 0, sizeof(req));
	/* Strict: a member this protocol does not have (say, a user name) is an
	 * attempt at something it does not offer. */
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)msg, key, member)
	{
		if (strcmp(key, "v") != 0 && strcmp(key, "op") != 0 &&
		    strcmp(key, "session") != 0 && strcmp(key, "verb") != 0 &&
		    strcmp(key, "args") != 0 && strcmp(key, "audit") != 0 &&
		    strcmp(key, "status") != 0 && strcmp(key, "signal") != 0 &&
		    strcmp(key, "bytes_in") != 0 && strcmp(key, "bytes_out") != 0 &&
		    strcmp(key, "width") != 0 && strcmp(key, "height") != 0 &&
		    strcmp(key, "term") != 0 && strcmp(key, "user") != 0)
			return err_set(err, EBADMSG, "unknown member \"%.32s\"", key);
	}
	json_t *v = json_object_get(msg, "v");
	if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION)
		return err_set(err, EPROTO, "unsupported protocol version");
	char op[16];
	if (proto_get_string(msg, "op", op, sizeof(op), 1, err) < 0)
		return -1;
	if (strcmp(op, "login") == 0)
		req.op = PROTO_OP_LOGIN;
	else if (strcmp(op, "rejoin") == 0)
		req.op = PROTO_OP_REJOIN;
	else if (strcmp(op, "verb") == 0)
		req.op = PROTO_OP_VERB;
	else if (strcmp(op, "list") == 0)
		req.op = PROTO_OP_LIST;
	else if (strcmp(op, "hangup") == 0)
		req.op = PROTO_OP_HANGUP;
	else if (strcmp(op, "leaving") == 0)
		req.op = PROTO_OP_LEAVING;
	else if (strcmp(op, "end") == 0)
		req.op = PROTO_OP_END;
	else if (strcmp(op, "record") == 0)
		req.op = PROTO_OP_RECORD;
	else if (strcmp(op, "keys") == 0)
		req.op = PROTO_OP_KEYS;
	else
		return err_set(err, EBADMSG, "unknown op \"%.15s\"", op);
	if (req.op != PROTO_OP_END &&
	    (json_object_get(msg, "status") || json_object_get(msg, "signal") ||
	     json_object_get(msg, "bytes_in") || json_object_get(msg, "bytes_out")))
		return err_set(err, EBADMSG, "only \"end\" carries an exit status and byte counts");
	if (req.op == PROTO_OP_RECORD) {
		if (parse_terminal(msg, &req, err) < 0)
			return -1;
	} else if (json_object_get(msg, "width") || json_object_get(msg, "height") ||
	           json_object_get(msg, "term")) {
		return err_set(err, EBADMSG, "only \"record\" carries a terminal");
	}
	if (json_object_get(msg, "audit") != NULL && req.op != PROTO_OP_LOGIN &&
	    req.op != PROTO_OP_VERB)
		return err_set(err, EBADMSG, "only \"login\" and \"verb\" carry \"audit\"");
	if (req.op == PROTO_OP_KEYS) {
		/* The one request naming a user: sshd asks whose keys to accept. */
		if (proto_get_string(msg, "user", req.user, sizeof(req.user), 1, err) < 0)
			return err_set(err, EBADMSG,
			               "\"user\" is not a user name of at most %d characters",
			               USER_NAME_MAX);
		if (!user_name_valid(req.user))
			return err_set(err, EBADMSG, "\"%s\" is not a valid user name", req.user);
		if (json_object_get(msg, "session") == NULL) {
			strcpy(req.session, "-");
			*ret_req = req;
			return 0;
		}
	} else if (json_object_get(msg, "user") != NULL) {
		return err_set(err, EBADMSG, "only \"keys\" names a user");
	}
	if (proto_get_string(msg, "session", req.session, sizeof(req.session), 1, err) < 0)
		return -1;
	if (!is_uuid(req.session))
		return err_set(err, EBADMSG, "session id is not a uuid");
	if (req.op == PROTO_OP_VERB) {
		if (proto_get_string(msg, "verb", req.verb, sizeof(req.verb), 1, err) < 0)
			return -1;
		json_t *args = json_object_get(msg, "args");
		if (args != NULL) {
			if (!json_is_array(args) || json_array_size(args) > PROTO_MAX_ARGS)
				return err_set(err, EBADMSG, "\"args\" is not a short array");
			for (size_t i = 0; i < json_array_size(args); i++) {
				json_t *a = json_array_get(args, i);
				if (!json_is_string(a) ||
				    json_string_length(a) >= sizeof(req.args[0]) ||
				    strlen(json_string_value(a)) != json_string_length(a))
					return err_set(err, EBADMSG,
					               "argument %zu is not a short string", i + 1);
				strcpy(req.args[i], json_string_value(a));
				req.argc++;
			}
		}
	}
	*ret_req = req;
	return 0;
}

json_t *proto_error_reply(const char *msg)
{
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}
