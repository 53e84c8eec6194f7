/*
 * Secure key release (server/release.c, docs/api.md "Release") through
 * skr_dispatch, against a real store and tokens of a trusted test
 * authority: a release whose key_hsm unwraps, with the wrapping key's
 * private part, to the stored key's bytes; every class of denial (bad
 * token, policy, disabled key, key not exportable, nonce mismatch, server
 * nonce used twice); evaluate with its trace; and the audit record of each
 * attempt.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "check.h"
#include "encoding.h"
#include "json.h"
#include "ratelimit.h"
#include "jwk.h"
#include "jws.h"
#include "server_fixture.h"
#include "skr/error.h"
#include "store.h"
#include "wrap.h"

#define ATTESTATION_TYPE "x-ms-isolation-tee.x-ms-attestation-type"
#define RULE                                                                \
	"\"anyOf\":[{\"authority\":\"" SKR_TEST_ISSUER "\",\"allOf\":["     \
	"{\"claim\":\"" ATTESTATION_TYPE "\",\"equals\":\"sevsnpvm\"},"     \
	"{\"claim\":\"x-ms-isolation-tee.x-ms-compliance-status\","         \
	"\"equals\":\"azure-compliant-cvm\"}]}]"
#define POLICY "{\"version\":\"1.0.0\"," RULE "}"
#define POLICY_NONCE "{\"version\":\"1.0.0\",\"requireServerNonce\":true," \
	RULE "}"

static skr_test_server fx;
static skr_response resp;
static json_t *J; /* the last response's body */
static int rc;    /* the last dispatch result */
static char admin[SKR_TOKEN_TEXT_LEN + 1], reader[SKR_TOKEN_TEXT_LEN + 1];
static skr_key *wrap_key; /* the TEE's RSA key the token carries */
static unsigned nreq;
static char last_id[33];  /* request id of the last call */

/* ---- helpers ------------------------------------------------------- */

static void
put_key(const char *name, skr_kty kty, int bits, int exportable,
    int enabled, const char *policy, char *version)
{
	skr_version_params p;
	skr_version_info vi;
	skr_key *k = NULL;
	skr_txn *txn = NULL;

	memset(&vi, 0, sizeof(vi));
	skr_version_params_init(&p);
	p.exportable = exportable;
	p.enabled = enabled;
	if (policy != NULL) {
		p.policy = policy;
		p.policy_len = strlen(policy);
	}
	CHECK_OK(skr_key_generate(kty, bits, &k));
	CHECK_OK(skr_store_txn_begin(fx.srv.store, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_version_add(txn, name, k, &p, 0,
	    skr_server_now(&fx.srv), &vi));
	CHECK_OK(skr_store_txn_commit(txn));
	if (version != NULL)
		snprintf(version, 33, "%s", vi.version);
	skr_version_info_clear(&vi);
	skr_key_free(k);
}

/* A token of the trusted authority for tee with the wrapping key, nonce
 * (may be NULL) and overrides (JSON text with single quotes, or NULL). */
static char *
attest(skr_testauth_tee tee, const char *nonce, const char *overrides)
{
	skr_testauth_claims spec;
	skr_buf tok = SKR_BUF_INIT;
	json_t *o = NULL;
	char *text;

	memset(&spec, 0, sizeof(spec));
	spec.tee = tee;
	spec.wrapping_key = wrap_key;
	spec.nonce = nonce;
	if (overrides != NULL) {
		CHECK_OK(skr_json_parse(overrides, strlen(overrides), 0, &o));
		spec.overrides = o;
	}
	CHECK_OK(skr_testauth_mint(fx.ta, &spec, &tok));
	text = strdup(skr_buf_cstr(&tok));
	skr_buf_free(&tok);
	json_decref(o);
	return text;
}

/* POST target with body (JSON text), as bearer (may be NULL). */
static int
post(const char *target, const char *bearer, const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	skr_test_request r = { .method = "POST", .target = target,
	    .body = text, .content_type = "application/json",
	    .bearer = bearer, .request_id = last_id };

	snprintf(last_id, sizeof(last_id), "release-%u", ++nreq);
	json_decref(J);
	rc = skr_test_call(&fx.srv, &r, &resp);
	J = skr_test_json(&resp);
	free(text);
	return resp.status;
}

/* POST /keys/<name>[/<version>]/<verb> {"target": token, "nonce": nonce,
 * "enc": enc} (nonce and enc may be NULL). */
static int
attempt(const char *verb, const char *name, const char *version,
    const char *token, const char *nonce, const char *enc)
{
	char target[256];
	json_t *body;
	int status;

	snprintf(target, sizeof(target), "/keys/%s/%s/%s", name,
	    version != NULL ? version : "", verb);
	body = json_pack("{s:s,s:s*,s:s*}", "target", token, "nonce", nonce,
	    "enc", enc);
	status = post(target, strcmp(verb, "evaluate") == 0 ? reader : NULL,
	    body);
	json_decref(body);
	return status;
}

/* The audit record of the last call (found by its request id), or NULL;
 * a new reference. */
static json_t *
last_record(const char *event)
{
	char target[128];
	skr_test_request r = { .target = target, .bearer = admin };
	skr_response aresp;
	json_t *o, *v, *found = NULL;
	size_t i;

	snprintf(target, sizeof(target), "/admin/audit?event=%s"
	    "&maxresults=1000", event);
	skr_response_init(&aresp);
	CHECK_OK(skr_test_call(&fx.srv, &r, &aresp));
	o = skr_test_json(&aresp);
	json_array_foreach(json_object_get(o, "value"), i, v)
		if (json_is_string(json_object_get(v, "request_id")) &&
		    strcmp(json_string_value(json_object_get(v,
		    "request_id")), last_id) == 0) {
			CHECK(found == NULL);
			found = json_incref(v);
		}
	json_decref(o);
	skr_response_clear(&aresp);
	skr_buf_free(&aresp.body);
	return found;
}

static const char *
member(const json_t *o, const char *path)
{
	return json_string_value(skr_json_path(o, path));
}

/* The last attempt was denied with err, and its record says so. */
#define DENIED(err, key) denied(__LINE__, (err), (key))

static void
denied(int line, int err, const char *key)
{
	json_t *rec = last_record("key.release");
	int ok;

	ok = skr_test_is_error(&resp, err) && rc == err;
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "  line %d: status %d rc %s body %.300s, "
		    "want %s\n", line, resp.status, skr_err_id(rc),
		    skr_buf_cstr(&resp.body), skr_err_id(err));
	CHECK(rec != NULL);
	CHECK_STR(member(rec, "outcome"), "denied");
	CHECK_STR(member(rec, "reason"), skr_err_id(err));
	CHECK_STR(member(rec, "key"), key);
	CHECK_STR(member(rec, "peer"), SKR_TEST_PEER);
	/* Nothing left: no key material in a refusal. */
	CHECK(skr_json_path(J, "value") == NULL);
	json_decref(rec);
}

/* The payload is written directly (release.c), not dumped from a tree: it
 * must be, byte for byte, the compact text of the tree the key bundle
 * (bundle.c) and the request members make. */
static void
check_payload_text(skr_txn *txn, const char *name, const char *version,
    const skr_jws *jws, const char *hsm)
{
	skr_version_info vi;
	json_t *bundle, *request, *want;
	const json_t *nonce = skr_json_path(jws->payload, "request.nonce");
	char kid[512], *text;

	memset(&vi, 0, sizeof(vi));
	CHECK_OK(skr_store_version_get(txn, name, version, &vi));
	bundle = skr_bundle_key(&fx.srv, &vi);
	CHECK(bundle != NULL);
	if (bundle == NULL)
		return;
	json_object_set_new(json_object_get(bundle, "key"), "key_hsm",
	    json_string(hsm));
	snprintf(kid, sizeof(kid), "%s/keys/%s", fx.srv.base_url, vi.name);
	request = json_pack("{s:s,s:s,s:s}", "api-version", "7.4", "enc",
	    member(jws->payload, "request.enc"), "kid", kid);
	if (nonce != NULL)
		json_object_set(request, "nonce", (json_t *)nonce);
	want = json_pack("{s:o,s:{s:o}}", "request", request, "response",
	    "key", bundle);
	text = json_dumps(want, JSON_COMPACT);
	CHECK(text != NULL);
	CHECK_MEM(jws->payload_raw.data, jws->payload_raw.len, text,
	    text != NULL ? strlen(text) : 0);
	free(text);
	json_decref(want);
	skr_version_info_clear(&vi);
}

/* The last release answered the key of name/version: the signed
 * response verifies under the release-signing key and its key_hsm
 * unwraps, with the wrapping key's private part, to the stored key. */
static void
check_released(const char *name, const char *version, skr_enc enc)
{
	const char *value = member(J, "value"), *hsm;
	skr_jws jws;
	skr_buf ct = SKR_BUF_INIT, got = SKR_BUF_INIT_SECRET,
	    want = SKR_BUF_INIT_SECRET;
	skr_key *stored = NULL;
	skr_txn *txn = NULL;
	skr_enc got_enc;
	char *kid = NULL;

	memset(&jws, 0, sizeof(jws));
	CHECK(resp.status == 200 && rc == SKR_OK);
	CHECK(value != NULL);
	if (value == NULL)
		return;
	CHECK_OK(skr_jws_parse(value, strlen(value), 0, &jws));
	CHECK_OK(skr_jws_verify(&jws, fx.srv.sign_key, 0));
	hsm = member(jws.payload, "response.key.key.key_hsm");
	CHECK(hsm != NULL);
	CHECK_STR(member(jws.payload, "request.enc"), skr_enc_name(enc));
	CHECK(strstr(member(jws.payload, "response.key.key.kid"), version) !=
	    NULL);
	/* The public bundle only: no private member beside key_hsm. */
	CHECK(skr_json_path(jws.payload, "response.key.key.d") == NULL &&
	    skr_json_path(jws.payload, "response.key.key.k") == NULL);
	if (hsm != NULL) {
		CHECK_OK(skr_key_hsm_decode(hsm, strlen(hsm), &kid, &got_enc,
		    &ct));
		CHECK_STR(kid, SKR_TESTAUTH_WRAPKEY_KID);
		CHECK(got_enc == enc);
		CHECK_OK(skr_rsa_aes_unwrap(skr_key_pkey(wrap_key), enc,
		    ct.data, ct.len, &got));
	}
	CHECK_OK(skr_store_txn_begin(fx.srv.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_open(txn, name, version, &stored));
	if (hsm != NULL)
		check_payload_text(txn, name, version, &jws, hsm);
	skr_store_txn_abort(txn);
	if (stored != NULL)
		CHECK_OK(skr_key_private_bytes(stored, &want));
	CHECK(want.len > 0);
	CHECK_MEM(got.data, got.len, want.data, want.len);
	skr_key_free(stored);
	skr_jws_clear(&jws);
	skr_buf_free(&ct);
	skr_buf_free(&got);
	skr_buf_free(&want);
	free(kid);
}

static void
check_allowed_record(const char *event, const char *key,
    const char *version)
{
	json_t *rec = last_record(event);

	CHECK(rec != NULL);
	CHECK_STR(member(rec, "outcome"), "ok");
	CHECK_STR(member(rec, "key"), key);
	CHECK_STR(member(rec, "version"), version);
	CHECK_STR(member(rec, "iss"), SKR_TEST_ISSUER);
	CHECK_STR(member(rec, "attestation_type"), "sevsnpvm");
	CHECK(json_string_length(skr_json_path(rec, "detail.token_sha256")) ==
	    64);
	CHECK(json_string_length(json_object_get(rec, "trace_digest")) > 0);
	json_decref(rec);
}

/* ---- tests --------------------------------------------------------- */

static char v_oct[33], v_ec[33], v_off[33], v_fixed[33], v_nonce[33];

static void
test_release(void)
{
	char *tok = attest(SKR_TESTAUTH_TEE_SEVSNP, NULL, NULL);

	/* The current version, the default enc. */
	attempt("release", "oct", NULL, tok, NULL, NULL);
	check_released("oct", v_oct, SKR_ENC_CKM_RSA_AES_KEY_WRAP);
	check_allowed_record("key.release", "oct", v_oct);
	/* A named version, another enc, an EC key (PKCS#8 wrapped). */
	attempt("release", "ec", v_ec, tok, NULL, "RSA_AES_KEY_WRAP_256");
	check_released("ec", v_ec, SKR_ENC_RSA_AES_KEY_WRAP_256);
	check_allowed_record("key.release", "ec", v_ec);
	/* The token's nonce named in the request matches. */
	free(tok);
	tok = attest(SKR_TESTAUTH_TEE_SEVSNP, "client-nonce-1", NULL);
	attempt("release", "oct", NULL, tok, "client-nonce-1",
	    "RSA_AES_KEY_WRAP_384");
	check_released("oct", v_oct, SKR_ENC_RSA_AES_KEY_WRAP_384);
	free(tok);
}

static void
test_bad_tokens(void)
{
	skr_testauth *other = NULL;
	skr_testauth_claims spec;
	skr_buf forged = SKR_BUF_INIT;

	attempt("release", "oct", NULL, "not-a-token", NULL, NULL);
	DENIED(SKR_ERR_TOKEN_MALFORMED, "oct");
	/* Nothing verified, so nothing of the token is recorded. */
	{
		json_t *rec = last_record("key.release");

		CHECK(rec != NULL && json_object_get(rec, "iss") == NULL);
		json_decref(rec);
	}

	/* Signed by another key under the trusted authority's kid. */
	CHECK_OK(skr_testauth_new(SKR_TEST_ISSUER, "ES256", &other));
	memset(&spec, 0, sizeof(spec));
	spec.wrapping_key = wrap_key;
	spec.kid = skr_testauth_kid(fx.ta);
	CHECK_OK(skr_testauth_mint(other, &spec, &forged));
	attempt("release", "oct", NULL, skr_buf_cstr(&forged), NULL, NULL);
	DENIED(SKR_ERR_TOKEN_SIGNATURE, "oct");
	skr_buf_free(&forged);
	skr_testauth_free(other);

	/* Expired an hour ago. */
	memset(&spec, 0, sizeof(spec));
	spec.wrapping_key = wrap_key;
	spec.lifetime = 600;
	spec.iat_offset = -4200;
	CHECK_OK(skr_testauth_mint(fx.ta, &spec, &forged));
	attempt("release", "oct", NULL, skr_buf_cstr(&forged), NULL, NULL);
	DENIED(SKR_ERR_TOKEN_EXPIRED, "oct");
	skr_buf_free(&forged);

	/* An authority nobody trusts. */
	CHECK_OK(skr_testauth_new("https://untrusted.test" SKR_TESTAUTH_PATH,
	    "ES256", &other));
	memset(&spec, 0, sizeof(spec));
	spec.wrapping_key = wrap_key;
	CHECK_OK(skr_testauth_mint(other, &spec, &forged));
	attempt("release", "oct", NULL, skr_buf_cstr(&forged), NULL, NULL);
	DENIED(SKR_ERR_TOKEN_ISSUER, "oct");
	skr_buf_free(&forged);
	skr_testauth_free(other);
}

static void
test_policy_denied(void)
{
	char *tok = attest(SKR_TESTAUTH_TEE_TDX, NULL, NULL);
	const char *m;

	attempt("release", "oct", NULL, tok, NULL, NULL);
	DENIED(SKR_ERR_POLICY_DENIED, "oct");
	/* The caller learns the failing claim's name, never its value. */
	m = member(J, "error.message");
	CHECK(m != NULL && strstr(m, ATTESTATION_TYPE) != NULL);
	CHECK(m != NULL && strstr(m, "tdxvm") == NULL);
	free(tok);
	/* One claim off is enough. */
	tok = attest(SKR_TESTAUTH_TEE_SEVSNP, NULL, "{\"x-ms-isolation-tee."
	    "x-ms-compliance-status\":\"not-compliant\"}");
	attempt("release", "oct", NULL, tok, NULL, NULL);
	DENIED(SKR_ERR_POLICY_DENIED, "oct");
	free(tok);
}

static void
test_key_state(void)
{
	char *tok = attest(SKR_TESTAUTH_TEE_SEVSNP, NULL, NULL);

	/* A disabled version, named. */
	attempt("release", "off", v_off, tok, NULL, NULL);
	DENIED(SKR_ERR_KEY_DISABLED, "off");
	/* Not exportable (and so without a policy). */
	attempt("release", "fixed", NULL, tok, NULL, NULL);
	DENIED(SKR_ERR_KEY_NOT_EXPORTABLE, "fixed");
	attempt("release", "fixed", v_fixed, tok, NULL, NULL);
	DENIED(SKR_ERR_KEY_NOT_EXPORTABLE, "fixed");
	free(tok);
}

static void
test_nonces(void)
{
	skr_test_request r = { .target = "/nonce", .request_id = "nonce" };
	char *tok, nonce[128];

	/* The token's nonce is not the one the request names. */
	tok = attest(SKR_TESTAUTH_TEE_SEVSNP, "nonce-in-token", NULL);
	attempt("release", "oct", NULL, tok, "nonce-in-request", NULL);
	DENIED(SKR_ERR_NONCE_MISMATCH, "oct");
	/* Nor may the request name one the token lacks. */
	free(tok);
	tok = attest(SKR_TESTAUTH_TEE_SEVSNP, NULL, NULL);
	attempt("release", "oct", NULL, tok, "nonce-in-request", NULL);
	DENIED(SKR_ERR_NONCE_MISMATCH, "oct");
	/* A policy that requires a server nonce refuses a token without. */
	attempt("release", "fresh", NULL, tok, NULL, NULL);
	DENIED(SKR_ERR_NONCE_REQUIRED, "fresh");
	free(tok);

	/* A server nonce serves once. */
	CHECK_OK(skr_test_call(&fx.srv, &r, &resp));
	json_decref(J);
	J = skr_test_json(&resp);
	CHECK(member(J, "value") != NULL);
	snprintf(nonce, sizeof(nonce), "%s", member(J, "value") ?
	    member(J, "value") : "");
	tok = attest(SKR_TESTAUTH_TEE_SEVSNP, nonce, NULL);
	/* Evaluate checks it without using it up. */
	attempt("evaluate", "fresh", NULL, tok, NULL, NULL);
	CHECK(resp.status == 200);
	CHECK_STR(member(J, "decision"), "allow");
	attempt("release", "fresh", NULL, tok, nonce, NULL);
	check_released("fresh", v_nonce, SKR_ENC_CKM_RSA_AES_KEY_WRAP);
	check_allowed_record("key.release", "fresh", v_nonce);
	attempt("release", "fresh", NULL, tok, nonce, NULL);
	DENIED(SKR_ERR_NONCE_REUSED, "fresh");
	free(tok);
	/* One the server never issued. */
	tok = attest(SKR_TESTAUTH_TEE_SEVSNP, "0123456789abcdef", NULL);
	attempt("release", "fresh", NULL, tok, NULL, NULL);
	DENIED(SKR_ERR_NONCE_INVALID, "fresh");
	free(tok);
}

static void
test_evaluate(void)
{
	char *tok = attest(SKR_TESTAUTH_TEE_SEVSNP, NULL, NULL);
	json_t *rec, *trace;

	/* Allowed: the decision, the version, the wrapping key and the
	 * trace; nothing released. */
	attempt("evaluate", "oct", NULL, tok, NULL, NULL);
	CHECK(resp.status == 200 && rc == SKR_OK);
	CHECK_STR(member(J, "decision"), "allow");
	CHECK_STR(member(J, "version"), v_oct);
	CHECK_STR(member(J, "wrapping_key"), SKR_TESTAUTH_WRAPKEY_KID);
	CHECK_STR(member(J, "token.iss"), SKR_TEST_ISSUER);
	CHECK(skr_json_path(J, "value") == NULL);
	CHECK(skr_json_path(J, "key") == NULL);
	trace = json_object_get(J, "trace");
	CHECK(trace != NULL);
	{
		char *text = json_dumps(trace, JSON_COMPACT);

		/* Every condition of the rule is in it. */
		CHECK(text != NULL && strstr(text, ATTESTATION_TYPE) != NULL &&
		    strstr(text, "x-ms-compliance-status") != NULL);
		free(text);
	}
	rec = last_record("key.evaluate");
	CHECK(rec != NULL);
	CHECK_STR(member(rec, "outcome"), "ok");
	CHECK_STR(member(rec, "key"), "oct");
	CHECK(json_string_length(json_object_get(rec, "trace_digest")) > 0);
	CHECK(json_object_get(rec, "principal") != NULL);
	json_decref(rec);
	free(tok);

	/* Denied: still 200, with the reason and the trace. */
	tok = attest(SKR_TESTAUTH_TEE_TDX, NULL, NULL);
	attempt("evaluate", "oct", NULL, tok, NULL, NULL);
	CHECK(resp.status == 200);
	CHECK_STR(member(J, "decision"), "deny");
	CHECK_STR(member(J, "reason.id"), skr_err_id(SKR_ERR_POLICY_DENIED));
	CHECK(json_is_object(json_object_get(J, "trace")) ||
	    json_is_array(json_object_get(J, "trace")));
	rec = last_record("key.evaluate");
	CHECK(rec != NULL);
	CHECK_STR(member(rec, "outcome"), "denied");
	CHECK_STR(member(rec, "reason"), skr_err_id(SKR_ERR_POLICY_DENIED));
	json_decref(rec);
	free(tok);

	/* Evaluate needs a token of ours; release does not by default. */
	{
		json_t *body = json_pack("{s:s}", "target", "x");

		post("/keys/oct/evaluate", NULL, body);
		CHECK(rc == SKR_ERR_AUTH_MISSING && resp.status == 401);
		json_decref(body);
	}
}

/* ---- releases racing an update ------------------------------------- */

struct racer {
	const char *token;
	atomic_int *stop;
	int allowed;
};

/* Release "race" until told to stop, each on a response of its own. */
static void *
race_releases(void *arg)
{
	struct racer *rc_ = arg;
	char *body = NULL;
	skr_response mine;
	json_t *b;

	b = json_pack("{s:s}", "target", rc_->token);
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	skr_response_init(&mine);
	while (!atomic_load(rc_->stop)) {
		skr_test_request r = { .method = "POST",
		    .target = "/keys/race//release", .body = body,
		    .content_type = "application/json",
		    .request_id = "race" };

		if (skr_test_call(&fx.srv, &r, &mine) == SKR_OK)
			rc_->allowed++;

	}
	skr_response_clear(&mine);
	skr_buf_free(&mine.body);
	free(body);
	return NULL;
}

/* PATCH /keys/race with body (JSON text) as admin; the update's seq. */
static uint64_t
race_update(const char *body)
{
	skr_test_request r = { .method = "PATCH", .target = "/keys/race",
	    .body = body, .content_type = "application/json",
	    .bearer = admin, .request_id = "race-update" };
	skr_response u;
	json_t *o, *v;
	uint64_t seq = 0;
	size_t i;

	skr_response_init(&u);
	CHECK_OK(skr_test_call(&fx.srv, &r, &u));
	skr_response_clear(&u);
	r = (skr_test_request){ .target = "/admin/audit?event=key.update"
	    "&maxresults=1000", .bearer = admin };
	CHECK_OK(skr_test_call(&fx.srv, &r, &u));
	o = skr_test_json(&u);
	json_array_foreach(json_object_get(o, "value"), i, v)
		if (json_is_string(json_object_get(v, "request_id")) &&
		    strcmp(json_string_value(json_object_get(v,
		    "request_id")), "race-update") == 0)
			seq = (uint64_t)json_integer_value(json_object_get(v,
			    "seq"));
	json_decref(o);
	skr_response_clear(&u);
	skr_buf_free(&u.body);
	return seq;
}

/* Releases of "race" recorded "ok" after seq. */
static int
releases_after(uint64_t seq)
{
	char target[128];
	skr_test_request r = { .target = target, .bearer = admin };
	skr_response a;
	json_t *o, *v;
	size_t i;
	int n = 0;

	snprintf(target, sizeof(target), "/admin/audit?event=key.release&"
	    "key=race&outcome=ok&after=%llu&maxresults=1000",
	    (unsigned long long)seq);
	skr_response_init(&a);
	CHECK_OK(skr_test_call(&fx.srv, &r, &a));
	o = skr_test_json(&a);
	json_array_foreach(json_object_get(o, "value"), i, v)
		if ((uint64_t)json_integer_value(json_object_get(v, "seq")) >
		    seq)
			n++;
	json_decref(o);
	skr_response_clear(&a);
	skr_buf_free(&a.body);
	return n;
}

/*
 * Twelve releasers against an update that disables the key, then against
 * one that tightens its policy: the audit chain's order is the order of
 * what was decided, so no release is recorded "ok" after the update that
 * would have refused it.  (The decision reads a snapshot; its record is
 * written later, so without the check at commit some landed after it.)
 */
static void
test_race_update(void)
{
	static const char strict[] = "{\"version\":\"1.0.0\",\"anyOf\":[{"
	    "\"authority\":\"" SKR_TEST_ISSUER "\",\"allOf\":[{\"claim\":"
	    "\"" ATTESTATION_TYPE "\",\"equals\":\"tdxvm\"}]}]}";
	char *tok = attest(SKR_TESTAUTH_TEE_SEVSNP, NULL, NULL);
	skr_buf enc = SKR_BUF_INIT;
	struct racer r[12];
	pthread_t t[12];
	atomic_int stop;
	char *patch;
	int round, i, allowed, late;
	int64_t limit = fx.srv.release_limit;

	/* The releasers' rate would otherwise hit the per-peer limit: a
	 * table made again without one. */
	fx.srv.release_limit = 0;
	skr_ratelimit_free(fx.srv.release_limiter);
	fx.srv.release_limiter = NULL;
	put_key("race", SKR_KTY_OCT, 256, 1, 1, POLICY, NULL);
	CHECK_OK(skr_b64url_encode(&enc, (const uint8_t *)strict,
	    strlen(strict)));
	for (round = 0; round < 2; round++) {
		atomic_init(&stop, 0);
		for (i = 0; i < 12; i++) {
			r[i] = (struct racer){ tok, &stop, 0 };
			CHECK(pthread_create(&t[i], NULL, race_releases,
			    &r[i]) == 0);
		}
		usleep(300000);
		if (round == 0)
			patch = strdup("{\"attributes\":{\"enabled\":false}}");
		else {
			size_t n = enc.len + 64;

			patch = malloc(n);
			snprintf(patch, n, "{\"release_policy\":{\"data\":"
			    "\"%s\"}}", skr_buf_cstr(&enc));
		}
		{
			uint64_t seq = race_update(patch);

			usleep(300000);
			atomic_store(&stop, 1);
			allowed = 0;
			for (i = 0; i < 12; i++) {
				pthread_join(t[i], NULL);
				allowed += r[i].allowed;
			}
			CHECK(seq > 0);
			/* Releases went on until the update... */
			CHECK(allowed > 0);
			/* ...and none is recorded after it. */
			late = releases_after(seq);
			CHECK(late == 0);
			if (late != 0)
				fprintf(stderr, "  round %d: %d releases "
				    "recorded ok after the update (seq %llu)\n",
				    round, late, (unsigned long long)seq);
		}
		free(patch);
		/* Enabled again for the policy round. */
		race_update("{\"attributes\":{\"enabled\":true}}");
	}
	fx.srv.release_limit = (int)limit;
	skr_ratelimit_free(fx.srv.release_limiter);
	fx.srv.release_limiter = NULL;
	skr_buf_free(&enc);
	free(tok);
}

int
main(void)
{
	int64_t now;

	skr_test_server_make(&fx, "release", SKR_TEST_SERVER_AUTHORITY |
	    SKR_TEST_SERVER_SIGNING);
	skr_response_init(&resp);
	now = skr_server_now(&fx.srv);
	skr_test_token(fx.srv.store, "admin", SKR_ROLE_ADMIN, NULL, now, 0,
	    admin, NULL);
	skr_test_token(fx.srv.store, "reader", SKR_ROLE_READER, NULL, now, 0,
	    reader, NULL);
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &wrap_key));
	put_key("oct", SKR_KTY_OCT, 256, 1, 1, POLICY, v_oct);
	put_key("ec", SKR_KTY_EC, 256, 1, 1, POLICY, v_ec);
	put_key("off", SKR_KTY_OCT, 256, 1, 0, POLICY, v_off);
	put_key("fixed", SKR_KTY_OCT, 256, 0, 1, NULL, v_fixed);
	put_key("fresh", SKR_KTY_OCT, 256, 1, 1, POLICY_NONCE, v_nonce);

	test_release();
	test_bad_tokens();
	test_policy_denied();
	test_key_state();
	test_nonces();
	test_evaluate();
	test_race_update();

	json_decref(J);
	skr_key_free(wrap_key);
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
	skr_test_server_free(&fx);
	return check_done();
}
