#include "holder.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "box.h"
#include "busy.h"
#include "engine.h"
#include "hangup.h"
#include "log.h"

static int epfd = -1;

static void end_session(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	state_unlink(c->held, c->fd);
	int n = state_session_end(c->held);
	log_info("user \"%s\" uid %u session %s: session closed (%d live)", c->user,
	         (unsigned)c->uid, c->session, n);
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
	           (req.op == PROTO_OP_HANGUP || req.op == PROTO_OP_LEAVING) &&
	           strcmp(req.session, c->session) == 0;
	json_decref(msg);
	if (!ours) {
		end_session(c);
		return NULL;
	}
	if (req.op == PROTO_OP_HANGUP)
		hang_up(c);
	else
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
