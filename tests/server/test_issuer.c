/*
 * skrd's own attestation authority (server/issuer.c) and its signing key
 * in the data directory (skr_pki_attest_ensure, skr_pki_load_attest):
 * the key set and its kid, minted tokens as the token verifier reads
 * them, and the trust a release puts in them -- skrd's issuer answered
 * from its own key set, every other issuer passed on.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "encoding.h"
#include "files.h"
#include "issuer.h"
#include "jwk.h"
#include "jwks.h"
#include "pki.h"
#include "token.h"

#define ISS "https://skr.test:8443"
#define NOW 1750000000

static char dir[SKR_TEST_PATH_MAX];

static void
test_key_files(void)
{
	char other[SKR_TEST_PATH_MAX];
	int created = -1;

	/* skrd init made the pair; ensure leaves it. */
	CHECK(access(skr_test_path(dir, "attest-signing.pem"), F_OK) == 0);
	CHECK(access(skr_test_path(dir, "attest-signing-key.pem"), F_OK) == 0);
	CHECK_OK(skr_pki_attest_ensure(dir, &created));
	CHECK(created == 0);
	/* A directory from before: made at the next call. */
	skr_test_tmpdir(NULL, "issuer-old", other, sizeof(other));
	CHECK_OK(skr_pki_init_dir(other, NULL));
	CHECK(unlink(skr_test_path(other, "attest-signing.pem")) == 0);
	CHECK(unlink(skr_test_path(other, "attest-signing-key.pem")) == 0);
	CHECK_OK(skr_pki_attest_ensure(other, &created));
	CHECK(created == 1);
	{
		struct stat st;

		CHECK(stat(skr_test_path(other, "attest-signing-key.pem"), &st) ==
		    0 && (st.st_mode & 0777) == 0600);
	}
	/* Half a pair is refused, and loads as nothing. */
	CHECK(unlink(skr_test_path(other, "attest-signing.pem")) == 0);
	CHECK_ERR(skr_pki_attest_ensure(other, &created), SKR_ERR_CONFIG);
	{
		skr_issuer *is = NULL;

		CHECK(skr_issuer_load(other, 0, &is) != SKR_OK && is == NULL);
	}
	/* A certificate of another key is refused. */
	{
		skr_issuer *is = NULL;
		char *cert = skr_test_slurp(skr_test_path(other,
		    "release-signing.pem"), NULL);

		CHECK(cert != NULL && skr_test_write_file(skr_test_path(other,
		    "attest-signing.pem"), cert) == 0);
		CHECK_ERR(skr_issuer_load(other, 0, &is), SKR_ERR_CONFIG);
		free(cert);
	}
	skr_test_rmrf(other);
}

static void
test_key_set(const skr_issuer *is)
{
	json_t *set = skr_issuer_jwks_json(is), *k, *oid;
	skr_key *pub = NULL;
	skr_buf tp64 = SKR_BUF_INIT;
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen;

	CHECK(set != NULL && json_array_size(json_object_get(set, "keys")) ==
	    1);
	k = json_array_get(json_object_get(set, "keys"), 0);
	CHECK_STR(json_string_value(json_object_get(k, "kty")), "RSA");
	CHECK_STR(json_string_value(json_object_get(k, "alg")), "RS256");
	CHECK_STR(json_string_value(json_object_get(k, "use")), "sig");
	CHECK_STR(json_string_value(json_object_get(k, "kid")),
	    skr_issuer_kid(is));
	CHECK(json_array_size(json_object_get(k, "x5c")) == 2);
	CHECK(json_object_get(k, "d") == NULL && json_object_get(k, "p") ==
	    NULL);
	/* The kid is the RFC 7638 thumbprint of the published key. */
	CHECK_OK(skr_jwk_parse(k, SKR_JWK_PUBLIC, &pub));
	CHECK_OK(skr_jwk_thumbprint(pub, EVP_sha256(), tp, &tplen));
	CHECK_OK(skr_b64url_encode(&tp64, tp, tplen));
	CHECK_STR(skr_buf_cstr(&tp64), skr_issuer_kid(is));
	oid = skr_issuer_openid_json(is, ISS);
	CHECK_STR(json_string_value(json_object_get(oid, "issuer")), ISS);
	CHECK_STR(json_string_value(json_object_get(oid, "jwks_uri")),
	    ISS "/certs");
	json_decref(oid);
	json_decref(set);
	skr_key_free(pub);
	skr_buf_free(&tp64);
}

/* Verify text through the release trust of is at ISS (no authorities). */
static int
verify(const skr_issuer *is, const char *iss, const char *text,
    int64_t now, skr_token **out)
{
	skr_issuer_trust ctx;
	skr_token_trust trust;
	skr_token_opts o = SKR_TOKEN_OPTS_INIT;

	skr_issuer_trust_init(&ctx, is, iss, NULL, &trust);
	o.now = now;
	return skr_token_verify(text, strlen(text), &trust, &o, out, NULL);
}

static void
test_tokens(const skr_issuer *is)
{
	json_t *claims = json_pack("{s:s,s:{s:[]},s:s}",
	    "x-ms-attestation-type", "sevsnpvm", "x-ms-runtime", "keys",
	    "nonce", "42");
	char jti[SKR_ISSUER_JTI_LEN + 1], jti2[SKR_ISSUER_JTI_LEN + 1];
	skr_buf t = SKR_BUF_INIT, t2 = SKR_BUF_INIT;
	skr_token *tok = NULL;
	skr_jws jws;

	CHECK_OK(skr_issuer_mint(is, ISS, claims, NOW, &t, jti));
	CHECK(strlen(jti) == SKR_ISSUER_JTI_LEN);
	CHECK_OK(skr_jws_parse((const char *)t.data, t.len, 0, &jws));
	CHECK(jws.alg == SKR_ALG_RS256);
	CHECK_STR(json_string_value(json_object_get(jws.header, "kid")),
	    skr_issuer_kid(is));
	CHECK_STR(json_string_value(json_object_get(jws.header, "jku")),
	    ISS "/certs");
	CHECK_STR(json_string_value(json_object_get(jws.header, "typ")), "JWT");
	skr_jws_clear(&jws);
	/* As release reads it: trusted, the claims as given plus the
	 * registered ones. */
	CHECK_OK(verify(is, ISS, (const char *)t.data, NOW + 10, &tok));
	if (tok != NULL) {
		CHECK_STR(tok->iss, ISS);
		CHECK_STR(tok->jti, jti);
		CHECK_STR(tok->attestation_type, "sevsnpvm");
		CHECK(tok->has_iat && tok->iat == NOW && tok->has_nbf &&
		    tok->nbf == NOW);
		CHECK(tok->exp == NOW + 3600);
		CHECK_STR(json_string_value(json_object_get(tok->claims,
		    "nonce")), "42");
	}
	skr_token_free(tok);
	tok = NULL;
	/* The issuer is matched as policies match authorities. */
	CHECK_OK(verify(is, ISS "/", (const char *)t.data, NOW, &tok));
	skr_token_free(tok);
	tok = NULL;
	/* Another issuer URL is not this one; without authorities it is
	 * not trusted at all. */
	CHECK_ERR(verify(is, "https://other.test", (const char *)t.data, NOW,
	    &tok), SKR_ERR_TOKEN_ISSUER);
	CHECK_ERR(verify(NULL, ISS, (const char *)t.data, NOW, &tok),
	    SKR_ERR_TOKEN_ISSUER);
	/* Past exp. */
	CHECK_ERR(verify(is, ISS, (const char *)t.data, NOW + 3600 + 61, &tok),
	    SKR_ERR_TOKEN_EXPIRED);
	/* Each token its own jti. */
	CHECK_OK(skr_issuer_mint(is, ISS, claims, NOW, &t2, jti2));
	CHECK(strcmp(jti, jti2) != 0);
	json_decref(claims);
	skr_buf_free(&t);
	skr_buf_free(&t2);
}

/* A token of another issue of the key (same issuer URL, another key) has
 * an unknown kid: refused without any fetch. */
static void
test_other_key(const skr_issuer *is)
{
	char other[SKR_TEST_PATH_MAX], jti[SKR_ISSUER_JTI_LEN + 1];
	skr_issuer *is2 = NULL;
	skr_buf t = SKR_BUF_INIT;
	skr_token *tok = NULL;
	json_t *claims = json_pack("{s:s}", "x-ms-attestation-type",
	    "sevsnpvm");

	skr_test_tmpdir(NULL, "issuer-other", other, sizeof(other));
	CHECK_OK(skr_pki_init_dir(other, NULL));
	CHECK_OK(skr_issuer_load(other, 0, &is2));
	CHECK(strcmp(skr_issuer_kid(is), skr_issuer_kid(is2)) != 0);
	CHECK(skr_issuer_lifetime(is2) == SKR_ISSUER_DEFAULT_LIFETIME);
	CHECK_OK(skr_issuer_mint(is2, ISS, claims, NOW, &t, jti));
	CHECK_ERR(verify(is, ISS, (const char *)t.data, NOW, &tok),
	    SKR_ERR_TOKEN_KID);
	skr_issuer_free(is2);
	skr_buf_free(&t);
	json_decref(claims);
	skr_test_rmrf(other);
}

int
main(void)
{
	skr_issuer *is = NULL;

	skr_test_tmpdir(NULL, "issuer", dir, sizeof(dir));
	CHECK_OK(skr_pki_init_dir(dir, NULL));
	test_key_files();
	CHECK_OK(skr_issuer_load(dir, 3600, &is));
	if (is != NULL) {
		CHECK(skr_issuer_lifetime(is) == 3600);
		test_key_set(is);
		test_tokens(is);
		test_other_key(is);
	}
	skr_issuer_free(is);
	skr_test_rmrf(dir);
	return check_done();
}
