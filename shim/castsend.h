/* The shim's half of session recording (recorder.h is the watchdog's): a
 * connection of its own to the watchdog that carries the terminal's output
 * (and input, when the mode says so) and its size changes as frames
 * (proto.h, PROTO_RECORD_MAX). It never holds up the session: a frame that
 * cannot go within a second ends the recording, with a notice. */
#ifndef SSHBOX_CASTSEND_H
#define SSHBOX_CASTSEND_H

#include <stddef.h>

#include "err.h"

struct castsend {
	int fd;            /* -1 when not (or no longer) recording */
	int input;         /* input is recorded too */
	char stopped[160]; /* why recording stopped, for the user, once */
};

/* Asks the watchdog to record this session (its login reply offered it),
 * with the outer terminal's size and TERM. */
int castsend_open(struct castsend *cs, const char *socket_path, const char *session_id, int input,
                  struct err *err);
/* Sends one event: 'o' output, 'i' input (dropped unless recorded), 'r'. */
void castsend_frame(struct castsend *cs, char type, const char *data, size_t len);
void castsend_resize(struct castsend *cs, int cols, int rows);
/* The watchdog spoke (its fd is readable): it stopped recording, say why. */
void castsend_readable(struct castsend *cs);
void castsend_close(struct castsend *cs);

#endif
