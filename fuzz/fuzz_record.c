/* A user record as record_load reads it. An accepted record holds only
 * values its checks allow, and record_format writes it back to text that
 * parses to the same record (record_store relies on that). */
#include "fuzz.h"

#include "kvfile.h"
#include "names.h"
#include "record.h"

static void check_record(const struct user_record *rec)
{
	FUZZ_CHECK(rec->uid <= 0x7fffffffU);
	FUZZ_CHECK_STR(rec->image);
	FUZZ_CHECK(image_name_valid(rec->image));
	FUZZ_CHECK(rec->memory >= -1 && rec->nano_cpus >= -1 && rec->pids >= -1);
	FUZZ_CHECK(rec->pids <= 4194304);
	FUZZ_CHECK(rec->fuse == 0 || rec->fuse == 1);
	FUZZ_CHECK(rec->nmounts >= 0 && rec->nmounts <= RECORD_MAX_MOUNTS);
	for (int i = 0; i < rec->nmounts; i++) {
		FUZZ_CHECK_STR(rec->mounts[i]);
		FUZZ_CHECK(mount_spec_valid(rec->mounts[i]));
	}
}

static void check_same(const struct user_record *a, const struct user_record *b)
{
	FUZZ_CHECK(a->uid == b->uid && strcmp(a->image, b->image) == 0);
	FUZZ_CHECK(a->memory == b->memory && a->nano_cpus == b->nano_cpus && a->pids == b->pids);
	FUZZ_CHECK(a->fuse == b->fuse && a->nmounts == b->nmounts);
	for (int i = 0; i < a->nmounts; i++)
		FUZZ_CHECK(strcmp(a->mounts[i], b->mounts[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= KVFILE_MAX_BYTES)
		return 0;
	char *text = malloc(size ? size : 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	struct user_record rec;
	struct err err = {0};
	if (record_parse(text, size, "record", &rec, &err) == 0) {
		check_record(&rec);
		char out[8192];
		size_t len = 0;
		struct user_record again;
		FUZZ_CHECK(record_format("fuzzuser", &rec, out, sizeof(out), &len, &err) == 0);
		FUZZ_CHECK(len == strlen(out));
		FUZZ_CHECK(record_parse(out, len, "record", &again, &err) == 0);
		check_same(&rec, &again);
	} else {
		FUZZ_CHECK(err.code != 0 && err.msg[0] != '\0');
	}
	FUZZ_CHECK_STR(err.msg);
	free(text);
	return 0;
}
