#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asciicast.h"
#include "audit.h"
#include "clock.h"
#include "log.h"

#define OFFERS_MAX     256
#define FRAME_WAIT_MS  10000 /* for the rest of a frame once it began */
#define NOTICE_WAIT_MS 2000

static pthread_mutex_t offers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char user[USER_NAME_MAX + 1];
	char session[PROTO_SESSION_LEN + 1];
} offers[OFFERS_MAX];

int recorder_mode(const struct config *cfg, const struct user_record *rec)
{
	return rec->record != RECORD_DEFAULT ? rec->record : cfg->record;
}

int recorder_offer(const char *user, const char *session)
{
	int rc = -1;
	pthread_mutex_lock(&offers_lock);
	for (int i = 0; i < OFFERS_MAX && rc < 0; i++)
		if (offers[i].session[0] == '\0') {
			snprintf(offers[i].user, sizeof(offers[i].user), "%s", user);
			snprintf(offers[i].session, sizeof(offers[i].session), "%s", session);
			rc = 0;
		}
	pthread_mutex_unlock(&offers_lock);
	return rc;
}

/* Takes the offer: 1 when this user's session had one. */
static int claim(const char *user, const char *session)
{
	int found = 0;
	pthread_mutex_lock(&offers_lock);
	for (int i = 0; i < OFFERS_MAX && !found; i++)
		if (strcmp(offers[i].session, session) == 0 && strcmp(offers[i].user, user) == 0) {
			offers[i].session[0] = '\0';
			found = 1;
		}
	pthread_mutex_unlock(&offers_lock);
	return found;
}

int recorder_forget(const char *session)
{
	int found = 0;
	pthread_mutex_lock(&offers_lock);
	for (int i = 0; i < OFFERS_MAX; i++)
		if (strcmp(offers[i].session, session) == 0) {
			offers[i].session[0] = '\0';
			found = 1;
		}
	pthread_mutex_unlock(&offers_lock);
	return found;
}

/* Bytes the user's recordings take already (regular files only). */
static long long used_bytes(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	long long sum = 0;
	struct dirent *de;
	struct stat st;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			sum += st.st_size;
	closedir(d);
	return sum;
}

/* users/NAME/recordings, root 0700, opened without following links. */
static int open_dir(const struct config *cfg, const char *user, struct err *err)
{
	char path[512];
	if (user_path(cfg, user, "recordings", path, sizeof(path)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path too long");
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", path);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, errno, "cannot open %s", path);
	return dfd;
}

/* Reads len bytes. patient: the first may take as long as the session
 * lasts; once a frame began, the rest comes within FRAME_WAIT_MS. */
static int read_full(int fd, unsigned char *buf, size_t len, int patient)
{
	size_t off = 0;
	long long deadline = mono_ms() + FRAME_WAIT_MS;
	while (off < len) {
		int forever = patient && off == 0;
		long long left = deadline - mono_ms();
		if (!forever && left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, forever ? -1 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		ssize_t r = read(fd, buf + off, len - off);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		if (forever)
			deadline = mono_ms() + FRAME_WAIT_MS;
		off += (size_t)r;
	}
	return 0;
}

struct recording {
	int fd;
	long long written, budget;
	long long began_ms;
	int input;
	struct cast_stream out, in;
	char *line;
};

/* One frame into the file. 1 when the cap is reached (nothing written). */
static int record_frame(struct recording *r, unsigned char type, const unsigned char *data,
                        size_t len)
{
	double t = (double)(mono_ms() - r->began_ms) / 1000.0;
	size_t n;
	if (type == 'r') {
		char size[32];
		long w = 0, h = 0;
		snprintf(size, sizeof(size), "%.*s", (int)(len < 31 ? len : 31),
		         (const char *)data);
		char *x = strchr(size, 'x');
		if (x == NULL)
			return 0;
		*x = '\0';
		if (parse_long(size, 1, 10000, &w) < 0 || parse_long(x + 1, 1, 10000, &h) < 0)
			return 0; /* not a size: left out */
		snprintf(size, sizeof(size), "%ldx%ld", w, h);
		struct cast_stream none = {0};
		n = asciicast_event(r->line, t, 'r', &none, size, strlen(size));
	} else if (type == 'o' || (type == 'i' && r->input)) {
		n = asciicast_event(r->line, t, (char)type, type == 'o' ? &r->out : &r->in,
		                    (const char *)data, len);
	} else {
		return 0; /* input when only output is recorded: dropped here */
	}
	if (r->written + (long long)n > r->budget)
		return 1;
	if (write(r->fd, r->line, n) != (ssize_t)n)
		return -1;
	r->written += (long long)n;
	return 0;
}

static void tell(struct conn *c, const char *text)
{
	json_t *m = json_pack("{s:i,s:s,s:s}", "v", PROTO_VERSION, "op", "notice", "message", text);
	proto_send(c->fd, m, -1, NOTICE_WAIT_MS, NULL);
	json_decref(m);
}

static void reply(struct conn *c, json_t *r)
{
	proto_send(c->fd, r, -1, NOTICE_WAIT_MS, NULL);
	json_decref(r);
}

void recorder_run(struct conn *c, const struct config *cfg, const struct user_record *rec,
                  const struct proto_request *req)
{
	struct err err = {0};
	int mode = recorder_mode(cfg, rec);
	if (mode == RECORD_NONE || !claim(c->user, req->session)) {
		log_warn("user \"%s\" uid %u session %s: refused: a recording nobody asked for",
		         c->user, (unsigned)c->uid, req->session);
		reply(c, proto_error_reply("this session is not being recorded"));
		return;
	}
	char name[PROTO_SESSION_LEN + 8];
	snprintf(name, sizeof(name), "%s.cast", req->session);
	struct recording r = {.fd = -1, .input = mode == RECORD_PTY_INPUT, .began_ms = mono_ms()};
	int dfd = open_dir(cfg, c->user, &err);
	if (dfd >= 0) {
		r.budget = cfg->record_max_bytes - used_bytes(dfd);
		r.fd =
		    openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (r.fd < 0)
			err_sys(&err, errno, "cannot create %s", name);
	}
	r.line = malloc(ASCIICAST_LINE_MAX(PROTO_RECORD_MAX));
	unsigned char *data = malloc(PROTO_RECORD_MAX);
	char head[256];
	size_t hn = asciicast_header(head, sizeof(head), req->width, req->height,
	                             (long long)time(NULL), req->term);
	if (r.fd < 0 || r.line == NULL || data == NULL || r.budget < (long long)hn ||
	    write(r.fd, head, hn) != (ssize_t)hn) {
		const char *why = r.fd < 0 || r.line == NULL || data == NULL
		                      ? err.msg
		                      : "the user's cap is reached";
		log_err("user \"%s\" uid %u session %s: not recorded: %s", c->user,
		        (unsigned)c->uid, req->session, why[0] ? why : "out of memory");
		audit_event("recording_refused", c->user, c->uid, req->session,
		            json_pack("{s:s}", "reason", why[0] ? why : "out of memory"));
		reply(c, proto_error_reply(r.budget < (long long)hn ? "your recording space is full"
		                                                    : "cannot record"));
		if (r.fd >= 0) /* no empty recording left behind */
			unlinkat(dfd, name, 0);
		goto out;
	}
	r.written = (long long)hn;
	reply(c, json_pack("{s:b}", "ok", 1));
	audit_event("recording_start", c->user, c->uid, req->session,
	            json_pack("{s:s,s:s}", "mode", record_mode_name(mode), "file", name));
	const char *ended = "session ended";
	for (;;) {
		unsigned char hdr[4];
		if (read_full(c->fd, hdr, 4, 1) < 0)
			break;
		size_t len = ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
		if (len > PROTO_RECORD_MAX || read_full(c->fd, data, len, 0) < 0) {
			ended = "bad frame";
			break;
		}
		int full = record_frame(&r, hdr[0], data, len);
		if (full != 0) {
			ended = full > 0 ? "cap reached" : "write failed";
			tell(c, full > 0 ? "recording stopped: this user's recording space is full "
			                   "(the session goes on)"
			                 : "recording stopped: it cannot be written (the session "
			                   "goes on)");
			break;
		}
	}
	log_info("user \"%s\" uid %u session %s: recording ended (%s, %lld bytes)", c->user,
	         (unsigned)c->uid, req->session, ended, r.written);
	audit_event("recording_end", c->user, c->uid, req->session,
	            json_pack("{s:s,s:s,s:I}", "file", name, "reason", ended, "bytes",
	                      (json_int_t)r.written));
out:
	if (dfd >= 0)
		close(dfd);
	if (r.fd >= 0)
		close(r.fd);
	free(r.line);
	free(data);
}
