/* sshbox: the admin CLI (root). */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "err.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sshbox [--config FILE] COMMAND ...\n"
	           "  createuser USER IMAGE PUBKEY_FILE [--memory SIZE] [--cpus N] [--pids N] "
	           "[--fuse] [--mount HOST:CONT[:ro]] [--node NODE]\n"
	           "  cleanuser USER [--purge]\n"
	           "  set USER KEY=VALUE...\n"
	           "  move USER NODE          (engine_mode = swarm)\n"
	           "  list\n"
	           "  status USER\n"
	           "  version\n");
}

int main(int argc, char **argv)
{
	const char *config_path = SSHBOX_DEFAULT_CONFIG;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("sshbox %s\n", SSHBOX_VERSION_STRING);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "sshbox: unknown option \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "version") == 0) {
		printf("sshbox %s\n", SSHBOX_VERSION_STRING);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "sshbox: must be run as root\n");
		return 1;
	}
	struct err err = {0};
	struct config cfg;
	if (config_load(config_path, &cfg, &err) < 0) {
		fprintf(stderr, "sshbox: %s\n", err.msg);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	const char *cmd = argv[i];
	int rc;
	if (strcmp(cmd, "createuser") == 0) {
		rc = cmd_createuser(&cfg, argc - i, argv + i, &err);
	} else if (strcmp(cmd, "cleanuser") == 0) {
		rc = cmd_cleanuser(&cfg, argc - i, argv + i, &err);
	} else if (strcmp(cmd, "set") == 0) {
		rc = cmd_set(&cfg, argc - i, argv + i, &err);
	} else if (strcmp(cmd, "move") == 0) {
		rc = cmd_move(&cfg, argc - i, argv + i, &err);
	} else if (strcmp(cmd, "list") == 0) {
		rc = cmd_list(&cfg, argc - i, argv + i, &err);
	} else if (strcmp(cmd, "status") == 0) {
		rc = cmd_status(&cfg, argc - i, argv + i, &err);
	} else {
		fprintf(stderr, "sshbox: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "sshbox %s: %s\n", cmd, err.msg);
		return 1;
	}
	return 0;
}
