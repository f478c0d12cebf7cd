/* Bytes taken from an inner channel and not yet written to a local,
 * non-blocking descriptor. While any are pending that stream is not read
 * further: a slow reader slows the inner sender through the SSH window, and
 * never blocks the loop (a blocking write here can deadlock: the outer sshd
 * may be waiting for us to read stdin before it reads our stdout). */
#ifndef SSHBOX_OUTQ_H
#define SSHBOX_OUTQ_H

#include <libssh/libssh.h>
#include <stddef.h>

#define OUTQ_SIZE                                                                                  \
	(1280 * 1024) /* libssh 0.10's whole window: one read empties its buffer, no memmove */

struct outq {
	int fd;
	size_t off, len;
	unsigned long long total; /* bytes taken from the channel, for the audit log */
	/* Sees every chunk taken from the channel (the session's recording). */
	void (*tap)(void *ctx, const char *data, size_t len);
	void *tap_ctx;
	char buf[OUTQ_SIZE];
};

/* Writes what the descriptor takes now; 0, or -1 when its reader is gone. */
int outq_flush(struct outq *q);
/* Refills from the channel stream whenever the queue empties, until the
 * channel has nothing or the descriptor is full; 0, or -1 (reader gone). */
int outq_pump(struct outq *q, ssh_channel ch, int is_stderr);
/* Queues bytes of our own (a notice) behind what is pending; -1 if full. */
int outq_append(struct outq *q, const char *data, size_t len);
static inline int outq_pending(const struct outq *q)
{
	return q->len > q->off;
}

#endif
