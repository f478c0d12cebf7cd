#include "container.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "boxfiles.h"
#include "bundle.h"
#include "flags.h"
#include "fusesvc.h"
#include "log.h"
#include "names.h"
#include "netfence.h"
#include "network.h"

#define COMMIT_TIMEOUT_S 900

/* Capabilities kept (all others dropped), each for the container's sshd or a
 * root user's ordinary work: CHOWN, DAC_OVERRIDE, FOWNER, FSETID (files of
 * any owner, package installs), KILL (signals within the container), SETUID,
 * SETGID (sshd's privilege separation, su), SYS_CHROOT (sshd's privsep
 * chroot), NET_BIND_SERVICE (servers on ports below 1024), AUDIT_WRITE
 * (Debian's sshd writes login audit records and refuses logins without).
 * Not kept: NET_RAW (raw sockets, ARP spoofing), MKNOD (device nodes),
 * SETFCAP and SETPCAP (file and process capability games), and everything
 * Docker never grants (SYS_ADMIN, NET_ADMIN, ...). */
static const char *const kept_caps[] = {
    "CHOWN",  "DAC_OVERRIDE", "FOWNER",           "FSETID",      "KILL", "SETUID",
    "SETGID", "SYS_CHROOT",   "NET_BIND_SERVICE", "AUDIT_WRITE", NULL};

/* The container's sshd is the bundle's (bundle.h), whatever the image has:
 * its config sits beside it; the per-user host key and authorized_keys come
 * from the host (read-only at /etc/sshbox). */
static const char *const sshd_command[] = {BUNDLE_MOUNT "/sshd",        "-D", "-e", "-f",
                                           BUNDLE_MOUNT "/sshd_config", NULL};

static json_t *labels(const struct config *cfg, const char *user)
{
	return json_pack("{s:s,s:s}", "sshbox.instance", cfg->instance, "sshbox.user", user);
}

static json_t *container_labels(const struct config *cfg, const char *user)
{
	json_t *l = labels(cfg, user);
	char spec[16];
	snprintf(spec, sizeof(spec), "%d", BOX_SPEC_VERSION);
	json_object_set_new(l, "sshbox.spec", json_string(spec));
	return l;
}

static json_t *string_array(const char *const *list)
{
	json_t *a = json_array();
	for (int i = 0; list[i] != NULL; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static long long limit_or(long long v, long long dflt)
{
	return v >= 0 ? v : dflt;
}

static json_t *create_body(const struct config *cfg, const char *user,
                           const struct user_record *rec, const char *image)
{
	char volume[128], etc[512], bind[600], hostname[64], network[128];
	box_volume_name(cfg->instance, user, volume, sizeof(volume));
	user_path(cfg, user, "etc", etc, sizeof(etc));
	snprintf(bind, sizeof(bind), "%s:/etc/sshbox:ro", etc);
	network_name(cfg, network, sizeof(network));
	snprintf(hostname, sizeof(hostname), "%s", user[0] == '_' ? user + 1 : user);
	if (hostname[0] == '\0')
		strcpy(hostname, "sshbox");

	/* Explicit limits within the host's own: root Podman asks the runtime
	 * for 1048576 of each, which it may not raise to ("error setting rlimit
	 * type 7"). Processes: at most 32768, what Debian's podman service keeps
	 * for itself, far above any container's pids limit; uid 0 is exempt. */
	struct rlimit nofile = {1024, 1024}, nproc = {32768, 32768};
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_NPROC, &nproc);
	long long files = nofile.rlim_max > 1048576 ? 1048576 : (long long)nofile.rlim_max;
	long long procs = nproc.rlim_max > 32768 ? 32768 : (long long)nproc.rlim_max;

	json_t *host = json_pack("{s:[s], s:[{s:s,s:s,s:s,s:{s:o}}], s:[s], s:b, s:{s:s},"
	                         " s:[{s:s,s:I,s:I},{s:s,s:I,s:I}]}",
	                         "Binds", bind, "Mounts", "Type", "volume", "Source", volume,
	                         "Target", "/root", "VolumeOptions", "Labels", labels(cfg, user),
	                         "SecurityOpt", "no-new-privileges", "Init", 1, "RestartPolicy",
	                         "Name", "no", "Ulimits", "Name", "nofile", "Soft", files, "Hard",
	                         files, "Name", "nproc", "Soft", procs, "Hard", procs);
	char bundle[600];
	if (bundle_bind(cfg, bundle, sizeof(bundle)) == 0)
		json_array_append_new(json_object_get(host, "Binds"), json_string(bundle));
	char flag_binds[8][600];
	int n = flags_binds(cfg, user, flag_binds, 8);
	json_t *binds = json_object_get(host, "Binds");
	for (int i = 0; i < n; i++)
		json_array_append_new(binds, json_string(flag_binds[i]));
	for (int i = 0; i < rec->nmounts; i++)
		json_array_append_new(binds, json_string(rec->mounts[i]));
	/* FUSE (sshbox-connect): no mount privilege, only the watchdog's socket. */
	char fuse_bind[600];
	if (rec->fuse && fusesvc_bind(cfg, user, fuse_bind, sizeof(fuse_bind)) == 0)
		json_array_append_new(binds, json_string(fuse_bind));
	json_object_set_new(host, "CapDrop", json_pack("[s]", "ALL"));
	json_object_set_new(host, "CapAdd", string_array(kept_caps));
	json_object_set_new(host, "NetworkMode", json_string(network));
	long long memory = limit_or(rec->memory, cfg->default_memory);
	if (memory > 0) {
		json_object_set_new(host, "Memory", json_integer(memory));
		json_object_set_new(host, "MemorySwap", json_integer(memory));
	}
	long long cpus = limit_or(rec->nano_cpus, cfg->default_nano_cpus);
	if (cpus > 0)
		json_object_set_new(host, "NanoCpus", json_integer(cpus));
	long long pids = limit_or(rec->pids, cfg->default_pids);
	if (pids > 0)
		json_object_set_new(host, "PidsLimit", json_integer(pids));
	if (cfg->publish_port)
		json_object_set_new(
		    host, "PortBindings",
		    json_pack("{s:[{s:s,s:s}]}", "22/tcp", "HostIp", "127.0.0.1", "HostPort", ""));
	/* An Entrypoint of its own: the image's Cmd is not appended. No
	 * HEALTHCHECK of the image: the engine would exec it in the container
	 * from its start, before the fence, and the user can replace what it
	 * runs. */
	return json_pack("{s:s, s:s, s:o, s:o, s:{s:{}}, s:[s], s:{s:[s]}, s:o}", "Image", image,
	                 "Hostname", hostname, "Entrypoint", string_array(sshd_command), "Labels",
	                 container_labels(cfg, user), "ExposedPorts", "22/tcp", "Env", "SSHBOX=1",
	                 "Healthcheck", "Test", "NONE", "HostConfig", host);
}

/* The user's committed image when there is one, else the record's. */
static int pick_image(struct engine *e, const struct config *cfg, const char *user,
                      const struct user_record *rec, char *buf, size_t size, struct err *err)
{
	char committed[128];
	box_image_name(cfg->instance, user, committed, sizeof(committed));
	json_t *j = NULL;
	int found = engine_inspect(e, "images", committed, &j, err);
	json_decref(j);
	if (found < 0)
		return -1;
	snprintf(buf, size, "%s", found ? committed : rec->image);
	return 0;
}

/* The home volume, made before the container with the instance's labels:
 * Podman ignores a mount's VolumeOptions when it makes the volume itself,
 * and cleanup finds volumes by label. */
static int volume_ensure(struct engine *e, const struct config *cfg, const char *user,
                         struct err *err)
{
	char volume[128], path[200];
	box_volume_name(cfg->instance, user, volume, sizeof(volume));
	snprintf(path, sizeof(path), "/volumes/%s", volume);
	long status = 0;
	json_t *answer = NULL;
	if (engine_request(e, "GET", path, NULL, 15, &status, &answer, err) < 0)
		return -1;
	json_decref(answer);
	if (status == 200)
		return 0;
	json_t *body = json_pack("{s:s,s:o}", "Name", volume, "Labels", labels(cfg, user));
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build volume spec");
	static const long ok[] = {200, 201, 0};
	int rc =
	    engine_call(e, "POST", "/volumes/create", body, 60, ok, "create volume", NULL, err);
	json_decref(body);
	return rc;
}

static int create(struct engine *e, const struct config *cfg, const char *user,
                  const struct user_record *rec, struct err *err)
{
	char image[CONFIG_STR_MAX], name[128], path[256];
	if (pick_image(e, cfg, user, rec, image, sizeof(image), err) < 0)
		return -1;
	json_t *found = NULL;
	int has = engine_inspect(e, "images", image, &found, err);
	json_decref(found);
	if (has < 0)
		return -1;
	if (has == 0)
		return err_set(err, ENOENT, "image \"%s\" does not exist on the engine", image);
	if (network_ensure(e, cfg, err) < 0 || volume_ensure(e, cfg, user, err) < 0)
		return -1;
	/* Every bind's source exists before create: Podman makes a missing
	 * one a directory right then (Docker only at start). */
	if (flags_prepare(cfg, user, err) < 0 || (rec->fuse && fusesvc_prepare(cfg, user, err) < 0))
		return -1;
	box_container_name(cfg->instance, user, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	json_t *body = create_body(cfg, user, rec, image);
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build container spec");
	static const long ok[] = {201, 0};
	int rc = engine_call(e, "POST", path, body, 60, ok, "create container", NULL, err);
	json_decref(body);
	return rc;
}

static int start(struct engine *e, const char *id, struct err *err)
{
	char path[128];
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	static const long ok[] = {204, 304, 0};
	return engine_call(e, "POST", path, NULL, 60, ok, "start container", NULL, err);
}

int container_commit(struct engine *e, const struct config *cfg, const char *user, const char *id,
                     const char *comment, char *ret_image_id, size_t size, struct err *err)
{
	char image[128], repo[96], path[512], old_id[80] = "", note[200] = "";
	box_image_name(cfg->instance, user, image, sizeof(image));
	snprintf(repo, sizeof(repo), "%.*s", (int)(strchr(image, ':') - image), image);
	json_t *old = NULL;
	if (engine_inspect(e, "images", image, &old, err) > 0)
		snprintf(old_id, sizeof(old_id), "%s",
		         json_string_value(json_object_get(old, "Id"))
		             ? json_string_value(json_object_get(old, "Id"))
		             : "");
	json_decref(old);
	/* An image no container of it could start from (a symlink where sshbox
	 * mounts: the engine would follow it) is never made: the user is told
	 * now, not at the next start. */
	char target[256];
	const char *where = NULL;
	int link = boxfiles_find_link(e, id, &where, target, sizeof(target), err);
	if (link != 0)
		return link < 0
		           ? -1
		           : err_set(err, ELOOP,
		                     "not committed: %s in your container is a symlink (to "
		                     "\"%.100s\"), where sshbox mounts its own files, so no "
		                     "container could start from that image; put the directory "
		                     "back and commit again",
		                     where, target);
	/* The old image keeps its name until the engine has written the new one. */
	if (comment != NULL && engine_urlencode(comment, note, sizeof(note)) < 0)
		return err_set(err, ENAMETOOLONG, "commit comment too long");
	snprintf(path, sizeof(path), "/commit?container=%s&repo=%s&tag=%s&pause=true%s%s", id, repo,
	         user, note[0] ? "&comment=" : "", note);
	static const long ok[] = {201, 0};
	json_t *answer = NULL;
	/* A body of {} (no changes to the config): Podman refuses an empty one. */
	json_t *changes = json_object();
	int rc =
	    engine_call(e, "POST", path, changes, COMMIT_TIMEOUT_S, ok, "commit", &answer, err);
	json_decref(changes);
	if (rc < 0)
		return -1;
	const char *new_id = json_string_value(json_object_get(answer, "Id"));
	snprintf(ret_image_id, size, "%s", new_id ? new_id : "?");
	if (old_id[0] != '\0' && (new_id == NULL || strcmp(new_id, old_id) != 0)) {
		/* Best effort: an image still used by a container stays. */
		struct err ignored = {0};
		snprintf(path, sizeof(path), "/images/%s", old_id);
		static const long gone[] = {200, 0};
		engine_call(e, "DELETE", path, NULL, 60, gone, "remove old image", NULL, &ignored);
	}
	json_decref(answer);
	return 0;
}

/* A stopped container of an older, less isolated spec: saved as the user's
 * image, then removed, so the caller creates it anew from that image. */
static int migrate(struct engine *e, const struct config *cfg, const char *user,
                   const struct container_info *info, struct err *err)
{
	char image_id[80], path[160];
	if (container_commit(e, cfg, user, info->id, NULL, image_id, sizeof(image_id), err) < 0)
		return err_wrap(err, "cannot save the container of an older sshbox before "
		                     "re-creating it");
	snprintf(path, sizeof(path), "/containers/%s?force=1", info->id);
	static const long ok[] = {204, 0};
	if (engine_call(e, "DELETE", path, NULL, 60, ok, "remove container", NULL, err) < 0)
		return -1;
	log_info("user \"%s\": container %.12s of spec %d saved as %.19s and re-created with "
	         "spec %d",
	         user, info->id, info->spec, image_id, BOX_SPEC_VERSION);
	return 0;
}

int container_ensure(struct engine *e, const struct config *cfg, const char *user,
                     const struct user_record *rec, int alone, unsigned long long *fenced,
                     struct container_info *ret_info, enum container_path *ret_path,
                     struct err *err)
{
	struct container_info info;
	enum container_path path = CONTAINER_WAS_RUNNING;
	int found = box_lookup(e, cfg, user, &info, err);
	if (found < 0)
		return -1;
	/* A running container of an older spec is re-created as well when this
	 * login is its user's only session: nothing live is cut. */
	if (found && info.running && info.spec < BOX_SPEC_VERSION && alone) {
		if (box_stop(e, info.id, 0, err) < 0)
			return -1;
		info.running = 0;
	}
	if (found && !info.running && info.spec < BOX_SPEC_VERSION) {
		if (migrate(e, cfg, user, &info, err) < 0)
			return -1;
		found = 0;
	} else if (found && info.spec < BOX_SPEC_VERSION) {
		log_warn(
		    "user \"%s\": container %.12s runs with the older spec %d; it is re-created "
		    "with spec %d when its last session ends (daemon mode does not keep it)",
		    user, info.id, info.spec, BOX_SPEC_VERSION);
	}
	/* The bundle current now (built when the host's OpenSSH changed), before
	 * a create (the engine would make a missing bind source a directory)
	 * and every start (the engine resolves it then). */
	char key[BUNDLE_KEYMAX];
	if ((found == 0 || !info.running) && bundle_ensure(cfg, key, sizeof(key), err) < 0)
		return -1;
	if (found == 0) {
		path = CONTAINER_CREATED;
		if (create(e, cfg, user, rec, err) < 0)
			return -1;
		found = box_lookup(e, cfg, user, &info, err);
		if (found <= 0)
			return found < 0 ? -1
			                 : err_set(err, ENOENT, "container vanished after create");
	}
	if (!info.running) {
		if (path == CONTAINER_WAS_RUNNING)
			path = CONTAINER_STARTED;
		/* The bind sources first: the engine's archive upload mounts the
		 * container's binds, making a missing source a directory. */
		if (flags_prepare(cfg, user, err) < 0 ||
		    boxfiles_check_links(e, info.id, info.image, err) < 0 ||
		    boxfiles_prepare(e, info.id, err) < 0 || start(e, info.id, err) < 0)
			return -1;
		if (box_lookup(e, cfg, user, &info, err) <= 0)
			return -1;
		if (!info.running)
			return err_set(err, ECHILD, "container stopped right after start");
	}
	/* Once per container start (and once after a watchdog restart). A
	 * container that cannot be fenced does not run. */
	unsigned long long fence = netfence_key(info.pid);
	if (fence == 0 || *fenced != fence) {
		if (netfence_apply(info.pid, info.id, err) < 0) {
			struct err ignored = {0};
			box_stop(e, info.id, 0, &ignored);
			return err_wrap(err, "cannot fence the container's network (stopped it)");
		}
		*fenced = fence;
	}
	*ret_info = info;
	if (ret_path != NULL)
		*ret_path = path;
	return 0;
}

/* The swarm implementation gives its tasks the same capabilities. */
const char *const *container_kept_caps(void)
{
	return kept_caps;
}
