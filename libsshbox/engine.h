/* A small client for the Docker Engine HTTP API v1.41 (also Podman's
 * compatible API) over libcurl: a unix socket, or tcp:// with mutual TLS
 * (ca.pem, cert.pem, key.pem in the config's engine_cert_path). One engine
 * object is used by one thread at a time. Library code: it does not log. */
#ifndef SSHBOX_ENGINE_H
#define SSHBOX_ENGINE_H

#include <jansson.h>

#include "config.h"
#include "err.h"

#define ENGINE_API "/v1.41"
/* Podman's own API, for what its Docker-compatible one cannot say; a path
 * that starts with "/libpod/" goes below this prefix instead. */
#define ENGINE_LIBPOD_API "/v4.0.0"

struct engine;

int engine_open(const struct config *cfg, struct engine **ret_engine, struct err *err);
void engine_close(struct engine *e);

/* The engine's address, as configured (for messages and caches). */
const char *engine_where(const struct engine *e);

/* One request. path starts with '/', below /v1.41 (or ENGINE_LIBPOD_API). body may be NULL (an
 * empty body is still sent: a POST must never read stdin). *ret_json gets
 * the parsed answer or NULL when it was empty; pass NULL to drop it.
 * Any HTTP status is returned in *ret_status; transport failures are -1. */
int engine_request(struct engine *e, const char *method, const char *path, json_t *body,
                   long timeout_s, long *ret_status, json_t **ret_json, struct err *err);

/* A request body as bytes: type NULL means application/json. */
struct engine_body {
	const char *data;
	size_t len;
	const char *type;
};

/* engine_request for bodies and answers that are not JSON (archives):
 * *ret_data (malloc'd, NUL-terminated, may be NULL when empty) and
 * *ret_len get the answer as sent, whatever the status. */
int engine_request_raw(struct engine *e, const char *method, const char *path,
                       const struct engine_body *body, long timeout_s, long *ret_status,
                       char **ret_data, size_t *ret_len, struct err *err);

/* HEAD path: *ret_status, and in buf the value of the answer's header
 * named header ("" when it has none or it does not fit). */
int engine_head(struct engine *e, const char *path, const char *header, long timeout_s,
                long *ret_status, char *buf, size_t size, struct err *err);

/* Turns an answer's body (len bytes, may be 0) into *ret_json, NULL when
 * empty. A malformed JSON body is an error for a success status; for an
 * error status it is kept as {"message": the first 200 bytes}. Pure: no
 * transport, exposed for the fuzz harness. */
int engine_decode_answer(const char *data, size_t len, long status, json_t **ret_json,
                         struct err *err);

/* Checks for HTTP errors: returns 0 when status is one of the ok codes
 * (a 0-terminated list), else -1 with the engine's own message. */
int engine_expect(long status, json_t *answer, const long *ok, const char *what, struct err *err);

/* engine_request, then engine_expect: -1 unless the status is one of ok.
 * *ret_answer (may be NULL) gets the answer on success. */
int engine_call(struct engine *e, const char *method, const char *path, json_t *body,
                long timeout_s, const long *ok, const char *what, json_t **ret_answer,
                struct err *err);

/* An answer read whole, up to 16 MiB (then too_big, and the transfer
 * fails): engine_collect is its libcurl write callback, data NUL-terminated
 * and malloc'd (the caller frees it). */
struct engine_answer {
	char *data;
	size_t len;
	int too_big;
};
size_t engine_collect(char *ptr, size_t size, size_t nmemb, void *userdata);

/* A new libcurl easy handle (a CURL *) for path, set up as every request
 * (address, transport, TLS, connect deadline), for callers that drive
 * transfers themselves (engine_pipe.c); curl_easy_cleanup frees it. NULL
 * with err. path may be up to ENGINE_EASY_URL_MAX bytes with the base. */
#define ENGINE_EASY_URL_MAX (16 * 1024)
void *engine_easy_new(const struct engine *e, const char *path, struct err *err);

/* 1 and *ret_json when found, 0 when the engine says 404, -1 on error. */
int engine_inspect(struct engine *e, const char *kind, const char *name, json_t **ret_json,
                   struct err *err);

/* Streams GET path (e.g. /events?...): calls fn for each JSON line until
 * the engine closes the stream or fn returns -1. Blocks; no timeout. */
typedef int (*engine_line_fn)(void *ctx, json_t *line);
int engine_stream(struct engine *e, const char *path, engine_line_fn fn, void *ctx,
                  struct err *err);

/* The operation a request is, for counting failures: "create", "start",
 * "stop", "remove", "inspect", "list", "commit", "image", "network",
 * "volume", "events" or "other". Pure. */
const char *engine_op_of(const char *method, const char *path);
/* Called (from any thread) for each request that got no answer or a 5xx
 * answer; the watchdog counts them. NULL = none. Set once, before threads. */
void engine_set_failure_hook(void (*hook)(const char *op));

/* Percent-encodes s for a URL query into buf. */
int engine_urlencode(const char *s, char *buf, size_t size);

#endif
