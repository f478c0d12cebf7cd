#include "swarm_plock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "swarm.h"

#define PLOCK_TIMEOUT_S 30
#define HOLDER_MAX      128

long swarm_plock_age(const char *created, long now)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = created != NULL ? strptime(created, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (rest == NULL || (*rest != '.' && *rest != 'Z'))
		return -1;
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? -1 : (now > (long)t ? now - (long)t : 0);
}

static int create(struct engine *e, const char *name, const struct config *cfg, const char *user,
                  const char *holder, char *ret_id, size_t id_size, struct err *err)
{
	char enc[HOLDER_MAX * 2];
	if (b64_encode(holder, strlen(holder), enc, sizeof(enc), err) < 0)
		return -1;
	json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "Name", name, "Data", enc, "Labels",
	                         SWARM_LABEL_INSTANCE, cfg->instance, SWARM_LABEL_USER, user);
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build the swarm config \"%s\"", name);
	long status = 0;
	json_t *answer = NULL;
	int rc = engine_request(e, "POST", "/configs/create", body, PLOCK_TIMEOUT_S, &status,
	                        &answer, err);
	json_decref(body);
	static const long ok[] = {200, 201, 0};
	if (rc == 0 && status == 409)
		rc = 1;
	else if (rc == 0 && engine_expect(status, answer, ok, "create a swarm config", err) < 0)
		rc = -1;
	const char *id = json_string_value(json_object_get(answer, "ID"));
	if (rc == 0 && (id == NULL || strlen(id) >= id_size))
		rc = err_set(err, EPROTO, "the swarm config \"%s\" has no usable ID", name);
	if (rc == 0)
		snprintf(ret_id, id_size, "%s", id);
	json_decref(answer);
	return rc;
}

/* The lock that exists: 1 to take it (stale: its ID in ret_id; gone
 * meanwhile: ret_id untouched), -1 with err (held: who and since when). */
static int judge(struct engine *e, const char *name, const struct config *cfg, const char *user,
                 char *ret_id, size_t id_size, struct err *err)
{
	char holder[HOLDER_MAX] = "?";
	char path[200];
	json_t *lock = NULL;
	long status = 0;
	static const long ok[] = {200, 0};
	snprintf(path, sizeof(path), "/configs/%s", name);
	if (engine_request(e, "GET", path, NULL, PLOCK_TIMEOUT_S, &status, &lock, err) < 0)
		return -1;
	if (status == 404) {
		json_decref(lock);
		return 1; /* released meanwhile: take it */
	}
	if (engine_expect(status, lock, ok, "read a swarm config", err) < 0) {
		json_decref(lock);
		return -1;
	}
	json_t *spec = json_object_get(lock, "Spec");
	json_t *labels = json_object_get(spec, "Labels");
	const char *inst = json_string_value(json_object_get(labels, SWARM_LABEL_INSTANCE));
	const char *owner = json_string_value(json_object_get(labels, SWARM_LABEL_USER));
	const char *id = json_string_value(json_object_get(lock, "ID"));
	const char *data = json_string_value(json_object_get(spec, "Data"));
	struct err ignored = {0};
	if (data == NULL || b64_decode(data, holder, sizeof(holder), &ignored) < 0)
		snprintf(holder, sizeof(holder), "?");
	holder[strcspn(holder, "\n")] = '\0';
	for (char *c = holder; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?'; /* shown to the admin as it is */
	long age = swarm_plock_age(json_string_value(json_object_get(lock, "CreatedAt")),
	                           (long)time(NULL));
	int rc;
	if (inst == NULL || strcmp(inst, cfg->instance) != 0 || owner == NULL ||
	    strcmp(owner, user) != 0 || id == NULL || strlen(id) >= id_size)
		rc = err_set(err, EEXIST,
		             "a swarm config \"%s\" exists that is not this instance's lock for "
		             "\"%s\": remove or rename it",
		             name, user);
	else if (age < 0)
		rc = err_set(err, EPROTO,
		             "the createuser lock \"%s\" of \"%s\" has no readable creation "
		             "time; if no createuser of \"%s\" runs, remove it",
		             name, user, user);
	else if (age < SWARM_PLOCK_STALE_S)
		rc = err_set(err, EBUSY,
		             "another createuser of \"%s\" is under way in the swarm (%s, %ld s "
		             "ago); run createuser again when it has finished",
		             user, holder, age);
	else {
		snprintf(ret_id, id_size, "%s", id);
		rc = 1;
	}
	json_decref(lock);
	return rc;
}

int swarm_plock_take(struct engine *e, const struct config *cfg, const char *user,
                     const char *holder, char *ret_id, size_t id_size, struct err *err)
{
	char name[160], stale[80];
	int n = snprintf(name, sizeof(name), "%s-provision-%s", cfg->instance, user);
	if (n < 0 || (size_t)n >= sizeof(name))
		return err_set(err, ENAMETOOLONG, "swarm config name too long");
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = create(e, name, cfg, user, holder, ret_id, id_size, err);
		if (rc <= 0)
			return rc;
		stale[0] = '\0';
		rc = judge(e, name, cfg, user, stale, sizeof(stale), err);
		if (rc <= 0)
			return -1;
		if (stale[0] != '\0') /* by the ID judged, not the name */
			swarm_plock_release(e, stale);
	}
	return err_set(err, EBUSY, "the createuser lock \"%s\" of \"%s\" kept changing", name,
	               user);
}

void swarm_plock_release(struct engine *e, const char *id)
{
	char path[160];
	long status = 0;
	json_t *answer = NULL;
	struct err ignored = {0};
	snprintf(path, sizeof(path), "/configs/%s", id);
	engine_request(e, "DELETE", path, NULL, PLOCK_TIMEOUT_S, &status, &answer, &ignored);
	json_decref(answer);
}
