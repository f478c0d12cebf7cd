/* Every watchdog thread starts here: detached, with a bounded stack, and with
 * every signal blocked, so SIGTERM and SIGHUP reach only the main thread's
 * self-pipe and never interrupt a worker in the middle of a system call. */
#ifndef SSHBOX_THREAD_H
#define SSHBOX_THREAD_H

#include <stddef.h>

#define THREAD_STACK_BYTES (512 * 1024)

/* 0 when the thread runs, else an errno value. */
int thread_spawn(void *(*fn)(void *), void *arg);

#endif
