/* UTF-8 checks for what goes into JSON (jansson takes only valid UTF-8):
 * the audit log's commands and the recordings' terminal data. */
#ifndef SSHBOX_UTF8_H
#define SSHBOX_UTF8_H

#include <stddef.h>

/* The sequence at s (n bytes left): its length when valid, 0 when invalid,
 * -1 when valid so far but cut short by the end of the buffer. */
int utf8_sequence(const unsigned char *s, size_t n);

/* Copies at most max bytes of s into dst (size > max) so that the copy is
 * valid UTF-8: a sequence cut at the end is dropped, invalid bytes and NULs
 * become '?'. Returns the length written. */
size_t utf8_prefix(const char *s, size_t len, size_t max, char *dst);

#endif
