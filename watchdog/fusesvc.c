#include "fusesvc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusedir.h"
#include "fusemount.h"
#include "fusepeer.h"
#include "fuseproto.h"
#include "log.h"
#include "names.h"
#include "proto.h"
#include "record.h"
#include "session.h"

#define FUSE_TIMEOUT_MS   10000
#define FUSE_CONNS_MAX    8  /* per user, at once */
#define FUSE_MOUNTS_MAX   64 /* per user, made by this service and still recorded */
#define FUSE_THREAD_STACK (256 * 1024)

/* A mount this service made: in which mount namespace, with which id. */
struct made {
	dev_t ns_dev;
	ino_t ns_ino;
	uint64_t mnt_id;
	char path[FUSE_PATH_MAX];
};

struct fuse_user {
	char name[USER_NAME_MAX + 1];
	int listen_fd;        /* -1 = not served */
	pthread_mutex_t work; /* one mount or unmount of this user at a time */
	int nconns;           /* guarded by table_lock */
	int nmade;            /* guarded by work */
	struct made made[FUSE_MOUNTS_MAX];
	struct fuse_user *next;
};

struct fuse_conn {
	struct fuse_user *u;
	int fd;
	struct fuse_peer peer;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fuse_user *table;

static struct fuse_user *fuse_user_get(const char *name)
{
	pthread_mutex_lock(&table_lock);
	struct fuse_user *u = table;
	while (u != NULL && strcmp(u->name, name) != 0)
		u = u->next;
	if (u == NULL && (u = calloc(1, sizeof(*u))) != NULL) {
		snprintf(u->name, sizeof(u->name), "%s", name);
		u->listen_fd = -1;
		pthread_mutex_init(&u->work, NULL);
		u->next = table;
		table = u;
	}
	pthread_mutex_unlock(&table_lock);
	return u;
}

int fusesvc_bind(const struct config *cfg, const char *user, char *buf, size_t size)
{
	char dir[512];
	if (user_path(cfg, user, "fuse", dir, sizeof(dir)) < 0)
		return -1;
	int n = snprintf(buf, size, "%s:" FUSE_SOCKET_DIR ":ro", dir);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void *listener(void *arg);

/* Prepares the dir and starts the listener unless one runs (serve_lock
 * held: two first requests at once must not both bind and start one). */
static pthread_mutex_t serve_lock = PTHREAD_MUTEX_INITIALIZER;

static int serve_user_locked(const struct config *cfg, const char *user, int refresh_client,
                             struct err *err)
{
	char dir[512];
	struct fuse_user *u = fuse_user_get(user);
	if (u == NULL)
		return err_set(err, ENOMEM, "out of memory");
	if (user_path(cfg, user, "fuse", dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (fusedir_prepare(dir, refresh_client, err) < 0)
		return -1;
	pthread_mutex_lock(&table_lock);
	int serving = u->listen_fd >= 0;
	pthread_mutex_unlock(&table_lock);
	if (serving)
		return 0;
	int s = fusedir_listen(dir, err);
	if (s < 0)
		return -1;
	pthread_mutex_lock(&table_lock);
	u->listen_fd = s;
	pthread_mutex_unlock(&table_lock);
	pthread_t t;
	if (pthread_create(&t, NULL, listener, u) != 0) {
		pthread_mutex_lock(&table_lock);
		u->listen_fd = -1;
		pthread_mutex_unlock(&table_lock);
		close(s);
		return err_set(err, EAGAIN, "cannot start the FUSE listener");
	}
	pthread_detach(t);
	log_info("user \"%s\": fuse: serving %s/sock", user, dir);
	return 0;
}

static int serve_user(const struct config *cfg, const char *user, int refresh_client,
                      struct err *err)
{
	pthread_mutex_lock(&serve_lock);
	int rc = serve_user_locked(cfg, user, refresh_client, err);
	pthread_mutex_unlock(&serve_lock);
	return rc;
}

int fusesvc_prepare(const struct config *cfg, const char *user, struct err *err)
{
	if (serve_user(cfg, user, 1, err) < 0)
		return err_wrap(err, "FUSE for user \"%s\"", user);
	return 0;
}

void fusesvc_watch(const struct config *cfg, const char *user)
{
	struct user_record rec;
	struct err err = {0};
	struct fuse_user *u = fuse_user_get(user);
	if (u == NULL)
		return;
	pthread_mutex_lock(&table_lock);
	int serving = u->listen_fd >= 0;
	pthread_mutex_unlock(&table_lock);
	if (serving || record_load(cfg, user, &rec, &err) < 0 || !rec.fuse)
		return;
	if (serve_user(cfg, user, 0, &err) < 0)
		log_warn("user \"%s\": fuse: cannot serve: %s", user, err.msg);
}

/* The user has one container: what was made in any other mount namespace
 * went with that namespace. */
static void prune_made(struct fuse_user *u, const struct stat *ns)
{
	for (int i = u->nmade - 1; i >= 0; i--)
		if (u->made[i].ns_dev != ns->st_dev || u->made[i].ns_ino != ns->st_ino)
			u->made[i] = u->made[--u->nmade];
}

static int find_made(struct fuse_user *u, const struct stat *ns, const char *path)
{
	for (int i = u->nmade - 1; i >= 0; i--)
		if (u->made[i].ns_dev == ns->st_dev && u->made[i].ns_ino == ns->st_ino &&
		    strcmp(u->made[i].path, path) == 0)
			return i;
	return -1;
}

/* Mounts; on success *ret_fd is the connection's /dev/fuse descriptor. */
static int do_mount(struct fuse_user *u, const struct fusemount_target *t, const struct stat *ns,
                    const struct fuse_request *req, int *ret_fd, struct err *err)
{
	if (u->nmade >= FUSE_MOUNTS_MAX)
		return err_set(err, EMFILE, "%d FUSE mounts already; unmount some first",
		               FUSE_MOUNTS_MAX);
	int fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0)
		return err_sys(err, errno, "cannot open /dev/fuse on the host");
	uint64_t id = 0;
	if (fusemount_mount(t, req->path, req->subtype, fuse_fd, FUSE_TIMEOUT_MS, &id, err) < 0) {
		close(fuse_fd);
		return -1;
	}
	struct made *m = &u->made[u->nmade++];
	m->ns_dev = ns->st_dev;
	m->ns_ino = ns->st_ino;
	m->mnt_id = id;
	snprintf(m->path, sizeof(m->path), "%s", req->path);
	*ret_fd = fuse_fd;
	return 0;
}

static int do_umount(struct fuse_user *u, const struct fusemount_target *t, const struct stat *ns,
                     const char *path, struct err *err)
{
	int i = find_made(u, ns, path);
	if (i < 0)
		return err_set(err, ENOENT,
		               "\"%s\" is not a FUSE mount that sshbox made in this container",
		               path);
	int rc = fusemount_umount(t, path, u->made[i].mnt_id, FUSE_TIMEOUT_MS, err);
	/* Forgotten once gone, or when another mount or nothing is there now;
	 * kept for another try after any other failure. */
	if (rc == 0 || err->code == EPERM || err->code == ENOENT)
		u->made[i] = u->made[--u->nmade];
	return rc;
}

static void reply(int fd, json_t *r, int pass_fd)
{
	if (r != NULL)
		proto_send(fd, r, pass_fd, FUSE_TIMEOUT_MS, NULL);
	json_decref(r);
}

static void serve_conn(struct fuse_conn *c)
{
	struct err err = {0};
	struct config cfg;
	struct user_record rec;
	struct fuse_request req;
	json_t *msg = NULL;
	const char *who = c->u->name;

	if (proto_recv(c->fd, FUSE_TIMEOUT_MS, &msg, NULL, &err) < 0 ||
	    fuse_parse_request(msg, &req, &err) < 0) {
		json_decref(msg);
		log_warn("user \"%s\": fuse: pid %d uid %u: bad request: %s", who, (int)c->peer.pid,
		         (unsigned)c->peer.uid, err.msg);
		char text[ERR_MSG_MAX + 16];
		snprintf(text, sizeof(text), "bad request: %s", err.msg);
		reply(c->fd, proto_error_reply(text), -1);
		return;
	}
	json_decref(msg);
	state_config_get(&cfg);
	if (record_load(&cfg, who, &rec, &err) < 0 || !rec.fuse) {
		log_warn("user \"%s\": fuse: pid %d: refused: FUSE is not enabled", who,
		         (int)c->peer.pid);
		reply(c->fd, proto_error_reply("FUSE is not enabled for this user; ask the admin"),
		      -1);
		return;
	}
	struct fusemount_target t = {-1, -1};
	struct stat ns;
	memset(&ns, 0, sizeof(ns));
	if (fusepeer_check(who, &c->peer, &t, &ns, &err) < 0) {
		log_warn("user \"%s\": fuse: pid %d uid %u: refused: %s", who, (int)c->peer.pid,
		         (unsigned)c->peer.uid, err.msg);
		reply(c->fd, proto_error_reply(err.msg), -1);
		return;
	}
	int fuse_fd = -1, rc;
	pthread_mutex_lock(&c->u->work);
	prune_made(c->u, &ns);
	if (req.op == FUSE_OP_MOUNT)
		rc = do_mount(c->u, &t, &ns, &req, &fuse_fd, &err);
	else
		rc = do_umount(c->u, &t, &ns, req.path, &err);
	pthread_mutex_unlock(&c->u->work);
	const char *verb = req.op == FUSE_OP_MOUNT ? "mount" : "unmount";
	if (rc < 0) {
		log_warn("user \"%s\": fuse: pid %d: cannot %s \"%s\": %s", who, (int)c->peer.pid,
		         verb, req.path, err.msg);
		reply(c->fd, proto_error_reply(err.msg), -1);
	} else {
		if (req.op == FUSE_OP_MOUNT)
			log_info("user \"%s\": fuse: pid %d: mounted fuse.%s at \"%s\"", who,
			         (int)c->peer.pid, req.subtype, req.path);
		else
			log_info("user \"%s\": fuse: pid %d: unmounted \"%s\"", who,
			         (int)c->peer.pid, req.path);
		reply(c->fd, json_pack("{s:b}", "ok", 1), fuse_fd);
	}
	if (fuse_fd >= 0)
		close(fuse_fd);
	close(t.init_pidfd);
	close(t.mntns_fd);
}

static void *conn_main(void *arg)
{
	struct fuse_conn *c = arg;
	serve_conn(c);
	close(c->fd);
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
	pthread_mutex_lock(&table_lock);
	c->u->nconns--;
	pthread_mutex_unlock(&table_lock);
	free(c);
	return NULL;
}

static void *listener(void *arg)
{
	struct fuse_user *u = arg;
	pthread_mutex_lock(&table_lock);
	int ls = u->listen_fd;
	pthread_mutex_unlock(&table_lock);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors: wait instead of spinning. */
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(100 * 1000);
			continue;
		}
		struct timeval tv = {.tv_sec = FUSE_TIMEOUT_MS / 1000};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pthread_mutex_lock(&table_lock);
		int admitted = u->nconns < FUSE_CONNS_MAX;
		if (admitted)
			u->nconns++;
		pthread_mutex_unlock(&table_lock);
		struct fuse_conn *c = admitted ? calloc(1, sizeof(*c)) : NULL;
		if (c != NULL) {
			c->u = u;
			c->fd = fd;
			if (fusepeer_get(fd, &c->peer) < 0) {
				free(c);
				c = NULL;
			}
		}
		pthread_attr_t attr;
		pthread_t t;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, FUSE_THREAD_STACK);
		int started = c != NULL && pthread_create(&t, &attr, conn_main, c) == 0;
		pthread_attr_destroy(&attr);
		if (!started) {
			if (!admitted)
				log_warn("user \"%s\": fuse: refused a connection: %d already open",
				         u->name, FUSE_CONNS_MAX);
			if (c != NULL && c->peer.pidfd >= 0)
				close(c->peer.pidfd);
			free(c);
			close(fd);
			if (admitted) {
				pthread_mutex_lock(&table_lock);
				u->nconns--;
				pthread_mutex_unlock(&table_lock);
			}
		}
	}
	return NULL;
}
