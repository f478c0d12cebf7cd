#include "netfence.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "pidfd.h"

#define RULES_MAX          16384
#define RESTORE_TIMEOUT_MS 10000

struct rules {
	char v4[RULES_MAX], v6[RULES_MAX];
	size_t n4, n6;
	int container_v6; /* the container has an IPv6 address besides ::1 */
	int full4, full6; /* a rule did not fit */
};

__attribute__((format(printf, 4, 5))) static void add(struct rules *r, char *buf, size_t *n,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *n, RULES_MAX - *n, fmt, ap);
	va_end(ap);
	if (w < 0 || *n + (size_t)w >= RULES_MAX)
		*(buf == r->v4 ? &r->full4 : &r->full6) = 1;
	else
		*n += (size_t)w;
}

/* Rejects new connections to addr/prefix (prefix -1: the address alone). */
static void reject(struct rules *r, const struct sockaddr *addr, const struct sockaddr *mask)
{
	char text[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN + 8];
	int bits = 0;
	if (addr->sa_family == AF_INET) {
		const struct in_addr *a = &((const struct sockaddr_in *)addr)->sin_addr;
		if ((ntohl(a->s_addr) >> 24) == 127)
			return; /* the loopback net is the container's own */
		inet_ntop(AF_INET, a, text, sizeof(text));
		bits = mask
		           ? __builtin_popcount(((const struct sockaddr_in *)mask)->sin_addr.s_addr)
		           : 32;
		snprintf(dst, sizeof(dst), "%s/%d", text, bits);
		add(r, r->v4, &r->n4,
		    "-A OUTPUT -d %s -p tcp -j REJECT --reject-with tcp-reset\n"
		    "-A OUTPUT -d %s -j REJECT --reject-with icmp-admin-prohibited\n",
		    dst, dst);
	} else if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		/* Link-local: one rule for all of fe80::/10 (the head), not one per
		 * veth of every container on the host. */
		if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a))
			return;
		inet_ntop(AF_INET6, a, text, sizeof(text));
		bits = 128;
		if (mask) {
			bits = 0;
			for (int i = 0; i < 16; i++)
				bits += __builtin_popcount(
				    ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr[i]);
		}
		snprintf(dst, sizeof(dst), "%s/%d", text, bits);
		add(r, r->v6, &r->n6,
		    "-A OUTPUT -d %s -p tcp -j REJECT --reject-with tcp-reset\n"
		    "-A OUTPUT -d %s -j REJECT --reject-with icmp6-adm-prohibited\n",
		    dst, dst);
	}
}

/* Each address of the current namespace: its subnet (subnets) or itself. */
static int collect(struct rules *r, int subnets, struct err *err)
{
	struct ifaddrs *list = NULL;
	if (getifaddrs(&list) < 0)
		return err_sys(err, errno, "cannot list network addresses");
	for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL && !(i->ifa_flags & IFF_LOOPBACK)) {
			reject(r, i->ifa_addr, subnets ? i->ifa_netmask : NULL);
			if (subnets && i->ifa_addr->sa_family == AF_INET6)
				r->container_v6 = 1;
		}
	freeifaddrs(list);
	return 0;
}

#define RULES_HEAD                                                                                 \
	"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"              \
	"-A OUTPUT -o lo -j ACCEPT\n"                                                              \
	"-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j ACCEPT\n"

/* The container's subnets, read from inside its namespace by this thread
 * alone, which then goes back to its own. */
static int collect_in(int target, struct rules *r, struct err *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys(err, errno, "cannot open own network namespace");
	int rc = setns(target, CLONE_NEWNET) < 0
	             ? err_sys(err, errno, "cannot enter the container's network namespace")
	             : collect(r, 1, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		log_err("cannot return to own network namespace: %m");
		abort();
	}
	close(self);
	return rc;
}

/* Runs PROGRAM (iptables-restore or ip6tables-restore) inside the namespace
 * with the rules on its standard input, within a deadline. */
static int restore(int target, const char *program, const char *rules, size_t len, struct err *err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid_t child = fork();
	if (child < 0) {
		close(in[0]), close(in[1]);
		return err_sys(err, errno, "fork");
	}
	if (child == 0) {
		/* Only async-signal-safe calls between fork and exec. The worker
		 * thread's blocked signals would outlive exec: unblock them. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_WRONLY);
		if (setns(target, CLONE_NEWNET) < 0 || dup2(in[0], 0) < 0 || devnull < 0 ||
		    dup2(devnull, 1) < 0)
			_exit(126);
		char *argv[] = {(char *)program, "-w", "5", NULL};
		char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
		execve(program, argv, envp);
		_exit(127);
	}
	close(in[0]);
	/* The rules fit the pipe's buffer: this write does not block. */
	ssize_t w = write(in[1], rules, len);
	close(in[1]);
	int status = 0;
	long long deadline = mono_ms() + RESTORE_TIMEOUT_MS;
	pid_t done;
	while ((done = waitpid(child, &status, WNOHANG)) == 0 && mono_ms() < deadline)
		usleep(5000);
	if (done == 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return err_set(err, ETIMEDOUT, "%s did not finish in %d s", program,
		               RESTORE_TIMEOUT_MS / 1000);
	}
	if (w != (ssize_t)len || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(
		    err, EIO, "%s failed in the container's network namespace (status %d)", program,
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

/* Field 22 of /proc/PID/stat, the process's start in ticks since boot
 * (the name in field 2 may hold spaces and parentheses: counted from the
 * last ')'). 0 when unreadable. */
static unsigned long long start_ticks(pid_t pid)
{
	char buf[1024];
	if (pidfd_proc_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	for (int field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p != NULL ? strtoull(p + 1, NULL, 10) : 0;
}

unsigned long long netfence_key(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	unsigned long long ticks = start_ticks(pid);
	if (stat(path, &st) < 0 || ticks == 0)
		return 0;
	return (ticks << 32) ^ (unsigned long long)st.st_ino;
}

int netfence_apply(pid_t pid, const char *container_id, struct err *err)
{
	return netfence_apply_also(pid, container_id, NULL, err);
}

int netfence_apply_also(pid_t pid, const char *container_id, const char *const *also,
                        struct err *err)
{
	/* setns takes a pidfd as it takes a namespace file (Linux >= 5.8). */
	cleanup_close int target = pidfd_of_container(pid, container_id, err);
	if (target < 0)
		return -1;
	cleanup_free struct rules *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(err, ENOMEM, "out of memory");
	add(r, r->v4, &r->n4, RULES_HEAD);
	add(r, r->v6, &r->n6,
	    RULES_HEAD "-A OUTPUT -d fe80::/10 -p tcp -j REJECT --reject-with tcp-reset\n"
	               "-A OUTPUT -d fe80::/10 -j REJECT --reject-with icmp6-adm-prohibited\n");
	if (collect(r, 0, err) < 0 || collect_in(target, r, err) < 0)
		return -1;
	for (int i = 0; also != NULL && also[i] != NULL; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		if (inet_pton(AF_INET, also[i], &sa.sin_addr) != 1)
			return err_set(err, EINVAL, "bad address to fence \"%s\"", also[i]);
		reject(r, (const struct sockaddr *)&sa, NULL);
	}
	add(r, r->v4, &r->n4, "COMMIT\n");
	add(r, r->v6, &r->n6, "COMMIT\n");
	if (r->full4 || (r->container_v6 && r->full6))
		return err_set(err, E2BIG, "too many host addresses to fence");
	if (restore(target, "/usr/sbin/iptables-restore", r->v4, r->n4, err) < 0)
		return -1;
	/* A container without IPv6 (the engine's default) has nothing to fence. */
	if (!r->container_v6)
		return 0;
	return restore(target, "/usr/sbin/ip6tables-restore", r->v6, r->n6, err);
}
