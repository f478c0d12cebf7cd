#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "conn.h"
#include "container.h"
#include "admit.h"
#include "audit.h"
#include "clock.h"
#include "flags.h"
#include "fusesvc.h"
#include "holder.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "proto.h"
#include "record.h"
#include "recorder.h"
#include "session.h"
#include "thread.h"
#include "verbs.h"

/* Below the shim's 5 s wait for a rejoin's answer. */
#define REJOIN_LOCK_WAIT_S 3

static void reply_error(struct conn *c, const char *msg)
{
	json_t *r = proto_error_reply(msg);
	proto_send(c->fd, r, -1, REPLY_TIMEOUT_MS, NULL);
	json_decref(r);
}

static void reply_ok(struct conn *c)
{
	json_t *r = json_pack("{s:b}", "ok", 1);
	proto_send(c->fd, r, -1, REPLY_TIMEOUT_MS, NULL);
	json_decref(r);
}

/* A login (or verb) refused, for the audit log: why, in the log's words. */
static void audit_refused(const struct conn *c, const char *why)
{
	audit_event("login_refused", c->user[0] ? c->user : NULL, c->uid, c->session,
	            json_pack("{s:s}", "reason", why));
}

/* The shim's "audit" member: kept when every field checks out; otherwise
 * the refusal names the field and the request goes on without it. */
static void take_audit_info(struct conn *c, const json_t *msg)
{
	const json_t *a = json_object_get(msg, "audit");
	struct err err = {0};
	if (a == NULL)
		return;
	struct audit_info *info = malloc(sizeof(*info));
	if (info == NULL)
		return;
	if (auditmsg_parse_info(a, info, &err) < 0) {
		audit_data_refused(c->user, c->uid, c->session, err.msg);
		free(info);
		return;
	}
	c->audit = info;
}

static json_t *session_fields(const struct conn *c)
{
	return c->audit != NULL ? audit_info_fields(c->audit) : json_object();
}

/* uid -> user name, from the host's account database. */
static int identify(struct conn *c, struct err *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = getpwuid_r(c->uid, &pw, buf, sizeof(buf), &res);
	if (res == NULL)
		return err_set(err, rc ? rc : ENOENT, "uid %u has no account", (unsigned)c->uid);
	if (!user_name_valid(pw.pw_name))
		return err_set(err, EINVAL, "account name of uid %u is not a valid sshbox name",
		               (unsigned)c->uid);
	snprintf(c->user, sizeof(c->user), "%s", pw.pw_name);
	return 0;
}

/* A recorded user's login: the reply says so (the shim shows the notice and
 * sends its terminal's bytes when it has one). */
static void offer_recording(const struct conn *c, const struct config *cfg,
                            const struct user_record *rec, json_t *reply)
{
	int mode = recorder_mode(cfg, rec);
	if (mode == RECORD_NONE || reply == NULL)
		return;
	if (recorder_offer(c->user, c->session) < 0) {
		log_err("user \"%s\" uid %u session %s: not recorded: too many recordings pending",
		        c->user, (unsigned)c->uid, c->session);
		return;
	}
	json_object_set_new(reply, "record", json_string(record_mode_name(mode)));
	json_object_set_new(reply, "notice",
	                    json_string(mode == RECORD_PTY_INPUT
	                                    ? "this session is recorded (what you type and "
	                                      "what is shown) by the administrators of this host"
	                                    : "this session is recorded (what is shown) by the "
	                                      "administrators of this host"));
}

static int handle_login(struct conn *c, const struct config *cfg, const struct user_record *rec)
{
	struct err err = {0};
	struct cluster_login *lg = calloc(1, sizeof(*lg));
	long long began_us = mono_us();
	struct user_state *u = state_user(c->user);
	int rc = -1;
	if (lg == NULL || u == NULL) {
		free(lg);
		reply_error(c, "the sshbox watchdog is out of memory");
		metrics_login(METRICS_LOGIN_FAILED);
		return -1;
	}
	if (cluster_ops(cfg)->login(cfg, u, rec, lg, &err) < 0) {
		log_err("user \"%s\" uid %u session %s: cannot start container: %s", c->user,
		        (unsigned)c->uid, c->session, err.msg);
		char msg[ERR_MSG_MAX + 64];
		if (err.code == CLUSTER_ESAID)
			snprintf(msg, sizeof(msg), "%s", err.msg);
		else if (err.code == CLUSTER_EBROKEN)
			snprintf(msg, sizeof(msg),
			         "your sshbox account is incomplete; ask your admin "
			         "to run 'sshbox createuser' again");
		else if (err.code == ECONNREFUSED || err.code == ETIMEDOUT)
			snprintf(msg, sizeof(msg),
			         "the container engine is not available right now (%s); try again "
			         "later or tell your admin",
			         err.msg);
		else
			snprintf(msg, sizeof(msg), "cannot start your container: %s", err.msg);
		reply_error(c, msg);
		char why[ERR_MSG_MAX + 32];
		if (err.code == CLUSTER_EBROKEN)
			snprintf(why, sizeof(why), "broken user state: %s", err.msg);
		else
			snprintf(why, sizeof(why), "engine error: %s", err.msg);
		audit_refused(c, why);
		metrics_login(METRICS_LOGIN_FAILED);
		free(lg);
		return -1;
	}
	lg->hostkey[strcspn(lg->hostkey, "\n")] = '\0';
	json_t *r = json_pack("{s:b,s:s,s:s}", "ok", 1, "hostkey", lg->hostkey, "key", lg->key);
	offer_recording(c, cfg, rec, r);
	memset(lg->key, 0, sizeof(lg->key));
	if (proto_send(c->fd, r, lg->sshd, REPLY_TIMEOUT_MS, &err) == 0)
		rc = 0;
	else
		log_warn("user \"%s\" uid %u session %s: cannot answer login: %s", c->user,
		         (unsigned)c->uid, c->session, err.msg);
	json_decref(r);
	close(lg->sshd);
	if (rc < 0)
		state_session_end(u);
	metrics_login(rc == 0 ? METRICS_LOGIN_OK : METRICS_LOGIN_FAILED);
	if (rc == 0)
		metrics_login_duration(lg->path == CONTAINER_CREATED   ? METRICS_KIND_COLD
		                       : lg->path == CONTAINER_STARTED ? METRICS_KIND_WARM
		                                                       : METRICS_KIND_HOT,
		                       mono_us() - began_us);
	if (rc == 0) {
		log_info("user \"%s\" uid %u session %s: login into container %.12s", c->user,
		         (unsigned)c->uid, c->session, lg->id);
		c->began_ms = mono_ms();
		json_t *f = session_fields(c);
		json_object_set_new(f, "container", json_stringn(lg->id, 12));
		audit_event("session_start", c->user, c->uid, c->session, f);
	}
	free(lg);
	return rc;
}

/* A session that outlived a watchdog restart counts again. Same rules as a
 * login: admitted like any connection, and counted under the lifecycle lock,
 * so an idle stop deciding right now either sees it or has finished. The
 * lock is waited for only briefly (a commit may hold it for minutes): the
 * shim asks again a second later, and no handler thread piles up meanwhile. */
static int handle_rejoin(struct conn *c, const struct config *cfg)
{
	struct user_state *u = state_user(c->user);
	if (u == NULL) {
		reply_error(c, "the sshbox watchdog is out of memory");
		return -1;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += REJOIN_LOCK_WAIT_S;
	if (pthread_mutex_timedlock(&u->lifecycle, &until) != 0) {
		reply_error(c, "your container is busy; try again");
		return -1;
	}
	state_session_begin(u);
	pthread_mutex_unlock(&u->lifecycle);
	flags_watch(cfg, c->user);
	fusesvc_watch(cfg, c->user);
	reply_ok(c);
	c->began_ms = mono_ms(); /* its end line counts from here */
	log_info("user \"%s\" uid %u session %s: rejoined after a watchdog restart", c->user,
	         (unsigned)c->uid, c->session);
	return 0;
}

/* Why the container is stopped, removed or committed next: this verb. */
static void audit_verb_hints(const char *user, const char *verb)
{
	if (strcmp(verb, "stop") == 0 || strcmp(verb, "remove") == 0)
		audit_reason_set(user, "stop", "verb");
	if (strcmp(verb, "remove") == 0 || strcmp(verb, "commit") == 0)
		audit_reason_set(user, verb, "verb");
}

static void audit_verb(const struct conn *c, const struct proto_request *req, json_t *reply,
                       long long ms)
{
	json_t *f = session_fields(c);
	json_t *args = json_array();
	for (int i = 0; i < req->argc; i++)
		json_array_append_new(args, json_string(req->args[i]));
	json_object_set_new(f, "kind", json_string("verb"));
	json_object_set_new(f, "verb", json_string(req->verb));
	json_object_set_new(f, "args", args);
	json_object_set(f, "status", json_object_get(reply, "status"));
	json_object_set_new(f, "duration_ms", json_integer(ms));
	audit_event("verb", c->user, c->uid, c->session, f);
}

static json_t *list_users(const struct config *cfg)
{
	json_t *users = json_array();
	long long now = mono_ms();
	state_lock();
	for (struct user_state *u = state_first(); u != NULL; u = u->next) {
		json_t *entry = json_pack("{s:s,s:i,s:I,s:I}", "name", u->name, "sessions",
		                          u->sessions, "idle_since", u->idle_since, "stop_in",
		                          u->stop_at ? (u->stop_at - now + 999) / 1000 : -1LL);
		if (entry != NULL && u->busy.kept_tenths >= 0) {
			long long left = u->busy.idle_began_ms + cfg->idle_busy_max_ms - now;
			json_object_set_new(entry, "busy_tenths",
			                    json_integer(u->busy.kept_tenths));
			json_object_set_new(entry, "busy_left",
			                    json_integer(left > 0 ? (left + 999) / 1000 : 0));
		}
		json_array_append_new(users, entry);
	}
	state_unlock();
	size_t i;
	json_t *entry;
	json_array_foreach(users, i, entry)
	{
		const char *name = json_string_value(json_object_get(entry, "name"));
		json_object_set_new(entry, "daemon", json_boolean(flags_daemon(cfg, name)));
	}
	return json_pack("{s:b,s:o}", "ok", 1, "users", users);
}

static void serve(struct conn *c)
{
	struct err err = {0};
	struct config cfg;
	state_config_get(&cfg);

	if (identify(c, &err) < 0) {
		log_warn("uid %u pid %d: refused: %s", (unsigned)c->uid, (int)c->pid, err.msg);
		metrics_login(METRICS_LOGIN_REFUSED);
		reply_error(c, "your account is not an sshbox account");
		audit_refused(c, "no such account");
		return;
	}
	json_t *msg = NULL;
	struct proto_request req;
	if (proto_recv(c->fd, REQUEST_TIMEOUT_MS, &msg, NULL, &err) < 0 ||
	    proto_parse_request(msg, &req, &err) < 0) {
		log_warn("user \"%s\" uid %u pid %d: bad request: %s", c->user, (unsigned)c->uid,
		         (int)c->pid, err.msg);
		json_decref(msg);
		reply_error(c, "bad request");
		char why[ERR_MSG_MAX + 16];
		snprintf(why, sizeof(why), "bad request: %s", err.msg);
		audit_refused(c, why);
		return;
	}
	memcpy(c->session, req.session, sizeof(c->session));
	take_audit_info(c, msg);
	json_decref(msg);

	if (req.op == PROTO_OP_KEYS) { /* sshd's question about a user, not the caller's own */
		keys_serve(c, &cfg, &req);
		return;
	}
	if (req.op == PROTO_OP_LIST) {
		if (c->uid != 0) {
			log_warn("user \"%s\" uid %u: refused: list is for root", c->user,
			         (unsigned)c->uid);
			reply_error(c, "only root may list sessions");
			return;
		}
		json_t *r = list_users(&cfg);
		proto_send(c->fd, r, -1, REPLY_TIMEOUT_MS, NULL);
		json_decref(r);
		return;
	}
	struct user_record rec;
	if (cluster_ops(&cfg)->record_load(&cfg, c->user, &rec, &err) < 0) {
		log_warn("user \"%s\" uid %u session %s: refused: no usable record: %s", c->user,
		         (unsigned)c->uid, c->session, err.msg);
		reply_error(c, err.code == CLUSTER_ESAID ? err.msg
		               : err.code == ENOENT
		                   ? "your account has no sshbox container set up; ask your admin"
		                   : "your sshbox record is damaged; ask your admin");
		if (req.op == PROTO_OP_LOGIN)
			metrics_login(METRICS_LOGIN_REFUSED);
		audit_refused(c, err.code == ENOENT          ? "no record"
		                 : err.code == CLUSTER_ESAID ? "swarm unavailable"
		                                             : "bad record");
		return;
	}
	if (rec.uid != c->uid) {
		log_warn("user \"%s\" uid %u session %s: refused: record is for uid %u", c->user,
		         (unsigned)c->uid, c->session, (unsigned)rec.uid);
		reply_error(c, "your sshbox record belongs to another uid; ask your admin");
		if (req.op == PROTO_OP_LOGIN)
			metrics_login(METRICS_LOGIN_REFUSED);
		audit_refused(c, "record is for another uid");
		return;
	}
	switch (req.op) {
	case PROTO_OP_LOGIN:
		if (handle_login(c, &cfg, &rec) == 0)
			c->held = state_user(c->user);
		break;
	case PROTO_OP_REJOIN:
		if (handle_rejoin(c, &cfg) == 0)
			c->held = state_user(c->user);
		break;
	case PROTO_OP_VERB: {
		metrics_verb();
		long long began = mono_ms();
		audit_verb_hints(c->user, req.verb);
		json_t *r = cluster_ops(&cfg)->verb(&cfg, c->user, &rec, &req);
		proto_send(c->fd, r, -1, REPLY_TIMEOUT_MS, NULL);
		audit_verb(c, &req, r, mono_ms() - began);
		json_decref(r);
		break;
	}
	case PROTO_OP_RECORD:
		recorder_run(c, &cfg, &rec, &req);
		break;
	case PROTO_OP_LIST: /* answered above, for root only */
	case PROTO_OP_KEYS:
	case PROTO_OP_HANGUP: /* only within a session */
	case PROTO_OP_LEAVING:
	case PROTO_OP_END:
		reply_error(c, "bad request");
		break;
	}
}

int conn_thread(void *(*fn)(void *), struct conn *c)
{
	return thread_spawn(fn, c);
}

void server_refuse(int fd, const char *msg)
{
	/* The reply is a few dozen bytes into an empty socket buffer: it goes
	 * at once or not at all, so the accept loop never waits here. */
	json_t *r = proto_error_reply(msg);
	proto_send(fd, r, -1, 100, NULL);
	json_decref(r);
	close(fd);
}

void conn_end(struct conn *c)
{
	free(c->audit);
	free(c->end);
	close(c->fd);
	admit_release(c->uid);
	free(c);
}

static void *handler(void *arg)
{
	struct conn *c = arg;
	serve(c);
	/* A live session waits with the others (holder.c); this thread ends. */
	if (c->held != NULL)
		holder_add(c);
	else
		conn_end(c);
	return NULL;
}

int server_spawn(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return -1;
	}
	if (admit_take(cred.uid) < 0) {
		log_warn("uid %u pid %d: refused: too many connections", (unsigned)cred.uid,
		         (int)cred.pid);
		audit_event("login_refused", NULL, cred.uid, NULL,
		            json_pack("{s:s}", "reason", "too many connections"));
		server_refuse(fd, "the sshbox service has too many connections open; try again "
		                  "in a minute or tell your admin");
		return -1;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		admit_release(cred.uid);
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	strcpy(c->session, "-");
	if (conn_thread(handler, c) != 0) {
		admit_release(cred.uid);
		close(fd);
		free(c);
		return -1;
	}
	return 0;
}
