/* Name rules. User names: Debian's default NAME_REGEX, lowercase only, so
 * that they are also valid in container, volume and image tag names. */
#ifndef SSHBOX_NAMES_H
#define SSHBOX_NAMES_H

#include <stddef.h>

#define USER_NAME_MAX 32

int user_name_valid(const char *name);     /* ^[a-z_][a-z0-9_-]{0,31}$ */
int instance_name_valid(const char *name); /* ^[a-z0-9]+(-[a-z0-9]+)*$, <= 32 */
int image_name_valid(const char *name);    /* a Docker image reference */

/* Engine object names for one user of an instance. Return -1 if too long. */
int box_container_name(const char *instance, const char *user, char *buf, size_t size);
int box_volume_name(const char *instance, const char *user, char *buf, size_t size);
int box_image_name(const char *instance, const char *user, char *buf, size_t size);
/* Swarm mode: the container's writable layer saved at a stop (INSTANCE-layer:USER). */
int box_layer_image_name(const char *instance, const char *user, char *buf, size_t size);

#endif
