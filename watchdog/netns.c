#include "netns.h"

#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A socket is bound to the namespace it was created in: create it there,
 * then return this thread to its own namespace before doing anything else.
 * setns on a pidfd (Linux >= 5.8) enters the namespace of that very process,
 * never of whatever process holds its number now. */
static int socket_in_netns(int pidfd, struct err *err)
{
	cleanup_close int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys(err, errno, "cannot open own network namespace");
	if (setns(pidfd, CLONE_NEWNET) < 0)
		return err_sys(err, errno, "cannot enter the container's network namespace");
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Staying in a container's namespace would be a broken invariant. */
		log_err("cannot return to own network namespace: %m");
		abort();
	}
	if (s < 0)
		return err_sys(err, saved, "cannot create socket in container namespace");
	return s;
}

/* One non-blocking connect attempt with a deadline: 0, or -1 with errno. */
static int connect_once(int s, struct in_addr addr, int port, long long deadline)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr = addr;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	struct pollfd p = {.fd = s, .events = POLLOUT};
	long long left = deadline - mono_ms();
	int n = poll(&p, 1, left > 0 ? (int)left : 0);
	if (n <= 0) {
		errno = n == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int netns_connect_pidfd(int pidfd, int port, int timeout_ms, struct err *err)
{
	return netns_connect_addr(pidfd, "127.0.0.1", port, timeout_ms, err);
}

int netns_connect_addr(int pidfd, const char *ipv4, int port, int timeout_ms, struct err *err)
{
	struct in_addr addr;
	if (inet_pton(AF_INET, ipv4, &addr) != 1)
		return err_set(err, EINVAL, "bad IPv4 address \"%s\"", ipv4);
	long long deadline = mono_ms() + timeout_ms;
	int delay_ms = 10;
	for (;;) {
		int s = socket_in_netns(pidfd, err);
		if (s < 0)
			return -1;
		if (connect_once(s, addr, port, deadline) == 0) {
			int one = 1;
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			/* The shim uses it in blocking mode. */
			fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
			return s;
		}
		int e = errno;
		close(s);
		if (e != ECONNREFUSED || mono_ms() + delay_ms >= deadline)
			return err_sys(err, e, "cannot connect to the container's sshd");
		usleep((useconds_t)delay_ms * 1000);
		if (delay_ms < 200)
			delay_ms *= 2;
	}
}
