#include "snp_cert.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "guard.h"
#include "skr/error.h"
#include "snp_priv.h"

enum ext_kind { EXT_PRODUCT, EXT_SPL, EXT_HWID };

/* AMD's VCEK/VLEK extensions (docs/snp.md, "Certificates"). */
static const struct {
	const char *oid;
	const char *name;
	enum ext_kind kind;
	size_t spl;           /* offset of the int member for EXT_SPL */
} amd_exts[] = {
	{ "1.3.6.1.4.1.3704.1.2", "productName", EXT_PRODUCT, 0 },
	{ "1.3.6.1.4.1.3704.1.3.1", "blSPL", EXT_SPL,
	    offsetof(skr_snp_cert, bl_spl) },
	{ "1.3.6.1.4.1.3704.1.3.2", "teeSPL", EXT_SPL,
	    offsetof(skr_snp_cert, tee_spl) },
	{ "1.3.6.1.4.1.3704.1.3.3", "snpSPL", EXT_SPL,
	    offsetof(skr_snp_cert, snp_spl) },
	{ "1.3.6.1.4.1.3704.1.3.8", "ucodeSPL", EXT_SPL,
	    offsetof(skr_snp_cert, ucode_spl) },
	{ "1.3.6.1.4.1.3704.1.3.9", "fmcSPL", EXT_SPL,
	    offsetof(skr_snp_cert, fmc_spl) },
	{ "1.3.6.1.4.1.3704.1.4", "hwID", EXT_HWID, 0 },
};

#define NEXTS (sizeof(amd_exts) / sizeof(amd_exts[0]))

void
skr_snp_cert_free(skr_snp_cert *c)
{
	if (c == NULL)
		return;
	X509_free(c->x509);
	free(c);
}

int
skr__snp_subject_cn(X509 *x, char *buf, size_t size)
{
	const X509_NAME *name = X509_get_subject_name(x);
	const ASN1_STRING *s;
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);

	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return 0;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if (s == NULL || (size_t)ASN1_STRING_length(s) >= size ||
	    memchr(ASN1_STRING_get0_data(s), '\0', ASN1_STRING_length(s)))
		return 0;
	memcpy(buf, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
	buf[ASN1_STRING_length(s)] = '\0';
	return 1;
}

static int
parse_spl(const uint8_t *p, size_t n, int *out)
{
	const uint8_t *q = p;
	ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &q, (long)n);
	int64_t v = -1;
	int ok;

	ok = ai != NULL && q == p + n && ASN1_INTEGER_get_int64(&v, ai) == 1 &&
	    v >= 0 && v <= 255;
	ASN1_INTEGER_free(ai);
	if (ok)
		*out = (int)v;
	return ok;
}

static int
parse_product(const uint8_t *p, size_t n, skr_snp_cert *c)
{
	const uint8_t *q = p;
	ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &q, (long)n);
	int ok = 0, len;

	if (s == NULL || q != p + n)
		goto out;
	len = ASN1_STRING_length(s);
	if (len <= 0 || (size_t)len >= sizeof(c->product_name))
		goto out;
	for (int i = 0; i < len; i++)
		if (ASN1_STRING_get0_data(s)[i] < 0x21 ||
		    ASN1_STRING_get0_data(s)[i] > 0x7e)
			goto out;
	memcpy(c->product_name, ASN1_STRING_get0_data(s), len);
	c->product_name[len] = '\0';
	c->product = skr_snp_product_parse(c->product_name, len);
	ok = 1;
out:
	ASN1_IA5STRING_free(s);
	return ok;
}

/* Early VCEKs carry the 64 bytes bare; later ones as a DER OCTET STRING. */
static int
parse_hwid(const uint8_t *p, size_t n, skr_snp_cert *c)
{
	if (n == 64) {
		memcpy(c->hwid, p, 64);
	} else if (n == 66 && p[0] == 0x04 && p[1] == 0x40) {
		memcpy(c->hwid, p + 2, 64);
	} else {
		return 0;
	}
	c->has_hwid = 1;
	return 1;
}

static int
parse_extensions(skr_snp_cert *c, skr_buf *why)
{
	int seen[NEXTS] = { 0 };
	char oid[64];

	for (int i = 0; i < X509_get_ext_count(c->x509); i++) {
		X509_EXTENSION *e = X509_get_ext(c->x509, i);
		const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(e);
		const uint8_t *p = ASN1_STRING_get0_data(d);
		size_t n = (size_t)ASN1_STRING_length(d), k;
		int ok = 0;

		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e),
		    1) <= 0)
			continue;
		for (k = 0; k < NEXTS; k++)
			if (strcmp(oid, amd_exts[k].oid) == 0)
				break;
		if (k == NEXTS)
			continue;
		if (seen[k]++)
			return skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "certificate has two %s extensions",
			    amd_exts[k].name);
		switch (amd_exts[k].kind) {
		case EXT_PRODUCT:
			ok = parse_product(p, n, c);
			break;
		case EXT_SPL:
			ok = parse_spl(p, n,
			    (int *)((uint8_t *)c + amd_exts[k].spl));
			break;
		case EXT_HWID:
			ok = parse_hwid(p, n, c);
			break;
		}
		if (!ok)
			return skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "malformed %s extension", amd_exts[k].name);
	}
	return SKR_OK;
}

int
skr_snp_cert_parse(const uint8_t *der, size_t n, skr_snp_cert **out,
    skr_buf *why)
{
	const uint8_t *q = der;
	skr_snp_cert *c = NULL;
	EVP_PKEY *pk;
	char cn[64], group[32];
	int r = SKR_OK;

	*out = NULL;
	if (n == 0 || n > SKR_SNP_CERT_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "certificate of %zu bytes", n);
	SKR_ENSURE((c = calloc(1, sizeof(*c))) != NULL, SKR_ERR_NOMEM);
	c->bl_spl = c->tee_spl = c->snp_spl = c->ucode_spl = c->fmc_spl = -1;
	c->x509 = d2i_X509(NULL, &q, (long)n);
	if (c->x509 == NULL || q != der + n) {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "not one DER certificate");
		goto out;
	}
	if (!skr__snp_subject_cn(c->x509, cn, sizeof(cn))) {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "certificate subject has no single CN");
		goto out;
	}
	if (strcmp(cn, "SEV-VCEK") == 0) {
		c->kind = SKR_SNP_SIGNER_VCEK;
	} else if (strcmp(cn, "SEV-VLEK") == 0) {
		c->kind = SKR_SNP_SIGNER_VLEK;
	} else {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "certificate CN is not SEV-VCEK or SEV-VLEK");
		goto out;
	}
	pk = X509_get0_pubkey(c->x509);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "secp384r1") != 0) {
		r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "certificate key is not EC P-384");
		goto out;
	}
	SKR_GUARD(parse_extensions(c, why));
	*out = c;
	c = NULL;
out:
	skr_snp_cert_free(c);
	ERR_clear_error();
	return r;
}

int
skr_snp_cert_product(const skr_snp_cert *c, const skr_snp_report *r,
    skr_snp_product *out, skr_buf *why)
{
	skr_snp_product p;

	*out = SKR_SNP_PRODUCT_UNKNOWN;
	if (r->has_cpuid) {
		p = skr_snp_report_product(r);
		if (p == SKR_SNP_PRODUCT_UNKNOWN)
			return skr_buf_fail(why, SKR_ERR_SNP_PRODUCT,
			    "unknown processor: CPUID family 0x%02x model "
			    "0x%02x", r->cpuid_fam_id, r->cpuid_mod_id);
		if (c->product_name[0] != '\0' && c->product != p)
			return skr_buf_fail(why, SKR_ERR_SNP_PRODUCT,
			    "report is from %s, certificate for \"%s\"",
			    skr_snp_product_name(p), c->product_name);
	} else {
		p = c->product;
		if (p == SKR_SNP_PRODUCT_UNKNOWN)
			return skr_buf_fail(why, SKR_ERR_SNP_PRODUCT,
			    "version %u report and certificate product "
			    "\"%s\" name no known processor", r->version,
			    c->product_name);
	}
	*out = p;
	return SKR_OK;
}

static const char *
signer_name(skr_snp_signer s)
{
	switch (s) {
	case SKR_SNP_SIGNER_VCEK:
		return "VCEK";
	case SKR_SNP_SIGNER_VLEK:
		return "VLEK";
	case SKR_SNP_SIGNER_NONE:
		return "no key";
	}
	return "unknown";
}

int
skr_snp_cert_signer_check(const skr_snp_cert *c, const skr_snp_report *r,
    skr_buf *why)
{
	if (r->signer != c->kind)
		return skr_buf_fail(why, SKR_ERR_SNP_SIGNING_KEY,
		    "report says it is signed by %s, certificate is a %s",
		    signer_name(r->signer), signer_name(c->kind));
	return SKR_OK;
}

int
skr_snp_cert_match(const skr_snp_cert *c, const skr_snp_report *r,
    skr_snp_product p, skr_buf *why)
{
	skr_snp_tcb tcb;
	int ret;

	if ((ret = skr_snp_cert_signer_check(c, r, why)) != SKR_OK)
		return ret;
	if (c->kind == SKR_SNP_SIGNER_VCEK) {
		if (!c->has_hwid)
			return skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "VCEK has no hwID extension");
		if (CRYPTO_memcmp(c->hwid, r->chip_id, sizeof(c->hwid)) != 0)
			return skr_buf_fail(why, SKR_ERR_SNP_CHIP_ID,
			    "VCEK hwID is not the report's chip_id");
	}
	skr_snp_tcb_decode(r->reported_tcb, p, &tcb);
	{
		/* fmcSPL, last, is checked for Turin only. */
		const struct {
			const char *name;
			int cert, report;
		} spls[] = {
			{ "blSPL", c->bl_spl, tcb.bootloader },
			{ "teeSPL", c->tee_spl, tcb.tee },
			{ "snpSPL", c->snp_spl, tcb.snp },
			{ "ucodeSPL", c->ucode_spl, tcb.microcode },
			{ "fmcSPL", c->fmc_spl, tcb.fmc },
		};
		size_t n = p == SKR_SNP_PRODUCT_TURIN ? 5 : 4;

		for (size_t i = 0; i < n; i++) {
			if (spls[i].cert < 0)
				return skr_buf_fail(why, SKR_ERR_SNP_CERT,
				    "certificate has no %s extension",
				    spls[i].name);
			if (spls[i].cert != spls[i].report)
				return skr_buf_fail(why, SKR_ERR_SNP_TCB,
				    "%s %d in the certificate, %d in the "
				    "reported TCB", spls[i].name, spls[i].cert,
				    spls[i].report);
		}
	}
	return SKR_OK;
}
