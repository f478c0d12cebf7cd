/* The shim's side of the watchdog protocol (proto.h). */
#ifndef SSHBOX_WATCHDOG_CLIENT_H
#define SSHBOX_WATCHDOG_CLIENT_H

#include <jansson.h>

#include "err.h"

/* A login can create and start a container: allow it time. */
#define WATCHDOG_LOGIN_TIMEOUT_MS (120 * 1000)

#define WATCHDOG_CONNECT_TIMEOUT_MS (10 * 1000)

/* Connects within WATCHDOG_CONNECT_TIMEOUT_MS, or within timeout_ms. */
int watchdog_connect(const char *socket_path, struct err *err);
int watchdog_connect_within(const char *socket_path, int timeout_ms, struct err *err);

/* The "audit" member (report.h) every later login and verb request
 * carries; taken. */
void watchdog_set_audit(json_t *audit);

/* Sends req (taking it; NULL = out of memory) and reads the reply within
 * timeout_ms, with a descriptor if ret_fd is not NULL. */
int watchdog_request(int wd, json_t *req, int timeout_ms, json_t **ret_reply, int *ret_fd,
                     struct err *err);

struct login_reply {
	int sshd_fd;   /* connected to the container's sshd */
	char *hostkey; /* pinned public key, one line */
	char *key;     /* inner private key */
	char *record;  /* "pty" or "pty+input" when this session is recorded, else NULL */
	char *notice;  /* what to tell the user then */
};

/* Sends "login" and reads the reply. On refusal err holds the watchdog's
 * message for the user. */
int watchdog_login(int wd, const char *session_id, struct login_reply *ret, struct err *err);
void login_reply_clear(struct login_reply *r);

/* After a watchdog restart: reconnects and re-registers the live session.
 * Returns the new connection (the session's reference), or -1. */
int watchdog_rejoin(const char *socket_path, const char *session_id);

/* Reads one unasked message on a live session's connection (it is readable):
 * 0 with a notice's text for the user in buf, or -1 when the watchdog's side
 * is gone or spoke out of turn (then the caller rejoins). */
int watchdog_read_notice(int wd, char *buf, size_t size);

#endif
