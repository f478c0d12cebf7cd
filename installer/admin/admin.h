/* The admin CLI's commands. Each returns 0, or -1 with err naming the bad
 * thing; main() prints it and picks the exit status. */
#ifndef SSHBOX_ADMIN_H
#define SSHBOX_ADMIN_H

#include "config.h"
#include "err.h"

int cmd_createuser(const struct config *cfg, int argc, char **argv, struct err *err);
int cmd_list(const struct config *cfg, int argc, char **argv, struct err *err);

#endif
