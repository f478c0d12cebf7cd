#include "tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

static int grow(struct tar *t, size_t more, struct err *err)
{
	if (t->len + more <= t->cap)
		return 0;
	size_t cap = (t->len + more) * 2;
	char *p = realloc(t->data, cap);
	if (p == NULL)
		return err_set(err, ENOMEM, "out of memory building an archive");
	t->data = p;
	t->cap = cap;
	return 0;
}

int tar_add(struct tar *t, const char *name, char type, unsigned mode, const char *data, size_t len,
            struct err *err)
{
	size_t padded = (len + BLOCK - 1) / BLOCK * BLOCK;
	if (strlen(name) >= 100)
		return err_set(err, ENAMETOOLONG, "archive entry name \"%s\" is too long", name);
	if (grow(t, BLOCK + padded, err) < 0)
		return -1;
	char *h = t->data + t->len;
	memset(h, 0, BLOCK + padded);
	strcpy(h, name);
	snprintf(h + 100, 8, "%07o", mode & 07777);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011llo", (unsigned long long)len);
	snprintf(h + 136, 12, "%011o", 0);
	h[156] = type;
	strcpy(h + 257, "ustar"); /* magic, NUL-ended; then version "00" */
	h[263] = '0';
	h[264] = '0';
	strcpy(h + 265, "root");
	strcpy(h + 297, "root");
	/* The checksum counts its own field as spaces. */
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	if (len > 0)
		memcpy(h + BLOCK, data, len);
	t->len += BLOCK + padded;
	return 0;
}

int tar_finish(struct tar *t, struct err *err)
{
	if (grow(t, 2 * BLOCK, err) < 0)
		return -1;
	memset(t->data + t->len, 0, 2 * BLOCK);
	t->len += 2 * BLOCK;
	return 0;
}

void tar_free(struct tar *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

int tar_first_file(const char *data, size_t len, const char **ret_data, size_t *ret_len,
                   struct err *err)
{
	if (data == NULL || len < BLOCK)
		return err_set(err, EBADMSG, "archive is shorter than one header");
	/* Size: octal digits, NUL or space ended (GNU's base-256 form is for
	 * files over 8 GiB, which a passwd file never is). */
	unsigned long long size = 0;
	for (int i = 124; i < 136 && data[i] != '\0' && data[i] != ' '; i++) {
		if (data[i] < '0' || data[i] > '7' || size > (1ULL << 40))
			return err_set(err, EBADMSG, "archive header has a bad size");
		size = size * 8 + (unsigned)(data[i] - '0');
	}
	char type = data[156];
	if (type != '0' && type != '\0')
		return 0;
	if (size > len - BLOCK)
		return err_set(err, EBADMSG, "archive entry is cut short");
	*ret_data = data + BLOCK;
	*ret_len = (size_t)size;
	return 1;
}
