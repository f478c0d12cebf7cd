/* Admission of shim connections: a cap on all connections and one per uid,
 * so a user who opens connections and says nothing costs their own slots,
 * never everyone's. */
#ifndef SSHBOX_ADMIT_H
#define SSHBOX_ADMIT_H

#include <sys/types.h>

#define ADMIT_MAX_TOTAL   4096
#define ADMIT_MAX_PER_UID 128

/* 0 when admitted (pair with admit_release), -1 when over a cap. */
int admit_take(uid_t uid);
void admit_release(uid_t uid);

#endif
