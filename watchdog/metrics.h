/* Prometheus metrics of the watchdog (text exposition format 0.0.4): counters
 * bumped where things happen, gauges read from the shared state at each
 * scrape. Counters are atomics: bumping one never takes a lock or allocates.
 * No metric carries a user name (cardinality, and who is logged in is not
 * for whoever can reach the endpoint). Served by metricsd.c. */
#ifndef SSHBOX_METRICS_H
#define SSHBOX_METRICS_H

#include <stddef.h>

enum metrics_login_result {
	METRICS_LOGIN_OK,      /* a session began */
	METRICS_LOGIN_REFUSED, /* not an sshbox account, no or a bad record, too many connections */
	METRICS_LOGIN_FAILED,  /* the container could not be started or reached */
	METRICS_LOGIN_RESULTS
};

enum metrics_login_kind {
	METRICS_KIND_HOT,  /* the container was running */
	METRICS_KIND_WARM, /* it was stopped and started */
	METRICS_KIND_COLD, /* it was created */
	METRICS_KINDS
};

enum metrics_stop {
	METRICS_STOP_IDLE,     /* quiet for the grace period */
	METRICS_STOP_BUSY_MAX, /* busy, but idle_busy_max_hours reached */
	METRICS_STOP_STOPNOW,  /* stopnow inside the container */
	METRICS_STOPS
};

void metrics_login(enum metrics_login_result result);
void metrics_login_duration(enum metrics_login_kind kind, long long usec);
void metrics_stop(enum metrics_stop why);
void metrics_busy_kept(void); /* an idle stop was put off: the container was busy */
void metrics_verb(void);      /* a host verb was answered */
/* An engine call failed (transport, or a 5xx answer); op as engine.c names it. */
void metrics_engine_error(const char *op);

void metrics_started(void); /* at start, for sshbox_watchdog_start_time_seconds */

/* Renders the exposition into buf; returns its length, or -1 when it does
 * not fit. Allocates nothing. */
int metrics_render(char *buf, size_t size);

#endif
