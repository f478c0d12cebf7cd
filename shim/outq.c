#include "outq.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int outq_flush(struct outq *q)
{
	while (q->off < q->len) {
		ssize_t n = write(q->fd, q->buf + q->off, q->len - q->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		q->off += (size_t)n;
	}
	q->off = q->len = 0;
	return 0;
}

int outq_pump(struct outq *q, ssh_channel ch, int is_stderr)
{
	for (;;) {
		if (outq_flush(q) < 0)
			return -1;
		if (outq_pending(q))
			return 0;
		int n = ssh_channel_read_nonblocking(ch, q->buf, sizeof(q->buf), is_stderr);
		if (n <= 0)
			return 0;
		q->len = (size_t)n;
		q->off = 0;
		q->total += (unsigned long long)n;
		if (q->tap != NULL)
			q->tap(q->tap_ctx, q->buf, q->len);
	}
}

int outq_append(struct outq *q, const char *data, size_t len)
{
	if (len > sizeof(q->buf) - q->len)
		return -1;
	memcpy(q->buf + q->len, data, len);
	q->len += len;
	return 0;
}
