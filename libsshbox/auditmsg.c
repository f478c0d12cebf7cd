#include "auditmsg.h"

#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == 0)
			return 0;
	return 1;
}

static int integer_member(const json_t *o, const char *key, long long min, long long max,
                          long long *ret, struct err *err)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return err_set(err, EBADMSG, "audit field \"%s\" is missing or out of range", key);
	*ret = json_integer_value(v);
	return 0;
}

static int only_members(const json_t *o, const char *const *allowed, struct err *err)
{
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)o, key, member)
	{
		int known = 0;
		for (size_t i = 0; allowed[i] != NULL; i++)
			known |= strcmp(key, allowed[i]) == 0;
		if (!known)
			return err_set(err, EBADMSG, "unknown audit field \"%.32s\"", key);
	}
	return 0;
}

int auditmsg_parse_info(const json_t *audit, struct audit_info *ret_info, struct err *err)
{
	static const char *const allowed[] = {"kind",          "client",         "port", "command",
	                                      "command_bytes", "command_sha256", NULL};
	static const char *const kinds[] = {"shell", "exec", "sftp", "scp", "verb", "jump"};
	struct audit_info info;
	long long n;
	memset(&info, 0, sizeof(info));
	if (!json_is_object(audit))
		return err_set(err, EBADMSG, "audit field \"audit\" is not an object");
	if (only_members(audit, allowed, err) < 0 ||
	    proto_get_string(audit, "kind", info.kind, sizeof(info.kind), 1, err) < 0)
		return -1;
	int known = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		known |= strcmp(info.kind, kinds[i]) == 0;
	if (!known)
		return err_set(err, EBADMSG, "audit field \"kind\" is not a known kind");
	unsigned char addr[16];
	if (proto_get_string(audit, "client", info.client, sizeof(info.client), 1, err) < 0)
		return -1;
	if (inet_pton(AF_INET, info.client, addr) != 1 &&
	    inet_pton(AF_INET6, info.client, addr) != 1)
		return err_set(err, EBADMSG, "audit field \"client\" is not an IP address");
	if (integer_member(audit, "port", 1, 65535, &n, err) < 0)
		return -1;
	info.port = (int)n;
	if (proto_get_string(audit, "command", info.command, sizeof(info.command), 1, err) < 0 ||
	    integer_member(audit, "command_bytes", 0, 1LL << 40, &info.command_bytes, err) < 0 ||
	    proto_get_string(audit, "command_sha256", info.command_sha256,
	                     sizeof(info.command_sha256), 1, err) < 0)
		return -1;
	if (!is_hex64(info.command_sha256))
		return err_set(err, EBADMSG, "audit field \"command_sha256\" is not a sha256");
	size_t len = strlen(info.command);
	/* The kept prefix is at most 4 KiB and can only be shorter than the
	 * whole when it was cut (a cut UTF-8 sequence loses up to 3 bytes). */
	if ((long long)len > info.command_bytes ||
	    ((long long)len < info.command_bytes && len + 4 <= AUDIT_COMMAND_MAX &&
	     info.command_bytes <= AUDIT_COMMAND_MAX))
		return err_set(err, EBADMSG,
		               "audit field \"command_bytes\" does not fit the command");
	if (strcmp(info.kind, "shell") == 0 && info.command_bytes != 0)
		return err_set(err, EBADMSG, "audit field \"command\" is set for a shell");
	*ret_info = info;
	return 0;
}

int auditmsg_parse_end(const json_t *msg, struct audit_end *ret_end, struct err *err)
{
	static const char *const allowed[] = {"v",      "op",       "session",   "status",
	                                      "signal", "bytes_in", "bytes_out", NULL};
	struct audit_end end;
	long long n;
	memset(&end, 0, sizeof(end));
	end.status = -1;
	if (only_members(msg, allowed, err) < 0)
		return -1;
	int has_status = json_object_get(msg, "status") != NULL;
	int has_signal = json_object_get(msg, "signal") != NULL;
	if (has_status && has_signal)
		return err_set(err, EBADMSG, "audit fields \"status\" and \"signal\" both set");
	if (has_status) {
		if (integer_member(msg, "status", 0, 255, &n, err) < 0)
			return -1;
		end.status = (int)n;
	}
	if (has_signal) {
		if (proto_get_string(msg, "signal", end.signal, sizeof(end.signal), 1, err) < 0)
			return -1;
		for (const char *p = end.signal; *p; p++)
			if (*p < 'A' || *p > 'Z')
				return err_set(err, EBADMSG,
				               "audit field \"signal\" is not a name");
		if (end.signal[0] == '\0')
			return err_set(err, EBADMSG, "audit field \"signal\" is empty");
	}
	if (integer_member(msg, "bytes_in", 0, (long long)(~0ULL >> 1), &n, err) < 0)
		return -1;
	end.bytes_in = (unsigned long long)n;
	if (integer_member(msg, "bytes_out", 0, (long long)(~0ULL >> 1), &n, err) < 0)
		return -1;
	end.bytes_out = (unsigned long long)n;
	*ret_end = end;
	return 0;
}
