/* Which container engine serves the API: Docker, or Podman's compatible
 * service. Asked once per process and engine address (GET /version), so
 * callers may ask before every request that differs. Library code: it does
 * not log. */
#ifndef SSHBOX_ENGINEKIND_H
#define SSHBOX_ENGINEKIND_H

#include "engine.h"

enum engine_kind {
	ENGINE_KIND_DOCKER = 0,
	ENGINE_KIND_PODMAN = 1,
};

/* The kind (>= 0), or -1 when the engine does not answer /version. */
int engine_kind(struct engine *e, struct err *err);

/* The kind from a /version answer. Pure: exposed for tests. */
enum engine_kind engine_kind_of_version(json_t *version);

const char *engine_kind_name(enum engine_kind kind);

#endif
