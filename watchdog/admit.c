#include "admit.h"

#include <pthread.h>
#include <sys/resource.h>

/* Few distinct uids hold connections at once: a linear table is enough. */
#define SLOTS 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uid_t uid;
	int count;
} slots[SLOTS];
static int total;

struct admit_caps admit_caps_for(long long nofile)
{
	/* An eighth of a large limit stays free: logins in flight each hold a
	 * few descriptors more than the connection itself. */
	long long headroom = ADMIT_HEADROOM_MIN + nofile / 8;
	long long cap = nofile - headroom;
	if (cap < 1)
		cap = 1;
	if (cap > 1 << 20)
		cap = 1 << 20;
	struct admit_caps c = {.total = (int)cap, .per_uid = ADMIT_MAX_PER_UID};
	if (c.per_uid > c.total)
		c.per_uid = c.total;
	return c;
}

long long admit_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur != rl.rlim_max) {
		struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : (long long)rl.rlim_cur;
}

/* Read at every admission, so a limit changed from outside (prlimit) is
 * followed at once: one system call per connection. */
static struct admit_caps current_caps(void)
{
	struct rlimit rl;
	long long nofile = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		nofile = rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : (long long)rl.rlim_cur;
	return admit_caps_for(nofile);
}

int admit_take(uid_t uid)
{
	int rc = -1;
	struct admit_caps caps = current_caps();
	pthread_mutex_lock(&lock);
	int free_slot = -1, found = -1;
	for (int i = 0; i < SLOTS && found < 0; i++) {
		if (slots[i].count > 0 && slots[i].uid == uid)
			found = i;
		else if (slots[i].count == 0 && free_slot < 0)
			free_slot = i;
	}
	int i = found >= 0 ? found : free_slot;
	if (i >= 0 && total < caps.total && slots[i].count < caps.per_uid) {
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
