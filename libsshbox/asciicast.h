/* asciicast v2 (what `asciinema play` and `asciinema cat` read): a JSON
 * header line, then one [seconds, "o"|"i"|"r", "data"] line per event.
 * Terminal data is bytes and JSON wants UTF-8: a sequence split between two
 * chunks is carried over to the next one, and invalid bytes become U+FFFD.
 * Pure: exposed for the unit tests and the fuzz harness. */
#ifndef SSHBOX_ASCIICAST_H
#define SSHBOX_ASCIICAST_H

#include <stddef.h>

/* Room an event line needs for len bytes of data (plus a carry). */
#define ASCIICAST_LINE_MAX(len) (6 * ((len) + 4) + 64)

/* One direction's bytes cut mid-sequence, for the next chunk. */
struct cast_stream {
	unsigned char carry[3];
	size_t ncarry;
};

/* The header line (with its newline) into out; its length, or 0 if it does
 * not fit. term is TERM as the client sent it (already checked). */
size_t asciicast_header(char *out, size_t size, int width, int height, long long timestamp,
                        const char *term);

/* One event line ([t, "type", "data"]\n) into out, which holds at least
 * ASCIICAST_LINE_MAX(len) bytes; returns its length. */
size_t asciicast_event(char *out, double t, char type, struct cast_stream *st, const char *data,
                       size_t len);

#endif
