/* What the outer session asked for, from SSH_ORIGINAL_COMMAND. */
#ifndef SSHBOX_COMMAND_H
#define SSHBOX_COMMAND_H

enum command_kind { COMMAND_SHELL, COMMAND_EXEC, COMMAND_SFTP };

/* NULL is a login shell. OpenSSH runs the ForceCommand for a subsystem
 * request with SSH_ORIGINAL_COMMAND set to the host's configured sftp
 * command ("/usr/lib/openssh/sftp-server", "internal-sftp", with or without
 * arguments such as "-l INFO"): those open the container's sftp subsystem. */
enum command_kind command_classify(const char *original_command);

#endif
