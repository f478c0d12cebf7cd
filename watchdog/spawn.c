#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

/* Waits for the child within the deadline; kills it after. */
static int reap(pid_t child, long long deadline, int *ret_status)
{
	pid_t done;
	while ((done = waitpid(child, ret_status, WNOHANG)) == 0 && mono_ms() < deadline)
		usleep(2000);
	if (done == child)
		return 0;
	kill(child, SIGKILL);
	while (waitpid(child, ret_status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

int spawn_run(char *const argv[], char *out, size_t size, int timeout_ms, struct err *err)
{
	char discard[256];
	if (out == NULL) {
		out = discard;
		size = sizeof(discard);
	}
	out[0] = '\0';
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe for %s", argv[0]);
	pid_t child = fork();
	if (child < 0) {
		close(pipefd[0]), close(pipefd[1]);
		return err_sys(err, errno, "fork for %s", argv[0]);
	}
	if (child == 0) {
		/* Only async-signal-safe calls here; the worker thread's blocked
		 * signals would outlive exec. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pipefd[1], 1) < 0 ||
		    dup2(pipefd[1], 2) < 0)
			_exit(126);
		char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pipefd[1]);
	long long deadline = mono_ms() + timeout_ms;
	size_t len = 0;
	for (;;) {
		long long left = deadline - mono_ms();
		struct pollfd p = {pipefd[0], POLLIN, 0};
		if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR))
			break;
		char chunk[4096];
		ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		size_t keep = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
		memcpy(out + len, chunk, keep);
		len += keep;
	}
	out[len] = '\0';
	close(pipefd[0]);
	int status = 0;
	if (reap(child, deadline, &status) < 0)
		return err_set(err, ETIMEDOUT, "%s did not finish in %d s (killed)", argv[0],
		               timeout_ms / 1000);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	int line = (int)strcspn(out, "\n");
	return err_set(err, EIO, "%s failed (status %d): %.*s", argv[0],
	               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	               line > 300 ? 300 : line, out);
}
