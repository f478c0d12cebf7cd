/* The instance's own bridge network, where containers cannot reach one
 * another (inter-container traffic off): created when missing, refused when
 * a network of that name exists without that setting or from elsewhere. */
#ifndef SSHBOX_NETWORK_H
#define SSHBOX_NETWORK_H

#include "config.h"
#include "engine.h"
#include "err.h"

/* Writes the network's name ("INSTANCE-net") into buf. */
int network_name(const struct config *cfg, char *buf, size_t size);
/* Makes sure the network exists and isolates its containers. */
int network_ensure(struct engine *e, const struct config *cfg, struct err *err);

#endif
