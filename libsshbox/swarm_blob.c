#include "swarm_blob.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "swarm.h"

#define BLOB_TIMEOUT_S 30
#define BLOB_DATA_MAX  8192
/* cleanuser: a task being removed keeps its secret in use for a moment. */
#define IN_USE_TRIES   50
#define IN_USE_WAIT_US (200 * 1000)

static const char *const kinds[SWARM_BLOBS] = {"secrets", "configs", "configs"};
static const char *const parts[SWARM_BLOBS] = {"hostkey", "authkeys", "innerkey"};

const char *swarm_blob_kind(enum swarm_blob b)
{
	return kinds[b];
}

static const char *noun(enum swarm_blob b)
{
	return b == SWARM_BLOB_HOSTKEY ? "secret" : "config";
}

int swarm_blob_name(const struct config *cfg, const char *user, enum swarm_blob b, char *buf,
                    size_t size, struct err *err)
{
	int n = snprintf(buf, size, "%s-%s-%s", cfg->instance, parts[b], user);
	return n < 0 || (size_t)n >= size
	           ? err_set(err, ENAMETOOLONG, "swarm %s name too long", noun(b))
	           : 0;
}

int swarm_blob_create(struct engine *e, const struct config *cfg, const char *user,
                      enum swarm_blob b, const char *data, char *ret_id, size_t id_size,
                      struct err *err)
{
	char enc[BLOB_DATA_MAX * 2], name[160], path[64];
	if (swarm_blob_name(cfg, user, b, name, sizeof(name), err) < 0 ||
	    b64_encode(data, strlen(data), enc, sizeof(enc), err) < 0)
		return -1;
	json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "Name", name, "Data", enc, "Labels",
	                         SWARM_LABEL_INSTANCE, cfg->instance, SWARM_LABEL_USER, user);
	memset(enc, 0, sizeof(enc)); /* the host key's and inner key's text */
	if (body == NULL)
		return err_set(err, ENOMEM, "cannot build the swarm %s \"%s\"", noun(b), name);
	snprintf(path, sizeof(path), "/%s/create", kinds[b]);
	long status = 0;
	json_t *answer = NULL;
	int rc = engine_request(e, "POST", path, body, BLOB_TIMEOUT_S, &status, &answer, err);
	json_decref(body);
	static const long ok[] = {200, 201, 0};
	if (rc == 0 && status == 409)
		rc = err_set(err, EEXIST,
		             "a swarm %s \"%s\" exists that is not this instance's (label %s=%s) "
		             "for \"%s\": remove or rename it",
		             noun(b), name, SWARM_LABEL_INSTANCE, cfg->instance, user);
	else if (rc == 0)
		rc = engine_expect(status, answer, ok, "create a swarm secret or config", err);
	const char *id = json_string_value(json_object_get(answer, "ID"));
	if (rc == 0 && id == NULL)
		rc = err_set(err, EPROTO, "swarm %s \"%s\" has no ID", noun(b), name);
	if (rc == 0)
		snprintf(ret_id, id_size, "%s", id);
	json_decref(answer);
	return rc;
}

void swarm_blob_drop(struct engine *e, enum swarm_blob b, const char *id)
{
	char path[160];
	struct err ignored = {0};
	long status = 0;
	json_t *answer = NULL;
	snprintf(path, sizeof(path), "/%s/%s", kinds[b], id);
	engine_request(e, "DELETE", path, NULL, BLOB_TIMEOUT_S, &status, &answer, &ignored);
	json_decref(answer);
}

/* 1 when the blob named name is this instance's and, if labelled with a
 * user, this user's; 0 when it is missing or not ours; -1 on error. */
static int ours(struct engine *e, const struct config *cfg, const char *user, enum swarm_blob b,
                const char *name, char *ret_id, size_t id_size, struct err *err)
{
	char path[200];
	long status = 0;
	json_t *blob = NULL;
	snprintf(path, sizeof(path), "/%s/%s", kinds[b], name);
	if (engine_request(e, "GET", path, NULL, BLOB_TIMEOUT_S, &status, &blob, err) < 0)
		return -1;
	static const long ok[] = {200, 0};
	if (status == 404 ||
	    engine_expect(status, blob, ok, "read a swarm secret or config", err) < 0) {
		json_decref(blob);
		return status == 404 ? 0 : -1;
	}
	json_t *labels = json_object_get(json_object_get(blob, "Spec"), "Labels");
	const char *inst = json_string_value(json_object_get(labels, SWARM_LABEL_INSTANCE));
	const char *owner = json_string_value(json_object_get(labels, SWARM_LABEL_USER));
	/* Matched by name too: a name with a user's name in it is that user's. */
	const char *got = json_string_value(json_object_get(json_object_get(blob, "Spec"), "Name"));
	int mine = inst != NULL && strcmp(inst, cfg->instance) == 0 &&
	           (owner == NULL || strcmp(owner, user) == 0) && got != NULL &&
	           strcmp(got, name) == 0;
	const char *id = json_string_value(json_object_get(blob, "ID"));
	if (mine && (id == NULL || strlen(id) >= id_size ||
	             strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(id)))
		mine = err_set(err, EBADMSG, "the swarm %s \"%s\" has no usable ID", noun(b), name);
	else if (mine)
		snprintf(ret_id, id_size, "%s", id);
	json_decref(blob);
	return mine;
}

/* Removes the named blob when it is ours, trying tries times while swarm
 * refuses (in use); 0 when it is gone or not ours. */
static int remove_ours(struct engine *e, const struct config *cfg, const char *user,
                       enum swarm_blob b, int tries, struct err *err)
{
	char name[160], id[80], path[200];
	if (swarm_blob_name(cfg, user, b, name, sizeof(name), err) < 0)
		return -1;
	int mine = ours(e, cfg, user, b, name, id, sizeof(id), err);
	if (mine <= 0)
		return mine;
	/* By the ID just judged: not whatever carries the name by then. */
	snprintf(path, sizeof(path), "/%s/%s", kinds[b], id);
	static const long ok[] = {200, 204, 404, 0};
	int rc = -1;
	for (int i = 0; i < tries && rc < 0; i++) {
		if (i > 0)
			usleep(IN_USE_WAIT_US);
		rc = engine_call(e, "DELETE", path, NULL, BLOB_TIMEOUT_S, ok,
		                 "remove the user's swarm secret or config", NULL, err);
	}
	return rc < 0 ? err_wrap(err, "cannot remove the swarm %s \"%s\"", noun(b), name) : 0;
}

int swarm_blob_clear_leftovers(struct engine *e, const struct config *cfg, const char *user,
                               struct err *err)
{
	for (int b = 0; b < SWARM_BLOBS; b++)
		if (remove_ours(e, cfg, user, (enum swarm_blob)b, 1, err) < 0)
			return err_wrap(
			    err, "cannot clear what an earlier createuser of \"%s\" left", user);
	return 0;
}

int swarm_blob_remove_all(struct engine *e, const struct config *cfg, const char *user,
                          struct err *err)
{
	for (int b = 0; b < SWARM_BLOBS; b++)
		if (remove_ours(e, cfg, user, (enum swarm_blob)b, IN_USE_TRIES, err) < 0)
			return -1;
	return 0;
}
