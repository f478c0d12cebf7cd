/* What the engine knows, followed: at start (and whenever the event stream
 * reconnects) the watchdog adopts the instance's existing containers; then
 * it follows container events, so a container that exits by itself or is
 * stopped, started or removed behind its back is noticed. */
#ifndef SSHBOX_EVENTS_H
#define SSHBOX_EVENTS_H

#include "config.h"

/* Time given to shims to re-register after a watchdog restart before any
 * idle stop applies. */
#define REJOIN_GRACE_MS 10000

/* Lists the instance's containers; schedules idle stops for running ones
 * (after grace + extra_ms) and watches their users' flag dirs. */
void events_adopt(const struct config *cfg, long long extra_ms);
/* Starts the thread that follows engine events. */
int events_start(void);

#endif
