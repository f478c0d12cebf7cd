/* The accept loop, safe at the descriptor limit. One spare descriptor is
 * kept open; when accept fails with EMFILE or ENFILE the spare is given up
 * for a moment to accept the waiting connection and refuse it in one line.
 * Without it the listening socket stays readable with nothing done about
 * it: poll returns at once, forever (100% CPU, and every login hangs). */
#ifndef SSHBOX_ACCEPT_H
#define SSHBOX_ACCEPT_H

/* Opens the spare descriptor; 0, or -1 with errno. */
int accept_init(void);

/* Accepts what is waiting on the non-blocking listening socket ls and hands
 * it to server_spawn. Returns how many milliseconds the caller should leave
 * ls out of its poll (0: poll it again at once). */
int accept_pending(int ls);

#endif
