#include "swarm_sshd.h"

#include <stdio.h>
#include <string.h>

#include "bundle.h"

/* Shell builtins only (the image needs a shell and nothing else): adds
 * root and sshd's privilege-separation user to the container's own
 * /etc/passwd when they are missing (sshd's uid: above the highest system
 * uid there; an unterminated last line is ended first), then runs the
 * bundle's sshd. /run/sshd is a tmpfs. */
static const char script[] =
    "p=/etc/passwd; r=; s=; m=100; nl=\n"
    "if [ -r $p ]; then\n"
    " while IFS=: read -r n x i rest || { [ -n \"$n\" ] && nl=y; }; do\n"
    "  case $n in root) r=1 ;; sshd) s=1 ;; esac\n"
    "  case $i in ''|*[!0-9]*) ;; *) [ \"$i\" -ge $m ] && [ \"$i\" -lt 999 ] && m=$((i + 1)) ;;"
    " esac\n"
    "  [ -z \"$nl\" ] || break\n"
    " done <$p\n"
    "fi\n"
    "[ -z \"$nl\" ] || echo >>$p\n"
    "[ -n \"$r\" ] || echo 'root:x:0:0:root:/root:/bin/sh' >>$p\n"
    "[ -n \"$s\" ] || echo \"sshd:x:$m:65534:sshd privsep:/run/sshd:/bin/false\" >>$p\n"
    "exec " BUNDLE_MOUNT "/sshd -D -e -f " BUNDLE_MOUNT "/sshd_config\n";

void swarm_sshd_spec(const char *home_state_dir, json_t *cs)
{
	char src[CONFIG_STR_MAX + 32];
	json_t *old = json_object_get(cs, "Mounts");
	json_t *mounts = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(old, i, m)
	{
		const char *target = json_string_value(json_object_get(m, "Target"));
		if (target == NULL ||
		    (strcmp(target, BUNDLE_MOUNT) != 0 && strcmp(target, "/run/sshd") != 0))
			json_array_append(mounts, m);
	}
	/* The home node's own bundle, built by its watchdog at start, under
	 * the state dir it publishes (label sshbox.flags, swarm_flags.h). */
	if (bundle_current_in(home_state_dir, src, sizeof(src)) == 0)
		json_array_append_new(mounts,
		                      json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source", src,
		                                "Target", BUNDLE_MOUNT, "ReadOnly", 1));
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:{s:i}}", "Type", "tmpfs", "Target",
	                                        "/run/sshd", "TmpfsOptions", "Mode", 0755));
	json_object_set_new(cs, "Mounts", mounts);
	json_object_set_new(cs, "Command", json_pack("[s,s,s]", "/bin/sh", "-c", script));
}
