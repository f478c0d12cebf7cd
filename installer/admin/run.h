/* Running a helper program (useradd, ssh-keygen) without a shell. */
#ifndef SSHBOX_ADMIN_RUN_H
#define SSHBOX_ADMIN_RUN_H

#include "err.h"

/* Runs argv[0] (an absolute path) with argv; stdout is discarded, the first
 * line of stderr goes into the error when the exit status is not 0. */
int run_program(char *const argv[], struct err *err);

#endif
