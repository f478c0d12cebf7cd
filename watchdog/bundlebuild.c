#include "bundlebuild.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "libexec.h"
#include "spawn.h"

#define LDD          "/usr/bin/ldd"
#define PATCHELF     "/usr/bin/patchelf"
#define HELPER_MS    30000
#define MAX_LIBS     64
#define LDD_OUT_SIZE 16384

const struct bundle_file bundle_files[] = {
    {"sshd", "/usr/sbin/sshd", 0},
    {"sftp-server", "/usr/lib/openssh/sftp-server", 0},
    {"sshd-session", "/usr/lib/openssh/sshd-session", 1},
    {"sshd-auth", "/usr/lib/openssh/sshd-auth", 1},
    {NULL, NULL, 0},
};

int bundle_gate_source(char *buf, size_t size)
{
	return libexec_path("sshbox-gate", buf, size);
}

static int copy_file(const char *from, const char *to, mode_t mode, struct err *err)
{
	cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(err, errno, "cannot open \"%s\"", from);
	cleanup_close int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0)
		return err_sys(err, errno, "cannot create \"%s\"", to);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "cannot read \"%s\"", from);
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return err_sys(err, errno, "cannot write \"%s\"", to);
			off += w;
		}
	}
	if (fchmod(out, mode) < 0 || fsync(out) < 0)
		return err_sys(err, errno, "cannot finish \"%s\"", to);
	return 0;
}

static int write_text(const char *dir, const char *name, const char *text, struct err *err)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(err, errno, "cannot create \"%s\"", path);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		return err_sys(err, errno, "cannot write \"%s\"", path);
	return 0;
}

struct libs {
	char name[MAX_LIBS][128]; /* as the binary names it (its soname) */
	char path[MAX_LIBS][256]; /* where the host has it */
	int n;
	char loader[128];
};

static int add_lib(struct libs *l, const char *soname, const char *host_path, struct err *err)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->name[i], soname) == 0)
			return 0;
	if (l->n == MAX_LIBS || strlen(soname) >= sizeof(l->name[0]) ||
	    strlen(host_path) >= sizeof(l->path[0]) || strchr(soname, '/') != NULL)
		return err_set(err, E2BIG, "ldd listed an unexpected library \"%s\"", soname);
	strcpy(l->name[l->n], soname);
	strcpy(l->path[l->n], host_path);
	l->n++;
	return 0;
}

/* Lines of ldd: "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)",
 * "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)". */
static int list_libs(const char *binary, struct libs *l, struct err *err)
{
	char out[LDD_OUT_SIZE];
	char *argv[] = {LDD, (char *)binary, NULL};
	if (spawn_run(argv, out, sizeof(out), HELPER_MS, err) < 0)
		return err_wrap(err, "cannot list the libraries of \"%s\"", binary);
	for (char *save = NULL, *line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[256], arrow[8], path[256];
		int fields = sscanf(line, " %255s %7s %255s", name, arrow, path);
		if (fields >= 1 && strstr(line, "not found") != NULL)
			return err_set(err, ENOENT, "\"%s\" needs \"%s\", which is not found",
			               binary, name);
		if (fields == 3 && strcmp(arrow, "=>") == 0 && path[0] == '/') {
			if (add_lib(l, name, path, err) < 0)
				return -1;
		} else if (fields >= 1 && name[0] == '/') {
			const char *soname = strrchr(name, '/') + 1;
			const char *host_path = name;
			if (strlen(soname) >= sizeof(l->loader) ||
			    (l->loader[0] != '\0' && strcmp(l->loader, soname) != 0))
				return err_set(err, EINVAL, "unexpected loader \"%s\"", host_path);
			if (l->loader[0] == '\0' && add_lib(l, soname, host_path, err) < 0)
				return -1;
			strcpy(l->loader, soname);
		}
	}
	if (l->loader[0] == '\0')
		return err_set(err, ENOEXEC, "\"%s\" is not a dynamic executable ldd understands",
		               binary);
	return 0;
}

static int patch(const char *file, const char *interpreter, struct err *err)
{
	char *with_interp[] = {
	    PATCHELF,      "--set-interpreter", (char *)interpreter, "--force-rpath",
	    "--set-rpath", BUNDLE_MOUNT,        (char *)file,        NULL};
	char *rpath_only[] = {PATCHELF,     "--force-rpath", "--set-rpath",
	                      BUNDLE_MOUNT, (char *)file,    NULL};
	char out[1024];
	return spawn_run(interpreter ? with_interp : rpath_only, out, sizeof(out), HELPER_MS, err);
}

/* The server's configuration: the pinned per-user host key and keys from
 * the host (read-only at /etc/sshbox); forwards as the jump path needs them;
 * nothing from the image (no PAM, no login records read, internal sftp). */
static int write_config(const char *dir, const char *key, struct err *err)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
	                 "# written by sshbox-watchdog for the bundled OpenSSH server %s\n"
	                 "Port 22\nAddressFamily inet\n"
	                 "HostKey /etc/sshbox/ssh_host_ed25519_key\n"
	                 "HostKeyAlgorithms ssh-ed25519\n"
	                 "AuthorizedKeysFile /etc/sshbox/authorized_keys\n"
	                 "PermitRootLogin prohibit-password\n"
	                 "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
	                 "UsePAM no\nPrintMotd no\nPrintLastLog no\nPidFile none\n"
	                 "MaxAuthTries 10\nMaxStartups 512\n"
	                 "AllowAgentForwarding yes\nX11Forwarding yes\n"
	                 "AllowTcpForwarding yes\nAllowStreamLocalForwarding yes\n"
	                 "AcceptEnv LANG LC_* SSHBOX_SESSION\n"
	                 "Subsystem sftp internal-sftp\n",
	                 key);
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/sshd-session", dir);
	if (stat(path, &st) == 0)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
		              "SshdSessionPath " BUNDLE_MOUNT "/sshd-session\n");
	snprintf(path, sizeof(path), "%s/sshd-auth", dir);
	if (stat(path, &st) == 0)
		snprintf(text + n, sizeof(text) - (size_t)n,
		         "SshdAuthPath " BUNDLE_MOUNT "/sshd-auth\n");
	return write_text(dir, "sshd_config", text, err);
}

int bundle_build(const char *src, const char *dir, const char *key, struct err *err)
{
	struct libs *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return err_set(err, ENOMEM, "out of memory");
	char from[512], to[512], interp[256];
	int rc = -1;
	const char *bins[8];
	int nbin = 0;
	for (const struct bundle_file *f = bundle_files; f->name; f++) {
		struct stat st;
		snprintf(from, sizeof(from), "%s%s", src, f->path);
		if (f->optional && stat(from, &st) < 0 && errno == ENOENT)
			continue;
		snprintf(to, sizeof(to), "%s/%s", dir, f->name);
		if (copy_file(from, to, 0755, err) < 0 || list_libs(from, l, err) < 0)
			goto out;
		bins[nbin++] = f->name;
	}
	for (int i = 0; i < l->n; i++) {
		snprintf(to, sizeof(to), "%s/%s", dir, l->name[i]);
		if (copy_file(l->path[i], to, 0755, err) < 0)
			goto out;
		/* The loader runs as it is; the libraries find each other here. */
		if (strcmp(l->name[i], l->loader) != 0 && patch(to, NULL, err) < 0)
			goto out;
	}
	snprintf(interp, sizeof(interp), "%s/%s", BUNDLE_MOUNT, l->loader);
	for (int i = 0; i < nbin; i++) {
		snprintf(to, sizeof(to), "%s/%s", dir, bins[i]);
		if (patch(to, interp, err) < 0)
			goto out;
	}
	snprintf(to, sizeof(to), "%s/" BUNDLE_GATE, dir);
	if (bundle_gate_source(from, sizeof(from)) < 0) {
		err_set(err, ENAMETOOLONG, "the path of sshbox-gate is too long");
		goto out;
	}
	if (copy_file(from, to, 0755, err) < 0)
		goto out;
	char keyline[BUNDLE_KEYMAX + 2];
	snprintf(keyline, sizeof(keyline), "%s\n", key);
	if (write_config(dir, key, err) < 0 || write_text(dir, "key", keyline, err) < 0)
		goto out;
	rc = 0;
out:
	free(l);
	return rc;
}
