/* sshbox-watchdog: the root daemon that alone talks to the container engine.
 * Shims connect to its unix socket; see proto.h for the protocol. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "accept.h"
#include "admit.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "cluster.h"
#include "events.h"
#include "flags.h"
#include "audit.h"
#include "log.h"
#include "engine.h"
#include "metrics.h"
#include "metricsd.h"
#include "proto.h"
#include "selfpipe.h"
#include "holder.h"
#include "kvfile.h"
#include "server.h"
#include "session.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sshbox-watchdog [--config FILE] [--stderr] [--version]\n"
	           "  --config FILE  configuration (default " SSHBOX_DEFAULT_CONFIG ")\n"
	           "  --stderr       also log to standard error\n"
	           "  --version      print the version and build id\n");
}

/* The pid in the pid file beside the socket is running. A watchdog killed
 * a moment ago can still accept on its socket while it exits: its pid is
 * gone already, so it does not block a restart. */
static int previous_alive(const struct config *cfg)
{
	char dir[CONFIG_STR_MAX], path[CONFIG_STR_MAX + 32];
	snprintf(dir, sizeof(dir), "%s", cfg->socket);
	snprintf(path, sizeof(path), "%s/watchdog.pid", dirname(dir));
	char line[32] = "";
	size_t len = 0;
	long pid = 0;
	struct err err = {0};
	if (kv_read_file(path, 1, line, sizeof(line), &len, &err) < 0)
		return 1; /* no pid file (or not a plain one): trust the socket */
	line[strcspn(line, "\n")] = '\0';
	if (parse_long(line, 1, INT_MAX, &pid) < 0)
		return 1; /* not a pid: trust the socket */
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* Binds the socket: mode 0660, group = the sshbox group, so only sshbox
 * accounts (and root) can connect at all. */
static int listen_socket(const struct config *cfg, struct err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(cfg->socket) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s is too long", cfg->socket);
	strcpy(sa.sun_path, cfg->socket);
	char dir[sizeof(sa.sun_path)];
	strcpy(dir, cfg->socket);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);

	/* The group lists every sshbox account: it outgrows any fixed buffer. */
	struct group gr, *gres = NULL;
	cleanup_free char *buf = NULL;
	int grc = ERANGE;
	for (size_t size = 4096; grc == ERANGE && size <= 64 * 1024 * 1024; size *= 2) {
		free(buf);
		buf = malloc(size);
		if (buf == NULL)
			return err_set(err, ENOMEM, "out of memory");
		grc = getgrnam_r(cfg->group, &gr, buf, size, &gres);
	}
	if (grc != 0)
		return err_sys(err, grc, "cannot look up group \"%s\"", cfg->group);
	if (gres == NULL)
		return err_set(err, ENOENT, "group \"%s\" does not exist", cfg->group);

	struct stat st;
	if (lstat(cfg->socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(err, EEXIST, "%s exists and is not a socket", cfg->socket);
		/* A live watchdog answers; a stale socket does not. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		            previous_alive(cfg);
		if (probe >= 0)
			close(probe);
		if (alive)
			return err_set(err, EADDRINUSE, "another watchdog is serving %s",
			               cfg->socket);
		unlink(cfg->socket);
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return err_sys(err, errno, "socket");
	mode_t old = umask(0177);
	int rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		int e = errno;
		close(s);
		return err_sys(err, e, "cannot bind %s", cfg->socket);
	}
	if (chown(cfg->socket, 0, gr.gr_gid) < 0 || chmod(cfg->socket, 0660) < 0 ||
	    listen(s, 512) < 0) {
		int e = errno;
		close(s);
		return err_sys(err, e, "cannot set up %s", cfg->socket);
	}
	return s;
}

static void write_pidfile(const struct config *cfg)
{
	char path[300];
	char dir[CONFIG_STR_MAX];
	snprintf(dir, sizeof(dir), "%s", cfg->socket);
	snprintf(path, sizeof(path), "%s/watchdog.pid", dirname(dir));
	FILE *f = fopen(path, "we");
	if (f == NULL) {
		log_warn("cannot write pid file %s: %m", path);
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *config_path = SSHBOX_DEFAULT_CONFIG;
	int to_stderr = 0;
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"stderr", no_argument, NULL, 'e'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "c:eh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			break;
		case 'e':
			to_stderr = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sshbox-watchdog %s\n", SSHBOX_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_open("sshbox-watchdog", to_stderr);
	proto_wipe_json_memory();
	if (geteuid() != 0) {
		fprintf(stderr, "sshbox-watchdog: must run as root\n");
		return 1;
	}
	struct err err = {0};
	struct config cfg;
	if (config_load(config_path, &cfg, &err) < 0) {
		fprintf(stderr, "sshbox-watchdog: %s\n", err.msg);
		log_err("%s", err.msg);
		return 1;
	}
	state_config_set(&cfg);
	audit_open(&cfg);
	curl_global_init(CURL_GLOBAL_ALL);
	/* Every live session holds a descriptor: take all the kernel allows. */
	long long nofile = admit_raise_nofile();

	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	int signal_fd = selfpipe_install(sigs, sizeof(sigs) / sizeof(sigs[0]));
	if (signal_fd < 0) {
		perror("sshbox-watchdog: signals");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	int ls = listen_socket(&cfg, &err);
	if (ls < 0) {
		fprintf(stderr, "sshbox-watchdog: %s\n", err.msg);
		log_err("%s", err.msg);
		return 1;
	}
	write_pidfile(&cfg);
	/* The threads inherit a mask with every signal blocked: only this
	 * thread takes signals, through the self-pipe. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	engine_set_failure_hook(metrics_engine_error);
	int started = flags_start_watcher(&err) == 0 && idle_start_reaper() == 0 &&
	              events_start() == 0 && holder_start() == 0 &&
	              metricsd_start(&cfg, &err) == 0 && cluster_ops(&cfg)->start() == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started || accept_init() < 0) {
		fprintf(stderr, "sshbox-watchdog: %s\n",
		        err.msg[0] ? err.msg : "cannot start threads");
		log_err("%s", err.msg[0] ? err.msg : "cannot start threads");
		return 1;
	}
	log_info("sshbox-watchdog %s listening on %s (instance \"%s\", engine %s); %lld "
	         "descriptors, at most %d "
	         "connections",
	         SSHBOX_VERSION_STRING, cfg.socket, cfg.instance, cfg.engine, nofile,
	         admit_caps_for(nofile).total);
	if (strncmp(cfg.engine, "tcp://", 6) == 0 && cfg.cert_path[0] == '\0')
		log_warn("engine %s is plain TCP without TLS: whoever reaches it is root on the "
		         "engine's host; set engine_cert_path",
		         cfg.engine);

	long long resume_accept = 0; /* monotonic ms; 0: poll the socket */
	for (;;) {
		struct pollfd p[2] = {{.fd = signal_fd, .events = POLLIN},
		                      {.fd = ls, .events = POLLIN}};
		int wait_ms = -1;
		if (resume_accept != 0) {
			long long left = resume_accept - mono_ms();
			wait_ms = left > 0 ? (int)left : 0;
		}
		/* While backing off, the socket is left out: it would wake us at
		 * once for the connection we cannot take yet. */
		if (poll(p, resume_accept != 0 ? 1 : 2, wait_ms) < 0) {
			/* Only a broken descriptor is fatal; anything passing (a
			 * signal, a debugger's restart, no memory) is waited out. */
			if (errno == EBADF || errno == EFAULT || errno == EINVAL) {
				log_err("poll: %m");
				return 1;
			}
			if (errno != EINTR)
				sleep(1);
			continue;
		}
		if (p[0].revents & POLLIN) {
			unsigned char sig;
			while (read(signal_fd, &sig, 1) == 1) {
				if (sig == SIGHUP) {
					struct config fresh, now;
					if (config_load(config_path, &fresh, &err) < 0) {
						log_err(
						    "reload refused, keeping the old config: %s",
						    err.msg);
					} else {
						if (strcmp(fresh.metrics_listen,
						           cfg.metrics_listen) != 0)
							log_warn(
							    "metrics_listen changed to \"%s\": it "
							    "takes "
							    "effect when the watchdog restarts",
							    fresh.metrics_listen);
						state_config_set(&fresh);
						log_info("configuration reloaded from %s",
						         config_path);
					}
					/* logrotate moved the audit log: a fresh one. */
					state_config_get(&now);
					audit_open(&now);
				} else {
					log_info("stopping on signal %d; containers keep running",
					         sig);
					unlink(cfg.socket);
					metricsd_stop(&cfg);
					return 0;
				}
			}
		}
		if (resume_accept != 0 && mono_ms() >= resume_accept)
			resume_accept = 0;
		if (resume_accept == 0 && (p[1].revents & POLLIN)) {
			int backoff = accept_pending(ls);
			if (backoff > 0)
				resume_accept = mono_ms() + backoff;
		}
	}
}
