#include "jwk.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "encoding.h"
#include "json.h"
#include "skr/error.h"

#define RSA_MIN_BITS 2048
/* Key Vault's largest RSA key is 4096 bits.  8192 leaves room for
 * authorities while bounding the SP 800-56B public-key check, whose
 * Miller-Rabin round costs cubic time in the modulus size. */
#define RSA_MAX_BITS 8192
/* Public exponents in use are 3 and 65537; a long one only costs time. */
#define RSA_E_MAX_BITS 64
#define OCT_MAX_LEN 32

/*
 * OpenSSL leaves errors on the calling thread's queue when a decoder or a
 * check fails, and a later SSL_get_error() on that thread reads them as its
 * own.  Every entry point that calls into OpenSSL therefore brackets the
 * work with a mark and pops back to it.
 */
#define ERR_BEGIN() ERR_set_mark()
#define ERR_END() ERR_pop_to_mark()

struct skr_key {
	skr_kty kty;
	EVP_PKEY *pkey;           /* RSA, EC */
	uint8_t oct[OCT_MAX_LEN]; /* oct: the key bytes */
	size_t octlen;
	char *kid;
};

/* JOSE curve name, OpenSSL group name and field length in bytes. */
static const struct curve {
	const char *crv;
	const char *group;
	int bits;
	size_t len;
} curves[] = {
	{ "P-256", "prime256v1", 256, 32 },
	{ "P-384", "secp384r1", 384, 48 },
	{ "P-521", "secp521r1", 521, 66 },
};

static const struct curve *
curve_by_crv(const char *crv)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].crv, crv) == 0)
			return &curves[i];
	return NULL;
}

static const struct curve *
curve_by_group(const char *group)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].group, group) == 0 ||
		    strcmp(curves[i].crv, group) == 0)
			return &curves[i];
	return NULL;
}

static const struct curve *
curve_of(EVP_PKEY *pkey)
{
	char group[64];
	size_t len;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &len) != 1)
		return NULL;
	return curve_by_group(group);
}

/* Key Vault's names: the -HSM forms say where a key lives, not what it
 * is, so both parse to the same type. */
static const struct kty_name {
	skr_kty kty;
	const char *name;
	const char *hsm;
} kty_names[] = {
	{ SKR_KTY_RSA, "RSA", "RSA-HSM" },
	{ SKR_KTY_EC, "EC", "EC-HSM" },
	{ SKR_KTY_OCT, "oct", "oct-HSM" },
};

skr_kty
skr_kty_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return SKR_KTY_NONE;
	for (i = 0; i < sizeof(kty_names) / sizeof(kty_names[0]); i++)
		if (strcmp(s, kty_names[i].name) == 0 ||
		    strcmp(s, kty_names[i].hsm) == 0)
			return kty_names[i].kty;
	return SKR_KTY_NONE;
}

const char *
skr_kty_name(skr_kty kty, int hsm)
{
	size_t i;

	for (i = 0; i < sizeof(kty_names) / sizeof(kty_names[0]); i++)
		if (kty_names[i].kty == kty)
			return hsm ? kty_names[i].hsm : kty_names[i].name;
	return "none";
}

static skr_key *
key_new(skr_kty kty)
{
	skr_key *k = calloc(1, sizeof(*k));

	if (k != NULL)
		k->kty = kty;
	return k;
}

void
skr_key_free(skr_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->kid);
	skr_freezero(key, sizeof(*key));
}

/* Checks an RSA or EC EVP_PKEY is one skr accepts. */
static int
pkey_acceptable(EVP_PKEY *pkey, skr_kty *kty)
{
	int bits;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < RSA_MIN_BITS)
			return SKR_ERR_KEY_WEAK;
		if (bits > RSA_MAX_BITS)
			return SKR_ERR_JWK_UNSUPPORTED;
		*kty = SKR_KTY_RSA;
		return SKR_OK;
	case EVP_PKEY_EC:
		if (curve_of(pkey) == NULL)
			return SKR_ERR_JWK_UNSUPPORTED;
		*kty = SKR_KTY_EC;
		return SKR_OK;
	default:
		return SKR_ERR_JWK_UNSUPPORTED;
	}
}

/* Whether an RSA or EC EVP_PKEY holds its private part. */
static int
pkey_has_private(EVP_PKEY *pkey)
{
	const char *param;
	BIGNUM *bn = NULL;
	int has;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		param = OSSL_PKEY_PARAM_RSA_D;
		break;
	case EVP_PKEY_EC:
		param = OSSL_PKEY_PARAM_PRIV_KEY;
		break;
	default:
		return 0;
	}
	has = EVP_PKEY_get_bn_param(pkey, param, &bn) == 1;
	BN_clear_free(bn);
	return has;
}

static int
key_from_pkey(EVP_PKEY *pkey, skr_key **out)
{
	skr_kty kty;
	skr_key *k;
	int r;

	*out = NULL;
	if (pkey == NULL)
		return SKR_ERR_INVAL;
	if ((r = pkey_acceptable(pkey, &kty)) != SKR_OK)
		return r;
	if ((k = key_new(kty)) == NULL)
		return SKR_ERR_NOMEM;
	if (EVP_PKEY_up_ref(pkey) != 1) {
		skr_key_free(k);
		return SKR_ERR_CRYPTO;
	}
	k->pkey = pkey;
	*out = k;
	return SKR_OK;
}

int
skr_key_from_pkey(EVP_PKEY *pkey, skr_key **out)
{
	int r;

	ERR_BEGIN();
	r = key_from_pkey(pkey, out);
	ERR_END();
	return r;
}

/* ---- JWK members ------------------------------------------------------ */

/* Decode base64url member name of jwk into out. Missing: SKR_ERR_JWK_INVALID
 * unless optional, when *present is set to 0. */
static int
member_bytes(const json_t *jwk, const char *name, skr_buf *out, int *present)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s;

	if (present != NULL)
		*present = v != NULL;
	if (v == NULL)
		return present != NULL ? SKR_OK : SKR_ERR_JWK_INVALID;
	if (!json_is_string(v))
		return SKR_ERR_JWK_INVALID;
	s = json_string_value(v);
	if (json_string_length(v) == 0)
		return SKR_ERR_JWK_INVALID;
	if (skr_b64url_decode(out, s, json_string_length(v)) != SKR_OK)
		return SKR_ERR_JWK_INVALID;
	return SKR_OK;
}

/* A big-endian unsigned integer member as a BIGNUM; leading zero octets are
 * tolerated because Key Vault emits e as "AAEAAQ". */
static int
member_bn(const json_t *jwk, const char *name, int secret, BIGNUM **out,
    int *present)
{
	skr_buf b;
	int r;

	*out = NULL;
	skr_buf_init_secret(&b, 4096);
	if ((r = member_bytes(jwk, name, &b, present)) != SKR_OK)
		goto out;
	if (present != NULL && !*present)
		goto out;
	*out = secret ? BN_secure_new() : BN_new();
	if (*out == NULL || BN_bin2bn(b.data, (int)b.len, *out) == NULL) {
		BN_clear_free(*out);
		*out = NULL;
		r = SKR_ERR_NOMEM;
	}
	if (secret && *out != NULL)
		BN_set_flags(*out, BN_FLG_CONSTTIME);
out:
	skr_buf_free(&b);
	return r;
}

static int
pkey_fromdata(const char *type, int selection, OSSL_PARAM_BLD *bld,
    EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	int r = SKR_ERR_JWK_INVALID;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		goto out;
	/* Import does not prove the parts belong together or that an EC
	 * point lies on the curve: check explicitly. */
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_public_check(cctx) != 1)
		goto out;
	if (selection == EVP_PKEY_KEYPAIR && EVP_PKEY_pairwise_check(cctx) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = SKR_OK;
out:
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	return r;
}

static const char *const rsa_crt_members[] = { "p", "q", "dp", "dq", "qi" };
static const char *const rsa_crt_params[] = {
	OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

static int
parse_rsa(const json_t *jwk, int want_private, skr_key *k)
{
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *crt[5] = { NULL };
	OSSL_PARAM_BLD *bld = NULL;
	int r, has_d = 0, has_crt[5], ncrt = 0;
	size_t i;

	if ((r = member_bn(jwk, "n", 0, &n, NULL)) != SKR_OK ||
	    (r = member_bn(jwk, "e", 0, &e, NULL)) != SKR_OK)
		goto out;
	if (BN_num_bits(n) < RSA_MIN_BITS) {
		r = SKR_ERR_KEY_WEAK;
		goto out;
	}
	if (BN_num_bits(n) > RSA_MAX_BITS || !BN_is_odd(n)) {
		r = BN_is_odd(n) ? SKR_ERR_JWK_UNSUPPORTED : SKR_ERR_JWK_INVALID;
		goto out;
	}
	/* e must be odd, greater than 1 and (as every sane key has) short. */
	if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > RSA_E_MAX_BITS) {
		r = SKR_ERR_JWK_INVALID;
		goto out;
	}
	if (want_private) {
		/* Multi-prime keys (RFC 7518 section 6.3.2.7) are not used
		 * by Key Vault and not supported here. */
		if (json_object_get(jwk, "oth") != NULL) {
			r = SKR_ERR_JWK_UNSUPPORTED;
			goto out;
		}
		if ((r = member_bn(jwk, "d", 1, &d, &has_d)) != SKR_OK)
			goto out;
		for (i = 0; i < 5; i++) {
			r = member_bn(jwk, rsa_crt_members[i], 1, &crt[i],
			    &has_crt[i]);
			if (r != SKR_OK)
				goto out;
			ncrt += has_crt[i];
		}
		/* d alone would do mathematically, but OpenSSL needs the CRT
		 * parameters to be fast and Key Vault always emits them, so a
		 * key without them (or with some of them) is malformed. */
		if ((has_d && ncrt != 5) || (!has_d && ncrt != 0)) {
			r = SKR_ERR_JWK_INVALID;
			goto out;
		}
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (has_d) {
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) != 1) {
			r = SKR_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < 5; i++)
			if (OSSL_PARAM_BLD_push_BN(bld, rsa_crt_params[i],
			    crt[i]) != 1) {
				r = SKR_ERR_NOMEM;
				goto out;
			}
	}
	r = pkey_fromdata("RSA", has_d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    bld, &k->pkey);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	for (i = 0; i < 5; i++)
		BN_clear_free(crt[i]);
	return r;
}

static int
parse_ec(const json_t *jwk, int want_private, skr_key *k)
{
	const json_t *crvj = json_object_get(jwk, "crv");
	const struct curve *c;
	skr_buf x = SKR_BUF_INIT, y = SKR_BUF_INIT, pub = SKR_BUF_INIT;
	skr_buf d = SKR_BUF_INIT_SECRET;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *dbn = NULL;
	int r, has_d = 0;

	if (!json_is_string(crvj))
		return SKR_ERR_JWK_INVALID;
	if ((c = curve_by_crv(json_string_value(crvj))) == NULL)
		return SKR_ERR_JWK_UNSUPPORTED;
	if ((r = member_bytes(jwk, "x", &x, NULL)) != SKR_OK ||
	    (r = member_bytes(jwk, "y", &y, NULL)) != SKR_OK)
		goto out;
	/* RFC 7518 section 6.2.1.2: x and y are exactly the field length. */
	if (x.len != c->len || y.len != c->len) {
		r = SKR_ERR_JWK_INVALID;
		goto out;
	}
	if (want_private) {
		if ((r = member_bytes(jwk, "d", &d, &has_d)) != SKR_OK)
			goto out;
		if (has_d && d.len != c->len) {
			r = SKR_ERR_JWK_INVALID;
			goto out;
		}
	}
	if ((r = skr_buf_append_byte(&pub, 0x04)) != SKR_OK ||
	    (r = skr_buf_append(&pub, x.data, x.len)) != SKR_OK ||
	    (r = skr_buf_append(&pub, y.data, y.len)) != SKR_OK)
		goto out;
	r = SKR_ERR_NOMEM;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    c->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub.data, pub.len) != 1)
		goto out;
	if (has_d) {
		if ((dbn = BN_secure_new()) == NULL ||
		    BN_bin2bn(d.data, (int)d.len, dbn) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
		    dbn) != 1)
			goto out;
	}
	r = pkey_fromdata("EC", has_d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    bld, &k->pkey);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(dbn);
	skr_buf_free(&x);
	skr_buf_free(&y);
	skr_buf_free(&pub);
	skr_buf_free(&d);
	return r;
}

static int
parse_oct(const json_t *jwk, skr_key *k)
{
	skr_buf b = SKR_BUF_INIT_SECRET;
	int r;

	if ((r = member_bytes(jwk, "k", &b, NULL)) != SKR_OK)
		goto out;
	if (b.len != 16 && b.len != 24 && b.len != 32) {
		r = SKR_ERR_JWK_UNSUPPORTED;
		goto out;
	}
	memcpy(k->oct, b.data, b.len);
	k->octlen = b.len;
out:
	skr_buf_free(&b);
	return r;
}

static int
jwk_parse(const json_t *jwk, unsigned flags, skr_key **out)
{
	const json_t *ktyj, *kidj;
	skr_kty kty;
	skr_key *k = NULL;
	int r, want_private = !(flags & SKR_JWK_PUBLIC);

	*out = NULL;
	if (!json_is_object(jwk))
		return SKR_ERR_JWK_INVALID;
	ktyj = json_object_get(jwk, "kty");
	if (!json_is_string(ktyj))
		return SKR_ERR_JWK_INVALID;
	if ((kty = skr_kty_parse(json_string_value(ktyj))) == SKR_KTY_NONE)
		return SKR_ERR_JWK_UNSUPPORTED;
	/* A kid with an embedded NUL would be compared cut short. */
	kidj = json_object_get(jwk, "kid");
	if (kidj != NULL && (!json_is_string(kidj) ||
	    strlen(json_string_value(kidj)) != json_string_length(kidj)))
		return SKR_ERR_JWK_INVALID;
	if (kty == SKR_KTY_OCT && (flags & SKR_JWK_PUBLIC))
		return SKR_ERR_JWK_INVALID; /* an oct key has no public part */
	if ((k = key_new(kty)) == NULL)
		return SKR_ERR_NOMEM;
	switch (kty) {
	case SKR_KTY_RSA:
		r = parse_rsa(jwk, want_private, k);
		break;
	case SKR_KTY_EC:
		r = parse_ec(jwk, want_private, k);
		break;
	default:
		r = parse_oct(jwk, k);
		break;
	}
	if (r != SKR_OK)
		goto out;
	if ((flags & SKR_JWK_REQUIRE_PRIVATE) && !skr_key_has_private(k)) {
		r = SKR_ERR_KEY_NO_PRIVATE;
		goto out;
	}
	if (kidj != NULL &&
	    (r = skr_key_set_kid(k, json_string_value(kidj))) != SKR_OK)
		goto out;
	*out = k;
	k = NULL;
out:
	skr_key_free(k);
	return r;
}

int
skr_jwk_parse(const json_t *jwk, unsigned flags, skr_key **out)
{
	int r;

	ERR_BEGIN();
	r = jwk_parse(jwk, flags, out);
	ERR_END();
	return r;
}

int
skr_jwk_parse_text(const char *s, size_t n, unsigned flags, skr_key **out)
{
	json_t *v;
	int r;

	*out = NULL;
	if ((r = skr_json_parse(s, n, 0, &v)) != SKR_OK)
		return r == SKR_ERR_NOMEM ? r : SKR_ERR_JWK_INVALID;
	r = skr_jwk_parse(v, flags, out);
	json_decref(v);
	return r;
}

/* ---- emitting --------------------------------------------------------- */

static int
set_str(json_t *o, const char *name, const char *value)
{
	return json_object_set_new(o, name, json_string(value)) == 0 ?
	    SKR_OK : SKR_ERR_NOMEM;
}

/* Private members pass through here too: the text is wiped. */
static int
set_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	skr_buf b = SKR_BUF_INIT_SECRET;
	int r;

	if ((r = skr_b64url_encode(&b, p, n)) == SKR_OK &&
	    json_object_set_new(o, name, json_stringn((const char *)b.data,
	    b.len)) != 0)
		r = SKR_ERR_NOMEM;
	skr_buf_free(&b);
	return r;
}

/* A BN parameter as unpadded (pad 0) or fixed-width big-endian base64url. */
static int
set_bn(json_t *o, const char *name, EVP_PKEY *pkey, const char *param,
    size_t pad)
{
	BIGNUM *bn = NULL;
	skr_buf b = SKR_BUF_INIT_SECRET;
	size_t len;
	int r = SKR_ERR_CRYPTO;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	len = pad ? pad : (size_t)BN_num_bytes(bn);
	if (len == 0)
		len = 1;
	if ((r = skr_buf_reserve(&b, len)) != SKR_OK)
		goto out;
	if (BN_bn2binpad(bn, b.data, (int)len) < 0) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	b.len = len;
	r = set_b64(o, name, b.data, b.len);
out:
	BN_clear_free(bn);
	skr_buf_free(&b);
	return r;
}

static json_t *
jwk_emit(const skr_key *key, int with_private)
{
	const struct curve *c;
	json_t *o;
	int r;
	size_t i;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((r = set_str(o, "kty", skr_kty_name(key->kty, 0))) != SKR_OK ||
	    (key->kid != NULL && (r = set_str(o, "kid", key->kid)) != SKR_OK))
		goto out;
	switch (key->kty) {
	case SKR_KTY_RSA:
		/* Minimal big-endian octets (RFC 7518 section 6.3.1.1), so e
		 * is "AQAB" even for a key imported as "AAEAAQ". */
		if ((r = set_bn(o, "n", key->pkey, OSSL_PKEY_PARAM_RSA_N, 0)) ||
		    (r = set_bn(o, "e", key->pkey, OSSL_PKEY_PARAM_RSA_E, 0)))
			break;
		if (!with_private || !skr_key_has_private(key))
			break;
		if ((r = set_bn(o, "d", key->pkey, OSSL_PKEY_PARAM_RSA_D, 0)))
			break;
		for (i = 0; i < 5 && r == SKR_OK; i++)
			r = set_bn(o, rsa_crt_members[i], key->pkey,
			    rsa_crt_params[i], 0);
		break;
	case SKR_KTY_EC:
		/* x, y and d are the full field length (RFC 7518 section
		 * 6.2.1.2 and 6.2.2.1). */
		if ((c = curve_of(key->pkey)) == NULL) {
			r = SKR_ERR_INTERNAL;
			break;
		}
		if ((r = set_str(o, "crv", c->crv)) ||
		    (r = set_bn(o, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		    c->len)) ||
		    (r = set_bn(o, "y", key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
		    c->len)))
			break;
		if (with_private && skr_key_has_private(key))
			r = set_bn(o, "d", key->pkey, OSSL_PKEY_PARAM_PRIV_KEY,
			    c->len);
		break;
	case SKR_KTY_OCT:
		if (with_private)
			r = set_b64(o, "k", key->oct, key->octlen);
		break;
	default:
		r = SKR_ERR_INVAL;
	}
out:
	if (r != SKR_OK) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
skr_jwk_emit(const skr_key *key, int with_private)
{
	json_t *o;

	ERR_BEGIN();
	o = jwk_emit(key, with_private);
	ERR_END();
	return o;
}

/* RFC 7638 section 3.2: the required members of each key type, in
 * lexicographic order. */
static const char *const thumbprint_members[][5] = {
	[SKR_KTY_RSA] = { "e", "kty", "n", NULL },
	[SKR_KTY_EC] = { "crv", "kty", "x", "y", NULL },
	[SKR_KTY_OCT] = { "k", "kty", NULL },
};

static int
jwk_thumbprint(const skr_key *key, const EVP_MD *md, uint8_t *out,
    size_t *outlen)
{
	const char *const *m;
	json_t *jwk = NULL, *kv;
	skr_buf b = SKR_BUF_INIT_SECRET;
	unsigned int mdlen;
	int r = SKR_OK;

	if (md == NULL || key->kty <= SKR_KTY_NONE || key->kty > SKR_KTY_OCT)
		return SKR_ERR_INVAL;
	/* oct's only required member is the secret k. */
	if ((jwk = jwk_emit(key, key->kty == SKR_KTY_OCT)) == NULL)
		return SKR_ERR_NOMEM;
	/* No whitespace; every value is base64url or a fixed name, so none
	 * needs escaping. */
	for (m = thumbprint_members[key->kty]; *m != NULL && r == SKR_OK; m++)
		r = skr_buf_appendf(&b, "%c\"%s\":\"%s\"",
		    m == thumbprint_members[key->kty] ? '{' : ',', *m,
		    json_string_value(json_object_get(jwk, *m)));
	if (r != SKR_OK || (r = skr_buf_append_byte(&b, '}')) != SKR_OK)
		goto out;
	if (EVP_Digest(b.data, b.len, out, &mdlen, md, NULL) != 1) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	*outlen = mdlen;
out:
	/* jansson does not wipe: clear its copy of an oct key's k. */
	if ((kv = json_object_get(jwk, "k")) != NULL)
		skr_wipe((void *)json_string_value(kv), json_string_length(kv));
	json_decref(jwk);
	skr_buf_free(&b);
	return r;
}

int
skr_jwk_thumbprint(const skr_key *key, const EVP_MD *md, uint8_t *out,
    size_t *outlen)
{
	int r;

	ERR_BEGIN();
	r = jwk_thumbprint(key, md, out, outlen);
	ERR_END();
	return r;
}

/* ---- generation and byte forms ---------------------------------------- */

/* The sizes skr generates: Key Vault's RSA sizes, the JOSE curves, AES. */
static const struct gen_size {
	skr_kty kty;
	int bits;
} gen_sizes[] = {
	{ SKR_KTY_RSA, 2048 }, { SKR_KTY_RSA, 3072 }, { SKR_KTY_RSA, 4096 },
	{ SKR_KTY_EC, 256 }, { SKR_KTY_EC, 384 }, { SKR_KTY_EC, 521 },
	{ SKR_KTY_OCT, 128 }, { SKR_KTY_OCT, 192 }, { SKR_KTY_OCT, 256 },
};

static int
key_generate(skr_kty kty, int bits, skr_key **out)
{
	const struct curve *c = NULL;
	EVP_PKEY *pkey = NULL;
	skr_key *k = NULL;
	size_t i;
	int r, ok = 0;

	*out = NULL;
	for (i = 0; i < sizeof(gen_sizes) / sizeof(gen_sizes[0]); i++)
		ok |= gen_sizes[i].kty == kty && gen_sizes[i].bits == bits;
	if (!ok)
		return SKR_ERR_JWK_UNSUPPORTED;
	switch (kty) {
	case SKR_KTY_RSA:
		/* OpenSSL's default public exponent is 65537. */
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case SKR_KTY_EC:
		for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (curves[i].bits == bits)
				c = &curves[i];
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->group);
		break;
	default:
		if ((k = key_new(kty)) == NULL)
			return SKR_ERR_NOMEM;
		k->octlen = (size_t)bits / 8;
		/* The private DRBG, kept apart from public randomness. */
		if (RAND_priv_bytes(k->oct, (int)k->octlen) != 1) {
			skr_key_free(k);
			return SKR_ERR_CRYPTO;
		}
		*out = k;
		return SKR_OK;
	}
	if (pkey == NULL)
		return SKR_ERR_CRYPTO;
	r = key_from_pkey(pkey, out);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_key_generate(skr_kty kty, int bits, skr_key **out)
{
	int r;

	ERR_BEGIN();
	r = key_generate(kty, bits, out);
	ERR_END();
	return r;
}

static int
private_bytes(const skr_key *key, skr_buf *out)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int len, r;

	/* The one door private material leaves keys/ by: only into memory
	 * that is wiped when released. */
	if (!out->secret)
		return SKR_ERR_INVAL;
	if (!skr_key_has_private(key))
		return SKR_ERR_KEY_NO_PRIVATE;
	if (key->kty == SKR_KTY_OCT)
		return skr_buf_append(out, key->oct, key->octlen);
	if ((p8 = EVP_PKEY2PKCS8(key->pkey)) == NULL)
		return SKR_ERR_CRYPTO;
	len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (len <= 0)
		return SKR_ERR_CRYPTO;
	r = skr_buf_append(out, der, (size_t)len);
	OPENSSL_clear_free(der, (size_t)len);
	return r;
}

int
skr_key_private_bytes(const skr_key *key, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = private_bytes(key, out);
	ERR_END();
	return r;
}

static int
oct_from_bytes(const uint8_t *p, size_t n, skr_key **out)
{
	skr_key *k;

	if (n != 16 && n != 24 && n != 32)
		return SKR_ERR_JWK_UNSUPPORTED;
	if ((k = key_new(SKR_KTY_OCT)) == NULL)
		return SKR_ERR_NOMEM;
	memcpy(k->oct, p, n);
	k->octlen = n;
	*out = k;
	return SKR_OK;
}

static int
key_from_private_bytes(skr_kty kty, const uint8_t *p, size_t n,
    skr_key **out)
{
	const unsigned char *q = p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	skr_kty got;
	int r = SKR_ERR_JWK_INVALID;

	*out = NULL;
	if (p == NULL && n != 0)
		return SKR_ERR_INVAL;
	if (kty == SKR_KTY_OCT)
		return oct_from_bytes(p, n, out);
	if (kty != SKR_KTY_RSA && kty != SKR_KTY_EC)
		return SKR_ERR_JWK_UNSUPPORTED;
	if (n == 0)
		return SKR_ERR_JWK_INVALID;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)n)) == NULL)
		goto out;
	if (q != p + n) /* trailing bytes */
		goto out;
	if ((pkey = EVP_PKCS82PKEY(p8)) == NULL)
		goto out;
	if ((r = pkey_acceptable(pkey, &got)) != SKR_OK)
		goto out;
	/* The stored kty and the DER must agree: a mismatch is corruption
	 * or a substituted blob, never something to guess around. */
	if (got != kty || !pkey_has_private(pkey)) {
		r = SKR_ERR_JWK_INVALID;
		goto out;
	}
	r = key_from_pkey(pkey, out);
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_key_from_private_bytes(skr_kty kty, const uint8_t *p, size_t n,
    skr_key **out)
{
	int r;

	ERR_BEGIN();
	r = key_from_private_bytes(kty, p, n, out);
	ERR_END();
	return r;
}

static int
key_to_pem(const skr_key *key, int with_private, skr_buf *out)
{
	BIO *bio;
	BUF_MEM *mem;
	int ok, r;

	if (key->kty != SKR_KTY_RSA && key->kty != SKR_KTY_EC)
		return SKR_ERR_INVAL;
	if (with_private && !skr_key_has_private(key))
		return SKR_ERR_KEY_NO_PRIVATE;
	/* The secure-heap BIO keeps the private PEM out of ordinary heap. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return SKR_ERR_NOMEM;
	if (with_private)
		ok = PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0,
		    NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, key->pkey);
	if (ok != 1 || BIO_get_mem_ptr(bio, &mem) != 1) {
		BIO_free(bio);
		return SKR_ERR_CRYPTO;
	}
	r = skr_buf_append(out, mem->data, mem->length);
	BIO_free(bio);
	return r;
}

int
skr_key_to_pem(const skr_key *key, int with_private, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = key_to_pem(key, with_private, out);
	ERR_END();
	return r;
}

/* Never prompt: OpenSSL's default passphrase callback reads the terminal,
 * which would block a daemon on an encrypted PEM.  Refuse it instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int
key_from_pem(const char *pem, size_t n, skr_key **out)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int r;

	*out = NULL;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return SKR_ERR_NOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL) {
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
			return SKR_ERR_NOMEM;
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	}
	BIO_free(bio);
	if (pkey == NULL)
		return SKR_ERR_JWK_INVALID;
	r = key_from_pkey(pkey, out);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_key_from_pem(const char *pem, size_t n, skr_key **out)
{
	int r;

	ERR_BEGIN();
	r = key_from_pem(pem, n, out);
	ERR_END();
	return r;
}

static int
key_from_x509(X509 *x, skr_key **out)
{
	EVP_PKEY *pkey;

	/* NULL for a key algorithm OpenSSL cannot decode. */
	if ((pkey = X509_get0_pubkey(x)) == NULL)
		return SKR_ERR_JWK_UNSUPPORTED;
	return key_from_pkey(pkey, out);
}

int
skr_key_from_x509_der(const uint8_t *der, size_t n, skr_key **out)
{
	const unsigned char *q = der;
	X509 *x = NULL;
	int r = SKR_ERR_JWK_INVALID;

	*out = NULL;
	if (der == NULL || n == 0)
		return SKR_ERR_JWK_INVALID;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	ERR_BEGIN();
	/* Exactly one certificate: trailing bytes are refused. */
	if ((x = d2i_X509(NULL, &q, (long)n)) == NULL || q != der + n)
		goto out;
	r = key_from_x509(x, out);
out:
	X509_free(x);
	ERR_END();
	return r;
}

int
skr_key_from_x509_pem(const char *pem, size_t n, skr_key **out)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	int r = SKR_ERR_JWK_INVALID;

	*out = NULL;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	ERR_BEGIN();
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) == NULL)
		goto out;
	r = key_from_x509(x, out);
out:
	X509_free(x);
	BIO_free(bio);
	ERR_END();
	return r;
}

int
skr_key_public_spki_der(const skr_key *key, skr_buf *out)
{
	unsigned char *der = NULL;
	int len, r;

	if (key->kty != SKR_KTY_RSA && key->kty != SKR_KTY_EC)
		return SKR_ERR_INVAL;
	ERR_BEGIN();
	/* i2d_PUBKEY writes only the public part of a private key. */
	if ((len = i2d_PUBKEY(key->pkey, &der)) <= 0)
		r = SKR_ERR_CRYPTO;
	else
		r = skr_buf_append(out, der, (size_t)len);
	OPENSSL_free(der);
	ERR_END();
	return r;
}

/* ---- accessors -------------------------------------------------------- */

skr_kty
skr_key_kty(const skr_key *key)
{
	return key->kty;
}

int
skr_key_bits(const skr_key *key)
{
	const struct curve *c;

	switch (key->kty) {
	case SKR_KTY_RSA:
		return EVP_PKEY_get_bits(key->pkey);
	case SKR_KTY_EC:
		ERR_BEGIN();
		c = curve_of(key->pkey);
		ERR_END();
		return c != NULL ? c->bits : 0;
	case SKR_KTY_OCT:
		return (int)key->octlen * 8;
	default:
		return 0;
	}
}

const char *
skr_key_crv(const skr_key *key)
{
	const struct curve *c;

	if (key->kty != SKR_KTY_EC)
		return NULL;
	ERR_BEGIN();
	c = curve_of(key->pkey);
	ERR_END();
	return c != NULL ? c->crv : NULL;
}

int
skr_key_has_private(const skr_key *key)
{
	int has;

	switch (key->kty) {
	case SKR_KTY_OCT:
		return key->octlen > 0;
	case SKR_KTY_RSA:
	case SKR_KTY_EC:
		ERR_BEGIN();
		has = pkey_has_private(key->pkey);
		ERR_END();
		return has;
	default:
		return 0;
	}
}

EVP_PKEY *
skr_key_pkey(const skr_key *key)
{
	return key->pkey;
}

const char *
skr_key_kid(const skr_key *key)
{
	return key->kid;
}

int
skr_key_set_kid(skr_key *key, const char *kid)
{
	char *dup = NULL;

	if (kid != NULL && (dup = strdup(kid)) == NULL)
		return SKR_ERR_NOMEM;
	free(key->kid);
	key->kid = dup;
	return SKR_OK;
}

int
skr_key_public_equal(const skr_key *a, const skr_key *b)
{
	int eq;

	if (a->kty != b->kty)
		return 0;
	if (a->kty == SKR_KTY_OCT)
		return a->octlen == b->octlen &&
		    skr_ct_equal(a->oct, b->oct, a->octlen);
	ERR_BEGIN();
	eq = EVP_PKEY_eq(a->pkey, b->pkey) == 1;
	ERR_END();
	return eq;
}

/*
 * A certificate issued for signing releases carries the release-signing
 * extended key usage and, when it limits its key's usage, allows digital
 * signatures.  Anything else a CA issued -- the TLS server's certificate
 * above all, whose key a TLS-terminating proxy holds -- does not speak for
 * releases.
 */
int
skr_cert_is_release_signing(const void *cert)
{
	X509 *leaf = (X509 *)cert;
	EXTENDED_KEY_USAGE *eku;
	ASN1_OBJECT *want;
	uint32_t ku = X509_get_key_usage(leaf);
	int i, found = 0;

	if (ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE) == 0)
		return 0;
	if ((want = OBJ_txt2obj(SKR_OID_RELEASE_SIGNING, 1)) == NULL)
		return 0;
	if ((eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, NULL,
	    NULL)) != NULL) {
		for (i = 0; i < sk_ASN1_OBJECT_num(eku) && !found; i++)
			found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i),
			    want) == 0;
		EXTENDED_KEY_USAGE_free(eku);
	}
	ASN1_OBJECT_free(want);
	ERR_clear_error();
	return found;
}

int
skr_jwk_json_encrypts(const json_t *jwk)
{
	const json_t *use = json_object_get(jwk, "use");
	const json_t *ops = json_object_get(jwk, "key_ops"), *op;
	size_t i;

	if (json_is_string(use) && strcmp(json_string_value(use), "enc") == 0)
		return 1;
	json_array_foreach(ops, i, op) {
		if (json_is_string(op) &&
		    strcmp(json_string_value(op), "encrypt") == 0)
			return 1;
	}
	return 0;
}
