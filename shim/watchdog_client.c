#include "watchdog_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

int watchdog_connect(const char *socket_path, struct err *err)
{
	return watchdog_connect_within(socket_path, WATCHDOG_CONNECT_TIMEOUT_MS, err);
}

int watchdog_connect_within(const char *socket_path, int timeout_ms, struct err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s is too long", socket_path);
	strcpy(sa.sun_path, socket_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(err, errno, "socket");
	/* A unix socket's connect waits while the listener's backlog is full (a
	 * stalled or restarting watchdog): the send timeout bounds that wait. */
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(s);
		return err_sys(err, e, "cannot reach the sshbox watchdog at %s", socket_path);
	}
	struct timeval none = {0};
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	return s;
}

static char *dup_member(json_t *msg, const char *key)
{
	const char *v = json_string_value(json_object_get(msg, key));
	return v ? strdup(v) : NULL;
}

static json_t *session_audit;

void watchdog_set_audit(json_t *audit)
{
	json_decref(session_audit);
	session_audit = audit;
}

int watchdog_request(int wd, json_t *req, int timeout_ms, json_t **ret_reply, int *ret_fd,
                     struct err *err)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	if (session_audit != NULL && op != NULL &&
	    (strcmp(op, "login") == 0 || strcmp(op, "verb") == 0))
		json_object_set(req, "audit", session_audit);
	int rc = req != NULL ? proto_send(wd, req, -1, 10000, err)
	                     : err_set(err, ENOMEM, "cannot encode the request");
	json_decref(req);
	if (rc < 0) {
		/* A watchdog that refuses at once (at its limits) answers and
		 * closes before reading: its answer is already here. */
		struct err ignored = {0};
		if (proto_recv(wd, 1000, ret_reply, ret_fd, &ignored) == 0)
			return 0;
		return err_wrap(err, "cannot send to the sshbox watchdog");
	}
	if (proto_recv(wd, timeout_ms, ret_reply, ret_fd, err) < 0)
		return err_wrap(err, "no answer from the sshbox watchdog");
	return 0;
}

int watchdog_login(int wd, const char *session_id, struct login_reply *ret, struct err *err)
{
	json_t *req =
	    json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "login", "session", session_id);
	json_t *msg = NULL;
	int fd = -1;
	if (watchdog_request(wd, req, WATCHDOG_LOGIN_TIMEOUT_MS, &msg, &fd, err) < 0)
		return -1;
	if (!json_is_true(json_object_get(msg, "ok"))) {
		const char *m = json_string_value(json_object_get(msg, "error"));
		err_set(err, EPERM, "%s", m ? m : "the watchdog refused the login");
		goto fail;
	}
	ret->hostkey = dup_member(msg, "hostkey");
	ret->key = dup_member(msg, "key");
	ret->record = dup_member(msg, "record");
	ret->notice = dup_member(msg, "notice");
	if (fd < 0 || ret->hostkey == NULL || ret->key == NULL) {
		err_set(err, EPROTO, "the watchdog's answer is incomplete");
		goto fail;
	}
	ret->sshd_fd = fd;
	json_decref(msg);
	return 0;
fail:
	json_decref(msg);
	if (fd >= 0)
		close(fd);
	login_reply_clear(ret);
	return -1;
}

void login_reply_clear(struct login_reply *r)
{
	if (r->key != NULL)
		memset(r->key, 0, strlen(r->key));
	free(r->key);
	free(r->hostkey);
	free(r->record);
	free(r->notice);
	r->key = r->hostkey = r->record = r->notice = NULL;
	r->sshd_fd = -1;
}

int watchdog_rejoin(const char *socket_path, const char *session_id)
{
	struct err err = {0};
	/* The relay waits for this: every step has a short deadline. */
	int wd = watchdog_connect_within(socket_path, 2000, &err);
	if (wd < 0)
		return -1;
	json_t *req =
	    json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "rejoin", "session", session_id);
	json_t *reply = NULL;
	int ok = watchdog_request(wd, req, 5000, &reply, NULL, &err) == 0 &&
	         json_is_true(json_object_get(reply, "ok"));
	json_decref(reply);
	if (!ok) {
		close(wd);
		return -1;
	}
	return wd;
}

int watchdog_read_notice(int wd, char *buf, size_t size)
{
	json_t *m = NULL;
	if (proto_recv(wd, 1000, &m, NULL, NULL) < 0)
		return -1;
	const char *op = json_string_value(json_object_get(m, "op"));
	const char *text = json_string_value(json_object_get(m, "message"));
	int rc = -1;
	if (op != NULL && strcmp(op, "notice") == 0 && text != NULL) {
		snprintf(buf, size, "%s", text);
		rc = 0;
	}
	json_decref(m);
	return rc;
}
