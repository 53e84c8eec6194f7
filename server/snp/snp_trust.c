#include "snp_trust.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "encoding.h"
#include "guard.h"
#include "skr/error.h"
#include "snp_priv.h"

/*
 * SHA-256 of the SubjectPublicKeyInfo DER of AMD's ARK for each product,
 * as published at https://kdsintf.amd.com/vcek/v1/<Product>/cert_chain.
 * Recompute with:
 *   openssl x509 -in ark.pem -pubkey -noout |
 *       openssl pkey -pubin -outform DER | sha256sum
 */
static const struct {
	skr_snp_product product;
	const char *sha256;
} builtin_pins[] = {
	{ SKR_SNP_PRODUCT_MILAN,
	  "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9" },
	{ SKR_SNP_PRODUCT_GENOA,
	  "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831" },
	{ SKR_SNP_PRODUCT_TURIN,
	  "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08" },
};

#define EXTRA_MAX SKR_SNP_EVIDENCE_MAX_CERTS

struct pin {
	skr_snp_product product;
	uint8_t sha256[32];
};

struct skr_snp_trust {
	int configured;         /* pins from a root file, not built in */
	struct pin pins[SKR_SNP_TRUST_MAX_PINS];
	size_t npins;
	STACK_OF(X509) *certs;  /* candidates for ARK, ASK and ASVK */
};

static void
free_certs(STACK_OF(X509) *s)
{
	sk_X509_pop_free(s, X509_free);
}

int
skr_snp_trust_new(skr_snp_trust **out)
{
	skr_snp_trust *t = NULL;
	skr_buf b = SKR_BUF_INIT;
	size_t i;
	int r = SKR_OK;

	*out = NULL;
	SKR_ENSURE((t = calloc(1, sizeof(*t))) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((t->certs = sk_X509_new_null()) != NULL, SKR_ERR_NOMEM);
	for (i = 0; i < sizeof(builtin_pins) / sizeof(builtin_pins[0]); i++) {
		skr_buf_reset(&b);
		SKR_GUARD(skr_hex_decode(&b, builtin_pins[i].sha256, 64));
		SKR_ENSURE(b.len == 32, SKR_ERR_INTERNAL);
		t->pins[t->npins].product = builtin_pins[i].product;
		memcpy(t->pins[t->npins++].sha256, b.data, 32);
	}
	*out = t;
	t = NULL;
out:
	skr_buf_free(&b);
	skr_snp_trust_free(t);
	return r;
}

void
skr_snp_trust_free(skr_snp_trust *t)
{
	if (t == NULL)
		return;
	free_certs(t->certs);
	free(t);
}

int
skr_snp_certs_from_pem(const char *pem, size_t n, size_t max,
    STACK_OF(X509) **out, skr_buf *why)
{
	STACK_OF(X509) *s = NULL;
	BIO *bio = NULL;
	X509 *x;
	unsigned long e;
	int r = SKR_OK;

	*out = NULL;
	if (n > INT_MAX)
		return skr_buf_fail(why, SKR_ERR_SNP_CERT, "PEM too large");
	SKR_ENSURE((s = sk_X509_new_null()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((bio = BIO_new_mem_buf(pem, (int)n)) != NULL,
	    SKR_ERR_NOMEM);
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if ((size_t)sk_X509_num(s) >= max) {
			X509_free(x);
			r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "more than %zu certificates", max);
			goto out;
		}
		if (!sk_X509_push(s, x)) {
			X509_free(x);
			r = SKR_ERR_NOMEM;
			goto out;
		}
	}
	/* The loop ends at the end of the text or at a broken block. */
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "malformed PEM certificate");
		goto out;
	}
	if (sk_X509_num(s) == 0) {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "no PEM certificate");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	ERR_clear_error();
	BIO_free(bio);
	free_certs(s);
	return r;
}

static int
spki_sha256(X509 *x, uint8_t out[32])
{
	uint8_t *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	int ok = n > 0 && SHA256(der, (size_t)n, out) != NULL;

	OPENSSL_free(der);
	return ok;
}

/* AMD signs every certificate of the chain with RSA-PSS, SHA-384, MGF1
 * with SHA-384 and a 48-byte salt; OpenSSL flags exactly that combination
 * (digest = MGF1 digest, salt = digest length) as X509_SIG_INFO_TLS. */
static int
sig_is_pss384(X509 *x)
{
	int md = 0, pk = 0;
	uint32_t flags = 0;

	return X509_get_signature_info(x, &md, &pk, NULL, &flags) == 1 &&
	    md == NID_sha384 && pk == EVP_PKEY_RSA_PSS &&
	    (flags & X509_SIG_INFO_TLS) != 0;
}

/* child names issuer as its issuer and carries its valid signature. */
static int
signed_by(X509 *child, X509 *issuer)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	int ok;

	if (X509_NAME_cmp(X509_get_issuer_name(child),
	    X509_get_subject_name(issuer)) != 0 || !sig_is_pss384(child) ||
	    k == NULL || (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA &&
	    EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA_PSS))
		return 0;
	ok = X509_verify(child, k) == 1;
	ERR_clear_error();
	return ok;
}

static int
cn_is(X509 *x, const char *prefix, skr_snp_product p)
{
	char cn[64], want[64];

	snprintf(want, sizeof(want), "%s%s", prefix, skr_snp_product_name(p));
	return skr__snp_subject_cn(x, cn, sizeof(cn)) && strcmp(cn, want) == 0;
}

/* The product of an "ARK-<Product>" certificate, or UNKNOWN. */
static skr_snp_product
ark_product(X509 *x)
{
	for (int p = SKR_SNP_PRODUCT_MILAN; p < SKR_SNP_PRODUCT_COUNT; p++)
		if (cn_is(x, "ARK-", (skr_snp_product)p))
			return (skr_snp_product)p;
	return SKR_SNP_PRODUCT_UNKNOWN;
}

static int
pinned(const skr_snp_trust *t, X509 *x, skr_snp_product p)
{
	uint8_t h[32];

	if (!spki_sha256(x, h))
		return 0;
	for (size_t i = 0; i < t->npins; i++)
		if (t->pins[i].product == p &&
		    memcmp(t->pins[i].sha256, h, 32) == 0)
			return 1;
	return 0;
}

static int
add_certs(STACK_OF(X509) *to, STACK_OF(X509) *from, skr_buf *why)
{
	if ((size_t)(sk_X509_num(to) + sk_X509_num(from)) >
	    SKR_SNP_TRUST_MAX_CERTS)
		return skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "more than %d AMD certificates configured",
		    SKR_SNP_TRUST_MAX_CERTS);
	for (int i = 0; i < sk_X509_num(from); i++) {
		X509 *x = sk_X509_value(from, i);

		if (!X509_up_ref(x))
			return SKR_ERR_NOMEM;
		if (!sk_X509_push(to, x)) {
			X509_free(x);
			return SKR_ERR_NOMEM;
		}
	}
	return SKR_OK;
}

int
skr_snp_trust_add_pem(skr_snp_trust *t, const char *pem, size_t n,
    skr_buf *why)
{
	STACK_OF(X509) *s = NULL;
	int r = SKR_OK;

	SKR_GUARD(skr_snp_certs_from_pem(pem, n, SKR_SNP_TRUST_MAX_CERTS, &s,
	    why));
	SKR_GUARD(add_certs(t->certs, s, why));
out:
	free_certs(s);
	return r;
}

int
skr_snp_trust_set_roots_pem(skr_snp_trust *t, const char *pem, size_t n,
    skr_buf *why)
{
	STACK_OF(X509) *s = NULL, *all = NULL;
	struct pin pins[SKR_SNP_TRUST_MAX_PINS];
	size_t npins = 0;
	int r = SKR_OK;

	SKR_GUARD(skr_snp_certs_from_pem(pem, n, SKR_SNP_TRUST_MAX_CERTS, &s,
	    why));
	for (int i = 0; i < sk_X509_num(s); i++) {
		X509 *x = sk_X509_value(s, i);
		skr_snp_product p;

		if (X509_NAME_cmp(X509_get_subject_name(x),
		    X509_get_issuer_name(x)) != 0)
			continue;
		if ((p = ark_product(x)) == SKR_SNP_PRODUCT_UNKNOWN) {
			r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "root %d is not named ARK-Milan, ARK-Genoa or "
			    "ARK-Turin", i + 1);
			goto out;
		}
		if (!signed_by(x, x)) {
			r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "root %d (ARK-%s) has no valid RSA-PSS SHA-384 "
			    "self-signature", i + 1, skr_snp_product_name(p));
			goto out;
		}
		if (npins == SKR_SNP_TRUST_MAX_PINS) {
			r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "more than %d roots", SKR_SNP_TRUST_MAX_PINS);
			goto out;
		}
		pins[npins].product = p;
		SKR_ENSURE(spki_sha256(x, pins[npins].sha256), SKR_ERR_CRYPTO);
		npins++;
	}
	if (npins == 0) {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "no self-signed ARK in the root file");
		goto out;
	}
	SKR_ENSURE((all = sk_X509_new_null()) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(add_certs(all, t->certs, why));
	SKR_GUARD(add_certs(all, s, why));
	free_certs(t->certs);
	t->certs = all;
	all = NULL;
	memcpy(t->pins, pins, sizeof(pins[0]) * npins);
	t->npins = npins;
	t->configured = 1;
out:
	free_certs(s);
	free_certs(all);
	return r;
}

int
skr_snp_trust_describe(const skr_snp_trust *t, json_t **out)
{
	json_t *o = NULL, *pins, *list;
	char hex[65];
	int r = SKR_OK;

	*out = NULL;
	SKR_ENSURE((o = json_object()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(o, "roots", json_string(t->configured ?
	    "configured" : "built-in")) == 0, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(o, "pins", pins = json_object()) == 0,
	    SKR_ERR_NOMEM);
	for (size_t i = 0; i < t->npins; i++) {
		const char *name = skr_snp_product_name(t->pins[i].product);

		if ((list = json_object_get(pins, name)) == NULL)
			SKR_ENSURE(json_object_set_new(pins, name,
			    list = json_array()) == 0, SKR_ERR_NOMEM);
		skr_hex_text(hex, t->pins[i].sha256, 32);
		SKR_ENSURE(json_array_append_new(list, json_string(hex)) == 0,
		    SKR_ERR_NOMEM);
	}
	SKR_ENSURE(json_object_set_new(o, "certificates",
	    json_integer(sk_X509_num(t->certs))) == 0, SKR_ERR_NOMEM);
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return r;
}

/* ---- chains ---- */

static int
asn1_unix(const ASN1_TIME *a, int64_t *out)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return 0;
	*out = (int64_t)timegm(&tm);
	return 1;
}

static void
format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

static int
check_window(X509 *x, const char *what, int64_t now, skr_buf *why)
{
	int64_t nb, na;
	char when[32];

	if (!asn1_unix(X509_get0_notBefore(x), &nb) ||
	    !asn1_unix(X509_get0_notAfter(x), &na))
		return skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "%s has a malformed validity period", what);
	if (now < nb) {
		format_time(nb, when, sizeof(when));
		return skr_buf_fail(why, SKR_ERR_SNP_EXPIRED,
		    "%s is not valid before %s", what, when);
	}
	if (now > na) {
		format_time(na, when, sizeof(when));
		return skr_buf_fail(why, SKR_ERR_SNP_EXPIRED,
		    "%s expired at %s", what, when);
	}
	return SKR_OK;
}

/* The validity of a chain of signatures at now. */
static int
check_chain(X509 *ark, X509 *mid, X509 *leaf, const char *ark_name,
    const char *mid_name, const char *leaf_name, int64_t now, skr_buf *why)
{
	int r;

	if ((r = check_window(ark, ark_name, now, why)) != SKR_OK ||
	    (r = check_window(mid, mid_name, now, why)) != SKR_OK)
		return r;
	return check_window(leaf, leaf_name, now, why);
}

/*
 * Walks up from the leaf: the intermediates whose signature it carries,
 * then the ARKs whose signature each of those carries.  The first chain
 * whose every certificate is valid at now wins; otherwise the refusal
 * names the highest link found, so that "not signed", "not trusted" and
 * "expired" stay apart.
 */
int
skr_snp_trust_verify(const skr_snp_trust *t, X509 *leaf,
    skr_snp_signer kind, skr_snp_product p, STACK_OF(X509) *extra,
    int64_t now, skr_buf *why)
{
	X509 *cand[SKR_SNP_TRUST_MAX_CERTS + EXTRA_MAX];
	const char *mid = kind == SKR_SNP_SIGNER_VLEK ? "SEV-VLEK-" : "SEV-";
	const char *leaf_name = kind == SKR_SNP_SIGNER_VLEK ? "VLEK" : "VCEK";
	const char *pname = skr_snp_product_name(p);
	char mid_name[32], ark_name[32];
	size_t n = 0, i, j;
	int mids = 0, arks = 0, untrusted = 0, expired = SKR_OK;
	skr_buf expiry = SKR_BUF_INIT;

	if (p == SKR_SNP_PRODUCT_UNKNOWN)
		return skr_buf_fail(why, SKR_ERR_SNP_PRODUCT,
		    "no product to anchor the chain");
	if (extra != NULL && sk_X509_num(extra) > EXTRA_MAX)
		return skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "more than %d certificates with the evidence", EXTRA_MAX);
	for (i = 0; extra != NULL && i < (size_t)sk_X509_num(extra); i++)
		cand[n++] = sk_X509_value(extra, (int)i);
	for (i = 0; i < (size_t)sk_X509_num(t->certs); i++)
		cand[n++] = sk_X509_value(t->certs, (int)i);
	snprintf(mid_name, sizeof(mid_name), "%s%s", mid, pname);
	snprintf(ark_name, sizeof(ark_name), "ARK-%s", pname);

	for (i = 0; i < n; i++) {
		X509 *ask = cand[i];

		if (!cn_is(ask, mid, p) || !signed_by(leaf, ask))
			continue;
		mids++;
		for (j = 0; j < n; j++) {
			X509 *ark = cand[j];
			int r;

			if (!cn_is(ark, "ARK-", p) ||
			    X509_NAME_cmp(X509_get_subject_name(ark),
			    X509_get_issuer_name(ark)) != 0 ||
			    !signed_by(ask, ark))
				continue;
			arks++;
			if (!pinned(t, ark, p) || !signed_by(ark, ark)) {
				untrusted++;
				continue;
			}
			r = check_chain(ark, ask, leaf, ark_name, mid_name,
			    leaf_name, now, expired == SKR_OK ? &expiry :
			    NULL);
			if (r == SKR_OK) {
				skr_buf_free(&expiry);
				return SKR_OK;
			}
			if (expired == SKR_OK)
				expired = r;
		}
	}
	if (expired != SKR_OK) {
		if (why != NULL)
			(void)skr_buf_append_str(why, skr_buf_cstr(&expiry));
		skr_buf_free(&expiry);
		return expired;
	}
	skr_buf_free(&expiry);
	if (mids == 0)
		return skr_buf_fail(why, SKR_ERR_SNP_CHAIN,
		    "%s is not signed by any %s certificate in the evidence "
		    "or configuration", leaf_name, mid_name);
	if (arks == 0)
		return skr_buf_fail(why, SKR_ERR_SNP_CHAIN,
		    "%s is not signed by any %s certificate in the evidence "
		    "or configuration", mid_name, ark_name);
	return skr_buf_fail(why, SKR_ERR_SNP_CHAIN,
	    "%s is not a trusted root (its key matches no pin)", ark_name);
}
