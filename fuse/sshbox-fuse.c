/* sshbox-fuse: FUSE mounts in an sshbox container that has no mount
 * privilege. It asks the watchdog (over FUSE_SOCKET_DIR/sock, see
 * fuseproto.h) to mount FUSE at DIR, receives the mount's /dev/fuse
 * descriptor N and runs COMMAND with /dev/fd/N appended as its mount point
 * (libfuse >= 3.3 takes that as mounted already); when COMMAND ends, it asks
 * for the unmount. Static: it runs in any image.
 *
 *   sshbox-fuse mount DIR -- COMMAND [ARG...]
 *   sshbox-fuse umount DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuseproto.h"
#include "proto.h"

#define REPLY_TIMEOUT_MS 60000

static volatile sig_atomic_t child_pid;

static void usage(FILE *f)
{
	fprintf(f, "usage: sshbox-fuse mount DIR -- COMMAND [ARG...]\n"
	           "       sshbox-fuse umount DIR\n"
	           "  mount   the sshbox watchdog mounts FUSE at DIR; COMMAND (a FUSE server\n"
	           "          such as sshfs) runs with /dev/fd/N appended as its mount point\n"
	           "          and DIR is unmounted when it ends\n"
	           "  umount  unmount DIR (a mount made by sshbox-fuse)\n"
	           "environment: SSHBOX_FUSE_SOCKET (default " FUSE_SOCKET_DIR "/sock)\n");
}

static int connect_service(struct err *err)
{
	const char *path = getenv("SSHBOX_FUSE_SOCKET");
	if (path == NULL || path[0] == '\0')
		path = FUSE_SOCKET_DIR "/sock";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(err, errno, "socket");
	struct timeval tv = {.tv_sec = 10};
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect too */
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(s);
		if (e == ENOENT)
			return err_set(err, e,
			               "%s does not exist: FUSE is not enabled for this "
			               "container",
			               path);
		return err_sys(err, e, "cannot connect to %s", path);
	}
	return s;
}

/* One request and its answer; *ret_fd (if asked for) gets the descriptor. */
static int ask(enum fuse_op op, const char *dir, const char *subtype, int *ret_fd, struct err *err)
{
	json_t *req = fuse_build_request(op, dir, subtype);
	if (req == NULL)
		return err_set(err, EINVAL, "cannot build the request");
	int s = connect_service(err);
	if (s < 0) {
		json_decref(req);
		return -1;
	}
	json_t *answer = NULL;
	int fd = -1;
	int rc = proto_send(s, req, -1, REPLY_TIMEOUT_MS, err);
	json_decref(req);
	if (rc == 0)
		rc = proto_recv(s, REPLY_TIMEOUT_MS, &answer, ret_fd ? &fd : NULL, err);
	close(s);
	if (rc < 0)
		return err_wrap(err, "the sshbox watchdog did not answer");
	if (!json_is_true(json_object_get(answer, "ok"))) {
		const char *why = json_string_value(json_object_get(answer, "error"));
		rc = err_set(err, EPERM, "%s", why ? why : "refused");
	} else if (ret_fd != NULL && fd < 0) {
		rc = err_set(err, EPROTO, "the answer carried no /dev/fuse descriptor");
	}
	json_decref(answer);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (ret_fd != NULL)
		*ret_fd = fd;
	return 0;
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* The FUSE type's name: the command's, when it is a plain one. */
static void subtype_of(const char *cmd, char *buf, size_t size)
{
	const char *base = strrchr(cmd, '/');
	snprintf(buf, size, "%s", base ? base + 1 : cmd);
	if (!fuse_subtype_valid(buf))
		snprintf(buf, size, "%s", FUSE_DEFAULT_SUBTYPE);
}

static int run_mount(const char *dir, char **cmd, int ncmd)
{
	struct err err = {0};
	char subtype[FUSE_SUBTYPE_MAX + 1];
	int fd = -1;
	subtype_of(cmd[0], subtype, sizeof(subtype));
	if (ask(FUSE_OP_MOUNT, dir, subtype, &fd, &err) < 0) {
		fprintf(stderr, "sshbox-fuse: cannot mount %s: %s\n", dir, err.msg);
		return 1;
	}
	char mountpoint[32];
	snprintf(mountpoint, sizeof(mountpoint), "/dev/fd/%d", fd);
	char **argv = calloc((size_t)ncmd + 2, sizeof(*argv));
	if (argv == NULL) {
		fprintf(stderr, "sshbox-fuse: out of memory\n");
		return 1;
	}
	memcpy(argv, cmd, (size_t)ncmd * sizeof(*argv));
	argv[ncmd] = mountpoint;
	struct sigaction sa = {.sa_handler = forward};
	sigemptyset(&sa.sa_mask);
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("sshbox-fuse: fork");
		return 1;
	}
	if (pid == 0) {
		fcntl(fd, F_SETFD, 0); /* the one descriptor COMMAND inherits from us */
		execvp(argv[0], argv);
		fprintf(stderr, "sshbox-fuse: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	/* Only COMMAND holds the connection now: when it ends, so does the file
	 * system's server side. */
	close(fd);
	free(argv);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* An explicit umount may have come first: that is no news. */
	if (ask(FUSE_OP_UMOUNT, dir, NULL, NULL, &err) < 0 &&
	    strstr(err.msg, "is not a FUSE mount that sshbox made") == NULL)
		fprintf(stderr, "sshbox-fuse: cannot unmount %s: %s\n", dir, err.msg);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "umount") == 0) {
		struct err err = {0};
		if (ask(FUSE_OP_UMOUNT, argv[2], NULL, NULL, &err) < 0) {
			fprintf(stderr, "sshbox-fuse: cannot unmount %s: %s\n", argv[2], err.msg);
			return 1;
		}
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "mount") == 0 && strcmp(argv[3], "--") == 0)
		return run_mount(argv[2], argv + 4, argc - 4);
	usage(stderr);
	return 2;
}
