#include "swarm_mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "direct.h"
#include "log.h"
#include "names.h"
#include "swarm.h"
#include "swarm_layer.h"
#include "swarm_save.h"

#define NONCE_LEN 24

/* The answer and the op's removal in one write, with the version read; a
 * stop scales to 0 in that same write and marks the container to be saved
 * (save: its id), a remove forgets the saved layer (save NULL). 0 done, 1
 * out of sequence, -1 error. */
static int answer(struct engine *e, json_t *svc, const char *nonce, int status, const char *text,
                  const char *stopped_task, const char *save, const char *image_id, struct err *err)
{
	char done[1200];
	snprintf(done, sizeof(done), "%s %d %s", nonce, status, text);
	json_t *spec = swarm_spec_copy(svc);
	swarm_set_label(spec, SWARM_LABEL_OP, NULL);
	swarm_set_label(spec, SWARM_LABEL_DONE, done);
	if (stopped_task != NULL) {
		swarm_set_replicas(spec, 0);
		swarm_set_label(spec, SWARM_LABEL_STOPPED, stopped_task);
		swarm_set_label(spec, SWARM_LABEL_STOPPING, NULL);
		if (save != NULL)
			swarm_layer_mark(spec, save);
		else
			swarm_layer_forget(spec);
	}
	if (image_id != NULL)
		swarm_set_label(spec, SWARM_LABEL_IMAGE, image_id);
	int rc = swarm_service_update(e, svc, spec, err);
	json_decref(spec);
	return rc;
}

void swarm_mailbox_serve(struct engine *e, const struct config *cfg, json_t *svc, const char *user,
                         const char *task, const char *container, pid_t pid, char *served)
{
	const char *op = swarm_label(svc, SWARM_LABEL_OP);
	char verb[16], nonce[NONCE_LEN + 8], text[1024], image[128], id[80] = "";
	if (op == NULL || sscanf(op, "%15s %31s", verb, nonce) != 2)
		return;
	struct err err = {0};
	int status = 0, stop = 0, commit = strcmp(verb, "commit") == 0;
	if (strcmp(verb, "stop") == 0 || strcmp(verb, "remove") == 0) {
		int n = direct_sessions(pid);
		if (n > 0) {
			status = 1;
			snprintf(text, sizeof(text),
			         "sshbox: %d other session(s) of yours are live in this container; "
			         "'%s --force' %ss it anyway\n",
			         n, verb, verb);
		} else {
			stop = 1;
			snprintf(text, sizeof(text), "%s\n",
			         verb[0] == 's' ? "stopped your container"
			                        : "removed your container; your home volume and "
			                          "committed image are kept");
		}
	} else if (commit && strcmp(nonce, served) != 0) {
		box_image_name(cfg->instance, user, image, sizeof(image));
		if (container_commit(e, cfg, user, container, id, sizeof(id), &err) < 0) {
			status = 1;
			snprintf(text, sizeof(text), "sshbox: commit failed: %s\n", err.msg);
		} else {
			snprintf(text, sizeof(text), "committed your container as %s (%.19s)\n",
			         image, id);
			log_info("user \"%s\": committed task container %.12s as %s", user,
			         container, image);
		}
		snprintf(served, NONCE_LEN + 8, "%s", nonce);
	} else if (!commit) {
		status = 1;
		snprintf(text, sizeof(text), "sshbox: unknown request \"%s\"\n", verb);
	} else {
		return; /* committed already, and the answer could not be written */
	}
	/* Others may write meanwhile (a login's touch): answer on a fresh read,
	 * as long as the op is still this one. */
	int rc = 1;
	json_t *cur = json_incref(svc);
	for (int i = 0; i < 5 && rc == 1; i++) {
		const char *now = swarm_label(cur, SWARM_LABEL_OP);
		if (now == NULL || strstr(now, nonce) == NULL)
			break;
		rc = answer(e, cur, nonce, status, text, stop ? task : NULL,
		            verb[0] == 's' ? container : NULL, id[0] ? id : NULL, &err);
		if (rc == 1) {
			json_decref(cur);
			cur = NULL;
			if (swarm_service_get(e, cfg, user, &cur, &err) <= 0)
				rc = -1;
		}
	}
	json_decref(cur);
	if (rc < 0)
		log_err("user \"%s\": cannot answer a %s request: %s", user, verb, err.msg);
	else if (rc == 0 && stop) {
		log_info("user \"%s\": task container %.12s stopped by the user (%s)", user,
		         container, verb);
		if (verb[0] == 's')
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

int swarm_mailbox_ask(struct engine *e, const struct config *cfg, const char *user,
                      const char *verb, const char *self, int timeout_s, int *ret_status,
                      char *ret_text, size_t size, struct err *err)
{
	char nonce[NONCE_LEN + 1], op[160];
	if (fresh_nonce(nonce, sizeof(nonce)) < 0)
		return err_set(err, EIO, "cannot read /dev/urandom");
	snprintf(op, sizeof(op), "%s %s %s", verb, nonce, self);
	int posted = 0;
	long long deadline = mono_ms() + (long long)timeout_s * 1000;
	while (mono_ms() < deadline) {
		json_t *svc = NULL;
		if (swarm_service_need(e, cfg, user, &svc, err) < 0)
			return -1;
		const char *done = swarm_label(svc, SWARM_LABEL_DONE);
		size_t n = strlen(nonce);
		if (posted && done != NULL && strncmp(done, nonce, n) == 0 && done[n] == ' ') {
			char *end = NULL;
			*ret_status = (int)strtol(done + n + 1, &end, 10);
			snprintf(ret_text, size, "%s", end != NULL && *end == ' ' ? end + 1 : "");
			json_decref(svc);
			return 0;
		}
		if (!posted) {
			json_t *spec = swarm_spec_copy(svc);
			swarm_set_label(spec, SWARM_LABEL_OP, op);
			int rc = swarm_service_update(e, svc, spec, err);
			json_decref(spec);
			if (rc < 0) {
				json_decref(svc);
				return -1;
			}
			posted = rc == 0;
		}
		json_decref(svc);
		usleep(200 * 1000);
	}
	return err_set(err, ETIMEDOUT, "your container's node did not answer within %d s",
	               timeout_s);
}
