/* Processes addressed by pidfd. A pid read from the engine names whatever
 * process has that number when it is used; a pidfd names one process for
 * good. The engine's pid is turned into a pidfd at once and checked to be
 * the container's init, and every later setns or signal goes through it. */
#ifndef SSHBOX_PIDFD_H
#define SSHBOX_PIDFD_H

#include <sys/types.h>

#include "err.h"

/* A pidfd (CLOEXEC) for the init process pid of the container whose full
 * engine id is container_id: the process is checked to sit in that
 * container's cgroup, and to have been alive throughout the check. */
int pidfd_of_container(pid_t pid, const char *container_id, struct err *err);

/* The start of /proc/PID/NAME (at most size - 1 bytes, NUL-terminated):
 * the byte count, or -1. For checks that a pidfd then confirms. */
ssize_t pidfd_proc_read(pid_t pid, const char *name, char *buf, size_t size);

/* 1 while the process of pidfd has not exited. */
int pidfd_alive(int pidfd);

#endif
