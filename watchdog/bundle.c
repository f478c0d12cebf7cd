#include "bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundlebuild.h"
#include "log.h"
#include "spawn.h"

/* Bumped when what a bundle holds or its sshd_config changes, so that a
 * new watchdog builds a new bundle from the same OpenSSH. */
#define BUNDLE_FORMAT "2" /* 2: the gate */
#define DPKG_STATUS   "/var/lib/dpkg/status"
#define BUNDLES_KEPT  2 /* current and the one before: a start in flight may use it */

static pthread_mutex_t bundle_lock = PTHREAD_MUTEX_INITIALIZER;

static void bundles_dir(const struct config *cfg, char *buf, size_t size)
{
	snprintf(buf, size, "%s/bundles", cfg->state_dir);
}

int bundle_current_in(const char *state_dir, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/bundles/current", state_dir);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int bundle_current(const struct config *cfg, char *buf, size_t size)
{
	return bundle_current_in(cfg->state_dir, buf, size);
}

int bundle_bind(const struct config *cfg, char *buf, size_t size)
{
	char src[CONFIG_STR_MAX + 32];
	if (bundle_current(cfg, src, sizeof(src)) < 0)
		return -1;
	int n = snprintf(buf, size, "%s:" BUNDLE_MOUNT ":ro", src);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* openssh-server's Version from dpkg's database, "unknown" without one. */
static void package_version(char *buf, size_t size)
{
	snprintf(buf, size, "unknown");
	FILE *f = fopen(DPKG_STATUS, "re");
	if (f == NULL)
		return;
	char line[512];
	int in_pkg = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Package: ", 9) == 0)
			in_pkg = strcmp(line + 9, "openssh-server\n") == 0;
		else if (in_pkg && strncmp(line, "Version: ", 9) == 0) {
			snprintf(buf, size, "%.*s", (int)strcspn(line + 9, "\n"), line + 9);
			break;
		}
	}
	fclose(f);
	/* The key is a directory name and part of a bind spec (':' separates). */
	for (char *p = buf; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '+' || *p == '-'))
			*p = '_';
}

static int hash_file(EVP_MD_CTX *md, const char *path, struct err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "cannot open \"%s\"", path);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "cannot read \"%s\"", path);
		EVP_DigestUpdate(md, buf, (size_t)n);
	}
	return 0;
}

/* VERSION-SHA256(format, then each file's name and contents), 16 hex. */
static int compute_key(const char *src, char *ret_key, size_t size, struct err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(err, ENOMEM, "cannot start a sha256");
	}
	EVP_DigestUpdate(md, BUNDLE_FORMAT, strlen(BUNDLE_FORMAT));
	int rc = 0;
	for (const struct bundle_file *f = bundle_files; f->name && rc == 0; f++) {
		char path[512];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", src, f->path);
		if (f->optional && stat(path, &st) < 0 && errno == ENOENT)
			continue;
		EVP_DigestUpdate(md, f->name, strlen(f->name) + 1);
		rc = hash_file(md, path, err);
	}
	char gate[512];
	if (rc == 0 && bundle_gate_source(gate, sizeof(gate)) == 0) {
		EVP_DigestUpdate(md, BUNDLE_GATE, sizeof(BUNDLE_GATE));
		rc = hash_file(md, gate, err);
	}
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_DigestFinal_ex(md, digest, &dlen);
	EVP_MD_CTX_free(md);
	if (rc < 0)
		return err_wrap(err, "cannot read the host's OpenSSH server (openssh-server "
		                     "installed?) or sshbox-gate");
	char version[96];
	package_version(version, sizeof(version));
	int n = snprintf(ret_key, size, "%s-", version);
	for (int i = 0; i < 8 && n + 2 < (int)size; i++)
		n += snprintf(ret_key + n, size - (size_t)n, "%02x", digest[i]);
	return 0;
}

/* Whether any mount namespace on the host has KEY's directory mounted: the
 * root field (4th) of a mountinfo line ends in "/bundles/KEY". Namespaces
 * are read once each. */
static int bundle_mounted(const char *key)
{
	char want[BUNDLE_KEYMAX + 16];
	snprintf(want, sizeof(want), "/bundles/%s", key);
	size_t wlen = strlen(want);
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return 1; /* cannot tell: keep it */
	unsigned long long seen[256];
	int nseen = 0, found = 0;
	for (struct dirent *d; !found && (d = readdir(proc)) != NULL;) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%s/ns/mnt", d->d_name);
		if (stat(path, &st) < 0)
			continue;
		int dup = 0;
		for (int i = 0; i < nseen && !dup; i++)
			dup = seen[i] == (unsigned long long)st.st_ino;
		if (dup)
			continue;
		if (nseen < 256)
			seen[nseen++] = (unsigned long long)st.st_ino;
		snprintf(path, sizeof(path), "/proc/%s/mountinfo", d->d_name);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		char line[4096], root[2048];
		while (!found && fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "%*s %*s %*s %2047s", root) != 1)
				continue;
			size_t rlen = strlen(root);
			found = rlen >= wlen && strcmp(root + rlen - wlen, want) == 0;
		}
		fclose(f);
	}
	closedir(proc);
	return found;
}

/* Removes bundles older than the BUNDLES_KEPT newest that no container has
 * mounted (a running container's sshd re-executes from its bundle for
 * every connection: its bundle must stay). */
static void collect_garbage(const char *dir, const char *current)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, NULL);
	struct old {
		char name[BUNDLE_KEYMAX];
		long long mtime;
	} olds[64];
	memset(olds, 0, sizeof(olds));
	int nold = 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char path[512];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (name[0] != '.' && strcmp(name, "current") != 0 && nold < 64 &&
		    strlen(name) < BUNDLE_KEYMAX && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(olds[nold].name, BUNDLE_KEYMAX, "%s", name);
			olds[nold++].mtime = (long long)st.st_mtime;
		}
		free(list[i]);
	}
	free(list);
	for (int i = 0; i < nold; i++) {
		int newer = 0;
		for (int j = 0; j < nold; j++)
			newer += olds[j].mtime > olds[i].mtime ||
			         (olds[j].mtime == olds[i].mtime &&
			          strcmp(olds[j].name, olds[i].name) > 0);
		if (newer < BUNDLES_KEPT || strcmp(olds[i].name, current) == 0 ||
		    bundle_mounted(olds[i].name))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, olds[i].name);
		char *argv[] = {"/bin/rm", "-rf", "--one-file-system", path, NULL};
		struct err err = {0};
		if (spawn_run(argv, NULL, 0, 30000, &err) < 0)
			log_warn("cannot remove the old sshd bundle \"%s\": %s", path, err.msg);
		else
			log_info("removed the unused sshd bundle \"%s\"", olds[i].name);
	}
}

/* STATE/bundles/current -> key, replaced atomically (a symlink renamed over
 * the old one); the key's directory is touched so it counts as newest. */
static int point_current(const char *dir, const char *key, struct err *err)
{
	char target[512], tmp[512], link[512], now[256];
	snprintf(target, sizeof(target), "%s/%s", dir, key);
	snprintf(tmp, sizeof(tmp), "%s/.current.tmp", dir);
	snprintf(link, sizeof(link), "%s/current", dir);
	ssize_t n = readlink(link, now, sizeof(now));
	if (n > 0 && (size_t)n == strlen(key) && memcmp(now, key, (size_t)n) == 0)
		return 0;
	utimensat(AT_FDCWD, target, NULL, 0);
	unlink(tmp);
	if (symlink(key, tmp) < 0 || rename(tmp, link) < 0)
		return err_sys(err, errno, "cannot point \"%s\" at bundle %s", link, key);
	return 0;
}

/* Builds KEY's bundle in a temp dir beside it, then renames it in place. */
static int build(const struct config *cfg, const char *dir, const char *key, struct err *err)
{
	char tmp[512], final[512];
	snprintf(tmp, sizeof(tmp), "%s/.build-XXXXXX", dir);
	snprintf(final, sizeof(final), "%s/%s", dir, key);
	if (mkdtemp(tmp) == NULL)
		return err_sys(err, errno, "cannot make a build dir in \"%s\"", dir);
	int rc = chmod(tmp, 0755) < 0 ? err_sys(err, errno, "chmod \"%s\"", tmp) : 0;
	if (rc == 0)
		rc = bundle_build(cfg->bundle_source, tmp, key, err);
	if (rc == 0 && rename(tmp, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = err_sys(err, errno, "cannot rename \"%s\" to \"%s\"", tmp, final);
	struct stat st;
	if (lstat(tmp, &st) == 0) { /* failed, or another built it first */
		char *argv[] = {"/bin/rm", "-rf", "--one-file-system", tmp, NULL};
		struct err ignored = {0};
		spawn_run(argv, NULL, 0, 30000, &ignored);
	}
	return rc;
}

/* The last key computed and the source files' identities it came from:
 * a container start costs a few stat calls, not a checksum of 2 MB. */
static struct {
	char key[BUNDLE_KEYMAX];
	char src[CONFIG_STR_MAX];
	struct stat st[8];
} cache;

static int sources_unchanged(const char *src, struct stat *now)
{
	int i = 0;
	for (const struct bundle_file *f = bundle_files; f->name; f++, i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s%s", src, f->path);
		if (stat(path, &now[i]) < 0)
			memset(&now[i], 0, sizeof(now[i]));
	}
	char gate[512];
	if (bundle_gate_source(gate, sizeof(gate)) < 0 || stat(gate, &now[i]) < 0)
		memset(&now[i], 0, sizeof(now[i]));
	i++;
	if (cache.key[0] == '\0' || strcmp(cache.src, src) != 0)
		return 0;
	for (int j = 0; j < i; j++)
		if (now[j].st_ino != cache.st[j].st_ino || now[j].st_dev != cache.st[j].st_dev ||
		    now[j].st_size != cache.st[j].st_size ||
		    now[j].st_mtim.tv_sec != cache.st[j].st_mtim.tv_sec ||
		    now[j].st_mtim.tv_nsec != cache.st[j].st_mtim.tv_nsec ||
		    now[j].st_ctim.tv_sec != cache.st[j].st_ctim.tv_sec ||
		    now[j].st_ctim.tv_nsec != cache.st[j].st_ctim.tv_nsec)
			return 0;
	return 1;
}

int bundle_ensure(const struct config *cfg, char *ret_key, size_t size, struct err *err)
{
	char dir[CONFIG_STR_MAX + 16], key[BUNDLE_KEYMAX], path[512];
	struct stat now[8], st;
	bundles_dir(cfg, dir, sizeof(dir));
	pthread_mutex_lock(&bundle_lock);
	int rc = 0;
	if (sources_unchanged(cfg->bundle_source, now)) {
		snprintf(key, sizeof(key), "%s", cache.key);
	} else if (compute_key(cfg->bundle_source, key, sizeof(key), err) < 0) {
		rc = -1;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = err_sys(err, errno, "cannot create \"%s\"", dir);
		goto out;
	}
	int built = 0;
	if (stat(path, &st) < 0) {
		log_info("building the sshd bundle %s from the host's OpenSSH server", key);
		if (build(cfg, dir, key, err) < 0) {
			rc = err_wrap(err, "cannot build the sshd bundle %s", key);
			goto out;
		}
		built = 1;
	}
	if (point_current(dir, key, err) < 0) {
		rc = -1;
		goto out;
	}
	if (built)
		collect_garbage(dir, key);
	snprintf(cache.key, sizeof(cache.key), "%s", key);
	snprintf(cache.src, sizeof(cache.src), "%s", cfg->bundle_source);
	memcpy(cache.st, now, sizeof(cache.st));
	snprintf(ret_key, size, "%s", key);
out:
	pthread_mutex_unlock(&bundle_lock);
	return rc;
}
