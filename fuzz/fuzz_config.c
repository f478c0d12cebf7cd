/* sshbox.conf as config_load reads it: the whole file in a buffer of exactly
 * its size. An accepted config holds only values its checks allow. */
#include "fuzz.h"

#include "config.h"
#include "kvfile.h"
#include "names.h"

static void check_config(const struct config *cfg)
{
	FUZZ_CHECK_STR(cfg->engine);
	FUZZ_CHECK_STR(cfg->cert_path);
	FUZZ_CHECK_STR(cfg->socket);
	FUZZ_CHECK_STR(cfg->state_dir);
	FUZZ_CHECK_STR(cfg->instance);
	FUZZ_CHECK_STR(cfg->group);
	FUZZ_CHECK_STR(cfg->default_image);
	FUZZ_CHECK(cfg->engine[0] == '/' || strncmp(cfg->engine, "tcp://", 6) == 0 ||
	           strncmp(cfg->engine, "unix://", 7) == 0);
	FUZZ_CHECK(cfg->cert_path[0] == '\0' || cfg->cert_path[0] == '/');
	FUZZ_CHECK(cfg->socket[0] == '/' && strlen(cfg->socket) < 108);
	FUZZ_CHECK(cfg->state_dir[0] == '/');
	FUZZ_CHECK(instance_name_valid(cfg->instance));
	FUZZ_CHECK(user_name_valid(cfg->group));
	FUZZ_CHECK(image_name_valid(cfg->default_image));
	FUZZ_CHECK(cfg->default_memory >= 0);
	FUZZ_CHECK(cfg->default_nano_cpus >= 0 && cfg->default_nano_cpus < 10000000000000LL);
	FUZZ_CHECK(cfg->default_pids >= 0 && cfg->default_pids <= 4194304);
	FUZZ_CHECK(cfg->idle_grace_seconds >= 0 && cfg->idle_grace_seconds <= 86400 * 365);
	FUZZ_CHECK(cfg->stop_timeout_seconds >= 0 && cfg->stop_timeout_seconds <= 3600);
	FUZZ_CHECK(cfg->publish_port == 0 || cfg->publish_port == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= KVFILE_MAX_BYTES) /* kv_read_file refuses larger files */
		return 0;
	char *text = malloc(size ? size : 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	struct config cfg;
	struct err err = {0};
	if (config_parse(text, size, "/etc/sshbox/sshbox.conf", &cfg, &err) == 0)
		check_config(&cfg);
	else
		FUZZ_CHECK(err.code != 0 && err.msg[0] != '\0');
	FUZZ_CHECK_STR(err.msg);
	free(text);
	return 0;
}
