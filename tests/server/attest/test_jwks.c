/*
 * Unit tests: JWKS key sets.  Unusable entries are skipped with a warning,
 * the rest load; x5c chains with and without a CA; documents that are not
 * key sets at all are refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "files.h"
#include "encoding.h"
#include "json.h"
#include "jwks.h"
#include "jws.h"

#define NOW 1700000000

static X509 *
make_cert(EVP_PKEY *subject, const char *cn, X509 *issuer,
    EVP_PKEY *issuer_key, int ca, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	static long serial = 1;
	time_t base = NOW;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &base);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &base);
	X509_set_pubkey(x, subject);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (ca) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, issuer_key ? issuer_key : subject, EVP_sha256());
	return x;
}

static json_t *
cert_b64(X509 *x)
{
	unsigned char *der = NULL;
	skr_buf b = SKR_BUF_INIT;
	int n = i2d_X509(x, &der);
	json_t *s;

	skr_b64_encode(&b, der, (size_t)n);
	s = json_string(skr_buf_cstr(&b));
	OPENSSL_free(der);
	skr_buf_free(&b);
	return s;
}

/* {"kty", "kid", "x5c": [certs...]} */
static json_t *
x5c_entry(const char *kty, const char *kid, X509 *leaf, X509 *inter)
{
	json_t *e = json_pack("{s:s, s:s, s:[]}", "kty", kty, "kid", kid,
	    "x5c");

	json_array_append_new(json_object_get(e, "x5c"), cert_b64(leaf));
	if (inter != NULL)
		json_array_append_new(json_object_get(e, "x5c"),
		    cert_b64(inter));
	return e;
}

static json_t *
jwk_entry(EVP_PKEY *pk, const char *kid)
{
	skr_key *k = NULL;
	json_t *j;

	CHECK_OK(skr_key_from_pkey(pk, &k));
	j = skr_jwk_emit(k, 0);
	json_object_set_new(j, "kid", json_string(kid));
	skr_key_free(k);
	return j;
}

/* n/e of any RSA key, including ones skr_key refuses. */
static json_t *
rsa_ne_entry(EVP_PKEY *pk, const char *kid)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[1024], eb[16];
	skr_buf ns = SKR_BUF_INIT, es = SKR_BUF_INIT;
	json_t *j;

	EVP_PKEY_get_bn_param(pk, "n", &n);
	EVP_PKEY_get_bn_param(pk, "e", &e);
	skr_b64url_encode(&ns, nb, (size_t)BN_bn2bin(n, nb));
	skr_b64url_encode(&es, eb, (size_t)BN_bn2bin(e, eb));
	j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "n",
	    skr_buf_cstr(&ns), "e", skr_buf_cstr(&es));
	BN_free(n);
	BN_free(e);
	skr_buf_free(&ns);
	skr_buf_free(&es);
	return j;
}

static skr_jwks *
load(json_t *doc, X509_STORE *ca, int64_t at)
{
	skr_jwks *set = NULL;
	char *s = json_dumps(doc, JSON_COMPACT);
	skr_buf why = SKR_BUF_INIT;

	CHECK_OK(skr_jwks_parse(s, strlen(s), ca, at, &set, &why));
	free(s);
	skr_buf_free(&why);
	return set;
}

static int
has_warning(const skr_jwks *set, const char *needle)
{
	size_t i;

	for (i = 0; i < skr_jwks_warning_count(set); i++)
		if (strstr(skr_jwks_warning(set, i), needle) != NULL)
			return 1;
	return 0;
}

static EVP_PKEY *rsa_a, *rsa_b, *ec_a, *rsa_weak, *ca_key, *inter_key;
static X509 *ca_cert, *inter_cert;

static void
test_documents(void)
{
	static const char *const bad[] = {
		"[]", "{}", "{\"keys\":{}}", "{\"keys\":\"x\"}", "null", "\"keys\"",
	};
	skr_jwks *set = (skr_jwks *)1;
	skr_buf why = SKR_BUF_INIT, big = SKR_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(skr_jwks_parse(bad[i], strlen(bad[i]), NULL, 0, &set,
		    &why), SKR_ERR_JWK_INVALID);
		CHECK(set == NULL);
	}
	CHECK(why.len > 0);
	CHECK_ERR(skr_jwks_parse("{\"keys\":[", 9, NULL, 0, &set, NULL),
	    SKR_ERR_JSON);
	CHECK_ERR(skr_jwks_parse("{\"keys\":[],\"keys\":[]}", 21, NULL, 0,
	    &set, NULL), SKR_ERR_JSON_DUPLICATE);
	skr_buf_append_str(&big, "{\"keys\":[],\"pad\":\"");
	while (big.len < SKR_JWKS_MAX_BYTES)
		skr_buf_append_byte(&big, 'x');
	skr_buf_append_str(&big, "\"}");
	CHECK_ERR(skr_jwks_parse((const char *)big.data, big.len, NULL, 0,
	    &set, NULL), SKR_ERR_TOO_LARGE);
	/* An empty set parses; it simply has no keys. */
	CHECK_OK(skr_jwks_parse("{\"keys\":[]}", 11, NULL, 0, &set, NULL));
	CHECK(set != NULL && skr_jwks_count(set) == 0);
	skr_jwks_unref(set);
	skr_buf_free(&why);
	skr_buf_free(&big);
}

static void
test_entries(void)
{
	json_t *doc = json_pack("{s:[]}", "keys"), *keys, *e;
	X509 *self_a = make_cert(rsa_a, "a", NULL, NULL, 0, -3600, 3600);
	X509 *self_weak = make_cert(rsa_weak, "w", NULL, NULL, 0, -3600, 3600);
	X509 *self_ec = make_cert(ec_a, "e", NULL, NULL, 0, -3600, 3600);
	skr_jwks *set, *ref;
	const skr_key *k;

	keys = json_object_get(doc, "keys");
	/* Loaded: n/e, crv/x/y, x5c only, n/e with a matching x5c. */
	json_array_append_new(keys, jwk_entry(rsa_a, "rsa-ne"));
	json_array_append_new(keys, jwk_entry(ec_a, "ec-xy"));
	json_array_append_new(keys, x5c_entry("RSA", "rsa-x5c", self_a, NULL));
	json_array_append_new(keys, x5c_entry("EC", "ec-x5c", self_ec, NULL));
	e = jwk_entry(rsa_a, "rsa-both");
	json_object_set_new(e, "x5c", json_pack("[o]", cert_b64(self_a)));
	json_object_set_new(e, "use", json_string("sig"));
	json_array_append_new(keys, e);
	e = jwk_entry(rsa_b, "rsa-ops");
	json_object_set_new(e, "key_ops", json_pack("[s]", "verify"));
	json_array_append_new(keys, e);

	/* Skipped, each with a warning. */
	json_array_append_new(keys, rsa_ne_entry(rsa_weak, "weak-ne"));
	json_array_append_new(keys, x5c_entry("RSA", "weak-x5c", self_weak,
	    NULL));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s}", "kty",
	    "OKP", "kid", "okp", "crv", "Ed25519", "x", "AAAA"));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "kty", "oct",
	    "kid", "oct", "k", "AAAAAAAAAAAAAAAAAAAAAA"));
	e = jwk_entry(rsa_b, "x");
	json_object_del(e, "kid");
	json_array_append_new(keys, e);
	e = jwk_entry(rsa_b, "enc-key");
	json_object_set_new(e, "use", json_string("enc"));
	json_array_append_new(keys, e);
	e = jwk_entry(rsa_b, "sign-only");
	json_object_set_new(e, "key_ops", json_pack("[s]", "sign"));
	json_array_append_new(keys, e);
	json_array_append_new(keys, json_pack("{s:s, s:s, s:[s]}", "kty",
	    "RSA", "kid", "bad-b64", "x5c", "!!!!"));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:[s]}", "kty",
	    "RSA", "kid", "bad-der", "x5c", "AAAA"));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "kty",
	    "RSA", "kid", "x5c-string", "x5c", "AAAA"));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:[]}", "kty",
	    "RSA", "kid", "x5c-empty", "x5c"));
	json_array_append_new(keys, x5c_entry("EC", "kty-mismatch", self_a,
	    NULL));
	e = jwk_entry(rsa_b, "ne-not-leaf");
	json_object_set_new(e, "x5c", json_pack("[o]", cert_b64(self_a)));
	json_array_append_new(keys, e);
	json_array_append_new(keys, jwk_entry(rsa_b, "rsa-ne"));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s, s:s}",
	    "kty", "EC", "kid", "k1", "crv", "secp256k1", "x", "AAAA", "y",
	    "AAAA"));
	json_array_append_new(keys, json_pack("{s:s, s:s}", "kty", "RSA",
	    "kid", "no-material"));
	json_array_append_new(keys, json_pack("{s:s}", "kid", "no-kty"));
	json_array_append_new(keys, json_string("not an object"));
	e = jwk_entry(rsa_b, "alg-enc");
	json_object_set_new(e, "alg", json_string("RSA-OAEP"));
	json_array_append_new(keys, e);
	e = jwk_entry(rsa_b, "alg-misfit");
	json_object_set_new(e, "alg", json_string("ES256"));
	json_array_append_new(keys, e);
	e = jwk_entry(rsa_b, "alg-pinned");
	json_object_set_new(e, "alg", json_string("PS384"));
	json_array_append_new(keys, e);

	set = load(doc, NULL, 0);
	CHECK(set != NULL);
	if (set == NULL)
		goto out;
	CHECK(skr_jwks_count(set) == 7);
	CHECK(skr_jwks_warning_count(set) == 20);
	{
		unsigned algs = 99;

		CHECK(skr_jwks_find_alg(set, "alg-pinned", &algs) != NULL);
		CHECK(algs == SKR_ALG_BIT(SKR_ALG_PS384));
		CHECK(skr_jwks_find_alg(set, "rsa-ne", &algs) != NULL);
		CHECK(algs == 0);
		CHECK(skr_jwks_find_alg(set, "nope", &algs) == NULL);
	}
	CHECK(has_warning(set, "\"alg-enc\"): alg is not"));
	CHECK(has_warning(set, "\"alg-misfit\"): alg does not fit"));
	CHECK((k = skr_jwks_find(set, "rsa-ne")) != NULL &&
	    skr_key_kty(k) == SKR_KTY_RSA);
	CHECK((k = skr_jwks_find(set, "ec-xy")) != NULL &&
	    skr_key_kty(k) == SKR_KTY_EC);
	CHECK((k = skr_jwks_find(set, "rsa-x5c")) != NULL &&
	    skr_key_bits(k) == 2048);
	CHECK(skr_jwks_find(set, "ec-x5c") != NULL);
	CHECK(skr_jwks_find(set, "rsa-both") != NULL);
	CHECK(skr_jwks_find(set, "rsa-ops") != NULL);
	/* The first rsa-ne wins; the duplicate is skipped. */
	k = skr_jwks_find(set, "rsa-ne");
	{
		skr_key *ka = NULL;

		skr_key_from_pkey(rsa_a, &ka);
		CHECK(k != NULL && ka != NULL && skr_key_public_equal(k, ka));
		skr_key_free(ka);
	}
	CHECK(skr_jwks_find(set, "RSA-NE") == NULL);
	CHECK(skr_jwks_find(set, "weak-ne") == NULL);
	CHECK(skr_jwks_find(set, "weak-x5c") == NULL);
	CHECK(skr_jwks_find(set, "enc-key") == NULL);
	CHECK(skr_jwks_find(set, "ne-not-leaf") == NULL);
	CHECK(skr_jwks_find(set, NULL) == NULL);
	CHECK(has_warning(set, "keys[6] (kid \"weak-ne\"): RSA key smaller "
	    "than 2048 bits"));
	CHECK(has_warning(set, "keys[7] (kid \"weak-x5c\"): RSA key smaller"));
	CHECK(has_warning(set, "\"okp\"): kty is not RSA or EC"));
	CHECK(has_warning(set, "\"oct\"): kty is not RSA or EC"));
	CHECK(has_warning(set, "keys[10]: no kid"));
	CHECK(has_warning(set, "\"enc-key\"): use or key_ops"));
	CHECK(has_warning(set, "\"sign-only\"): use or key_ops"));
	CHECK(has_warning(set, "\"bad-b64\"): x5c leaf"));
	CHECK(has_warning(set, "\"kty-mismatch\"): x5c leaf key does not "
	    "match"));
	CHECK(has_warning(set, "\"ne-not-leaf\"): key members do not match"));
	CHECK(has_warning(set, "\"rsa-ne\"): kid already used"));
	CHECK(has_warning(set, "\"no-kty\"): no kty"));
	CHECK(has_warning(set, "not an object"));
	CHECK(skr_jwks_warning(set, 99) == NULL);
	CHECK(skr_jwks_key(set, 0) != NULL && skr_jwks_key(set, 7) == NULL);

	/* References: the set lives until the last one goes. */
	ref = skr_jwks_ref(set);
	CHECK(ref == set);
	skr_jwks_unref(set);
	CHECK(skr_jwks_find(ref, "ec-xy") != NULL);
	skr_jwks_unref(ref);
	skr_jwks_unref(NULL);
 out:
	X509_free(self_a);
	X509_free(self_weak);
	X509_free(self_ec);
	json_decref(doc);
}

static void
test_ca(void)
{
	X509_STORE *store = X509_STORE_new();
	X509 *leaf = make_cert(rsa_a, "leaf", inter_cert, inter_key, 0, -60,
	    86400);
	X509 *direct = make_cert(rsa_b, "direct", ca_cert, ca_key, 0, -60,
	    86400);
	X509 *self = make_cert(rsa_b, "self", NULL, NULL, 0, -60, 86400);
	X509 *expired = make_cert(ec_a, "old", ca_cert, ca_key, 0, -86400,
	    -3600);
	json_t *doc = json_pack("{s:[]}", "keys"), *keys;
	skr_jwks *set;
	FILE *f;
	char path[] = "/tmp/skr-test-jwks-ca-XXXXXX";
	int fd;

	X509_STORE_add_cert(store, ca_cert);
	keys = json_object_get(doc, "keys");
	json_array_append_new(keys, x5c_entry("RSA", "via-inter", leaf,
	    inter_cert));
	json_array_append_new(keys, x5c_entry("RSA", "direct", direct, NULL));
	json_array_append_new(keys, x5c_entry("RSA", "missing-inter", leaf,
	    NULL));
	json_array_append_new(keys, x5c_entry("RSA", "self", self, NULL));
	json_array_append_new(keys, x5c_entry("EC", "expired", expired, NULL));
	json_array_append_new(keys, jwk_entry(rsa_b, "no-chain"));

	/* Without a CA every well-formed entry loads. */
	set = load(doc, NULL, NOW);
	CHECK(set != NULL && skr_jwks_count(set) == 6);
	skr_jwks_unref(set);

	/* With one, only chains that meet it, valid at the given time. */
	set = load(doc, store, NOW);
	CHECK(set != NULL && skr_jwks_count(set) == 2);
	if (set != NULL) {
		CHECK(skr_jwks_find(set, "via-inter") != NULL);
		CHECK(skr_jwks_find(set, "direct") != NULL);
		CHECK(has_warning(set, "\"missing-inter\"): x5c chain does not "
		    "verify"));
		CHECK(has_warning(set, "\"self\"): x5c chain does not verify"));
		CHECK(has_warning(set, "\"expired\"): x5c chain does not "
		    "verify"));
		CHECK(has_warning(set, "\"no-chain\"): no x5c chain"));
	}
	skr_jwks_unref(set);
	/* Checked as of a time when the old certificate was valid. */
	set = load(doc, store, NOW - 7200);
	CHECK(set != NULL && skr_jwks_find(set, "expired") != NULL);
	CHECK(set != NULL && skr_jwks_find(set, "via-inter") == NULL);
	skr_jwks_unref(set);

	/* A CA bundle file. */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	PEM_write_X509(f, ca_cert);
	fclose(f);
	X509_STORE_free(store);
	store = NULL;
	CHECK_OK(skr_jwks_load_ca(path, &store));
	set = load(doc, store, NOW);
	CHECK(set != NULL && skr_jwks_count(set) == 2);
	skr_jwks_unref(set);
	X509_STORE_free(store);
	store = (X509_STORE *)1;
	CHECK_ERR(skr_jwks_load_ca("/nonexistent/ca.pem", &store),
	    SKR_ERR_IO);
	CHECK(store == NULL);
	CHECK(skr_test_write_file(path, "not a certificate\n") == 0);
	CHECK(skr_jwks_load_ca(path, &store) != SKR_OK);
	CHECK(store == NULL);
	unlink(path);

	X509_free(leaf);
	X509_free(direct);
	X509_free(self);
	X509_free(expired);
	json_decref(doc);
}

int
main(void)
{
	skr_key *k = NULL;

	rsa_a = EVP_RSA_gen(2048);
	rsa_b = EVP_RSA_gen(2048);
	rsa_weak = EVP_RSA_gen(1024);
	ca_key = EVP_EC_gen("P-256");
	inter_key = EVP_EC_gen("P-256");
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &k));
	ec_a = k ? skr_key_pkey(k) : NULL;
	if (ec_a != NULL)
		EVP_PKEY_up_ref(ec_a);
	skr_key_free(k);
	if (!rsa_a || !rsa_b || !rsa_weak || !ca_key || !inter_key || !ec_a)
		return check_done();
	ca_cert = make_cert(ca_key, "test CA", NULL, NULL, 1, -86400 * 2,
	    86400 * 365);
	inter_cert = make_cert(inter_key, "test intermediate", ca_cert, ca_key,
	    1, -86400 * 2, 86400 * 365);

	test_documents();
	test_entries();
	test_ca();

	X509_free(ca_cert);
	X509_free(inter_cert);
	EVP_PKEY_free(rsa_a);
	EVP_PKEY_free(rsa_b);
	EVP_PKEY_free(rsa_weak);
	EVP_PKEY_free(ec_a);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(inter_key);
	return check_done();
}
