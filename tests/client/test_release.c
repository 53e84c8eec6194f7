/*
 * Release response verification (skr__release_unpack): responses built
 * here exactly as docs/release.md shapes them, signed by a test release
 * signer, then every way one can be wrong.  Negative cases first: each must
 * be refused with its own error and release nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "check.h"
#include "files.h"
#include "client_priv.h"
#include "encoding.h"
#include "jwk.h"
#include "jws.h"
#include "skr/client.h"
#include "testcert.h"
#include "wrap.h"

#define HOST "https://skr.test:8443"
#define VERSION "0123456789abcdef0123456789abcdef"
#define WRAP_KID "tee-wrapping-key-1"

static char tmpdir[64];

/* The world: a CA, its release signer, an impostor, a TEE key. */
static EVP_PKEY *ca_key, *signer_key, *ec_signer_key, *rogue_key, *wrap_key,
    *other_wrap_key, *tls_key;
static X509 *ca, *signer, *ec_signer, *expired_signer, *tls_cert, *plain_leaf,
    *rogue_ca, *rogue, *tls_signer;
static skr_key *released_oct, *released_rsa;
static skr_client *by_ca, *by_pin, *by_rogue_ca;

static skr_client *client(const char *cert, const char *ca_file);

/* What one test response looks like; each test changes one thing. */
struct resp {
	EVP_PKEY *sign_key;
	skr_alg alg;
	X509 *x5c[3];           /* NULL-terminated; x5c[0] NULL: no x5c */
	const char *req_nonce;  /* echoed nonce, NULL: none */
	const char *req_enc;    /* echoed enc, NULL: member absent */
	const char *kid;        /* response.key.key.kid */
	const char *kty;
	const skr_key *key;     /* what key_hsm holds */
	EVP_PKEY *wrap_to;
	const char *wrap_kid;
	skr_enc enc;
	int no_key_hsm;
	int tamper;             /* change the payload after signing */
};

static void
resp_init(struct resp *r)
{
	memset(r, 0, sizeof(*r));
	r->sign_key = signer_key;
	r->alg = SKR_ALG_RS256;
	r->x5c[0] = signer;
	r->x5c[1] = ca;
	r->req_enc = "CKM_RSA_AES_KEY_WRAP";
	r->kid = HOST "/keys/disk/" VERSION;
	r->kty = "oct-HSM";
	r->key = released_oct;
	r->wrap_to = wrap_key;
	r->wrap_kid = WRAP_KID;
	r->enc = SKR_ENC_CKM_RSA_AES_KEY_WRAP;
}

static json_t *
x5c_json(X509 *const *certs)
{
	json_t *a = json_array();
	skr_buf b = SKR_BUF_INIT;
	unsigned char *der;
	int n;

	for (size_t i = 0; certs[i] != NULL; i++) {
		der = NULL;
		n = i2d_X509(certs[i], &der);
		skr_buf_reset(&b);
		skr_b64_encode(&b, der, (size_t)n);
		json_array_append_new(a, json_string(skr_buf_cstr(&b)));
		OPENSSL_free(der);
	}
	skr_buf_free(&b);
	return a;
}

/* The compact JWS text of a response; caller frees. */
static char *
build(const struct resp *r)
{
	skr_buf hsm = SKR_BUF_INIT, jws = SKR_BUF_INIT, pl = SKR_BUF_INIT;
	json_t *hdr = json_pack("{s:s,s:s}", "kid", "SIGNERTHUMBPRINT", "typ",
	    "JWT");
	json_t *req, *jwk, *payload;
	char *text, *dot1, *dot2, *raw;

	if (r->x5c[0] != NULL)
		json_object_set_new(hdr, "x5c", x5c_json(r->x5c));
	if (skr_release_wrap(r->key, r->wrap_to, r->wrap_kid, r->enc, &hsm) !=
	    SKR_OK)
		return NULL;
	req = json_pack("{s:s,s:s}", "api-version", "7.4", "kid",
	    HOST "/keys/disk");
	if (r->req_enc != NULL)
		json_object_set_new(req, "enc", json_string(r->req_enc));
	if (r->req_nonce != NULL)
		json_object_set_new(req, "nonce", json_string(r->req_nonce));
	/* Extra members, as Key Vault adds them, must not matter. */
	jwk = json_pack("{s:s,s:s,s:[s],s:b}", "kid", r->kid, "kty", r->kty,
	    "key_ops", "unwrapKey", "x-extra", 1);
	if (!r->no_key_hsm)
		json_object_set_new(jwk, "key_hsm",
		    json_string(skr_buf_cstr(&hsm)));
	payload = json_pack("{s:o,s:{s:{s:o,s:{s:b,s:b,s:i},s:{},s:{s:s,s:s,"
	    "s:b}},s:s}}", "request", req, "response", "key", "key", jwk,
	    "attributes", "enabled", 1, "exportable", 1, "created", 1700000000,
	    "tags", "release_policy", "contentType",
	    "application/json; charset=utf-8", "data", "e30", "immutable", 0,
	    "x-ms-extra", "ignored");
	if (skr_jws_sign_json(r->sign_key, r->alg, hdr, payload, &jws) !=
	    SKR_OK)
		return NULL;
	text = (char *)skr_buf_steal(&jws, NULL);
	if (r->tamper) {
		/* Re-encode the payload with one member changed; keep the
		 * header and signature. */
		json_object_set_new(payload, "x-tampered", json_true());
		raw = json_dumps(payload, JSON_COMPACT);
		skr_b64url_encode(&pl, (const uint8_t *)raw, strlen(raw));
		free(raw);
		dot1 = strchr(text, '.');
		dot2 = strchr(dot1 + 1, '.');
		skr_buf_reset(&jws);
		skr_buf_append(&jws, text, (size_t)(dot1 - text + 1));
		skr_buf_append_str(&jws, skr_buf_cstr(&pl));
		skr_buf_append_str(&jws, dot2);
		free(text);
		text = (char *)skr_buf_steal(&jws, NULL);
	}
	json_decref(hdr);
	json_decref(payload);
	skr_buf_free(&hsm);
	skr_buf_free(&pl);
	skr_buf_free(&jws);
	return text;
}

static struct skr__release_expect want_default = { "disk", NULL, NULL,
	NULL };

/* Unpack r with client c, expectations w and unwrapper u. */
static int
unpack_with(const skr_client *c, const struct resp *r,
    const struct skr__release_expect *w, const skr_unwrapper *u,
    skr_released_key **out)
{
	char *text = build(r);
	int e;

	*out = NULL;
	if (text == NULL)
		return SKR_ERR_INTERNAL;
	e = skr__release_unpack(c, text, strlen(text), w, u, out);
	free(text);
	return e;
}

static skr_unwrapper
unwrapper(EVP_PKEY *k, const char *kid)
{
	skr_unwrapper u;

	memset(&u, 0, sizeof(u));
	u.key = k;
	u.kid = kid;
	return u;
}

/* Expect a refusal that releases nothing. */
#define REFUSED(c, r, w, u, err)                                          \
	do {                                                              \
		skr_released_key *k_ = (skr_released_key *)1;             \
		CHECK_ERR(unpack_with((c), (r), (w), (u), &k_), (err));   \
		CHECK(k_ == NULL);                                        \
	} while (0)

static void
test_signature_refusals(void)
{
	skr_unwrapper u = unwrapper(wrap_key, NULL);
	struct resp r;

	/* Payload changed after signing. */
	resp_init(&r);
	r.tamper = 1;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);
	REFUSED(by_pin, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* Signed by an impostor whose own chain it presents. */
	resp_init(&r);
	r.sign_key = rogue_key;
	r.x5c[0] = rogue;
	r.x5c[1] = rogue_ca;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);
	REFUSED(by_pin, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* Our signer's chain in the header, the impostor's signature. */
	resp_init(&r);
	r.sign_key = rogue_key;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);
	REFUSED(by_pin, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* Signed by the pinned key, but the header names another leaf:
	 * the pin is the exact certificate. */
	resp_init(&r);
	r.x5c[0] = rogue;
	r.x5c[1] = NULL;
	REFUSED(by_pin, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* No x5c: a CA client has nothing to chain. */
	resp_init(&r);
	r.x5c[0] = NULL;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* Chains, but to a CA this client does not trust. */
	resp_init(&r);
	REFUSED(by_rogue_ca, &r, &want_default, &u,
	    SKR_ERR_RESPONSE_SIGNATURE);

	/* Issued by the trusted CA, but not for signing releases: the TLS
	 * server's certificate (whose key a TLS-terminating proxy holds),
	 * and a leaf with no extended key usage at all.  Pinning the exact
	 * certificate is the only way to trust such a leaf. */
	resp_init(&r);
	r.sign_key = tls_key;
	r.alg = SKR_ALG_ES256;
	r.x5c[0] = tls_cert;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);
	r.x5c[0] = plain_leaf;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* A signer certificate that has expired. */
	resp_init(&r);
	r.x5c[0] = expired_signer;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* Algorithms outside RS256/PS256/ES256. */
	resp_init(&r);
	r.alg = SKR_ALG_RS384;
	REFUSED(by_ca, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);
	r.alg = SKR_ALG_PS512;
	REFUSED(by_pin, &r, &want_default, &u, SKR_ERR_RESPONSE_SIGNATURE);

	/* Not a JWS at all, or an unsigned one. */
	{
		skr_released_key *k = NULL;
		static const char *const junk[] = {
			"",
			"not a jws",
			"a.b",
			"a.b.c.d",
			/* {"alg":"none"}.{}. */
			"eyJhbGciOiJub25lIn0.e30.",
			/* {"alg":"HS256"}.{}.sig */
			"eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
		};

		for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
			CHECK_ERR(skr__release_unpack(by_ca, junk[i],
			    strlen(junk[i]), &want_default, &u, &k),
			    SKR_ERR_RESPONSE_SIGNATURE);
			CHECK(k == NULL);
		}
	}
}

static void
test_content_refusals(void)
{
	skr_unwrapper u = unwrapper(wrap_key, NULL);
	struct skr__release_expect w = want_default;
	struct resp r;

	/* Nonce: what was sent must come back, and nothing else. */
	resp_init(&r);
	r.req_nonce = "nonce-2";
	w.nonce = "nonce-1";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_NONCE_MISMATCH);
	r.req_nonce = NULL;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_NONCE_MISMATCH);
	r.req_nonce = "nonce-1";
	w.nonce = NULL;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_NONCE_MISMATCH);
	r.req_nonce = "nonce-1x";
	w.nonce = "nonce-1";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_NONCE_MISMATCH);
	w.nonce = NULL;

	/* No key_hsm. */
	resp_init(&r);
	r.no_key_hsm = 1;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);

	/* Another key, another version. */
	resp_init(&r);
	r.kid = HOST "/keys/other/" VERSION;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	r.kid = HOST "/keys/disk2/" VERSION;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	r.kid = HOST "/keys/disk";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	r.kid = HOST "/keys/disk/" VERSION "/extra";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	r.kid = HOST "/secrets/disk/" VERSION;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	r.kid = "disk";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	resp_init(&r);
	w.version = "ffffffffffffffffffffffffffffffff";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	w.version = NULL;

	/* kty missing the mark. */
	resp_init(&r);
	r.kty = "AES";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);

	/* enc: the echo and key_hsm must both be what was asked. */
	resp_init(&r);
	r.req_enc = "RSA_AES_KEY_WRAP_256";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	resp_init(&r);
	r.enc = SKR_ENC_RSA_AES_KEY_WRAP_256;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_KEY_HSM);
	w.enc = "RSA_AES_KEY_WRAP_384";
	r.req_enc = "RSA_AES_KEY_WRAP_384";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_KEY_HSM);
	w.enc = NULL;

	/* key_hsm wrapped for another kid than the TEE's. */
	resp_init(&r);
	r.wrap_kid = "someone-else";
	{
		skr_unwrapper uk = unwrapper(wrap_key, WRAP_KID);

		REFUSED(by_ca, &r, &w, &uk, SKR_ERR_KEY_HSM);
	}

	/* Wrapped to another key than ours. */
	resp_init(&r);
	r.wrap_to = other_wrap_key;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_UNWRAP);
}

/* An OAEP callback as a TPM would implement it. */
static int decrypt_calls;

static int
tpm_decrypt(void *ctx, const char *md, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(ctx, NULL);
	int ok;

	decrypt_calls++;
	ok = pc != NULL && EVP_PKEY_decrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, md, NULL) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, md, NULL) == 1 &&
	    EVP_PKEY_decrypt(pc, out, outlen, in, inlen) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

static int
failing_decrypt(void *ctx, const char *md, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen)
{
	return -1;
}

/* A TPM that refuses its authorization: a code of its own. */
static int
refusing_decrypt(void *ctx, const char *md, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen)
{
	return SKR_ERR_TPM_POLICY;
}

static void
check_oct(const skr_released_key *k)
{
	skr_buf want = SKR_BUF_INIT_SECRET;
	const unsigned char *b;
	size_t n;

	CHECK(k != NULL);
	if (k == NULL)
		return;
	CHECK_OK(skr_key_private_bytes(released_oct, &want));
	b = skr_released_key_bytes(k, &n);
	CHECK_MEM(b, n, want.data, want.len);
	CHECK_STR(skr_released_key_kty(k), "oct");
	CHECK(skr_released_key_pkey(k) == NULL);
	CHECK_STR(skr_released_key_kid(k), HOST "/keys/disk/" VERSION);
	CHECK(strstr(skr_released_key_attributes(k), "\"exportable\":true") !=
	    NULL);
	skr_buf_free(&want);
}

static void
test_accepted(void)
{
	skr_unwrapper u = unwrapper(wrap_key, WRAP_KID);
	struct skr__release_expect w = want_default;
	skr_released_key *k = NULL;
	struct resp r;

	/* The plain case, trusted both ways. */
	resp_init(&r);
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);
	CHECK_OK(unpack_with(by_pin, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);

	/* Key names are case-insensitive and versions hex of either case,
	 * as skrd compares them: a key created as "DiskKey" and released as
	 * "diskkey" (or the other way round) is the key asked for. */
	r.kid = HOST "/keys/DiskKey/" VERSION;
	w.name = "diskkey";
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	skr_released_key_free(k);
	r.kid = HOST "/keys/disk/0123456789ABCDEF0123456789ABCDEF";
	w.name = "DISK";
	w.version = VERSION;
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	skr_released_key_free(k);
	r.kid = HOST "/keys/disk/" VERSION;
	w.version = "0123456789ABCDEF0123456789ABCDEF";
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	skr_released_key_free(k);
	/* Still not another key or version. */
	r.kid = HOST "/keys/DiskKey2/" VERSION;
	w.name = "diskkey";
	w.version = NULL;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	r.kid = HOST "/keys/DiskKey/" VERSION;
	w.version = "0123456789ABCDEF0123456789ABCDEE";
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_RESPONSE);
	w = want_default;
	resp_init(&r);

	/* Pinned: no x5c is fine, the pinned key verifies. */
	r.x5c[0] = NULL;
	CHECK_OK(unpack_with(by_pin, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);

	/* A pinned certificate is trusted as it is, release-signing usage
	 * or not (a certificate from elsewhere, such as Managed HSM's). */
	{
		char pem[300];
		skr_client *by_plain_pin;

		snprintf(pem, sizeof(pem), "%s/plain.pem", tmpdir);
		CHECK(tc_write_pem(pem, plain_leaf, NULL));
		CHECK((by_plain_pin = client(pem, NULL)) != NULL);
		resp_init(&r);
		r.sign_key = tls_key;
		r.alg = SKR_ALG_ES256;
		r.x5c[0] = plain_leaf;
		r.x5c[1] = NULL;
		if (by_plain_pin != NULL) {
			CHECK_OK(unpack_with(by_plain_pin, &r, &w, &u, &k));
			check_oct(k);
			skr_released_key_free(k);
		}
		skr_client_free(by_plain_pin);
	}

	/* Nonce, version, enc and PS256 all at once; no enc echo. */
	resp_init(&r);
	r.alg = SKR_ALG_PS256;
	r.req_nonce = "n-123";
	r.req_enc = NULL;
	r.enc = SKR_ENC_RSA_AES_KEY_WRAP_384;
	w.nonce = "n-123";
	w.version = VERSION;
	w.enc = "RSA_AES_KEY_WRAP_384";
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);
	w = want_default;

	/* ES256 from an EC signer under the same CA; kty without -HSM. */
	resp_init(&r);
	r.sign_key = ec_signer_key;
	r.alg = SKR_ALG_ES256;
	r.x5c[0] = ec_signer;
	r.kty = "oct";
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);

	/* An RSA key: PKCS#8 bytes and an EVP_PKEY. */
	resp_init(&r);
	r.key = released_rsa;
	r.kty = "RSA-HSM";
	r.enc = SKR_ENC_RSA_AES_KEY_WRAP_256;
	r.req_enc = "RSA_AES_KEY_WRAP_256";
	w.enc = "RSA_AES_KEY_WRAP_256";
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	if (k != NULL) {
		CHECK_STR(skr_released_key_kty(k), "RSA");
		CHECK(skr_released_key_pkey(k) != NULL &&
		    EVP_PKEY_eq(skr_released_key_pkey(k),
		    skr_key_pkey(released_rsa)) == 1);
	}
	skr_released_key_free(k);
	w = want_default;

	/* The unwrap done by a callback (a TPM holding the key). */
	resp_init(&r);
	memset(&u, 0, sizeof(u));
	u.decrypt = tpm_decrypt;
	u.ctx = wrap_key;
	u.modulus_len = (size_t)EVP_PKEY_get_size(wrap_key);
	decrypt_calls = 0;
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	CHECK(decrypt_calls == 1);
	check_oct(k);
	skr_released_key_free(k);
	r.enc = SKR_ENC_RSA_AES_KEY_WRAP_256;
	r.req_enc = "RSA_AES_KEY_WRAP_256";
	w.enc = "RSA_AES_KEY_WRAP_256";
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);
	u.decrypt = failing_decrypt;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_UNWRAP);
	/* A callback's own skr code is the release's error; any other
	 * failure stays UNWRAP, which says nothing about the ciphertext. */
	u.decrypt = refusing_decrypt;
	REFUSED(by_ca, &r, &w, &u, SKR_ERR_TPM_POLICY);

	/* skrd's release-signing profile: serverAuth as well (a Key Vault
	 * client that checks the chain as a TLS server's), still trusted for
	 * its document-signing usage. */
	resp_init(&r);
	r.x5c[0] = tls_signer;
	w = want_default;
	u = unwrapper(wrap_key, WRAP_KID);
	CHECK_OK(unpack_with(by_ca, &r, &w, &u, &k));
	check_oct(k);
	skr_released_key_free(k);
}

static skr_client *
client(const char *cert, const char *ca_file)
{
	skr_client_opts o;
	skr_client *c = NULL;

	skr_client_opts_init(&o);
	o.url = HOST;
	o.signing_cert = cert;
	o.signing_ca = ca_file;
	if (skr_client_new(&o, &c) != SKR_OK)
		return NULL;
	return c;
}

int
main(void)
{
	char ca_pem[256], signer_pem[256], rogue_pem[256];
	EVP_PKEY *rogue_ca_key;

	skr_test_tmpdir(NULL, "test-release", tmpdir, sizeof(tmpdir));
	ca_key = tc_ec();
	signer_key = tc_rsa();
	ec_signer_key = tc_ec();
	rogue_key = tc_rsa();
	rogue_ca_key = tc_ec();
	tls_key = tc_ec();
	wrap_key = tc_rsa();
	other_wrap_key = tc_rsa();
	ca = tc_cert("skr test CA", ca_key, NULL, NULL, 1, -1, 365);
	signer = tc_cert_eku("release signer", signer_key, ca, ca_key, 0, -1,
	    30, SKR_OID_RELEASE_SIGNING);
	ec_signer = tc_cert_eku("ec signer", ec_signer_key, ca, ca_key, 0, -1,
	    30, SKR_OID_RELEASE_SIGNING);
	expired_signer = tc_cert_eku("old signer", signer_key, ca, ca_key, 0,
	    -30, -1, SKR_OID_RELEASE_SIGNING);
	tls_cert = tc_cert_eku("localhost", tls_key, ca, ca_key, 0, -1, 30,
	    "serverAuth");
	plain_leaf = tc_cert("release signer", tls_key, ca, ca_key, 0, -1, 30);
	tls_signer = tc_cert_eku("release signer", signer_key, ca, ca_key, 0,
	    -1, 30, "serverAuth," SKR_OID_RELEASE_SIGNING);
	rogue_ca = tc_cert("skr test CA", rogue_ca_key, NULL, NULL, 1, -1, 365);
	rogue = tc_cert_eku("release signer", rogue_key, rogue_ca,
	    rogue_ca_key, 0, -1, 30, SKR_OID_RELEASE_SIGNING);
	CHECK(ca && signer && ec_signer && expired_signer && tls_cert &&
	    plain_leaf && rogue_ca && rogue && tls_signer);
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &released_oct));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &released_rsa));
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", tmpdir);
	snprintf(signer_pem, sizeof(signer_pem), "%s/signer.pem", tmpdir);
	snprintf(rogue_pem, sizeof(rogue_pem), "%s/rogue-ca.pem", tmpdir);
	CHECK(tc_write_pem(ca_pem, ca, NULL));
	CHECK(tc_write_pem(signer_pem, signer, NULL));
	CHECK(tc_write_pem(rogue_pem, rogue_ca, NULL));
	by_ca = client(NULL, ca_pem);
	by_pin = client(signer_pem, NULL);
	by_rogue_ca = client(NULL, rogue_pem);
	CHECK(by_ca != NULL && by_pin != NULL && by_rogue_ca != NULL);
	if (by_ca == NULL || by_pin == NULL || by_rogue_ca == NULL)
		return check_done();

	test_signature_refusals();
	test_content_refusals();
	test_accepted();

	skr_client_free(by_ca);
	skr_client_free(by_pin);
	skr_client_free(by_rogue_ca);
	skr_key_free(released_oct);
	skr_key_free(released_rsa);
	X509_free(ca);
	X509_free(signer);
	X509_free(ec_signer);
	X509_free(expired_signer);
	X509_free(tls_cert);
	X509_free(plain_leaf);
	X509_free(tls_signer);
	X509_free(rogue_ca);
	X509_free(rogue);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(signer_key);
	EVP_PKEY_free(ec_signer_key);
	EVP_PKEY_free(rogue_key);
	EVP_PKEY_free(rogue_ca_key);
	EVP_PKEY_free(tls_key);
	EVP_PKEY_free(wrap_key);
	EVP_PKEY_free(other_wrap_key);
	if (skr_test_rmrf(tmpdir) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_done();
}
