#include "jwk.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "encoding.h"
#include "json.h"
#include "seal.h"
#include "skr/error.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384
#define OCT_MAX_LEN 32

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

skr_kty
skr_kty_parse(const char *s)
{
	if (s == NULL)
		return SKR_KTY_NONE;
	if (strcmp(s, "RSA") == 0 || strcmp(s, "RSA-HSM") == 0)
		return SKR_KTY_RSA;
	if (strcmp(s, "EC") == 0 || strcmp(s, "EC-HSM") == 0)
		return SKR_KTY_EC;
	if (strcmp(s, "oct") == 0 || strcmp(s, "oct-HSM") == 0)
		return SKR_KTY_OCT;
	return SKR_KTY_NONE;
}

const char *
skr_kty_name(skr_kty kty, int hsm)
{
	switch (kty) {
	case SKR_KTY_RSA:
		return hsm ? "RSA-HSM" : "RSA";
	case SKR_KTY_EC:
		return hsm ? "EC-HSM" : "EC";
	case SKR_KTY_OCT:
		return hsm ? "oct-HSM" : "oct";
	default:
		return "none";
	}
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

int
skr_key_from_pkey(EVP_PKEY *pkey, skr_key **out)
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
	if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 64) {
		r = SKR_ERR_JWK_INVALID;
		goto out;
	}
	if (want_private) {
		if ((r = member_bn(jwk, "d", 1, &d, &has_d)) != SKR_OK)
			goto out;
		for (i = 0; i < 5; i++) {
			r = member_bn(jwk, rsa_crt_members[i], 1, &crt[i],
			    &has_crt[i]);
			if (r != SKR_OK)
				goto out;
			ncrt += has_crt[i];
		}
		/* OpenSSL needs the CRT parameters to be fast and Key Vault
		 * always emits them; a partial set is a malformed key. */
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

int
skr_jwk_parse(const json_t *jwk, unsigned flags, skr_key **out)
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
	kidj = json_object_get(jwk, "kid");
	if (kidj != NULL && !json_is_string(kidj))
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
set_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	skr_buf b = SKR_BUF_INIT;
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

json_t *
skr_jwk_emit(const skr_key *key, int with_private)
{
	const struct curve *c;
	json_t *o;
	int r = SKR_OK;
	size_t i;

	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "kty", json_string(skr_kty_name(key->kty, 0)));
	if (key->kid != NULL)
		json_object_set_new(o, "kid", json_string(key->kid));
	switch (key->kty) {
	case SKR_KTY_RSA:
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
		c = curve_of(key->pkey);
		json_object_set_new(o, "crv", json_string(c->crv));
		if ((r = set_bn(o, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X,
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
	if (r != SKR_OK) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
skr_jwk_thumbprint(const skr_key *key, const EVP_MD *md, uint8_t *out,
    size_t *outlen)
{
	json_t *jwk = NULL;
	skr_buf b = SKR_BUF_INIT_SECRET;
	unsigned int mdlen;
	int r;

	/* RFC 7638 section 3.2: the required members only, in
	 * lexicographic order, no whitespace.  All values are base64url or
	 * fixed names, so no escaping is needed. */
	if ((jwk = skr_jwk_emit(key, key->kty == SKR_KTY_OCT)) == NULL)
		return SKR_ERR_NOMEM;
#define M(name) json_string_value(json_object_get(jwk, name))
	switch (key->kty) {
	case SKR_KTY_RSA:
		r = skr_buf_appendf(&b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    M("e"), M("n"));
		break;
	case SKR_KTY_EC:
		r = skr_buf_appendf(&b,
		    "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    M("crv"), M("x"), M("y"));
		break;
	default:
		r = skr_buf_appendf(&b, "{\"k\":\"%s\",\"kty\":\"oct\"}", M("k"));
		break;
	}
#undef M
	if (r != SKR_OK)
		goto out;
	if (EVP_Digest(b.data, b.len, out, &mdlen, md, NULL) != 1) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	*outlen = mdlen;
out:
	/* The oct JWK held k: wipe jansson's copy of it. */
	if (key->kty == SKR_KTY_OCT && json_object_get(jwk, "k") != NULL) {
		json_t *kv = json_object_get(jwk, "k");
		skr_wipe((void *)json_string_value(kv), json_string_length(kv));
	}
	json_decref(jwk);
	skr_buf_free(&b);
	return r;
}

/* ---- generation and byte forms ---------------------------------------- */

int
skr_key_generate(skr_kty kty, int bits, skr_key **out)
{
	const struct curve *c = NULL;
	EVP_PKEY *pkey = NULL;
	skr_key *k;
	int r;

	*out = NULL;
	switch (kty) {
	case SKR_KTY_RSA:
		if (bits != 2048 && bits != 3072 && bits != 4096)
			return SKR_ERR_JWK_UNSUPPORTED;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case SKR_KTY_EC:
		for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (curves[i].bits == bits)
				c = &curves[i];
		if (c == NULL)
			return SKR_ERR_JWK_UNSUPPORTED;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->group);
		break;
	case SKR_KTY_OCT:
		if (bits != 128 && bits != 192 && bits != 256)
			return SKR_ERR_JWK_UNSUPPORTED;
		if ((k = key_new(kty)) == NULL)
			return SKR_ERR_NOMEM;
		k->octlen = (size_t)bits / 8;
		if ((r = skr_random(k->oct, k->octlen)) != SKR_OK) {
			skr_key_free(k);
			return r;
		}
		*out = k;
		return SKR_OK;
	default:
		return SKR_ERR_JWK_UNSUPPORTED;
	}
	if (pkey == NULL)
		return SKR_ERR_CRYPTO;
	r = skr_key_from_pkey(pkey, out);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_key_private_bytes(const skr_key *key, skr_buf *out)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int len, r;

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
skr_key_from_private_bytes(skr_kty kty, const uint8_t *p, size_t n,
    skr_key **out)
{
	const unsigned char *q = p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	skr_kty got;
	skr_key *k;
	int r = SKR_ERR_JWK_INVALID;

	*out = NULL;
	if (kty == SKR_KTY_OCT) {
		if (n != 16 && n != 24 && n != 32)
			return SKR_ERR_JWK_UNSUPPORTED;
		if ((k = key_new(kty)) == NULL)
			return SKR_ERR_NOMEM;
		memcpy(k->oct, p, n);
		k->octlen = n;
		*out = k;
		return SKR_OK;
	}
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
	if (got != kty) {
		r = SKR_ERR_JWK_INVALID;
		goto out;
	}
	r = skr_key_from_pkey(pkey, out);
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_key_to_pem(const skr_key *key, int with_private, skr_buf *out)
{
	BIO *bio;
	BUF_MEM *mem;
	int ok, r;

	if (key->kty == SKR_KTY_OCT)
		return SKR_ERR_INVAL;
	if (with_private && !skr_key_has_private(key))
		return SKR_ERR_KEY_NO_PRIVATE;
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
skr_key_from_pem(const char *pem, size_t n, skr_key **out)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int r;

	*out = NULL;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return SKR_ERR_NOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pkey == NULL) {
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
			return SKR_ERR_NOMEM;
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	if (pkey == NULL)
		return SKR_ERR_JWK_INVALID;
	r = skr_key_from_pkey(pkey, out);
	EVP_PKEY_free(pkey);
	return r;
}

int
skr_key_from_x509_der(const uint8_t *der, size_t n, skr_key **out)
{
	const unsigned char *q = der;
	EVP_PKEY *pkey;
	X509 *x;
	int r;

	*out = NULL;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	if ((x = d2i_X509(NULL, &q, (long)n)) == NULL || q != der + n) {
		X509_free(x);
		return SKR_ERR_JWK_INVALID;
	}
	pkey = X509_get0_pubkey(x);
	r = pkey == NULL ? SKR_ERR_JWK_INVALID : skr_key_from_pkey(pkey, out);
	X509_free(x);
	return r;
}

int
skr_key_from_x509_pem(const char *pem, size_t n, skr_key **out)
{
	EVP_PKEY *pkey;
	BIO *bio;
	X509 *x;
	int r;

	*out = NULL;
	if (n > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return SKR_ERR_NOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL)
		return SKR_ERR_JWK_INVALID;
	pkey = X509_get0_pubkey(x);
	r = pkey == NULL ? SKR_ERR_JWK_INVALID : skr_key_from_pkey(pkey, out);
	X509_free(x);
	return r;
}

int
skr_key_public_spki_der(const skr_key *key, skr_buf *out)
{
	unsigned char *der = NULL;
	int len, r;

	if (key->kty == SKR_KTY_OCT)
		return SKR_ERR_INVAL;
	if ((len = i2d_PUBKEY(key->pkey, &der)) <= 0)
		return SKR_ERR_CRYPTO;
	r = skr_buf_append(out, der, (size_t)len);
	OPENSSL_free(der);
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
		c = curve_of(key->pkey);
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
	c = curve_of(key->pkey);
	return c != NULL ? c->crv : NULL;
}

int
skr_key_has_private(const skr_key *key)
{
	BIGNUM *bn = NULL;
	int has;

	switch (key->kty) {
	case SKR_KTY_OCT:
		return key->octlen > 0;
	case SKR_KTY_RSA:
		has = EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_D,
		    &bn) == 1;
		break;
	case SKR_KTY_EC:
		has = EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_PRIV_KEY,
		    &bn) == 1;
		break;
	default:
		return 0;
	}
	BN_clear_free(bn);
	return has;
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
	if (a->kty != b->kty)
		return 0;
	if (a->kty == SKR_KTY_OCT)
		return a->octlen == b->octlen &&
		    skr_ct_equal(a->oct, b->oct, a->octlen);
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}
