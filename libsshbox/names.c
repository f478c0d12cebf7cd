#include "names.h"

#include <string.h>

static int is_lower_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int user_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > USER_NAME_MAX)
		return 0;
	if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(is_lower_digit(name[i]) || name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

int instance_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 32 || name[0] == '-' || name[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '-' && name[i + 1] == '-')
			return 0;
		if (!(is_lower_digit(name[i]) || name[i] == '-'))
			return 0;
	}
	return 1;
}

int image_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255 || name[0] == '-' || name[0] == '/' || name[0] == ':')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!(is_lower_digit(c) || (c >= 'A' && c <= 'Z') || strchr("._:/@-", c)))
			return 0;
	}
	return 1;
}

#include <stdio.h>

static int fits(int n, size_t size)
{
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

int box_container_name(const char *instance, const char *user, char *buf, size_t size)
{
	return fits(snprintf(buf, size, "%s-%s", instance, user), size);
}

int box_volume_name(const char *instance, const char *user, char *buf, size_t size)
{
	return fits(snprintf(buf, size, "%s-home-%s", instance, user), size);
}

int box_image_name(const char *instance, const char *user, char *buf, size_t size)
{
	/* A tag may start with '_', a repository name may not. */
	return fits(snprintf(buf, size, "%s-user:%s", instance, user), size);
}

int box_layer_image_name(const char *instance, const char *user, char *buf, size_t size)
{
	return fits(snprintf(buf, size, "%s-layer:%s", instance, user), size);
}
