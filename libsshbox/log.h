/* Logging to syslog (and stderr when it is a terminal or when asked).
 * Lines are lowercase, name the user and uid, and quote user values. */
#ifndef SSHBOX_LOG_H
#define SSHBOX_LOG_H

#include <syslog.h>

/* ident: program name; to_stderr: also copy every line to stderr. */
void log_open(const char *ident, int to_stderr);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
