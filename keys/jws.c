#include "jws.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "encoding.h"
#include "json.h"
#include "opcache.h"
#include "skr/error.h"

static const struct alg_info {
	skr_alg alg;
	const char *name;
	skr_kty kty;
	int pss;
	int ec_bits; /* ES: the curve */
	const char *md;
} algs[] = {
	{ SKR_ALG_RS256, "RS256", SKR_KTY_RSA, 0, 0, "SHA256" },
	{ SKR_ALG_RS384, "RS384", SKR_KTY_RSA, 0, 0, "SHA384" },
	{ SKR_ALG_RS512, "RS512", SKR_KTY_RSA, 0, 0, "SHA512" },
	{ SKR_ALG_PS256, "PS256", SKR_KTY_RSA, 1, 0, "SHA256" },
	{ SKR_ALG_PS384, "PS384", SKR_KTY_RSA, 1, 0, "SHA384" },
	{ SKR_ALG_PS512, "PS512", SKR_KTY_RSA, 1, 0, "SHA512" },
	{ SKR_ALG_ES256, "ES256", SKR_KTY_EC, 0, 256, "SHA256" },
	{ SKR_ALG_ES384, "ES384", SKR_KTY_EC, 0, 384, "SHA384" },
	{ SKR_ALG_ES512, "ES512", SKR_KTY_EC, 0, 521, "SHA512" },
};

static const struct alg_info *
alg_info(skr_alg alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

int
skr_alg_parse(const char *s, skr_alg *out)
{
	*out = SKR_ALG_INVALID;
	if (s == NULL)
		return SKR_ERR_JWS_ALG;
	/* Exact, case-sensitive names only (RFC 7518 section 3.1): "none"
	 * and the HMAC algorithms have no entry, so they can never reach a
	 * verifier that would treat a public key as an HMAC secret. */
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, s) == 0) {
			*out = algs[i].alg;
			return SKR_OK;
		}
	return SKR_ERR_JWS_ALG;
}

const char *
skr_alg_name(skr_alg alg)
{
	const struct alg_info *a = alg_info(alg);

	return a != NULL ? a->name : "invalid";
}

/* EC field size in bits of pkey, or 0. */
static int
ec_bits(EVP_PKEY *pkey)
{
	char group[64];
	size_t len;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &len) != 1)
		return 0;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return 256;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return 384;
	if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
		return 521;
	return 0;
}

int
skr_alg_fits_key(skr_alg alg, EVP_PKEY *pkey)
{
	const struct alg_info *a = alg_info(alg);

	if (a == NULL || pkey == NULL)
		return 0;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return a->kty == SKR_KTY_RSA && EVP_PKEY_get_bits(pkey) >= 2048;
	case EVP_PKEY_EC:
		return a->kty == SKR_KTY_EC && ec_bits(pkey) == a->ec_bits;
	default:
		return 0;
	}
}

static size_t
ec_len(int bits)
{
	return ((size_t)bits + 7) / 8;
}

void
skr_jws_clear(skr_jws *jws)
{
	json_decref(jws->header);
	json_decref(jws->payload);
	skr_buf_free(&jws->payload_raw);
	skr_buf_free(&jws->signature);
	free(jws->signing_input);
	memset(jws, 0, sizeof(*jws));
}

static int
jws_parse(const char *compact, size_t n, size_t max, int json_payload,
    skr_jws *out)
{
	const char *d1, *d2, *end = compact + n;
	skr_buf hdr = SKR_BUF_INIT;
	const json_t *alg;
	int r;

	memset(out, 0, sizeof(*out));
	skr_buf_init(&out->payload_raw, 0);
	skr_buf_init(&out->signature, 0);
	if (max > 0 && n > max)
		return SKR_ERR_TOO_LARGE;
	if (compact == NULL || n == 0)
		return SKR_ERR_JWS_MALFORMED;
	d1 = memchr(compact, '.', n);
	d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
	/* Exactly three parts; the header is never empty. */
	if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.',
	    (size_t)(end - d2 - 1)) != NULL || d1 == compact) {
		r = SKR_ERR_JWS_MALFORMED;
		goto out;
	}
	if (skr_b64url_decode(&hdr, compact, (size_t)(d1 - compact)) != SKR_OK) {
		r = SKR_ERR_JWS_MALFORMED;
		goto out;
	}
	if ((r = skr_json_parse((const char *)hdr.data, hdr.len, 8,
	    &out->header)) != SKR_OK) {
		if (r == SKR_ERR_JSON)
			r = SKR_ERR_JWS_MALFORMED;
		goto out;
	}
	if (!json_is_object(out->header)) {
		r = SKR_ERR_JWS_MALFORMED;
		goto out;
	}
	alg = json_object_get(out->header, "alg");
	if (!json_is_string(alg)) {
		r = SKR_ERR_JWS_MALFORMED;
		goto out;
	}
	/* The algorithm is judged before the signature is even looked at,
	 * so an unsigned "alg":"none" token is reported as what it is. */
	if ((r = skr_alg_parse(json_string_value(alg), &out->alg)) != SKR_OK)
		goto out;
	if (d2 + 1 == end ||
	    skr_b64url_decode(&out->payload_raw, d1 + 1,
	    (size_t)(d2 - d1 - 1)) != SKR_OK ||
	    skr_b64url_decode(&out->signature, d2 + 1,
	    (size_t)(end - d2 - 1)) != SKR_OK) {
		r = SKR_ERR_JWS_MALFORMED;
		goto out;
	}
	if (json_payload && out->payload_raw.len > 0 &&
	    out->payload_raw.data[0] == '{') {
		if ((r = skr_json_parse((const char *)out->payload_raw.data,
		    out->payload_raw.len, 0, &out->payload)) != SKR_OK)
			goto out;
	}
	out->signing_len = (size_t)(d2 - compact);
	if ((out->signing_input = malloc(out->signing_len + 1)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	memcpy(out->signing_input, compact, out->signing_len);
	out->signing_input[out->signing_len] = '\0';
	r = SKR_OK;
out:
	skr_buf_free(&hdr);
	if (r != SKR_OK)
		skr_jws_clear(out);
	return r;
}

int
skr_jws_parse(const char *compact, size_t n, size_t max, skr_jws *out)
{
	return jws_parse(compact, n, max, 1, out);
}

int
skr_jws_parse_raw(const char *compact, size_t n, size_t max, skr_jws *out)
{
	return jws_parse(compact, n, max, 0, out);
}

/* JOSE r||s (RFC 7518 section 3.4) to DER for OpenSSL. */
static int
ec_jose_to_der(const uint8_t *sig, size_t n, size_t len, skr_buf *der)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int dlen, rc = SKR_ERR_JWS_SIGNATURE;

	if (n != 2 * len)
		return SKR_ERR_JWS_SIGNATURE;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)len, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + len, (int)len, NULL)) == NULL) {
		rc = SKR_ERR_NOMEM;
		goto out;
	}
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((dlen = i2d_ECDSA_SIG(es, &p)) <= 0)
		goto out;
	rc = skr_buf_append(der, p, (size_t)dlen);
out:
	OPENSSL_free(p);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

static int
ec_der_to_jose(const uint8_t *der, size_t n, size_t len, skr_buf *out)
{
	const unsigned char *q = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	int rc = SKR_ERR_CRYPTO;

	if ((es = d2i_ECDSA_SIG(NULL, &q, (long)n)) == NULL)
		return SKR_ERR_CRYPTO;
	ECDSA_SIG_get0(es, &r, &s);
	if ((rc = skr_buf_reserve(out, 2 * len)) != SKR_OK)
		goto out;
	if (BN_bn2binpad(r, out->data + out->len, (int)len) < 0 ||
	    BN_bn2binpad(s, out->data + out->len + len, (int)len) < 0) {
		rc = SKR_ERR_CRYPTO;
		goto out;
	}
	out->len += 2 * len;
	out->data[out->len] = '\0';
	rc = SKR_OK;
out:
	ECDSA_SIG_free(es);
	return rc;
}

static int
digest_init(EVP_MD_CTX *md, const struct alg_info *a, EVP_PKEY *pkey,
    int sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = sign ? EVP_DigestSignInit_ex(md, &pctx, a->md, NULL, NULL, pkey,
	    NULL) : EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, pkey,
	    NULL);
	if (ok != 1)
		return SKR_ERR_CRYPTO;
	if (a->kty == SKR_KTY_RSA) {
		/* RFC 7518 section 3.5: PSS salt length equals the hash
		 * length, MGF1 with the same hash. */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, a->pss ?
		    RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1)
			return SKR_ERR_CRYPTO;
		if (a->pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a->md, NULL) != 1))
			return SKR_ERR_CRYPTO;
	}
	return SKR_OK;
}

/* The operation keys/opcache keeps a template of: alg, and sign or not. */
#define JWS_OP(alg, sign) (SKR_OPCACHE_JWS | ((sign) << 8) | (int)(alg))

static int
md_init(EVP_MD_CTX *md, EVP_PKEY *pkey, int op)
{
	const struct alg_info *a = alg_info((skr_alg)(op & 0xff));

	return a != NULL && digest_init(md, a, pkey, (op >> 8) & 1) == SKR_OK;
}

static int
jws_verify(const skr_jws *jws, EVP_PKEY *pkey, unsigned allowed)
{
	const struct alg_info *a = alg_info(jws->alg);
	skr_buf der = SKR_BUF_INIT;
	const uint8_t *sig = jws->signature.data;
	size_t siglen = jws->signature.len;
	EVP_MD_CTX *md = NULL;
	int r;

	/* The key, chosen by the caller, decides the algorithm family; the
	 * token only picks among the algorithms that key supports. */
	if (a == NULL || !skr_alg_fits_key(jws->alg, pkey))
		return SKR_ERR_JWS_ALG;
	if (allowed != 0 && !(allowed & SKR_ALG_BIT(jws->alg)))
		return SKR_ERR_JWS_ALG;
	/* RFC 7515 section 4.1.11: a JWS whose "crit" names an extension
	 * the recipient does not implement is invalid, and skr implements
	 * none. */
	if (jws->header == NULL || json_object_get(jws->header, "crit") != NULL)
		return SKR_ERR_JWS_MALFORMED;
	if (jws->signing_input == NULL)
		return SKR_ERR_JWS_MALFORMED;
	if (a->kty == SKR_KTY_EC) {
		if ((r = ec_jose_to_der(sig, siglen, ec_len(a->ec_bits),
		    &der)) != SKR_OK)
			goto out;
		sig = der.data;
		siglen = der.len;
	} else if (siglen != (size_t)EVP_PKEY_get_size(pkey)) {
		r = SKR_ERR_JWS_SIGNATURE;
		goto out;
	}
	if ((md = skr_opcache_md(pkey, JWS_OP(jws->alg, 0), md_init)) ==
	    NULL) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	r = EVP_DigestVerify(md, sig, siglen,
	    (const unsigned char *)jws->signing_input, jws->signing_len) == 1 ?
	    SKR_OK : SKR_ERR_JWS_SIGNATURE;
out:
	EVP_MD_CTX_free(md);
	skr_buf_free(&der);
	return r;
}

/*
 * Failed verifications and signings leave errors on the thread's OpenSSL
 * queue, where a later SSL_get_error() on the same thread would read them
 * as its own: the entry points pop back to a mark taken on entry.
 */
int
skr_jws_verify(const skr_jws *jws, EVP_PKEY *pkey, unsigned allowed)
{
	int r;

	ERR_set_mark();
	r = jws_verify(jws, pkey, allowed);
	ERR_pop_to_mark();
	return r;
}

static int
header_encode(skr_alg alg, const json_t *extra_header, skr_buf *out)
{
	const struct alg_info *a = alg_info(alg);
	json_t *hdr = NULL;
	char *hdrtext = NULL;
	int r;

	if (a == NULL)
		return SKR_ERR_JWS_ALG;
	if ((hdr = json_object()) == NULL ||
	    json_object_set_new(hdr, "alg", json_string(a->name)) != 0) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (extra_header != NULL) {
		const char *k;
		json_t *v;

		/* Copies, not references: taking a reference writes the
		 * member's reference count, and skrd signs on many threads
		 * with one shared header. */
		json_object_foreach((json_t *)extra_header, k, v) {
			if (strcmp(k, "alg") == 0)
				continue;
			if (json_object_set_new(hdr, k, json_deep_copy(v)) !=
			    0) {
				r = SKR_ERR_NOMEM;
				goto out;
			}
		}
	}
	if ((hdrtext = json_dumps(hdr, JSON_COMPACT)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	r = skr_b64url_encode(out, (const uint8_t *)hdrtext, strlen(hdrtext));
out:
	free(hdrtext);
	json_decref(hdr);
	return r;
}

static int
jws_sign_encoded(EVP_PKEY *pkey, skr_alg alg, const char *hdr, size_t hlen,
    const uint8_t *payload, size_t n, skr_buf *out)
{
	const struct alg_info *a = alg_info(alg);
	skr_buf sig = SKR_BUF_INIT;
	EVP_MD_CTX *md = NULL;
	size_t siglen, start = out->len;
	int r;

	if (a == NULL || !skr_alg_fits_key(alg, pkey))
		return SKR_ERR_JWS_ALG;
	if ((payload == NULL && n > 0) || hdr == NULL || hlen == 0)
		return SKR_ERR_INVAL;
	/* The signing input is built where the compact form goes. */
	if ((r = skr_buf_append(out, hdr, hlen)) != SKR_OK ||
	    (r = skr_buf_append_byte(out, '.')) != SKR_OK ||
	    (r = skr_b64url_encode(out, payload, n)) != SKR_OK)
		goto out;
	if ((md = skr_opcache_md(pkey, JWS_OP(alg, 1), md_init)) == NULL) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	if (EVP_DigestSign(md, NULL, &siglen, out->data + start,
	    out->len - start) != 1 ||
	    (r = skr_buf_reserve(&sig, siglen)) != SKR_OK ||
	    EVP_DigestSign(md, sig.data, &siglen, out->data + start,
	    out->len - start) != 1) {
		r = r != SKR_OK ? r : SKR_ERR_CRYPTO;
		goto out;
	}
	sig.len = siglen;
	if (a->kty == SKR_KTY_EC) {
		skr_buf jose = SKR_BUF_INIT;

		r = ec_der_to_jose(sig.data, sig.len, ec_len(a->ec_bits), &jose);
		skr_buf_free(&sig);
		sig = jose;
		if (r != SKR_OK)
			goto out;
	}
	if ((r = skr_buf_append_byte(out, '.')) != SKR_OK)
		goto out;
	r = skr_b64url_encode(out, sig.data, sig.len);
out:
	if (r != SKR_OK && out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
	EVP_MD_CTX_free(md);
	skr_buf_free(&sig);
	return r;
}

static int
jws_sign(EVP_PKEY *pkey, skr_alg alg, const json_t *extra_header,
    const uint8_t *payload, size_t n, skr_buf *out)
{
	skr_buf hdr = SKR_BUF_INIT;
	int r;

	if (alg_info(alg) == NULL || !skr_alg_fits_key(alg, pkey))
		return SKR_ERR_JWS_ALG;
	if ((r = header_encode(alg, extra_header, &hdr)) == SKR_OK)
		r = jws_sign_encoded(pkey, alg, (const char *)hdr.data,
		    hdr.len, payload, n, out);
	skr_buf_free(&hdr);
	return r;
}

int
skr_jws_header_encode(skr_alg alg, const json_t *extra_header, skr_buf *out)
{
	return header_encode(alg, extra_header, out);
}

int
skr_jws_sign_encoded(EVP_PKEY *pkey, skr_alg alg, const char *hdr,
    size_t hlen, const uint8_t *payload, size_t n, skr_buf *out)
{
	int r;

	ERR_set_mark();
	r = jws_sign_encoded(pkey, alg, hdr, hlen, payload, n, out);
	ERR_pop_to_mark();
	return r;
}

int
skr_jws_sign(EVP_PKEY *pkey, skr_alg alg, const json_t *extra_header,
    const uint8_t *payload, size_t n, skr_buf *out)
{
	int r;

	ERR_set_mark();
	r = jws_sign(pkey, alg, extra_header, payload, n, out);
	ERR_pop_to_mark();
	return r;
}

int
skr_jws_sign_json(EVP_PKEY *pkey, skr_alg alg, const json_t *extra_header,
    const json_t *payload, skr_buf *out)
{
	char *text;
	int r;

	if (payload == NULL)
		return SKR_ERR_INVAL;
	if ((text = json_dumps(payload, JSON_COMPACT)) == NULL)
		return SKR_ERR_NOMEM;
	r = skr_jws_sign(pkey, alg, extra_header, (const uint8_t *)text,
	    strlen(text), out);
	free(text);
	return r;
}
