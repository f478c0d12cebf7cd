/* The metrics endpoint: plain HTTP/1.0, GET /metrics only, on the address
 * of metrics_listen (a unix socket, mode 0600, or 127.0.0.1:PORT), served by
 * one thread of its own. At most METRICSD_MAX_CONNS scrapers at once, each
 * with a deadline for the whole exchange: a slow or stalled scraper costs a
 * slot for a few seconds, never a watchdog thread. With no scraper
 * connected the thread sleeps in poll() with no timeout. */
#ifndef SSHBOX_METRICSD_H
#define SSHBOX_METRICSD_H

#include "config.h"
#include "err.h"

#define METRICSD_MAX_CONNS   8
#define METRICSD_DEADLINE_MS 5000

/* Starts the thread, which binds cfg->metrics_listen (nothing when it is
 * empty; while the address is taken it retries, logging once). The address
 * is taken at start only: a change needs a restart. */
int metricsd_start(const struct config *cfg, struct err *err);

/* At exit: removes a metrics unix socket. */
void metricsd_stop(const struct config *cfg);

#endif
