/* The outer public keys of a swarm user, from the container's
 * authorized_keys (the swarm config INSTANCE-authkeys-USER: the user's keys
 * plus sshbox's inner key), for sshd's AuthorizedKeysCommand. The inner
 * key's line is recognised by its key blob, taken from the inner private
 * key itself, never by its comment. Pure: no I/O, no logging. */
#ifndef SSHBOX_AUTHKEYS_H
#define SSHBOX_AUTHKEYS_H

#include <stddef.h>

#include "err.h"

/* The public key blob of an OpenSSH private key (PEM "OPENSSH PRIVATE
 * KEY", stored unencrypted in its header), base64 as in a .pub line. */
int authkeys_public_blob(const char *private_pem, char *ret_b64, size_t size, struct err *err);

/* The lines of keys that hold a key other than inner_b64 (which is never
 * empty), each ending in '\n'; comments and blank lines dropped. Returns
 * how many lines were kept, or -1 (the output does not fit). */
int authkeys_without(const char *keys, const char *inner_b64, char *ret_out, size_t size,
                     struct err *err);

#endif
