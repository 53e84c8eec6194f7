/*
 * Verification of SEV-SNP evidence (server/snp/snp_verify, snp_cert,
 * snp_trust, snp_kds) against hierarchies made here: every check of the
 * chain, the certificate and the signature refuses what it must.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "check.h"
#include "snp_cert.h"
#include "snp_fixture.h"
#include "snp_kds.h"
#include "snp_trust.h"
#include "snp_verify.h"

static fx_amd milan, genoa, turin;

/* A trust whose roots are a's ARK (replacing the built-in pins). */
static skr_snp_trust *
trust_of(const fx_amd *a)
{
	skr_snp_trust *t = NULL;
	skr_buf pem = SKR_BUF_INIT, why = SKR_BUF_INIT;

	fx_amd_pem(a, &pem);
	CHECK_OK(skr_snp_trust_new(&t));
	CHECK_OK(skr_snp_trust_set_roots_pem(t, (const char *)pem.data,
	    pem.len, &why));
	skr_buf_free(&pem);
	skr_buf_free(&why);
	return t;
}

struct run {
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_buf cert;
	const char *chain;
	size_t chain_len;
	skr_snp_opts opts;
	skr_buf why;
	skr_snp_verified *v;
};

static void
run_init(struct run *x)
{
	memset(x, 0, sizeof(*x));
	skr_buf_init(&x->cert, 0);
	skr_buf_init(&x->why, 0);
	x->opts.now = FX_NOW;
}

static void
run_free(struct run *x)
{
	skr_buf_free(&x->cert);
	skr_buf_free(&x->why);
	skr_snp_verified_free(x->v);
	x->v = NULL;
}

/* Verify x against t; when want_reason, the reason must contain it. */
static int
verify(struct run *x, const skr_snp_trust *t, const char *want_reason)
{
	skr_snp_evidence ev = { x->rep, sizeof(x->rep), x->cert.data,
	    x->cert.len, x->chain, x->chain_len };
	int r;

	skr_snp_verified_free(x->v);
	x->v = NULL;
	skr_buf_reset(&x->why);
	r = skr_snp_verify(&ev, t, &x->opts, &x->v, &x->why);
	if (want_reason != NULL &&
	    strstr(skr_buf_cstr(&x->why), want_reason) == NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n",
		    skr_buf_cstr(&x->why), want_reason);
		CHECK(0);
	}
	CHECK((r == SKR_OK) == (x->v != NULL));
	return r;
}

/* A signed report of version v by a fresh VCEK (or VLEK) under a. */
static EVP_PKEY *
make(struct run *x, const fx_amd *a, uint32_t v, int vlek,
    void (*tweak)(fx_cert_opts *))
{
	EVP_PKEY *k = fx_p384();
	fx_cert_opts o;
	X509 *c;

	fx_report(x->rep, v, a->product);
	if (vlek) {
		fx_put32(x->rep, FX_OFF_KEY_INFO, 1 << 2);
		memset(x->rep + FX_OFF_CHIP_ID, 0, 64);
	}
	fx_vek_opts(&o, x->rep, a->product, vlek);
	if (tweak != NULL)
		tweak(&o);
	c = fx_cert(&o, k, vlek ? a->asvk : a->ask,
	    vlek ? a->asvk_key : a->ask_key);
	skr_buf_reset(&x->cert);
	fx_der(c, &x->cert);
	X509_free(c);
	fx_sign(x->rep, k);
	return k;
}

static void
check_result(const skr_snp_verified *v, skr_snp_product p, uint32_t version)
{
	CHECK(v->product == p);
	CHECK(v->report.version == version);
	CHECK(v->reported_tcb.microcode == 115);
	CHECK(json_integer_value(json_object_get(v->claims,
	    "x-ms-sevsnpvm-snpfw-svn")) == 8);
}

static void
test_good(void)
{
	const fx_amd *all[] = { &milan, &genoa, &turin };
	struct run x;

	run_init(&x);
	for (size_t i = 0; i < 3; i++) {
		skr_snp_trust *t = trust_of(all[i]);

		for (uint32_t v = 2; v <= 5; v++) {
			for (int vlek = 0; vlek < 2; vlek++) {
				EVP_PKEY *k = make(&x, all[i], v, vlek, NULL);

				CHECK_OK(verify(&x, t, NULL));
				if (x.v != NULL)
					check_result(x.v, all[i]->product, v);
				EVP_PKEY_free(k);
			}
		}
		skr_snp_trust_free(t);
	}
	run_free(&x);
}

static void
no_fmc(fx_cert_opts *o) { o->fmc = -1; }
static void
bad_bl(fx_cert_opts *o) { o->bl = 4; }
static void
bad_tee(fx_cert_opts *o) { o->tee = 1; }
static void
bad_snp(fx_cert_opts *o) { o->snp = 9; }
static void
bad_ucode(fx_cert_opts *o) { o->ucode = 116; }
static void
bad_fmc(fx_cert_opts *o) { o->fmc = 2; }
static void
no_ucode(fx_cert_opts *o) { o->ucode = -1; }
static void
no_hwid(fx_cert_opts *o) { o->hwid = NULL; }
static void
wrapped_hwid(fx_cert_opts *o) { o->hwid_wrapped = 1; }
static void
no_product(fx_cert_opts *o) { o->product_name = NULL; }
static void
genoa_product(fx_cert_opts *o) { o->product_name = "Genoa-A1"; }
static void
odd_product(fx_cert_opts *o) { o->product_name = "Naples"; }
static void
expired(fx_cert_opts *o) { o->not_after = FX_NOW - FX_DAY; }
static void
not_yet(fx_cert_opts *o) { o->not_before = FX_NOW + FX_DAY; }
static void
salt32(fx_cert_opts *o) { o->salt = 32; }
static void
sha256(fx_cert_opts *o) { o->md = EVP_sha256(); }
static void
vcek_cn(fx_cert_opts *o) { o->cn = "SEV-VCEK"; }

static void
test_certificate_checks(void)
{
	skr_snp_trust *mt = trust_of(&milan), *tt = trust_of(&turin);
	struct run x;
	EVP_PKEY *k;

	run_init(&x);
	/* TCB: each SPL against the REPORTED TCB. */
	k = make(&x, &milan, 3, 0, bad_bl);
	CHECK_ERR(verify(&x, mt, "blSPL 4 in the certificate, 3"),
	    SKR_ERR_SNP_TCB);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, bad_tee);
	CHECK_ERR(verify(&x, mt, "teeSPL"), SKR_ERR_SNP_TCB);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 2, 0, bad_snp);
	CHECK_ERR(verify(&x, mt, "snpSPL"), SKR_ERR_SNP_TCB);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 5, 1, bad_ucode);
	CHECK_ERR(verify(&x, mt, "ucodeSPL 116"), SKR_ERR_SNP_TCB);
	EVP_PKEY_free(k);
	k = make(&x, &turin, 3, 0, bad_fmc);
	CHECK_ERR(verify(&x, tt, "fmcSPL 2 in the certificate, 1"),
	    SKR_ERR_SNP_TCB);
	EVP_PKEY_free(k);
	k = make(&x, &turin, 3, 0, no_fmc);
	CHECK_ERR(verify(&x, tt, "no fmcSPL"), SKR_ERR_SNP_CERT);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, no_ucode);
	CHECK_ERR(verify(&x, mt, "no ucodeSPL"), SKR_ERR_SNP_CERT);
	EVP_PKEY_free(k);
	/* The current TCB does not matter, the reported one does. */
	k = make(&x, &milan, 3, 0, NULL);
	fx_put64(x.rep, 0x038, fx_tcb(SKR_SNP_PRODUCT_MILAN, 0, 9, 9, 9, 250));
	fx_sign(x.rep, k);
	CHECK_OK(verify(&x, mt, NULL));
	fx_put64(x.rep, FX_OFF_REPORTED_TCB, fx_tcb(SKR_SNP_PRODUCT_MILAN, 0,
	    3, 0, 8, 116));
	fx_sign(x.rep, k);
	CHECK_ERR(verify(&x, mt, "ucodeSPL 115 in the certificate, 116"),
	    SKR_ERR_SNP_TCB);
	EVP_PKEY_free(k);

	/* Chip id: the VCEK's hwID, bare or wrapped. */
	k = make(&x, &milan, 3, 0, wrapped_hwid);
	CHECK_OK(verify(&x, mt, NULL));
	x.rep[FX_OFF_CHIP_ID + 63] ^= 1;
	fx_sign(x.rep, k);
	CHECK_ERR(verify(&x, mt, "hwID"), SKR_ERR_SNP_CHIP_ID);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, no_hwid);
	CHECK_ERR(verify(&x, mt, "no hwID"), SKR_ERR_SNP_CERT);
	EVP_PKEY_free(k);

	/* The signing-key field names the certificate's kind. */
	k = make(&x, &milan, 3, 0, NULL);
	fx_put32(x.rep, FX_OFF_KEY_INFO, 1 << 2);
	fx_sign(x.rep, k);
	CHECK_ERR(verify(&x, mt, "signed by VLEK, certificate is a VCEK"),
	    SKR_ERR_SNP_SIGNING_KEY);
	fx_put32(x.rep, FX_OFF_KEY_INFO, 7 << 2);
	fx_sign(x.rep, k);
	CHECK_ERR(verify(&x, mt, "signed by no key"),
	    SKR_ERR_SNP_SIGNING_KEY);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 1, NULL);
	fx_put32(x.rep, FX_OFF_KEY_INFO, 0);
	fx_sign(x.rep, k);
	CHECK_ERR(verify(&x, mt, "certificate is a VLEK"),
	    SKR_ERR_SNP_SIGNING_KEY);
	EVP_PKEY_free(k);

	/* Products: CPUID for version 3+, productName for version 2. */
	k = make(&x, &milan, 3, 0, no_product);
	CHECK_OK(verify(&x, mt, NULL));
	EVP_PKEY_free(k);
	k = make(&x, &milan, 2, 0, no_product);
	CHECK_ERR(verify(&x, mt, "name no known processor"),
	    SKR_ERR_SNP_PRODUCT);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 2, 0, odd_product);
	CHECK_ERR(verify(&x, mt, "\"Naples\""), SKR_ERR_SNP_PRODUCT);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, genoa_product);
	CHECK_ERR(verify(&x, mt, "report is from Milan, certificate for "
	    "\"Genoa-A1\""), SKR_ERR_SNP_PRODUCT);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, NULL);
	x.rep[FX_OFF_CPUID] = 0x17;
	fx_sign(x.rep, k);
	CHECK_ERR(verify(&x, mt, "family 0x17"), SKR_ERR_SNP_PRODUCT);
	/* A Milan report whose CPUID says Genoa is anchored at Genoa's ARK,
	 * which this trust does not have. */
	x.rep[FX_OFF_CPUID] = 0x19;
	x.rep[FX_OFF_CPUID + 1] = 0x11;
	fx_sign(x.rep, k);
	CHECK(verify(&x, mt, NULL) != SKR_OK);
	EVP_PKEY_free(k);

	/* The signature. */
	k = make(&x, &milan, 3, 0, NULL);
	x.rep[FX_OFF_MEASUREMENT] ^= 1;
	CHECK_ERR(verify(&x, mt, "does not verify"), SKR_ERR_SNP_SIGNATURE);
	x.rep[FX_OFF_MEASUREMENT] ^= 1;
	CHECK_OK(verify(&x, mt, NULL));
	x.rep[FX_OFF_SIG] ^= 1;
	CHECK_ERR(verify(&x, mt, NULL), SKR_ERR_SNP_SIGNATURE);
	x.rep[FX_OFF_SIG] ^= 1;
	x.rep[FX_OFF_SIG + 72] ^= 1;
	CHECK_ERR(verify(&x, mt, NULL), SKR_ERR_SNP_SIGNATURE);
	x.rep[FX_OFF_SIG + 72] ^= 1;
	/* Bytes after the signature are unsigned: they must be zero. */
	x.rep[SKR_SNP_REPORT_SIZE - 1] = 1;
	CHECK_ERR(verify(&x, mt, "unsigned"), SKR_ERR_SNP_REPORT);
	x.rep[SKR_SNP_REPORT_SIZE - 1] = 0;
	CHECK_OK(verify(&x, mt, NULL));
	/* A truncated report or certificate. */
	skr_snp_verified_free(x.v);
	x.v = NULL;
	{
		skr_snp_evidence ev = { x.rep, 1000, x.cert.data, x.cert.len,
		    NULL, 0 };

		CHECK_ERR(skr_snp_verify(&ev, mt, &x.opts, &x.v, NULL),
		    SKR_ERR_SNP_REPORT);
		ev.report_len = SKR_SNP_REPORT_SIZE;
		ev.cert_len -= 1;
		CHECK_ERR(skr_snp_verify(&ev, mt, &x.opts, &x.v, NULL),
		    SKR_ERR_SNP_CERT);
		ev.cert_len = 0;
		CHECK_ERR(skr_snp_verify(&ev, mt, &x.opts, &x.v, NULL),
		    SKR_ERR_SNP_CERT);
		CHECK(x.v == NULL);
	}
	EVP_PKEY_free(k);
	run_free(&x);
	skr_snp_trust_free(mt);
	skr_snp_trust_free(tt);
}

static void
test_chain(void)
{
	skr_snp_trust *mt = trust_of(&milan), *builtin = NULL, *other;
	skr_buf pem = SKR_BUF_INIT, why = SKR_BUF_INIT;
	fx_amd fake;
	struct run x;
	EVP_PKEY *k;

	run_init(&x);
	/* Validity of each link at `now`. */
	k = make(&x, &milan, 3, 0, expired);
	CHECK_ERR(verify(&x, mt, "VCEK expired at"), SKR_ERR_SNP_EXPIRED);
	x.opts.now = FX_NOW - 2 * FX_DAY;
	CHECK_OK(verify(&x, mt, NULL));
	x.opts.now = FX_NOW;
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 1, not_yet);
	CHECK_ERR(verify(&x, mt, "VLEK is not valid before"),
	    SKR_ERR_SNP_EXPIRED);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, NULL);
	x.opts.now = FX_NOW - 1001 * FX_DAY;
	CHECK_ERR(verify(&x, mt, "ARK-Milan is not valid before"),
	    SKR_ERR_SNP_EXPIRED);
	x.opts.now = FX_NOW + 366 * FX_DAY;
	CHECK_ERR(verify(&x, mt, "VCEK expired"), SKR_ERR_SNP_EXPIRED);
	x.opts.now = FX_NOW;
	/* An expired ASK sent with the evidence: the configured valid one
	 * with the same key still makes a chain; alone it is refused. */
	{
		skr_snp_trust *rootonly = NULL;
		skr_buf ark = SKR_BUF_INIT;
		fx_cert_opts o;
		X509 *old;

		fx_cert_opts_init(&o, "SEV-Milan");
		o.not_after = FX_NOW - FX_DAY;
		old = fx_cert(&o, milan.ask_key, milan.ark, milan.ark_key);
		fx_pem(old, &pem);
		x.chain = (const char *)pem.data;
		x.chain_len = pem.len;
		CHECK_OK(verify(&x, mt, NULL));
		fx_pem(milan.ark, &ark);
		CHECK_OK(skr_snp_trust_new(&rootonly));
		CHECK_OK(skr_snp_trust_set_roots_pem(rootonly,
		    (const char *)ark.data, ark.len, &why));
		CHECK_ERR(verify(&x, rootonly, "SEV-Milan expired at"),
		    SKR_ERR_SNP_EXPIRED);
		skr_snp_trust_free(rootonly);
		skr_buf_free(&ark);
		X509_free(old);
		skr_buf_reset(&pem);
		x.chain = NULL;
		x.chain_len = 0;
	}

	/* The built-in pins do not trust a made-up ARK, even when its
	 * certificates are configured or sent with the evidence. */
	CHECK_OK(skr_snp_trust_new(&builtin));
	CHECK_ERR(verify(&x, builtin, "VCEK is not signed by any SEV-Milan "
	    "certificate"), SKR_ERR_SNP_CHAIN);
	fx_amd_pem(&milan, &pem);
	x.chain = (const char *)pem.data;
	x.chain_len = pem.len;
	CHECK_ERR(verify(&x, builtin, "matches no pin"), SKR_ERR_SNP_CHAIN);
	CHECK_OK(skr_snp_trust_add_pem(builtin, (const char *)pem.data,
	    pem.len, &why));
	x.chain = NULL;
	x.chain_len = 0;
	CHECK_ERR(verify(&x, builtin, "matches no pin"), SKR_ERR_SNP_CHAIN);

	/* A root file with another ARK of the same name: the real ASK does
	 * not verify under it. */
	fx_amd_make(&fake, SKR_SNP_PRODUCT_MILAN);
	other = trust_of(&fake);
	CHECK_ERR(verify(&x, other, "VCEK is not signed by any SEV-Milan"),
	    SKR_ERR_SNP_CHAIN);
	/* ...and with the real ARK and ASK sent along, the ARK is not one of
	 * its roots. */
	skr_buf_reset(&pem);
	fx_pem(milan.ark, &pem);
	fx_pem(milan.ask, &pem);
	x.chain = (const char *)pem.data;
	x.chain_len = pem.len;
	CHECK_ERR(verify(&x, other, "matches no pin"), SKR_ERR_SNP_CHAIN);
	/* The ASK alone with the evidence, the ARK as root: accepted. */
	skr_buf_reset(&pem);
	fx_pem(milan.ask, &pem);
	x.chain_len = pem.len;
	x.chain = (const char *)pem.data;
	{
		skr_snp_trust *rootonly = NULL;
		skr_buf ark = SKR_BUF_INIT;

		fx_pem(milan.ark, &ark);
		CHECK_OK(skr_snp_trust_new(&rootonly));
		CHECK_OK(skr_snp_trust_set_roots_pem(rootonly,
		    (const char *)ark.data, ark.len, &why));
		CHECK_OK(verify(&x, rootonly, NULL));
		x.chain = NULL;
		CHECK_ERR(verify(&x, rootonly, "not signed by any SEV-Milan"),
		    SKR_ERR_SNP_CHAIN);
		skr_snp_trust_free(rootonly);
		skr_buf_free(&ark);
	}
	x.chain = NULL;
	x.chain_len = 0;
	EVP_PKEY_free(k);

	/* A VCEK signed by another ASK with the right name. */
	{
		EVP_PKEY *vk = fx_p384();
		fx_cert_opts o;
		X509 *c;

		fx_report(x.rep, 3, SKR_SNP_PRODUCT_MILAN);
		fx_vek_opts(&o, x.rep, SKR_SNP_PRODUCT_MILAN, 0);
		c = fx_cert(&o, vk, fake.ask, fake.ask_key);
		skr_buf_reset(&x.cert);
		fx_der(c, &x.cert);
		fx_sign(x.rep, vk);
		CHECK_ERR(verify(&x, mt, "VCEK is not signed by any SEV-Milan"),
		    SKR_ERR_SNP_CHAIN);
		X509_free(c);
		/* A VCEK under the ASVK, or a VLEK under the ASK. */
		c = fx_cert(&o, vk, milan.asvk, milan.asvk_key);
		skr_buf_reset(&x.cert);
		fx_der(c, &x.cert);
		CHECK_ERR(verify(&x, mt, "VCEK is not signed by any SEV-Milan"),
		    SKR_ERR_SNP_CHAIN);
		X509_free(c);
		fx_vek_opts(&o, x.rep, SKR_SNP_PRODUCT_MILAN, 1);
		fx_put32(x.rep, FX_OFF_KEY_INFO, 1 << 2);
		fx_sign(x.rep, vk);
		c = fx_cert(&o, vk, milan.ask, milan.ask_key);
		skr_buf_reset(&x.cert);
		fx_der(c, &x.cert);
		CHECK_ERR(verify(&x, mt,
		    "VLEK is not signed by any SEV-VLEK-Milan"),
		    SKR_ERR_SNP_CHAIN);
		X509_free(c);
		EVP_PKEY_free(vk);
	}

	/* Signature algorithms other than RSA-PSS SHA-384 / salt 48. */
	k = make(&x, &milan, 3, 0, salt32);
	CHECK_ERR(verify(&x, mt, "not signed by"), SKR_ERR_SNP_CHAIN);
	EVP_PKEY_free(k);
	k = make(&x, &milan, 3, 0, sha256);
	CHECK_ERR(verify(&x, mt, "not signed by"), SKR_ERR_SNP_CHAIN);
	EVP_PKEY_free(k);
	/* A VLEK-named certificate cannot sign as a VCEK. */
	k = make(&x, &milan, 3, 1, vcek_cn);
	CHECK_ERR(verify(&x, mt, NULL), SKR_ERR_SNP_SIGNING_KEY);
	EVP_PKEY_free(k);

	fx_amd_free(&fake);
	skr_snp_trust_free(other);
	skr_snp_trust_free(builtin);
	skr_snp_trust_free(mt);
	skr_buf_free(&pem);
	skr_buf_free(&why);
	run_free(&x);
}

static void
test_trust_loading(void)
{
	skr_snp_trust *t = NULL;
	skr_buf pem = SKR_BUF_INIT, why = SKR_BUF_INIT;
	json_t *d = NULL;
	fx_cert_opts o;
	X509 *c;

	CHECK_OK(skr_snp_trust_new(&t));
	CHECK_OK(skr_snp_trust_describe(t, &d));
	CHECK_STR(json_string_value(json_object_get(d, "roots")), "built-in");
	CHECK_STR(json_string_value(json_array_get(json_object_get(
	    json_object_get(d, "pins"), "Milan"), 0)),
	    "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9");
	CHECK(json_array_size(json_object_get(json_object_get(d, "pins"),
	    "Genoa")) == 1);
	CHECK(json_array_size(json_object_get(json_object_get(d, "pins"),
	    "Turin")) == 1);
	CHECK(json_integer_value(json_object_get(d, "certificates")) == 0);
	json_decref(d);

	CHECK_ERR(skr_snp_trust_add_pem(t, "", 0, &why), SKR_ERR_SNP_CERT);
	CHECK_ERR(skr_snp_trust_add_pem(t, "hello", 5, &why),
	    SKR_ERR_SNP_CERT);
	fx_pem(milan.ask, &pem);
	pem.data[40] ^= 0x01;
	CHECK_ERR(skr_snp_trust_add_pem(t, (const char *)pem.data, pem.len,
	    &why), SKR_ERR_SNP_CERT);
	skr_buf_reset(&pem);
	fx_amd_pem(&milan, &pem);
	CHECK_OK(skr_snp_trust_add_pem(t, (const char *)pem.data, pem.len,
	    &why));
	CHECK_OK(skr_snp_trust_describe(t, &d));
	CHECK(json_integer_value(json_object_get(d, "certificates")) == 3);
	json_decref(d);

	/* Root files: ARKs only by AMD's names, self-signed with PSS. */
	skr_buf_reset(&pem);
	fx_pem(milan.ask, &pem);
	skr_buf_reset(&why);
	CHECK_ERR(skr_snp_trust_set_roots_pem(t, (const char *)pem.data,
	    pem.len, &why), SKR_ERR_SNP_CERT);
	CHECK(strstr(skr_buf_cstr(&why), "no self-signed ARK") != NULL);
	fx_cert_opts_init(&o, "My Root");
	{
		EVP_PKEY *rk = fx_rsa();

		c = fx_cert(&o, rk, NULL, NULL);
		skr_buf_reset(&pem);
		fx_pem(c, &pem);
		skr_buf_reset(&why);
		CHECK_ERR(skr_snp_trust_set_roots_pem(t,
		    (const char *)pem.data, pem.len, &why), SKR_ERR_SNP_CERT);
		CHECK(strstr(skr_buf_cstr(&why), "not named ARK") != NULL);
		X509_free(c);
		o.cn = "ARK-Genoa";
		o.salt = 20;
		c = fx_cert(&o, rk, NULL, NULL);
		skr_buf_reset(&pem);
		fx_pem(c, &pem);
		skr_buf_reset(&why);
		CHECK_ERR(skr_snp_trust_set_roots_pem(t,
		    (const char *)pem.data, pem.len, &why), SKR_ERR_SNP_CERT);
		CHECK(strstr(skr_buf_cstr(&why), "self-signature") != NULL);
		X509_free(c);
		EVP_PKEY_free(rk);
	}
	/* A failed load leaves the pins as they were. */
	CHECK_OK(skr_snp_trust_describe(t, &d));
	CHECK_STR(json_string_value(json_object_get(d, "roots")), "built-in");
	json_decref(d);
	skr_buf_reset(&pem);
	fx_amd_pem(&turin, &pem);
	fx_amd_pem(&genoa, &pem);
	CHECK_OK(skr_snp_trust_set_roots_pem(t, (const char *)pem.data,
	    pem.len, &why));
	CHECK_OK(skr_snp_trust_describe(t, &d));
	CHECK_STR(json_string_value(json_object_get(d, "roots")),
	    "configured");
	CHECK(json_object_get(json_object_get(d, "pins"), "Milan") == NULL);
	CHECK(json_array_size(json_object_get(json_object_get(d, "pins"),
	    "Turin")) == 1);
	CHECK(json_integer_value(json_object_get(d, "certificates")) == 9);
	json_decref(d);
	/* Milan is no longer trusted: the root file replaced every pin. */
	{
		struct run x;
		EVP_PKEY *k;

		run_init(&x);
		k = make(&x, &milan, 3, 0, NULL);
		CHECK_ERR(verify(&x, t, NULL), SKR_ERR_SNP_CHAIN);
		EVP_PKEY_free(k);
		k = make(&x, &genoa, 3, 0, NULL);
		CHECK_OK(verify(&x, t, NULL));
		EVP_PKEY_free(k);
		run_free(&x);
	}
	skr_snp_trust_free(t);
	skr_buf_free(&pem);
	skr_buf_free(&why);
}

static void
test_runtime(void)
{
	static const char rt[] = "{\"keys\":[{\"kid\":\"k\"}],\"n\":1}";
	skr_snp_trust *mt = trust_of(&milan);
	struct run x;
	EVP_PKEY *k;

	run_init(&x);
	k = make(&x, &milan, 3, 0, NULL);
	memset(x.rep + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)rt, strlen(rt), x.rep + FX_OFF_REPORT_DATA);
	fx_sign(x.rep, k);
	x.opts.runtime_data = (const uint8_t *)rt;
	x.opts.runtime_len = strlen(rt);
	CHECK_OK(verify(&x, mt, NULL));
	CHECK(x.v != NULL && json_object_get(x.v->claims, "x-ms-runtime") ==
	    NULL);
	x.opts.runtime_json = 1;
	CHECK_OK(verify(&x, mt, NULL));
	CHECK(x.v != NULL && json_integer_value(json_object_get(json_object_get(
	    x.v->claims, "x-ms-runtime"), "n")) == 1);
	x.opts.runtime_len--;
	CHECK_ERR(verify(&x, mt, "SHA-256 of the runtime data"),
	    SKR_ERR_SNP_BINDING);
	x.opts.runtime_len++;
	/* Bound, but not an object. */
	memset(x.rep + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)"[1]", 3, x.rep + FX_OFF_REPORT_DATA);
	fx_sign(x.rep, k);
	x.opts.runtime_data = (const uint8_t *)"[1]";
	x.opts.runtime_len = 3;
	CHECK_ERR(verify(&x, mt, "JSON object"), SKR_ERR_SNP_EVIDENCE);
	x.opts.runtime_json = 0;
	CHECK_OK(verify(&x, mt, NULL));
	EVP_PKEY_free(k);
	run_free(&x);
	skr_snp_trust_free(mt);
}

static void
test_kds(void)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_snp_report r;
	skr_buf url = SKR_BUF_INIT, name = SKR_BUF_INIT, der = SKR_BUF_INIT;
	char dir[] = "/tmp/skr-snp-kds-XXXXXX";
	int found = -1;

	fx_report(rep, 3, SKR_SNP_PRODUCT_GENOA);
	CHECK_OK(skr_snp_report_parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_kds_vcek_url(&r, SKR_SNP_PRODUCT_UNKNOWN, NULL, &url,
	    NULL));
	CHECK_STR(skr_buf_cstr(&url), "https://kdsintf.amd.com/vcek/v1/Genoa/"
	    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	    "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"
	    "?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115");
	skr_buf_reset(&url);
	fx_report(rep, 3, SKR_SNP_PRODUCT_TURIN);
	CHECK_OK(skr_snp_report_parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_kds_vcek_url(&r, SKR_SNP_PRODUCT_UNKNOWN,
	    "http://127.0.0.1:1", &url, NULL));
	CHECK_STR(skr_buf_cstr(&url), "http://127.0.0.1:1/vcek/v1/Turin/"
	    "0102030405060708?fmcSPL=01&blSPL=03&teeSPL=00&snpSPL=08&"
	    "ucodeSPL=115");
	skr_buf_reset(&url);
	/* Version 2 names no product: the caller gives it. */
	fx_report(rep, 2, SKR_SNP_PRODUCT_MILAN);
	CHECK_OK(skr_snp_report_parse(rep, sizeof(rep), &r, NULL));
	CHECK_ERR(skr_snp_kds_vcek_url(&r, SKR_SNP_PRODUCT_UNKNOWN, NULL, &url,
	    NULL), SKR_ERR_SNP_PRODUCT);
	CHECK_OK(skr_snp_kds_vcek_url(&r, SKR_SNP_PRODUCT_MILAN, NULL, &url,
	    NULL));
	CHECK(strncmp(skr_buf_cstr(&url), "https://kdsintf.amd.com/vcek/v1/"
	    "Milan/01020304", 46) == 0);
	skr_buf_reset(&url);
	r.signer = SKR_SNP_SIGNER_VLEK;
	CHECK_ERR(skr_snp_kds_vcek_url(&r, SKR_SNP_PRODUCT_MILAN, NULL, &url,
	    NULL), SKR_ERR_UNSUPPORTED);
	r.signer = SKR_SNP_SIGNER_VCEK;
	memset(r.chip_id, 0, sizeof(r.chip_id));
	CHECK_ERR(skr_snp_kds_vcek_url(&r, SKR_SNP_PRODUCT_MILAN, NULL, &url,
	    NULL), SKR_ERR_UNSUPPORTED);
	CHECK_OK(skr_snp_kds_chain_url(SKR_SNP_PRODUCT_GENOA,
	    SKR_SNP_SIGNER_VLEK, NULL, &url));
	CHECK_STR(skr_buf_cstr(&url),
	    "https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain");

	/* The cache: a name per chip and TCB, atomic writes. */
	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	CHECK_OK(skr_snp_report_parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_kds_cache_name(&r, SKR_SNP_PRODUCT_UNKNOWN, &name,
	    NULL));
	CHECK(strncmp(skr_buf_cstr(&name), "vcek-Milan-0102", 15) == 0);
	CHECK(strstr(skr_buf_cstr(&name), "-7308000000000003.der") != NULL);
	CHECK(mkdtemp(dir) != NULL);
	CHECK_OK(skr_snp_kds_cache_load(dir, skr_buf_cstr(&name), &der,
	    &found));
	CHECK(found == 0);
	CHECK_OK(skr_snp_kds_cache_store(dir, skr_buf_cstr(&name),
	    (const uint8_t *)"DER!", 4));
	CHECK_OK(skr_snp_kds_cache_load(dir, skr_buf_cstr(&name), &der,
	    &found));
	CHECK(found == 1 && der.len == 4 && memcmp(der.data, "DER!", 4) == 0);
	CHECK_ERR(skr_snp_kds_cache_store(dir, "../x", (const uint8_t *)"x",
	    1), SKR_ERR_INVAL);
	CHECK_ERR(skr_snp_kds_cache_load(dir, ".hidden", &der, &found),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_snp_kds_cache_store("/nonexistent/dir", "a.der",
	    (const uint8_t *)"x", 1), SKR_ERR_IO);
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dir, skr_buf_cstr(&name));
		unlink(path);
		rmdir(dir);
	}
	skr_buf_free(&url);
	skr_buf_free(&name);
	skr_buf_free(&der);
}

int
main(void)
{
	fx_amd_make(&milan, SKR_SNP_PRODUCT_MILAN);
	fx_amd_make(&genoa, SKR_SNP_PRODUCT_GENOA);
	fx_amd_make(&turin, SKR_SNP_PRODUCT_TURIN);
	test_good();
	test_certificate_checks();
	test_chain();
	test_trust_loading();
	test_runtime();
	test_kds();
	fx_amd_free(&milan);
	fx_amd_free(&genoa);
	fx_amd_free(&turin);
	return check_done();
}
