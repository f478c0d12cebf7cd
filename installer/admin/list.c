/* sshbox list: one row a user: container state, port, live sessions (through
 * the shim, and direct), daemon flag, idle since, image, limits (one word),
 * and last, the rest of the line, why it runs or when it stops (why.h).
 * sshbox status USER: the same for one user, one field a line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "box.h"
#include "direct.h"
#include "names.h"
#include "proto.h"
#include "record.h"
#include "why.h"

/* The watchdog's view (sessions, daemon, idle); NULL when it is not running. */
static json_t *watchdog_list(const struct config *cfg, struct err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->socket);
	char session[PROTO_SESSION_LEN + 1] = "";
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!read(fd, session, PROTO_SESSION_LEN);
		close(fd);
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err_sys(err, errno, "cannot reach the watchdog at %s", cfg->socket);
		if (s >= 0)
			close(s);
		return NULL;
	}
	json_t *req =
	    json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "list", "session", session);
	json_t *reply = NULL;
	if (proto_send(s, req, -1, 5000, err) < 0 || proto_recv(s, 10000, &reply, NULL, err) < 0)
		reply = NULL;
	json_decref(req);
	close(s);
	return reply;
}

static json_t *find_user(json_t *reply, const char *name)
{
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(reply, "users"), i, u)
	{
		if (strcmp(json_string_value(json_object_get(u, "name"))
		               ? json_string_value(json_object_get(u, "name"))
		               : "",
		           name) == 0)
			return u;
	}
	return NULL;
}

void limits_text(const struct user_record *rec, char *buf, size_t size)
{
	int n = 0;
	buf[0] = '\0';
	if (rec->memory >= 0)
		n += snprintf(buf + n, size - n, "mem=%lldm,", rec->memory >> 20);
	if (rec->nano_cpus >= 0)
		n += snprintf(buf + n, size - n, "cpus=%lld.%02lld,", rec->nano_cpus / 1000000000,
		              rec->nano_cpus % 1000000000 / 10000000);
	if (rec->pids >= 0)
		n += snprintf(buf + n, size - n, "pids=%ld,", rec->pids);
	if (rec->fuse)
		n += snprintf(buf + n, size - n, "fuse,");
	if (n > 0)
		buf[n - 1] = '\0'; /* one word: the WHY column follows */
	else
		snprintf(buf, size, "defaults");
}

struct row {
	const char *state;
	char sessions[16], idle[32], port[8], direct[8], limits[96];
	char image[CONFIG_STR_MAX];
	int daemon;
	char why[200];
};

/* One user's row from the watchdog's answer (NULL: it did not answer), the
 * engine and the record. */
static void describe(json_t *wd, struct engine *e, const struct config *cfg, const char *name,
                     const struct user_record *rec, struct row *r)
{
	struct container_info info;
	struct err rerr = {0};
	memset(r, 0, sizeof(*r));
	int found = box_lookup(e, cfg, name, &info, &rerr);
	r->state = found < 0 ? "?" : !found ? "none" : info.running ? "running" : "stopped";
	json_t *w = find_user(wd, name);
	snprintf(r->sessions, sizeof(r->sessions), wd == NULL ? "?" : "0");
	snprintf(r->idle, sizeof(r->idle), "-");
	snprintf(r->port, sizeof(r->port), "-");
	snprintf(r->direct, sizeof(r->direct), "-");
	struct why why = {.found = found > 0,
	                  .running = found > 0 && info.running,
	                  .known = wd != NULL,
	                  .busy_tenths = -1,
	                  .stop_in = -1,
	                  .busy_left = -1};
	if (w != NULL) {
		why.shim = (int)json_integer_value(json_object_get(w, "sessions"));
		snprintf(r->sessions, sizeof(r->sessions), "%d", why.shim);
		time_t since = (time_t)json_integer_value(json_object_get(w, "idle_since"));
		if (since > 0)
			strftime(r->idle, sizeof(r->idle), "%Y-%m-%dT%H:%M:%S", localtime(&since));
		r->daemon = why.daemon = json_is_true(json_object_get(w, "daemon"));
		why.stop_in = json_integer_value(json_object_get(w, "stop_in"));
		if (json_is_integer(json_object_get(w, "busy_tenths"))) {
			why.busy_tenths =
			    (int)json_integer_value(json_object_get(w, "busy_tenths"));
			why.busy_left = json_integer_value(json_object_get(w, "busy_left"));
		}
	}
	if (why.running) {
		why.direct = direct_sessions(info.pid);
		snprintf(r->direct, sizeof(r->direct), "%d", why.direct);
		if (info.host_port)
			snprintf(r->port, sizeof(r->port), "%d", info.host_port);
	}
	why_text(&why, r->why, sizeof(r->why));
	limits_text(rec, r->limits, sizeof(r->limits));
	snprintf(r->image, sizeof(r->image), "%s", found > 0 ? info.image : rec->image);
}

struct view {
	json_t *wd;
	struct engine *e;
};

static int view_open(const struct config *cfg, const char *cmd, struct view *v, struct err *err)
{
	struct err werr = {0};
	v->wd = watchdog_list(cfg, &werr);
	if (v->wd == NULL)
		fprintf(stderr, "sshbox %s: %s; session counts unknown\n", cmd, werr.msg);
	if (engine_open(cfg, &v->e, err) < 0) {
		json_decref(v->wd);
		return -1;
	}
	return 0;
}

static void view_close(struct view *v)
{
	engine_close(v->e);
	json_decref(v->wd);
}

int cmd_list(const struct config *cfg, int argc, char **argv, struct err *err)
{
	(void)argv;
	if (argc != 1)
		return err_set(err, EINVAL, "usage: sshbox list");
	if (cfg->engine_mode == ENGINE_MODE_SWARM)
		return cmd_list_swarm(cfg, err);
	struct view v;
	if (view_open(cfg, "list", &v, err) < 0)
		return -1;
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/users", cfg->state_dir);
	DIR *d = opendir(dir);
	if (d == NULL) {
		view_close(&v);
		return err_sys(err, errno, "cannot read %s", dir);
	}
	printf("%-16s %-8s %-6s %-8s %-6s %-6s %-20s %-24s %-24s %s\n", "USER", "STATE", "PORT",
	       "SESSIONS", "DIRECT", "DAEMON", "IDLE-SINCE", "IMAGE", "LIMITS", "WHY");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct user_record rec;
		struct err rerr = {0};
		struct row r;
		if (!user_name_valid(de->d_name) || record_load(cfg, de->d_name, &rec, &rerr) < 0)
			continue;
		describe(v.wd, v.e, cfg, de->d_name, &rec, &r);
		printf("%-16s %-8s %-6s %-8s %-6s %-6s %-20s %-24s %-24s %s\n", de->d_name, r.state,
		       r.port, r.sessions, r.direct, r.daemon ? "yes" : "no", r.idle, r.image,
		       r.limits, r.why);
	}
	closedir(d);
	view_close(&v);
	return 0;
}

int cmd_status(const struct config *cfg, int argc, char **argv, struct err *err)
{
	if (argc != 2)
		return err_set(err, EINVAL, "usage: sshbox status USER");
	const char *name = argv[1];
	if (!user_name_valid(name))
		return err_set(err, EINVAL, "\"%s\" is not a valid user name", name);
	if (cfg->engine_mode == ENGINE_MODE_SWARM)
		return cmd_status_swarm(cfg, name, err);
	struct user_record rec;
	if (record_load(cfg, name, &rec, err) < 0)
		return err_wrap(err, "user \"%s\"", name);
	struct view v;
	if (view_open(cfg, "status", &v, err) < 0)
		return -1;
	struct row r;
	describe(v.wd, v.e, cfg, name, &rec, &r);
	view_close(&v);
	printf("user:       %s\nstate:      %s\nwhy:        %s\nsessions:   %s shim, %s direct\n"
	       "daemon:     %s\nidle since: %s\nport:       %s\nimage:      %s\nlimits:     %s\n",
	       name, r.state, r.why, r.sessions, r.direct, r.daemon ? "yes" : "no", r.idle, r.port,
	       r.image, r.limits);
	return 0;
}
