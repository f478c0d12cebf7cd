/* sshbox-shim: the sshd ForceCommand. Runs as the logged-in user, with no
 * privilege: asks the watchdog for a connection to the user's container
 * sshd, then mirrors the outer session into it. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "config.h"
#include "err.h"
#include "hostverb.h"
#include "inner.h"
#include "log.h"
#include "watchdog_client.h"

/* Status for failures of sshbox itself (not of the user's command). */
#define SHIM_FAILURE 255

struct rejoin_ctx {
	const char *socket;
	const char *session;
};

static int rejoin(void *ctx)
{
	struct rejoin_ctx *r = ctx;
	int wd = watchdog_rejoin(r->socket, r->session);
	if (wd >= 0)
		log_info("session %s: re-registered with the restarted watchdog", r->session);
	return wd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sshbox-shim [--config FILE]\n"
	           "Run by sshd as ForceCommand; the requested command is in "
	           "SSH_ORIGINAL_COMMAND.\n");
}

int main(int argc, char **argv)
{
	const char *config_path = SSHBOX_DEFAULT_CONFIG;
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_open("sshbox-shim", 0);
	signal(SIGPIPE, SIG_IGN);

	uuid_t uu;
	char session[37];
	uuid_generate(uu);
	uuid_unparse_lower(uu, session);
	const char *command = getenv("SSH_ORIGINAL_COMMAND");
	log_info("session %s: uid %u starts %s", session, (unsigned)getuid(),
	         command ? "a command" : "a shell");

	struct err err = {0};
	struct proto_request verb;
	int is_verb = hostverb_parse(command, &verb, &err);
	if (is_verb < 0) {
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return 2;
	}
	if (is_verb && strcmp(verb.verb, "help") == 0)
		return hostverb_run(-1, session, &verb);
	struct config cfg;
	if (config_load(config_path, &cfg, &err) < 0) {
		config_defaults(&cfg);
		if (config_socket_only(config_path, cfg.socket, sizeof(cfg.socket)) < 0) {
			log_err("session %s: %s", session, err.msg);
			fprintf(stderr, "sshbox: this host's sshbox configuration is broken; "
			                "tell your admin\n");
			return SHIM_FAILURE;
		}
		log_warn("session %s: %s; going on with its socket %s", session, err.msg,
		         cfg.socket);
	}
	int wd = watchdog_connect(cfg.socket, &err);
	if (wd < 0) {
		log_err("session %s: %s", session, err.msg);
		fprintf(stderr, "sshbox: the sshbox service is not running on this host; tell "
		                "your admin\n");
		return SHIM_FAILURE;
	}
	if (is_verb) {
		log_info("session %s: host verb \"%s\"", session, verb.verb);
		return hostverb_run(wd, session, &verb);
	}
	struct login_reply reply = {.sshd_fd = -1};
	if (watchdog_login(wd, session, &reply, &err) < 0) {
		log_warn("session %s: login refused: %s", session, err.msg);
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return SHIM_FAILURE;
	}
	struct rejoin_ctx rctx = {.socket = cfg.socket, .session = session};
	struct inner_params p = {.fd = reply.sshd_fd,
	                         .pinned_hostkey = reply.hostkey,
	                         .private_key = reply.key,
	                         .command = command,
	                         .session_id = session,
	                         .watchdog_fd = wd,
	                         .rejoin = rejoin,
	                         .rejoin_ctx = &rctx};
	struct inner_result res = {.exit_status = SHIM_FAILURE};
	int rc = inner_session_run(&p, &res, &err);
	login_reply_clear(&reply);
	if (rc < 0) {
		log_err("session %s: %s", session, err.msg);
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return SHIM_FAILURE;
	}
	log_info("session %s: ended with %s %d", session, res.exit_signal ? "signal" : "status",
	         res.exit_signal ? res.exit_signal : res.exit_status);
	if (res.exit_signal) {
		/* Die of the same signal, so sshd reports exit-signal to the client. */
		signal(res.exit_signal, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, res.exit_signal);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(res.exit_signal);
	}
	return res.exit_status;
}
