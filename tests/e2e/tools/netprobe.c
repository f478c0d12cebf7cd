/* netprobe: what a hostile container user tries on the network, for the
 * isolation tests. Built static on the host and copied into a container.
 *   netprobe listen PORT                 accept on 0.0.0.0:PORT forever
 *   netprobe connect IP PORT             "open" (exit 0) or why not (exit 1)
 *   netprobe raw                         try raw IP and packet sockets
 *   netprobe flood IP PORT N SECONDS     N connects, held SECONDS; prints how
 *                                        many were accepted */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A decimal argument, or exit 2 naming it. */
static int number(const char *s)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > 1000000) {
		fprintf(stderr, "netprobe: not a number: \"%s\"\n", s);
		exit(2);
	}
	return (int)v;
}

static int connect_to(const char *ip, int port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return s;
	if (errno != EINPROGRESS) {
		int e = errno;
		close(s);
		return -e;
	}
	struct pollfd p = {.fd = s, .events = POLLOUT};
	if (poll(&p, 1, timeout_ms) != 1) {
		close(s);
		return -ETIMEDOUT;
	}
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr != 0) {
		close(s);
		return -soerr;
	}
	return s;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "listen") == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_port = htons((uint16_t)number(argv[2]))};
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 64) < 0) {
			perror("netprobe listen");
			return 1;
		}
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c >= 0) {
				(void)!write(c, "hello\n", 6);
				close(c);
			}
		}
	}
	if (argc == 4 && strcmp(argv[1], "connect") == 0) {
		int s = connect_to(argv[2], number(argv[3]), 3000);
		if (s >= 0) {
			puts("open");
			return 0;
		}
		puts(s == -ECONNREFUSED ? "refused" : s == -ETIMEDOUT ? "timeout" : strerror(-s));
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "raw") == 0) {
		int ip = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		int ip_errno = errno;
		int pkt = socket(AF_PACKET, SOCK_RAW, htons(0x0806));
		int pkt_errno = errno;
		printf("raw ip: %s; packet: %s\n", ip >= 0 ? "opened" : strerror(ip_errno),
		       pkt >= 0 ? "opened" : strerror(pkt_errno));
		return ip >= 0 || pkt >= 0 ? 0 : 1;
	}
	if (argc == 6 && strcmp(argv[1], "flood") == 0) {
		int n = number(argv[4]), open_count = 0;
		for (int i = 0; i < n; i++)
			if (connect_to(argv[2], number(argv[3]), 200) >= 0)
				open_count++;
		printf("%d\n", open_count);
		fflush(stdout);
		sleep((unsigned)number(argv[5]));
		return 0;
	}
	fprintf(stderr,
	        "usage: netprobe listen PORT | connect IP PORT | raw | flood IP PORT N S\n");
	return 2;
}
