/* sshbox-gate: the first process of a swarm task (docs/design-cluster.md
 * 3.11), run from the sshd bundle, so nothing of the image runs before it:
 *
 *   SSHBOX_TASK=ID sshbox-gate FENCE_DIR -- PROGRAM [ARG...]
 *
 * It waits until FENCE_DIR/ID exists: the home node's watchdog creates it
 * after it has fenced this task's network namespace, in a directory only
 * that watchdog writes (bound read-only). Then it adds root and sshd's
 * privilege-separation user to the image's /etc/passwd when they are
 * missing (sshd refuses to start without the latter) and execs PROGRAM.
 * Before the fence no code but this runs in the container, so no code of
 * the user's can reach the network unfenced. Static: it loads nothing from
 * the image, which may have no libc at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kvfile.h"

#define WAIT_S        300 /* then exit: swarm starts a new task */
#define POLL_MS       50
#define PASSWD        "/etc/passwd"
#define PASSWD_MAX    (1 << 20)
#define SYS_UID_FIRST 100
#define SYS_UID_END   999

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A swarm task id: 1-64 of [a-z0-9]. */
static int task_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 64)
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static int wait_fence(const char *dir, const char *task)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, task) >= (int)sizeof(path)) {
		fprintf(stderr, "sshbox-gate: fence dir path too long\n");
		return -1;
	}
	long long deadline = mono_ms() + WAIT_S * 1000LL;
	struct stat st;
	while (stat(path, &st) < 0) {
		if (mono_ms() >= deadline) {
			fprintf(stderr,
			        "sshbox-gate: the home node did not fence this task (%s) within "
			        "%d s; exiting\n",
			        task, WAIT_S);
			return -1;
		}
		struct timespec ts = {0, POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* What passwd holds: root, sshd, and sshd's uid if added: one above the
 * highest system uid there (SYS_UID_FIRST..SYS_UID_END-1). */
static void scan_passwd(const char *p, size_t len, int *root, int *sshd, long *uid)
{
	*root = *sshd = 0;
	*uid = SYS_UID_FIRST;
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(eol - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (c1 != NULL) {
			size_t n = (size_t)(c1 - p);
			*root |= n == 4 && memcmp(p, "root", 4) == 0;
			*sshd |= n == 4 && memcmp(p, "sshd", 4) == 0;
		}
		if (c2 != NULL) {
			long v = 0;
			const char *d = c2 + 1;
			int digits = 0;
			while (d < eol && *d >= '0' && *d <= '9' && v < SYS_UID_END)
				v = v * 10 + (*d++ - '0'), digits++;
			if (digits > 0 && (d == eol || *d == ':') && v >= *uid && v < SYS_UID_END)
				*uid = v + 1;
		}
		p = nl ? nl + 1 : end;
	}
}

/* root and sshd added when missing; a failure is said, not fatal: sshd then
 * says what it lacks. */
static void ensure_users(void)
{
	static char buf[PASSWD_MAX];
	size_t len = 0;
	struct err err = {0};
	/* A regular file only (a FIFO in its place must not hang the start). */
	if (kv_read_file(PASSWD, 0, buf, sizeof(buf), &len, &err) < 0 && err.code != ENOENT) {
		fprintf(stderr, "sshbox-gate: %s\n", err.msg);
		return;
	}
	int root, sshd;
	long uid;
	scan_passwd(buf, len, &root, &sshd, &uid);
	if (root && sshd)
		return;
	char add[256];
	int n = snprintf(add, sizeof(add), "%s%s", len > 0 && buf[len - 1] != '\n' ? "\n" : "",
	                 root ? "" : "root:x:0:0:root:/root:/bin/sh\n");
	if (!sshd)
		n += snprintf(add + n, sizeof(add) - (size_t)n,
		              "sshd:x:%ld:65534:sshd privsep:/run/sshd:/bin/false\n", uid);
	int fd =
	    open(PASSWD, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0 || write(fd, add, (size_t)n) != n)
		fprintf(stderr, "sshbox-gate: cannot add sshd's user to %s: %s\n", PASSWD,
		        strerror(errno));
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr,
		        "usage: SSHBOX_TASK=ID sshbox-gate FENCE_DIR -- PROGRAM [ARG...]\n");
		return 2;
	}
	const char *task = getenv("SSHBOX_TASK");
	if (!task_id_valid(task)) {
		fprintf(stderr, "sshbox-gate: SSHBOX_TASK is missing or not a swarm task id\n");
		return 2;
	}
	if (wait_fence(argv[1], task) < 0)
		return 1;
	unsetenv("SSHBOX_TASK");
	ensure_users();
	execv(argv[3], argv + 3);
	fprintf(stderr, "sshbox-gate: cannot run %s: %s\n", argv[3], strerror(errno));
	return 127;
}
