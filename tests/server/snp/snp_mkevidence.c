/*
 * Synthetic SEV-SNP evidence for the integration tests, made at test time
 * with an AMD-like hierarchy of this program's own (snp_fixture.c), so
 * that skrd started with snp_roots = DIR/roots.pem verifies it:
 *
 *   snp_mkevidence init DIR
 *       DIR (made when missing) with an ARK and ASK for Milan and a VCEK
 *       key: DIR/roots.pem (ARK, ASK: for snp_roots), DIR/chain.pem (ASK,
 *       ARK: a KDS cert_chain), and the keys, kept for the commands below
 *   snp_mkevidence report DIR OUT [--runtime FILE] [--measurement-byte N]
 *           [--debug] [--chip-byte N] [--inittime FILE] [--foreign-vcek]
 *       a version 3 report whose report_data binds FILE's bytes (else a
 *       fixed pattern), signed by a VCEK for its chip id and TCB:
 *       OUT.bin, OUT-vcek.der, OUT-vcek.pem.  --measurement-byte fills the
 *       measurement with one byte; --debug sets the guest policy's DEBUG
 *       bit; --chip-byte XORs the chip id; --inittime puts FILE's SHA-256
 *       in HOST_DATA; --foreign-vcek certifies another key than the one
 *       that signed
 *   snp_mkevidence azure DIR OUT --nonce TEXT [--measurement-byte N]
 *       Azure vTPM evidence as Trustee's az-snp-vtpm attester sends it,
 *       its quote carrying TEXT: OUT.json
 *   snp_mkevidence runtime KEY.pem
 *       the runtime JSON a guest binds to offer KEY's public key for
 *       wrapping: {"keys": [{"kid", "key_ops": ["encrypt"], RSA JWK}]}
 *
 * Exit status 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

#include "encoding.h"
#include "jwk.h"
#include "snp_fixture.h"
#include "snp_report.h"

#define PRODUCT SKR_SNP_PRODUCT_MILAN

static void die(const char *what) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "snp_mkevidence: %s\n", what);
	exit(1);
}

static void
path(char *out, size_t n, const char *dir, const char *name)
{
	if (snprintf(out, n, "%s/%s", dir, name) >= (int)n)
		die("path too long");
}

static void
write_file(const char *p, const void *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		die(p);
}

static void
write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	char p[4096];
	FILE *f;

	path(p, sizeof(p), dir, name);
	if ((f = fopen(p, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0)
		die(p);
}

static EVP_PKEY *
read_key(const char *dir, const char *name)
{
	char p[4096];
	EVP_PKEY *k;
	FILE *f;

	path(p, sizeof(p), dir, name);
	if ((f = fopen(p, "r")) == NULL ||
	    (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		die(p);
	fclose(f);
	return k;
}

static X509 *
read_cert(const char *dir, const char *name)
{
	char p[4096];
	X509 *x;
	FILE *f;

	path(p, sizeof(p), dir, name);
	if ((f = fopen(p, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		die(p);
	fclose(f);
	return x;
}

/* a and then b (may be NULL) as PEM into the file p. */
static void
write_pem(const char *p, X509 *a, X509 *b)
{
	skr_buf pem = SKR_BUF_INIT;

	fx_pem(a, &pem);
	if (b != NULL)
		fx_pem(b, &pem);
	write_file(p, pem.data, pem.len);
	skr_buf_free(&pem);
}

static void
write_pem_in(const char *dir, const char *name, X509 *a, X509 *b)
{
	char p[4096];

	path(p, sizeof(p), dir, name);
	write_pem(p, a, b);
}

static int
cmd_init(const char *dir)
{
	fx_amd amd;
	EVP_PKEY *vcek;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		die(dir);
	vcek = fx_p384();
	fx_amd_make(&amd, PRODUCT);
	write_key(dir, "ark-key.pem", amd.ark_key);
	write_key(dir, "ask-key.pem", amd.ask_key);
	write_key(dir, "vcek-key.pem", vcek);
	write_pem_in(dir, "ark.pem", amd.ark, NULL);
	write_pem_in(dir, "ask.pem", amd.ask, NULL);
	write_pem_in(dir, "roots.pem", amd.ark, amd.ask);
	write_pem_in(dir, "chain.pem", amd.ask, amd.ark);
	EVP_PKEY_free(vcek);
	fx_amd_free(&amd);
	return 0;
}

/* A decimal byte value. */
static int
byte(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 255)
		die("not a byte value");
	return (int)v;
}

/* The options of report and azure. */
struct opts {
	const char *runtime, *inittime, *nonce;
	int measurement, chip, debug, foreign;
};

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->measurement = -1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--debug") == 0 ||
		    strcmp(a, "--foreign-vcek") == 0) {
			*(a[2] == 'd' ? &o->debug : &o->foreign) = 1;
			continue;
		}
		if (v == NULL)
			die("an option lacks its value");
		i++;
		if (strcmp(a, "--runtime") == 0)
			o->runtime = v;
		else if (strcmp(a, "--inittime") == 0)
			o->inittime = v;
		else if (strcmp(a, "--nonce") == 0)
			o->nonce = v;
		else if (strcmp(a, "--measurement-byte") == 0)
			o->measurement = byte(v);
		else if (strcmp(a, "--chip-byte") == 0)
			o->chip = byte(v);
		else
			die("unknown option");
	}
}

/* An unsigned version 3 report of o's shape. */
static void
make_report(uint8_t rep[SKR_SNP_REPORT_SIZE], const struct opts *o)
{
	skr_buf b = SKR_BUF_INIT;

	fx_report(rep, 3, PRODUCT);
	if (o->measurement >= 0)
		memset(rep + FX_OFF_MEASUREMENT, o->measurement, 48);
	if (o->debug)
		fx_put64(rep, FX_OFF_POLICY, 0x30000 | SKR_SNP_POLICY_DEBUG);
	for (int i = 0; i < 64; i++)
		rep[FX_OFF_CHIP_ID + i] ^= (uint8_t)o->chip;
	if (o->runtime != NULL) {
		if (!fx_slurp(o->runtime, &b))
			die(o->runtime);
		memset(rep + FX_OFF_REPORT_DATA, 0, 64);
		SHA256(b.data, b.len, rep + FX_OFF_REPORT_DATA);
		skr_buf_free(&b);
	}
	if (o->inittime != NULL) {
		if (!fx_slurp(o->inittime, &b))
			die(o->inittime);
		SHA256(b.data, b.len, rep + 0xC0);
		skr_buf_free(&b);
	}
}

/* The VCEK of rep, issued by DIR's ASK, valid for ten years from now. */
static X509 *
make_vcek(const char *dir, const uint8_t *rep, EVP_PKEY *vcek_key)
{
	EVP_PKEY *ask_key = read_key(dir, "ask-key.pem");
	X509 *ask = read_cert(dir, "ask.pem"), *x;
	fx_cert_opts co;
	int64_t now = (int64_t)time(NULL);

	fx_vek_opts(&co, rep, PRODUCT, 0);
	co.not_before = now - FX_DAY;
	co.not_after = now + 3650 * FX_DAY;
	x = fx_cert(&co, vcek_key, ask, ask_key);
	EVP_PKEY_free(ask_key);
	X509_free(ask);
	return x;
}

static int
cmd_report(const char *dir, const char *out, int argc, char **argv)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	EVP_PKEY *vcek_key = read_key(dir, "vcek-key.pem");
	skr_buf der = SKR_BUF_INIT;
	struct opts o;
	char p[4096];
	X509 *vcek;

	parse_opts(argc, argv, &o);
	make_report(rep, &o);
	fx_sign(rep, vcek_key);
	if (o.foreign) {
		EVP_PKEY_free(vcek_key);
		vcek_key = fx_p384();
	}
	vcek = make_vcek(dir, rep, vcek_key);
	snprintf(p, sizeof(p), "%s.bin", out);
	write_file(p, rep, sizeof(rep));
	fx_der(vcek, &der);
	snprintf(p, sizeof(p), "%s-vcek.der", out);
	write_file(p, der.data, der.len);
	snprintf(p, sizeof(p), "%s-vcek.pem", out);
	write_pem(p, vcek, NULL);
	skr_buf_free(&der);
	X509_free(vcek);
	EVP_PKEY_free(vcek_key);
	return 0;
}

/* ---- Azure vTPM evidence ------------------------------------------------- */

static void
be(skr_buf *b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		skr_buf_append_byte(b, (uint8_t)(v >> (8 * i)));
}

/* HCLAkPub (the attestation key, kid and key_ops as Azure's paravisor
 * writes them) in the runtime JSON. */
static char *
azure_runtime(EVP_PKEY *ak)
{
	skr_key *k = NULL;
	json_t *jwk, *doc;
	char *s;

	if (skr_key_from_pkey(ak, &k) != 0 || (jwk = skr_jwk_emit(k, 0)) ==
	    NULL)
		die("attestation key");
	json_object_set_new(jwk, "kid", json_string("HCLAkPub"));
	json_object_set_new(jwk, "key_ops", json_pack("[s]", "sign"));
	doc = json_pack("{s:[o],s:{s:b,s:b,s:b,s:s}}", "keys", jwk,
	    "vm-configuration", "console-enabled", 0, "secure-boot", 1,
	    "tpm-enabled", 1, "vmUniqueId",
	    "11111111-2222-3333-4444-555555555555");
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	skr_key_free(k);
	return s;
}

/* TPMS_ATTEST of a quote over PCRs 0-23 (SHA-256, each all bytes i)
 * with extraData nonce, signed RSASSA-PKCS1-v1_5 SHA-256 by ak. */
static void
azure_quote(EVP_PKEY *ak, const char *nonce, skr_buf *msg, skr_buf *sig)
{
	uint8_t pcrs[24][32], digest[32], name[34] = { 0x00, 0x0b };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t slen = 512;

	for (int i = 0; i < 24; i++)
		memset(pcrs[i], i, 32);
	SHA256(pcrs[0], sizeof(pcrs), digest);
	be(msg, 0xff544347u, 4);            /* TPM_GENERATED_VALUE */
	be(msg, 0x8018, 2);                 /* TPM_ST_ATTEST_QUOTE */
	be(msg, sizeof(name), 2);
	skr_buf_append(msg, name, sizeof(name));
	be(msg, strlen(nonce), 2);
	skr_buf_append_str(msg, nonce);
	be(msg, 1000, 8);                   /* clock info */
	be(msg, 1, 4);
	be(msg, 0, 4);
	be(msg, 1, 1);
	be(msg, 0x2020031200120003ull, 8);  /* firmware version */
	be(msg, 1, 4);                      /* one selection */
	be(msg, 0x000b, 2);
	be(msg, 3, 1);
	be(msg, 0xffffff, 3);
	be(msg, 32, 2);
	skr_buf_append(msg, digest, 32);
	if (ctx == NULL || skr_buf_reserve(sig, slen) != 0 ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ak) != 1 ||
	    EVP_DigestSign(ctx, sig->data, &slen, msg->data, msg->len) != 1)
		die("quote signature");
	sig->len = slen;
	EVP_MD_CTX_free(ctx);
}

static int
cmd_azure(const char *dir, const char *out, int argc, char **argv)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE], hdr[0x20] = "HCLA", req[20];
	EVP_PKEY *vcek_key = read_key(dir, "vcek-key.pem"), *ak = fx_rsa();
	skr_buf hcl = SKR_BUF_INIT, msg = SKR_BUF_INIT, sig = SKR_BUF_INIT;
	skr_buf t = SKR_BUF_INIT, der = SKR_BUF_INIT;
	json_t *doc, *pcrs = json_array();
	struct opts o;
	char p[4096], *rt, *s;
	size_t n;
	X509 *vcek;

	parse_opts(argc, argv, &o);
	if (o.nonce == NULL)
		die("azure needs --nonce");
	rt = azure_runtime(ak);
	n = strlen(rt);
	o.runtime = NULL;
	make_report(rep, &o);
	memset(rep + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)rt, n, rep + FX_OFF_REPORT_DATA);
	fx_sign(rep, vcek_key);
	vcek = make_vcek(dir, rep, vcek_key);
	fx_put32(hdr, 4, 1);                           /* version */
	fx_put32(hdr, 8, (uint32_t)(0x4C0 + 20 + n));  /* report size */
	fx_put32(hdr, 12, 2);                          /* request type */
	fx_put32(req, 0, (uint32_t)(20 + n));          /* data size */
	fx_put32(req, 4, 1);
	fx_put32(req, 8, 2);                           /* SNP */
	fx_put32(req, 12, 1);                          /* SHA-256 */
	fx_put32(req, 16, (uint32_t)n);
	skr_buf_append(&hcl, hdr, sizeof(hdr));
	skr_buf_append(&hcl, rep, sizeof(rep));
	skr_buf_append(&hcl, req, sizeof(req));
	skr_buf_append(&hcl, rt, n);
	azure_quote(ak, o.nonce, &msg, &sig);
	for (int i = 0; i < 24; i++) {
		uint8_t v[32];
		char hex[65];

		memset(v, i, sizeof(v));
		skr_hex_text(hex, v, sizeof(v));
		json_array_append_new(pcrs, json_string(hex));
	}
	doc = json_object();
	json_object_set_new(doc, "version", json_integer(1));
	skr_b64url_encode(&t, hcl.data, hcl.len);
	json_object_set_new(doc, "hcl_report", json_string(skr_buf_cstr(&t)));
	skr_buf_reset(&t);
	fx_der(vcek, &der);
	skr_b64url_encode(&t, der.data, der.len);
	json_object_set_new(doc, "vcek", json_string(skr_buf_cstr(&t)));
	json_object_set_new(doc, "tpm_quote", json_object());
	skr_buf_reset(&t);
	skr_hex_encode(&t, sig.data, sig.len, 0);
	json_object_set_new(json_object_get(doc, "tpm_quote"), "signature",
	    json_string(skr_buf_cstr(&t)));
	skr_buf_reset(&t);
	skr_hex_encode(&t, msg.data, msg.len, 0);
	json_object_set_new(json_object_get(doc, "tpm_quote"), "message",
	    json_string(skr_buf_cstr(&t)));
	json_object_set_new(json_object_get(doc, "tpm_quote"), "pcrs", pcrs);
	if ((s = json_dumps(doc, JSON_COMPACT)) == NULL)
		die("evidence");
	snprintf(p, sizeof(p), "%s.json", out);
	write_file(p, s, strlen(s));
	free(s);
	free(rt);
	json_decref(doc);
	X509_free(vcek);
	EVP_PKEY_free(vcek_key);
	EVP_PKEY_free(ak);
	skr_buf_free(&hcl);
	skr_buf_free(&msg);
	skr_buf_free(&sig);
	skr_buf_free(&t);
	skr_buf_free(&der);
	return 0;
}

static int
cmd_runtime(const char *keyfile)
{
	skr_buf pem = SKR_BUF_INIT;
	skr_key *k = NULL;
	json_t *jwk, *doc;
	char *s;

	if (!fx_slurp(keyfile, &pem) || skr_key_from_pem((const char *)pem.data,
	    pem.len, &k) != 0 || (jwk = skr_jwk_emit(k, 0)) == NULL)
		die(keyfile);
	json_object_set_new(jwk, "kid", json_string("wrap"));
	json_object_set_new(jwk, "key_ops", json_pack("[s]", "encrypt"));
	doc = json_pack("{s:[o]}", "keys", jwk);
	if ((s = json_dumps(doc, JSON_COMPACT)) == NULL)
		die("runtime JSON");
	fputs(s, stdout);
	free(s);
	json_decref(doc);
	skr_key_free(k);
	skr_buf_free(&pem);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "init") == 0)
		return cmd_init(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "report") == 0)
		return cmd_report(argv[2], argv[3], argc - 4, argv + 4);
	if (argc >= 4 && strcmp(argv[1], "azure") == 0)
		return cmd_azure(argv[2], argv[3], argc - 4, argv + 4);
	if (argc == 3 && strcmp(argv[1], "runtime") == 0)
		return cmd_runtime(argv[2]);
	fprintf(stderr, "usage: snp_mkevidence init DIR | report DIR OUT "
	    "[options] | azure DIR OUT --nonce TEXT | runtime KEY.pem\n");
	return 1;
}
