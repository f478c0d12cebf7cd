#include "hostverb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "watchdog_client.h"

static const char *const verbs[] = {"commit", "stop",   "remove", "port", "freeport", "hostkey",
                                    "jump",   "config", "status", "help", NULL};

static const char help_text[] =
    "sshbox host verbs (ssh HOST VERB):\n"
    "  commit          save your container as your image; a removed container is\n"
    "                  re-created from it\n"
    "  stop [--force]  stop your container (refused while other sessions are live)\n"
    "  remove [--force]\n"
    "                  delete your container; your home volume and image stay\n"
    "  status          whether your container runs, and why (sessions, daemon\n"
    "                  mode, busy) or when it stops\n"
    "  port            the 127.0.0.1 port of your container's sshd\n"
    "  hostkey         your container's host key as a known_hosts line\n"
    "  config [--name ALIAS] [--host NAME] [--port N] [--ssh-config|--known-hosts]\n"
    "                  a ~/.ssh/config block (Host USER-box) that reaches your\n"
    "                  container through this host with \"jump\", and the\n"
    "                  known_hosts line that pins its host key: then ssh -L/-R/-D,\n"
    "                  rsync, git and IDE remotes (VS Code) work in the container\n"
    "  jump            joins this session to your container's sshd, for your own\n"
    "                  ssh client (ProxyCommand ssh -T USER@HOST jump); you log\n"
    "                  in as root with your own key or agent\n"
    "  freeport        a TCP port on this host that is free now\n"
    "  help            this text\n"
    "Anything else runs in your container. Inside it: daemon, nodaemon, stopnow.\n";

int hostverb_parse(const char *command, struct proto_request *ret, struct err *err)
{
	if (command == NULL)
		return 0;
	struct proto_request req;
	memset(&req, 0, sizeof(req));
	req.op = PROTO_OP_VERB;
	const char *p = command;
	int word = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " \t");
		if (word == 0) {
			int known = 0;
			for (int i = 0; verbs[i]; i++)
				known |= strlen(verbs[i]) == n && strncmp(p, verbs[i], n) == 0;
			if (!known)
				return 0;
			memcpy(req.verb, p, n);
		} else {
			if (req.argc == PROTO_MAX_ARGS || n >= sizeof(req.args[0]))
				return err_set(err, E2BIG,
				               "too many or too long arguments for \"%s\"",
				               req.verb);
			/* JSON carries only UTF-8: such an argument would be dropped on
			 * the way, and "commit \xff" would run as plain "commit". */
			json_t *utf8 = json_stringn(p, n);
			if (utf8 == NULL)
				return err_set(err, EINVAL,
				               "argument %d of \"%s\" is not UTF-8 text",
				               req.argc + 1, req.verb);
			json_decref(utf8);
			memcpy(req.args[req.argc++], p, n);
		}
		word++;
		p += n;
	}
	if (word == 0)
		return 0;
	*ret = req;
	return 1;
}

json_t *hostverb_message(const char *session_id, const struct proto_request *req)
{
	json_t *args = json_array();
	for (int i = 0; i < req->argc; i++) {
		if (json_array_append_new(args, json_string(req->args[i])) < 0) {
			json_decref(args); /* never send a request short of an argument */
			return NULL;
		}
	}
	return json_pack("{s:i,s:s,s:s,s:s,s:o}", "v", PROTO_VERSION, "op", "verb", "session",
	                 session_id, "verb", req->verb, "args", args);
}

int hostverb_ask(int wd, const char *session_id, const struct proto_request *req,
                 json_t **ret_reply, struct err *err)
{
	/* commit can take minutes on a large container */
	if (watchdog_request(wd, hostverb_message(session_id, req), 20 * 60 * 1000, ret_reply, NULL,
	                     err) < 0)
		return err_wrap(err, "no answer from the sshbox watchdog");
	return 0;
}

int hostverb_run(int wd, const char *session_id, const struct proto_request *req)
{
	if (strcmp(req->verb, "help") == 0) {
		fputs(help_text, stdout);
		return 0;
	}
	struct err err = {0};
	json_t *reply = NULL;
	if (hostverb_ask(wd, session_id, req, &reply, &err) < 0) {
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return 255;
	}
	int status = 1;
	if (json_is_true(json_object_get(reply, "ok"))) {
		const char *out = json_string_value(json_object_get(reply, "output"));
		const char *errtext = json_string_value(json_object_get(reply, "error"));
		fputs(out ? out : "", stdout);
		fputs(errtext ? errtext : "", stderr);
		json_t *st = json_object_get(reply, "status");
		status = json_is_integer(st) ? (int)json_integer_value(st) : 1;
	} else {
		const char *m = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "sshbox: %s\n", m ? m : "refused");
	}
	json_decref(reply);
	fflush(stdout);
	return status;
}
