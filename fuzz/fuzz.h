/* Shared by the libFuzzer harnesses: an invariant that fails aborts, which
 * libFuzzer reports as a crash with the input that caused it. */
#ifndef SSHBOX_FUZZ_H
#define SSHBOX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated string field or message. */
#define FUZZ_CHECK_STR(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
