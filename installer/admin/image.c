/* Checks an image before a user is pointed at it: it exists on the engine
 * and has a shell at /bin/sh (looked up in a created, never started,
 * container that is removed again). Its sshd comes from the host
 * (watchdog/bundle.h): the image needs none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "engine.h"
#include "names.h"

static int has_shell(struct engine *e, const char *image, struct err *err)
{
	char path[256];
	long status = 0;
	json_t *answer = NULL;
	json_t *body = json_pack("{s:s,s:[s],s:{s:b}}", "Image", image, "Cmd", "/bin/true",
	                         "HostConfig", "AutoRemove", 0);
	int rc = engine_request(e, "POST", "/containers/create", body, 60, &status, &answer, err);
	json_decref(body);
	static const long created[] = {201, 0};
	if (rc < 0 || engine_expect(status, answer, created, "create a check container", err) < 0) {
		json_decref(answer);
		return -1;
	}
	char id[80];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(answer, "Id")));
	json_decref(answer);
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2Fbin%%2Fsh", id);
	int found = -1;
	if (engine_request(e, "HEAD", path, NULL, 30, &status, NULL, err) == 0)
		found = status == 200 ? 1 : status == 404 ? 0 : -1;
	if (found < 0 && err->msg[0] == '\0')
		err_set(err, EIO, "engine answered %ld when looking for /bin/sh", status);
	snprintf(path, sizeof(path), "/containers/%s?force=1", id);
	struct err ignored = {0};
	engine_request(e, "DELETE", path, NULL, 30, &status, NULL, &ignored);
	return found;
}

int image_check(const struct config *cfg, const char *image, struct err *err)
{
	if (!image_name_valid(image))
		return err_set(err, EINVAL, "invalid image name \"%s\"", image);
	struct engine *e = NULL;
	if (engine_open(cfg, &e, err) < 0)
		return -1;
	json_t *j = NULL;
	int rc = engine_inspect(e, "images", image, &j, err);
	json_decref(j);
	if (rc < 0) {
		err_wrap(err, "cannot check image \"%s\"", image);
	} else if (rc == 0) {
		rc = err_set(err, ENOENT, "image \"%s\" does not exist on the engine", image);
	} else {
		rc = has_shell(e, image, err);
		if (rc == 0)
			rc = err_set(err, ENOENT,
			             "image \"%s\" has no usable shell: /bin/sh is missing (sshbox "
			             "needs one in the image; see docs/admin-guide.md)",
			             image);
		else if (rc < 0)
			err_wrap(err, "cannot check image \"%s\"", image);
	}
	engine_close(e);
	return rc < 0 ? -1 : 0;
}
