#include "report.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditmsg.h"
#include "command.h"
#include "proto.h"
#include "utf8.h"

const char *report_kind(const char *command)
{
	switch (command_classify(command)) {
	case COMMAND_SHELL:
		return "shell";
	case COMMAND_SFTP:
		return "sftp";
	case COMMAND_EXEC:
		break;
	}
	return strncmp(command, "scp ", 4) == 0 ? "scp" : "exec";
}

static int sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* "ADDR PORT ..." from sshd: the client's address and port. */
static int client_of(char *addr, size_t size, long *port)
{
	const char *env = getenv("SSH_CONNECTION");
	if (env == NULL)
		env = getenv("SSH_CLIENT");
	if (env == NULL)
		return -1;
	size_t n = strcspn(env, " ");
	if (n == 0 || n >= size || env[n] != ' ')
		return -1;
	memcpy(addr, env, n);
	addr[n] = '\0';
	char *end = NULL;
	*port = strtol(env + n + 1, &end, 10);
	return end != env + n + 1 && (*end == ' ' || *end == '\0') ? 0 : -1;
}

json_t *report_outer(const char *kind, const char *command)
{
	char addr[AUDIT_ADDR_MAX], sum[65] = "";
	static char prefix[AUDIT_COMMAND_MAX + 1];
	long port = 0;
	if (client_of(addr, sizeof(addr), &port) < 0)
		return NULL;
	size_t len = command != NULL ? strlen(command) : 0;
	if (sha256_hex(command != NULL ? command : "", len, sum) < 0)
		return NULL;
	utf8_prefix(command != NULL ? command : "", len, AUDIT_COMMAND_MAX, prefix);
	return json_pack("{s:s,s:s,s:I,s:s,s:I,s:s}", "kind", kind, "client", addr, "port",
	                 (json_int_t)port, "command", prefix, "command_bytes", (json_int_t)len,
	                 "command_sha256", sum);
}

void report_end(int wd, const char *session_id, int status, const char *signal,
                unsigned long long bytes_in, unsigned long long bytes_out)
{
	if (wd < 0)
		return;
	json_t *m = json_pack("{s:i,s:s,s:s,s:I,s:I}", "v", PROTO_VERSION, "op", "end", "session",
	                      session_id, "bytes_in", (json_int_t)bytes_in, "bytes_out",
	                      (json_int_t)bytes_out);
	if (m == NULL)
		return;
	if (signal != NULL && signal[0] != '\0')
		json_object_set_new(m, "signal", json_string(signal));
	else
		json_object_set_new(m, "status", json_integer(status & 255));
	proto_send(wd, m, -1, 2000, NULL);
	json_decref(m);
}
