#include "enginekind.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char cached_where[CONFIG_STR_MAX];
static int cached_kind = -1;

/* Podman names itself in Components ("Podman Engine") and, in some builds,
 * in Platform.Name; Docker says "Engine" and "Docker Engine - ...". */
enum engine_kind engine_kind_of_version(json_t *version)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(version, "Components"), i, c)
	{
		const char *name = json_string_value(json_object_get(c, "Name"));
		if (name != NULL && strstr(name, "Podman") != NULL)
			return ENGINE_KIND_PODMAN;
	}
	const char *platform =
	    json_string_value(json_object_get(json_object_get(version, "Platform"), "Name"));
	if (platform != NULL && strstr(platform, "Podman") != NULL)
		return ENGINE_KIND_PODMAN;
	return ENGINE_KIND_DOCKER;
}

const char *engine_kind_name(enum engine_kind kind)
{
	return kind == ENGINE_KIND_PODMAN ? "podman" : "docker";
}

int engine_kind(struct engine *e, struct err *err)
{
	const char *where = engine_where(e);
	pthread_mutex_lock(&cache_lock);
	int kind = strcmp(cached_where, where) == 0 ? cached_kind : -1;
	pthread_mutex_unlock(&cache_lock);
	if (kind >= 0)
		return kind;
	static const long ok[] = {200, 0};
	json_t *version = NULL;
	if (engine_call(e, "GET", "/version", NULL, 15, ok, "engine version", &version, err) < 0)
		return -1;
	kind = (int)engine_kind_of_version(version);
	json_decref(version);
	pthread_mutex_lock(&cache_lock);
	snprintf(cached_where, sizeof(cached_where), "%s", where);
	cached_kind = kind;
	pthread_mutex_unlock(&cache_lock);
	return kind;
}
