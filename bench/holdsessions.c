/* sshbox-holdsessions: live sessions for the watchdog footprint benchmark,
 * without the ~30 MB of sshd + shim + inner sshd a real session costs.
 *
 *   sshbox-holdsessions SOCKET PER_USER PARALLEL USER...   (as root)
 *
 * For every USER, PER_USER sessions. Each session is one forked process that
 * becomes the user (groups, gid, uid), connects to the watchdog socket and
 * logs in with the shim's own client code (shim/watchdog_client.c), takes the reply with the
 * descriptor of the container's sshd, closes that descriptor and holds the
 * watchdog connection open: to the watchdog it is a live session, exactly
 * like a shim's. At most PARALLEL logins are in flight at once (first logins
 * create containers). When every login has answered it prints
 * "held OK FAILED" on stdout; on SIGTERM or SIGINT every session ends and it
 * exits. Benchmark tool: not installed. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "config.h"
#include "proto.h"
#include "watchdog_client.h"

/* One session, in its own process: reports '1' or '0' on status, then holds
 * the watchdog connection until quit reaches end of file. */
static void session(const char *socket_path, const struct passwd *pw, int status, int quit)
{
	char verdict = '0';
	struct err err = {0};
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "holdsessions: %s: cannot become the user: %m\n", pw->pw_name);
		goto report;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* cleared by setuid: set after it */
	int wd = watchdog_connect(socket_path, &err);
	if (wd < 0) {
		fprintf(stderr, "holdsessions: %s: %s\n", pw->pw_name, err.msg);
		goto report;
	}
	uuid_t uu;
	char id[37];
	uuid_generate(uu);
	uuid_unparse_lower(uu, id);
	struct login_reply reply = {.sshd_fd = -1};
	if (watchdog_login(wd, id, &reply, &err) < 0) {
		fprintf(stderr, "holdsessions: %s: %s\n", pw->pw_name, err.msg);
	} else {
		verdict = '1';
		close(reply.sshd_fd);
		login_reply_clear(&reply);
	}
	if (write(status, &verdict, 1) != 1)
		_exit(1);
	if (verdict == '1') {
		/* Hold until told to quit, or until the watchdog drops us (a
		 * notice for the user, as the shim would print, keeps it). */
		for (;;) {
			struct pollfd p[2] = {{.fd = quit, .events = POLLIN},
			                      {.fd = wd, .events = POLLIN}};
			if (poll(p, 2, -1) < 0 && errno == EINTR)
				continue;
			json_t *m = NULL;
			if (p[0].revents || proto_recv(wd, 1000, &m, NULL, NULL) < 0)
				break;
			json_decref(m);
		}
	}
	_exit(verdict == '1' ? 0 : 1);
report:
	if (write(status, &verdict, 1) != 1)
		_exit(1);
	_exit(1);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: sshbox-holdsessions SOCKET PER_USER PARALLEL USER...\n");
		return 2;
	}
	const char *socket_path = argv[1];
	long per_user = 0, parallel = 0;
	if (parse_long(argv[2], 1, 100000, &per_user) < 0 ||
	    parse_long(argv[3], 1, 100000, &parallel) < 0) {
		fprintf(stderr, "holdsessions: PER_USER and PARALLEL must be positive\n");
		return 2;
	}
	int status[2], quit[2];
	if (pipe(status) < 0 || pipe(quit) < 0) {
		perror("holdsessions: pipe");
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int inflight = 0, ok = 0, failed = 0;
	char verdict;
	/* Round-robin over the users: every user's first session comes first. */
	for (int round = 0; round < per_user && !stop; round++) {
		for (int i = 4; i < argc && !stop; i++) {
			struct passwd *pw = getpwnam(argv[i]);
			if (pw == NULL) {
				fprintf(stderr, "holdsessions: no account %s\n", argv[i]);
				failed++;
				continue;
			}
			if (inflight == parallel && read(status[0], &verdict, 1) == 1) {
				inflight--;
				if (verdict == '1')
					ok++;
				else
					failed++;
			}
			pid_t pid = fork();
			if (pid == 0) {
				close(status[0]);
				close(quit[1]);
				session(socket_path, pw, status[1], quit[0]);
			}
			if (pid < 0) {
				perror("holdsessions: fork");
				failed++;
				continue;
			}
			inflight++;
		}
	}
	while (inflight > 0 && !stop && read(status[0], &verdict, 1) == 1) {
		inflight--;
		if (verdict == '1')
			ok++;
		else
			failed++;
	}
	printf("held %d %d\n", ok, failed);
	fflush(stdout);
	/* Hold until a signal. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop)
		sigsuspend(&old);
	close(quit[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
