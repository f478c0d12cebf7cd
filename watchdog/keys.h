/* The "keys" request (proto.h): a swarm user's outer public keys for sshd's
 * AuthorizedKeysCommand on this node, from the cluster (the swarm config
 * INSTANCE-authkeys-USER without the inner key's line), so that no login
 * node needs a per-user step. Only root and the config's keys_user ask. */
#ifndef SSHBOX_WATCHDOG_KEYS_H
#define SSHBOX_WATCHDOG_KEYS_H

#include "config.h"
#include "conn.h"
#include "proto.h"

/* Answers c's request: {"ok":true,"keys":TEXT} or an error and no keys. */
void keys_serve(struct conn *c, const struct config *cfg, const struct proto_request *req);

#endif
