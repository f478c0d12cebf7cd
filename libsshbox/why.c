#include "why.h"

#include <stdio.h>

void why_duration(long long s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%lld s", s);
	else if (s < 2 * 3600)
		snprintf(buf, size, "%lld min", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, size, "%lld h", s / 3600);
	else
		snprintf(buf, size, "%lld d", s / 86400);
}

void why_text(const struct why *w, char *buf, size_t size)
{
	char d[32];
	if (!w->found) {
		snprintf(buf, size, "no container");
		return;
	}
	if (!w->running) {
		snprintf(buf, size, "stopped");
		return;
	}
	if (!w->known) {
		snprintf(buf, size, "running (the watchdog did not answer)");
		return;
	}
	int n = w->shim + w->direct;
	if (n > 0) {
		snprintf(buf, size, "%d session%s (%d shim, %d direct)", n, n == 1 ? "" : "s",
		         w->shim, w->direct);
		return;
	}
	if (w->daemon) {
		snprintf(buf, size, "kept: daemon");
		return;
	}
	if (w->busy_tenths >= 0) {
		why_duration(w->busy_left, d, sizeof(d));
		snprintf(buf, size, "busy: %d%% CPU (stops when quiet, at the latest in %s)",
		         (w->busy_tenths + 5) / 10, d);
		return;
	}
	if (w->stop_in >= 0) {
		why_duration(w->stop_in, d, sizeof(d));
		snprintf(buf, size, "stopping in %s", d);
		return;
	}
	snprintf(buf, size, "running, no stop pending");
}
