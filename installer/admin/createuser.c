/* sshbox createuser USER IMAGE PUBKEY_FILE [--memory SIZE] [--cpus N]
 *                   [--pids N] [--fuse]
 * Validates everything first, then creates; on any failure it removes what
 * it created, so a failed createuser leaves no account, state or record. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "atomicfile.h"
#include "authkeys.h"
#include "engine.h"
#include "kvfile.h"
#include "names.h"
#include "record.h"
#include "run.h"

#define PUBKEY_MAX (16 * 1024)

static int in_group(const struct passwd *pw, gid_t gid)
{
	if (pw->pw_gid == gid)
		return 1;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* Every non-comment line must be a plain OpenSSH public key. */
static int check_pubkeys(const char *path, char *buf, size_t size, struct err *err)
{
	size_t len;
	if (kv_read_file(path, 0, buf, size, &len, err) < 0)
		return err_wrap(err, "public key file");
	int keys = 0;
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (n > 0 && line[0] != '#') {
			static const char *const types[] = {"ssh-ed25519 ",        "ssh-rsa ",
			                                    "ecdsa-sha2-nistp",    "sk-ssh-ed25519",
			                                    "sk-ecdsa-sha2-nistp", NULL};
			int known = 0;
			for (int i = 0; types[i]; i++)
				known |= strncmp(line, types[i], strlen(types[i])) == 0;
			if (!known)
				return err_set(err, EINVAL,
				               "%s: line %d is not an OpenSSH public key", path,
				               keys + 1);
			keys++;
		}
		line += n + (nl ? 1 : 0);
	}
	if (keys == 0)
		return err_set(err, EINVAL, "%s holds no public key", path);
	char *argv[] = {"/usr/bin/ssh-keygen", "-l", "-f", (char *)path, NULL};
	if (run_program(argv, err) < 0)
		return err_set(err, EINVAL, "%s is not a valid OpenSSH public key file", path);
	return 0;
}

/* Writes ~/.ssh/authorized_keys without following links the user planted. */
static int write_host_keys(const struct passwd *pw, const char *plain_keys, struct err *err)
{
	char keys[PUBKEY_MAX * 2];
	size_t n = 0;
	for (const char *line = plain_keys; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		int key = len > 0 && line[0] != '#';
		int w = snprintf(keys + n, sizeof(keys) - n, "%s%.*s\n",
		                 key ? AUTHKEYS_HOST_OPTIONS : "", (int)len, line);
		if (w < 0 || n + (size_t)w >= sizeof(keys))
			return err_set(err, E2BIG, "too many public keys for %s", pw->pw_name);
		n += (size_t)w;
		line += len + (line[len] == '\n');
	}
	keys[n] = '\0';
	cleanup_close int home = open(pw->pw_dir, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (home < 0)
		return err_sys(err, errno, "cannot open home %s", pw->pw_dir);
	if (mkdirat(home, ".ssh", 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s/.ssh", pw->pw_dir);
	cleanup_close int ssh = openat(home, ".ssh", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ssh < 0 || fchown(ssh, pw->pw_uid, pw->pw_gid) < 0 || fchmod(ssh, 0700) < 0)
		return err_sys(err, errno, "cannot set up %s/.ssh", pw->pw_dir);
	unlinkat(ssh, "authorized_keys.sshbox-tmp", 0);
	cleanup_close int f = openat(ssh, "authorized_keys.sshbox-tmp",
	                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t len = strlen(keys);
	if (f < 0 || write(f, keys, len) != (ssize_t)len || fsync(f) < 0 ||
	    fchown(f, pw->pw_uid, pw->pw_gid) < 0 ||
	    renameat(ssh, "authorized_keys.sshbox-tmp", ssh, "authorized_keys") < 0)
		return err_sys(err, errno, "cannot write %s/.ssh/authorized_keys", pw->pw_dir);
	return 0;
}

static int make_dir(const char *path, mode_t mode, struct err *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return err_sys(err, errno, "cannot create %s", path);
	if (chmod(path, mode) < 0)
		return err_sys(err, errno, "cannot chmod %s", path);
	return 0;
}

static int keygen_if_missing(const char *path, const char *comment, struct err *err)
{
	if (access(path, F_OK) == 0)
		return 0;
	char *argv[] = {"/usr/bin/ssh-keygen", "-q", "-t",         "ed25519", "-N", "", "-C",
	                (char *)comment,       "-f", (char *)path, NULL};
	return run_program(argv, err);
}

/* Keys, the container's authorized_keys and the record under the state dir. */
static int write_state(const struct config *cfg, const char *user, const char *pubkeys,
                       const struct user_record *rec, struct err *err)
{
	char dir[512], path[600], comment[128];
	snprintf(dir, sizeof(dir), "%s/users", cfg->state_dir);
	if (make_dir(cfg->state_dir, 0755, err) < 0 || make_dir(dir, 0700, err) < 0)
		return -1;
	user_path(cfg, user, NULL, dir, sizeof(dir));
	if (make_dir(dir, 0700, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/etc", dir);
	if (make_dir(path, 0755, err) < 0)
		return -1;
	snprintf(comment, sizeof(comment), "sshbox inner key of %s", user);
	snprintf(path, sizeof(path), "%s/inner_key", dir);
	if (keygen_if_missing(path, comment, err) < 0)
		return -1;
	snprintf(comment, sizeof(comment), "sshbox container of %s", user);
	snprintf(path, sizeof(path), "%s/etc/ssh_host_ed25519_key", dir);
	if (keygen_if_missing(path, comment, err) < 0)
		return -1;

	char inner_pub[1024];
	size_t len;
	snprintf(path, sizeof(path), "%s/inner_key.pub", dir);
	if (kv_read_file(path, 1, inner_pub, sizeof(inner_pub), &len, err) < 0)
		return -1;
	size_t total = strlen(pubkeys) + len + 2;
	cleanup_free char *keys = malloc(total);
	if (keys == NULL)
		return err_set(err, ENOMEM, "out of memory");
	size_t n = strlen(pubkeys);
	snprintf(keys, total, "%s%s%s", pubkeys, (n && pubkeys[n - 1] != '\n') ? "\n" : "",
	         inner_pub);
	snprintf(path, sizeof(path), "%s/etc/authorized_keys", dir);
	if (atomic_write(path, keys, strlen(keys), 0644, err) < 0)
		return -1;
	return record_store(cfg, user, rec, err);
}

static int ensure_group(const char *group, gid_t *ret_gid, struct err *err)
{
	struct group *gr = getgrnam(group);
	if (gr == NULL) {
		char *argv[] = {"/usr/sbin/groupadd", "--system", (char *)group, NULL};
		if (run_program(argv, err) < 0)
			return -1;
		gr = getgrnam(group);
		if (gr == NULL)
			return err_set(err, ENOENT, "group \"%s\" was not created", group);
	}
	*ret_gid = gr->gr_gid;
	return 0;
}

int mount_host_exists(const char *spec, struct err *err)
{
	char host[MOUNT_SPEC_MAX];
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(spec, ":"), spec);
	struct stat st;
	if (stat(host, &st) < 0)
		return err_sys(err, errno, "bad mount \"%s\": host path %s", spec, host);
	return 0;
}

/* --node (swarm mode): the home node's sshbox.node label; "" = least loaded. */
static char home_node[64];

static int parse_options(int argc, char **argv, struct user_record *rec, struct err *err)
{
	static const struct option opts[] = {{"memory", required_argument, NULL, 'm'},
	                                     {"cpus", required_argument, NULL, 'c'},
	                                     {"pids", required_argument, NULL, 'p'},
	                                     {"fuse", no_argument, NULL, 'f'},
	                                     {"mount", required_argument, NULL, 'M'},
	                                     {"node", required_argument, NULL, 'n'},
	                                     {NULL, 0, NULL, 0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			if (parse_size(optarg, &rec->memory) < 0)
				return err_set(err, EINVAL, "bad --memory \"%s\" (e.g. 512m, 2g)",
				               optarg);
			break;
		case 'c':
			if (parse_cpus(optarg, &rec->nano_cpus) < 0)
				return err_set(err, EINVAL, "bad --cpus \"%s\" (e.g. 1.5)", optarg);
			break;
		case 'p':
			if (parse_long(optarg, 1, 4194304, &rec->pids) < 0)
				return err_set(err, EINVAL, "bad --pids \"%s\"", optarg);
			break;
		case 'f':
			rec->fuse = 1;
			break;
		case 'n':
			if (!user_name_valid(optarg))
				return err_set(err, EINVAL,
				               "bad --node \"%s\" (a swarm node's %s label)",
				               optarg, "sshbox.node");
			snprintf(home_node, sizeof(home_node), "%s", optarg);
			break;
		case 'M':
			if (!mount_spec_valid(optarg) || strlen(optarg) >= MOUNT_SPEC_MAX)
				return err_set(
				    err, EINVAL,
				    "bad --mount \"%s\" (HOSTPATH:CONTPATH[:ro], absolute "
				    "paths)",
				    optarg);
			if (mount_host_exists(optarg, err) < 0)
				return -1;
			if (rec->nmounts == RECORD_MAX_MOUNTS)
				return err_set(err, EINVAL, "at most %d --mount",
				               RECORD_MAX_MOUNTS);
			strcpy(rec->mounts[rec->nmounts++], optarg);
			break;
		default:
			return err_set(err, EINVAL, "unknown option");
		}
	}
	if (argc - optind != 3)
		return err_set(err, EINVAL,
		               "usage: sshbox createuser USER IMAGE PUBKEY_FILE "
		               "[--memory SIZE] [--cpus N] [--pids N] [--fuse] "
		               "[--mount HOSTPATH:CONTPATH[:ro]]... [--node NODE]");
	return optind;
}

static int provision(const struct config *cfg, const char *user, const char *pubkeys,
                     struct user_record *rec_in, struct err *err);

int cmd_createuser(const struct config *cfg, int argc, char **argv, struct err *err)
{
	struct user_record rec;
	record_init(&rec);
	int first = parse_options(argc, argv, &rec, err);
	if (first < 0)
		return -1;
	const char *user = argv[first], *image = argv[first + 1], *keyfile = argv[first + 2];

	if (!user_name_valid(user))
		return err_set(err, EINVAL,
		               "invalid user name \"%s\": use lowercase letters, digits, '_' and "
		               "'-', starting with a letter or '_', at most %d characters",
		               user, USER_NAME_MAX);
	if (strcmp(user, "root") == 0)
		return err_set(err, EINVAL, "user name \"root\" is reserved");
	gid_t gid;
	struct passwd *pw = getpwnam(user);
	char pubkeys[PUBKEY_MAX];
	if (check_pubkeys(keyfile, pubkeys, sizeof(pubkeys), err) < 0 ||
	    image_check(cfg, image, err) < 0)
		return -1;
	if (pw != NULL) {
		struct group *gr = getgrnam(cfg->group);
		if (gr == NULL || !in_group(pw, gr->gr_gid))
			return err_set(err, EEXIST,
			               "account \"%s\" exists and is not an sshbox account (not in "
			               "group \"%s\")",
			               user, cfg->group);
	}
	if (access(cfg->shim, X_OK) < 0)
		return err_sys(err, errno,
		               "the login shell for sshbox accounts, %s (key \"shim\"), is not "
		               "executable",
		               cfg->shim);
	if (ensure_group(cfg->group, &gid, err) < 0)
		return -1;
	snprintf(rec.image, sizeof(rec.image), "%s", image);

	/* Before the account: of two createusers at once on two managers, the
	 * one refused never takes back what the other made. */
	char lock[80];
	if (cluster_provision_lock(cfg, user, lock, sizeof(lock), err) < 0)
		return -1;
	int rc = provision(cfg, user, pubkeys, &rec, err);
	cluster_provision_unlock(cfg, lock);
	return rc;
}

/* createuser once its input is checked (and, in swarm mode, under the lock):
 * the account, its keys and state, and the cluster's part; undone on
 * failure. */
static int provision(const struct config *cfg, const char *user, const char *pubkeys,
                     struct user_record *rec_in, struct err *err)
{
	struct user_record rec = *rec_in;
	struct passwd *pw = getpwnam(user);
	char state[512];
	user_path(cfg, user, NULL, state, sizeof(state));
	int created_state = access(state, F_OK) != 0;
	int created_account = pw == NULL;
	if (created_account) {
		/* The shim is the login shell too: an sshd that lost the drop-in, or
		 * an account taken out of the group, still lands in the container
		 * or is refused, never in a host shell. */
		char *ua[] = {"/usr/sbin/useradd", "--create-home",
		              "--shell",           (char *)cfg->shim,
		              "--groups",          (char *)cfg->group,
		              "--comment",         "sshbox user",
		              "--password",        "*",
		              (char *)user,        NULL};
		if (run_program(ua, err) < 0)
			return err_wrap(err, "cannot create account \"%s\"", user);
		pw = getpwnam(user);
		if (pw == NULL) {
			err_set(err, ENOENT, "account \"%s\" was not created", user);
			goto undo;
		}
	}
	rec.uid = pw->pw_uid;
	if (!created_account && strcmp(pw->pw_shell, cfg->shim) != 0) {
		char *um[] = {"/usr/sbin/usermod", "--shell", (char *)cfg->shim, (char *)user,
		              NULL};
		if (run_program(um, err) < 0) {
			err_wrap(err, "cannot set the login shell of \"%s\"", user);
			goto undo;
		}
	}
	if (write_host_keys(pw, pubkeys, err) < 0 || write_state(cfg, user, pubkeys, &rec, err) < 0)
		goto undo;
	if (cluster_provision(cfg, user, &rec, home_node, err) < 0)
		goto undo;
	return 0;
undo:
	if (created_state) {
		char *rm[] = {"/bin/rm", "-rf", "--", state, NULL};
		run_program(rm, NULL);
	}
	if (created_account) {
		char *ud[] = {"/usr/sbin/userdel", "--remove", (char *)user, NULL};
		run_program(ud, NULL);
	}
	return -1;
}
