#include "engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ENGINE_MAX_ANSWER (16 * 1024 * 1024)

struct engine {
	CURL *curl;
	char base[CONFIG_STR_MAX + 16]; /* scheme://host:port, no trailing slash */
	char unix_path[CONFIG_STR_MAX];
	char where[CONFIG_STR_MAX]; /* for messages */
	char ca[CONFIG_STR_MAX + 16], cert[CONFIG_STR_MAX + 16], key[CONFIG_STR_MAX + 16];
};

size_t engine_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct engine_answer *a = userdata;
	size_t n = size * nmemb;
	if (a->len + n > ENGINE_MAX_ANSWER) {
		a->too_big = 1;
		return 0;
	}
	char *grown = realloc(a->data, a->len + n + 1);
	if (grown == NULL)
		return 0;
	a->data = grown;
	memcpy(a->data + a->len, ptr, n);
	a->len += n;
	a->data[a->len] = '\0';
	return n;
}

int engine_open(const struct config *cfg, struct engine **ret_engine, struct err *err)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return err_set(err, ENOMEM, "out of memory");
	const char *addr = cfg->engine;
	snprintf(e->where, sizeof(e->where), "%s", addr);
	if (strncmp(addr, "tcp://", 6) == 0) {
		int tls = cfg->cert_path[0] != '\0';
		snprintf(e->base, sizeof(e->base), "%s://%s", tls ? "https" : "http", addr + 6);
		if (tls) {
			snprintf(e->ca, sizeof(e->ca), "%s/ca.pem", cfg->cert_path);
			snprintf(e->cert, sizeof(e->cert), "%s/cert.pem", cfg->cert_path);
			snprintf(e->key, sizeof(e->key), "%s/key.pem", cfg->cert_path);
		}
	} else {
		const char *path = strncmp(addr, "unix://", 7) == 0 ? addr + 7 : addr;
		snprintf(e->unix_path, sizeof(e->unix_path), "%s", path);
		snprintf(e->base, sizeof(e->base), "http://localhost");
	}
	e->curl = curl_easy_init();
	if (e->curl == NULL) {
		free(e);
		return err_set(err, ENOMEM, "cannot initialise libcurl");
	}
	*ret_engine = e;
	return 0;
}

void engine_close(struct engine *e)
{
	if (e == NULL)
		return;
	curl_easy_cleanup(e->curl);
	free(e);
}

const char *engine_where(const struct engine *e)
{
	return e->where;
}

/* The URL of an API path: Docker's API, or Podman's own for /libpod/. */
static int api_url(const struct engine *e, const char *path, char *buf, size_t size,
                   struct err *err)
{
	const char *api = strncmp(path, "/libpod/", 8) == 0 ? ENGINE_LIBPOD_API : ENGINE_API;
	int n = snprintf(buf, size, "%s%s%s", e->base, api, path);
	if (n < 0 || (size_t)n >= size)
		return err_set(err, ENAMETOOLONG, "engine request path is too long");
	return 0;
}

/* What every request shares: address, transport, TLS, connect deadline. */
static void setup_on(const struct engine *e, CURL *c, const char *url)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (e->unix_path[0])
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->unix_path);
	if (e->cert[0]) {
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca);
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
}

static CURL *setup_handle(struct engine *e, const char *url)
{
	curl_easy_reset(e->curl);
	setup_on(e, e->curl, url);
	return e->curl;
}

void *engine_easy_new(const struct engine *e, const char *path, struct err *err)
{
	char url[ENGINE_EASY_URL_MAX];
	if (api_url(e, path, url, sizeof(url), err) < 0)
		return NULL;
	CURL *c = curl_easy_init();
	if (c == NULL) {
		err_set(err, ENOMEM, "cannot initialise libcurl");
		return NULL;
	}
	setup_on(e, c, url);
	return c;
}

static void (*failure_hook)(const char *op);

void engine_set_failure_hook(void (*hook)(const char *op))
{
	failure_hook = hook;
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *engine_op_of(const char *method, const char *path)
{
	if (has_prefix(path, "/containers/")) {
		const char *rest = path + 12;
		const char *q = rest + strcspn(rest, "/?");
		if (strcmp(method, "DELETE") == 0)
			return "remove";
		if (has_prefix(rest, "create"))
			return "create";
		if (has_prefix(rest, "json"))
			return "list";
		if (has_prefix(q, "/start"))
			return "start";
		if (has_prefix(q, "/stop"))
			return "stop";
		if (has_prefix(q, "/json"))
			return "inspect";
		return "other";
	}
	static const char *const kinds[][2] = {{"/commit", "commit"},
	                                       {"/images", "image"},
	                                       {"/networks", "network"},
	                                       {"/volumes", "volume"},
	                                       {"/events", "events"}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (has_prefix(path, kinds[i][0]))
			return kinds[i][1];
	return "other";
}

static void count_failure(const char *method, const char *path)
{
	if (failure_hook != NULL)
		failure_hook(engine_op_of(method, path));
}

int engine_request_raw(struct engine *e, const char *method, const char *path,
                       const struct engine_body *body, long timeout_s, long *ret_status,
                       char **ret_data, size_t *ret_len, struct err *err)
{
	char url[2048], ctype[128];
	if (api_url(e, path, url, sizeof(url), err) < 0)
		return -1;
	snprintf(ctype, sizeof(ctype), "Content-Type: %s",
	         body && body->type ? body->type : "application/json");
	struct engine_answer a = {0};
	struct curl_slist *headers = curl_slist_append(NULL, ctype);
	CURL *c = setup_handle(e, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, engine_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0) {
		/* Always an explicit body: a POST without one would read stdin. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body && body->data ? body->data : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(body && body->data ? body->len : 0));
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		free(a.data);
		count_failure(method, path);
		if (a.too_big)
			return err_set(err, EMSGSIZE,
			               "container engine at %s sent an answer over %d bytes",
			               e->where, ENGINE_MAX_ANSWER);
		return err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : ECONNREFUSED,
		               "container engine at %s: %s", e->where, curl_easy_strerror(rc));
	}
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*ret_status = status;
	if (status >= 500)
		count_failure(method, path);
	*ret_data = a.data;
	*ret_len = a.len;
	return 0;
}

struct header_want {
	const char *name;
	char *buf;
	size_t size;
};

/* Keeps the value of one named header (case-insensitive), trimmed. */
static size_t header_line(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct header_want *w = userdata;
	size_t n = size * nmemb, name = strlen(w->name);
	if (n > name + 1 && strncasecmp(ptr, w->name, name) == 0 && ptr[name] == ':') {
		size_t from = name + 1, to = n;
		while (from < to && (ptr[from] == ' ' || ptr[from] == '\t'))
			from++;
		while (to > from &&
		       (ptr[to - 1] == '\r' || ptr[to - 1] == '\n' || ptr[to - 1] == ' '))
			to--;
		if (to - from < w->size)
			snprintf(w->buf, w->size, "%.*s", (int)(to - from), ptr + from);
	}
	return n;
}

int engine_head(struct engine *e, const char *path, const char *header, long timeout_s,
                long *ret_status, char *buf, size_t size, struct err *err)
{
	char url[2048];
	if (size == 0 || api_url(e, path, url, sizeof(url), err) < 0)
		return size == 0 ? err_set(err, EINVAL, "no room for header %s", header) : -1;
	buf[0] = '\0';
	struct header_want w = {header, buf, size};
	CURL *c = setup_handle(e, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &w);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		count_failure("HEAD", path);
		return err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : ECONNREFUSED,
		               "container engine at %s: %s", e->where, curl_easy_strerror(rc));
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	return 0;
}

int engine_request(struct engine *e, const char *method, const char *path, json_t *body,
                   long timeout_s, long *ret_status, json_t **ret_json, struct err *err)
{
	cleanup_free char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body != NULL && payload == NULL)
		return err_set(err, ENOMEM, "cannot encode engine request");
	struct engine_body raw = {payload, payload ? strlen(payload) : 0, NULL};
	char *data = NULL;
	size_t len = 0;
	if (engine_request_raw(e, method, path, &raw, timeout_s, ret_status, &data, &len, err) < 0)
		return -1;
	json_t *j = NULL;
	int decoded = engine_decode_answer(data, len, *ret_status, &j, err);
	free(data);
	if (decoded < 0)
		return err_wrap(err, "container engine at %s answered %s %s", e->where, method,
		                path);
	if (ret_json != NULL)
		*ret_json = j;
	else
		json_decref(j);
	return 0;
}

/* {"message":text}. JSON strings hold only UTF-8: text that is not (say, cut
 * inside a character) keeps its printable ASCII, '?' for the rest, rather
 * than the user reading "(no message)". */
static json_t *plain_message(const char *text, size_t len)
{
	json_t *j = json_pack("{s:s%}", "message", text, len);
	if (j != NULL)
		return j;
	char ascii[256];
	if (len >= sizeof(ascii))
		len = sizeof(ascii) - 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		ascii[i] = '?';
		if ((ch >= 0x20 && ch < 0x7f) || ch == '\n' || ch == '\t')
			ascii[i] = text[i];
	}
	return json_pack("{s:s%}", "message", ascii, len);
}

int engine_decode_answer(const char *data, size_t len, long status, json_t **ret_json,
                         struct err *err)
{
	json_t *j = NULL;
	if (len > 0) {
		json_error_t jerr;
		j = json_loadb(data, len, 0, &jerr);
		if (j == NULL && status < 300)
			return err_set(err, EBADMSG, "malformed JSON: %s", jerr.text);
		if (j == NULL) /* an error answer in plain text: keep it as a message */
			j = plain_message(data, len > 200 ? (size_t)200 : len);
	}
	*ret_json = j;
	return 0;
}

int engine_expect(long status, json_t *answer, const long *ok, const char *what, struct err *err)
{
	for (const long *p = ok; *p; p++)
		if (status == *p)
			return 0;
	const char *msg = json_string_value(json_object_get(answer, "message"));
	return err_set(err, status == 404 ? ENOENT : EIO, "%s: engine answered %ld: %s", what,
	               status, msg ? msg : "(no message)");
}

int engine_call(struct engine *e, const char *method, const char *path, json_t *body,
                long timeout_s, const long *ok, const char *what, json_t **ret_answer,
                struct err *err)
{
	long status = 0;
	json_t *answer = NULL;
	int rc = engine_request(e, method, path, body, timeout_s, &status, &answer, err);
	if (rc == 0)
		rc = engine_expect(status, answer, ok, what, err);
	if (ret_answer != NULL && rc == 0)
		*ret_answer = answer;
	else
		json_decref(answer);
	return rc;
}

int engine_inspect(struct engine *e, const char *kind, const char *name, json_t **ret_json,
                   struct err *err)
{
	char path[512];
	char enc[400];
	if (engine_urlencode(name, enc, sizeof(enc)) < 0)
		return err_set(err, ENAMETOOLONG, "name \"%s\" is too long", name);
	snprintf(path, sizeof(path), "/%s/%s/json", kind, enc);
	long status = 0;
	json_t *j = NULL;
	if (engine_request(e, "GET", path, NULL, 15, &status, &j, err) < 0)
		return -1;
	if (status == 404) {
		json_decref(j);
		return 0;
	}
	static const long ok[] = {200, 0};
	if (engine_expect(status, j, ok, "inspect", err) < 0) {
		json_decref(j);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(err, EBADMSG, "inspect of \"%s\": not a JSON object", name);
	}
	*ret_json = j;
	return 1;
}

int engine_urlencode(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		            (ch >= '0' && ch <= '9') || strchr("-_.~", ch);
		if (o + (plain ? 1 : 3) >= size)
			return -1;
		if (plain) {
			buf[o++] = (char)ch;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o] = '\0';
	return 0;
}

struct stream {
	engine_line_fn fn;
	void *ctx;
	char buf[64 * 1024];
	size_t len;
	int stop;
};

static size_t stream_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct stream *st = userdata;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n; i++) {
		if (ptr[i] != '\n') {
			if (st->len < sizeof(st->buf) - 1)
				st->buf[st->len++] = ptr[i];
			continue;
		}
		json_t *j = json_loadb(st->buf, st->len, 0, NULL);
		st->len = 0;
		if (j != NULL) {
			int rc = st->fn(st->ctx, j);
			json_decref(j);
			if (rc < 0) {
				st->stop = 1;
				return 0;
			}
		}
	}
	return n;
}

/* curl_easy_perform() for a transfer that may stay quiet for hours. The easy
 * interface polls with a 1 s timeout, waking the watchdog every second for
 * nothing; here the wait lasts until data arrives or curl has a timer due. */
static CURLcode stream_perform(CURL *c)
{
	CURLM *m = curl_multi_init();
	if (m == NULL || curl_multi_add_handle(m, c) != CURLM_OK) {
		curl_multi_cleanup(m);
		return CURLE_OUT_OF_MEMORY;
	}
	CURLcode rc = CURLE_OK;
	for (int running = 1; running;) {
		long timeout = -1;
		if (curl_multi_perform(m, &running) != CURLM_OK ||
		    curl_multi_timeout(m, &timeout) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
		if (running && curl_multi_poll(m, NULL, 0,
		                               timeout < 0 || timeout > 3600 * 1000 ? 3600 * 1000
		                                                                    : (int)timeout,
		                               NULL) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
	}
	int left = 0;
	for (CURLMsg *msg; (msg = curl_multi_info_read(m, &left)) != NULL;)
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	curl_multi_remove_handle(m, c);
	curl_multi_cleanup(m);
	return rc;
}

int engine_stream(struct engine *e, const char *path, engine_line_fn fn, void *ctx, struct err *err)
{
	char url[2048];
	if (api_url(e, path, url, sizeof(url), err) < 0)
		return -1;
	struct stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return err_set(err, ENOMEM, "out of memory");
	st->fn = fn;
	st->ctx = ctx;
	CURL *c = setup_handle(e, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, st);
	/* A peer that vanishes without a word (a remote engine): keepalive probes
	 * end the stream within minutes instead of never. */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 60L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 20L);
	CURLcode rc = stream_perform(c);
	int stopped = st->stop;
	free(st);
	if (rc != CURLE_OK && !stopped)
		return err_set(err, ECONNRESET, "event stream from %s: %s", e->where,
		               curl_easy_strerror(rc));
	return 0;
}
