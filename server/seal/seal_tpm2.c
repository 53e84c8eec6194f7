/*
 * The TPM 2.0 seal (docs/sealing.md, "TPM 2.0"): the keyring is the
 * sensitive data of a sealed data object (a keyed-hash object with no
 * scheme) created under a primary key of the storage (owner) hierarchy.
 * The primary key comes from a fixed template -- the usual ECC P-256
 * storage key with AES-128-CFB -- so the TPM makes the same key after
 * every reboot and only this TPM, while its owner seed stays, can load the
 * object.  With PCRs the object's authPolicy is PolicyPCR over their values
 * at init (computed by the TPM in a trial session): unsealing then needs
 * the same values.
 *
 * Create and Unseal run in a session salted with the primary key, with
 * parameter encryption: the keyring crosses the bus to and from the TPM
 * encrypted (AES-128-CFB), never in the clear.
 *
 *   blob = 0x01 || TPM2B_PUBLIC || TPM2B_PRIVATE (TPM marshalling)
 */
#include "seal_kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "guard.h"
#include "skr/error.h"

#define BLOB_FORMAT 1
#define KEYRING_MAX 128 /* MAX_SYM_DATA: what a sealed object may hold */

struct tpm2 {
	char *tcti;                 /* NULL: the TSS's default */
	TPML_PCR_SELECTION pcrs;    /* count 0: no PCR policy */
};

struct conn {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	ESYS_TR session;
};

/* The response code without the handle, session or parameter it names. */
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
	if (c->esys != NULL) {
		if (c->session != ESYS_TR_NONE)
			Esys_FlushContext(c->esys, c->session);
		if (c->primary != ESYS_TR_NONE)
			Esys_FlushContext(c->esys, c->primary);
		Esys_Finalize(&c->esys);
	}
	if (c->tcti != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti);
}

/* The storage primary key of the fixed template. */
static int
primary_make(struct conn *c)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION creation;
	TPMT_PUBLIC *a = &tmpl.publicArea;
	TSS2_RC rc;

	memset(&sens, 0, sizeof(sens));
	memset(&tmpl, 0, sizeof(tmpl));
	memset(&outside, 0, sizeof(outside));
	memset(&creation, 0, sizeof(creation));
	a->type = TPM2_ALG_ECC;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
	    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_NODA;
	a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	a->parameters.eccDetail.symmetric.keyBits.aes = 128;
	a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	rc = Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &creation,
	    &c->primary, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		c->primary = ESYS_TR_NONE;
		return SKR_ERR_SEAL_UNAVAILABLE;
	}
	return SKR_OK;
}

/* A session salted with the primary key, AES-128-CFB parameter
 * encryption; type TPM2_SE_HMAC, TPM2_SE_POLICY or TPM2_SE_TRIAL. */
static int
session_start(struct conn *c, TPM2_SE type, TPMA_SESSION attrs)
{
	TPMT_SYM_DEF sym;
	TSS2_RC rc;

	memset(&sym, 0, sizeof(sym));
	sym.algorithm = TPM2_ALG_AES;
	sym.keyBits.aes = 128;
	sym.mode.aes = TPM2_ALG_CFB;
	rc = Esys_StartAuthSession(c->esys, c->primary, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, type, &sym,
	    TPM2_ALG_SHA256, &c->session);
	if (rc != TSS2_RC_SUCCESS) {
		c->session = ESYS_TR_NONE;
		return SKR_ERR_SEAL_UNAVAILABLE;
	}
	if (Esys_TRSess_SetAttributes(c->esys, c->session, attrs, 0xff) !=
	    TSS2_RC_SUCCESS)
		return SKR_ERR_SEAL_UNAVAILABLE;
	return SKR_OK;
}

static int
conn_open(const struct tpm2 *t, struct conn *c)
{
	int r;

	/* The TSS logs to stderr; skrd names the cause in one line of its
	 * own.  An operator's TSS2_LOG wins. */
	(void)setenv("TSS2_LOG", "all+NONE", 0);
	memset(c, 0, sizeof(*c));
	c->primary = ESYS_TR_NONE;
	c->session = ESYS_TR_NONE;
	if (Tss2_TctiLdr_Initialize(t->tcti, &c->tcti) != TSS2_RC_SUCCESS) {
		c->tcti = NULL;
		return SKR_ERR_SEAL_UNAVAILABLE;
	}
	if (Esys_Initialize(&c->esys, c->tcti, NULL) != TSS2_RC_SUCCESS) {
		c->esys = NULL;
		return SKR_ERR_SEAL_UNAVAILABLE;
	}
	SKR_GUARD(primary_make(c));
out:
	return r;
}

/* The PolicyPCR digest of the current values of t's PCRs, from a trial
 * session. */
static int
policy_now(struct conn *c, const struct tpm2 *t, TPM2B_DIGEST *out)
{
	TPM2B_DIGEST empty, *d = NULL;
	ESYS_TR trial = ESYS_TR_NONE;
	TPMT_SYM_DEF sym;
	int r = SKR_ERR_SEAL_UNAVAILABLE;

	memset(&empty, 0, sizeof(empty));
	memset(&sym, 0, sizeof(sym));
	sym.algorithm = TPM2_ALG_NULL;
	if (Esys_StartAuthSession(c->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
	    &sym, TPM2_ALG_SHA256, &trial) != TSS2_RC_SUCCESS)
		return r;
	if (Esys_PolicyPCR(c->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &empty, &t->pcrs) == TSS2_RC_SUCCESS &&
	    Esys_PolicyGetDigest(c->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &d) == TSS2_RC_SUCCESS) {
		*out = *d;
		r = SKR_OK;
	}
	Esys_Free(d);
	Esys_FlushContext(c->esys, trial);
	return r;
}

static int
tpm2_wrap(void *ctx, const uint8_t *pt, size_t n, skr_buf *blob)
{
	struct tpm2 *t = ctx;
	struct conn c;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION creation;
	TPMT_PUBLIC *a = &tmpl.publicArea;
	uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE) + 1];
	size_t off = 1;
	int r;

	memset(&sens, 0, sizeof(sens));
	memset(&tmpl, 0, sizeof(tmpl));
	memset(&outside, 0, sizeof(outside));
	memset(&creation, 0, sizeof(creation));
	if (n > KEYRING_MAX)
		return SKR_ERR_TOO_LARGE;
	SKR_GUARD(conn_open(t, &c));
	a->type = TPM2_ALG_KEYEDHASH;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_NODA;
	a->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (t->pcrs.count > 0)
		SKR_GUARD(policy_now(&c, t, &a->authPolicy));
	else
		a->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	sens.sensitive.data.size = (UINT16)n;
	memcpy(sens.sensitive.data.buffer, pt, n);
	/* The sensitive data is Create's first parameter: sent encrypted. */
	SKR_GUARD(session_start(&c, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT |
	    TPMA_SESSION_CONTINUESESSION));
	SKR_ENSURE(Esys_Create(c.esys, c.primary, c.session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &creation, &priv, &pub,
	    NULL, NULL, NULL) == TSS2_RC_SUCCESS, SKR_ERR_SEAL_UNAVAILABLE);
	buf[0] = BLOB_FORMAT;
	SKR_ENSURE(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) ==
	    TSS2_RC_SUCCESS && Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf,
	    sizeof(buf), &off) == TSS2_RC_SUCCESS, SKR_ERR_INTERNAL);
	SKR_GUARD(skr_buf_append(blob, buf, off));
out:
	skr_wipe(&sens, sizeof(sens));
	Esys_Free(pub);
	Esys_Free(priv);
	conn_close(&c);
	return r;
}

static int
tpm2_unwrap(void *ctx, const uint8_t *blob, size_t n, skr_buf *pt)
{
	struct tpm2 *t = ctx;
	struct conn c;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPM2B_DIGEST empty;
	ESYS_TR obj = ESYS_TR_NONE;
	size_t off = 1;
	TSS2_RC rc;
	int r;

	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	memset(&empty, 0, sizeof(empty));
	memset(&c, 0, sizeof(c));
	SKR_ENSURE(n > 1 && blob[0] == BLOB_FORMAT &&
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, n, &off, &pub) ==
	    TSS2_RC_SUCCESS && Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, n, &off,
	    &priv) == TSS2_RC_SUCCESS && off == n, SKR_ERR_MASTER_KEY);
	SKR_GUARD(conn_open(t, &c));
	rc = Esys_Load(c.esys, c.primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &priv, &pub, &obj);
	if (rc != TSS2_RC_SUCCESS) {
		obj = ESYS_TR_NONE;
		/* Another TPM, or an owner hierarchy cleared since init: the
		 * object's integrity no longer checks under this primary. */
		rc = rc_base(rc);
		r = rc == TPM2_RC_INTEGRITY || rc == (TPM2_RC_FMT1 |
		    (TPM2_RC_INTEGRITY & 0x3f)) || rc == (TPM2_RC_FMT1 | 0x1f) ?
		    SKR_ERR_SEAL_KEY : SKR_ERR_SEAL_UNAVAILABLE;
		goto out;
	}
	/* The keyring comes back as Unseal's response parameter:
	 * encrypted on its way out of the TPM. */
	if (t->pcrs.count > 0) {
		SKR_GUARD(session_start(&c, TPM2_SE_POLICY,
		    TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION));
		SKR_ENSURE(Esys_PolicyPCR(c.esys, c.session, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &empty, &t->pcrs) ==
		    TSS2_RC_SUCCESS, SKR_ERR_SEAL_UNAVAILABLE);
	} else
		SKR_GUARD(session_start(&c, TPM2_SE_HMAC, TPMA_SESSION_ENCRYPT |
		    TPMA_SESSION_CONTINUESESSION));
	rc = Esys_Unseal(c.esys, obj, c.session, ESYS_TR_NONE, ESYS_TR_NONE,
	    &data);
	if (rc != TSS2_RC_SUCCESS) {
		data = NULL;
		rc = rc_base(rc);
		r = rc == (TPM2_RC_FMT1 | (TPM2_RC_POLICY_FAIL & 0x3f)) ||
		    rc == TPM2_RC_PCR_CHANGED ? SKR_ERR_SEAL_POLICY :
		    SKR_ERR_SEAL_UNAVAILABLE;
		goto out;
	}
	SKR_GUARD(skr_buf_append(pt, data->buffer, data->size));
out:
	if (data != NULL) {
		skr_wipe(data, sizeof(*data));
		Esys_Free(data);
	}
	if (obj != ESYS_TR_NONE)
		Esys_FlushContext(c.esys, obj);
	conn_close(&c);
	return r;
}

static void
tpm2_free(void *ctx)
{
	struct tpm2 *t = ctx;

	if (t == NULL)
		return;
	free(t->tcti);
	free(t);
}

static const skr_seal_ops tpm2_ops = {
	.name = "tpm2",
	.wrap = tpm2_wrap,
	.unwrap = tpm2_unwrap,
	.free = tpm2_free,
};

/* "sha256:0,7": the SHA-256 bank's PCRs 0 to 23. */
static int
pcrs_parse(const char *s, TPML_PCR_SELECTION *sel)
{
	const char *p;
	char *end;
	long v;

	memset(sel, 0, sizeof(*sel));
	if (s == NULL || *s == '\0')
		return SKR_OK;
	if (strncmp(s, "sha256:", 7) != 0)
		return SKR_ERR_CONFIG;
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (p = s + 7; ; p = end + 1) {
		if (*p < '0' || *p > '9')
			return SKR_ERR_CONFIG;
		v = strtol(p, &end, 10);
		if (v < 0 || v > 23 || (*end != ',' && *end != '\0'))
			return SKR_ERR_CONFIG;
		sel->pcrSelections[0].pcrSelect[v / 8] |= (BYTE)(1u << (v % 8));
		if (*end == '\0')
			break;
	}
	return SKR_OK;
}

static int
tpm2_make(const char *tcti, const char *pcrs, struct tpm2 **out)
{
	struct tpm2 *t = NULL;
	int r;

	*out = NULL;
	SKR_ENSURE((t = calloc(1, sizeof(*t))) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(tcti == NULL || (t->tcti = strdup(tcti)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_GUARD(pcrs_parse(pcrs, &t->pcrs));
	*out = t;
	t = NULL;
out:
	tpm2_free(t);
	return r;
}

static int
tpm2_create(const skr_seal_opts *o, json_t *settings, void **ctx,
    skr_seal_shares *shares)
{
	struct tpm2 *t = NULL;
	int r;

	(void)shares;
	*ctx = NULL;
	SKR_GUARD(tpm2_make(o->tcti, o->tpm_pcrs, &t));
	SKR_ENSURE((o->tcti == NULL || json_object_set_new(settings, "tcti",
	    json_string(o->tcti)) == 0) && (o->tpm_pcrs == NULL ||
	    json_object_set_new(settings, "pcrs",
	    json_string(o->tpm_pcrs)) == 0), SKR_ERR_NOMEM);
	*ctx = t;
	t = NULL;
out:
	tpm2_free(t);
	return r;
}

static int
tpm2_open(const json_t *settings, const skr_seal_opts *o, void **ctx)
{
	const char *tcti = o->tcti != NULL ? o->tcti :
	    json_string_value(json_object_get(settings, "tcti"));

	return tpm2_make(tcti, json_string_value(json_object_get(settings,
	    "pcrs")), (struct tpm2 **)ctx);
}

static int
opt_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
tpm2_same(const json_t *settings, const skr_seal_opts *o)
{
	return opt_eq(json_string_value(json_object_get(settings, "tcti")),
	    o->tcti) && opt_eq(json_string_value(json_object_get(settings,
	    "pcrs")), o->tpm_pcrs);
}

const skr_seal_kind skr__seal_tpm2 = {
	.name = "tpm2",
	.ops = &tpm2_ops,
	.create = tpm2_create,
	.open = tpm2_open,
	.same = tpm2_same,
};
