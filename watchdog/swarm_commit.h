/* The home node's commit of a user's task container, asked through the
 * mailbox (docs/design-cluster.md 3.7): on a thread of its own, so a commit
 * of minutes never holds up the poll thread (fences, idle stops, other
 * users' requests). One commit per user at a time; the answer is written to
 * the service's labels when it ends (swarm_mailbox_finish). While it runs,
 * that container is not stopped by the idle rule or stopnow, and a save or
 * removal of it (a stop --force meanwhile) waits for the commit to end. */
#ifndef SSHBOX_SWARM_COMMIT_H
#define SSHBOX_SWARM_COMMIT_H

#include <stddef.h>

/* Claims the user's commit slot for container and the request nonce: 0
 * claimed, 1 a commit of this user is already running (or answering), -1
 * no room on this node. */
int swarm_commit_claim(const char *user, const char *container, const char *nonce);
/* Gives a claimed slot back (the request was withdrawn before it was taken). */
void swarm_commit_release(const char *user);
/* Runs the claimed commit on its own thread: 0, or -1 (the caller answers
 * and releases). */
int swarm_commit_start(const char *user);
/* 1 while a commit of container runs on this node. */
int swarm_commit_busy(const char *container);
/* 1 while the request nonce of user is being served here (committing or
 * writing its answer). */
int swarm_commit_serving(const char *user, const char *nonce);
/* Waits until no commit of container runs, at most timeout_s: 0, or -1
 * when one still runs. */
int swarm_commit_wait(const char *container, int timeout_s);
/* The Comment a commit of request nonce gives its image ("sshbox commit
 * NONCE"): a watchdog that restarted meanwhile finds by it whether the
 * commit it lost completed in the engine. */
void swarm_commit_note(const char *nonce, char *buf, size_t size);

#endif
