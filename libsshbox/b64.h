/* Base64 (RFC 4648, with padding): swarm configs and secrets carry their
 * data so in the Engine API. Pure. */
#ifndef SSHBOX_B64_H
#define SSHBOX_B64_H

#include <stddef.h>

#include "err.h"

/* Encodes len bytes into buf (NUL-terminated); -1 when it does not fit. */
int b64_encode(const void *data, size_t len, char *buf, size_t size, struct err *err);
/* Decodes text into buf, NUL-terminated; returns the length or -1. */
int b64_decode(const char *text, char *buf, size_t size, struct err *err);

#endif
