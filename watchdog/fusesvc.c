#include "fusesvc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "atomicfile.h"
#include "box.h"
#include "engine.h"
#include "fusemount.h"
#include "fuseproto.h"
#include "log.h"
#include "names.h"
#include "proto.h"
#include "record.h"
#include "session.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5: a pidfd of the peer as it connected */
#endif

#define CLIENT_NAME        "sshbox-fuse"
#define CLIENT_MAX_BYTES   (16 << 20)
#define FUSE_TIMEOUT_MS    10000
#define FUSE_CONNS_MAX     8  /* per user, at once */
#define FUSE_MOUNTS_MAX    64 /* per user, made by this service and still recorded */
#define FUSE_THREAD_STACK  (256 * 1024)

/* A mount this service made: in which mount namespace, with which id. */
struct made {
	dev_t ns_dev;
	ino_t ns_ino;
	uint64_t mnt_id;
	char path[FUSE_PATH_MAX];
};

struct fuse_user {
	char name[USER_NAME_MAX + 1];
	int listen_fd;           /* -1 = not served */
	pthread_mutex_t work;    /* one mount or unmount of this user at a time */
	int nconns;              /* guarded by table_lock */
	int nmade;               /* guarded by work */
	struct made made[FUSE_MOUNTS_MAX];
	struct fuse_user *next;
};

struct fuse_conn {
	struct fuse_user *u;
	int fd;
	pid_t pid;
	uid_t uid;
	int pidfd; /* of the peer as it connected, or opened from its pid */
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

/* The static client: beside the watchdog's own binary (a build tree, the
 * test bed), else where `cmake --install` put it. */
static int read_client(char **ret_data, size_t *ret_len, struct err *err)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int fd = -1;
	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/" CLIENT_NAME, dirname(self));
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s", SSHBOX_LIBEXECDIR "/sshbox/" CLIENT_NAME);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0)
		return err_sys(err, errno, "cannot open the FUSE client %s", path);
	struct stat st;
	char *data = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > CLIENT_MAX_BYTES || (data = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return err_set(err, EINVAL, "%s is not a usable client binary", path);
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(data);
		return err_set(err, EIO, "cannot read %s", path);
	}
	*ret_data = data;
	*ret_len = got;
	return 0;
}

/* state/users/NAME/fuse: root's, 0755, a real directory. */
static int make_dir(const char *dir, struct err *err)
{
	struct stat st;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", dir);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return err_set(err, EEXIST, "%s is not a root-owned directory", dir);
	if ((st.st_mode & 07777) != 0755 && chmod(dir, 0755) < 0)
		return err_sys(err, errno, "cannot chmod %s", dir);
	return 0;
}

static int install_client(const char *dir, struct err *err)
{
	char path[600];
	cleanup_free char *data = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/" CLIENT_NAME, dir);
	if (read_client(&data, &len, err) < 0)
		return -1;
	return atomic_write(path, data, len, 0755, err);
}

/* A fresh socket, root's and 0600: only the container's root may ask. */
static int listen_at(const char *dir, struct err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir) >=
	    sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s/sock is too long", dir);
	unlink(sa.sun_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(err, errno, "socket");
	mode_t old = umask(0177);
	int rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(s, 16) < 0) {
		int e = errno;
		close(s);
		return err_sys(err, e, "cannot listen on %s", sa.sun_path);
	}
	return s;
}

static void *listener(void *arg);

/* Prepares the dir and starts the listener unless one runs. */
static int serve_user(const struct config *cfg, const char *user, int refresh_client,
                      struct err *err)
{
	char dir[512], client[600];
	struct stat st;
	struct fuse_user *u = fuse_user_get(user);
	if (u == NULL)
		return err_set(err, ENOMEM, "out of memory");
	if (user_path(cfg, user, "fuse", dir, sizeof(dir)) < 0)
		return err_set(err, ENAMETOOLONG, "state dir path is too long");
	if (make_dir(dir, err) < 0)
		return -1;
	snprintf(client, sizeof(client), "%s/" CLIENT_NAME, dir);
	if ((refresh_client || lstat(client, &st) < 0) && install_client(dir, err) < 0)
		return -1;
	pthread_mutex_lock(&table_lock);
	int serving = u->listen_fd >= 0;
	pthread_mutex_unlock(&table_lock);
	if (serving)
		return 0;
	int s = listen_at(dir, err);
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

/* One namespace of pid, as (dev, ino), and for "mnt" optionally its fd. */
static int ns_id(pid_t pid, const char *ns, struct stat *ret, int *ret_fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fstat(fd, ret);
	if (rc == 0 && ret_fd != NULL)
		*ret_fd = fd;
	else
		close(fd);
	return rc;
}

/* The mount, pid and network namespaces of the process pidfd refers to
 * (pid is its number): read through /proc, then the pidfd proves the
 * number still named that process while we read. */
static int namespaces_of(pid_t pid, int pidfd, struct stat ret[3], int *ret_mntns_fd)
{
	static const char *const names[] = {"mnt", "pid", "net"};
	int mntfd = -1;
	for (int i = 0; i < 3; i++)
		if (ns_id(pid, names[i], &ret[i], i == 0 ? &mntfd : NULL) < 0)
			goto fail;
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		goto fail;
	if (ret_mntns_fd != NULL)
		*ret_mntns_fd = mntfd;
	else
		close(mntfd);
	return 0;
fail:
	if (mntfd >= 0)
		close(mntfd);
	return -1;
}

static int same_ns(const struct stat a[3], const struct stat b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i].st_dev != b[i].st_dev || a[i].st_ino != b[i].st_ino)
			return 0;
	return 1;
}

/* The caller must be a process of this user's running container: its
 * namespaces equal the container init's (pid from the engine). Fills the
 * target for fusemount and the namespace the mounts are recorded under. */
static int check_peer(struct fuse_conn *c, struct fusemount_target *ret_t, struct stat *ret_mntns,
                      struct err *err)
{
	struct config cfg;
	struct engine *e = NULL;
	struct container_info info;
	struct stat peer[3], init[3];
	state_config_get(&cfg);
	if (engine_open(&cfg, &e, err) < 0)
		return -1;
	int found = box_lookup(e, &cfg, c->u->name, &info, err);
	engine_close(e);
	if (found < 0)
		return -1;
	if (found == 0 || !info.running)
		return err_set(err, ESRCH, "the container of user \"%s\" is not running", c->u->name);
	int init_pidfd = pidfd_open(info.pid, 0);
	int mntfd = -1;
	if (init_pidfd < 0 || namespaces_of(info.pid, init_pidfd, init, &mntfd) < 0) {
		int e2 = errno;
		if (init_pidfd >= 0)
			close(init_pidfd);
		return err_sys(err, e2, "cannot read the namespaces of the container's init");
	}
	if (c->pidfd < 0 || namespaces_of(c->pid, c->pidfd, peer, NULL) < 0 ||
	    !same_ns(peer, init)) {
		close(init_pidfd);
		close(mntfd);
		return err_set(err, EPERM, "pid %d is not a process of the container of user \"%s\"",
		               (int)c->pid, c->u->name);
	}
	ret_t->init_pidfd = init_pidfd;
	ret_t->mntns_fd = mntfd;
	*ret_mntns = init[0];
	return 0;
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

static int do_umount(struct fuse_user *u, const struct fusemount_target *t,
                     const struct stat *ns, const char *path, struct err *err)
{
	int i = find_made(u, ns, path);
	if (i < 0)
		return err_set(err, ENOENT,
		               "\"%s\" is not a FUSE mount that sshbox made in this container", path);
	int rc = fusemount_umount(t, path, u->made[i].mnt_id, FUSE_TIMEOUT_MS, err);
	/* Gone either way unless it timed out: forget it. */
	if (rc == 0 || err->code != ETIMEDOUT)
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
		log_warn("user \"%s\": fuse: pid %d uid %u: bad request: %s", who, (int)c->pid,
		         (unsigned)c->uid, err.msg);
		char text[ERR_MSG_MAX + 16];
		snprintf(text, sizeof(text), "bad request: %s", err.msg);
		reply(c->fd, proto_error_reply(text), -1);
		return;
	}
	json_decref(msg);
	state_config_get(&cfg);
	if (record_load(&cfg, who, &rec, &err) < 0 || !rec.fuse) {
		log_warn("user \"%s\": fuse: pid %d: refused: FUSE is not enabled", who, (int)c->pid);
		reply(c->fd, proto_error_reply("FUSE is not enabled for this user; ask the admin"),
		      -1);
		return;
	}
	struct fusemount_target t = {-1, -1};
	struct stat ns;
	memset(&ns, 0, sizeof(ns));
	if (check_peer(c, &t, &ns, &err) < 0) {
		log_warn("user \"%s\": fuse: pid %d uid %u: refused: %s", who, (int)c->pid,
		         (unsigned)c->uid, err.msg);
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
		log_warn("user \"%s\": fuse: pid %d: cannot %s \"%s\": %s", who, (int)c->pid, verb,
		         req.path, err.msg);
		reply(c->fd, proto_error_reply(err.msg), -1);
	} else {
		log_info("user \"%s\": fuse: pid %d: %sed fuse.%s at \"%s\"", who, (int)c->pid,
		         verb, req.op == FUSE_OP_MOUNT ? req.subtype : "-", req.path);
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
	if (c->pidfd >= 0)
		close(c->pidfd);
	pthread_mutex_lock(&table_lock);
	c->u->nconns--;
	pthread_mutex_unlock(&table_lock);
	free(c);
	return NULL;
}

/* Who connected, from the kernel: a pidfd of the peer itself when the
 * kernel gives one (6.5+), else one opened from its pid. */
static struct fuse_conn *conn_new(struct fuse_user *u, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return NULL;
	struct fuse_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->u = u;
	c->fd = fd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->pidfd = -1;
	len = sizeof(c->pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) < 0 || c->pidfd < 0)
		c->pidfd = cred.pid > 0 ? pidfd_open(cred.pid, 0) : -1;
	if (c->pidfd >= 0)
		fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
	return c;
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
		struct fuse_conn *c = admitted ? conn_new(u, fd) : NULL;
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
			if (c != NULL && c->pidfd >= 0)
				close(c->pidfd);
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
