#include "release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "auditsink.h"
#include "auth.h"
#include "authority.h"
#include "bundle.h"
#include "encoding.h"
#include "guard.h"
#include "issuer.h"
#include "jdoc.h"
#include "jwrite.h"
#include "json.h"
#include "jws.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "ratelimit.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"
#include "token.h"
#include "wrap.h"

#define DEFAULT_API_VERSION "7.4"
#define KID_WAIT_MS 3000

/*
 * What an allowed attempt decided from, checked again in the transaction
 * that commits its record: the decision read the version in an earlier
 * snapshot, and an update committed since (disabled, out of its nbf/exp
 * window, no longer exportable, deleted, another release policy) must not
 * be followed in the chain by a release it would have refused.  Such an
 * attempt is decided again here as the change says: refused, with the
 * denial decide() would now give, or SKR_ERR_KEY_CONFLICT for a changed
 * policy (a new attempt evaluates the new one).
 */
struct recheck {
	const skr_version_info *vi; /* what decide() read */
	const skr_store_stamp *stamp; /* and from which records */
	const skr_request *req;     /* its caller's token (api.h) */
	int64_t now;
	int decided;                /* SKR_OK, or the new denial */
};

/* A server nonce used up in the transaction of the attempt's record. */
struct nonce_use {
	const char *nonce;
	int64_t now;
	int decided;
	struct recheck *check;
};

/* One release or evaluate attempt. */
struct attempt {
	int dry_run;
	skr_server *srv;
	skr_request *req;
	skr_defer *defer;       /* answered later (request.h); NULL: now */
	/* the request body, read in one pass (jdoc.h); target points into
	 * the request's bytes */
	skr_jdoc body;
	const char *target;
	size_t target_len;
	const char *nonce;      /* NULL or nonce_buf */
	char nonce_buf[1025];
	skr_enc enc;
	/* what the checks found */
	skr_token *tok;
	skr_version_info vi;
	skr_txn *rtxn;          /* the read the version came from, kept
	                         * until the response is built */
	skr_store_stamp stamp;  /* what recheck compares */
	skr_policy *policy;
	skr_policy_result res;
	int evaluated;
	skr_key *wrap;
	char *wrap_kid;
	int consume_nonce;
	skr_buf why;
	/* the record and what commits with it (audit_prepare) */
	skr_audit_rec rec;
	struct recheck c;
	struct nonce_use u;
	skr_audit_job job;
	int decided;            /* what the checks decided */
	int audit_r;            /* how the record's commit went */
	int throttled;          /* only the record of a rate-limited refusal */
};

static void
attempt_clear(struct attempt *a)
{
	skr_jdoc_free(&a->body);
	skr_store_txn_abort(a->rtxn);
	skr_token_free(a->tok);
	skr_version_info_clear(&a->vi);
	skr_policy_free(a->policy);
	skr_policy_result_clear(&a->res);
	skr_key_free(a->wrap);
	free(a->wrap_kid);
	skr_buf_free(&a->why);
}

static int
parse_body(const skr_request *req, struct attempt *a)
{
	const skr_jnode *root, *v;
	char enc[32];
	int r;

	if (req->body_len == 0)
		return SKR_ERR_BAD_REQUEST;
	if ((r = skr_jdoc_parse(&a->body, (const char *)req->body,
	    req->body_len, 0)) != SKR_OK)
		return r;
	root = skr_jdoc_root(&a->body);
	if (root->type != SKR_JOBJECT)
		return SKR_ERR_BAD_REQUEST;
	v = skr_jdoc_get(&a->body, root, "target");
	if (v == NULL || v->type != SKR_JSTRING || v->len == 0)
		return SKR_ERR_BAD_REQUEST;
	a->target = v->str;
	a->target_len = v->len;
	v = skr_jdoc_get(&a->body, root, "nonce");
	if (v != NULL && v->type != SKR_JNULL) {
		if (v->type != SKR_JSTRING || v->len == 0 ||
		    v->len >= sizeof(a->nonce_buf))
			return SKR_ERR_BAD_REQUEST;
		memcpy(a->nonce_buf, v->str, v->len);
		a->nonce_buf[v->len] = '\0';
		a->nonce = a->nonce_buf;
	}
	a->enc = SKR_ENC_CKM_RSA_AES_KEY_WRAP;
	v = skr_jdoc_get(&a->body, root, "enc");
	if (v != NULL && v->type != SKR_JNULL) {
		if (v->type != SKR_JSTRING)
			return SKR_ERR_ENC_UNSUPPORTED;
		/* No name of skr_enc_parse's is this long. */
		if (v->len >= sizeof(enc))
			return skr_enc_parse("", &a->enc);
		memcpy(enc, v->str, v->len);
		enc[v->len] = '\0';
		if ((r = skr_enc_parse(enc, &a->enc)) != SKR_OK)
			return r;
	}
	return SKR_OK;
}

/* The version a release without a version id means, or the named one if it
 * is usable now, read in a transaction the attempt keeps until its key is
 * unsealed (respond_release). */
static int
select_version(skr_server *srv, skr_request *req, int64_t now,
    struct attempt *a)
{
	int r;

	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &a->rtxn));
	/* The audit commit is fenced on what the decision read. */
	skr_store_txn_track(a->rtxn, &req->reads);
	r = skr_store_release_read(a->rtxn, req->name, req->version, now,
	    &a->vi, &a->stamp);
out:
	return r;
}

/* Every check of a release (docs/release.md) except the final wrap.  SKR_OK:
 * release. */
static int
decide(skr_server *srv, skr_request *req, struct attempt *a)
{
	struct skr_authorities *auths = skr_server_authorities(srv);
	skr_txn *txn = NULL;
	skr_issuer_trust self;
	skr_token_trust trust;
	skr_token_opts opts = SKR_TOKEN_OPTS_INIT;
	const char *claim_path = NULL, *tnonce;
	int64_t now = req->now;
	int r;

	SKR_GUARD(parse_body(req, a));
	SKR_GUARD(skr_key_name_check(req->name));
	/* A caller with a principal (evaluate, or release when the server
	 * requires the releaser role) is held to its key-name scope. */
	if (req->principal != NULL &&
	    !skr_auth_name_allowed(req->principal, req->name)) {
		r = SKR_ERR_AUTH_FORBIDDEN;
		goto out;
	}
	if (auths == NULL && srv->issuer == NULL) {
		r = SKR_ERR_TOKEN_ISSUER;
		goto out;
	}
	/* The token first: without a token from a trusted authority a
	 * caller learns nothing about which keys exist.  skrd's own tokens
	 * (docs/snp.md) are checked against its own key set. */
	skr_issuer_trust_init(&self, srv->issuer, srv->base_url, auths, &trust);
	opts.now = now;
	opts.skew = SKR_SETTING(srv, token_skew);
	/* An authority that has just rotated its signing key: the first
	 * token with the new kid waits (on a pool thread, at most once a
	 * minute per authority) for the early key-set refresh.  On the loop
	 * an unknown kid is left alone, and the attempt moves off the loop
	 * (release_or_evaluate), where it may ask and wait. */
	opts.kid_wait_ms = KID_WAIT_MS;
	if (a->defer != NULL)
		trust.unknown_kid = NULL;
	/* The claims are read from the payload document; no tree. */
	opts.doc_only = 1;
	SKR_GUARD(skr_token_verify(a->target, a->target_len, &trust, &opts,
	    &a->tok, &a->why));
	SKR_GUARD(select_version(srv, req, now, a));
	SKR_ENSURE(a->vi.attrs.exportable, SKR_ERR_KEY_NOT_EXPORTABLE);
	SKR_ENSURE(a->vi.policy != NULL, SKR_ERR_KEY_POLICY_REQUIRED);
	/* Validated when it was set; parsed once per distinct text. */
	SKR_GUARD(skr_policy_parse_cached(a->vi.policy, a->vi.policy_len,
	    &a->policy));
	a->evaluated = 1;
	r = skr_policy_eval_doc(a->policy, &a->tok->doc,
	    skr_jdoc_root(&a->tok->doc), a->tok->iss, now, &a->res);
	if (r != SKR_OK)
		goto out;
	tnonce = skr_token_nonce(a->tok);
	if (a->nonce != NULL && (tnonce == NULL || strcmp(tnonce, a->nonce) !=
	    0)) {
		r = SKR_ERR_NONCE_MISMATCH;
		goto out;
	}
	if (skr_policy_require_server_nonce(a->policy)) {
		SKR_ENSURE(tnonce != NULL, SKR_ERR_NONCE_REQUIRED);
		if (a->dry_run) {
			/* Evaluate answers as a release would: the nonce
			 * must be usable, but it is not used up. */
			SKR_GUARD(skr_store_txn_begin(srv->store,
			    SKR_TXN_READ, &txn));
			skr_store_txn_track(txn, &req->reads);
			r = skr_store_nonce_check(txn, tnonce, now);
			skr_store_txn_abort(txn);
			if (r != SKR_OK)
				goto out;
		} else {
			/* Consumed in the same transaction as the audit
			 * record. */
			a->consume_nonce = 1;
		}
	}
	if (auths != NULL)
		skr_authorities_lookup(auths, a->tok->iss, NULL, NULL,
		    &claim_path);
	SKR_GUARD(skr_token_wrapping_key(a->tok, claim_path, &a->wrap,
	    &a->wrap_kid));
out:
	return r;
}


static int
recheck(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	struct recheck *c = arg;
	const skr_version_info *was = c->vi;
	skr_version_info cur;
	int r, d = SKR_OK;

	/* A batch another replica overtook runs the check again. */
	c->decided = SKR_OK;
	/* A caller with a bearer token (evaluate; release when the server
	 * requires the releaser role) still holds it. */
	r = skr__api_principal_holds(txn, c->req);
	if (r == SKR_ERR_AUTH_REVOKED || r == SKR_ERR_AUTH_EXPIRED ||
	    r == SKR_ERR_AUTH_INVALID) {
		c->decided = r;
		skr__api_audit_outcome(rec, r);
		return SKR_AUDIT_CHANGED;
	}
	if (r != SKR_OK)
		return r;
	/* The usual case: neither record was written since; nothing to
	 * read again. */
	if (skr_store_release_unchanged(txn, c->stamp))
		return SKR_OK;
	memset(&cur, 0, sizeof(cur));
	r = skr_store_version_get(txn, was->name, was->version, &cur);
	if (r == SKR_ERR_KEY_NOT_FOUND || r == SKR_ERR_VERSION_NOT_FOUND)
		d = r;
	else if (r != SKR_OK)
		return r;
	else if (!cur.attrs.enabled || (cur.attrs.nbf != 0 &&
	    c->now < cur.attrs.nbf) || (cur.attrs.exp != 0 &&
	    c->now >= cur.attrs.exp))
		d = SKR_ERR_KEY_DISABLED;
	else if (!cur.attrs.exportable)
		d = SKR_ERR_KEY_NOT_EXPORTABLE;
	else if (cur.policy_len != was->policy_len || (cur.policy_len > 0 &&
	    memcmp(cur.policy, was->policy, cur.policy_len) != 0))
		d = SKR_ERR_KEY_CONFLICT;
	skr_version_info_clear(&cur);
	if (d == SKR_OK)
		return SKR_OK;
	c->decided = d;
	skr__api_audit_outcome(rec, d);
	return SKR_AUDIT_CHANGED;
}


/* The decision is checked again first (recheck): a release it refuses
 * leaves the nonce unused.  A nonce that cannot be used turns the outcome
 * into a denial, and the failed use is kept out of the transaction; any
 * other failure fails the record, and with it the release. */
static int
use_nonce(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	struct nonce_use *u = arg;
	int r;

	if ((r = recheck(txn, rec, u->check)) != SKR_OK) {
		if (r != SKR_AUDIT_CHANGED)
			return r;
		u->decided = u->check->decided;
		return SKR_AUDIT_UNDO;
	}
	return skr__api_nonce_use(txn, rec, u->nonce, u->now, &u->decided);
}

/*
 * The attempt's record, to be made durable before anything is answered.
 * An allowed attempt is checked again where its record commits (recheck),
 * and when a server nonce must be used up, that happens with the record
 * (use_nonce); audit_result then takes what the check or the use decided.
 */
static void
audit_prepare(const skr_request *req, struct attempt *a)
{
	skr_audit_rec *rec = &a->rec;

	*rec = skr__api_audit(req, a->dry_run ? "key.evaluate" :
	    "key.release");
	rec->key = req->name;
	rec->version = a->vi.version;
	if (a->tok != NULL) {
		rec->iss = a->tok->iss;
		rec->jti = a->tok->jti;
		rec->attestation_type = a->tok->attestation_type;
		skr_audit_detail_str(rec, "token_sha256", a->tok->sha256_hex);
		skr_audit_detail_str(rec, "enc", skr_enc_name(a->enc));
	}
	if (a->evaluated)
		rec->trace_digest = a->res.trace_digest;
	skr__api_audit_outcome(rec, a->decided);
	a->c = (struct recheck){ &a->vi, &a->stamp, req, req->now,
	    a->decided };
	a->u = (struct nonce_use){ NULL, req->now, a->decided, &a->c };
	memset(&a->job, 0, sizeof(a->job));
	a->job.rec = rec;
	a->job.now = req->now;
	/* A replicated store commits the record only if nothing the
	 * decision read has changed meanwhile (docs/availability.md). */
	a->job.rs = &req->reads;
	if (a->decided != SKR_OK)
		return;
	if (!a->consume_nonce || a->dry_run) {
		a->job.check = recheck;
		a->job.arg = &a->c;
	} else {
		a->u.nonce = skr_token_nonce(a->tok);
		a->job.work = use_nonce;
		a->job.arg = &a->u;
	}
}

/* Commit the record and wait (the pool, tests). */
static int
audit_wait(skr_server *srv, struct attempt *a)
{
	const skr_audit_job *j = &a->job;

	if (j->check != NULL)
		return skr_audit_log_checked(srv->store, j->rec, j->now,
		    j->check, j->arg, j->rs, NULL);
	return skr_audit_log_fenced(srv->store, j->rec, j->now, j->work,
	    j->arg, j->rs, NULL);
}

/* What the commit decided: the check's or the nonce use's verdict once
 * the record is in. */
static void
audit_result(struct attempt *a)
{
	if (a->audit_r != SKR_OK || a->decided != SKR_OK)
		return;
	a->decided = a->job.work != NULL ? a->u.decided : a->c.decided;
}

/* The text a caller is told about a denial: never claim values, and by
 * default the failing claim names (docs/attestation.md, "Release policies").
 */
static int
deny(skr_server *srv, skr_response *resp, struct attempt *a, int r)
{
	skr_buf msg = SKR_BUF_INIT;
	json_t *v;
	size_t i;

	if (r != SKR_ERR_POLICY_DENIED || SKR_SETTING(srv, deny_detail) ==
	    SKR_DENY_NONE)
		return skr_response_error(resp, r, "%s%s%s", skr_strerror(r),
		    a->why.len > 0 && r != SKR_ERR_POLICY_DENIED ? ": " : "",
		    r != SKR_ERR_POLICY_DENIED ? skr_buf_cstr(&a->why) : "");
	skr_buf_append_str(&msg, "release policy not satisfied; failing "
	    "claims:");
	json_array_foreach(a->res.failed_claims, i, v)
		skr_buf_appendf(&msg, "%s %s", i ? "," : "",
		    json_string_value(v));
	if (json_array_size(a->res.failed_claims) == 0)
		skr_buf_append_str(&msg, " none (no rule for this issuer)");
	skr_response_error(resp, r, "%s", skr_buf_cstr(&msg));
	skr_buf_free(&msg);
	return r;
}

/* ---- the answer --------------------------------------------------------- */

struct skr_release_state {
	skr_buf header;         /* the response JWS's protected header,
	                         * base64url: the same for every release */
};

void
skr_release_state_free(struct skr_release_state *st)
{
	if (st == NULL)
		return;
	skr_buf_free(&st->header);
	free(st);
}

/* srv->release_state, made by the first release that needs it (signing
 * key and header are set before serving and never change). */
static struct skr_release_state *
release_state(skr_server *srv)
{
	struct skr_release_state *st, *none = NULL;

	if ((st = __atomic_load_n(&srv->release_state, __ATOMIC_ACQUIRE)) !=
	    NULL)
		return st;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	skr_buf_init(&st->header, 0);
	if (skr_jws_header_encode(srv->sign_alg, srv->sign_header,
	    &st->header) != SKR_OK) {
		skr_release_state_free(st);
		return NULL;
	}
	if (!__atomic_compare_exchange_n(&srv->release_state, &none, st, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		skr_release_state_free(st);
		return none;
	}
	return st;
}

#define PUT(b, lit) skr_buf_append((b), (lit), sizeof(lit) - 1)

/* "<base>/keys/<name>[/<version>]" as a JSON string, cut as bundle.c cuts
 * it. */
static int
put_kid(skr_buf *out, const skr_server *srv, const skr_version_info *vi,
    int with_version)
{
	char buf[512];

	if (with_version)
		snprintf(buf, sizeof(buf), "%s/keys/%s/%s", srv->base_url,
		    vi->name, vi->version);
	else
		snprintf(buf, sizeof(buf), "%s/keys/%s", srv->base_url,
		    vi->name);
	return skr_jw_cstr(out, buf);
}

/* The members the response puts in the bundle's "key" (bundle.c sets
 * them on a copy of the public JWK: one the JWK already has keeps its
 * place, the others follow in this order). */
static const char *const key_set[] = { "kty", "kid", "key_ops", "key_hsm" };

static int
put_key_member(skr_buf *out, const skr_server *srv,
    const skr_version_info *vi, const skr_buf *hsm, size_t which)
{
	int r;

	if ((r = skr_jw_key(out, key_set[which])) != SKR_OK)
		return r;
	switch (which) {
	case 0:
		return skr_jw_cstr(out, skr_kty_name(vi->kty, 1));
	case 1:
		return put_kid(out, srv, vi, 1);
	case 2:
		return vi->key_ops != NULL ? skr_jw_json(out, vi->key_ops) :
		    PUT(out, "[]");
	default:
		if ((r = PUT(out, "\"")) != SKR_OK ||
		    (r = skr_buf_append(out, hsm->data, hsm->len)) != SKR_OK)
			return r;
		return PUT(out, "\"");
	}
}

/*
 * The signed payload (docs/release.md), written straight as the compact
 * JSON the tree used to be dumped to, members in the same order:
 *   {"request":{"api-version","enc","kid"[,"nonce"]},
 *    "response":{"key":{"key":{<public JWK>,"kty","kid","key_ops",
 *      "key_hsm"},"attributes":{...},"tags":{...}[,"release_policy"]}}}
 */
static int
write_payload(skr_server *srv, const skr_request *req,
    const struct attempt *a, const skr_buf *hsm, skr_buf *out)
{
	const skr_version_info *vi = &a->vi;
	char api[32];
	const char *k;
	json_t *m;
	skr_buf pol = SKR_BUF_INIT;
	size_t i;
	int r, first = 1, had[4] = { 0 };

	if (skr_request_query(req, "api-version", api, sizeof(api)) != 1)
		snprintf(api, sizeof(api), DEFAULT_API_VERSION);
	SKR_GUARD(PUT(out, "{\"request\":{\"api-version\":"));
	SKR_GUARD(skr_jw_cstr(out, api));
	SKR_GUARD(PUT(out, ",\"enc\":"));
	SKR_GUARD(skr_jw_cstr(out, skr_enc_name(a->enc)));
	SKR_GUARD(PUT(out, ",\"kid\":"));
	SKR_GUARD(put_kid(out, srv, vi, 0));
	if (a->nonce != NULL) {
		SKR_GUARD(PUT(out, ",\"nonce\":"));
		SKR_GUARD(skr_jw_cstr(out, a->nonce));
	}
	SKR_GUARD(PUT(out, "},\"response\":{\"key\":{\"key\":{"));
	if (vi->public_jwk != NULL)
		json_object_foreach(vi->public_jwk, k, m) {
			if (!first)
				SKR_GUARD(PUT(out, ","));
			first = 0;
			for (i = 0; i < 4; i++)
				if (strcmp(k, key_set[i]) == 0)
					break;
			if (i < 4) {
				had[i] = 1;
				SKR_GUARD(put_key_member(out, srv, vi, hsm, i));
				continue;
			}
			SKR_GUARD(skr_jw_key(out, k));
			SKR_GUARD(skr_jw_json(out, m));
		}
	for (i = 0; i < 4; i++) {
		if (had[i])
			continue;
		if (!first)
			SKR_GUARD(PUT(out, ","));
		first = 0;
		SKR_GUARD(put_key_member(out, srv, vi, hsm, i));
	}
	SKR_GUARD(PUT(out, "},\"attributes\":{\"enabled\":"));
	SKR_GUARD(skr_jw_bool(out, vi->attrs.enabled));
	SKR_GUARD(PUT(out, ",\"created\":"));
	SKR_GUARD(skr_jw_int(out, vi->attrs.created));
	SKR_GUARD(PUT(out, ",\"updated\":"));
	SKR_GUARD(skr_jw_int(out, vi->attrs.updated));
	SKR_GUARD(PUT(out, ",\"recoveryLevel\":\"" SKR_BUNDLE_RECOVERY_LEVEL
	    "\",\"recoverableDays\":90,\"exportable\":"));
	SKR_GUARD(skr_jw_bool(out, vi->attrs.exportable));
	if (vi->attrs.nbf != 0) {
		SKR_GUARD(PUT(out, ",\"nbf\":"));
		SKR_GUARD(skr_jw_int(out, vi->attrs.nbf));
	}
	if (vi->attrs.exp != 0) {
		SKR_GUARD(PUT(out, ",\"exp\":"));
		SKR_GUARD(skr_jw_int(out, vi->attrs.exp));
	}
	SKR_GUARD(PUT(out, "},\"tags\":"));
	if (vi->tags != NULL)
		SKR_GUARD(skr_jw_json(out, vi->tags));
	else
		SKR_GUARD(PUT(out, "{}"));
	if (vi->policy != NULL) {
		SKR_GUARD(skr_b64url_encode(&pol, (const uint8_t *)vi->policy,
		    vi->policy_len));
		SKR_GUARD(PUT(out, ",\"release_policy\":{\"contentType\":"
		    "\"application/json; charset=utf-8\",\"data\":\""));
		SKR_GUARD(skr_buf_append(out, pol.data, pol.len));
		SKR_GUARD(PUT(out, "\",\"immutable\":"));
		SKR_GUARD(skr_jw_bool(out, vi->policy_immutable));
		SKR_GUARD(PUT(out, "}"));
	}
	r = PUT(out, "}}}");
out:
	skr_buf_free(&pol);
	return r;
}

static int
respond_release(skr_server *srv, skr_request *req, struct attempt *a,
    skr_response *resp)
{
	struct skr_release_state *st = release_state(srv);
	skr_key *key = NULL;
	skr_buf hsm = SKR_BUF_INIT, payload = SKR_BUF_INIT;
	int r;

	SKR_ENSURE(st != NULL, SKR_ERR_NOMEM);
	/* From the snapshot the decision read. */
	SKR_GUARD(skr_store_release_unseal(a->rtxn, &a->vi, &a->stamp, &key));
	skr_store_txn_abort(a->rtxn);
	a->rtxn = NULL;
	SKR_GUARD(skr_release_wrap(key, skr_key_pkey(a->wrap), a->wrap_kid,
	    a->enc, &hsm));
	SKR_GUARD(write_payload(srv, req, a, &hsm, &payload));
	/* {"value":"<compact JWS>"}: the JWS is base64url and dots, nothing
	 * to escape, signed straight into the body. */
	skr_buf_reset(&resp->body);
	SKR_GUARD(PUT(&resp->body, "{\"value\":\""));
	SKR_GUARD(skr_jws_sign_encoded(srv->sign_key, srv->sign_alg,
	    (const char *)st->header.data, st->header.len, payload.data,
	    payload.len, &resp->body));
	SKR_GUARD(PUT(&resp->body, "\"}"));
	resp->status = 200;
	resp->content_type = NULL;
out:
	if (r != SKR_OK)
		skr_buf_reset(&resp->body);
	skr_key_free(key);
	skr_buf_free(&hsm);
	skr_buf_free(&payload);
	return r;
}

static int
respond_evaluate(skr_server *srv, struct attempt *a, int decided,
    skr_response *resp)
{
	json_t *o, *tok = json_null();

	(void)srv;
	if (a->tok != NULL)
		tok = json_pack("{s:s,s:s?,s:s?,s:I,s:s}", "iss", a->tok->iss,
		    "jti", a->tok->jti, "attestation_type",
		    a->tok->attestation_type, "exp", (json_int_t)a->tok->exp,
		    "sha256", a->tok->sha256_hex);
	o = json_pack("{s:s,s:o,s:s?,s:o}", "decision", decided == SKR_OK ?
	    "allow" : "deny", "token", tok, "version", a->vi.version[0] ?
	    a->vi.version : NULL, "wrapping_key", a->wrap_kid ?
	    json_string(a->wrap_kid) : json_null());
	/* An answer without its reason or trace would mislead: out of
	 * memory instead. */
	if (o != NULL && decided != SKR_OK && json_object_set_new(o, "reason",
	    json_pack("{s:s,s:s}", "id", skr_err_id(decided), "message",
	    a->why.len > 0 ? skr_buf_cstr(&a->why) : a->res.denial.len > 0 ?
	    skr_buf_cstr(&a->res.denial) : skr_strerror(decided))) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o != NULL && skr_policy_result_trace(&a->res) != NULL &&
	    json_object_set(o, "trace", (json_t *)skr_policy_result_trace(
	    &a->res)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL)
		return skr_response_error(resp, SKR_ERR_NOMEM, NULL);
	return skr_response_json(resp, 200, o);
}

/* Metrics carry the outcome class the audit record has, the reason id,
 * and for a verified token its issuer and attestation type. */
static void
count_decision(skr_server *srv, const struct attempt *a, int decided)
{
	const char *outcome = decided == SKR_OK ? "allowed" :
	    decided == SKR_ERR_NOMEM || decided == SKR_ERR_STORE ||
	    decided == SKR_ERR_INTERNAL || decided == SKR_ERR_CRYPTO ||
	    decided == SKR_ERR_STORE_FULL ? "error" : "denied";

	skr_metrics_decision(srv->metrics, a->dry_run, outcome,
	    decided == SKR_OK ? NULL : skr_err_id(decided),
	    a->tok != NULL ? a->tok->iss : NULL,
	    a->tok != NULL ? a->tok->attestation_type : NULL);
}

static void
attempt_free(struct attempt *a)
{
	attempt_clear(a);
	free(a);
}

/* After the record's commit: the answer.  Frees a. */
static int
attempt_answer(struct attempt *a, skr_response *resp)
{
	skr_server *srv = a->srv;
	int r = a->audit_r;

	if (a->throttled) {
		if (r != SKR_OK)
			skr_log(SKR_LOG_ERROR, "cannot record a rate-limited "
			    "release", json_pack("{s:s,s:s,s:s}", "error",
			    skr_err_id(r), "peer", a->req->peer, "request_id",
			    a->req->request_id));
		attempt_free(a);
		return SKR_ERR_RATE_LIMITED;
	}
	audit_result(a);
	if (r != SKR_OK) {
		/* A release that cannot be audited does not happen. */
		skr_response_error(resp, r, NULL);
		a->decided = r;
		goto out;
	}
	if (a->decided == SKR_ERR_KEY_CONFLICT && a->why.len == 0)
		skr_buf_append_str(&a->why, "the key's release policy changed "
		    "while this attempt was decided; try again");
	if (a->dry_run)
		r = respond_evaluate(srv, a, a->decided, resp);
	else if (a->decided != SKR_OK)
		/* Also replaces a response built for a release that the
		 * server nonce's use then refused. */
		r = deny(srv, resp, a, a->decided);
	else
		r = SKR_OK;
out:
	/* An attempt run again (a replica's copy that moved) counts once,
	 * when it is decided for good. */
	if (a->decided != SKR_ERR_STORE_RETRY)
		count_decision(srv, a, a->decided);
	attempt_free(a);
	return r;
}

/* skr_defer: on the loop, once the committer has said. */
static void
attempt_finish(skr_defer *d, skr_response *resp)
{
	(void)attempt_answer(d->arg, resp);
}

/* On the committer's thread: wake the loop. */
static void
attempt_committed(skr_audit_job *job)
{
	struct attempt *a = job->done_arg;

	a->audit_r = job->result;
	a->defer->ready(a->defer);
}

/* Record the attempt: now, or (with a defer) by the committer, the answer
 * following from the loop.  SKR_PENDING, or the answer's result. */
static int
attempt_record(struct attempt *a, skr_response *resp)
{
	int r;

	if (a->defer == NULL) {
		a->audit_r = audit_wait(a->srv, a);
		return attempt_answer(a, resp);
	}
	a->job.done = attempt_committed;
	a->job.done_arg = a;
	a->defer->finish = attempt_finish;
	a->defer->arg = a;
	if ((r = skr_audit_submit(a->srv->store, &a->job)) == SKR_OK)
		return SKR_PENDING;
	a->audit_r = r;
	return attempt_answer(a, resp);
}

static struct attempt *
attempt_new(skr_server *srv, skr_request *req, int dry_run)
{
	struct attempt *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->srv = srv;
	a->req = req;
	a->defer = req->defer;
	a->dry_run = dry_run;
	a->res = (skr_policy_result)SKR_POLICY_RESULT_INIT;
	skr_buf_init(&a->why, 1024);
	return a;
}

static int
release_or_evaluate(skr_server *srv, skr_request *req, skr_response *resp,
    int dry_run)
{
	struct attempt *a = attempt_new(srv, req, dry_run);

	if (a == NULL)
		return skr_response_error(resp, SKR_ERR_NOMEM, NULL);
	a->decided = decide(srv, req, a);
	/* On the loop a token whose kid is unknown does not wait for its
	 * authority's key set to be fetched again: the attempt starts over
	 * off the loop, where it may wait, before anything is recorded. */
	if (a->defer != NULL && a->decided == SKR_ERR_TOKEN_KID) {
		attempt_free(a);
		return SKR_OFFLOOP;
	}
	/* audit_file_failure = refuse: no key leaves while the file sink
	 * fails (the attempt is still recorded in the store). */
	if (!dry_run && a->decided == SKR_OK &&
	    skr_auditsink_refusing(srv->auditsink)) {
		a->decided = SKR_ERR_SEALED;
		skr_buf_append_str(&a->why, "the audit file sink is failing");
	}
	/* The response is built before the attempt is recorded, so that
	 * the record says what the caller gets: a key that cannot be
	 * unsealed, wrapped or signed is an error in the log, not a
	 * release.  Nothing is sent before the record is durable. */
	if (!dry_run && a->decided == SKR_OK) {
		int r = respond_release(srv, req, a, resp);

		if (r != SKR_OK)
			a->decided = r;
	}
	/* A replica's copy that moved under the decision: it is made again
	 * (skr_dispatch_all), and only that one is recorded. */
	if (a->decided == SKR_ERR_STORE_RETRY) {
		int r = skr_response_error(resp, a->decided, NULL);

		attempt_free(a);
		return r;
	}
	/* No snapshot stays pinned while the record commits. */
	skr_store_txn_abort(a->rtxn);
	a->rtxn = NULL;
	audit_prepare(req, a);
	return attempt_record(a, resp);
}

int
skr_release_rate_limited(skr_server *srv, struct skr_ratelimit **limiter,
    skr_request *req, skr_response *resp, const char *what, int *first)
{
	skr_ratelimit *rl;
	int64_t wait;
	char retry[32];

	rl = skr_ratelimit_get(limiter, srv->release_limit,
	    srv->release_window, srv->ratelimit_ipv6_prefix);
	if ((wait = skr_ratelimit_take_first(rl, req->peer, req->now,
	    first)) <= 0)
		return SKR_OK;
	snprintf(retry, sizeof(retry), "%lld", (long long)wait);
	skr_response_error(resp, SKR_ERR_RATE_LIMITED,
	    "too many %s; retry later", what);
	skr_response_add_header(resp, "Retry-After", retry);
	return SKR_ERR_RATE_LIMITED;
}

/*
 * The audit record of a peer's first refused release attempt in a rate
 * limit window, before the 429 is sent.  The rest of that window's
 * refusals are counted in the metrics only: a synced write per refusal
 * would hand the flood the very cost the limit is there to spare.
 */
static int
audit_throttled(skr_server *srv, skr_request *req, skr_response *resp)
{
	struct attempt *a = attempt_new(srv, req, 0);

	if (a == NULL) {
		skr_log(SKR_LOG_ERROR, "cannot record a rate-limited release",
		    json_pack("{s:s,s:s,s:s}", "error",
		    skr_err_id(SKR_ERR_NOMEM), "peer", req->peer,
		    "request_id", req->request_id));
		return SKR_ERR_RATE_LIMITED;
	}
	a->throttled = 1;
	a->rec = (skr_audit_rec){ .event = "key.release", .peer = req->peer,
		.request_id = req->request_id, .key = req->name };
	skr__api_audit_outcome(&a->rec, SKR_ERR_RATE_LIMITED);
	skr_audit_detail_int(&a->rec, "limit", srv->release_limit);
	skr_audit_detail_int(&a->rec, "window", srv->release_window);
	skr_audit_detail_str(&a->rec, "recorded",
	    "first refusal of this peer in the window only");
	a->job.rec = &a->rec;
	a->job.now = req->now;
	return attempt_record(a, resp);
}

int
skr_api_release(skr_server *srv, skr_request *req, skr_response *resp)
{
	int first = 0;

	/* Attempts per peer are bounded before any work is done: each one
	 * costs a signature check and a synced audit write.  An attempt
	 * run again off the loop was counted already. */
	if (!req->offloop && skr_release_rate_limited(srv,
	    &srv->release_limiter, req, resp, "release attempts", &first) !=
	    SKR_OK) {
		skr_metrics_decision(srv->metrics, 0, "denied",
		    skr_err_id(SKR_ERR_RATE_LIMITED), NULL, NULL);
		if (first)
			return audit_throttled(srv, req, resp);
		return SKR_ERR_RATE_LIMITED;
	}
	return release_or_evaluate(srv, req, resp, 0);
}

int
skr_api_evaluate(skr_server *srv, skr_request *req, skr_response *resp)
{
	return release_or_evaluate(srv, req, resp, 1);
}

int
skr_api_nonce(skr_server *srv, skr_request *req, skr_response *resp)
{
	char nonce[SKR_NONCE_TEXT_LEN + 1];
	skr_txn *txn = NULL;
	int64_t ttl = SKR_SETTING(srv, nonce_ttl);
	int r;

	/* Anyone may ask, and each nonce is a synced write kept until it
	 * expires: bounded per peer as release attempts are (a nonce serves
	 * one release), and the housekeeper removes expired ones once per
	 * lifetime (skr_api_prune_nonces). */
	if ((r = skr_release_rate_limited(srv, &srv->nonce_limiter, req, resp,
	    "nonce requests", NULL)) != SKR_OK)
		return r;
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_WRITE_RESERVE,
	    &txn));
	SKR_GUARD(skr_store_nonce_issue(txn, req->now, ttl, nonce));
	r = skr_store_txn_commit(txn);
	txn = NULL;
	if (r == SKR_OK)
		return skr_response_json(resp, 200, json_pack("{s:s,s:I}",
		    "value", nonce, "expires", (json_int_t)(req->now + ttl)));
out:
	skr_store_txn_abort(txn);
	return skr_response_error(resp, r, NULL);
}

int
skr_api_prune_nonces(skr_server *srv, int64_t before, size_t *npruned)
{
	skr_txn *txn = NULL;
	size_t n;
	int r;

	*npruned = 0;
	/* A replicated store prunes in Txns of SKR_NONCE_PRUNE_MAX. */
	do {
		n = 0;
		/* It only frees: it may use the reserve. */
		SKR_GUARD(skr_store_txn_begin(srv->store,
		    SKR_TXN_WRITE_RESERVE, &txn));
		SKR_GUARD(skr_store_nonce_prune(txn, before, &n));
		if (n == 0)
			goto out;       /* nothing written: no commit, no sync */
		r = skr_store_txn_commit(txn);
		txn = NULL;
		SKR_GUARD(r);
		*npruned += n;
	} while (skr_store_replicated(srv->store) && n == SKR_NONCE_PRUNE_MAX);
out:
	skr_store_txn_abort(txn);
	return r;
}
