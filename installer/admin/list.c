/* sshbox list: one row a user: container state, port, live sessions (through
 * the shim, and direct), daemon flag, idle since, image, limits. */
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

static void limits_text(const struct user_record *rec, char *buf, size_t size)
{
	int n = 0;
	buf[0] = '\0';
	if (rec->memory >= 0)
		n += snprintf(buf + n, size - n, "mem=%lldm ", rec->memory >> 20);
	if (rec->nano_cpus >= 0)
		n += snprintf(buf + n, size - n, "cpus=%lld.%02lld ", rec->nano_cpus / 1000000000,
		              rec->nano_cpus % 1000000000 / 10000000);
	if (rec->pids >= 0)
		n += snprintf(buf + n, size - n, "pids=%ld ", rec->pids);
	if (rec->fuse)
		snprintf(buf + n, size - n, "fuse ");
	if (buf[0] == '\0')
		snprintf(buf, size, "defaults");
}

int cmd_list(const struct config *cfg, int argc, char **argv, struct err *err)
{
	if (argc != 1)
		return err_set(err, EINVAL, "usage: sshbox list");
	struct err werr = {0};
	json_t *wd = watchdog_list(cfg, &werr);
	if (wd == NULL)
		fprintf(stderr, "sshbox list: %s; session counts unknown\n", werr.msg);
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0) {
		json_decref(wd);
		return -1;
	}
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/users", cfg->state_dir);
	DIR *d = opendir(dir);
	if (d == NULL) {
		engine_close(e);
		json_decref(wd);
		return err_sys(err, errno, "cannot read %s", dir);
	}
	printf("%-16s %-8s %-6s %-8s %-6s %-6s %-20s %-24s %s\n", "USER", "STATE", "PORT",
	       "SESSIONS", "DIRECT", "DAEMON", "IDLE-SINCE", "IMAGE", "LIMITS");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct user_record rec;
		struct container_info info;
		struct err rerr = {0};
		if (!user_name_valid(de->d_name) || record_load(cfg, de->d_name, &rec, &rerr) < 0)
			continue;
		int found = box_lookup(e, cfg, de->d_name, &info, &rerr);
		const char *state = found < 0      ? "?"
		                    : !found       ? "none"
		                    : info.running ? "running"
		                                   : "stopped";
		json_t *w = find_user(wd, de->d_name);
		char sessions[16] = "?", idle[32] = "-", port[8] = "-", direct[8] = "-", limits[96];
		if (w != NULL) {
			snprintf(sessions, sizeof(sessions), "%lld",
			         json_integer_value(json_object_get(w, "sessions")));
			time_t since = (time_t)json_integer_value(json_object_get(w, "idle_since"));
			if (since > 0)
				strftime(idle, sizeof(idle), "%Y-%m-%dT%H:%M:%S",
				         localtime(&since));
		} else if (wd != NULL) {
			snprintf(sessions, sizeof(sessions), "0");
		}
		if (found > 0 && info.running) {
			snprintf(direct, sizeof(direct), "%d", direct_sessions(info.pid));
			if (info.host_port)
				snprintf(port, sizeof(port), "%d", info.host_port);
		}
		limits_text(&rec, limits, sizeof(limits));
		printf("%-16s %-8s %-6s %-8s %-6s %-6s %-20s %-24s %s\n", de->d_name, state, port,
		       sessions, direct,
		       w && json_is_true(json_object_get(w, "daemon")) ? "yes" : "no", idle,
		       found > 0 ? info.image : rec.image, limits);
	}
	closedir(d);
	engine_close(e);
	json_decref(wd);
	return 0;
}
