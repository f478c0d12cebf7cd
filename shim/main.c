/* sshbox-shim: the sshd ForceCommand. Runs as the logged-in user, with no
 * privilege: asks the watchdog for a connection to the user's container
 * sshd, then mirrors the outer session into it. */
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "castsend.h"
#include "config.h"
#include "err.h"
#include "hostverb.h"
#include "inner.h"
#include "jump.h"
#include "log.h"
#include "proto.h"
#include "report.h"
#include "sshconfig.h"
#include "version.h"
#include "watchdog_client.h"

/* Status for failures of sshbox itself (not of the user's command). */
#define SHIM_FAILURE 255

struct rejoin_ctx {
	const char *socket;
	const char *session;
	int current; /* the session's watchdog connection now, -1 while there is none */
};

static int rejoin(void *ctx)
{
	struct rejoin_ctx *r = ctx;
	r->current = -1; /* the relay closed the old one */
	int wd = watchdog_rejoin(r->socket, r->session);
	r->current = wd;
	if (wd >= 0)
		log_info("session %s: re-registered with the restarted watchdog", r->session);
	return wd;
}

/* The "jump" verb: logs in like a normal session (same admission, same
 * count: the watchdog connection held open is the session), then joins
 * stdin/stdout to the container's sshd for the user's own ssh client. */
static int run_jump(int wd, struct rejoin_ctx *rctx, const struct proto_request *verb)
{
	struct err err = {0};
	if (verb->argc > 0) {
		fprintf(stderr, "sshbox: jump takes no arguments (got \"%s\")\n", verb->args[0]);
		return 2;
	}
	if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "sshbox: jump carries SSH for your own ssh client, not a terminal: "
		                "use it as a ProxyCommand (ssh -T USER@HOST jump); "
		                "'ssh USER@HOST config' prints one\n");
		return 2;
	}
	struct login_reply reply = {.sshd_fd = -1};
	if (watchdog_login(wd, rctx->session, &reply, &err) < 0) {
		log_warn("session %s: jump refused: %s", rctx->session, err.msg);
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return SHIM_FAILURE;
	}
	/* The user's own key or agent logs in on this path: drop the inner key. */
	struct jump_params p = {.sshd_fd = reply.sshd_fd,
	                        .watchdog_fd = wd,
	                        .session_id = rctx->session,
	                        .rejoin = rejoin,
	                        .rejoin_ctx = rctx};
	reply.sshd_fd = -1;
	login_reply_clear(&reply);
	struct jump_stats st = {0};
	if (jump_relay_run(&p, &st, &err) < 0) {
		log_err("session %s: jump: %s", rctx->session, err.msg);
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return SHIM_FAILURE;
	}
	log_info("session %s: jump ended: %llu bytes to the container, %llu from it", rctx->session,
	         st.up, st.down);
	report_end(rctx->current, rctx->session, 0, NULL, st.up, st.down);
	return 0;
}

/* The login reply said this session is recorded: the user is told before
 * anything else, then the terminal's bytes go to the watchdog. When the
 * recorder refuses (the user's space is full), the session goes on. */
static void start_recording(struct castsend *cast, const struct config *cfg, const char *session,
                            const struct login_reply *reply)
{
	struct err err = {0};
	fprintf(stderr, "sshbox: %s\r\n",
	        reply->notice ? reply->notice : "this session is recorded");
	if (castsend_open(cast, cfg->socket, session, strcmp(reply->record, "pty+input") == 0,
	                  &err) < 0) {
		log_warn("session %s: not recorded: %s", session, err.msg);
		fprintf(stderr, "sshbox: not recorded: %s\r\n", err.msg);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sshbox-shim [--config FILE] [--version]\n"
	           "       sshbox-shim -c COMMAND   (as an sshbox account's login shell)\n"
	           "Run by sshd as ForceCommand; the requested command is in "
	           "SSH_ORIGINAL_COMMAND.\n");
}

/* The same file as path (after links): the running program, or the
 * account's login shell (sshd started that; it may be a wrapper around us). */
static int is_us(const char *path)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *real = realpath(path, NULL);
	int ours = 0;
	if (real != NULL && n > 0) {
		self[n] = '\0';
		struct passwd *pw = getpwuid(getuid());
		char *shell = pw != NULL ? realpath(pw->pw_shell, NULL) : NULL;
		ours = strcmp(real, self) == 0 || (shell != NULL && strcmp(real, shell) == 0);
		free(shell);
	}
	free(real);
	return ours;
}

/* As the account's login shell, sshd runs us as "shim -c FORCED" where
 * FORCED is the drop-in's "exec SHIM --config FILE": then we become that
 * command. Any other -c COMMAND (or a login shell's bare start) means sshd
 * ran no ForceCommand: COMMAND is what the user asked for, and it still goes
 * into the container, never to a host shell. Returns 1 when FORCED was ours
 * (args rewritten in place), 0 when COMMAND is the user's. */
static int forced_invocation(const char *command, char **args, int max, char *buf, size_t size)
{
	if (strlen(command) >= size)
		return 0;
	strcpy(buf, command);
	int argc = 0;
	for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save)) {
		if (argc == max - 1)
			return 0;
		args[argc++] = w;
	}
	args[argc] = NULL;
	return argc >= 2 && strcmp(args[0], "exec") == 0 && is_us(args[1]) ? argc : 0;
}

int main(int argc, char **argv)
{
	const char *config_path = SSHBOX_DEFAULT_CONFIG;
	const char *command = getenv("SSH_ORIGINAL_COMMAND");
	int unforced = 0;
	static char forced_buf[8192];
	char *forced_args[16];
	if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		int n = forced_invocation(argv[2], forced_args, 16, forced_buf, sizeof(forced_buf));
		if (n > 0) {
			argc = n - 1; /* drop "exec": the rest is our own command line */
			argv = forced_args + 1;
		} else {
			command = argv[2];
			unforced = 1;
			argc = 1;
		}
	} else if (argv[0][0] == '-') { /* a login shell: a shell in the container */
		command = NULL;
		unforced = 1;
		argc = 1;
	}
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"version", no_argument, NULL, 'V'},
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
		case 'V':
			printf("sshbox-shim %s\n", SSHBOX_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_open("sshbox-shim", 0);
	/* No other process of the user's may read or steer this one: it holds
	 * the inner key and carries the session's recording. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	proto_wipe_json_memory();
	signal(SIGPIPE, SIG_IGN);

	uuid_t uu;
	char session[37];
	uuid_generate(uu);
	uuid_unparse_lower(uu, session);
	log_info("session %s: uid %u starts %s", session, (unsigned)getuid(),
	         command ? "a command" : "a shell");
	if (unforced)
		log_warn(
		    "session %s: uid %u: run as a login shell, not through sshd's ForceCommand "
		    "(is the sshbox drop-in missing, or the account outside the group?)",
		    session, (unsigned)getuid());

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
	int loaded = config_load(config_path, &cfg, &err) == 0;
	if (!loaded && unforced) {
		log_err("session %s: %s", session, err.msg);
		fprintf(stderr, "sshbox: sshd did not send this sshbox account into its container "
		                "(the sshbox drop-in is missing, or the account is outside the "
		                "sshbox group); tell your admin\n");
		return SHIM_FAILURE;
	}
	if (!loaded) {
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
	struct rejoin_ctx rctx = {.socket = cfg.socket, .session = session, .current = wd};
	watchdog_set_audit(report_outer(!is_verb                         ? report_kind(command)
	                                : strcmp(verb.verb, "jump") == 0 ? "jump"
	                                                                 : "verb",
	                                is_verb ? NULL : command));
	if (is_verb) {
		log_info("session %s: host verb \"%s\"", session, verb.verb);
		if (strcmp(verb.verb, "jump") == 0)
			return run_jump(wd, &rctx, &verb);
		if (strcmp(verb.verb, "config") == 0)
			return sshconfig_run(wd, session, &verb);
		return hostverb_run(wd, session, &verb);
	}
	struct login_reply reply = {.sshd_fd = -1};
	if (watchdog_login(wd, session, &reply, &err) < 0) {
		log_warn("session %s: login refused: %s", session, err.msg);
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return SHIM_FAILURE;
	}
	struct castsend cast = {.fd = -1};
	if (reply.record != NULL && isatty(STDIN_FILENO))
		start_recording(&cast, &cfg, session, &reply);
	struct inner_params p = {.fd = reply.sshd_fd,
	                         .pinned_hostkey = reply.hostkey,
	                         .private_key = reply.key,
	                         .command = command,
	                         .session_id = session,
	                         .watchdog_fd = wd,
	                         .rejoin = rejoin,
	                         .rejoin_ctx = &rctx,
	                         .cast = cast.fd >= 0 ? &cast : NULL};
	struct inner_result res = {.exit_status = SHIM_FAILURE};
	int rc = inner_session_run(&p, &res, &err);
	login_reply_clear(&reply);
	castsend_close(&cast);
	if (rc < 0) {
		log_err("session %s: %s", session, err.msg);
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return SHIM_FAILURE;
	}
	log_info("session %s: ended with %s %d", session, res.exit_signal ? "signal" : "status",
	         res.exit_signal ? res.exit_signal : res.exit_status);
	report_end(rctx.current, session, res.exit_status,
	           res.exit_signal ? res.exit_signal_name : NULL, res.bytes_in, res.bytes_out);
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
