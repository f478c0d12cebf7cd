#include "engine_pipe.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define PIPE_BUF_BYTES (1024 * 1024)
#define PIPE_RESUME    (64 * 1024) /* free room before the source resumes */
#define SOURCE_ERR_MAX 200

struct pipe {
	CURL *src, *dst;
	char *buf;
	size_t head, len; /* the bytes not sent yet: buf[head, head + len) */
	int src_paused, dst_paused, src_done, src_failed;
	long long bytes;
	struct engine_answer answer;      /* the destination's */
	char src_err[SOURCE_ERR_MAX + 1]; /* the start of a source's error answer */
	size_t src_err_len;
};

static long status_of(CURL *c)
{
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* The source's answer into the buffer; a full buffer pauses the source
 * (libcurl keeps this chunk and hands it over again on resume). */
static size_t from_source(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct pipe *p = userdata;
	size_t n = size * nmemb;
	if (status_of(p->src) != 200) {
		size_t keep = SOURCE_ERR_MAX - p->src_err_len;
		keep = n < keep ? n : keep;
		memcpy(p->src_err + p->src_err_len, ptr, keep);
		p->src_err_len += keep;
		p->src_err[p->src_err_len] = '\0';
		return n;
	}
	if (p->head + p->len + n > PIPE_BUF_BYTES && p->head > 0) {
		memmove(p->buf, p->buf + p->head, p->len);
		p->head = 0;
	}
	if (p->len + n > PIPE_BUF_BYTES) {
		p->src_paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	memcpy(p->buf + p->head + p->len, ptr, n);
	p->len += n;
	p->bytes += (long long)n;
	return n;
}

/* The buffer into the destination's body: an empty buffer pauses it until
 * the source sends more; a failed source aborts it, so that the engine
 * never takes a cut archive for a whole one. */
static size_t to_destination(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct pipe *p = userdata;
	size_t n = size * nmemb;
	if (p->len == 0) {
		if (p->src_failed)
			return CURL_READFUNC_ABORT;
		if (p->src_done)
			return 0;
		p->dst_paused = 1;
		return CURL_READFUNC_PAUSE;
	}
	n = n < p->len ? n : p->len;
	memcpy(ptr, p->buf + p->head, n);
	p->head += n;
	p->len -= n;
	if (p->len == 0)
		p->head = 0;
	return n;
}

/* Resumes whichever side its callback paused once the other has moved. */
static void resume(struct pipe *p)
{
	if (p->dst_paused && (p->len > 0 || p->src_done || p->src_failed)) {
		p->dst_paused = 0;
		curl_easy_pause(p->dst, CURLPAUSE_CONT);
	}
	if (p->src_paused && PIPE_BUF_BYTES - p->len >= PIPE_RESUME) {
		p->src_paused = 0;
		curl_easy_pause(p->src, CURLPAUSE_CONT);
	}
}

/* Runs both transfers to their end, or until the destination ends (an
 * early refusal), or the deadline. CURLE_* of the destination in
 * *ret_dst_rc, of the source in *ret_src_rc. */
static int run(CURLM *m, struct pipe *p, long long deadline, CURLcode *ret_src_rc,
               CURLcode *ret_dst_rc, struct err *err)
{
	int dst_running = 1;
	while (dst_running) {
		int running = 0, left = 0;
		long timeout = -1;
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return err_set(err, EIO, "libcurl failed to drive the transfers");
		for (CURLMsg *msg; (msg = curl_multi_info_read(m, &left)) != NULL;) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == p->dst) {
				*ret_dst_rc = msg->data.result;
				dst_running = 0;
			} else {
				*ret_src_rc = msg->data.result;
				p->src_done =
				    msg->data.result == CURLE_OK && status_of(p->src) == 200;
				p->src_failed = !p->src_done;
			}
		}
		if (!dst_running)
			break;
		resume(p);
		if (mono_ms() >= deadline)
			return err_set(err, ETIMEDOUT, "the transfer did not end in time");
		if (curl_multi_timeout(m, &timeout) != CURLM_OK)
			return err_set(err, EIO, "libcurl failed to drive the transfers");
		if (timeout < 0 || timeout > 1000)
			timeout = 1000; /* a paused handle wakes no poll */
		if (curl_multi_poll(m, NULL, 0, (int)timeout, NULL) != CURLM_OK)
			return err_set(err, EIO, "libcurl failed to wait for the transfers");
	}
	return 0;
}

int engine_pipe(struct engine *e, const char *from_path, const char *to_path, const char *body_type,
                long timeout_s, long *ret_status, char **ret_answer, size_t *ret_len,
                long long *ret_bytes, struct err *err)
{
	struct pipe p = {0};
	char ctype[128];
	int rc = -1;
	CURLcode src_rc = CURLE_OK, dst_rc = CURLE_OK;
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", body_type);
	/* "Expect:" off: no wait for a 100 Continue before the body. */
	struct curl_slist *headers = curl_slist_append(NULL, ctype);
	struct curl_slist *more = headers ? curl_slist_append(headers, "Expect:") : NULL;
	CURLM *m = curl_multi_init();
	p.buf = malloc(PIPE_BUF_BYTES);
	p.src = engine_easy_new(e, from_path, err);
	p.dst = p.src ? engine_easy_new(e, to_path, err) : NULL;
	if (p.src == NULL || p.dst == NULL)
		goto out;
	if (more == NULL || m == NULL || p.buf == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	headers = more;
	curl_easy_setopt(p.src, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(p.src, CURLOPT_WRITEFUNCTION, from_source);
	curl_easy_setopt(p.src, CURLOPT_WRITEDATA, &p);
	curl_easy_setopt(p.dst, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(p.dst, CURLOPT_POST, 1L);
	curl_easy_setopt(p.dst, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1); /* chunked */
	curl_easy_setopt(p.dst, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(p.dst, CURLOPT_READFUNCTION, to_destination);
	curl_easy_setopt(p.dst, CURLOPT_READDATA, &p);
	curl_easy_setopt(p.dst, CURLOPT_WRITEFUNCTION, engine_collect);
	curl_easy_setopt(p.dst, CURLOPT_WRITEDATA, &p.answer);
	if (curl_multi_add_handle(m, p.src) != CURLM_OK ||
	    curl_multi_add_handle(m, p.dst) != CURLM_OK) {
		err_set(err, ENOMEM, "cannot start the transfers");
		goto out;
	}
	if (run(m, &p, mono_ms() + timeout_s * 1000, &src_rc, &dst_rc, err) < 0) {
		err_wrap(err, "GET %s into POST %s at %s", from_path, to_path, engine_where(e));
		goto out;
	}
	/* A refusal before the whole body (a bad query): the engine's word. */
	int refused = dst_rc == CURLE_OK && status_of(p.dst) != 200;
	if (!p.src_done && !refused) {
		long status = status_of(p.src);
		if (src_rc != CURLE_OK || status == 200)
			err_set(err, ECONNRESET, "GET %s at %s: %s", from_path, engine_where(e),
			        src_rc != CURLE_OK ? curl_easy_strerror(src_rc)
			                           : "the destination ended before the source");
		else
			err_set(err, status == 404 ? ENOENT : EIO,
			        "GET %s: engine answered %ld: %s", from_path, status,
			        p.src_err_len ? p.src_err : "(no message)");
		goto out;
	}
	if (dst_rc != CURLE_OK) {
		err_set(err, ECONNRESET, "POST %s at %s: %s", to_path, engine_where(e),
		        curl_easy_strerror(dst_rc));
		goto out;
	}
	*ret_status = status_of(p.dst);
	*ret_answer = p.answer.data;
	*ret_len = p.answer.len;
	*ret_bytes = p.bytes;
	p.answer.data = NULL;
	rc = 0;
out:
	if (m != NULL) {
		if (p.src != NULL)
			curl_multi_remove_handle(m, p.src);
		if (p.dst != NULL)
			curl_multi_remove_handle(m, p.dst);
	}
	curl_easy_cleanup(p.src);
	curl_easy_cleanup(p.dst);
	curl_multi_cleanup(m);
	curl_slist_free_all(headers);
	free(p.buf);
	free(p.answer.data);
	return rc;
}
