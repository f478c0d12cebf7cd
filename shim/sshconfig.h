/* The "config" verb: a ready ~/.ssh/config block that reaches the user's
 * container through this host's sshd and the "jump" verb, with the
 * container's host key pinned under a HostKeyAlias. */
#ifndef SSHBOX_SSHCONFIG_H
#define SSHBOX_SSHCONFIG_H

#include <stdio.h>

#include "err.h"
#include "proto.h"

struct sshconfig {
	char user[64];   /* the account on this host */
	char host[256];  /* how the client reaches this host */
	int port;        /* this host's sshd port */
	char alias[128]; /* Host ALIAS in the client's config */
	int parts;       /* SSHCONFIG_* */
};

#define SSHCONFIG_BLOCK       1
#define SSHCONFIG_KNOWN_HOSTS 2

/* Fills ret from the verb's arguments, SSH_CONNECTION and the account.
 * -1 with err naming the bad argument. */
int sshconfig_parse(const struct proto_request *req, struct sshconfig *ret, struct err *err);

/* Writes the block and/or the known_hosts line for hostkey ("TYPE BASE64"). */
void sshconfig_print(FILE *f, const struct sshconfig *c, const char *hostkey);

/* The verb: asks the watchdog for the host key, prints; the exit status. */
int sshconfig_run(int wd, const char *session_id, const struct proto_request *req);

#endif
