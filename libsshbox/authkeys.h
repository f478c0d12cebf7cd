/* The outer public keys of a swarm user, from the container's
 * authorized_keys (the swarm config INSTANCE-authkeys-USER: the user's keys
 * plus sshbox's inner key), for sshd's AuthorizedKeysCommand. The inner
 * key's line is recognised by its key blob, taken from the inner private
 * key itself, never by its comment. Pure: no I/O, no logging. */
#ifndef SSHBOX_AUTHKEYS_H
#define SSHBOX_AUTHKEYS_H

#include <stddef.h>

#include "err.h"

/* Options on every key of the host account (createuser's authorized_keys,
 * sshbox-keys' lines): even with sshd's drop-in gone, the key opens no
 * forward, tunnel or ~/.ssh/rc on the host (the login shell, the shim,
 * keeps commands off it); terminals, agent and X11 stay, for the shim to
 * carry into the container. */
#define AUTHKEYS_HOST_OPTIONS "restrict,pty,agent-forwarding,X11-forwarding "

/* The public key blob of an OpenSSH private key (PEM "OPENSSH PRIVATE
 * KEY", stored unencrypted in its header), base64 as in a .pub line. */
int authkeys_public_blob(const char *private_pem, char *ret_b64, size_t size, struct err *err);

/* The lines of keys that hold a key other than inner_b64 (which is never
 * empty), as the host account's: AUTHKEYS_HOST_OPTIONS first, '\n' last;
 * comments and blank lines dropped. Returns how many lines were kept, or
 * -1 (the output does not fit). */
int authkeys_without(const char *keys, const char *inner_b64, char *ret_out, size_t size,
                     struct err *err);

#endif
