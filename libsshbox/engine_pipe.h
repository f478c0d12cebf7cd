/* One engine request's answer streamed into another's body (a container's
 * export into an image import): a root filesystem can be gigabytes, so it
 * passes through a bounded buffer, never whole through memory. Library
 * code: it does not log. */
#ifndef SSHBOX_ENGINE_PIPE_H
#define SSHBOX_ENGINE_PIPE_H

#include <stddef.h>

#include "engine.h"
#include "err.h"

/* GET from_path, its answer as the body (Content-Type body_type, chunked)
 * of POST to_path, both on e's engine, together within timeout_s. The
 * source must answer 200 and end cleanly, or the POST is aborted before
 * its body ends (the engine then takes nothing) and -1 is returned with
 * the source's status or transport error. Else 0: *ret_status and
 * *ret_answer (malloc'd, NUL-terminated, may be NULL) / *ret_len are the
 * POST's, *ret_bytes how many bytes went through. */
int engine_pipe(struct engine *e, const char *from_path, const char *to_path, const char *body_type,
                long timeout_s, long *ret_status, char **ret_answer, size_t *ret_len,
                long long *ret_bytes, struct err *err);

#endif
