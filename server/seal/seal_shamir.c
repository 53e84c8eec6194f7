/*
 * The Shamir seal (docs/sealing.md, "Shamir"): a random 32-byte split key
 * encrypts the keyring (AES-256-GCM, keys/seal.h, bound to the split's
 * identifier); the split key itself is only ever in the n shares, k of
 * which rebuild it.  seal.json keeps the identifier, k, n and, per share,
 * a verifier SHA-256("skr/v1/share-verifier\0" || id || x || y): a share
 * given to unseal is checked against it before it counts, so a wrong one
 * is refused on its own rather than spoiling the combination.  With fewer
 * than k shares the verifiers and the sealed keyring leave the split key
 * to a search over 2^256 values.
 *
 * The recovered split key stays in locked memory while the server is
 * unsealed, so that a rotation can seal the new keyring; sealing the
 * server wipes it.
 */
#include "seal_kinds.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "encoding.h"
#include "guard.h"
#include "random.h"
#include "seal.h"
#include "skr/error.h"

#define AAD_LABEL "skr/v1/shamir"
#define VERIFIER_LABEL "skr/v1/share-verifier"

struct shamir {
	pthread_mutex_t mu;
	uint8_t id[SKR_SHARE_ID_LEN];
	int k, n;
	uint8_t verifier[SKR_SHAMIR_MAX][32];
	skr_share given[SKR_SHAMIR_MAX]; /* secret: wiped once combined */
	int ngiven;
	skr_master_key *key;             /* the split key, when recovered */
};

static int
verifier_of(const skr_share *s, uint8_t out[32])
{
	unsigned int len = 32;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (md == NULL)
		return SKR_ERR_NOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, VERIFIER_LABEL, sizeof(VERIFIER_LABEL)) == 1 &&
	    EVP_DigestUpdate(md, s->id, SKR_SHARE_ID_LEN) == 1 &&
	    EVP_DigestUpdate(md, &s->x, 1) == 1 &&
	    EVP_DigestUpdate(md, s->y, sizeof(s->y)) == 1 &&
	    EVP_DigestFinal_ex(md, out, &len) == 1;
	EVP_MD_CTX_free(md);
	return ok ? SKR_OK : SKR_ERR_CRYPTO;
}

static void
shamir_free(void *ctx)
{
	struct shamir *s = ctx;

	if (s == NULL)
		return;
	skr_master_key_free(s->key);
	pthread_mutex_destroy(&s->mu);
	skr_freezero(s, sizeof(*s));
}

static int
shamir_alloc(struct shamir **out)
{
	struct shamir *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return SKR_ERR_NOMEM;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return SKR_ERR_NOMEM;
	}
	*out = s;
	return SKR_OK;
}

static int
aad_of(const struct shamir *s, uint8_t aad[sizeof(AAD_LABEL) +
    SKR_SHARE_ID_LEN])
{
	memcpy(aad, AAD_LABEL, sizeof(AAD_LABEL));
	memcpy(aad + sizeof(AAD_LABEL), s->id, SKR_SHARE_ID_LEN);
	return SKR_OK;
}

static int
shamir_wrap(void *ctx, const uint8_t *pt, size_t n, skr_buf *blob)
{
	struct shamir *s = ctx;
	uint8_t aad[sizeof(AAD_LABEL) + SKR_SHARE_ID_LEN];
	int r;

	aad_of(s, aad);
	pthread_mutex_lock(&s->mu);
	r = s->key == NULL ? SKR_ERR_SEALED : skr_seal(skr_master_key_bytes(
	    s->key), aad, sizeof(aad), pt, n, blob);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int
shamir_unwrap(void *ctx, const uint8_t *blob, size_t n, skr_buf *pt)
{
	struct shamir *s = ctx;
	uint8_t aad[sizeof(AAD_LABEL) + SKR_SHARE_ID_LEN];
	int r;

	aad_of(s, aad);
	pthread_mutex_lock(&s->mu);
	r = s->key == NULL ? SKR_ERR_SEALED : skr_seal_open(
	    skr_master_key_bytes(s->key), aad, sizeof(aad), blob, n, pt);
	pthread_mutex_unlock(&s->mu);
	/* Verified shares rebuild the right key: a blob that does not open
	 * was changed or belongs to another split. */
	if (r == SKR_ERR_SEAL_OPEN || r == SKR_ERR_SEAL_FORMAT)
		r = SKR_ERR_SEAL_KEY;
	return r;
}

static const skr_seal_ops shamir_ops = {
	.name = "shamir",
	.wrap = shamir_wrap,
	.unwrap = shamir_unwrap,
	.free = shamir_free,
};

static int
shamir_create(const skr_seal_opts *o, json_t *settings, void **ctx,
    skr_seal_shares *shares)
{
	struct shamir *s = NULL;
	skr_share sh[SKR_SHAMIR_MAX];
	skr_buf hex = SKR_BUF_INIT;
	json_t *vs = NULL;
	int i, r;

	*ctx = NULL;
	memset(sh, 0, sizeof(sh));
	SKR_ENSURE(shares != NULL && o->threshold >= 2 &&
	    o->threshold <= o->shares && o->shares <= SKR_SHAMIR_MAX,
	    SKR_ERR_CONFIG);
	SKR_GUARD(shamir_alloc(&s));
	s->k = o->threshold;
	s->n = o->shares;
	SKR_GUARD(skr_random(s->id, sizeof(s->id)));
	SKR_GUARD(skr_master_key_generate(&s->key));
	SKR_GUARD(skr_shamir_split(skr_master_key_bytes(s->key), s->k, s->n,
	    s->id, sh));
	SKR_ENSURE((vs = json_array()) != NULL, SKR_ERR_NOMEM);
	memset(shares, 0, sizeof(*shares));
	for (i = 0; i < s->n; i++) {
		SKR_GUARD(verifier_of(&sh[i], s->verifier[i]));
		skr_buf_reset(&hex);
		SKR_GUARD(skr_hex_encode(&hex, s->verifier[i], 32, 0));
		SKR_ENSURE(json_array_append_new(vs, json_string(
		    skr_buf_cstr(&hex))) == 0, SKR_ERR_NOMEM);
		SKR_GUARD(skr_share_encode(&sh[i], shares->text[i]));
	}
	shares->n = (size_t)s->n;
	skr_buf_reset(&hex);
	SKR_GUARD(skr_hex_encode(&hex, s->id, sizeof(s->id), 0));
	SKR_ENSURE(json_object_set_new(settings, "id",
	    json_string(skr_buf_cstr(&hex))) == 0 &&
	    json_object_set_new(settings, "shares", json_integer(s->n)) == 0 &&
	    json_object_set_new(settings, "threshold",
	    json_integer(s->k)) == 0 &&
	    json_object_set(settings, "verifiers", vs) == 0, SKR_ERR_NOMEM);
	*ctx = s;
	s = NULL;
out:
	if (r != SKR_OK && shares != NULL)
		skr_wipe(shares, sizeof(*shares));
	skr_wipe(sh, sizeof(sh));
	json_decref(vs);
	skr_buf_free(&hex);
	shamir_free(s);
	return r;
}

/* Exactly n bytes of lowercase or uppercase hex. */
static int
hex_exact(const json_t *v, uint8_t *out, size_t n)
{
	skr_buf b = SKR_BUF_INIT;
	const char *s = json_string_value(v);
	int r;

	if (s == NULL || strlen(s) != 2 * n)
		return SKR_ERR_CONFIG;
	r = skr_hex_decode(&b, s, 2 * n);
	if (r == SKR_OK && b.len == n)
		memcpy(out, b.data, n);
	else
		r = SKR_ERR_CONFIG;
	skr_buf_free(&b);
	return r;
}

static int
shamir_open(const json_t *settings, const skr_seal_opts *o, void **ctx)
{
	struct shamir *s = NULL;
	const json_t *vs;
	int i, r;

	(void)o;
	*ctx = NULL;
	SKR_ENSURE(settings != NULL, SKR_ERR_CONFIG);
	SKR_GUARD(shamir_alloc(&s));
	SKR_GUARD(hex_exact(json_object_get(settings, "id"), s->id,
	    sizeof(s->id)));
	s->n = (int)json_integer_value(json_object_get(settings, "shares"));
	s->k = (int)json_integer_value(json_object_get(settings, "threshold"));
	vs = json_object_get(settings, "verifiers");
	SKR_ENSURE(s->k >= 2 && s->k <= s->n && s->n <= SKR_SHAMIR_MAX &&
	    json_is_array(vs) && json_array_size(vs) == (size_t)s->n,
	    SKR_ERR_CONFIG);
	for (i = 0; i < s->n; i++)
		SKR_GUARD(hex_exact(json_array_get(vs, (size_t)i),
		    s->verifier[i], 32));
	*ctx = s;
	s = NULL;
out:
	shamir_free(s);
	return r;
}

/* Never the same: a move to Shamir is a new split with new shares, which
 * is how lost shares are replaced (docs/sealing.md, "Runbook"). */
static int
shamir_same(const json_t *settings, const skr_seal_opts *o)
{
	(void)settings;
	(void)o;
	return 0;
}

const skr_seal_kind skr__seal_shamir = {
	.name = "shamir",
	.ops = &shamir_ops,
	.create = shamir_create,
	.open = shamir_open,
	.same = shamir_same,
};

int
skr__shamir_give(void *ctx, const char *text, size_t len, int *complete)
{
	struct shamir *s = ctx;
	skr_share sh;
	uint8_t v[32], secret[SKR_SHAMIR_SECRET_LEN];
	int i, r;

	*complete = 0;
	SKR_GUARD(skr_share_parse(text, len, &sh));
	SKR_ENSURE(memcmp(sh.id, s->id, sizeof(s->id)) == 0,
	    SKR_ERR_SHARE_FOREIGN);
	SKR_GUARD(verifier_of(&sh, v));
	SKR_ENSURE(sh.k == s->k && sh.n == s->n &&
	    skr_ct_equal(v, s->verifier[sh.x - 1], sizeof(v)),
	    SKR_ERR_SHARE_INVALID);
	pthread_mutex_lock(&s->mu);
	if (s->key != NULL)
		r = SKR_ERR_NOT_SEALED;
	else {
		r = SKR_OK;
		for (i = 0; i < s->ngiven; i++)
			if (s->given[i].x == sh.x)
				r = SKR_ERR_SHARE_DUPLICATE;
	}
	if (r == SKR_OK) {
		s->given[s->ngiven++] = sh;
		if (s->ngiven >= s->k) {
			r = skr_shamir_combine(s->given, (size_t)s->ngiven,
			    secret);
			if (r == SKR_OK)
				r = skr_master_key_from_bytes(secret,
				    sizeof(secret), &s->key);
			skr_wipe(secret, sizeof(secret));
			skr_wipe(s->given, sizeof(s->given));
			s->ngiven = 0;
			*complete = r == SKR_OK;
		}
	}
	pthread_mutex_unlock(&s->mu);
out:
	skr_wipe(&sh, sizeof(sh));
	return r;
}

void
skr__shamir_status(void *ctx, int *needs, int *threshold, int *progress)
{
	struct shamir *s = ctx;

	pthread_mutex_lock(&s->mu);
	*needs = s->key == NULL;
	*threshold = s->k;
	*progress = s->key != NULL ? s->k : s->ngiven;
	pthread_mutex_unlock(&s->mu);
}

void
skr__shamir_forget(void *ctx)
{
	struct shamir *s = ctx;

	pthread_mutex_lock(&s->mu);
	skr_master_key_free(s->key);
	s->key = NULL;
	skr_wipe(s->given, sizeof(s->given));
	s->ngiven = 0;
	pthread_mutex_unlock(&s->mu);
}
