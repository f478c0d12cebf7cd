#include "b64.h"

#include <errno.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_encode(const void *data, size_t len, char *buf, size_t size, struct err *err)
{
	const unsigned char *p = data;
	if ((len + 2) / 3 * 4 + 1 > size)
		return err_set(err, E2BIG, "data too large to encode");
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		buf[o++] = alphabet[(v >> 18) & 63];
		buf[o++] = alphabet[(v >> 12) & 63];
		buf[o++] = (char)(i + 1 < len ? alphabet[(v >> 6) & 63] : '=');
		buf[o++] = (char)(i + 2 < len ? alphabet[v & 63] : '=');
	}
	buf[o] = '\0';
	return 0;
}

int b64_decode(const char *text, char *buf, size_t size, struct err *err)
{
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;
	for (const char *c = text; *c != '\0' && *c != '='; c++) {
		const char *at = strchr(alphabet, *c);
		if (at == NULL || *c == '\0')
			return err_set(err, EINVAL, "bad base64 data");
		v = (v << 6) | (unsigned)(at - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= size)
				return err_set(err, E2BIG, "decoded data too large");
			buf[o++] = (char)((v >> bits) & 0xff);
		}
	}
	buf[o] = '\0';
	return (int)o;
}
