/* sshbox-keys: sshd's AuthorizedKeysCommand in swarm mode. Prints the outer
 * public keys the cluster holds for USER (asked of this node's watchdog,
 * which alone may read the engine) and exits 0; else prints nothing, one
 * line on stderr and in syslog, and exits 1. sshd waits for it: the whole
 * run has a deadline.
 *   sshbox-keys [--config FILE] USER */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "names.h"
#include "proto.h"
#include "watchdog_client.h"

/* Above the watchdog's worst case (three swarm calls of 8 s), below
 * sshd's LoginGraceTime. */
#define KEYS_DEADLINE_S 30
#define KEYS_REPLY_MS   ((KEYS_DEADLINE_S - 2) * 1000)

static void fail(const char *user, const char *why)
{
	fprintf(stderr, "sshbox-keys: no keys for \"%.40s\": %s\n", user, why);
	syslog(LOG_AUTHPRIV | LOG_WARNING, "no keys for \"%.40s\": %s", user, why);
}

static void deadline(int sig)
{
	(void)sig;
	static const char msg[] = "sshbox-keys: the watchdog did not answer in time\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(1);
}

int main(int argc, char **argv)
{
	const char *conf = SSHBOX_DEFAULT_CONFIG;
	char sock[CONFIG_STR_MAX];
	struct err err = {0};
	openlog("sshbox-keys", LOG_PID, LOG_AUTHPRIV);
	if (argc == 4 && strcmp(argv[1], "--config") == 0)
		conf = argv[2];
	else if (argc != 2) {
		fprintf(stderr, "usage: sshbox-keys [--config FILE] USER\n");
		return 2;
	}
	const char *user = argv[argc - 1];
	if (strlen(user) > USER_NAME_MAX) {
		fail(user, "the name is longer than 32 characters");
		return 1;
	}
	if (!user_name_valid(user)) {
		fail(user, "not a valid sshbox user name");
		return 1;
	}
	signal(SIGALRM, deadline);
	alarm(KEYS_DEADLINE_S);
	if (config_socket_only(conf, sock, sizeof(sock)) < 0) {
		fail(user, "the config has no usable socket line");
		return 1;
	}
	int wd = watchdog_connect_within(sock, 5000, &err);
	json_t *reply = NULL;
	if (wd < 0 ||
	    watchdog_request(
	        wd, json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "keys", "user", user),
	        KEYS_REPLY_MS, &reply, NULL, &err) < 0) {
		fail(user, err.msg);
		if (wd >= 0)
			close(wd);
		return 1;
	}
	close(wd);
	const char *keys = json_string_value(json_object_get(reply, "keys"));
	if (!json_is_true(json_object_get(reply, "ok")) || keys == NULL) {
		const char *why = json_string_value(json_object_get(reply, "error"));
		fail(user, why ? why : "the watchdog's answer has no keys");
		json_decref(reply);
		return 1;
	}
	int rc = fputs(keys, stdout) < 0 || fflush(stdout) != 0 ? 1 : 0;
	if (rc)
		fail(user, "cannot write the keys");
	json_decref(reply);
	return rc;
}
