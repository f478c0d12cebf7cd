#include "holder.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "audit.h"
#include "box.h"
#include "busy.h"
#include "clock.h"
#include "engine.h"
#include "hangup.h"
#include "log.h"
#include "recorder.h"

static int epfd = -1;

/* The end line: the shim's account of how it ended if it gave one, else
 * only that the connection closed (the shim died, or an old shim). */
static void audit_session_end(const struct conn *c, int unrecorded)
{
	json_t *f = c->audit != NULL ? audit_info_fields(c->audit) : json_object();
	if (unrecorded) /* no terminal (exec, sftp), or the shim never sent it */
		json_object_set_new(f, "recorded", json_false());
	if (c->end != NULL) {
		if (c->end->signal[0])
			json_object_set_new(f, "signal", json_string(c->end->signal));
		else if (c->end->status >= 0)
			json_object_set_new(f, "status", json_integer(c->end->status));
		json_object_set_new(f, "bytes_in", json_integer((json_int_t)c->end->bytes_in));
		json_object_set_new(f, "bytes_out", json_integer((json_int_t)c->end->bytes_out));
	} else {
		json_object_set_new(f, "ended", json_string("connection closed without a report"));
	}
	json_object_set_new(f, "duration_ms", json_integer(mono_ms() - c->began_ms));
	audit_event("session_end", c->user, c->uid, c->session, f);
}

static void end_session(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	state_unlink(c->held, c->fd);
	int n = state_session_end(c->held);
	log_info("user \"%s\" uid %u session %s: session closed (%d live)", c->user,
	         (unsigned)c->uid, c->session, n);
	audit_session_end(c, recorder_forget(c->session));
	conn_end(c);
}

/* The user's side vanished: hang up what this session left running. */
static void hang_up(struct conn *c)
{
	struct config cfg;
	struct engine *e = NULL;
	struct container_info info;
	struct err err = {0};
	state_config_get(&cfg);
	if (engine_open(&cfg, &e, &err) == 0 && box_lookup(e, &cfg, c->user, &info, &err) > 0 &&
	    info.running) {
		int n = hangup_session(info.pid, info.id, c->session);
		log_info("user \"%s\" uid %u session %s: client gone, hung up %d process(es)",
		         c->user, (unsigned)c->uid, c->session, n);
	}
	engine_close(e);
}

/* The session's inner session ended: if it is the user's last and the
 * container is busy, the user learns that it keeps running. The count drops
 * when the shim closes the connection, as always. */
static void say_goodbye(struct conn *c)
{
	struct config cfg;
	char text[512];
	state_config_get(&cfg);
	busy_leaving_message(c->held, &cfg, text, sizeof(text));
	json_t *r = json_pack("{s:b}", "ok", 1);
	if (r != NULL && text[0] != '\0')
		json_object_set_new(r, "message", json_string(text));
	proto_send(c->fd, r, -1, REPLY_TIMEOUT_MS, NULL);
	json_decref(r);
	if (text[0] != '\0')
		log_info("user \"%s\" uid %u session %s: last session ends; the container is "
		         "busy: told the user it keeps running",
		         c->user, (unsigned)c->uid, c->session);
}

/* The shim's "end": kept for the end line when every field checks out; a
 * bad one is logged naming the field, and the session goes on. */
static void take_end(struct conn *c, const json_t *msg)
{
	struct err err = {0};
	struct audit_end *end = malloc(sizeof(*end));
	if (end == NULL)
		return;
	if (auditmsg_parse_end(msg, end, &err) < 0) {
		audit_data_refused(c->user, c->uid, c->session, err.msg);
		free(end);
		return;
	}
	free(c->end);
	c->end = end;
}

/* The connection is readable: one message, on a thread of its own (the
 * message may come slowly, the hang-up asks the engine). Its registration
 * is one-shot, so no other thread touches c meanwhile. */
static void *readable(void *arg)
{
	struct conn *c = arg;
	json_t *msg = NULL;
	struct proto_request req;
	struct err err = {0};
	int ours = proto_recv(c->fd, REQUEST_TIMEOUT_MS, &msg, NULL, &err) == 0 &&
	           proto_parse_request(msg, &req, &err) == 0 &&
	           strcmp(req.session, c->session) == 0;
	if (ours && req.op == PROTO_OP_END)
		take_end(c, msg);
	json_decref(msg);
	if (!ours ||
	    (req.op != PROTO_OP_HANGUP && req.op != PROTO_OP_LEAVING && req.op != PROTO_OP_END)) {
		end_session(c);
		return NULL;
	}
	if (req.op == PROTO_OP_HANGUP)
		hang_up(c);
	else if (req.op == PROTO_OP_LEAVING)
		say_goodbye(c);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		end_session(c);
	return NULL;
}

static void *wait_all(void *arg)
{
	struct epoll_event ev[64];
	for (;;) {
		int n = epoll_wait(epfd, ev, 64, -1);
		if (n < 0 && errno != EINTR) {
			log_err("live sessions: epoll_wait: %s", strerror(errno));
			sleep(1);
		}
		for (int i = 0; i < n; i++)
			if (conn_thread(readable, ev[i].data.ptr) != 0)
				readable(ev[i].data.ptr); /* no thread to spare: here */
	}
	return NULL;
}

int holder_start(void)
{
	pthread_t t;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd >= 0 && pthread_create(&t, NULL, wait_all, NULL) == 0 ? 0 : -1;
}

void holder_add(struct conn *c)
{
	state_lock();
	int n = c->held->sessions;
	state_unlock();
	log_info("user \"%s\" uid %u session %s: session open (%d live)", c->user, (unsigned)c->uid,
	         c->session, n);
	state_link(c->held, c->fd); /* without it (no memory) notices miss this one */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		log_err("user \"%s\" session %s: cannot hold the session: %s", c->user, c->session,
		        strerror(errno));
		end_session(c);
	}
}
