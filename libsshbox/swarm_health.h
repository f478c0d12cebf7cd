/* Is the swarm able to take lifecycle work right now (docs/design-cluster.md
 * 3.9)? Read from GET /info of this node's engine with a short deadline,
 * before any call that needs the managers: without a raft leader those calls
 * hang up to dockerd's own 20 s, while /info answers and says why.
 * Library code: it does not log. */
#ifndef SSHBOX_SWARM_HEALTH_H
#define SSHBOX_SWARM_HEALTH_H

#include <errno.h>

#include "engine.h"
#include "err.h"

/* err->code of the lines below: the message is the user's whole line. */
#define SWARM_ENOQUORUM ENOLINK  /* no leader, and most managers unreachable */
#define SWARM_ENOLEADER EDEADLK  /* no leader now, and it may come (an election) */
#define SWARM_ENOENGINE ENETDOWN /* this node's own engine does not answer */

/* Deadline of each swarm call (seconds): below dockerd's own 20 s. */
#define SWARM_CALL_TIMEOUT_S 8
/* Deadline of the /info check. */
#define SWARM_INFO_TIMEOUT_S 4

#define SWARM_MANAGERS_MAX 16

struct swarm_health {
	char node_id[80];                  /* this engine's swarm node id */
	char state[24];                    /* Swarm.LocalNodeState: active, inactive, ... */
	int manager;                       /* Swarm.ControlAvailable */
	int managers;                      /* Swarm.Managers (0 when /info could not count them) */
	char error[512];                   /* Swarm.Error, "" when none */
	int silent;                        /* /info timed out while the engine answers a ping */
	char addr[SWARM_MANAGERS_MAX][64]; /* Swarm.RemoteManagers: IP:PORT */
	int naddr;
	int reachable; /* of those, reachable (-1: not tried) */
};

/* GET /info. -1 with err (code SWARM_ENOENGINE, naming node, which may be
 * NULL or "" for "this node") when the engine does not answer. */
int swarm_health_read(struct engine *e, const char *node, struct swarm_health *ret,
                      struct err *err);

/* 0 when the swarm can serve lifecycle work; -1 with err: SWARM_ENOQUORUM
 * when the managers have no leader, ENOTCONN when this engine is not an
 * active manager. what: what cannot happen now, for the line. Pure. */
int swarm_health_check(const struct swarm_health *h, const char *what, struct err *err);

/* Both: 0 when the swarm can serve, -1 with err as above. Without a
 * leader it tries the managers' swarm ports (1 s): most unreachable is
 * SWARM_ENOQUORUM at once; otherwise (SWARM_ENOLEADER: a new leader is
 * elected 10-20 s after the old one's death) it asks again every second
 * for up to wait_s. */
int swarm_health_gate(struct engine *e, const char *node, const char *what, int wait_s,
                      struct err *err);

/* Either code of a swarm without a leader. */
static inline int swarm_leaderless(int code)
{
	return code == SWARM_ENOQUORUM || code == SWARM_ENOLEADER;
}

/* How long lifecycle work waits for a leader before the quorum line. */
#define SWARM_LEADER_WAIT_S 25

#endif
