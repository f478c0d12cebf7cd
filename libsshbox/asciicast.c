#include "asciicast.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t asciicast_header(char *out, size_t size, int width, int height, long long timestamp,
                        const char *term)
{
	int n = snprintf(out, size,
	                 "{\"version\":2,\"width\":%d,\"height\":%d,\"timestamp\":%lld,"
	                 "\"env\":{\"TERM\":\"%s\",\"SHELL\":\"/bin/sh\"}}\n",
	                 width, height, timestamp, term);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Appends the JSON form of one byte below 0x80. */
static size_t escape_ascii(char *o, unsigned char c)
{
	switch (c) {
	case '"':
		return (size_t)sprintf(o, "\\\"");
	case '\\':
		return (size_t)sprintf(o, "\\\\");
	case '\n':
		return (size_t)sprintf(o, "\\n");
	case '\r':
		return (size_t)sprintf(o, "\\r");
	case '\t':
		return (size_t)sprintf(o, "\\t");
	default:
		if (c < 0x20 || c == 0x7f)
			return (size_t)sprintf(o, "\\u%04x", c);
		o[0] = (char)c;
		return 1;
	}
}

size_t asciicast_event(char *out, double t, char type, struct cast_stream *st, const char *data,
                       size_t len)
{
	unsigned char buf[3 + 8];
	size_t o = (size_t)sprintf(out, "[%.6f,\"%c\",\"", t, type);
	/* The carry, then data: walked as one sequence of bytes. */
	size_t total = st->ncarry + len, i = 0;
	memcpy(buf, st->carry, st->ncarry);
	st->ncarry = 0;
	while (i < total) {
		/* Up to 4 bytes at i, from the carry or the data, in buf. */
		size_t avail = total - i < 4 ? total - i : 4;
		for (size_t k = 0; k < avail; k++) {
			size_t at = i + k;
			buf[3 + k] =
			    at < total - len ? buf[at] : (unsigned char)data[at - (total - len)];
		}
		int n = utf8_sequence(buf + 3, avail);
		if (n < 0) { /* cut short by the end of this chunk: next time */
			memcpy(st->carry, buf + 3, avail);
			st->ncarry = avail;
			break;
		}
		if (n == 0) {
			out[o++] = '\xef'; /* U+FFFD, the replacement character */
			out[o++] = '\xbf';
			out[o++] = '\xbd';
			i++;
		} else if (n == 1) {
			o += escape_ascii(out + o, buf[3]);
			i++;
		} else {
			memcpy(out + o, buf + 3, (size_t)n);
			o += (size_t)n;
			i += (size_t)n;
		}
	}
	memcpy(out + o, "\"]\n", 4);
	return o + 3;
}
