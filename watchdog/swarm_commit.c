#include "swarm_commit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "engine.h"
#include "log.h"
#include "names.h"
#include "session.h"
#include "swarm_mailbox.h"
#include "thread.h"

#define COMMITS_MAX     8  /* commits under way at once on this node */
#define ANSWER_TRIES    10 /* writing the answer, 3 s apart: the swarm may be busy */
#define ANSWER_PAUSE_MS 3000
#define WAIT_SLICE_MS   200
#define PAUSED_WAIT_MS  (60LL * 60 * 1000) /* a commit dockerd still runs */
#define PAUSED_SLICE_S  5

enum phase { FREE, CLAIMED, COMMITTING, ANSWERING };

struct commit_job {
	enum phase phase;
	char user[USER_NAME_MAX + 1], container[80], nonce[40];
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct commit_job jobs[COMMITS_MAX];

/* Under jobs_lock: the user's job, NULL when none. */
static struct commit_job *job_of(const char *user)
{
	for (int i = 0; i < COMMITS_MAX; i++)
		if (jobs[i].phase != FREE && strcmp(jobs[i].user, user) == 0)
			return &jobs[i];
	return NULL;
}

int swarm_commit_claim(const char *user, const char *container, const char *nonce)
{
	int rc = -1;
	pthread_mutex_lock(&jobs_lock);
	if (job_of(user) != NULL) {
		rc = 1;
	} else {
		for (int i = 0; i < COMMITS_MAX && rc < 0; i++) {
			if (jobs[i].phase != FREE)
				continue;
			jobs[i].phase = CLAIMED;
			snprintf(jobs[i].user, sizeof(jobs[i].user), "%s", user);
			snprintf(jobs[i].container, sizeof(jobs[i].container), "%s", container);
			snprintf(jobs[i].nonce, sizeof(jobs[i].nonce), "%s", nonce);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&jobs_lock);
	return rc;
}

/* The user's job moves to phase p: that job (its slot stays the owner's
 * until FREE), or NULL when the user has none. */
static struct commit_job *set_phase(const char *user, enum phase p)
{
	pthread_mutex_lock(&jobs_lock);
	struct commit_job *j = job_of(user);
	if (j != NULL)
		j->phase = p;
	pthread_mutex_unlock(&jobs_lock);
	return j;
}

void swarm_commit_release(const char *user)
{
	set_phase(user, FREE);
}

int swarm_commit_busy(const char *container)
{
	int busy = 0;
	pthread_mutex_lock(&jobs_lock);
	for (int i = 0; i < COMMITS_MAX && !busy; i++)
		busy = (jobs[i].phase == CLAIMED || jobs[i].phase == COMMITTING) &&
		       strcmp(jobs[i].container, container) == 0;
	pthread_mutex_unlock(&jobs_lock);
	return busy;
}

int swarm_commit_serving(const char *user, const char *nonce)
{
	pthread_mutex_lock(&jobs_lock);
	struct commit_job *j = job_of(user);
	int serving = j != NULL && strcmp(j->nonce, nonce) == 0;
	pthread_mutex_unlock(&jobs_lock);
	return serving;
}

int swarm_commit_wait(const char *container, int timeout_s)
{
	long long deadline = mono_ms() + (long long)timeout_s * 1000;
	while (swarm_commit_busy(container)) {
		if (mono_ms() >= deadline)
			return -1;
		usleep(WAIT_SLICE_MS * 1000);
	}
	return 0;
}

void swarm_commit_note(const char *nonce, char *buf, size_t size)
{
	snprintf(buf, size, "sshbox commit %s", nonce);
}

/* A commit whose engine call timed out may still run in dockerd, which
 * keeps the container paused until it ends: the slot stays this job's
 * meanwhile (bounded), so no save and no second commit runs beside it. */
static void wait_unpaused(struct engine *e, const struct commit_job *job)
{
	long long deadline = mono_ms() + PAUSED_WAIT_MS;
	log_warn("user \"%s\": the commit of task container %.12s timed out here; waiting while "
	         "dockerd may still be committing it (the container paused)",
	         job->user, job->container);
	for (;;) {
		struct err err = {0};
		json_t *c = NULL;
		int found = engine_inspect(e, "containers", job->container, &c, &err);
		int paused = json_is_true(json_object_get(json_object_get(c, "State"), "Paused"));
		json_decref(c);
		if (found == 0 || (found > 0 && !paused))
			return;
		if (mono_ms() >= deadline) {
			log_err("user \"%s\": task container %.12s is %s an hour after its commit "
			        "timed out; freeing the commit's slot",
			        job->user, job->container,
			        found > 0 ? "still paused" : "not readable");
			return;
		}
		sleep(PAUSED_SLICE_S);
	}
}

/* Commits, then writes the answer (retried: the user's login node is
 * waiting for it, and a lost answer reads as a failure). */
static void run(struct engine *e, const struct config *cfg, const struct commit_job *job)
{
	struct err err = {0};
	char image[128], id[80] = "", text[1024], note[80];
	int status = 0;
	long long began = mono_ms();
	box_image_name(cfg->instance, job->user, image, sizeof(image));
	swarm_commit_note(job->nonce, note, sizeof(note));
	if (container_commit(e, cfg, job->user, job->container, note, id, sizeof(id), &err) < 0) {
		status = 1;
		snprintf(text, sizeof(text), "sshbox: commit failed: %s\n", err.msg);
		log_err("user \"%s\": cannot commit task container %.12s: %s", job->user,
		        job->container, err.msg);
		if (err.code == ETIMEDOUT)
			wait_unpaused(e, job);
	} else {
		snprintf(text, sizeof(text), "committed your container as %s (%.19s)\n", image, id);
		log_info("user \"%s\": committed task container %.12s as %s in %lld ms", job->user,
		         job->container, image, mono_ms() - began);
	}
	set_phase(job->user, ANSWERING);
	for (int i = 0; i < ANSWER_TRIES; i++) {
		if (i > 0)
			usleep(ANSWER_PAUSE_MS * 1000);
		err_clear(&err);
		if (swarm_mailbox_finish(e, cfg, job->user, job->nonce, status, text,
		                         status == 0 ? id : NULL, &err) == 0)
			return;
	}
	log_err("user \"%s\": cannot write the answer of a commit: %s", job->user, err.msg);
}

static void *commit_thread(void *arg)
{
	struct commit_job *slot = arg, job;
	pthread_mutex_lock(&jobs_lock);
	job = *slot;
	pthread_mutex_unlock(&jobs_lock);
	struct config cfg;
	struct engine *e = NULL;
	struct err err = {0};
	state_config_get(&cfg);
	/* Without an engine nothing is answered here: once the slot is free,
	 * the poll thread answers the request it finds taken and not served. */
	if (engine_open(&cfg, &e, &err) < 0)
		log_err("user \"%s\": cannot commit task container %.12s: %s", job.user,
		        job.container, err.msg);
	else
		run(e, &cfg, &job);
	engine_close(e);
	swarm_commit_release(job.user);
	return NULL;
}

int swarm_commit_start(const char *user)
{
	struct commit_job *j = set_phase(user, COMMITTING);
	if (j == NULL || thread_spawn(commit_thread, j) != 0) {
		set_phase(user, CLAIMED);
		return -1;
	}
	return 0;
}
