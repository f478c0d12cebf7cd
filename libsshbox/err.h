/* Error objects: an errno-style code plus a message, wrapped with context on
 * the way up. Library code fills them and returns -1; only main() decides
 * what the user reads and the exit status. */
#ifndef SSHBOX_ERR_H
#define SSHBOX_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 1024

struct err {
	int code; /* errno value, or 0 when none applies */
	char msg[ERR_MSG_MAX];
};

/* Sets err (if not NULL) and returns -1. */
int err_set(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set, with strerror(code) appended: "msg: strerror". */
int err_sys(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes context to an existing message: "context: old". Returns -1. */
int err_wrap(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);

#if defined(__clang_analyzer__) && !defined(SSHBOX_ERR_IMPL)
/* clang-tidy's analyzer sees one file at a time: tell it that these return
 * -1, or it follows "failed, yet returned 0" paths that cannot happen. */
static inline int err_analyzer_failed(int rc)
{
	(void)rc;
	return -1;
}
#define err_set(...)  err_analyzer_failed(err_set(__VA_ARGS__))
#define err_sys(...)  err_analyzer_failed(err_sys(__VA_ARGS__))
#define err_wrap(...) err_analyzer_failed(err_wrap(__VA_ARGS__))
#endif

/* Cleanup helpers (crun style). */
void cleanup_freep(void *p);
void cleanup_closep(int *fd);
#define cleanup_free  __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))

#endif
