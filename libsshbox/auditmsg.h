/* What the shim tells the watchdog about a session for the audit log, and
 * how the watchdog checks it. The shim runs as the user: every field is a
 * claim, checked here field by field; the user and uid never come from it
 * (SO_PEERCRED does). Pure parsing, no I/O: exposed for the fuzz harness.
 *
 * On "login" and "verb" requests, an optional member
 *   "audit": {"kind":"shell|exec|sftp|scp|verb|jump",
 *             "client":"ADDRESS", "port":N,
 *             "command":FIRST_4_KIB, "command_bytes":N, "command_sha256":HEX}
 * and, on a live session's connection before it closes, the request
 *   {"v":1,"op":"end","session":UUID,"status":N | "signal":"NAME",
 *    "bytes_in":N,"bytes_out":N}
 */
#ifndef SSHBOX_AUDITMSG_H
#define SSHBOX_AUDITMSG_H

#include <jansson.h>

#include "err.h"

#define AUDIT_COMMAND_MAX 4096 /* bytes of the command kept in the log */
#define AUDIT_ADDR_MAX    46   /* INET6_ADDRSTRLEN */
#define AUDIT_SIGNAL_MAX  16

struct audit_info {
	char kind[8];
	char client[AUDIT_ADDR_MAX];
	int port;
	char command[AUDIT_COMMAND_MAX + 1];
	long long command_bytes;
	char command_sha256[65];
};

struct audit_end {
	int status; /* -1 when the command died of a signal or nothing came */
	char signal[AUDIT_SIGNAL_MAX];
	unsigned long long bytes_in, bytes_out;
};

/* Checks an "audit" member. On a bad field err names it. */
int auditmsg_parse_info(const json_t *audit, struct audit_info *ret_info, struct err *err);
/* Checks an "end" request's fields (v, op and session are proto.c's). */
int auditmsg_parse_end(const json_t *msg, struct audit_end *ret_end, struct err *err);

#endif
