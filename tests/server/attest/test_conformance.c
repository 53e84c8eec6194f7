/*
 * Conformance: every row of shared/conformance/README.md -- real Microsoft
 * Azure Attestation tokens and key sets, Key Vault policies, and the
 * decision each combination must reach -- through the library and through
 * the offline decision of `skrctl policy eval` (client/skrctl_eval.h).
 * Skips when the fixtures are absent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "encoding.h"
#include "files.h"
#include "json.h"
#include "jwks.h"
#include "policy.h"
#include "skrctl_eval.h"
#include "token.h"

#define CVM "maa-sevsnp-cvm-weu.jwt"
#define SGX "maa-sgx-eus.jwt"
#define WEU_KEYS "maa-weu-jwks.json"
#define EUS_KEYS "maa-eus-certs.json"
#define CVM_AT 1680180000
#define SGX_AT 1695740000
#define WEU_ISS "https://sharedweu.weu.attest.azure.net"
#define EUS_ISS "https://sharedeus.eus.attest.azure.net"

static const char *dir;

static char *
path_of(const char *name)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* A fixture's text without its trailing newlines. */
static void
slurp(const char *name, skr_buf *out)
{
	size_t n;
	char *text = skr_test_slurp(path_of(name), &n);

	skr_buf_init(out, 0);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	skr_buf_append(out, text, n);
	free(text);
	while (out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
}

static skr_jwks *
load_keys(const char *name)
{
	skr_buf text, why = SKR_BUF_INIT;
	skr_jwks *set = NULL;

	slurp(name, &text);
	CHECK_OK(skr_jwks_parse((const char *)text.data, text.len, NULL, 0,
	    &set, &why));
	skr_buf_free(&text);
	skr_buf_free(&why);
	return set;
}

static skr_policy *
load_policy(const char *name)
{
	skr_buf text, why = SKR_BUF_INIT;
	skr_policy *p = NULL;

	slurp(name, &text);
	CHECK_OK(skr_policy_parse((const char *)text.data, text.len, &p,
	    &why));
	if (why.len)
		fprintf(stderr, "  %s: %s\n", name, skr_buf_cstr(&why));
	skr_buf_free(&text);
	skr_buf_free(&why);
	return p;
}

/* Verify token text against a key set at time at; the authority is issuer. */
static int
verify(const skr_buf *token, skr_jwks *keys, const char *issuer, int64_t at,
    skr_token **out)
{
	skr_token_opts opts = SKR_TOKEN_OPTS_INIT;
	skr_token_static st = { issuer, keys, 0 };
	skr_token_trust trust;
	skr_buf why = SKR_BUF_INIT;
	int r;

	skr_token_trust_static(&trust, &st);
	opts.now = at;
	r = skr_token_verify((const char *)token->data, token->len, &trust,
	    &opts, out, &why);
	skr_buf_free(&why);
	return r;
}

/* A full decision: token, keys, policy, time -> error code. */
static int
decide(const char *tokname, const char *keysname, const char *polname,
    int64_t at, skr_policy_result *res)
{
	skr_buf token;
	skr_jwks *keys = load_keys(keysname);
	skr_policy *p = load_policy(polname);
	skr_token *tok = NULL;
	int r;

	slurp(tokname, &token);
	r = verify(&token, keys, NULL, at, &tok);
	if (r == SKR_OK)
		r = skr_policy_eval(p, tok->claims, tok->iss, at, res);
	skr_token_free(tok);
	skr_policy_free(p);
	skr_jwks_unref(keys);
	skr_buf_free(&token);
	return r;
}

static void
test_key_sets(void)
{
	skr_jwks *weu = load_keys(WEU_KEYS), *eus = load_keys(EUS_KEYS);

	CHECK(weu != NULL && skr_jwks_count(weu) == 1);
	CHECK(weu != NULL && skr_jwks_warning_count(weu) == 0);
	CHECK(weu != NULL && skr_jwks_find(weu,
	    "dRKh+hBcWUfQimSl3Iv6ZhStW3TSOt0ThwiTgUUqZAo=") != NULL);
	/* The RSA-1024 entry is skipped with a warning, not fatal. */
	CHECK(eus != NULL && skr_jwks_count(eus) == 2);
	CHECK(eus != NULL && skr_jwks_warning_count(eus) == 1);
	if (eus != NULL && skr_jwks_warning_count(eus) == 1) {
		CHECK(strstr(skr_jwks_warning(eus, 0), "2048") != NULL);
		CHECK(strstr(skr_jwks_warning(eus, 0), "lH/VQ9TL") != NULL);
	}
	CHECK(eus != NULL && skr_jwks_find(eus,
	    "rFl9xM+g7TvX63y0iseZtIn20MD5SYAnGblKFasau8I=") != NULL);
	CHECK(eus != NULL && skr_jwks_find(eus,
	    "dSsaF5uUxZO_LRycmQ4KJu3ctMc") != NULL);
	CHECK(eus != NULL && skr_jwks_find(eus,
	    "lH/VQ9TL53cXpeFt3Vf9tiOv+rkWwV+5PbiNzgWcySQ=") == NULL);
	skr_jwks_unref(weu);
	skr_jwks_unref(eus);
}

static void
test_cvm(void)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_buf token;
	skr_jwks *keys;
	skr_token *tok = NULL;
	skr_key *wk = NULL;
	char *kid = NULL;

	/* CVM, weu keys, policy-cvm-weu: allow, wraps to the vTPM key. */
	CHECK_OK(decide(CVM, WEU_KEYS, "policy-cvm-weu.json", CVM_AT, &res));
	CHECK(res.allowed);
	skr_policy_result_clear(&res);

	slurp(CVM, &token);
	keys = load_keys(WEU_KEYS);
	CHECK_OK(verify(&token, keys, WEU_ISS, CVM_AT, &tok));
	if (tok != NULL) {
		CHECK_STR(tok->iss, WEU_ISS);
		CHECK_STR(tok->kid,
		    "dRKh+hBcWUfQimSl3Iv6ZhStW3TSOt0ThwiTgUUqZAo=");
		CHECK(tok->alg == SKR_ALG_RS256);
		CHECK(tok->iat == 1680173374 && tok->has_iat);
		CHECK(tok->nbf == 1680173374 && tok->has_nbf);
		CHECK(tok->exp == 1680202174);
		CHECK_STR(tok->jti, "3bf48db13e9cbcbfd289370d9146aae318588399"
		    "cdcda1495ad7e77006a53d71");
		CHECK_STR(tok->attestation_type, "sevsnpvm");
		CHECK_STR(skr_token_nonce(tok), "QURFMDEwMQ==");
		CHECK(strlen(tok->sha256_hex) == 64);
		CHECK_OK(skr_token_wrapping_key(tok, NULL, &wk, &kid));
		CHECK_STR(kid, "TpmEphemeralEncryptionKey");
		CHECK(wk != NULL && skr_key_kty(wk) == SKR_KTY_RSA &&
		    skr_key_bits(wk) == 2048);
		skr_key_free(wk);
		free(kid);
		/* The HCL key sits under x-ms-isolation-tee: reachable only
		 * through a configured claim path. */
		CHECK_OK(skr_token_wrapping_key(tok,
		    "x-ms-isolation-tee.x-ms-runtime.keys", &wk, &kid));
		CHECK_STR(kid, "HCLAkPub");
		skr_key_free(wk);
		free(kid);
		CHECK_ERR(skr_token_wrapping_key(tok, "x-ms-nothing", &wk,
		    &kid), SKR_ERR_WRAPKEY_MISSING);
	}
	skr_token_free(tok);
	tok = NULL;
	/* The issuer with a trailing slash names the same authority. */
	CHECK_OK(verify(&token, keys, WEU_ISS "/", CVM_AT, &tok));
	skr_token_free(tok);
	tok = NULL;
	CHECK_ERR(verify(&token, keys, EUS_ISS, CVM_AT, &tok),
	    SKR_ERR_TOKEN_ISSUER);

	/* Boundaries of the validity window, default skew 60 s. */
	CHECK_OK(verify(&token, keys, NULL, 1680202174 + 59, &tok));
	skr_token_free(tok);
	tok = NULL;
	CHECK_ERR(verify(&token, keys, NULL, 1680202174 + 60, &tok),
	    SKR_ERR_TOKEN_EXPIRED);
	CHECK_OK(verify(&token, keys, NULL, 1680173374 - 60, &tok));
	skr_token_free(tok);
	tok = NULL;
	CHECK_ERR(verify(&token, keys, NULL, 1680173374 - 61, &tok),
	    SKR_ERR_TOKEN_NOT_YET_VALID);
	/* Evaluated now: expired. */
	CHECK_ERR(verify(&token, keys, NULL, 0, &tok), SKR_ERR_TOKEN_EXPIRED);
	CHECK(tok == NULL);
	skr_jwks_unref(keys);
	skr_buf_free(&token);

	/* Nested anyOf, trailing-slash authority, boolean and number. */
	CHECK_OK(decide(CVM, WEU_KEYS, "policy-cvm-snp-or-tdx.json", CVM_AT,
	    &res));
	skr_policy_result_clear(&res);

	/* Wrong TEE: the reason names the claim. */
	CHECK_ERR(decide(CVM, WEU_KEYS, "policy-cvm-wrong-tee.json", CVM_AT,
	    &res), SKR_ERR_POLICY_DENIED);
	CHECK_STR(json_string_value(json_array_get(res.failed_claims, 0)),
	    "x-ms-isolation-tee.x-ms-attestation-type");
	CHECK(strstr(skr_buf_cstr(&res.denial),
	    "x-ms-isolation-tee.x-ms-attestation-type") != NULL);
	/* ... but not its value. */
	CHECK(strstr(skr_buf_cstr(&res.denial), "sevsnpvm") == NULL);
	skr_policy_result_clear(&res);

	/* The eus key set has no key with the weu kid. */
	CHECK_ERR(decide(CVM, EUS_KEYS, "policy-cvm-weu.json", CVM_AT, &res),
	    SKR_ERR_TOKEN_KID);
	CHECK_ERR(decide(CVM, EUS_KEYS, "policy-sgx-eus.json", CVM_AT, &res),
	    SKR_ERR_TOKEN_KID);
	/* Now: expired. */
	CHECK_ERR(decide(CVM, WEU_KEYS, "policy-cvm-weu.json", 0, &res),
	    SKR_ERR_TOKEN_EXPIRED);
}

/* One character of the payload changed, re-encoded: bad signature. */
static void
test_tampered(void)
{
	skr_buf token, payload = SKR_BUF_INIT, forged = SKR_BUF_INIT;
	skr_jwks *keys = load_keys(WEU_KEYS);
	skr_token *tok = NULL;
	char *dot1, *dot2, *hit;

	slurp(CVM, &token);
	dot1 = strchr((char *)token.data, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	CHECK(dot1 != NULL && dot2 != NULL);
	if (dot2 == NULL)
		goto out;
	CHECK_OK(skr_b64url_decode(&payload, dot1 + 1,
	    (size_t)(dot2 - dot1 - 1)));
	hit = strstr((char *)payload.data, "azure-compliant-cvm");
	CHECK(hit != NULL);
	if (hit == NULL)
		goto out;
	hit[18] = 'M';
	skr_buf_append(&forged, token.data, (size_t)(dot1 - (char *)token.data)
	    + 1);
	skr_b64url_encode(&forged, payload.data, payload.len);
	skr_buf_append_str(&forged, dot2);
	CHECK(forged.len == token.len);
	CHECK_ERR(verify(&forged, keys, NULL, CVM_AT, &tok),
	    SKR_ERR_TOKEN_SIGNATURE);
	CHECK(tok == NULL);
	/* A signature byte changed too. */
	skr_buf_set(&forged, token.data, token.len);
	forged.data[forged.len - 3] = forged.data[forged.len - 3] == 'A' ?
	    'B' : 'A';
	CHECK_ERR(verify(&forged, keys, NULL, CVM_AT, &tok),
	    SKR_ERR_TOKEN_SIGNATURE);
 out:
	skr_jwks_unref(keys);
	skr_buf_free(&token);
	skr_buf_free(&payload);
	skr_buf_free(&forged);
}

static void
test_sgx(void)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_buf token;
	skr_jwks *keys = load_keys(EUS_KEYS);
	skr_token *tok = NULL;
	skr_key *wk = NULL;
	char *kid = NULL;

	/* "false" as a string matches the boolean claim. */
	CHECK_OK(decide(SGX, EUS_KEYS, "policy-sgx-eus.json", SGX_AT, &res));
	skr_policy_result_clear(&res);
	slurp(SGX, &token);
	CHECK_OK(verify(&token, keys, EUS_ISS, SGX_AT, &tok));
	if (tok != NULL) {
		CHECK_STR(tok->attestation_type, "sgx");
		CHECK(skr_token_nonce(tok) == NULL);
		/* ... but a release fails cleanly: no wrapping key. */
		CHECK_ERR(skr_token_wrapping_key(tok, NULL, &wk, &kid),
		    SKR_ERR_WRAPKEY_MISSING);
		CHECK(wk == NULL && kid == NULL);
	}
	skr_token_free(tok);
	skr_jwks_unref(keys);
	skr_buf_free(&token);
	/* Against the weu key set: unknown kid. */
	CHECK_ERR(decide(SGX, WEU_KEYS, "policy-sgx-eus.json", SGX_AT, &res),
	    SKR_ERR_TOKEN_KID);
	/* The SGX policy does not admit the CVM token (other issuer). */
	CHECK_ERR(decide(CVM, WEU_KEYS, "policy-sgx-eus.json", CVM_AT, &res),
	    SKR_ERR_POLICY_DENIED);
	CHECK(strstr(skr_buf_cstr(&res.denial), "no rule for issuer") != NULL);
	skr_policy_result_clear(&res);
}

/* The offline decision of `skrctl policy eval` on fixture files: the
 * skrctl_eval_run result, *e filled, and its human (or, with json, JSON)
 * output into out. */
static int
eval(const char *tokname, const char *keysname, const char *polname,
    const char *issuer, int64_t at, int json, skrctl_eval *e, skr_buf *out)
{
	skr_buf token, keys, pol, why = SKR_BUF_INIT;
	skrctl_eval_input in = { 0 };
	enum skrctl_eval_bad bad;
	char chunk[4096];
	FILE *tmp = tmpfile();
	size_t n;
	int r;

	slurp(tokname, &token);
	slurp(keysname, &keys);
	slurp(polname, &pol);
	in.token = (const char *)token.data;
	in.token_len = token.len;
	in.jwks = (const char *)keys.data;
	in.jwks_len = keys.len;
	in.policy = (const char *)pol.data;
	in.policy_len = pol.len;
	in.issuer = issuer;
	in.at = at;
	in.skew = SKR_TOKEN_DEFAULT_SKEW;
	skrctl_eval_clear(e);
	r = skrctl_eval_run(&in, e, &bad, &why);
	CHECK((r == SKR_OK) == (bad == SKRCTL_EVAL_BAD_NONE));
	skr_buf_reset(out);
	CHECK(tmp != NULL);
	if (r == SKR_OK && tmp != NULL) {
		if (json)
			CHECK_OK(skrctl_eval_print_json(tmp, e));
		else
			skrctl_eval_print(tmp, e);
		rewind(tmp);
		while ((n = fread(chunk, 1, sizeof(chunk), tmp)) > 0)
			skr_buf_append(out, chunk, n);
	}
	if (tmp != NULL)
		fclose(tmp);
	skr_buf_free(&token);
	skr_buf_free(&keys);
	skr_buf_free(&pol);
	skr_buf_free(&why);
	return r;
}

static void
test_skrctl_eval(void)
{
	skr_buf out = SKR_BUF_INIT, why = SKR_BUF_INIT;
	skrctl_eval_input in = { 0 };
	enum skrctl_eval_bad bad;
	skrctl_eval e;
	json_t *j = NULL;

	skrctl_eval_init(&e);
	/* Allowed: the decision, the vTPM wrapping key and the trace. */
	CHECK_OK(eval(CVM, WEU_KEYS, "policy-cvm-weu.json", NULL, CVM_AT, 0,
	    &e, &out));
	CHECK(e.allowed && e.token_err == SKR_OK && e.wrap_err == SKR_OK);
	CHECK_STR(e.wrap_kid, "TpmEphemeralEncryptionKey");
	CHECK(strstr(skr_buf_cstr(&out), "decision: allow\n") != NULL);
	CHECK(strstr(skr_buf_cstr(&out), "wrapping key: "
	    "TpmEphemeralEncryptionKey") != NULL);
	CHECK(strstr(skr_buf_cstr(&out), "token: verified (iss " WEU_ISS)
	    != NULL);
	CHECK_OK(eval(CVM, WEU_KEYS, "policy-cvm-weu.json", NULL, CVM_AT, 1,
	    &e, &out));
	CHECK_OK(skr_json_parse((const char *)out.data, out.len, 0, &j));
	CHECK_STR(json_string_value(json_object_get(j, "decision")), "allow");
	CHECK(json_is_null(json_object_get(j, "reason")));
	CHECK_STR(json_string_value(json_object_get(json_object_get(j,
	    "wrapping_key"), "kid")), "TpmEphemeralEncryptionKey");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j,
	    "token"), "iss")), WEU_ISS);
	CHECK(json_is_object(json_object_get(j, "trace")));
	CHECK(json_string_length(json_object_get(j, "trace_digest")) == 64);
	json_decref(j);
	j = NULL;

	/* Denied by the policy: the failing claim named. */
	CHECK_OK(eval(CVM, WEU_KEYS, "policy-cvm-wrong-tee.json", NULL, CVM_AT,
	    1, &e, &out));
	CHECK(!e.allowed && e.policy_err == SKR_ERR_POLICY_DENIED);
	CHECK_OK(skr_json_parse((const char *)out.data, out.len, 0, &j));
	CHECK_STR(json_string_value(json_object_get(j, "decision")), "deny");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j,
	    "reason"), "code")), "SKR.POLICY.DENIED");
	CHECK_STR(json_string_value(json_array_get(json_object_get(
	    json_object_get(j, "reason"), "claims"), 0)),
	    "x-ms-isolation-tee.x-ms-attestation-type");
	json_decref(j);
	j = NULL;
	CHECK_OK(eval(CVM, WEU_KEYS, "policy-cvm-wrong-tee.json", NULL, CVM_AT,
	    0, &e, &out));
	CHECK(strstr(skr_buf_cstr(&out), "decision: deny\nreason: "
	    "SKR.POLICY.DENIED: ") != NULL);
	CHECK(strstr(skr_buf_cstr(&out), "FAIL") != NULL);

	/* SGX: the policy allows, but the token names no wrapping key, so
	 * a release would fail; said, not hidden. */
	CHECK_OK(eval(SGX, EUS_KEYS, "policy-sgx-eus.json", NULL, SGX_AT, 0,
	    &e, &out));
	CHECK(e.allowed && e.wrap_err == SKR_ERR_WRAPKEY_MISSING);
	CHECK(strstr(skr_buf_cstr(&out), "wrapping key: none (") != NULL);

	/* Refused tokens are denials: expired now, wrong issuer, unknown
	 * kid. */
	CHECK_OK(eval(CVM, WEU_KEYS, "policy-cvm-weu.json", NULL, 0, 0, &e,
	    &out));
	CHECK(!e.allowed && e.token_err == SKR_ERR_TOKEN_EXPIRED);
	CHECK(strstr(skr_buf_cstr(&out), "SKR.TOKEN.EXPIRED") != NULL);
	CHECK_OK(eval(CVM, WEU_KEYS, "policy-cvm-weu.json", EUS_ISS, CVM_AT,
	    0, &e, &out));
	CHECK(!e.allowed && e.token_err == SKR_ERR_TOKEN_ISSUER);
	CHECK(strstr(skr_buf_cstr(&out), "SKR.TOKEN.ISSUER") != NULL);
	CHECK_OK(eval(CVM, EUS_KEYS, "policy-cvm-weu.json", NULL, CVM_AT, 1,
	    &e, &out));
	CHECK(!e.allowed && e.token_err == SKR_ERR_TOKEN_KID);
	CHECK(e.keys != NULL && skr_jwks_warning_count(e.keys) == 1);
	CHECK_OK(skr_json_parse((const char *)out.data, out.len, 0, &j));
	CHECK_STR(json_string_value(json_object_get(json_object_get(j,
	    "reason"), "code")), "SKR.TOKEN.KID");
	CHECK(json_is_null(json_object_get(j, "token")));
	json_decref(j);
	j = NULL;

	/* Inputs that do not parse are errors, not decisions, and say
	 * which. */
	CHECK(eval(CVM, WEU_KEYS, WEU_KEYS, NULL, CVM_AT, 0, &e, &out) !=
	    SKR_OK);
	skrctl_eval_clear(&e);
	in.token = "e30.e30.e30";
	in.token_len = strlen(in.token);
	in.jwks = "{\"keys\":[]}";
	in.jwks_len = strlen(in.jwks);
	in.policy = "{}";
	in.policy_len = 2;
	CHECK(skrctl_eval_run(&in, &e, &bad, &why) != SKR_OK);
	CHECK(bad == SKRCTL_EVAL_BAD_POLICY && why.len > 0);
	skrctl_eval_clear(&e);
	skr_buf_reset(&why);
	in.jwks = "[]";
	in.jwks_len = 2;
	in.policy = "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":"
	    "\"https://a.example\",\"allOf\":[{\"claim\":\"c\","
	    "\"equals\":\"v\"}]}]}";
	in.policy_len = strlen(in.policy);
	CHECK(skrctl_eval_run(&in, &e, &bad, &why) != SKR_OK);
	CHECK(bad == SKRCTL_EVAL_BAD_JWKS);
	skrctl_eval_clear(&e);
	skr_buf_free(&why);
	skr_buf_free(&out);
}

int
main(void)
{
	dir = getenv("SKR_CONFORMANCE_DIR");
	if (dir == NULL)
		dir = CONFORMANCE_DIR;
	if (access(path_of("README.md"), R_OK) != 0)
		check_skip("conformance fixtures not found");
	test_key_sets();
	test_cvm();
	test_tampered();
	test_sgx();
	test_skrctl_eval();
	return check_done();
}
