#include "snp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static void die(const char *what) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "snp_fixture: %s failed\n", what);
	exit(1);
}

void
fx_cert_opts_init(fx_cert_opts *o, const char *cn)
{
	memset(o, 0, sizeof(*o));
	o->cn = cn;
	o->bl = o->tee = o->snp = o->ucode = o->fmc = -1;
}

EVP_PKEY *
fx_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);

	if (k == NULL)
		die("RSA key generation");
	return k;
}

EVP_PKEY *
fx_p384(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	if (k == NULL)
		die("P-384 key generation");
	return k;
}

static void
add_ext(X509 *x, const char *oid, const uint8_t *der, int n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	if (obj == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, der, n) ||
	    (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    !X509_add_ext(x, e, -1))
		die("extension");
	X509_EXTENSION_free(e);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
}

static void
add_int_ext(X509 *x, const char *oid, int v)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	uint8_t *der = NULL;
	int n;

	if (ai == NULL || !ASN1_INTEGER_set(ai, v) ||
	    (n = i2d_ASN1_INTEGER(ai, &der)) <= 0)
		die("INTEGER extension");
	add_ext(x, oid, der, n);
	OPENSSL_free(der);
	ASN1_INTEGER_free(ai);
}

static void
add_ia5_ext(X509 *x, const char *oid, const char *s)
{
	ASN1_IA5STRING *a = ASN1_IA5STRING_new();
	uint8_t *der = NULL;
	int n;

	if (a == NULL || !ASN1_STRING_set(a, s, (int)strlen(s)) ||
	    (n = i2d_ASN1_IA5STRING(a, &der)) <= 0)
		die("IA5String extension");
	add_ext(x, oid, der, n);
	OPENSSL_free(der);
	ASN1_IA5STRING_free(a);
}

static X509_NAME *
amd_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
	    (const uint8_t *)"Engineering", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const uint8_t *)"Test Devices", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const uint8_t *)cn, -1, -1, 0))
		die("name");
	return n;
}

X509 *
fx_cert(const fx_cert_opts *o, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	const EVP_MD *md = o->md != NULL ? o->md : EVP_sha384();
	X509 *x = X509_new();
	X509_NAME *name = amd_name(o->cn);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int64_t nb = o->not_before ? o->not_before : FX_NOW - 365 * FX_DAY;
	int64_t na = o->not_after ? o->not_after : FX_NOW + 365 * FX_DAY;

	if (x == NULL || ctx == NULL || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL ||
	    !X509_set_pubkey(x, key))
		die("certificate fields");
	if (o->product_name != NULL)
		add_ia5_ext(x, "1.3.6.1.4.1.3704.1.2", o->product_name);
	if (o->bl >= 0)
		add_int_ext(x, "1.3.6.1.4.1.3704.1.3.1", o->bl);
	if (o->tee >= 0)
		add_int_ext(x, "1.3.6.1.4.1.3704.1.3.2", o->tee);
	if (o->snp >= 0)
		add_int_ext(x, "1.3.6.1.4.1.3704.1.3.3", o->snp);
	if (o->ucode >= 0)
		add_int_ext(x, "1.3.6.1.4.1.3704.1.3.8", o->ucode);
	if (o->fmc >= 0)
		add_int_ext(x, "1.3.6.1.4.1.3704.1.3.9", o->fmc);
	if (o->hwid != NULL) {
		uint8_t w[66] = { 0x04, 0x40 };

		memcpy(w + 2, o->hwid, 64);
		if (o->hwid_wrapped)
			add_ext(x, "1.3.6.1.4.1.3704.1.4", w, 66);
		else
			add_ext(x, "1.3.6.1.4.1.3704.1.4", o->hwid, 64);
	}
	if (EVP_DigestSignInit(ctx, &pctx, md, NULL,
	    issuer_key != NULL ? issuer_key : key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, o->salt ? o->salt : 48) !=
	    1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
	    X509_sign_ctx(x, ctx) <= 0)
		die("certificate signature");
	EVP_MD_CTX_free(ctx);
	X509_NAME_free(name);
	return x;
}

void
fx_amd_make(fx_amd *a, skr_snp_product p)
{
	const char *pn = skr_snp_product_name(p);
	char cn[32];
	fx_cert_opts o;

	memset(a, 0, sizeof(*a));
	a->product = p;
	a->ark_key = fx_rsa();
	a->ask_key = fx_rsa();
	a->asvk_key = fx_rsa();
	snprintf(cn, sizeof(cn), "ARK-%s", pn);
	fx_cert_opts_init(&o, cn);
	o.not_before = FX_NOW - 1000 * FX_DAY;
	o.not_after = FX_NOW + 9000 * FX_DAY;
	a->ark = fx_cert(&o, a->ark_key, NULL, NULL);
	snprintf(cn, sizeof(cn), "SEV-%s", pn);
	o.cn = cn;
	a->ask = fx_cert(&o, a->ask_key, a->ark, a->ark_key);
	snprintf(cn, sizeof(cn), "SEV-VLEK-%s", pn);
	a->asvk = fx_cert(&o, a->asvk_key, a->ark, a->ark_key);
}

void
fx_amd_free(fx_amd *a)
{
	EVP_PKEY_free(a->ark_key);
	EVP_PKEY_free(a->ask_key);
	EVP_PKEY_free(a->asvk_key);
	X509_free(a->ark);
	X509_free(a->ask);
	X509_free(a->asvk);
	memset(a, 0, sizeof(*a));
}

void
fx_pem(X509 *x, skr_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b == NULL || !PEM_write_bio_X509(b, x))
		die("PEM");
	n = BIO_get_mem_data(b, &p);
	skr_buf_append(out, p, (size_t)n);
	BIO_free(b);
}

void
fx_der(X509 *x, skr_buf *out)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		die("DER");
	skr_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
}

void
fx_amd_pem(const fx_amd *a, skr_buf *out)
{
	fx_pem(a->ask, out);
	fx_pem(a->ark, out);
	fx_pem(a->asvk, out);
}

uint64_t
fx_tcb(skr_snp_product p, int fmc, int bl, int tee, int snp, int ucode)
{
	uint64_t v;

	if (p == SKR_SNP_PRODUCT_TURIN)
		v = (uint64_t)fmc | (uint64_t)bl << 8 | (uint64_t)tee << 16 |
		    (uint64_t)snp << 24;
	else
		v = (uint64_t)bl | (uint64_t)tee << 8 | (uint64_t)snp << 48;
	return v | (uint64_t)ucode << 56;
}

void
fx_put32(uint8_t *rep, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		rep[off + i] = (uint8_t)(v >> (8 * i));
}

void
fx_put64(uint8_t *rep, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		rep[off + i] = (uint8_t)(v >> (8 * i));
}

void
fx_report(uint8_t rep[SKR_SNP_REPORT_SIZE], uint32_t v, skr_snp_product p)
{
	static const uint8_t cpuid[SKR_SNP_PRODUCT_COUNT][3] = {
		[SKR_SNP_PRODUCT_MILAN] = { 0x19, 0x01, 0x01 },
		[SKR_SNP_PRODUCT_GENOA] = { 0x19, 0x11, 0x01 },
		[SKR_SNP_PRODUCT_TURIN] = { 0x1A, 0x02, 0x00 },
	};
	uint64_t tcb = fx_tcb(p, 1, 3, 0, 8, 115);

	memset(rep, 0, SKR_SNP_REPORT_SIZE);
	fx_put32(rep, 0x000, v);
	fx_put32(rep, 0x004, 7);                 /* guest svn */
	fx_put64(rep, FX_OFF_POLICY, 0x30000);
	for (int i = 0; i < 16; i++) {
		rep[0x010 + i] = (uint8_t)(0xA0 + i);  /* family id */
		rep[0x020 + i] = (uint8_t)(0xB0 + i);  /* image id */
	}
	fx_put32(rep, FX_OFF_SIG_ALGO, 1);
	fx_put64(rep, 0x038, tcb);               /* current */
	for (int i = 0; i < 64; i++)
		rep[FX_OFF_REPORT_DATA + i] = (uint8_t)(0xD0 ^ i);
	for (int i = 0; i < 48; i++)
		rep[FX_OFF_MEASUREMENT + i] = (uint8_t)(0x5A + i);
	fx_put64(rep, FX_OFF_REPORTED_TCB, tcb);
	if (v >= 3)
		memcpy(rep + FX_OFF_CPUID, cpuid[p], 3);
	for (int i = 0; i < (p == SKR_SNP_PRODUCT_TURIN ? 8 : 64); i++)
		rep[FX_OFF_CHIP_ID + i] = (uint8_t)(i + 1);
	fx_put64(rep, 0x1E0, tcb);               /* committed */
	rep[0x1E8] = 4;                          /* current 1.55.4 */
	rep[0x1E9] = 55;
	rep[0x1EA] = 1;
	fx_put64(rep, 0x1F0, tcb);               /* launch */
	if (v >= 5) {
		fx_put64(rep, 0x1F8, 0x11);
		fx_put64(rep, 0x200, 0x13);
	}
}

void
fx_sign(uint8_t rep[SKR_SNP_REPORT_SIZE], EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[128];
	const uint8_t *q = der;
	size_t n = sizeof(der);
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL,
	    key) != 1 || EVP_DigestSign(ctx, der, &n, rep,
	    SKR_SNP_SIGNED_SIZE) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &q, (long)n)) == NULL)
		die("report signature");
	ECDSA_SIG_get0(sig, &r, &s);
	memset(rep + FX_OFF_SIG, 0, 144);
	if (BN_bn2lebinpad(r, rep + FX_OFF_SIG, 72) != 72 ||
	    BN_bn2lebinpad(s, rep + FX_OFF_SIG + 72, 72) != 72)
		die("r, s");
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
}

void
fx_vek_opts(fx_cert_opts *o, const uint8_t *rep, skr_snp_product p,
    int vlek)
{
	static char names[SKR_SNP_PRODUCT_COUNT][16];
	skr_snp_tcb t;
	uint64_t raw = 0;

	for (int i = 0; i < 8; i++)
		raw |= (uint64_t)rep[FX_OFF_REPORTED_TCB + i] << (8 * i);
	skr_snp_tcb_decode(raw, p, &t);
	fx_cert_opts_init(o, vlek ? "SEV-VLEK" : "SEV-VCEK");
	snprintf(names[p], sizeof(names[p]), "%s%s", skr_snp_product_name(p),
	    vlek ? "" : "-B0");
	o->product_name = names[p];
	o->bl = t.bootloader;
	o->tee = t.tee;
	o->snp = t.snp;
	o->ucode = t.microcode;
	if (p == SKR_SNP_PRODUCT_TURIN)
		o->fmc = t.fmc;
	if (!vlek)
		o->hwid = rep + FX_OFF_CHIP_ID;
}

int
fx_slurp(const char *path, skr_buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		skr_buf_append(out, chunk, n);
	fclose(f);
	return 1;
}
