#include "admit.h"

#include <pthread.h>

/* Few distinct uids hold connections at once: a linear table is enough. */
#define SLOTS 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uid_t uid;
	int count;
} slots[SLOTS];
static int total;

int admit_take(uid_t uid)
{
	int rc = -1;
	pthread_mutex_lock(&lock);
	int free_slot = -1, found = -1;
	for (int i = 0; i < SLOTS && found < 0; i++) {
		if (slots[i].count > 0 && slots[i].uid == uid)
			found = i;
		else if (slots[i].count == 0 && free_slot < 0)
			free_slot = i;
	}
	int i = found >= 0 ? found : free_slot;
	if (i >= 0 && total < ADMIT_MAX_TOTAL && slots[i].count < ADMIT_MAX_PER_UID) {
		slots[i].uid = uid;
		slots[i].count++;
		total++;
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void admit_release(uid_t uid)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < SLOTS; i++) {
		if (slots[i].count > 0 && slots[i].uid == uid) {
			slots[i].count--;
			total--;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}
