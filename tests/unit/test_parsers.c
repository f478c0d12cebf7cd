/* Unit tests of the pure parsers: config, user record, names, protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "authkeys.h"
#include "b64.h"
#include "config.h"
#include "enginekind.h"
#include "fuseproto.h"
#include "names.h"
#include "proto.h"
#include "record.h"

static int parse_cfg(const char *text, struct config *cfg, struct err *err)
{
	return config_parse(text, strlen(text), "test.conf", cfg, err);
}

static void config_good(void **state)
{
	struct config cfg;
	struct err err = {0};
	assert_int_equal(parse_cfg("# c\n\n engine = tcp://127.0.0.1:2376 \nidle_grace_seconds=5\n"
	                           "default_memory = 2g\ndefault_cpus = 1.5\npublish_port = no\n",
	                           &cfg, &err),
	                 0);
	assert_string_equal(cfg.engine, "tcp://127.0.0.1:2376");
	assert_int_equal(cfg.idle_grace_seconds, 5);
	assert_int_equal(cfg.default_memory, 2LL << 30);
	assert_int_equal(cfg.default_nano_cpus, 1500000000LL);
	assert_int_equal(cfg.publish_port, 0);
	assert_int_equal(cfg.stop_timeout_seconds, 10); /* default kept */
}

/* Issue 12: a default install limits memory and pids; the shim path is the
 * accounts' login shell, and can be set. */
static void config_defaults_limit(void **state)
{
	struct config cfg;
	struct err err = {0};
	assert_int_equal(parse_cfg("", &cfg, &err), 0);
	assert_int_equal(cfg.default_memory, 4LL << 30);
	assert_int_equal(cfg.default_pids, 1024);
	assert_string_equal(cfg.shim, SSHBOX_SHIM_PATH);
	assert_int_equal(config_load(SHIPPED_CONFIG, &cfg, &err), 0);
	assert_int_equal(cfg.default_memory, 4LL << 30);
	assert_int_equal(cfg.default_pids, 1024);
	assert_int_equal(parse_cfg("shim = /opt/sshbox/shim\n", &cfg, &err), 0);
	assert_string_equal(cfg.shim, "/opt/sshbox/shim");
	assert_int_equal(parse_cfg("shim = relative\n", &cfg, &err), -1);
}

/* Issue 14: swarm_layer_flatten, 60 by default, 0 (never) to 100 layers;
 * a bad value names the key and the range. */
static void config_layer_flatten(void **state)
{
	(void)state;
	struct config cfg;
	struct err err = {0};
	assert_int_equal(parse_cfg("", &cfg, &err), 0);
	assert_int_equal(cfg.swarm_layer_flatten, 60);
	assert_int_equal(parse_cfg("swarm_layer_flatten = 3\n", &cfg, &err), 0);
	assert_int_equal(cfg.swarm_layer_flatten, 3);
	assert_int_equal(parse_cfg("swarm_layer_flatten = 0\n", &cfg, &err), 0);
	assert_int_equal(cfg.swarm_layer_flatten, 0);
	assert_int_equal(parse_cfg("swarm_layer_flatten = 101\n", &cfg, &err), -1);
	assert_string_equal(err.msg, "test.conf:1: bad value \"101\" for \"swarm_layer_flatten\" "
	                             "(a number of image layers from 0, never, to 100: overlay2 "
	                             "refuses images past ~125)");
	assert_int_equal(parse_cfg("swarm_layer_flatten = -1\n", &cfg, &err), -1);
	assert_int_equal(parse_cfg("swarm_layer_flatten = many\n", &cfg, &err), -1);
}

/* Issue 14: engine_mode = local (default) | swarm; anything else names
 * the line and the value. */
static void config_engine_mode(void **state)
{
	struct config cfg;
	struct err err = {0};
	assert_int_equal(parse_cfg("", &cfg, &err), 0);
	assert_int_equal(cfg.engine_mode, ENGINE_MODE_LOCAL);
	assert_int_equal(parse_cfg("engine_mode = swarm\n", &cfg, &err), 0);
	assert_int_equal(cfg.engine_mode, ENGINE_MODE_SWARM);
	assert_int_equal(parse_cfg("engine_mode = local\n", &cfg, &err), 0);
	assert_int_equal(cfg.engine_mode, ENGINE_MODE_LOCAL);
	assert_int_equal(parse_cfg("\nengine_mode = kubernetes\n", &cfg, &err), -1);
	assert_string_equal(err.msg, "test.conf:2: bad value \"kubernetes\" for \"engine_mode\"");
}

/* Swarm configs and secrets carry base64: a round trip, and bad input. */
static void b64_round_trip(void **state)
{
	char enc[64], dec[64];
	struct err err = {0};
	const char *cases[] = {"", "a", "ab", "abc", "ssh-ed25519 AAAA key\n"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(b64_encode(cases[i], strlen(cases[i]), enc, sizeof(enc), &err), 0);
		assert_int_equal(b64_decode(enc, dec, sizeof(dec), &err), (int)strlen(cases[i]));
		assert_string_equal(dec, cases[i]);
	}
	assert_int_equal(b64_encode("abc", 3, enc, sizeof(enc), &err), 0);
	assert_string_equal(enc, "YWJj");
	assert_int_equal(b64_decode("YW*j", dec, sizeof(dec), &err), -1);
	assert_int_equal(b64_encode("abcdef", 6, enc, 8, &err), -1); /* 8 + NUL */
	assert_int_equal(b64_decode("YWJjZGVm", dec, 4, &err), -1);
}

static void config_bad(void **state)
{
	struct config cfg;
	struct err err = {0};
	assert_int_equal(parse_cfg("idle_grace_seconds = 5\nbogus = 1\n", &cfg, &err), -1);
	assert_string_equal(err.msg, "test.conf:2: unknown key \"bogus\"");
	assert_int_equal(parse_cfg("socket=/a\nsocket=/b\n", &cfg, &err), -1);
	assert_string_equal(err.msg, "test.conf:2: duplicate key \"socket\"");
	assert_int_equal(parse_cfg("idle_grace_seconds = 5x\n", &cfg, &err), -1);
	assert_string_equal(err.msg, "test.conf:1: bad value \"5x\" for \"idle_grace_seconds\"");
	assert_int_equal(parse_cfg("instance = sshbox\r\n", &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "test.conf:1: line ends in CR"));
	assert_int_equal(parse_cfg("just words\n", &cfg, &err), -1);
	assert_int_equal(parse_cfg("state_dir = relative\n", &cfg, &err), -1);
	assert_int_equal(parse_cfg("default_cpus = 1.2345\n", &cfg, &err), -1);
	assert_int_equal(parse_cfg("idle_grace_seconds = -1\n", &cfg, &err), -1);
	assert_int_equal(parse_cfg("instance = Bad_Name\n", &cfg, &err), -1);
	assert_int_equal(config_load("/nonexistent/sshbox.conf", &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/sshbox.conf"));
}

static void record_roundtrip(void **state)
{
	struct user_record rec;
	struct err err = {0};
	const char *t = "uid = 1001\nimage = sshbox-base:latest\nmemory = 512m\npids = 64\n";
	assert_int_equal(record_parse(t, strlen(t), "rec", &rec, &err), 0);
	assert_int_equal(rec.uid, 1001);
	assert_string_equal(rec.image, "sshbox-base:latest");
	assert_int_equal(rec.memory, 512LL << 20);
	assert_int_equal(rec.nano_cpus, -1);
	assert_int_equal(rec.pids, 64);
	const char *no_uid = "image = x\n";
	assert_int_equal(record_parse(no_uid, strlen(no_uid), "rec", &rec, &err), -1);
	assert_string_equal(err.msg, "rec: no \"uid\"");
	const char *trunc = "uid = 10";
	assert_int_equal(record_parse(trunc, strlen(trunc), "rec", &rec, &err), -1);
}

static void names(void **state)
{
	assert_true(user_name_valid("alice"));
	assert_true(user_name_valid("_svc-1"));
	assert_false(user_name_valid("../x"));
	assert_false(user_name_valid("Alice"));
	assert_false(user_name_valid("-x"));
	assert_false(user_name_valid(""));
	assert_false(user_name_valid("a23456789012345678901234567890123"));
	assert_false(user_name_valid("a b"));
	assert_true(image_name_valid("registry:5000/team/img:tag"));
	assert_false(image_name_valid("-rm"));
	assert_false(image_name_valid("img;rm"));
	assert_true(instance_name_valid("sshbox-test"));
	assert_false(instance_name_valid("a--b"));
}

static void proto_requests(void **state)
{
	struct proto_request req;
	struct err err = {0};
	json_t *m = json_loads("{\"v\":1,\"op\":\"login\","
	                       "\"session\":\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\"}",
	                       0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), 0);
	assert_int_equal(req.op, PROTO_OP_LOGIN);
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"login\",\"session\":\"x\"}", 0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	json_decref(m);
	m = json_loads("{\"v\":2,\"op\":\"login\"}", 0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"login\",\"user\":\"bob\","
	               "\"session\":\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\"}",
	               0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	assert_string_equal(err.msg, "only \"keys\" names a user");
	json_decref(m);
	/* "keys" (sshbox-keys for sshd): a valid user name, no session needed. */
	m = json_loads("{\"v\":1,\"op\":\"keys\",\"user\":\"bob\"}", 0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), 0);
	assert_int_equal(req.op, PROTO_OP_KEYS);
	assert_string_equal(req.user, "bob");
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"keys\",\"user\":\"Bob;x\"}", 0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	assert_string_equal(err.msg, "\"Bob;x\" is not a valid user name");
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"keys\",\"user\":"
	               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	               0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"keys\"}", 0, NULL);
	assert_int_equal(proto_parse_request(m, &req, &err), -1);
	json_decref(m);
	unsigned char big[4] = {0x00, 0xa0, 0x00, 0x00}, zero[4] = {0};
	size_t len;
	assert_int_equal(proto_check_length(big, &len, &err), -1);
	assert_int_equal(proto_check_length(zero, &len, &err), -1);
}

/* An OpenSSH private key's header around a public blob ("PUB"): magic,
 * cipher "none", kdf "none", empty kdf options, one key. */
static void private_pem(const char *pub, char *ret, size_t size)
{
	unsigned char raw[256];
	size_t n = sizeof("openssh-key-v1");
	memcpy(raw, "openssh-key-v1", n);
	static const char *const fields[] = {"none", "none", ""};
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(fields[i]);
		memcpy(raw + n, (unsigned char[]){0, 0, 0, (unsigned char)l}, 4);
		memcpy(raw + n + 4, fields[i], l);
		n += 4 + l;
	}
	size_t l = strlen(pub);
	memcpy(raw + n, (unsigned char[]){0, 0, 0, 1, 0, 0, 0, (unsigned char)l}, 8);
	for (size_t i = 0; i < l; i++) /* a length-prefixed field, no NUL */
		raw[n + 8 + i] = (unsigned char)pub[i];
	n += 8 + l;
	char b[512];
	struct err err = {0};
	assert_int_equal(b64_encode(raw, n, b, sizeof(b), &err), 0);
	snprintf(
	    ret, size,
	    "-----BEGIN OPENSSH PRIVATE KEY-----\n%.40s\n%s\n-----END OPENSSH PRIVATE KEY-----\n",
	    b, strlen(b) > 40 ? b + 40 : "");
}

static void authkeys_inner_left_out(void **state)
{
	(void)state;
	char pem[1024], blob[128], out[1024];
	struct err err = {0};
	private_pem("PUB", pem, sizeof(pem));
	assert_int_equal(authkeys_public_blob(pem, blob, sizeof(blob), &err), 0);
	assert_string_equal(blob, "UFVC"); /* base64 of "PUB" */
	const char *keys = "ssh-ed25519 AAAA1 alice@laptop\n"
	                   "# a comment\n\n"
	                   "ssh-ed25519 UFVCX not-the-inner-key\n"
	                   "ssh-ed25519 UFVC sshbox inner key of alice\n";
	assert_int_equal(authkeys_without(keys, blob, out, sizeof(out), &err), 2);
	assert_string_equal(out, AUTHKEYS_HOST_OPTIONS
	                    "ssh-ed25519 AAAA1 alice@laptop\n" AUTHKEYS_HOST_OPTIONS
	                    "ssh-ed25519 UFVCX not-the-inner-key\n");
	assert_int_equal(authkeys_without("ssh-ed25519 UFVC x\n", blob, out, sizeof(out), &err), 0);
	assert_int_equal(authkeys_without(keys, blob, out, 40, &err), -1);
	assert_int_equal(authkeys_public_blob("not a key", blob, sizeof(blob), &err), -1);
	pem[40] = 'x'; /* the magic broken */
	assert_int_equal(authkeys_public_blob(pem, blob, sizeof(blob), &err), -1);
}

static void fuse_requests(void **state)
{
	struct fuse_request req;
	struct err err = {0};
	static const char *const good[] = {
	    "/home/me/src", "/a", "/root/x y", "/etc/sshboxes", "/usr/local/src", "/run/sshbox2"};
	static const char *const bad[] = {"",
	                                  "rel",
	                                  "/",
	                                  "/a/",
	                                  "/a//b",
	                                  "/a/./b",
	                                  "/a/..",
	                                  "/../etc",
	                                  "/proc",
	                                  "/proc/sys",
	                                  "/sys/x",
	                                  "/dev/shm",
	                                  "/etc",
	                                  "/etc/sshbox/k",
	                                  "/run",
	                                  "/run/sshbox-fuse",
	                                  "/usr/local/bin",
	                                  "/usr/local/bin/daemon",
	                                  "/a\tb"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(fuse_path_check(good[i], &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fuse_path_check(bad[i], &err), -1);
	json_t *m = fuse_build_request(FUSE_OP_MOUNT, "/home/me", "sshfs");
	assert_int_equal(fuse_parse_request(m, &req, &err), 0);
	assert_int_equal(req.op, FUSE_OP_MOUNT);
	assert_string_equal(req.subtype, "sshfs");
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"umount\",\"path\":\"/x\",\"user\":\"bob\"}", 0, NULL);
	assert_int_equal(fuse_parse_request(m, &req, &err), -1);
	json_decref(m);
	m = json_loads("{\"v\":1,\"op\":\"mount\",\"path\":\"/x\",\"subtype\":\"A;B\"}", 0, NULL);
	assert_int_equal(fuse_parse_request(m, &req, &err), -1);
	json_decref(m);
}

/* GET /version answers as Debian 12's docker.io 20.10 and podman 4.3 give them. */
static void engine_kinds(void **state)
{
	(void)state;
	static const char *const answers[][2] = {
	    {"{\"Platform\":{\"Name\":\"\"},\"Components\":[{\"Name\":\"Engine\"},"
	     "{\"Name\":\"containerd\"}],\"Version\":\"20.10.24+dfsg1\"}",
	     "docker"},
	    {"{\"Platform\":{\"Name\":\"linux/amd64/debian-12\"},\"Components\":[{\"Name\":"
	     "\"Podman Engine\"},{\"Name\":\"Conmon\"}],\"Version\":\"4.3.1\"}",
	     "podman"},
	    {"{\"Platform\":{\"Name\":\"Podman Engine\"}}", "podman"},
	    {"{}", "docker"},
	    {"[]", "docker"},
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		json_t *v = json_loads(answers[i][0], 0, NULL);
		assert_non_null(v);
		assert_string_equal(engine_kind_name(engine_kind_of_version(v)), answers[i][1]);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config_good),
	    cmocka_unit_test(engine_kinds),
	    cmocka_unit_test(config_engine_mode),
	    cmocka_unit_test(config_layer_flatten),
	    cmocka_unit_test(b64_round_trip),
	    cmocka_unit_test(config_bad),
	    cmocka_unit_test(config_defaults_limit),
	    cmocka_unit_test(record_roundtrip),
	    cmocka_unit_test(names),
	    cmocka_unit_test(proto_requests),
	    cmocka_unit_test(authkeys_inner_left_out),
	    cmocka_unit_test(fuse_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
