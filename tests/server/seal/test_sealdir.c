/*
 * The seal of a data directory (server/seal/sealdir.h) with the seals that
 * need no hardware -- the file and Shamir seals; PKCS#11 and TPM 2.0 are
 * tested against SoftHSM2 and swtpm by tests/integration/test_seal.sh:
 * the keyring's encoding, a directory from before seals, creating,
 * loading, storing a new keyring, migrating in both directions, the same
 * seal refused, and unseal shares refused for each reason without
 * counting.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "masterkey.h"
#include "sealdir.h"
#include "shamir.h"

static char dir[SKR_TEST_PATH_MAX], other[SKR_TEST_PATH_MAX];

static int
ring_eq(const skr_keyring *a, const skr_keyring *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->gen[i] != b->gen[i] || memcmp(skr_master_key_bytes(
		    a->key[i]), skr_master_key_bytes(b->key[i]), 32) != 0)
			return 0;
	return 1;
}

static void
ring_make(skr_keyring *kr, uint32_t g1, uint32_t g2)
{
	skr_master_key *mk;

	memset(kr, 0, sizeof(*kr));
	CHECK_OK(skr_master_key_generate(&mk));
	CHECK_OK(skr_keyring_add(kr, g1, mk));
	if (g2 != 0) {
		CHECK_OK(skr_master_key_generate(&mk));
		CHECK_OK(skr_keyring_add(kr, g2, mk));
	}
}

static void
test_keyring(void)
{
	skr_keyring a, b;
	skr_buf enc = SKR_BUF_INIT_SECRET;
	skr_master_key *mk;

	ring_make(&a, 1, 0);
	CHECK_OK(skr_keyring_encode(&a, &enc));
	CHECK(enc.len == 32);
	CHECK_OK(skr_keyring_decode(enc.data, enc.len, &b));
	CHECK(ring_eq(&a, &b));
	skr_keyring_clear(&b);
	skr_keyring_clear(&a);
	skr_buf_reset(&enc);
	ring_make(&a, 7, 3);
	CHECK(a.gen[0] == 3 && a.gen[1] == 7);
	CHECK(skr_keyring_newest(&a) == 7);
	CHECK_OK(skr_keyring_encode(&a, &enc));
	CHECK(enc.len == 6 + 2 * 36);
	CHECK_OK(skr_keyring_decode(enc.data, enc.len, &b));
	CHECK(ring_eq(&a, &b));
	skr_keyring_clear(&b);
	/* Malformed: short, long, bad magic, version, count, repeated
	 * generation. */
	CHECK_ERR(skr_keyring_decode(enc.data, enc.len - 1, &b),
	    SKR_ERR_MASTER_KEY);
	CHECK_ERR(skr_keyring_decode(enc.data, 31, &b), SKR_ERR_MASTER_KEY);
	enc.data[0] ^= 1;
	CHECK_ERR(skr_keyring_decode(enc.data, enc.len, &b),
	    SKR_ERR_MASTER_KEY);
	enc.data[0] ^= 1;
	enc.data[4] = 2;
	CHECK_ERR(skr_keyring_decode(enc.data, enc.len, &b),
	    SKR_ERR_MASTER_KEY);
	enc.data[4] = 1;
	enc.data[5] = 3;
	CHECK_ERR(skr_keyring_decode(enc.data, enc.len, &b),
	    SKR_ERR_MASTER_KEY);
	enc.data[5] = 2;
	memcpy(enc.data + 6 + 36, enc.data + 6, 4);
	CHECK_ERR(skr_keyring_decode(enc.data, enc.len, &b),
	    SKR_ERR_MASTER_KEY);
	CHECK(b.n == 0);
	/* Not canonical: generations out of order, and a lone generation 1
	 * in the headed form (it is written as the bare key). */
	memcpy(enc.data + 6, (const uint8_t[]){ 0, 0, 0, 7 }, 4);
	memcpy(enc.data + 6 + 36, (const uint8_t[]){ 0, 0, 0, 3 }, 4);
	CHECK_ERR(skr_keyring_decode(enc.data, enc.len, &b),
	    SKR_ERR_MASTER_KEY);
	enc.data[5] = 1;
	memcpy(enc.data + 6, (const uint8_t[]){ 0, 0, 0, 1 }, 4);
	CHECK_ERR(skr_keyring_decode(enc.data, 6 + 36, &b),
	    SKR_ERR_MASTER_KEY);
	enc.data[6 + 3] = 2;
	CHECK_OK(skr_keyring_decode(enc.data, 6 + 36, &b));
	CHECK(b.n == 1 && b.gen[0] == 2);
	skr_keyring_clear(&b);
	/* The ring holds at most two, each generation once. */
	CHECK_OK(skr_master_key_generate(&mk));
	CHECK_ERR(skr_keyring_add(&a, 9, mk), SKR_ERR_INVAL);
	skr_keyring_drop_below(&a, 7);
	CHECK(a.n == 1 && a.gen[0] == 7);
	CHECK_OK(skr_master_key_generate(&mk));
	CHECK_ERR(skr_keyring_add(&a, 7, mk), SKR_ERR_INVAL);
	skr_keyring_clear(&a);
	skr_buf_free(&enc);
}

/* A directory from before seals: master.key alone is a file seal. */
static void
test_legacy(void)
{
	skr_sealdir *sd = NULL;
	skr_keyring kr;
	uint8_t key[32];
	char path[SKR_TEST_PATH_MAX + 16];
	FILE *f;

	memset(key, 0x5a, sizeof(key));
	snprintf(path, sizeof(path), "%s/master.key", dir);
	CHECK((f = fopen(path, "wb")) != NULL);
	if (f == NULL)
		return;
	fwrite(key, 1, sizeof(key), f);
	fclose(f);
	chmod(path, 0600);
	CHECK_OK(skr_sealdir_open(dir, NULL, &sd));
	CHECK_STR(skr_sealdir_type(sd), "file");
	CHECK_OK(skr_sealdir_load(sd, &kr));
	CHECK(kr.n == 1 && kr.gen[0] == 1 &&
	    memcmp(skr_master_key_bytes(kr.key[0]), key, 32) == 0);
	skr_keyring_clear(&kr);
	skr_sealdir_free(sd);
	unlink(path);
}

struct shown {
	skr_seal_shares sh;
	int calls;
};

static int
show(void *arg, skr_seal_shares *sh)
{
	struct shown *s = arg;

	s->sh = *sh;
	s->calls++;
	return SKR_OK;
}

static void
test_create_migrate(void)
{
	skr_seal_opts file, sham, sham2;
	skr_seal_shares foreign;
	skr_sealdir *sd = NULL, *sd2 = NULL;
	skr_keyring kr, got, kr2;
	struct shown s;
	skr_share sh;
	char text[SKR_SHARE_TEXT_MAX], path[SKR_TEST_PATH_MAX + 16];
	int needs, k, p, complete;

	memset(&file, 0, sizeof(file));
	memset(&sham, 0, sizeof(sham));
	memset(&s, 0, sizeof(s));
	file.type = "file";
	sham.type = "shamir";
	sham.shares = 4;
	sham.threshold = 3;
	sham2 = sham;
	sham2.shares = 3;
	ring_make(&kr, 1, 0);
	CHECK_OK(skr_sealdir_create(dir, &file, &kr, NULL));
	CHECK_ERR(skr_sealdir_create(dir, &file, &kr, NULL), SKR_ERR_CONFLICT);
	CHECK_OK(skr_sealdir_open(dir, NULL, &sd));
	CHECK_OK(skr_sealdir_load(sd, &got));
	CHECK(ring_eq(&kr, &got));
	skr_keyring_clear(&got);
	CHECK_ERR(skr_sealdir_migrate(sd, &file, NULL, NULL), SKR_ERR_SEAL_SAME);
	/* Without a way to show them, a Shamir seal is not made. */
	CHECK_ERR(skr_sealdir_migrate(sd, &sham, NULL, NULL), SKR_ERR_INVAL);
	CHECK_STR(skr_sealdir_type(sd), "file");
	CHECK_OK(skr_sealdir_migrate(sd, &sham, show, &s));
	CHECK(s.calls == 1 && s.sh.n == 4);
	CHECK_STR(skr_sealdir_type(sd), "shamir");
	skr_sealdir_free(sd);
	sd = NULL;

	/* Another store's shares. */
	CHECK_OK(skr_sealdir_create(other, &sham2, &kr, &foreign));
	CHECK(foreign.n == 3);

	CHECK_OK(skr_sealdir_open(dir, NULL, &sd));
	CHECK_STR(skr_sealdir_type(sd), "shamir");
	CHECK_ERR(skr_sealdir_load(sd, &got), SKR_ERR_SEALED);
	skr_sealdir_status(sd, &needs, &k, &p);
	CHECK(needs == 1 && k == 3 && p == 0);
	CHECK_ERR(skr_sealdir_give_share(sd, "junk", 4, &complete),
	    SKR_ERR_SHARE_MALFORMED);
	CHECK_ERR(skr_sealdir_give_share(sd, foreign.text[0],
	    strlen(foreign.text[0]), &complete), SKR_ERR_SHARE_FOREIGN);
	/* Well formed, this split's id, but not one of its shares. */
	CHECK_OK(skr_share_parse(s.sh.text[1], strlen(s.sh.text[1]), &sh));
	sh.y[0] ^= 1;
	CHECK_OK(skr_share_encode(&sh, text));
	CHECK_ERR(skr_sealdir_give_share(sd, text, strlen(text), &complete),
	    SKR_ERR_SHARE_INVALID);
	skr_sealdir_status(sd, &needs, &k, &p);
	CHECK(p == 0);
	CHECK_OK(skr_sealdir_give_share(sd, s.sh.text[0],
	    strlen(s.sh.text[0]), &complete));
	CHECK(!complete);
	CHECK_ERR(skr_sealdir_give_share(sd, s.sh.text[0],
	    strlen(s.sh.text[0]), &complete), SKR_ERR_SHARE_DUPLICATE);
	CHECK_OK(skr_sealdir_give_share(sd, s.sh.text[3],
	    strlen(s.sh.text[3]), &complete));
	skr_sealdir_status(sd, &needs, &k, &p);
	CHECK(needs == 1 && p == 2);
	CHECK_OK(skr_sealdir_give_share(sd, s.sh.text[2],
	    strlen(s.sh.text[2]), &complete));
	CHECK(complete);
	CHECK_ERR(skr_sealdir_give_share(sd, s.sh.text[1],
	    strlen(s.sh.text[1]), &complete), SKR_ERR_NOT_SEALED);
	CHECK_OK(skr_sealdir_load(sd, &got));
	CHECK(ring_eq(&kr, &got));
	skr_keyring_clear(&got);
	/* A rotation's keyring, then the newest generation alone. */
	ring_make(&kr2, 1, 2);
	CHECK_OK(skr_sealdir_store(sd, &kr2));
	CHECK_OK(skr_sealdir_load(sd, &got));
	CHECK(ring_eq(&kr2, &got));
	skr_keyring_clear(&got);
	skr_keyring_drop_below(&kr2, 2);
	CHECK_OK(skr_sealdir_store(sd, &kr2));
	/* Sealing again wipes the split key: shares are needed again. */
	skr_sealdir_forget(sd);
	CHECK_ERR(skr_sealdir_load(sd, &got), SKR_ERR_SEALED);
	skr_sealdir_free(sd);
	sd = NULL;
	CHECK_OK(skr_sealdir_open(dir, NULL, &sd2));
	for (int i = 1; i < 4; i++)
		CHECK_OK(skr_sealdir_give_share(sd2, s.sh.text[i],
		    strlen(s.sh.text[i]), &complete));
	CHECK_OK(skr_sealdir_load(sd2, &got));
	CHECK(ring_eq(&kr2, &got));
	skr_keyring_clear(&got);
	/* Shamir to Shamir is a new split: the old shares open nothing. */
	{
		struct shown s2;
		skr_sealdir *sd3 = NULL;

		memset(&s2, 0, sizeof(s2));
		CHECK_OK(skr_sealdir_migrate(sd2, &sham, show, &s2));
		CHECK(s2.calls == 1 && s2.sh.n == 4);
		CHECK(strcmp(s2.sh.text[0], s.sh.text[0]) != 0);
		CHECK_OK(skr_sealdir_open(dir, NULL, &sd3));
		CHECK_ERR(skr_sealdir_give_share(sd3, s.sh.text[0],
		    strlen(s.sh.text[0]), &complete), SKR_ERR_SHARE_FOREIGN);
		skr_sealdir_free(sd3);
		skr_wipe(&s2, sizeof(s2));
	}
	CHECK_OK(skr_sealdir_migrate(sd2, &file, NULL, NULL));
	skr_sealdir_free(sd2);
	CHECK_OK(skr_sealdir_open(dir, NULL, &sd));
	CHECK_STR(skr_sealdir_type(sd), "file");
	CHECK_OK(skr_sealdir_load(sd, &got));
	CHECK(ring_eq(&kr2, &got));
	skr_keyring_clear(&got);
	skr_sealdir_free(sd);
	/* A malformed seal.json. */
	snprintf(path, sizeof(path), "%s/seal.json", dir);
	CHECK(skr_test_write_file(path, "{\"version\":1,\"type\":\"vault\","
	    "\"blob\":\"x\"}") == 0);
	CHECK_ERR(skr_sealdir_open(dir, NULL, &sd), SKR_ERR_CONFIG);
	CHECK(skr_test_write_file(path, "{\"version\":1,\"type\":\"file\","
	    "\"blob\":\"../x\"}") == 0);
	CHECK_ERR(skr_sealdir_open(dir, NULL, &sd), SKR_ERR_CONFIG);
	skr_wipe(&s, sizeof(s));
	skr_wipe(&foreign, sizeof(foreign));
	skr_keyring_clear(&kr);
	skr_keyring_clear(&kr2);
}

int
main(void)
{
	skr_test_tmpdir(NULL, "sealdir", dir, sizeof(dir));
	skr_test_tmpdir(NULL, "sealdir", other, sizeof(other));
	test_keyring();
	test_legacy();
	test_create_migrate();
	skr_test_rmrf(dir);
	skr_test_rmrf(other);
	return check_done();
}
