#include "token.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "encoding.h"
#include "json.h"
#include "opcache.h"
#include "policy.h"
#include "skr/error.h"

/* ---- the single-authority trust used by skrctl and tests ---- */

static int
static_lookup(void *ctx, const char *iss, skr_jwks **keys, unsigned *algs)
{
	const skr_token_static *s = ctx;

	if (s->issuer != NULL && !skr_policy_issuer_match(s->issuer, iss))
		return SKR_ERR_TOKEN_ISSUER;
	if (s->keys == NULL)
		return SKR_ERR_AUTHORITY;
	*keys = skr_jwks_ref(s->keys);
	*algs = s->algs;
	return SKR_OK;
}

void
skr_token_trust_static(skr_token_trust *t, skr_token_static *s)
{
	t->lookup = static_lookup;
	t->unknown_kid = NULL;
	t->ctx = s;
}

/* ---- header checks ---- */

/* Length of "scheme://authority" at the start of url, or 0. */
static size_t
origin_len(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL || p == url)
		return 0;
	p += 3;
	p += strcspn(p, "/?#");
	return (size_t)(p - url);
}

static int
same_origin(const char *a, const char *b)
{
	size_t la = origin_len(a), lb = origin_len(b);

	return la > 0 && la == lb && memcmp(a, b, la) == 0 &&
	    strncmp(a, "https://", 8) == 0;
}

/*
 * A header may ask the verifier to fetch or trust a key it names (RFC 7515
 * 4.1.2-4.1.6).  skr never does: keys come only from the configured
 * authority.  Beyond ignoring them, a token that carries an embedded "jwk",
 * or a "jku"/"x5u" pointing anywhere but its own issuer, is refused: such a
 * header has no use but steering a verifier to an attacker's key, refusing
 * it puts the attempt in the audit log instead of letting it pass quietly,
 * and it keeps us from accepting a token that a relying party honouring
 * those members would judge differently.  Microsoft Azure Attestation puts
 * jku = "{issuer}/certs" in every token, so a same-origin https jku/x5u is
 * tolerated (and still never fetched).  "x5c" is ignored.  "crit" is
 * refused: we implement no extension it could name (RFC 7515 4.1.11).
 */
static int
check_header(const json_t *hdr, const char *iss, skr_buf *why)
{
	static const char *const urls[] = { "jku", "x5u" };
	const json_t *v;
	size_t i;

	if (json_object_get(hdr, "crit") != NULL)
		return skr_buf_fail(why, SKR_ERR_TOKEN_HEADER,
		    "header has \"crit\"");
	if (json_object_get(hdr, "jwk") != NULL)
		return skr_buf_fail(why, SKR_ERR_TOKEN_HEADER,
		    "header embeds a key (\"jwk\")");
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if ((v = json_object_get(hdr, urls[i])) == NULL)
			continue;
		if (!json_is_string(v) ||
		    !same_origin(json_string_value(v), iss))
			return skr_buf_fail(why, SKR_ERR_TOKEN_HEADER,
			    "header \"%s\" points outside the issuer",
			    urls[i]);
	}
	return SKR_OK;
}

/* ---- claims ---- */

/* RFC 7519 2: a NumericDate may have a fraction; it is truncated. */
static int
numeric_date(const skr_jnode *v, int64_t *out)
{
	double d;

	if (v->type == SKR_JINT) {
		*out = v->i;
		return 1;
	}
	if (v->type != SKR_JREAL)
		return 0;
	d = v->d;
	if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
		return 0;
	*out = (int64_t)d;
	return 1;
}

static int
dup_str(const skr_jnode *v, char **out)
{
	*out = NULL;
	if (v == NULL || v->type != SKR_JSTRING)
		return SKR_OK;
	if ((*out = skr_jnode_strdup(v)) == NULL)
		return SKR_ERR_NOMEM;
	return SKR_OK;
}

static int
check_times(skr_token *tok, int64_t now, int64_t skew, skr_buf *why)
{
	const skr_jnode *c = skr_jdoc_root(&tok->doc), *v;

	if ((v = skr_jdoc_get(&tok->doc, c, "exp")) == NULL)
		return skr_buf_fail(why, SKR_ERR_TOKEN_EXPIRED, "token has no exp");
	if (!numeric_date(v, &tok->exp))
		return skr_buf_fail(why, SKR_ERR_TOKEN_MALFORMED,
		    "exp is not a number");
	if ((v = skr_jdoc_get(&tok->doc, c, "nbf")) != NULL) {
		if (!numeric_date(v, &tok->nbf))
			return skr_buf_fail(why, SKR_ERR_TOKEN_MALFORMED,
			    "nbf is not a number");
		tok->has_nbf = 1;
	}
	if ((v = skr_jdoc_get(&tok->doc, c, "iat")) != NULL) {
		if (!numeric_date(v, &tok->iat))
			return skr_buf_fail(why, SKR_ERR_TOKEN_MALFORMED,
			    "iat is not a number");
		tok->has_iat = 1;
	}
	/* RFC 7519 4.1.4: now must be before exp.  Values near the int64
	 * limits are compared without overflow. */
	if (tok->exp <= INT64_MAX - skew ? now >= tok->exp + skew : 0)
		return skr_buf_fail(why, SKR_ERR_TOKEN_EXPIRED,
		    "token expired at %lld", (long long)tok->exp);
	if (tok->has_nbf && tok->nbf >= INT64_MIN + skew &&
	    now < tok->nbf - skew)
		return skr_buf_fail(why, SKR_ERR_TOKEN_NOT_YET_VALID,
		    "token not valid before %lld", (long long)tok->nbf);
	if (tok->has_iat && (tok->iat >= INT64_MIN + skew ?
	    tok->iat - skew > now : 0))
		return skr_buf_fail(why, SKR_ERR_TOKEN_IAT,
		    "token issued in the future (%lld)", (long long)tok->iat);
	return SKR_OK;
}

static int
map_jws_err(int r)
{
	switch (r) {
	case SKR_ERR_NOMEM:
		return r;
	case SKR_ERR_JWS_ALG:
		return SKR_ERR_TOKEN_ALG;
	case SKR_ERR_TOO_LARGE:
		return SKR_ERR_TOKEN_TOO_LARGE;
	default:
		return SKR_ERR_TOKEN_MALFORMED;
	}
}

static int
fill_claims(skr_token *tok, const skr_jws *jws, const char *kid)
{
	const skr_jdoc *d = &tok->doc;
	const skr_jnode *c = skr_jdoc_root(d), *v;
	int r;

	tok->alg = jws->alg;
	if ((r = dup_str(skr_jdoc_get(d, c, "iss"), &tok->iss)) != SKR_OK ||
	    (r = dup_str(skr_jdoc_get(d, c, "jti"), &tok->jti)) != SKR_OK ||
	    (r = dup_str(skr_jdoc_path(d, c, SKR_TOKEN_NONCE_CLAIM),
	    &tok->nonce)) != SKR_OK || (tok->kid = strdup(kid)) == NULL)
		return r != SKR_OK ? r : SKR_ERR_NOMEM;
	v = skr_jdoc_path(d, c, "x-ms-isolation-tee.x-ms-attestation-type");
	if (v == NULL || v->type != SKR_JSTRING)
		v = skr_jdoc_get(d, c, "x-ms-attestation-type");
	return dup_str(v, &tok->attestation_type);
}

int
skr_token_verify(const char *text, size_t n, const skr_token_trust *trust,
    const skr_token_opts *opts, skr_token **out, skr_buf *why)
{
	skr_token_opts defaults = SKR_TOKEN_OPTS_INIT;
	skr_jws jws;
	skr_jwks *keys = NULL, *fresh = NULL;
	skr_token *tok = NULL;
	skr_buf hex = SKR_BUF_INIT;
	const skr_key *key;
	const skr_jnode *issv;
	const json_t *kidv;
	const char *kid;
	char *iss = NULL;
	unsigned algs = 0, key_algs = 0, mdlen = 32;
	int64_t now;
	int r;

	*out = NULL;
	memset(&jws, 0, sizeof(jws));
	if (opts == NULL)
		opts = &defaults;
	if (opts->skew < 0 || trust == NULL || trust->lookup == NULL)
		return skr_buf_fail(why, SKR_ERR_INVAL, "invalid verification options");
	now = opts->now != 0 ? opts->now : (int64_t)time(NULL);
	if (n > SKR_TOKEN_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_TOKEN_TOO_LARGE,
		    "token larger than %zu bytes", SKR_TOKEN_MAX_BYTES);
	if ((tok = calloc(1, sizeof(*tok))) == NULL)
		return SKR_ERR_NOMEM;

	/* Structure: three strict base64url parts, a strict JSON header with
	 * an asymmetric alg ("none" and HS* never parse). */
	if ((r = skr_jws_parse_raw(text, n, SKR_TOKEN_MAX_BYTES, &jws)) !=
	    SKR_OK) {
		r = skr_buf_fail(why, map_jws_err(r), "%s", skr_strerror(r));
		goto out;
	}
	/* The payload, parsed once, in one pass, under the token's rules:
	 * strict JSON, bounded depth, an object.  The document points into
	 * the payload bytes, which the token keeps. */
	tok->payload = jws.payload_raw;
	skr_buf_init(&jws.payload_raw, 0);
	if ((r = skr_jdoc_parse(&tok->doc, (const char *)tok->payload.data,
	    tok->payload.len, SKR_TOKEN_MAX_DEPTH)) != SKR_OK) {
		r = skr_buf_fail(why, r == SKR_ERR_NOMEM ? r : SKR_ERR_TOKEN_MALFORMED,
		    "payload: %s", skr_strerror(r));
		goto out;
	}
	if (skr_jdoc_root(&tok->doc)->type != SKR_JOBJECT) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_MALFORMED,
		    "payload is not a JSON object");
		goto out;
	}
	/* A decoded string never holds a NUL (jdoc.h): iss is C text. */
	issv = skr_jdoc_get(&tok->doc, skr_jdoc_root(&tok->doc), "iss");
	if (issv == NULL || issv->type != SKR_JSTRING || issv->len == 0) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_ISSUER, "token has no iss");
		goto out;
	}
	if ((iss = skr_jnode_strdup(issv)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if ((r = check_header(jws.header, iss, why)) != SKR_OK)
		goto out;
	kidv = json_object_get(jws.header, "kid");
	if (!json_is_string(kidv) || json_string_length(kidv) == 0 ||
	    json_string_length(kidv) != strlen(json_string_value(kidv))) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_KID, "header has no kid");
		goto out;
	}
	kid = json_string_value(kidv);

	/* The issuer chooses the key set; the kid chooses within it only. */
	if ((r = trust->lookup(trust->ctx, iss, &keys, &algs)) != SKR_OK) {
		r = skr_buf_fail(why, r, "issuer not trusted or has no keys");
		goto out;
	}
	if ((key = skr_jwks_find_alg(keys, kid, &key_algs)) == NULL &&
	    trust->unknown_kid != NULL &&
	    trust->unknown_kid(trust->ctx, iss, kid, opts->kid_wait_ms,
	    &fresh) == SKR_OK && fresh != NULL) {
		skr_jwks_unref(keys);
		keys = fresh;
		fresh = NULL;
		key = skr_jwks_find_alg(keys, kid, &key_algs);
	}
	if (key == NULL) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_KID,
		    "no key with that kid for that issuer");
		goto out;
	}
	if (algs != 0 && (algs & SKR_ALG_BIT(jws.alg)) == 0) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_ALG, "%s not allowed for the issuer",
		    skr_alg_name(jws.alg));
		goto out;
	}
	if (key_algs != 0 && (key_algs & SKR_ALG_BIT(jws.alg)) == 0) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_ALG, "%s is not the key's alg",
		    skr_alg_name(jws.alg));
		goto out;
	}
	if (skr_key_pkey(key) == NULL ||
	    !skr_alg_fits_key(jws.alg, skr_key_pkey(key))) {
		r = skr_buf_fail(why, SKR_ERR_TOKEN_ALG, "%s does not fit the key",
		    skr_alg_name(jws.alg));
		goto out;
	}
	if (skr_key_kty(key) == SKR_KTY_RSA && skr_key_bits(key) < 2048) {
		r = skr_buf_fail(why, SKR_ERR_KEY_WEAK, "issuer key too small");
		goto out;
	}
	switch ((r = skr_jws_verify(&jws, skr_key_pkey(key),
	    key_algs != 0 ? key_algs : algs))) {
	case SKR_OK:
		break;
	case SKR_ERR_NOMEM:
		goto out;
	case SKR_ERR_JWS_ALG:
		r = skr_buf_fail(why, SKR_ERR_TOKEN_ALG, "alg does not fit the key");
		goto out;
	default:
		r = skr_buf_fail(why, SKR_ERR_TOKEN_SIGNATURE,
		    "signature does not verify");
		goto out;
	}

	/* Only now, with the payload authenticated, do its claims count. */
	if ((r = check_times(tok, now, opts->skew, why)) != SKR_OK)
		goto out;
	if ((r = fill_claims(tok, &jws, kid)) != SKR_OK)
		goto out;
	/* The jansson tree, for callers that want one. */
	if (!opts->doc_only && (tok->claims = skr_jdoc_to_json(&tok->doc,
	    skr_jdoc_root(&tok->doc))) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (EVP_Digest(text, n, tok->sha256, &mdlen, skr_opcache_sha256(),
	    NULL) != 1) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	if ((r = skr_hex_encode(&hex, tok->sha256, 32, 0)) != SKR_OK)
		goto out;
	memcpy(tok->sha256_hex, hex.data, 65);
	*out = tok;
	tok = NULL;
	r = SKR_OK;
 out:
	free(iss);
	skr_buf_free(&hex);
	skr_jwks_unref(keys);
	skr_jwks_unref(fresh);
	skr_jws_clear(&jws);
	skr_token_free(tok);
	return r;
}

void
skr_token_free(skr_token *tok)
{
	if (tok == NULL)
		return;
	json_decref(tok->claims);
	skr_jdoc_free(&tok->doc);
	skr_buf_free(&tok->payload);
	free(tok->iss);
	free(tok->kid);
	free(tok->jti);
	free(tok->nonce);
	free(tok->attestation_type);
	free(tok);
}

/* ---- release helpers ---- */

static int
wants_encrypt(const skr_jdoc *d, const skr_jnode *e)
{
	const skr_jnode *ops = skr_jdoc_get(d, e, "key_ops"), *op;

	if (skr_jnode_streq(skr_jdoc_get(d, e, "use"), "enc"))
		return 1;
	if (ops == NULL || ops->type != SKR_JARRAY)
		return 0;
	for (op = skr_jdoc_child(d, ops); op != NULL;
	    op = skr_jdoc_sibling(d, ops, op))
		if (skr_jnode_streq(op, "encrypt"))
			return 1;
	return 0;
}

/*
 * Validated wrapping keys, per thread.  skr_jwk_parse runs OpenSSL's
 * SP 800-56B public-key check on an RSA key, whose Miller-Rabin
 * compositeness test costs about 5 ms for RSA-2048: more than everything
 * else in a release together (README, "Performance").  A TEE presents the
 * same key for every release of a boot, and validating the same n and e
 * cannot give another result, so each thread keeps the last few keys it
 * validated, by SHA-256 of their n and e text.  Only keys that passed are
 * kept; nothing about a token or a decision is.  Per thread, so no lock;
 * freed when the thread ends.
 */
#define WRAPKEY_CACHE 16

struct wrapkey_cache {
	struct {
		uint8_t id[32];
		EVP_PKEY *pkey;     /* a reference, or NULL */
	} e[WRAPKEY_CACHE];
	unsigned next;
	struct wrapkey_cache *prev_c, *next_c;
};

static pthread_key_t wrapkey_tls;
static pthread_once_t wrapkey_once = PTHREAD_ONCE_INIT;
static int wrapkey_ok;
/* Every thread's cache, so that caches of threads still running at exit
 * (libuv's pool) stay reachable; the lock is taken only when a thread
 * makes or drops its cache, never on a lookup. */
static pthread_mutex_t wrapkey_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wrapkey_cache *wrapkey_all;

static void
wrapkey_cache_free(void *p)
{
	struct wrapkey_cache *c = p;
	size_t i;

	pthread_mutex_lock(&wrapkey_mu);
	if (c->prev_c != NULL)
		c->prev_c->next_c = c->next_c;
	else
		wrapkey_all = c->next_c;
	if (c->next_c != NULL)
		c->next_c->prev_c = c->prev_c;
	pthread_mutex_unlock(&wrapkey_mu);
	for (i = 0; i < WRAPKEY_CACHE; i++)
		EVP_PKEY_free(c->e[i].pkey);
	free(c);
	/* OpenSSL's own thread-exit handler may have run before this one;
	 * release whatever per-thread state the frees above made again. */
	OPENSSL_thread_stop();
}

static void
wrapkey_init(void)
{
	wrapkey_ok = pthread_key_create(&wrapkey_tls, wrapkey_cache_free) ==
	    0;
}

/* This thread's cache, or NULL (no cache: every key is validated). */
static struct wrapkey_cache *
wrapkey_cache(void)
{
	struct wrapkey_cache *c;

	if (pthread_once(&wrapkey_once, wrapkey_init) != 0 || !wrapkey_ok)
		return NULL;
	if ((c = pthread_getspecific(wrapkey_tls)) != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_setspecific(wrapkey_tls, c) != 0) {
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&wrapkey_mu);
	c->next_c = wrapkey_all;
	if (wrapkey_all != NULL)
		wrapkey_all->prev_c = c;
	wrapkey_all = c;
	pthread_mutex_unlock(&wrapkey_mu);
	return c;
}

/* id = SHA-256(n "." e); 0 when the JWK has no string n and e. */
static int
wrapkey_id(const skr_jdoc *d, const skr_jnode *jwk, uint8_t id[32])
{
	const skr_jnode *n = skr_jdoc_get(d, jwk, "n"), *e = skr_jdoc_get(d,
	    jwk, "e");
	EVP_MD_CTX *md;
	unsigned int len = 32;
	int ok;

	if (n == NULL || e == NULL || n->type != SKR_JSTRING ||
	    e->type != SKR_JSTRING || (md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestInit_ex(md, skr_opcache_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, n->str, n->len) == 1 &&
	    EVP_DigestUpdate(md, ".", 1) == 1 &&
	    EVP_DigestUpdate(md, e->str, e->len) == 1 &&
	    EVP_DigestFinal_ex(md, id, &len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* skr_jwk_parse(jwk, SKR_JWK_PUBLIC) through the cache; only RSA keys of
 * 2048 bits or more are cached. */
static int
wrapkey_parse(const skr_jdoc *d, const skr_jnode *jwk, skr_key **out)
{
	struct wrapkey_cache *c = wrapkey_cache();
	json_t *tree;
	uint8_t id[32];
	size_t i;
	int r, have_id;

	have_id = c != NULL && wrapkey_id(d, jwk, id);
	for (i = 0; have_id && i < WRAPKEY_CACHE; i++)
		if (c->e[i].pkey != NULL && memcmp(c->e[i].id, id, 32) == 0)
			return skr_key_from_pkey(c->e[i].pkey, out);
	/* A key not seen before: the JWK parser, which wants a tree. */
	if ((tree = skr_jdoc_to_json(d, jwk)) == NULL)
		return SKR_ERR_NOMEM;
	r = skr_jwk_parse(tree, SKR_JWK_PUBLIC, out);
	json_decref(tree);
	if (r != SKR_OK)
		return r;
	if (have_id && skr_key_kty(*out) == SKR_KTY_RSA &&
	    skr_key_bits(*out) >= 2048 &&
	    EVP_PKEY_up_ref(skr_key_pkey(*out)) == 1) {
		i = c->next++ % WRAPKEY_CACHE;
		EVP_PKEY_free(c->e[i].pkey);
		c->e[i].pkey = skr_key_pkey(*out);
		memcpy(c->e[i].id, id, 32);
	}
	return SKR_OK;
}

/* kty names RSA, as skr_kty_parse reads it ("RSA" or "RSA-HSM"). */
static int
is_rsa(const skr_jnode *kty)
{
	char text[16];

	if (kty == NULL || kty->type != SKR_JSTRING || kty->len >= sizeof(text))
		return 0;
	memcpy(text, kty->str, kty->len);
	text[kty->len] = '\0';
	return skr_kty_parse(text) == SKR_KTY_RSA;
}

int
skr_token_wrapping_key(const skr_token *tok, const char *claim_path,
    skr_key **out, char **kid_out)
{
	const skr_jdoc *d = &tok->doc;
	const skr_jnode *arr, *e, *kid, *kty;
	skr_key *key = NULL;
	int r, matched = 0;

	*out = NULL;
	if (kid_out != NULL)
		*kid_out = NULL;
	arr = skr_jdoc_path(d, skr_jdoc_root(d), claim_path != NULL ?
	    claim_path : SKR_TOKEN_WRAPKEY_CLAIM);
	if (arr == NULL || arr->type != SKR_JARRAY)
		return SKR_ERR_WRAPKEY_MISSING;
	for (e = skr_jdoc_child(d, arr); e != NULL;
	    e = skr_jdoc_sibling(d, arr, e)) {
		if (e->type != SKR_JOBJECT)
			continue;
		kid = skr_jdoc_get(d, e, "kid");
		kty = skr_jdoc_get(d, e, "kty");
		if (!is_rsa(kty) || kid == NULL ||
		    kid->type != SKR_JSTRING || kid->len == 0 ||
		    !wants_encrypt(d, e))
			continue;
		matched = 1;
		r = wrapkey_parse(d, e, &key);
		if (r == SKR_ERR_NOMEM)
			return r;
		if (r != SKR_OK)
			continue;
		if (skr_key_kty(key) != SKR_KTY_RSA ||
		    skr_key_bits(key) < 2048) {
			skr_key_free(key);
			key = NULL;
			continue;
		}
		if (kid_out != NULL && (*kid_out = skr_jnode_strdup(kid)) ==
		    NULL) {
			skr_key_free(key);
			return SKR_ERR_NOMEM;
		}
		*out = key;
		return SKR_OK;
	}
	return matched ? SKR_ERR_WRAPKEY_INVALID : SKR_ERR_WRAPKEY_MISSING;
}

const char *
skr_token_nonce(const skr_token *tok)
{
	return tok->nonce;
}
