#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int copy_to_stderr;
static const char *log_ident = "sshbox";

void log_open(const char *ident, int to_stderr)
{
	log_ident = ident;
	copy_to_stderr = to_stderr;
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(prio, "%s", line);
	if (copy_to_stderr) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%d]: %s\n", tm.tm_hour, tm.tm_min,
		        tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(), line);
	}
}
