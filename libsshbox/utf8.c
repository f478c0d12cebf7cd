#include "utf8.h"

#include <string.h>

int utf8_sequence(const unsigned char *s, size_t n)
{
	size_t want;
	unsigned min, cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		want = 2, min = 0x80, cp = s[0] & 0x1fu;
	} else if ((s[0] & 0xf0) == 0xe0) {
		want = 3, min = 0x800, cp = s[0] & 0x0fu;
	} else if ((s[0] & 0xf8) == 0xf0) {
		want = 4, min = 0x10000, cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	for (size_t i = 1; i < want; i++) {
		if (i == n)
			return -1;
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return (int)want;
}

size_t utf8_prefix(const char *s, size_t len, size_t max, char *dst)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t in = 0, out = 0;
	while (in < len && out < max) {
		int n = utf8_sequence(u + in, len - in);
		if (n < 0)
			break; /* cut by the end of the input */
		if (n == 0 || u[in] == 0) {
			dst[out++] = '?';
			in++;
			continue;
		}
		if (out + (size_t)n > max)
			break;
		memcpy(dst + out, s + in, (size_t)n);
		out += (size_t)n;
		in += (size_t)n;
	}
	dst[out] = '\0';
	return out;
}
