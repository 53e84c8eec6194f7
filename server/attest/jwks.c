#include "jwks.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "encoding.h"
#include "json.h"
#include "jws.h"
#include "skr/error.h"

/* Chains longer than this are not something an attestation service sends. */
#define MAX_X5C 8

struct skr_jwks {
	atomic_uint refs;
	skr_key **keys;
	unsigned *algs;   /* per key: SKR_ALG_BIT of its "alg", 0 for any */
	size_t nkeys;
	char **warnings;
	size_t nwarnings;
};

skr_jwks *
skr_jwks_ref(skr_jwks *set)
{
	if (set != NULL)
		atomic_fetch_add(&set->refs, 1);
	return set;
}

void
skr_jwks_unref(skr_jwks *set)
{
	size_t i;

	if (set == NULL || atomic_fetch_sub(&set->refs, 1) != 1)
		return;
	for (i = 0; i < set->nkeys; i++)
		skr_key_free(set->keys[i]);
	free(set->keys);
	free(set->algs);
	for (i = 0; i < set->nwarnings; i++)
		free(set->warnings[i]);
	free(set->warnings);
	free(set);
}

size_t
skr_jwks_count(const skr_jwks *set)
{
	return set->nkeys;
}

const skr_key *
skr_jwks_key(const skr_jwks *set, size_t i)
{
	return i < set->nkeys ? set->keys[i] : NULL;
}

const skr_key *
skr_jwks_find_alg(const skr_jwks *set, const char *kid, unsigned *algs)
{
	const char *k;
	size_t i;

	if (algs != NULL)
		*algs = 0;
	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->nkeys; i++)
		if ((k = skr_key_kid(set->keys[i])) != NULL &&
		    strcmp(k, kid) == 0) {
			if (algs != NULL)
				*algs = set->algs[i];
			return set->keys[i];
		}
	return NULL;
}

const skr_key *
skr_jwks_find(const skr_jwks *set, const char *kid)
{
	return skr_jwks_find_alg(set, kid, NULL);
}

size_t
skr_jwks_warning_count(const skr_jwks *set)
{
	return set->nwarnings;
}

const char *
skr_jwks_warning(const skr_jwks *set, size_t i)
{
	return i < set->nwarnings ? set->warnings[i] : NULL;
}

static int
warn(skr_jwks *set, size_t idx, const char *kid, const char *what)
{
	char buf[256], kidbuf[72];
	char **w;
	size_t i;

	/* The kid comes from the document: keep it short and printable. */
	for (i = 0; kid != NULL && kid[i] != '\0' && i + 1 < sizeof(kidbuf);
	    i++)
		kidbuf[i] = kid[i] >= 0x20 && kid[i] < 0x7f && kid[i] != '"' ?
		    kid[i] : '?';
	kidbuf[i] = '\0';
	if (kid != NULL)
		snprintf(buf, sizeof(buf), "keys[%zu] (kid \"%s\"): %s", idx,
		    kidbuf, what);
	else
		snprintf(buf, sizeof(buf), "keys[%zu]: %s", idx, what);
	if ((w = realloc(set->warnings, (set->nwarnings + 1) *
	    sizeof(*w))) == NULL)
		return SKR_ERR_NOMEM;
	set->warnings = w;
	if ((w[set->nwarnings] = strdup(buf)) == NULL)
		return SKR_ERR_NOMEM;
	set->nwarnings++;
	return SKR_OK;
}

static X509 *
cert_from_b64(const json_t *v)
{
	skr_buf der = SKR_BUF_INIT;
	const unsigned char *p;
	X509 *x = NULL;

	/* RFC 7517 4.7: x5c members are base64 (not base64url) DER. */
	if (!json_is_string(v) || skr_b64_decode(&der, json_string_value(v),
	    json_string_length(v)) != SKR_OK || der.len == 0)
		goto out;
	p = der.data;
	x = d2i_X509(NULL, &p, (long)der.len);
	if (x != NULL && p != der.data + der.len) {
		X509_free(x);
		x = NULL;
	}
 out:
	skr_buf_free(&der);
	return x;
}

/* The leaf key of an x5c chain, verified against ca when given.  Returns
 * NULL with *what set on failure. */
static EVP_PKEY *
x5c_key(const json_t *x5c, X509_STORE *ca, int64_t at, const char **what)
{
	STACK_OF(X509) *chain = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *leaf = NULL, *x;
	EVP_PKEY *pkey = NULL;
	size_t i;

	if (!json_is_array(x5c) || json_array_size(x5c) == 0 ||
	    json_array_size(x5c) > MAX_X5C) {
		*what = "x5c is not a non-empty array of at most 8 certificates";
		goto out;
	}
	if ((leaf = cert_from_b64(json_array_get(x5c, 0))) == NULL) {
		*what = "x5c leaf certificate is malformed";
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL) {
		*what = "out of memory";
		goto out;
	}
	for (i = 1; i < json_array_size(x5c); i++) {
		if ((x = cert_from_b64(json_array_get(x5c, i))) == NULL) {
			*what = "x5c certificate is malformed";
			goto out;
		}
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			*what = "out of memory";
			goto out;
		}
	}
	if (ca != NULL) {
		if ((ctx = X509_STORE_CTX_new()) == NULL ||
		    !X509_STORE_CTX_init(ctx, ca, leaf, chain)) {
			*what = "out of memory";
			goto out;
		}
		X509_STORE_CTX_set_time(ctx, 0,
		    at != 0 ? (time_t)at : time(NULL));
		if (X509_verify_cert(ctx) != 1) {
			*what = "x5c chain does not verify against the "
			    "configured CA";
			goto out;
		}
	}
	if ((pkey = X509_get_pubkey(leaf)) == NULL)
		*what = "x5c leaf certificate has no usable public key";
 out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	ERR_clear_error();
	return pkey;
}

static int
use_allows_sig(const json_t *e)
{
	const json_t *use = json_object_get(e, "use");
	const json_t *ops = json_object_get(e, "key_ops");
	const json_t *op;
	size_t i;

	if (use != NULL && (!json_is_string(use) ||
	    strcmp(json_string_value(use), "sig") != 0))
		return 0;
	if (ops == NULL)
		return 1;
	if (!json_is_array(ops))
		return 0;
	json_array_foreach(ops, i, op) {
		if (json_is_string(op) &&
		    strcmp(json_string_value(op), "verify") == 0)
			return 1;
	}
	return 0;
}

static int
has_key_members(const json_t *e)
{
	return json_object_get(e, "n") != NULL ||
	    json_object_get(e, "e") != NULL ||
	    json_object_get(e, "x") != NULL ||
	    json_object_get(e, "y") != NULL;
}

/* One entry.  Returns SKR_OK with *out set, SKR_OK with *out NULL and
 * *what set when the entry is skipped, or SKR_ERR_NOMEM. */
static int
load_entry(const json_t *e, X509_STORE *ca, int64_t at, skr_key **out,
    unsigned *algmask, const char **what)
{
	const json_t *kid, *kty, *x5c, *alg;
	skr_alg a = SKR_ALG_INVALID;
	EVP_PKEY *pkey = NULL;
	skr_key *key = NULL, *cert_key = NULL;
	skr_kty t;
	int r = SKR_OK;

	*out = NULL;
	*algmask = 0;
	*what = NULL;
	kid = json_object_get(e, "kid");
	kty = json_object_get(e, "kty");
	x5c = json_object_get(e, "x5c");
	if (!json_is_string(kid) || json_string_length(kid) == 0 ||
	    json_string_length(kid) != strlen(json_string_value(kid))) {
		*what = "no kid: a token could never select it";
		goto out;
	}
	if (!json_is_string(kty)) {
		*what = "no kty";
		goto out;
	}
	t = skr_kty_parse(json_string_value(kty));
	if (t != SKR_KTY_RSA && t != SKR_KTY_EC) {
		*what = "kty is not RSA or EC";
		goto out;
	}
	if (!use_allows_sig(e)) {
		*what = "use or key_ops does not allow signature verification";
		goto out;
	}
	/* RFC 7517 4.4: a key that names its algorithm is used with that
	 * algorithm only. */
	if ((alg = json_object_get(e, "alg")) != NULL) {
		if (skr_alg_parse(json_string_value(alg), &a) != SKR_OK) {
			*what = "alg is not an RS, PS or ES signature algorithm";
			goto out;
		}
		*algmask = SKR_ALG_BIT(a);
	}
	if (x5c != NULL) {
		if ((pkey = x5c_key(x5c, ca, at, what)) == NULL)
			goto out;
		if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
		    EVP_PKEY_get_bits(pkey) < 2048) {
			*what = "RSA key smaller than 2048 bits";
			goto out;
		}
		if ((r = skr_key_from_pkey(pkey, &cert_key)) != SKR_OK) {
			if (r == SKR_ERR_NOMEM)
				goto out;
			r = SKR_OK;
			*what = "x5c leaf key type or curve not supported";
			goto out;
		}
		if (skr_key_kty(cert_key) != t) {
			*what = "x5c leaf key does not match kty";
			goto out;
		}
	} else if (ca != NULL) {
		*what = "no x5c chain to check against the configured CA";
		goto out;
	}
	if (has_key_members(e) || cert_key == NULL) {
		switch ((r = skr_jwk_parse(e, SKR_JWK_PUBLIC, &key))) {
		case SKR_OK:
			break;
		case SKR_ERR_NOMEM:
			goto out;
		case SKR_ERR_KEY_WEAK:
			r = SKR_OK;
			*what = "RSA key smaller than 2048 bits";
			goto out;
		default:
			r = SKR_OK;
			*what = "malformed or unsupported key";
			goto out;
		}
		/* RFC 7517 4.7: the certificate's key must be the same. */
		if (cert_key != NULL && !skr_key_public_equal(key, cert_key)) {
			*what = "key members do not match the x5c leaf";
			goto out;
		}
	} else {
		key = cert_key;
		cert_key = NULL;
	}
	if (skr_key_kty(key) == SKR_KTY_RSA && skr_key_bits(key) < 2048) {
		*what = "RSA key smaller than 2048 bits";
		goto out;
	}
	if (skr_key_kty(key) == SKR_KTY_EC && skr_key_crv(key) == NULL) {
		*what = "EC curve not supported";
		goto out;
	}
	if (*algmask != 0 && !skr_alg_fits_key(a, skr_key_pkey(key))) {
		*what = "alg does not fit the key";
		goto out;
	}
	if ((r = skr_key_set_kid(key, json_string_value(kid))) != SKR_OK)
		goto out;
	*out = key;
	key = NULL;
 out:
	skr_key_free(key);
	skr_key_free(cert_key);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_jwks_from_json(const json_t *doc, X509_STORE *ca, int64_t at,
    skr_jwks **out, skr_buf *why)
{
	const json_t *keys, *e;
	const char *what, *kid;
	skr_jwks *set = NULL;
	skr_key *key;
	unsigned algmask;
	size_t i;
	int r;

	*out = NULL;
	keys = json_object_get(doc, "keys");
	if (!json_is_object(doc) || !json_is_array(keys)) {
		if (why != NULL)
			skr_buf_append_str(why, "not a JWKS: no \"keys\" array");
		return SKR_ERR_JWK_INVALID;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(json_array_size(keys) + 1,
	    sizeof(*set->keys))) == NULL ||
	    (set->algs = calloc(json_array_size(keys) + 1,
	    sizeof(*set->algs))) == NULL) {
		if (set != NULL)
			free(set->keys);
		free(set);
		return SKR_ERR_NOMEM;
	}
	atomic_init(&set->refs, 1);
	json_array_foreach(keys, i, e) {
		kid = json_string_value(json_object_get(e, "kid"));
		if (!json_is_object(e)) {
			r = warn(set, i, NULL, "not an object");
		} else if ((r = load_entry(e, ca, at, &key, &algmask,
		    &what)) != SKR_OK) {
			/* out of memory */
		} else if (key == NULL) {
			r = warn(set, i, kid, what);
		} else if (skr_jwks_find(set, kid) != NULL) {
			skr_key_free(key);
			r = warn(set, i, kid, "kid already used by an earlier "
			    "entry");
		} else {
			set->algs[set->nkeys] = algmask;
			set->keys[set->nkeys++] = key;
		}
		if (r != SKR_OK)
			goto out;
	}
	*out = set;
	set = NULL;
	r = SKR_OK;
 out:
	skr_jwks_unref(set);
	return r;
}

int
skr_jwks_parse(const char *text, size_t n, X509_STORE *ca, int64_t at,
    skr_jwks **out, skr_buf *why)
{
	json_t *doc = NULL;
	int r;

	*out = NULL;
	if (n > SKR_JWKS_MAX_BYTES) {
		if (why != NULL)
			skr_buf_appendf(why, "JWKS larger than %zu bytes",
			    SKR_JWKS_MAX_BYTES);
		return SKR_ERR_TOO_LARGE;
	}
	if ((r = skr_json_parse(text, n, 0, &doc)) != SKR_OK) {
		if (why != NULL)
			skr_buf_appendf(why, "JWKS is not valid JSON: %s",
			    skr_strerror(r));
		return r;
	}
	r = skr_jwks_from_json(doc, ca, at, out, why);
	json_decref(doc);
	return r;
}

int
skr_jwks_load_ca(const char *path, X509_STORE **out)
{
	X509_STORE *st = NULL;
	int r;

	*out = NULL;
	if ((st = X509_STORE_new()) == NULL)
		return SKR_ERR_NOMEM;
	if (X509_STORE_load_file(st, path) != 1) {
		r = SKR_ERR_IO;
		goto out;
	}
	if (sk_X509_OBJECT_num(X509_STORE_get0_objects(st)) <= 0) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	*out = st;
	st = NULL;
	r = SKR_OK;
 out:
	X509_STORE_free(st);
	ERR_clear_error();
	return r;
}
