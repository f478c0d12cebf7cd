#include "command.h"

#include <string.h>

static const char *const sftp_servers[] = {
    "internal-sftp",
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/libexec/sftp-server",
    "/usr/lib/sftp-server",
    "/usr/lib/ssh/sftp-server",
    NULL,
};

enum command_kind command_classify(const char *command)
{
	if (command == NULL)
		return COMMAND_SHELL;
	size_t n = strcspn(command, " \t");
	for (int i = 0; sftp_servers[i]; i++) {
		if (strlen(sftp_servers[i]) != n || strncmp(command, sftp_servers[i], n) != 0)
			continue;
		/* Only options may follow ("-l INFO", "-f AUTH", "-u 022"). */
		const char *p = command + n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '-')
			return COMMAND_SFTP;
	}
	return COMMAND_EXEC;
}
