/*
 * libskr: the wrapping key in a TPM (docs/libskr.md, "The wrapping key in a
 * TPM"), through the TSS2 ESAPI.
 *
 * The key is the one the Azure guest attestation library names
 * TpmEphemeralEncryptionKey in x-ms-runtime.keys: CreatePrimary in the NULL
 * hierarchy with an RSA-2048 template (nameAlg SHA-256; decrypt, fixedTPM,
 * fixedParent, sensitiveDataOrigin, noDA and not userWithAuth; exponent 0,
 * no scheme, no symmetric algorithm; unique.rsa 256 zero bytes) whose
 * authPolicy is PolicyPCR over the SHA-256 values of PCRs 0-7.  A primary
 * key is derived from the hierarchy's seed and the template, so the same
 * template gives the same key until the NULL seed changes (a TPM reset) or
 * the PCRs do (the template's authPolicy changes with them).
 *
 * Nothing is kept in the TPM or here between operations: each one opens the
 * TCTI, makes the key, uses it, flushes what it loaded and closes.  The
 * private half never leaves the TPM; the decrypted AES key comes back
 * encrypted under a session salted to the key whose modulus was checked
 * against the token.
 */
#include "skr/client.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "buf.h"
#include "client_priv.h"
#include "encoding.h"
#include "guard.h"
#include "jwk.h"

#define KEY_BYTES 256           /* RSA-2048 */
#define PCR_MASK 0xffu          /* PCRs 0-7 */
#define PCR_COUNT 8
#define BINDINGS_MAX 16

/* A key an unwrapper was made for: the template's authPolicy and the
 * modulus the TPM gave for it.  Immutable once made; freed with the
 * skr_tpm, so the unwrappers that point here stay valid until then. */
struct binding {
	struct skr_tpm *tpm;
	uint8_t policy[32];
	uint8_t n[KEY_BYTES];
	char *kid;
	struct binding *next;
};

struct skr_tpm {
	char *tcti;
	pthread_mutex_t mu;     /* one TPM operation at a time; bindings */
	struct binding *bindings;
	size_t nbindings;
};

/* One open TPM. */
struct conn {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};

/* Fill res with r's id and a message of our own; returns r. */
static int fail(skr_result *res, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(skr_result *res, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (res == NULL || r == SKR_OK)
		return r;
	snprintf(res->error_id, sizeof(res->error_id), "%s", skr_err_id(r));
	n = snprintf(res->message, sizeof(res->message), "%s: ",
	    skr_err_id(r));
	if (n > 0 && (size_t)n < sizeof(res->message)) {
		va_start(ap, fmt);
		vsnprintf(res->message + n, sizeof(res->message) - (size_t)n,
		    fmt, ap);
		va_end(ap);
	}
	return r;
}

/* The response code without the session or parameter number it names
 * (TPM 2.0 Part 2, 6.6.3): format-one codes keep bits 0-5 and 7. */
static TSS2_RC
rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	return (rc & TPM2_RC_FMT1) ? (rc & (TPM2_RC_FMT1 | 0x3fu)) : rc;
}

static void
conn_close(struct conn *c)
{
	if (c->esys != NULL)
		Esys_Finalize(&c->esys);
	if (c->tcti != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti);
}

static int
conn_open(const skr_tpm *t, struct conn *c, skr_result *res)
{
	TSS2_RC rc;

	c->tcti = NULL;
	c->esys = NULL;
	if ((rc = Tss2_TctiLdr_Initialize(t->tcti, &c->tcti)) != TSS2_RC_SUCCESS)
		return fail(res, SKR_ERR_TPM_UNAVAILABLE, "cannot open TCTI "
		    "\"%s\": %s", t->tcti, Tss2_RC_Decode(rc));
	if ((rc = Esys_Initialize(&c->esys, c->tcti, NULL)) !=
	    TSS2_RC_SUCCESS) {
		conn_close(c);
		return fail(res, SKR_ERR_TPM_UNAVAILABLE, "TPM at \"%s\": %s",
		    t->tcti, Tss2_RC_Decode(rc));
	}
	return SKR_OK;
}

/* The selection of the SHA-256 bank's PCRs 0-7 with as many select bytes
 * as the TPM has PCRs, as the attestation library builds it: PolicyPCR
 * hashes the selection as given, so its size is part of the policy. */
static int
pcr_selection(const struct conn *c, TPML_PCR_SELECTION *sel, skr_result *res)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	UINT32 count = 0;
	int r;

	memset(sel, 0, sizeof(*sel));
	rc = Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PCR_COUNT, 1, &more,
	    &cap);
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(res, SKR_ERR_TPM_UNAVAILABLE, "GetCapability: %s",
		    Tss2_RC_Decode(rc));
		goto out;
	}
	if (cap->data.tpmProperties.count == 1 &&
	    cap->data.tpmProperties.tpmProperty[0].property ==
	    TPM2_PT_PCR_COUNT)
		count = cap->data.tpmProperties.tpmProperty[0].value;
	if (count < PCR_COUNT || count / 8 > TPM2_PCR_SELECT_MAX) {
		r = fail(res, SKR_ERR_TPM_UNAVAILABLE, "TPM reports %u PCRs",
		    (unsigned)count);
		goto out;
	}
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = (UINT8)(count / 8);
	sel->pcrSelections[0].pcrSelect[0] = PCR_MASK;
	r = SKR_OK;
out:
	Esys_Free(cap);
	return r;
}

/* SHA-256 over the current values of the selected PCRs, in index order
 * (the pcrDigest of PolicyPCR). */
static int
pcr_digest(const struct conn *c, const TPML_PCR_SELECTION *sel,
    uint8_t digest[32], skr_result *res)
{
	TPML_PCR_SELECTION want = *sel, *got = NULL;
	TPML_DIGEST *values = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned int len = 32;
	UINT32 counter;
	TSS2_RC rc;
	size_t have = 0;
	int r;

	SKR_ENSURE((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1, SKR_ERR_CRYPTO);
	/* A TPM may answer part of a selection; ask again for the rest. */
	while (want.pcrSelections[0].pcrSelect[0] != 0) {
		rc = Esys_PCR_Read(c->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, &want, &counter, &got, &values);
		if (rc != TSS2_RC_SUCCESS) {
			r = fail(res, SKR_ERR_TPM_UNAVAILABLE, "PCR_Read: %s",
			    Tss2_RC_Decode(rc));
			goto out;
		}
		if (got->count != 1 || got->pcrSelections[0].hash !=
		    TPM2_ALG_SHA256 || values->count == 0 ||
		    (got->pcrSelections[0].pcrSelect[0] &
		    ~want.pcrSelections[0].pcrSelect[0]) != 0 ||
		    (unsigned)__builtin_popcount(
		    got->pcrSelections[0].pcrSelect[0]) != values->count) {
			r = fail(res, SKR_ERR_TPM_UNAVAILABLE, "the TPM has no "
			    "SHA-256 bank for PCRs 0-7");
			goto out;
		}
		for (UINT32 i = 0; i < values->count; i++) {
			SKR_ENSURE(values->digests[i].size == 32,
			    SKR_ERR_TPM_UNAVAILABLE);
			SKR_ENSURE(EVP_DigestUpdate(md,
			    values->digests[i].buffer, 32) == 1,
			    SKR_ERR_CRYPTO);
		}
		have += values->count;
		want.pcrSelections[0].pcrSelect[0] &=
		    (BYTE)~got->pcrSelections[0].pcrSelect[0];
		Esys_Free(got);
		Esys_Free(values);
		got = NULL;
		values = NULL;
	}
	SKR_ENSURE(have == PCR_COUNT && EVP_DigestFinal_ex(md, digest, &len) ==
	    1, SKR_ERR_CRYPTO);
	r = SKR_OK;
out:
	Esys_Free(got);
	Esys_Free(values);
	EVP_MD_CTX_free(md);
	return r;
}

/*
 * The authPolicy of the template: a policy session's digest after one
 * PolicyPCR from the empty digest (TPM 2.0 Part 3, 23.7):
 *   SHA-256(0^32 || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || pcrDigest)
 */
static int
policy_digest(const TPML_PCR_SELECTION *sel, const uint8_t pcrs[32],
    uint8_t policy[32])
{
	uint8_t msg[32 + 4 + sizeof(TPML_PCR_SELECTION) + 32];
	size_t off = 32;
	unsigned int len = 32;

	memset(msg, 0, 32);
	if (Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PolicyPCR, msg, sizeof(msg),
	    &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPML_PCR_SELECTION_Marshal(sel, msg, sizeof(msg), &off) !=
	    TSS2_RC_SUCCESS || off + 32 > sizeof(msg))
		return SKR_ERR_INTERNAL;
	memcpy(msg + off, pcrs, 32);
	off += 32;
	return EVP_Digest(msg, off, policy, &len, EVP_sha256(), NULL) == 1 ?
	    SKR_OK : SKR_ERR_CRYPTO;
}

/* Make the key of the template with authPolicy policy; *h (flush it) and
 * its modulus. */
static int
create_key(const struct conn *c, const uint8_t policy[32], ESYS_TR *h,
    uint8_t n[KEY_BYTES], skr_result *res)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION creation;
	TPMT_PUBLIC *a = &tmpl.publicArea;
	TSS2_RC rc;
	int r;

	*h = ESYS_TR_NONE;
	memset(&sens, 0, sizeof(sens));
	memset(&tmpl, 0, sizeof(tmpl));
	memset(&outside, 0, sizeof(outside));
	memset(&creation, 0, sizeof(creation));
	a->type = TPM2_ALG_RSA;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_NODA;
	a->authPolicy.size = 32;
	memcpy(a->authPolicy.buffer, policy, 32);
	a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	a->parameters.rsaDetail.keyBits = 2048;
	a->parameters.rsaDetail.exponent = 0;
	a->unique.rsa.size = KEY_BYTES;  /* zeros */
	rc = Esys_CreatePrimary(c->esys, ESYS_TR_RH_NULL, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &creation, h,
	    &pub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		*h = ESYS_TR_NONE;
		r = fail(res, SKR_ERR_TPM_UNAVAILABLE, "CreatePrimary: %s",
		    Tss2_RC_Decode(rc));
		goto out;
	}
	if (pub->publicArea.type != TPM2_ALG_RSA ||
	    pub->publicArea.unique.rsa.size != KEY_BYTES ||
	    (pub->publicArea.parameters.rsaDetail.exponent != 0 &&
	    pub->publicArea.parameters.rsaDetail.exponent != 65537)) {
		r = fail(res, SKR_ERR_TPM_UNAVAILABLE, "CreatePrimary gave "
		    "an unexpected key");
		goto out;
	}
	memcpy(n, pub->publicArea.unique.rsa.buffer, KEY_BYTES);
	r = SKR_OK;
out:
	if (r != SKR_OK && *h != ESYS_TR_NONE) {
		Esys_FlushContext(c->esys, *h);
		*h = ESYS_TR_NONE;
	}
	Esys_Free(pub);
	return r;
}

/* The key the TPM makes now: the template's policy and the modulus. */
static int
key_now(skr_tpm *t, uint8_t policy[32], uint8_t n[KEY_BYTES],
    skr_result *res)
{
	struct conn c;
	TPML_PCR_SELECTION sel;
	uint8_t pcrs[32];
	ESYS_TR h = ESYS_TR_NONE;
	int r;

	pthread_mutex_lock(&t->mu);
	if ((r = conn_open(t, &c, res)) != SKR_OK)
		goto unlock;
	SKR_GUARD(pcr_selection(&c, &sel, res));
	SKR_GUARD(pcr_digest(&c, &sel, pcrs, res));
	SKR_GUARD(policy_digest(&sel, pcrs, policy));
	SKR_GUARD(create_key(&c, policy, &h, n, res));
	Esys_FlushContext(c.esys, h);
out:
	conn_close(&c);
unlock:
	pthread_mutex_unlock(&t->mu);
	return r;
}

/* The public key of modulus n (exponent 65537). */
static int
rsa_public(const uint8_t n[KEY_BYTES], skr_key **out)
{
	skr_buf nb = SKR_BUF_INIT;
	json_t *jwk = NULL;
	int r;

	*out = NULL;
	SKR_GUARD(skr_b64url_encode(&nb, n, KEY_BYTES));
	SKR_ENSURE((jwk = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n",
	    skr_buf_cstr(&nb), "e", "AQAB")) != NULL, SKR_ERR_NOMEM);
	r = skr_jwk_parse(jwk, SKR_JWK_PUBLIC, out);
out:
	json_decref(jwk);
	skr_buf_free(&nb);
	return r;
}

/* ---- decryption ---- */

static int
oaep_hash(const char *md, TPMI_ALG_HASH *alg)
{
	if (strcmp(md, "SHA1") == 0)
		*alg = TPM2_ALG_SHA1;
	else if (strcmp(md, "SHA256") == 0)
		*alg = TPM2_ALG_SHA256;
	else if (strcmp(md, "SHA384") == 0)
		*alg = TPM2_ALG_SHA384;
	else
		return 0;
	return 1;
}

/*
 * skr_decrypt_fn for a binding: make the bound key again (the same
 * template, so a different modulus means the TPM was reset), authorize it
 * with PolicyPCR over the PCRs as they are now (a different digest than the
 * key's authPolicy means they changed), and decrypt with a second session,
 * salted to that key, encrypting the command's ciphertext and the
 * response's AES key on the way.
 */
static int
tpm_decrypt(void *ctx, const char *md, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen)
{
	const struct binding *b = ctx;
	skr_tpm *t = b->tpm;
	const TPMT_SYM_DEF aes = { .algorithm = TPM2_ALG_AES,
	    .keyBits = { .aes = 128 }, .mode = { .aes = TPM2_ALG_CFB } };
	const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TPM2B_PUBLIC_KEY_RSA ct, *pt = NULL;
	TPMT_RSA_DECRYPT scheme;
	TPM2B_DIGEST empty;
	TPML_PCR_SELECTION sel;
	ESYS_TR key = ESYS_TR_NONE, policy = ESYS_TR_NONE, salted = ESYS_TR_NONE;
	uint8_t n[KEY_BYTES];
	struct conn c;
	TSS2_RC rc;
	int r;

	memset(&scheme, 0, sizeof(scheme));
	memset(&empty, 0, sizeof(empty));
	scheme.scheme = TPM2_ALG_OAEP;
	if (!oaep_hash(md, &scheme.details.oaep.hashAlg) || inlen != KEY_BYTES)
		return -1;
	ct.size = KEY_BYTES;
	memcpy(ct.buffer, in, KEY_BYTES);
	pthread_mutex_lock(&t->mu);
	if ((r = conn_open(t, &c, NULL)) != SKR_OK)
		goto unlock;
	SKR_GUARD(pcr_selection(&c, &sel, NULL));
	SKR_GUARD(create_key(&c, b->policy, &key, n, NULL));
	SKR_ENSURE(memcmp(n, b->n, KEY_BYTES) == 0, SKR_ERR_TPM_KEY_MISMATCH);
	rc = Esys_StartAuthSession(c.esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
	    &none, TPM2_ALG_SHA256, &policy);
	SKR_ENSURE(rc == TSS2_RC_SUCCESS, SKR_ERR_TPM_UNAVAILABLE);
	rc = Esys_PolicyPCR(c.esys, policy, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &empty, &sel);
	SKR_ENSURE(rc == TSS2_RC_SUCCESS, SKR_ERR_TPM_UNAVAILABLE);
	rc = Esys_StartAuthSession(c.esys, key, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &aes,
	    TPM2_ALG_SHA256, &salted);
	SKR_ENSURE(rc == TSS2_RC_SUCCESS, SKR_ERR_TPM_UNAVAILABLE);
	rc = Esys_TRSess_SetAttributes(c.esys, salted, TPMA_SESSION_DECRYPT |
	    TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
	SKR_ENSURE(rc == TSS2_RC_SUCCESS, SKR_ERR_TPM_UNAVAILABLE);
	rc = Esys_RSA_Decrypt(c.esys, key, policy, salted, ESYS_TR_NONE, &ct,
	    &scheme, NULL, &pt);
	if (rc != TSS2_RC_SUCCESS) {
		pt = NULL;
		/* The authorization is checked before the ciphertext is
		 * looked at, and the TSS's own errors are the transport's:
		 * neither says anything about the ciphertext.  What the TPM
		 * says of it is UNWRAP, whatever the reason. */
		if (rc_base(rc) == TPM2_RC_POLICY_FAIL)
			r = SKR_ERR_TPM_POLICY;
		else if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
			r = SKR_ERR_TPM_UNAVAILABLE;
		else
			r = SKR_ERR_UNWRAP;
		goto out;
	}
	SKR_ENSURE(pt->size <= *outlen, SKR_ERR_UNWRAP);
	memcpy(out, pt->buffer, pt->size);
	*outlen = pt->size;
	r = SKR_OK;
out:
	if (pt != NULL)
		OPENSSL_cleanse(pt, sizeof(*pt));
	Esys_Free(pt);
	if (salted != ESYS_TR_NONE)
		Esys_FlushContext(c.esys, salted);
	if (policy != ESYS_TR_NONE)
		Esys_FlushContext(c.esys, policy);
	if (key != ESYS_TR_NONE)
		Esys_FlushContext(c.esys, key);
	conn_close(&c);
unlock:
	pthread_mutex_unlock(&t->mu);
	OPENSSL_cleanse(&ct, sizeof(ct));
	return r;
}

/* ---- the public functions ---- */

/* The TSS prints its warnings and errors on standard error, and a library
 * prints nothing (docs/libskr.md): silence it, unless the caller's
 * environment already says how loud it should be. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void
quiet_tss(void)
{
	(void)setenv("TSS2_LOG", "all+NONE", 0);
}

int
skr_tpm_open(const char *tcti, skr_tpm **out, skr_result *res)
{
	skr_tpm *t = NULL;
	struct conn c;
	TPML_PCR_SELECTION sel;
	int r, mu = 0;

	skr__start(res, NULL);
	if (out == NULL)
		return skr__refuse(res, SKR_ERR_INVAL);
	*out = NULL;
	pthread_once(&quiet_once, quiet_tss);
	SKR_ENSURE((t = calloc(1, sizeof(*t))) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((t->tcti = strdup(tcti != NULL ? tcti :
	    SKR_TPM_TCTI_DEFAULT)) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(pthread_mutex_init(&t->mu, NULL) == 0, SKR_ERR_NOMEM);
	mu = 1;
	/* Reach it now, so that a missing TPM is told here. */
	SKR_GUARD(conn_open(t, &c, res));
	r = pcr_selection(&c, &sel, res);
	conn_close(&c);
	if (r != SKR_OK)
		goto out;
	*out = t;
	t = NULL;
out:
	if (t != NULL) {
		if (mu)
			pthread_mutex_destroy(&t->mu);
		free(t->tcti);
		free(t);
	}
	return skr__refuse(res, r);
}

void
skr_tpm_close(skr_tpm *t)
{
	struct binding *b, *next;

	if (t == NULL)
		return;
	for (b = t->bindings; b != NULL; b = next) {
		next = b->next;
		free(b->kid);
		free(b);
	}
	pthread_mutex_destroy(&t->mu);
	free(t->tcti);
	free(t);
}

int
skr_tpm_pubkey(skr_tpm *t, skr_tpm_format format, char **out,
    skr_result *res)
{
	uint8_t policy[32], n[KEY_BYTES];
	skr_buf pem = SKR_BUF_INIT;
	skr_key *k = NULL;
	json_t *jwk = NULL;
	int r;

	skr__start(res, out);
	if (t == NULL || out == NULL || (format != SKR_TPM_PEM &&
	    format != SKR_TPM_JWK))
		return skr__refuse(res, SKR_ERR_INVAL);
	SKR_GUARD(key_now(t, policy, n, res));
	SKR_GUARD(rsa_public(n, &k));
	if (format == SKR_TPM_PEM) {
		SKR_GUARD(skr_key_to_pem(k, 0, &pem));
		SKR_ENSURE((*out = strdup(skr_buf_cstr(&pem))) != NULL,
		    SKR_ERR_NOMEM);
	} else {
		SKR_ENSURE((jwk = skr_jwk_emit(k, 0)) != NULL, SKR_ERR_NOMEM);
		SKR_ENSURE(json_object_set_new(jwk, "kid",
		    json_string(SKR_TPM_KID)) == 0 && json_object_set_new(jwk,
		    "key_ops", json_pack("[s]", "encrypt")) == 0,
		    SKR_ERR_NOMEM);
		SKR_ENSURE((*out = json_dumps(jwk, JSON_COMPACT)) != NULL,
		    SKR_ERR_NOMEM);
	}
	r = SKR_OK;
out:
	json_decref(jwk);
	skr_key_free(k);
	skr_buf_free(&pem);
	return skr__refuse(res, r);
}

/* The binding for (kid, policy, n), made once. */
static int
bind(skr_tpm *t, const char *kid, const uint8_t policy[32],
    const uint8_t n[KEY_BYTES], struct binding **out)
{
	struct binding *b;
	int r = SKR_OK;

	pthread_mutex_lock(&t->mu);
	for (b = t->bindings; b != NULL; b = b->next)
		if (strcmp(b->kid, kid) == 0 && memcmp(b->policy, policy,
		    32) == 0 && memcmp(b->n, n, KEY_BYTES) == 0)
			goto found;
	/* Each new PCR state or TPM reset makes one; a process that sees
	 * more than a few is not a VM at boot. */
	SKR_ENSURE(t->nbindings < BINDINGS_MAX, SKR_ERR_TOO_LARGE);
	SKR_ENSURE((b = calloc(1, sizeof(*b))) != NULL, SKR_ERR_NOMEM);
	if ((b->kid = strdup(kid)) == NULL) {
		free(b);
		r = SKR_ERR_NOMEM;
		goto out;
	}
	b->tpm = t;
	memcpy(b->policy, policy, 32);
	memcpy(b->n, n, KEY_BYTES);
	b->next = t->bindings;
	t->bindings = b;
	t->nbindings++;
found:
	*out = b;
out:
	pthread_mutex_unlock(&t->mu);
	return r;
}

int
skr_tpm_unwrapper(skr_tpm *t, const char *token, skr_unwrapper *u,
    skr_result *res)
{
	uint8_t policy[32], n[KEY_BYTES];
	struct binding *b;
	skr_key *want = NULL, *have = NULL;
	char *kid = NULL;
	int r;

	skr__start(res, NULL);
	if (t == NULL || token == NULL || u == NULL)
		return skr__refuse(res, SKR_ERR_INVAL);
	memset(u, 0, sizeof(*u));
	/* What the token asks for first: it costs no TPM round trip. */
	if ((r = skr__token_wrapping_key(token, strlen(token), &want,
	    &kid)) != SKR_OK) {
		r = fail(res, r, "the token names no usable wrapping key in "
		    "%s", SKR__WRAPKEY_CLAIM);
		goto out;
	}
	SKR_GUARD(key_now(t, policy, n, res));
	SKR_GUARD(rsa_public(n, &have));
	if (!skr_key_public_equal(want, have)) {
		r = fail(res, SKR_ERR_TPM_KEY_MISMATCH, "the token's wrapping "
		    "key \"%s\" is not the key this TPM makes now: the token "
		    "was made for another TPM, or this TPM was reset or its "
		    "PCRs 0-7 changed since", kid);
		goto out;
	}
	SKR_GUARD(bind(t, kid, policy, n, &b));
	u->decrypt = tpm_decrypt;
	u->ctx = b;
	u->modulus_len = KEY_BYTES;
	u->kid = b->kid;
out:
	skr_key_free(want);
	skr_key_free(have);
	free(kid);
	return skr__refuse(res, r);
}
