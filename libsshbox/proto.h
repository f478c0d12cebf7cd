/* The wire protocol between sshbox-shim (unprivileged) and sshbox-watchdog
 * (root), over the watchdog's unix stream socket.
 *
 * Frame: a 4-byte big-endian length, then that many bytes of one JSON object
 * (at most PROTO_MAX_MSG). A descriptor may ride along with a frame as
 * SCM_RIGHTS. Nothing in a request names a user, uid, container or path: the
 * watchdog learns the caller from SO_PEERCRED.
 *
 * Requests (shim -> watchdog), each {"v":1,"op":OP,"session":UUID,...}:
 *   "login"   ensure the caller's container runs; reply carries a socket
 *             connected to its sshd (SCM_RIGHTS), "hostkey" (the pinned public
 *             key, OpenSSH one-line form) and "key" (the caller's inner private
 *             key, OpenSSH PEM). The connection then stays open for the whole
 *             session: it is the session's reference.
 *   "hangup"  sent on a session's connection when the user's side vanished:
 *             the watchdog hangs up that session's processes in the container
 *             (no reply).
 *   "rejoin"  re-register a live session after a watchdog restart (no reply
 *             data beyond ok).
 *   "verb"    run a host verb: "verb":NAME, "args":[STRING...]; reply
 *             "output" (text for stdout) and "status" (exit status).
 *   "leaving" sent on a session's connection when its inner session ended
 *             normally, before the shim exits: the reply {"ok":true} may carry
 *             "message", a line for the user (the container is kept running
 *             because it is busy).
 *   "list"    (root only) the watchdog's view of every user it knows:
 *             "users":[{"name","sessions","daemon","idle_since","stop_in"},
 *             plus "busy_tenths" and "busy_left" (seconds) while kept busy].
 *   "end"     sent on a session's connection just before the shim exits: how
 *             the session ended, for the audit log (auditmsg.h; no reply).
 *   "record"  on a connection of its own, once per session whose login reply
 *             said "record" (the mode): "width", "height", "term"; then
 *             the session's terminal data as PROTO_RECORD_MAX frames.
 *   "keys"    (root and the config's keys_user only; swarm mode) the outer
 *             public keys sshd may accept for "user":NAME, the one member
 *             naming a user, for sshd's AuthorizedKeysCommand (sshbox-keys):
 *             reply "keys" (authorized_keys lines, never the inner key's).
 *             "session" is optional here: sshd has none to give.
 * "login" and "verb" may carry "audit" (auditmsg.h): what the shim saw of
 * the outer session. A bad one is logged and left out; the request goes on.
 * A login reply may carry "record" ("pty" or "pty+input") and "notice" (the
 * text to show the user) when the session's terminal is to be recorded.
 * Replies: {"ok":true,...} or {"ok":false,"error":MESSAGE_FOR_THE_USER}.
 * Notices (watchdog -> shim, on a live session's connection, unasked):
 *   {"v":1,"op":"notice","message":TEXT_FOR_THE_USER}, e.g. when the kernel
 *   killed a process in the container for want of memory.
 */
#ifndef SSHBOX_PROTO_H
#define SSHBOX_PROTO_H

#include <jansson.h>

#include "err.h"
#include "names.h"

#define PROTO_VERSION     1
#define PROTO_MAX_MSG     (64 * 1024)
#define PROTO_SESSION_LEN 36 /* textual UUID */
#define PROTO_MAX_ARGS    16

enum proto_op {
	PROTO_OP_LOGIN,
	PROTO_OP_REJOIN,
	PROTO_OP_VERB,
	PROTO_OP_LIST,
	PROTO_OP_HANGUP,
	PROTO_OP_LEAVING,
	PROTO_OP_END,
	PROTO_OP_RECORD,
	PROTO_OP_KEYS
};

struct proto_request {
	enum proto_op op;
	char session[PROTO_SESSION_LEN + 1];
	char verb[32];
	int argc;
	char args[PROTO_MAX_ARGS][128];
	int width, height; /* "record": the terminal's size and TERM */
	char term[64];
	char user[USER_NAME_MAX + 1]; /* "keys": whose keys */
};

/* After a "record" request is answered ok, the shim sends frames of its
 * own: a 4-byte header (type 'o' output, 'i' input, 'r' resize, then the
 * data length, 24 bits big-endian, at most PROTO_RECORD_MAX), then the data
 * ('r': "COLSxROWS"). The watchdog may answer once, with a notice, when it
 * stops recording; then it closes. */
#define PROTO_RECORD_MAX (64 * 1024)

/* Makes jansson overwrite all memory it frees, so the copies of the inner
 * private key a message makes (packing, encoding, parsing) do not outlive
 * it. Call before the first JSON value is made. Frames are wiped always. */
void proto_wipe_json_memory(void);

/* Sends msg as one frame, with pass_fd attached when >= 0. */
int proto_send(int sock, json_t *msg, int pass_fd, int timeout_ms, struct err *err);

/* Receives one frame within timeout_ms. *ret_fd gets a passed descriptor or
 * -1 (pass NULL to refuse descriptors: any that arrives is closed). */
int proto_recv(int sock, int timeout_ms, json_t **ret_msg, int *ret_fd, struct err *err);

/* Decodes one frame's body (len bytes, no length header) into a JSON object;
 * the receiving half of proto_recv, exposed for the fuzz harness. */
int proto_decode(const char *buf, size_t len, json_t **ret_msg, struct err *err);

/* Checks a decoded request strictly: version, op, session id, verb. */
int proto_parse_request(const json_t *msg, struct proto_request *ret_req, struct err *err);

/* Checks the frame length field; exposed for the fuzz harness and tests. */
int proto_check_length(const unsigned char hdr[4], size_t *ret_len, struct err *err);

/* Copies a JSON string member into dst, checking type, length and NULs;
 * err names the member. A missing one is "" unless required. */
int proto_get_string(const json_t *msg, const char *key, char *dst, size_t size, int required,
                     struct err *err);

/* Builds {"ok":false,"error":msg}. */
json_t *proto_error_reply(const char *msg);

#endif
