/* /etc/sshbox/sshbox.conf: "key = value" lines, '#' comments. Strict: an
 * unknown key, a duplicate key or a bad value is an error naming the file,
 * the line and the value. */
#ifndef SSHBOX_CONFIG_H
#define SSHBOX_CONFIG_H

#include "err.h"

#define SSHBOX_DEFAULT_CONFIG "/etc/sshbox/sshbox.conf"
#define CONFIG_STR_MAX        256
#ifndef SSHBOX_SHIM_PATH
#define SSHBOX_SHIM_PATH "/usr/local/libexec/sshbox/sshbox-shim"
#endif

struct config {
	char engine[CONFIG_STR_MAX];    /* unix socket path, or tcp://host:port */
	char cert_path[CONFIG_STR_MAX]; /* ca.pem, cert.pem, key.pem for tcp:// */
	char socket[CONFIG_STR_MAX];    /* the watchdog's unix socket */
	char state_dir[CONFIG_STR_MAX];
	char instance[64]; /* prefix of container, volume and image names */
	char group[64];    /* host group of sshbox accounts */
	char default_image[CONFIG_STR_MAX];
	long long default_memory;    /* bytes, 0 = no limit */
	long long default_nano_cpus; /* 1e9 = one CPU, 0 = no limit */
	long default_pids;
	int idle_grace_seconds;
	int stop_timeout_seconds;
	int publish_port;          /* publish the container's sshd on 127.0.0.1 */
	char shim[CONFIG_STR_MAX]; /* sshbox-shim: also every sshbox account's login shell */
	/* The root of the tree the container's sshd is taken from ("" = /):
	 * usr/sbin/sshd, usr/lib/openssh/... (watchdog/bundle.h). */
	char bundle_source[CONFIG_STR_MAX];
	/* Prometheus metrics: "" = off, "unix:/path" or "127.0.0.1:PORT". */
	char metrics_listen[CONFIG_STR_MAX];
	/* Busy-aware idle stop: a container using more than this share of one
	 * CPU over the grace period is kept (0 = never kept for being busy),
	 * but for no longer than idle_busy_max_ms after its last session. */
	int idle_busy_cpu_percent;
	long long idle_busy_max_ms;
	char audit_log[CONFIG_STR_MAX]; /* a file, or "syslog" */
	int record;                     /* RECORD_NONE / _PTY / _PTY_INPUT */
	long long record_max_bytes;     /* per user, all recordings together */
	int engine_mode;                /* ENGINE_MODE_LOCAL or ENGINE_MODE_SWARM */
	long swarm_layer_flatten;       /* layers at which a save flattens; 0 never */
	/* The unprivileged account sshd runs sshbox-keys as (swarm mode's
	 * AuthorizedKeysCommandUser): with root, the only caller of "keys". */
	char keys_user[64];
};

/* Session recording, globally (config "record") or per user (record key
 * "record", which wins when set). */
enum { RECORD_DEFAULT = -1, RECORD_NONE = 0, RECORD_PTY = 1, RECORD_PTY_INPUT = 2 };
int parse_record_mode(const char *s, int *ret_mode); /* none, pty, pty+input */
const char *record_mode_name(int mode);

/* engine_mode: containers on this host's engine (the default), or swarm
 * services on a Docker Swarm this host is a manager of (docs/design-cluster.md). */
#define ENGINE_MODE_LOCAL 0
#define ENGINE_MODE_SWARM 1
/* swarm_layer_flatten: a save onto an image of this many layers or more
 * flattens it into one (design-cluster.md 3.10); past ~125 overlay2
 * refuses to start it. */
#define SWARM_LAYER_FLATTEN_DEFAULT 60
#define SWARM_LAYER_FLATTEN_MAX     100

void config_defaults(struct config *cfg);
/* Parses the file at path over the defaults. */
int config_load(const char *path, struct config *ret_cfg, struct err *err);
/* For the shim when the file does not parse: the one "socket = /path" line
 * (or the default when there is none), so that an admin's slip elsewhere in
 * the file, which the running watchdog refuses too, locks nobody out. -1 when
 * the file cannot be read or the socket line is missing or doubled. */
int config_socket_only(const char *path, char *ret_socket, size_t size);
/* Parses text as if read from a file named name (for tests and fuzzing). */
int config_parse(const char *text, size_t len, const char *name, struct config *ret_cfg,
                 struct err *err);

/* Value parsers shared with the user record and the admin CLI. */
int parse_size(const char *s, long long *ret_bytes);     /* 512m, 1g, 1048576 */
int parse_cpus(const char *s, long long *ret_nano_cpus); /* 1.5 */
int parse_long(const char *s, long min, long max, long *ret);
int parse_bool(const char *s, int *ret);
/* "24", "0.5", "0.0125" hours (up to 6 decimals, no floats) -> ms. */
int parse_hours_ms(const char *s, long long *ret_ms);
/* metrics_listen: "unix:/path" (absolute) or "127.0.0.1:PORT" (1-65535). */
int parse_metrics_listen(const char *s);

#endif
