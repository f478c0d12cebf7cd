#include "authkeys.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END   "-----END OPENSSH PRIVATE KEY-----"
#define MAGIC     "openssh-key-v1" /* with its NUL */
#define PEM_MAX   8192

/* One SSH "string" (32-bit big-endian length, then the bytes) at *off. */
static int take_string(const unsigned char *p, size_t len, size_t *off, const unsigned char **ret,
                       size_t *ret_len)
{
	if (len - *off < 4)
		return -1;
	uint32_t n = (uint32_t)p[*off] << 24 | (uint32_t)p[*off + 1] << 16 |
	             (uint32_t)p[*off + 2] << 8 | p[*off + 3];
	*off += 4;
	if (n > len - *off)
		return -1;
	*ret = p + *off;
	*ret_len = n;
	*off += n;
	return 0;
}

int authkeys_public_blob(const char *private_pem, char *ret_b64, size_t size, struct err *err)
{
	const char *begin = strstr(private_pem, PEM_BEGIN);
	const char *end = begin ? strstr(begin, PEM_END) : NULL;
	if (end == NULL)
		return err_set(err, EINVAL, "the inner key is not an OpenSSH private key");
	/* The base64 body without its line breaks. */
	char text[PEM_MAX], raw[PEM_MAX];
	size_t t = 0;
	for (const char *s = begin + strlen(PEM_BEGIN); s < end; s++) {
		if (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
			continue;
		if (t + 1 >= sizeof(text))
			return err_set(err, E2BIG, "the inner key is too long");
		text[t++] = *s;
	}
	text[t] = '\0';
	int n = b64_decode(text, raw, sizeof(raw), err);
	if (n < 0)
		return -1;
	const unsigned char *p = (const unsigned char *)raw, *field = NULL;
	size_t len = (size_t)n, off = sizeof(MAGIC), flen = 0;
	int bad = len < off || memcmp(p, MAGIC, sizeof(MAGIC)) != 0;
	/* cipher, kdf, kdf options, then the number of keys (1) and the first
	 * key's public blob. */
	for (int i = 0; !bad && i < 3; i++)
		bad = take_string(p, len, &off, &field, &flen) < 0;
	bad = bad || len - off < 4 || memcmp(p + off, "\0\0\0\1", 4) != 0;
	if (!bad) {
		off += 4;
		bad = take_string(p, len, &off, &field, &flen) < 0 || flen == 0;
	}
	int rc = bad ? err_set(err, EINVAL, "the inner key's header is malformed")
	             : b64_encode(field, flen, ret_b64, size, err);
	memset(raw, 0, sizeof(raw));
	memset(text, 0, sizeof(text));
	return rc;
}

/* Whether the line (len bytes) has word as one of its space-separated fields. */
static int has_field(const char *line, size_t len, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= len; i++) {
		int starts = i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t';
		int ends = i + w == len || line[i + w] == ' ' || line[i + w] == '\t';
		if (starts && ends && memcmp(line + i, word, w) == 0)
			return 1;
	}
	return 0;
}

int authkeys_without(const char *keys, const char *inner_b64, char *ret_out, size_t size,
                     struct err *err)
{
	size_t o = 0;
	int kept = 0;
	if (size == 0 || inner_b64[0] == '\0')
		return err_set(err, EINVAL, "no inner key to leave out");
	for (const char *s = keys; *s != '\0';) {
		size_t len = strcspn(s, "\n");
		const char *line = s;
		s += len + (s[len] == '\n');
		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		size_t lead = strspn(line, " \t");
		if (lead >= len || line[lead] == '#' || has_field(line, len, inner_b64))
			continue;
		size_t opts = strlen(AUTHKEYS_HOST_OPTIONS);
		if (o + opts + len + 2 > size)
			return err_set(err, E2BIG, "the user's keys are too long");
		memcpy(ret_out + o, AUTHKEYS_HOST_OPTIONS, opts);
		memcpy(ret_out + o + opts, line, len);
		o += opts + len;
		ret_out[o++] = '\n';
		kept++;
	}
	ret_out[o] = '\0';
	return kept;
}
