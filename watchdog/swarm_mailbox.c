#include "swarm_mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "direct.h"
#include "log.h"
#include "names.h"
#include "swarm.h"
#include "swarm_commit.h"
#include "swarm_layer.h"
#include "swarm_save.h"

#define NONCE_LEN 24
#define CAS_TRIES 5
#define DONE_KEEP 4      /* answers kept in sshbox.done, newest first */
#define DONE_SEP  '\x1e' /* between them: ASCII record separator */
#define DONE_MAX  4800

/* 1 when the request in label key ("VERB NONCE NODE") is nonce's. */
static int carries(json_t *svc, const char *key, const char *nonce)
{
	char verb[16], n[NONCE_LEN + 8];
	const char *v = swarm_label(svc, key);
	return v != NULL && sscanf(v, "%15s %31s", verb, n) == 2 && strcmp(n, nonce) == 0;
}

/* Adds "NONCE STATUS TEXT" in front of the answers svc holds: an answer
 * written just after another does not hide it from its asker. */
static void done_push(json_t *spec, json_t *svc, const char *nonce, int status, const char *text)
{
	char buf[DONE_MAX];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s %d ", nonce, status);
	for (const char *p = text; *p != '\0' && n < 1100; p++)
		buf[n++] = (char)(*p == DONE_SEP ? ' ' : *p);
	buf[n] = '\0';
	const char *old = swarm_label(svc, SWARM_LABEL_DONE);
	for (int kept = 1; old != NULL && kept < DONE_KEEP; kept++) {
		size_t len = strcspn(old, "\x1e");
		if (n + 1 + len >= sizeof(buf))
			break;
		buf[n++] = DONE_SEP;
		memcpy(buf + n, old, len);
		n += len;
		buf[n] = '\0';
		old = old[len] != '\0' ? old + len + 1 : NULL;
	}
	swarm_set_label(spec, SWARM_LABEL_DONE, buf);
}

/* 1 and the answer to nonce when done holds it, else 0. */
static int done_find(const char *done, const char *nonce, int *ret_status, char *ret_text,
                     size_t size)
{
	size_t len = strlen(nonce);
	for (const char *d = done; d != NULL && *d != '\0';) {
		size_t entry = strcspn(d, "\x1e");
		if (entry > len + 1 && strncmp(d, nonce, len) == 0 && d[len] == ' ') {
			char *end = NULL;
			*ret_status = (int)strtol(d + len + 1, &end, 10);
			size_t rest =
			    end != NULL && *end == ' ' ? entry - (size_t)(end + 1 - d) : 0;
			snprintf(ret_text, size, "%.*s", (int)rest, rest ? end + 1 : "");
			return 1;
		}
		d = d[entry] != '\0' ? d + entry + 1 : NULL;
	}
	return 0;
}

/* What the home node writes for one request, in one versioned write. */
struct reply {
	const char *nonce;
	int status;
	const char *text;         /* the answer; NULL: none yet (the take) */
	const char *taken;        /* the take: the request moves to sshbox.taken */
	const char *stopped_task; /* stop/remove: scaled to 0 in the same write */
	const char *save;         /* with it: the container to save (stop); NULL forgets (remove) */
	const char *image_id;     /* commit: the new image's id */
};

/* Writes r with the version read, as long as label key (sshbox.op or
 * sshbox.taken) still carries r->nonce, which it removes; read again when
 * others wrote first (svc: a first read, or NULL). 0 written, 1 the request
 * went away (withdrawn by its asker), -1 error. */
static int reply_write(struct engine *e, const struct config *cfg, const char *user, json_t *svc,
                       const char *key, const struct reply *r, struct err *err)
{
	json_t *cur = json_incref(svc);
	for (int i = 0; i < CAS_TRIES; i++) {
		if (cur == NULL) {
			int found = swarm_service_get(e, cfg, user, &cur, err);
			if (found <= 0)
				return found < 0 ? -1 : 1;
		}
		if (!carries(cur, key, r->nonce)) {
			json_decref(cur);
			return 1;
		}
		json_t *spec = swarm_spec_copy(cur);
		swarm_set_label(spec, key, NULL);
		if (r->taken != NULL)
			swarm_set_label(spec, SWARM_LABEL_TAKEN, r->taken);
		if (r->text != NULL)
			done_push(spec, cur, r->nonce, r->status, r->text);
		if (r->stopped_task != NULL) {
			swarm_set_replicas(spec, 0);
			swarm_set_label(spec, SWARM_LABEL_STOPPED, r->stopped_task);
			swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
			if (r->save != NULL)
				swarm_layer_mark(spec, r->save);
			else
				swarm_layer_forget(spec);
		}
		if (r->image_id != NULL)
			swarm_set_label(spec, SWARM_LABEL_IMAGE, r->image_id);
		int rc = swarm_service_update(e, cur, spec, err);
		json_decref(spec);
		json_decref(cur);
		cur = NULL;
		if (rc != 1)
			return rc;
	}
	return err_set(err, EBUSY, "the service kept changing");
}

int swarm_mailbox_finish(struct engine *e, const struct config *cfg, const char *user,
                         const char *nonce, int status, const char *text, const char *image_id,
                         struct err *err)
{
	struct reply r = {.nonce = nonce, .status = status, .text = text, .image_id = image_id};
	return reply_write(e, cfg, user, NULL, SWARM_LABEL_TAKEN, &r, err) < 0 ? -1 : 0;
}

/* A commit taken here that no thread serves any more (the watchdog
 * restarted): 1 while the engine may still run it (its container paused),
 * 0 with *r the success when its image carries the request's note, else
 * -1 (lost). */
static int orphan_commit(struct engine *e, const struct config *cfg, json_t *svc, const char *user,
                         const char *nonce, char *image_id, size_t id_size, char *text, size_t size)
{
	char image[128], note[80];
	struct err ignored = {0};
	json_t *c = NULL, *img = NULL;
	const char *fenced = swarm_label(svc, SWARM_LABEL_FENCED);
	if (fenced != NULL && engine_inspect(e, "containers", fenced, &c, &ignored) > 0 &&
	    json_is_true(json_object_get(json_object_get(c, "State"), "Paused"))) {
		json_decref(c);
		return 1;
	}
	json_decref(c);
	box_image_name(cfg->instance, user, image, sizeof(image));
	swarm_commit_note(nonce, note, sizeof(note));
	int done = engine_inspect(e, "images", image, &img, &ignored) > 0 &&
	           strcmp(json_string_value(json_object_get(img, "Comment")) ?: "", note) == 0 &&
	           json_string_value(json_object_get(img, "Id")) != NULL;
	if (done) {
		snprintf(image_id, id_size, "%s", json_string_value(json_object_get(img, "Id")));
		snprintf(text, size, "committed your container as %s (%.19s)\n", image, image_id);
	}
	json_decref(img);
	return done ? 0 : -1;
}

/* A request taken here that no thread serves (the watchdog restarted during
 * a commit, or its thread had no engine): answered, so its asker is told;
 * a commit the engine completed meanwhile is answered as done. */
static void answer_orphan(struct engine *e, const struct config *cfg, json_t *svc, const char *user)
{
	char verb[16], nonce[NONCE_LEN + 8], text[300], image_id[80] = "";
	const char *taken = swarm_label(svc, SWARM_LABEL_TAKEN);
	if (taken == NULL || sscanf(taken, "%15s %31s", verb, nonce) != 2 ||
	    swarm_commit_serving(user, nonce))
		return;
	int got = strcmp(verb, "commit") == 0 ? orphan_commit(e, cfg, svc, user, nonce, image_id,
	                                                      sizeof(image_id), text, sizeof(text))
	                                      : -1;
	if (got == 1)
		return; /* still committing in the engine: answered when it ends */
	if (got < 0)
		snprintf(text, sizeof(text),
		         "sshbox: %s failed: node %s lost it (its watchdog restarted, or its "
		         "engine failed); run it again\n",
		         verb, swarm_label(svc, SWARM_LABEL_NODE) ?: "?");
	struct reply r = {.nonce = nonce,
	                  .status = got == 0 ? 0 : 1,
	                  .text = text,
	                  .image_id = got == 0 ? image_id : NULL};
	struct err err = {0};
	if (reply_write(e, cfg, user, svc, SWARM_LABEL_TAKEN, &r, &err) == 0) {
		if (got == 0)
			log_info(
			    "user \"%s\": a commit this watchdog lost in a restart completed in "
			    "the engine (%.19s); answered",
			    user, image_id);
		else
			log_warn("user \"%s\": answered a %s request no thread served here", user,
			         verb);
	}
}

/* commit: claimed, taken (the request moves to sshbox.taken, so nothing
 * can withdraw or run it twice), then run on its own thread. 1 when the
 * thread answers, else 0 and *r holds the answer to write now. */
static int commit_take(struct engine *e, const struct config *cfg, json_t *svc, const char *user,
                       const char *container, const char *op, struct reply *r, char *text,
                       size_t size)
{
	struct err err = {0};
	r->status = 1;
	r->text = text;
	int claim = swarm_commit_claim(user, container, r->nonce);
	if (claim == 1) {
		snprintf(text, size,
		         "sshbox: a commit of your container is already running; "
		         "try again when it has ended\n");
		return 0;
	}
	if (claim < 0) {
		snprintf(text, size,
		         "sshbox: too many commits are running on node %s; try "
		         "again in a few minutes\n",
		         swarm_label(svc, SWARM_LABEL_NODE) ?: "?");
		return 0;
	}
	char taken[160];
	snprintf(taken, sizeof(taken), "%s", op);
	struct reply take = {.nonce = r->nonce, .taken = taken};
	int rc = reply_write(e, cfg, user, svc, SWARM_LABEL_OP, &take, &err);
	if (rc == 0 && swarm_commit_start(user) == 0) {
		log_info("user \"%s\": committing task container %.12s (on a thread)", user,
		         container);
		return 1;
	}
	swarm_commit_release(user);
	if (rc != 0) {
		if (rc < 0)
			log_err("user \"%s\": cannot take a commit request: %s", user, err.msg);
		return 1; /* withdrawn meanwhile, or tried again next round */
	}
	snprintf(text, size, "sshbox: commit failed: node %s cannot start it now\n",
	         swarm_label(svc, SWARM_LABEL_NODE) ?: "?");
	if (reply_write(e, cfg, user, NULL, SWARM_LABEL_TAKEN, r, &err) < 0)
		log_err("user \"%s\": cannot answer a commit request: %s", user, err.msg);
	return 1;
}

void swarm_mailbox_serve(struct engine *e, const struct config *cfg, json_t *svc, const char *user,
                         const char *task, const char *container, pid_t pid)
{
	answer_orphan(e, cfg, svc, user);
	const char *op = swarm_label(svc, SWARM_LABEL_OP);
	char verb[16], nonce[NONCE_LEN + 8], text[1024];
	if (op == NULL || sscanf(op, "%15s %31s", verb, nonce) != 2)
		return;
	struct err err = {0};
	struct reply r = {.nonce = nonce, .status = 1, .text = text};
	int stop = strcmp(verb, "stop") == 0, remove = strcmp(verb, "remove") == 0;
	if (strcmp(verb, "commit") == 0) {
		if (commit_take(e, cfg, svc, user, container, op, &r, text, sizeof(text)))
			return;
	} else if ((stop || remove) && swarm_commit_busy(container)) {
		/* As on one host, where the stop waits for the commit's end:
		 * here the asker is told, and --force still stops at once. */
		snprintf(text, sizeof(text),
		         "sshbox: a commit of your container is running; %s it when the commit "
		         "has ended, or '%s --force' (the commit is kept)\n",
		         verb, verb);
	} else if (stop || remove) {
		int n = direct_sessions(pid);
		if (n > 0) {
			snprintf(text, sizeof(text),
			         "sshbox: %d other session(s) of yours are live in this container; "
			         "'%s --force' %ss it anyway\n",
			         n, verb, verb);
		} else {
			r.status = 0;
			r.stopped_task = task;
			r.save = stop ? container : NULL;
			snprintf(text, sizeof(text), "%s\n",
			         stop ? "stopped your container"
			              : "removed your container; your home volume and "
			                "committed image are kept");
		}
	} else {
		snprintf(text, sizeof(text), "sshbox: unknown request \"%s\"\n", verb);
	}
	/* Others may write meanwhile (a login's touch, the asker withdrawing):
	 * answered on a fresh read, as long as the request is still there. */
	int rc = reply_write(e, cfg, user, svc, SWARM_LABEL_OP, &r, &err);
	if (rc < 0)
		log_err("user \"%s\": cannot answer a %s request: %s", user, verb, err.msg);
	else if (rc == 1)
		log_info("user \"%s\": a %s request was withdrawn by its asker", user, verb);
	else if (r.stopped_task != NULL) {
		log_info("user \"%s\": task container %.12s stopped by the user (%s)", user,
		         container, verb);
		if (stop)
			swarm_save_later(user, container);
	}
}

static int fresh_nonce(char *buf, size_t size)
{
	unsigned char raw[NONCE_LEN / 2];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* The asker gives up (err says why): its request is withdrawn unless the
 * home node took it, so it never runs after the user was told it failed.
 * 0 when its answer came after all; else -1, err saying what became of it
 * (EINPROGRESS: taken, it may still finish). */
static int give_up(struct engine *e, const struct config *cfg, const char *user, const char *nonce,
                   int *ret_status, char *ret_text, size_t size, struct err *err)
{
	char why[ERR_MSG_MAX];
	int code = err->code;
	snprintf(why, sizeof(why), "%s", err->msg);
	struct err werr = {0};
	for (int i = 0; i < CAS_TRIES; i++) {
		json_t *svc = NULL;
		if (swarm_service_need(e, cfg, user, &svc, &werr) < 0)
			break;
		int rc = 1;
		if (done_find(swarm_label(svc, SWARM_LABEL_DONE), nonce, ret_status, ret_text,
		              size))
			rc = 0;
		else if (carries(svc, SWARM_LABEL_TAKEN, nonce))
			rc = err_set(err, EINPROGRESS,
			             "the home node %s is still doing it; it may "
			             "finish",
			             swarm_label(svc, SWARM_LABEL_NODE) ?: "?");
		else if (!carries(svc, SWARM_LABEL_OP, nonce))
			rc = err_set(err, code, "%s; nothing was done", why);
		if (rc != 1) {
			json_decref(svc);
			return rc;
		}
		json_t *spec = swarm_spec_copy(svc);
		swarm_set_label(spec, SWARM_LABEL_OP, NULL);
		rc = swarm_service_update(e, svc, spec, &werr);
		json_decref(spec);
		json_decref(svc);
		if (rc == 0)
			return err_set(err, code, "%s; the request is withdrawn: nothing was done",
			               why);
		if (rc < 0)
			break;
	}
	return err_set(err, code, "%s; it could not be withdrawn (%s) and may still run", why,
	               werr.msg[0] ? werr.msg : "the service kept changing");
}

int swarm_mailbox_ask(struct engine *e, const struct config *cfg, const char *user,
                      const char *verb, const char *self, int timeout_s, int *ret_status,
                      char *ret_text, size_t size, struct err *err)
{
	char nonce[NONCE_LEN + 1], op[160], home[64] = "?";
	if (fresh_nonce(nonce, sizeof(nonce)) < 0)
		return err_set(err, EIO, "cannot read /dev/urandom");
	snprintf(op, sizeof(op), "%s %s %s", verb, nonce, self);
	int posted = 0;
	long long deadline = mono_ms() + (long long)timeout_s * 1000;
	while (mono_ms() < deadline) {
		json_t *svc = NULL;
		if (swarm_service_need(e, cfg, user, &svc, err) < 0)
			return posted
			           ? give_up(e, cfg, user, nonce, ret_status, ret_text, size, err)
			           : -1;
		snprintf(home, sizeof(home), "%s", swarm_label(svc, SWARM_LABEL_NODE) ?: "?");
		if (posted && done_find(swarm_label(svc, SWARM_LABEL_DONE), nonce, ret_status,
		                        ret_text, size)) {
			json_decref(svc);
			return 0;
		}
		if (!posted) {
			json_t *spec = swarm_spec_copy(svc);
			swarm_set_label(spec, SWARM_LABEL_OP, op);
			int rc = swarm_service_update(e, svc, spec, err);
			json_decref(spec);
			if (rc < 0) { /* it may have been written all the same */
				json_decref(svc);
				return give_up(e, cfg, user, nonce, ret_status, ret_text, size,
				               err);
			}
			posted = rc == 0;
		}
		json_decref(svc);
		usleep(200 * 1000);
	}
	err_set(err, ETIMEDOUT, "your container's node %s did not answer within %d s", home,
	        timeout_s);
	return posted ? give_up(e, cfg, user, nonce, ret_status, ret_text, size, err) : -1;
}
