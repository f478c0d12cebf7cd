#include "verbs.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "direct.h"
#include "engine.h"
#include "flags.h"
#include "kvfile.h"
#include "log.h"
#include "names.h"
#include "session.h"
#include "why.h"

struct verb_out {
	int status;
	char out[2048];
	char err[ERR_MSG_MAX + 128];
};

__attribute__((format(printf, 2, 3))) static int fail(struct verb_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	o->status = 1;
	return -1;
}

static int has_force(const struct proto_request *req, struct verb_out *o)
{
	int force = 0;
	for (int i = 0; i < req->argc; i++) {
		if (strcmp(req->args[i], "--force") == 0)
			force = 1;
		else
			return fail(o, "sshbox: unknown option \"%s\" (only --force)\n",
			            req->args[i]);
	}
	return force;
}

static int no_args(const struct proto_request *req, struct verb_out *o)
{
	if (req->argc > 0)
		return fail(o, "sshbox: this verb takes no arguments (got \"%s\")\n", req->args[0]);
	return 0;
}

/* Refuses while the user has live sessions, unless forced. */
static int check_idle(const char *user, const struct container_info *info, int force,
                      const char *verb, struct verb_out *o)
{
	struct user_state *u = state_user(user);
	state_lock();
	int sessions = u ? u->sessions : 0;
	state_unlock();
	if (info->running)
		sessions += direct_sessions(info->pid);
	if (sessions > 0 && !force) {
		snprintf(o->err, sizeof(o->err),
		         "sshbox: %d other session(s) of yours are live in this container; "
		         "'%s --force' %ss it anyway\n",
		         sessions, verb, verb);
		o->status = 1;
		return -1;
	}
	return 0;
}

static int verb_port(const struct container_info *info, int found, struct verb_out *o)
{
	if (!found || !info->running)
		return fail(o, "sshbox: your container is not running%s\n", "");
	if (info->host_port == 0)
		return fail(o, "sshbox: your container's sshd is not published on this host%s\n",
		            "");
	snprintf(o->out, sizeof(o->out), "%d\n", info->host_port);
	return 0;
}

static int verb_freeport(struct verb_out *o)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
		if (s >= 0)
			close(s);
		return fail(o, "sshbox: cannot find a free port: %s\n", strerror(errno));
	}
	close(s);
	snprintf(o->out, sizeof(o->out), "%d\n", ntohs(sa.sin_port));
	return 0;
}

static int verb_hostkey(const struct config *cfg, const char *user,
                        const struct container_info *info, int found, struct verb_out *o)
{
	char path[512], key[1024];
	size_t len;
	struct err err = {0};
	user_path(cfg, user, "etc/ssh_host_ed25519_key.pub", path, sizeof(path));
	if (kv_read_file(path, 1, key, sizeof(key), &len, &err) < 0)
		return fail(o, "sshbox: cannot read your container's host key: %s\n", err.msg);
	key[strcspn(key, "\n")] = '\0';
	/* Drop the comment: a known_hosts line is "host keytype base64". */
	char *sp = strchr(key, ' ');
	if (sp != NULL && (sp = strchr(sp + 1, ' ')) != NULL)
		*sp = '\0';
	if (found && info->running && info->host_port)
		snprintf(o->out, sizeof(o->out), "[127.0.0.1]:%d %s\n", info->host_port, key);
	else
		snprintf(o->out, sizeof(o->out), "[127.0.0.1]:* %s\n", key);
	return 0;
}

/* Fills *w from the watchdog's state and the engine's answer. */
static void verb_why(const struct config *cfg, struct user_state *u,
                     const struct container_info *info, int found, struct why *w)
{
	long long now = mono_ms();
	*w = (struct why){.found = found > 0, .running = found > 0 && info->running, .known = 1};
	state_lock();
	w->shim = u->sessions;
	w->stop_in = u->stop_at ? (u->stop_at - now + 999) / 1000 : -1;
	w->busy_tenths = u->busy.kept_tenths;
	long long left = u->busy.idle_began_ms + cfg->idle_busy_max_ms - now;
	w->busy_left = w->busy_tenths >= 0 ? (left > 0 ? (left + 999) / 1000 : 0) : -1;
	state_unlock();
	w->direct = w->running ? direct_sessions(info->pid) : 0;
	w->daemon = flags_daemon(cfg, u->name);
}

static int verb_status(const struct config *cfg, struct user_state *u,
                       const struct container_info *info, int found, struct verb_out *o)
{
	struct why w;
	char text[200];
	verb_why(cfg, u, info, found, &w);
	why_text(&w, text, sizeof(text));
	snprintf(o->out, sizeof(o->out), "container: %s%s%s\nwhy: %s\n",
	         !w.found    ? "none"
	         : w.running ? "running"
	                     : "stopped",
	         w.found ? ", image " : "", w.found ? info->image : "", text);
	return 0;
}

static int verb_commit(struct engine *e, const struct config *cfg, const char *user,
                       const struct container_info *info, int found, struct verb_out *o)
{
	struct err err = {0};
	if (!found)
		return fail(o, "sshbox: you have no container to commit%s\n", "");
	char image[128], id[80];
	box_image_name(cfg->instance, user, image, sizeof(image));
	if (container_commit(e, cfg, user, info->id, NULL, id, sizeof(id), &err) < 0)
		return fail(o, "sshbox: commit failed: %s\n", err.msg);
	snprintf(o->out, sizeof(o->out), "committed your container as %s (%.19s)\n", image, id);
	log_info("user \"%s\": committed container %.12s as %s", user, info->id, image);
	return 0;
}

static int verb_stop_remove(struct engine *e, const struct config *cfg, const char *user,
                            const struct container_info *info, int found, int remove,
                            const struct proto_request *req, struct verb_out *o)
{
	struct err err = {0};
	int force = has_force(req, o);
	if (force < 0)
		return -1;
	if (!found)
		return fail(o, "sshbox: you have no container%s\n", "");
	if (check_idle(user, info, force, req->verb, o) < 0)
		return -1;
	char path[160];
	if (remove) {
		snprintf(path, sizeof(path), "/containers/%s?force=1", info->id);
		static const long ok[] = {204, 0};
		if (engine_call(e, "DELETE", path, NULL, cfg->stop_timeout_seconds + 60L, ok,
		                "remove", NULL, &err) < 0)
			return fail(o, "sshbox: remove failed: %s\n", err.msg);
		snprintf(o->out, sizeof(o->out),
		         "removed your container; your home volume and committed image are kept\n");
	} else {
		if (!info->running) {
			snprintf(o->out, sizeof(o->out), "your container is already stopped\n");
			return 0;
		}
		if (box_stop(e, info->id, cfg->stop_timeout_seconds, &err) < 0)
			return fail(o, "sshbox: stop failed: %s\n", err.msg);
		snprintf(o->out, sizeof(o->out), "stopped your container\n");
	}
	log_info("user \"%s\": container %.12s %s by the user%s", user, info->id,
	         remove ? "removed" : "stopped", force ? " (--force)" : "");
	return 0;
}

json_t *verb_run(const struct config *cfg, const char *user, const struct user_record *rec,
                 const struct proto_request *req)
{
	struct verb_out o = {0};
	struct err err = {0};
	struct engine *e = NULL;
	struct container_info info;
	struct user_state *u = state_user(user);
	const char *v = req->verb;
	int known = !strcmp(v, "port") || !strcmp(v, "freeport") || !strcmp(v, "hostkey") ||
	            !strcmp(v, "commit") || !strcmp(v, "stop") || !strcmp(v, "remove") ||
	            !strcmp(v, "status");
	if (!known) {
		fail(&o, "sshbox: unknown verb \"%s\"\n", v);
		goto reply;
	}
	if (strcmp(v, "freeport") == 0) {
		if (no_args(req, &o) == 0)
			verb_freeport(&o);
		goto reply;
	}
	if (u == NULL || engine_open(cfg, &e, &err) < 0) {
		fail(&o, "sshbox: %s\n", "out of memory");
		goto reply;
	}
	pthread_mutex_lock(&u->lifecycle);
	int found = box_lookup(e, cfg, user, &info, &err);
	if (found < 0) {
		fail(&o, "sshbox: cannot reach the container engine: %s\n", err.msg);
	} else if (strcmp(v, "port") == 0) {
		if (no_args(req, &o) == 0)
			verb_port(&info, found, &o);
	} else if (strcmp(v, "hostkey") == 0) {
		if (no_args(req, &o) == 0)
			verb_hostkey(cfg, user, &info, found, &o);
	} else if (strcmp(v, "status") == 0) {
		if (no_args(req, &o) == 0)
			verb_status(cfg, u, &info, found, &o);
	} else if (strcmp(v, "commit") == 0) {
		if (no_args(req, &o) == 0)
			verb_commit(e, cfg, user, &info, found, &o);
	} else {
		verb_stop_remove(e, cfg, user, &info, found, strcmp(v, "remove") == 0, req, &o);
	}
	pthread_mutex_unlock(&u->lifecycle);
	engine_close(e);
reply:
	(void)rec;
	return json_pack("{s:b,s:i,s:s,s:s}", "ok", 1, "status", o.status, "output", o.out, "error",
	                 o.err);
}
