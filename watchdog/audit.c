#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "names.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static int to_syslog;
static char log_path[CONFIG_STR_MAX];
static long long lost; /* lines not written since the last that was */

/* The directory root-only, created if missing: it names who logged in when. */
static int open_file(const char *path)
{
	char dir[CONFIG_STR_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	int fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -1;
	struct stat st;
	/* Whatever made it, it is root's and no one else reads it. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fchown(fd, 0, 0) < 0 ||
	    fchmod(fd, 0600) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

void audit_open(const struct config *cfg)
{
	int fd = -1;
	int sys = strcmp(cfg->audit_log, "syslog") == 0;
	if (!sys) {
		fd = open_file(cfg->audit_log);
		if (fd < 0)
			log_err("audit log %s: cannot open: %s; audit lines go to syslog until "
			        "it can be",
			        cfg->audit_log, strerror(errno));
	}
	pthread_mutex_lock(&lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	to_syslog = sys;
	snprintf(log_path, sizeof(log_path), "%s", cfg->audit_log);
	pthread_mutex_unlock(&lock);
}

void audit_time_format(long long ns, char *buf, size_t size)
{
	time_t s = (time_t)(ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&s, &tm);
	char day[32];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03lldZ", day, (ns / 1000000LL) % 1000);
}

/* With the lock held. */
static void write_line(const char *line, size_t len)
{
	if (log_fd >= 0) {
		ssize_t n = write(log_fd, line, len);
		if (n == (ssize_t)len) {
			if (lost > 0)
				log_warn("audit log %s: writing again; %lld line(s) went to "
				         "syslog meanwhile",
				         log_path, lost);
			lost = 0;
			return;
		}
		if (lost++ == 0)
			log_err("audit log %s: write failed (%s); audit lines go to syslog until "
			        "it works again",
			        log_path, n < 0 ? strerror(errno) : "short write");
	}
	/* The fallback, too, when the file cannot be written: a line is never
	 * simply lost, and never waited for. */
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "sshbox-audit: %.*s", (int)len - 1, line);
}

void audit_event(const char *event, const char *user, uid_t uid, const char *session,
                 json_t *fields)
{
	char when[40];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	audit_time_format((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, when, sizeof(when));
	json_t *line = json_pack("{s:s,s:s}", "time", when, "event", event);
	if (line == NULL) {
		json_decref(fields);
		return;
	}
	if (user != NULL)
		json_object_set_new(line, "user", json_string(user));
	if (uid != AUDIT_NO_UID)
		json_object_set_new(line, "uid", json_integer((json_int_t)uid));
	if (session != NULL && strcmp(session, "-") != 0)
		json_object_set_new(line, "session", json_string(session));
	if (fields != NULL)
		json_object_update(line, fields);
	json_decref(fields);
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (text == NULL)
		return;
	size_t len = strlen(text);
	char *buf = realloc(text, len + 2);
	if (buf == NULL) {
		free(text);
		return;
	}
	buf[len] = '\n';
	buf[len + 1] = '\0';
	pthread_mutex_lock(&lock);
	write_line(buf, len + 1);
	pthread_mutex_unlock(&lock);
	free(buf);
}

void audit_data_refused(const char *user, uid_t uid, const char *session, const char *why)
{
	log_warn("user \"%s\" uid %u session %s: audit data refused: %s", user, (unsigned)uid,
	         session, why);
	audit_event("audit_data_refused", user, uid, session, json_pack("{s:s}", "reason", why));
}

json_t *audit_info_fields(const struct audit_info *info)
{
	json_t *f = json_pack("{s:s,s:s,s:i}", "kind", info->kind, "client", info->client, "port",
	                      info->port);
	if (f != NULL && strcmp(info->kind, "shell") != 0) {
		json_object_set_new(f, "command", json_string(info->command));
		json_object_set_new(f, "command_bytes", json_integer(info->command_bytes));
		json_object_set_new(
		    f, "command_truncated",
		    json_boolean((long long)strlen(info->command) < info->command_bytes));
		json_object_set_new(f, "command_sha256", json_string(info->command_sha256));
	}
	return f;
}

/* Reason hints: a few users act at once at most; a small table will do. */
#define HINTS_MAX   64
#define HINT_TTL_MS 60000
static struct {
	char user[USER_NAME_MAX + 1];
	char action[16];
	char reason[32];
	long long at;
} hints[HINTS_MAX];

void audit_reason_set(const char *user, const char *action, const char *reason)
{
	long long now = mono_ms();
	pthread_mutex_lock(&lock);
	int slot = 0;
	for (int i = 0; i < HINTS_MAX; i++) {
		if (strcmp(hints[i].user, user) == 0 && strcmp(hints[i].action, action) == 0) {
			slot = i;
			break;
		}
		if (hints[i].at < hints[slot].at)
			slot = i; /* else the oldest */
	}
	snprintf(hints[slot].user, sizeof(hints[slot].user), "%s", user);
	snprintf(hints[slot].action, sizeof(hints[slot].action), "%s", action);
	snprintf(hints[slot].reason, sizeof(hints[slot].reason), "%s", reason);
	hints[slot].at = now;
	pthread_mutex_unlock(&lock);
}

int audit_reason_take(const char *user, const char *action, char *buf, size_t size)
{
	long long now = mono_ms();
	int found = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < HINTS_MAX && !found; i++)
		if (hints[i].at != 0 && strcmp(hints[i].user, user) == 0 &&
		    strcmp(hints[i].action, action) == 0) {
			found = now - hints[i].at < HINT_TTL_MS;
			if (found)
				snprintf(buf, size, "%s", hints[i].reason);
			hints[i].at = 0;
			hints[i].user[0] = '\0';
		}
	pthread_mutex_unlock(&lock);
	return found;
}
