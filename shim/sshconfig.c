#include "sshconfig.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostverb.h"

/* What may go into the client's config unquoted: host names, IPv4 and IPv6
 * addresses, aliases. No space, '%' (a token there) or line break. */
static int word_ok(const char *s, const char *extra)
{
	if (*s == '\0' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '.' || *s == '-' || *s == '_' ||
		      strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

static int parse_port(const char *s, int *ret)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*ret = (int)v;
	return 0;
}

/* The address and port the client reached: SSH_CONNECTION is
 * "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT". */
static void defaults_from_connection(struct sshconfig *c)
{
	const char *conn = getenv("SSH_CONNECTION");
	char ip[256], port[16];
	snprintf(c->host, sizeof(c->host), "localhost");
	c->port = 22;
	if (conn != NULL && sscanf(conn, "%*s %*s %255s %15s", ip, port) == 2) {
		if (word_ok(ip, ":"))
			snprintf(c->host, sizeof(c->host), "%s", ip);
		parse_port(port, &c->port); /* keeps 22 when it is not a port */
	}
}

int sshconfig_parse(const struct proto_request *req, struct sshconfig *ret, struct err *err)
{
	struct sshconfig c;
	memset(&c, 0, sizeof(c));
	struct passwd *pw = getpwuid(getuid());
	if (pw == NULL)
		return err_set(err, ENOENT, "uid %u has no account", (unsigned)getuid());
	snprintf(c.user, sizeof(c.user), "%s", pw->pw_name);
	snprintf(c.alias, sizeof(c.alias), "%s-box", c.user);
	defaults_from_connection(&c);
	for (int i = 0; i < req->argc; i++) {
		const char *a = req->args[i];
		const char *v = i + 1 < req->argc ? req->args[i + 1] : NULL;
		if (strcmp(a, "--ssh-config") == 0) {
			c.parts |= SSHCONFIG_BLOCK;
		} else if (strcmp(a, "--known-hosts") == 0) {
			c.parts |= SSHCONFIG_KNOWN_HOSTS;
		} else if (strcmp(a, "--host") == 0 || strcmp(a, "--name") == 0 ||
		           strcmp(a, "--port") == 0) {
			if (v == NULL)
				return err_set(err, EINVAL, "config: \"%s\" needs a value", a);
			i++;
			if (strcmp(a, "--port") == 0 && parse_port(v, &c.port) < 0)
				return err_set(
				    err, EINVAL,
				    "config: --port \"%s\" is not a port number (1-65535)", v);
			if (strcmp(a, "--host") == 0) {
				if (!word_ok(v, ":") || strlen(v) >= sizeof(c.host))
					return err_set(
					    err, EINVAL,
					    "config: --host \"%s\" is not a host name or "
					    "address",
					    v);
				snprintf(c.host, sizeof(c.host), "%s", v);
			}
			if (strcmp(a, "--name") == 0) {
				if (!word_ok(v, "") || strlen(v) >= sizeof(c.alias))
					return err_set(
					    err, EINVAL,
					    "config: --name \"%s\" may hold only letters, "
					    "digits, '.', '-' and '_'",
					    v);
				snprintf(c.alias, sizeof(c.alias), "%s", v);
			}
		} else {
			return err_set(err, EINVAL,
			               "config: unknown option \"%s\" (--name, --host, --port, "
			               "--ssh-config, --known-hosts)",
			               a);
		}
	}
	if (c.parts == 0)
		c.parts = SSHCONFIG_BLOCK | SSHCONFIG_KNOWN_HOSTS;
	*ret = c;
	return 0;
}

void sshconfig_print(FILE *f, const struct sshconfig *c, const char *hostkey)
{
	/* The container's key is known under this name only: it never
	 * collides with the host's own key or another user's container. */
	char alias_key[512];
	snprintf(alias_key, sizeof(alias_key), "sshbox-%s-%s", c->user, c->host);
	/* AES-GCM first on both hops: cheaper than chacha20 where the CPU has
	 * AES instructions, and the outer hop only carries the inner one's
	 * ciphertext (measured: 512 MiB up 9.2 s -> 7.3 s). */
	static const char ciphers[] = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com";
	char proxy[512];
	snprintf(proxy, sizeof(proxy),
	         "ssh -T -a -x -o ClearAllForwardings=yes -c %s -p %d -l %s %s jump", ciphers,
	         c->port, c->user, c->host);
	if (c->parts & SSHCONFIG_BLOCK) {
		fprintf(
		    f,
		    "# sshbox: %s's container on %s, reached through its sshd (verb \"jump\").\n"
		    "# Forwards (-L/-R/-D), rsync, git and IDE remotes land in the container.\n"
		    "Host %s\n"
		    "\tHostName %s\n"
		    "\tUser root\n"
		    "\tProxyCommand %s\n"
		    "\tHostKeyAlias %s\n"
		    "\tStrictHostKeyChecking yes\n"
		    "\tCiphers %s\n",
		    c->user, c->host, c->alias, c->host, proxy, alias_key, ciphers);
	}
	if (c->parts == (SSHCONFIG_BLOCK | SSHCONFIG_KNOWN_HOSTS))
		fprintf(f,
		        "# Pin the container's host key once (a changed key is then refused):\n"
		        "#   ssh -p %d %s@%s config --known-hosts >> ~/.ssh/known_hosts\n"
		        "# which adds this line:\n"
		        "#   %s %s\n",
		        c->port, c->user, c->host, alias_key, hostkey);
	else if (c->parts & SSHCONFIG_KNOWN_HOSTS)
		fprintf(f, "%s %s\n", alias_key, hostkey);
}

/* "[127.0.0.1]:PORT TYPE BASE64" (the hostkey verb's line) -> "TYPE BASE64". */
static int key_from_line(const char *line, char *buf, size_t size)
{
	char type[64], b64[2048];
	if (line == NULL || sscanf(line, "%*s %63s %2047s", type, b64) != 2)
		return -1;
	snprintf(buf, size, "%s %s", type, b64);
	return 0;
}

int sshconfig_run(int wd, const char *session_id, const struct proto_request *req)
{
	struct err err = {0};
	struct sshconfig c;
	if (sshconfig_parse(req, &c, &err) < 0) {
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return 2;
	}
	struct proto_request ask;
	memset(&ask, 0, sizeof(ask));
	ask.op = PROTO_OP_VERB;
	snprintf(ask.verb, sizeof(ask.verb), "hostkey");
	json_t *reply = NULL;
	if (hostverb_ask(wd, session_id, &ask, &reply, &err) < 0) {
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return 255;
	}
	char key[2200];
	const char *out = json_string_value(json_object_get(reply, "output"));
	const char *error = json_string_value(json_object_get(reply, "error"));
	int status = 0;
	if (!json_is_true(json_object_get(reply, "ok")) ||
	    key_from_line(out, key, sizeof(key)) < 0) {
		fprintf(stderr, "%s", error && *error ? error : "sshbox: no host key to pin\n");
		status = 1;
	} else {
		sshconfig_print(stdout, &c, key);
	}
	json_decref(reply);
	fflush(stdout);
	return status;
}
