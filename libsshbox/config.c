#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvfile.h"
#include "names.h"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->engine, "/var/run/docker.sock");
	strcpy(cfg->socket, "/run/sshbox/watchdog.sock");
	strcpy(cfg->state_dir, "/var/lib/sshbox");
	strcpy(cfg->instance, "sshbox");
	strcpy(cfg->group, "sshbox");
	strcpy(cfg->keys_user, "sshbox-keys");
	strcpy(cfg->default_image, "sshbox-base:latest");
	/* On by default, so no user exhausts the host with a default install. */
	cfg->default_memory = 4LL << 30;
	cfg->default_pids = 1024;
	cfg->idle_grace_seconds = 60;
	cfg->stop_timeout_seconds = 10;
	cfg->publish_port = 1;
	cfg->idle_busy_cpu_percent = 5;
	cfg->idle_busy_max_ms = 24LL * 3600 * 1000;
	strcpy(cfg->shim, SSHBOX_SHIM_PATH);
	strcpy(cfg->audit_log, "/var/log/sshbox/audit.log");
	cfg->record = RECORD_NONE;
	cfg->record_max_bytes = 1LL << 30;
	cfg->swarm_layer_flatten = SWARM_LAYER_FLATTEN_DEFAULT;
}

int parse_record_mode(const char *s, int *ret_mode)
{
	static const char *const names[] = {"none", "pty", "pty+input"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*ret_mode = i;
			return 0;
		}
	return -1;
}

const char *record_mode_name(int mode)
{
	return mode == RECORD_PTY ? "pty" : mode == RECORD_PTY_INPUT ? "pty+input" : "none";
}

int parse_long(const char *s, long min, long max, long *ret)
{
	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

int parse_size(const char *s, long long *ret_bytes)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	unsigned long long mult = 1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
		mult = 1ULL << 30;
		end++;
		break;
	case 't':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return -1;
	}
	if ((*end == 'b' || *end == 'B') && mult > 1)
		end++;
	if (*end != '\0' || v > (unsigned long long)LLONG_MAX / mult)
		return -1;
	*ret_bytes = (long long)(v * mult);
	return 0;
}

/* Digits, at most one point: at most max_whole digits before it and
 * max_decimals after, no floats, no locale. *ret_frac is scaled to
 * max_decimals places; *ret_digits and *ret_decimals (-1: no point) say what
 * was there, for the caller's rule on empty parts. */
static int parse_decimal(const char *s, int max_whole, int max_decimals, long long *ret_whole,
                         long long *ret_frac, int *ret_digits, int *ret_decimals)
{
	long long whole = 0, frac = 0;
	int digits = 0, decimals = -1;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && decimals < 0) {
			decimals = 0;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return -1;
		if (decimals < 0) {
			if (++digits > max_whole)
				return -1;
			whole = whole * 10 + (*p - '0');
		} else {
			if (++decimals > max_decimals)
				return -1;
			frac = frac * 10 + (*p - '0');
		}
	}
	for (int n = decimals < 0 ? 0 : decimals; n < max_decimals; n++)
		frac *= 10;
	*ret_whole = whole;
	*ret_frac = frac;
	*ret_digits = digits;
	*ret_decimals = decimals;
	return 0;
}

int parse_cpus(const char *s, long long *ret_nano_cpus)
{
	/* At most 4 digits and 3 decimals. */
	long long whole, frac;
	int digits, decimals;
	if (parse_decimal(s, 4, 3, &whole, &frac, &digits, &decimals) < 0 || digits == 0)
		return -1;
	*ret_nano_cpus = whole * 1000000000LL + frac * 1000000LL;
	return 0;
}

int parse_bool(const char *s, int *ret)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0) {
		*ret = 1;
		return 0;
	}
	if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0) {
		*ret = 0;
		return 0;
	}
	return -1;
}

int parse_hours_ms(const char *s, long long *ret_ms)
{
	/* 99999 h at most (over 11 years), 6 decimals; ".5" is half an hour. */
	long long whole, frac;
	int digits, decimals;
	if (parse_decimal(s, 5, 6, &whole, &frac, &digits, &decimals) < 0 ||
	    (digits == 0 && decimals <= 0))
		return -1;
	/* frac is in millionths of an hour: 3.6 ms each. */
	*ret_ms = whole * 3600000LL + frac * 36 / 10;
	return 0;
}

int parse_metrics_listen(const char *s)
{
	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' && strlen(s + 5) < 108 ? 0 : -1; /* sun_path */
	long port = 0;
	if (strncmp(s, "127.0.0.1:", 10) != 0 || parse_long(s + 10, 1, 65535, &port) < 0)
		return -1;
	return 0;
}

static int set_path(char *dst, size_t size, const char *v)
{
	if (v[0] != '/' || strlen(v) >= size)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int set_value(struct config *cfg, const char *key, const char *v)
{
	long n;
	if (strcmp(key, "engine") == 0) {
		if (strncmp(v, "tcp://", 6) == 0 || strncmp(v, "unix://", 7) == 0) {
			if (strlen(v) >= sizeof(cfg->engine) || strlen(v) < 8)
				return -1;
			strcpy(cfg->engine, v);
			return 0;
		}
		return set_path(cfg->engine, sizeof(cfg->engine), v);
	}
	if (strcmp(key, "engine_cert_path") == 0)
		return set_path(cfg->cert_path, sizeof(cfg->cert_path), v);
	if (strcmp(key, "socket") == 0)
		return set_path(cfg->socket, 108, v); /* sun_path limit */
	if (strcmp(key, "state_dir") == 0)
		return set_path(cfg->state_dir, sizeof(cfg->state_dir), v);
	if (strcmp(key, "instance") == 0) {
		if (!instance_name_valid(v))
			return -1;
		strcpy(cfg->instance, v);
		return 0;
	}
	if (strcmp(key, "group") == 0) {
		if (!user_name_valid(v))
			return -1;
		strcpy(cfg->group, v);
		return 0;
	}
	if (strcmp(key, "keys_user") == 0) {
		if (!user_name_valid(v) || strlen(v) >= sizeof(cfg->keys_user))
			return -1;
		strcpy(cfg->keys_user, v);
		return 0;
	}
	if (strcmp(key, "default_image") == 0) {
		if (!image_name_valid(v) || strlen(v) >= sizeof(cfg->default_image))
			return -1;
		strcpy(cfg->default_image, v);
		return 0;
	}
	if (strcmp(key, "default_memory") == 0)
		return parse_size(v, &cfg->default_memory);
	if (strcmp(key, "default_cpus") == 0)
		return parse_cpus(v, &cfg->default_nano_cpus);
	if (strcmp(key, "default_pids") == 0)
		return parse_long(v, 0, 4194304, &cfg->default_pids);
	if (strcmp(key, "idle_grace_seconds") == 0) {
		if (parse_long(v, 0, 86400 * 365, &n) < 0)
			return -1;
		cfg->idle_grace_seconds = (int)n;
		return 0;
	}
	if (strcmp(key, "stop_timeout_seconds") == 0) {
		if (parse_long(v, 0, 3600, &n) < 0)
			return -1;
		cfg->stop_timeout_seconds = (int)n;
		return 0;
	}
	if (strcmp(key, "publish_port") == 0)
		return parse_bool(v, &cfg->publish_port);
	if (strcmp(key, "shim") == 0)
		return set_path(cfg->shim, sizeof(cfg->shim), v);
	if (strcmp(key, "bundle_source") == 0) {
		if (set_path(cfg->bundle_source, sizeof(cfg->bundle_source), v) < 0)
			return -1;
		if (strcmp(cfg->bundle_source, "/") == 0) /* paths are appended to it */
			cfg->bundle_source[0] = '\0';
		return 0;
	}
	if (strcmp(key, "metrics_listen") == 0) {
		if (strcmp(v, "off") == 0) {
			cfg->metrics_listen[0] = '\0';
			return 0;
		}
		if (parse_metrics_listen(v) < 0 || strlen(v) >= sizeof(cfg->metrics_listen))
			return -1;
		strcpy(cfg->metrics_listen, v);
		return 0;
	}
	if (strcmp(key, "idle_busy_cpu_percent") == 0) {
		if (parse_long(v, 0, 100000, &n) < 0)
			return -1;
		cfg->idle_busy_cpu_percent = (int)n;
		return 0;
	}
	if (strcmp(key, "idle_busy_max_hours") == 0)
		return parse_hours_ms(v, &cfg->idle_busy_max_ms);
	if (strcmp(key, "audit_log") == 0) {
		if (strcmp(v, "syslog") == 0) {
			strcpy(cfg->audit_log, v);
			return 0;
		}
		return set_path(cfg->audit_log, sizeof(cfg->audit_log), v);
	}
	if (strcmp(key, "record") == 0)
		return parse_record_mode(v, &cfg->record);
	if (strcmp(key, "record_max_bytes") == 0)
		return parse_size(v, &cfg->record_max_bytes);
	if (strcmp(key, "engine_mode") == 0) {
		if (strcmp(v, "local") != 0 && strcmp(v, "swarm") != 0)
			return -1;
		cfg->engine_mode = strcmp(v, "swarm") == 0 ? ENGINE_MODE_SWARM : ENGINE_MODE_LOCAL;
		return 0;
	}
	if (strcmp(key, "swarm_layer_flatten") == 0)
		return parse_long(v, 0, SWARM_LAYER_FLATTEN_MAX, &cfg->swarm_layer_flatten);
	return -2;
}

static const char *const config_keys[] = {"engine",
                                          "engine_cert_path",
                                          "socket",
                                          "state_dir",
                                          "instance",
                                          "group",
                                          "default_image",
                                          "default_memory",
                                          "default_cpus",
                                          "default_pids",
                                          "idle_grace_seconds",
                                          "stop_timeout_seconds",
                                          "publish_port",
                                          "shim",
                                          "bundle_source",
                                          "metrics_listen",
                                          "idle_busy_cpu_percent",
                                          "idle_busy_max_hours",
                                          "audit_log",
                                          "record",
                                          "record_max_bytes",
                                          "engine_mode",
                                          "swarm_layer_flatten",
                                          "keys_user",
                                          NULL};

struct config_ctx {
	struct config cfg;
	int seen[sizeof(config_keys) / sizeof(config_keys[0])];
};

static int config_kv(void *ctx, const char *key, const char *value, struct err *err)
{
	struct config_ctx *c = ctx;
	int idx = -1;
	for (int i = 0; config_keys[i]; i++)
		if (strcmp(config_keys[i], key) == 0)
			idx = i;
	if (idx < 0)
		return err_set(err, EINVAL, "unknown key \"%s\"", key);
	if (c->seen[idx])
		return err_set(err, EINVAL, "duplicate key \"%s\"", key);
	c->seen[idx] = 1;
	if (set_value(&c->cfg, key, value) != 0)
		return err_set(err, EINVAL, "bad value \"%s\" for \"%s\"%s", value, key,
		               strcmp(key, "metrics_listen") == 0
		                   ? " (only unix:/PATH, 127.0.0.1:PORT or off: metrics are "
		                     "never served beyond this host)"
		               : strcmp(key, "swarm_layer_flatten") == 0
		                   ? " (a number of image layers from 0, never, to 100: "
		                     "overlay2 refuses images past ~125)"
		                   : "");
	return 0;
}

int config_parse(const char *text, size_t len, const char *name, struct config *ret_cfg,
                 struct err *err)
{
	struct config_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	config_defaults(&ctx.cfg);
	if (kv_parse(text, len, name, config_kv, &ctx, err) < 0)
		return -1;
	*ret_cfg = ctx.cfg;
	return 0;
}

int config_load(const char *path, struct config *ret_cfg, struct err *err)
{
	char buf[KVFILE_MAX_BYTES];
	size_t len = 0;
	if (kv_read_file(path, 0, buf, sizeof(buf), &len, err) < 0)
		return err_wrap(err, "config");
	return config_parse(buf, len, path, ret_cfg, err);
}

int config_socket_only(const char *path, char *ret_socket, size_t size)
{
	char buf[KVFILE_MAX_BYTES];
	size_t len = 0;
	struct err err = {0};
	struct config dflt;
	config_defaults(&dflt);
	if (kv_read_file(path, 0, buf, sizeof(buf), &len, &err) < 0)
		return -1;
	char found[CONFIG_STR_MAX] = "";
	int count = 0;
	for (char *line = buf, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		if (strncmp(line, "socket", 6) != 0)
			continue;
		char *v = line + 6 + strspn(line + 6, " \t");
		if (*v++ != '=')
			continue;
		v += strspn(v, " \t");
		v[strcspn(v, " \t\r")] = '\0';
		if (strlen(v) >= sizeof(found))
			return -1;
		count++;
		strcpy(found, v);
	}
	const char *use = count == 0 ? dflt.socket : found;
	if (count > 1 || use[0] != '/' || strlen(use) >= size)
		return -1;
	strcpy(ret_socket, use);
	return 0;
}
