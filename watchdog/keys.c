#include "keys.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "authkeys.h"
#include "b64.h"
#include "engine.h"
#include "log.h"
#include "swarm.h"
#include "swarm_blob.h"
#include "swarm_health.h"

#define KEYS_MAX 8192

/* A swarm config of the user's, its labels checked: this instance's and,
 * when labelled with a user (createuser since issue 14's review), hers. */
static int user_config(struct engine *e, const struct config *cfg, const char *user,
                       enum swarm_blob b, char *buf, size_t size, struct err *err)
{
	char name[160], path[200];
	if (swarm_blob_name(cfg, user, b, name, sizeof(name), err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/configs/%s", name);
	json_t *c = NULL;
	static const long ok[] = {200, 0};
	if (engine_call(e, "GET", path, NULL, SWARM_CALL_TIMEOUT_S, ok, "read a swarm config", &c,
	                err) < 0)
		return -1;
	json_t *spec = json_object_get(c, "Spec");
	json_t *labels = json_object_get(spec, "Labels");
	const char *inst = json_string_value(json_object_get(labels, SWARM_LABEL_INSTANCE));
	const char *owner = json_string_value(json_object_get(labels, SWARM_LABEL_USER));
	const char *data = json_string_value(json_object_get(spec, "Data"));
	int rc;
	if (inst == NULL || strcmp(inst, cfg->instance) != 0 ||
	    (owner != NULL && strcmp(owner, user) != 0))
		rc = err_set(err, EPERM, "swarm config \"%s\" is not this instance's of \"%s\"",
		             name, user);
	else if (data == NULL)
		rc = err_set(err, EPROTO, "swarm config \"%s\" has no data", name);
	else
		rc = b64_decode(data, buf, size, err) < 0 ? -1 : 0;
	json_decref(c);
	return rc;
}

/* The user's keys from the cluster: only for a user with a service of this
 * instance whose record's uid is the host account's. */
static int user_keys(const struct config *cfg, const char *user, char *ret_keys, size_t size,
                     struct err *err)
{
	struct engine *e = NULL;
	json_t *svc = NULL;
	struct user_record rec;
	char authkeys[KEYS_MAX], inner[KEYS_MAX], blob[1024];
	int rc = -1;
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res);
	if (res == NULL)
		return err_set(err, ENOENT, "\"%s\" has no account on this host", user);
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	int found = swarm_service_get(e, cfg, user, &svc, err);
	if (found == 0)
		err_set(err, ENOENT, "\"%s\" is not an sshbox user of instance \"%s\"", user,
		        cfg->instance);
	if (found <= 0 || swarm_record(svc, user, &rec, err) < 0)
		goto out;
	if (rec.uid != res->pw_uid) {
		err_set(err, EPERM, "the record of \"%s\" is for uid %u, the account has uid %u",
		        user, (unsigned)rec.uid, (unsigned)res->pw_uid);
		goto out;
	}
	if (user_config(e, cfg, user, SWARM_BLOB_AUTHKEYS, authkeys, sizeof(authkeys), err) < 0 ||
	    user_config(e, cfg, user, SWARM_BLOB_INNERKEY, inner, sizeof(inner), err) < 0 ||
	    authkeys_public_blob(inner, blob, sizeof(blob), err) < 0)
		goto out;
	int kept = authkeys_without(authkeys, blob, ret_keys, size, err);
	if (kept == 0)
		err_set(err, ENOENT, "\"%s\" has no keys of her own in the cluster", user);
	rc = kept > 0 ? 0 : -1;
out:
	memset(inner, 0, sizeof(inner));
	json_decref(svc);
	engine_close(e);
	return rc;
}

static void reply(struct conn *c, json_t *r)
{
	proto_send(c->fd, r, -1, REPLY_TIMEOUT_MS, NULL);
	json_decref(r);
}

void keys_serve(struct conn *c, const struct config *cfg, const struct proto_request *req)
{
	struct err err = {0};
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	getpwnam_r(cfg->keys_user, &pw, pwbuf, sizeof(pwbuf), &res);
	if (c->uid != 0 && (res == NULL || res->pw_uid != c->uid)) {
		log_warn("user \"%s\" uid %u pid %d: refused: keys are for root and the keys user "
		         "\"%s\" only",
		         c->user, (unsigned)c->uid, (int)c->pid, cfg->keys_user);
		reply(c, proto_error_reply("only root and the keys user may ask for keys"));
		return;
	}
	if (cfg->engine_mode != ENGINE_MODE_SWARM) {
		reply(c, proto_error_reply(
		             "keys are served in swarm mode only (engine_mode = swarm)"));
		return;
	}
	char keys[KEYS_MAX];
	if (user_keys(cfg, req->user, keys, sizeof(keys), &err) < 0) {
		log_warn("keys for \"%s\" (asked by uid %u): none: %s", req->user, (unsigned)c->uid,
		         err.msg);
		char msg[ERR_MSG_MAX + 32];
		snprintf(msg, sizeof(msg), "no keys: %s", err.msg);
		reply(c, proto_error_reply(msg));
		return;
	}
	reply(c, json_pack("{s:b,s:s}", "ok", 1, "keys", keys));
}
