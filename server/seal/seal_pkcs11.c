/*
 * The PKCS#11 seal (docs/sealing.md, "PKCS#11"): the keyring is encrypted
 * inside a token by an AES-256 key that the token made and never lets out
 * (CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE), with
 * CKM_AES_GCM: an authenticated mode, so that a blob changed on disk or
 * sealed by another token's key is refused rather than decrypted into
 * noise, and one that SoftHSM2 and the common network and USB HSMs all
 * implement.  Key wrapping (CKM_AES_KEY_WRAP_PAD) would need the keyring
 * as a key object on the token; GCM encrypts it as data and needs nothing
 * left on the token but the wrapping key.
 *
 *   blob = 0x01 || IV (12 bytes, from our CSPRNG) || ciphertext || tag (16)
 *
 * The associated data is "skr/v1/pkcs11\0" and the format byte.  The
 * module is loaded with dlopen; the PIN comes from SKR_PKCS11_PIN or a
 * file, is kept only in memory and never logged.
 */
#include "seal_kinds.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "guard.h"
#include "random.h"
#include "skr/error.h"

#define DEFAULT_KEY_LABEL "skr-master-wrap"
#define BLOB_FORMAT 1
#define IV_LEN 12
#define TAG_LEN 16
#define AAD_LABEL "skr/v1/pkcs11"
#define PIN_MAX 256

struct p11 {
	void *dl;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE key;
	int initialized, open;
};

/*
 * C_Initialize and C_Finalize are per process and module, while two seals
 * may share a module (a migration from one token to another): the module
 * is finalized when the last seal that initialized it goes.
 */
#define MODULES_MAX 8
static pthread_mutex_t modules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	CK_FUNCTION_LIST *f;
	int refs;
} modules[MODULES_MAX];

/* Initialize f or count one more user of it; 1 when this process
 * initialized it (and so finalizes it). */
static int
module_init(CK_FUNCTION_LIST *f, CK_RV *rv)
{
	CK_C_INITIALIZE_ARGS args;
	int i, mine = 0;

	pthread_mutex_lock(&modules_mu);
	for (i = 0; i < MODULES_MAX; i++)
		if (modules[i].f == f && modules[i].refs > 0) {
			modules[i].refs++;
			*rv = CKR_OK;
			mine = 1;
			goto out;
		}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	*rv = f->C_Initialize(&args);
	if (*rv == CKR_OK) {
		for (i = 0; i < MODULES_MAX && modules[i].refs > 0; i++)
			;
		if (i < MODULES_MAX) {
			modules[i].f = f;
			modules[i].refs = 1;
			mine = 1;
		}
	}
out:
	pthread_mutex_unlock(&modules_mu);
	return mine;
}

static void
module_fini(CK_FUNCTION_LIST *f)
{
	pthread_mutex_lock(&modules_mu);
	for (int i = 0; i < MODULES_MAX; i++)
		if (modules[i].f == f && modules[i].refs > 0) {
			if (--modules[i].refs == 0)
				(void)f->C_Finalize(NULL);
			break;
		}
	pthread_mutex_unlock(&modules_mu);
}

static void
p11_free(void *ctx)
{
	struct p11 *p = ctx;

	if (p == NULL)
		return;
	if (p->open)
		(void)p->f->C_CloseSession(p->session);
	if (p->initialized)
		module_fini(p->f);
	if (p->dl != NULL)
		dlclose(p->dl);
	free(p);
}

/* The PIN: SKR_PKCS11_PIN, else the first line of file. */
static int
pin_read(const char *file, char pin[PIN_MAX])
{
	const char *env = getenv("SKR_PKCS11_PIN");
	ssize_t n;
	size_t len;
	int fd;

	pin[0] = '\0';
	if (env != NULL && *env != '\0') {
		if (strlen(env) >= PIN_MAX)
			return SKR_ERR_SEAL_AUTH;
		memcpy(pin, env, strlen(env) + 1);
		return SKR_OK;
	}
	if (file == NULL)
		return SKR_ERR_SEAL_AUTH;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return SKR_ERR_SEAL_AUTH;
	do
		n = read(fd, pin, PIN_MAX - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return SKR_ERR_SEAL_AUTH;
	pin[n] = '\0';
	len = strcspn(pin, "\r\n");
	pin[len] = '\0';
	return len > 0 ? SKR_OK : SKR_ERR_SEAL_AUTH;
}

/* The label of a token, blank-padded to 32 bytes as PKCS#11 keeps it. */
static int
label_is(const unsigned char lab[32], const char *want)
{
	size_t n = strlen(want), i;

	if (n > 32 || memcmp(lab, want, n) != 0)
		return 0;
	for (i = n; i < 32; i++)
		if (lab[i] != ' ' && lab[i] != '\0')
			return 0;
	return 1;
}

static int
find_key(struct p11 *p, const char *label, CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_ULONG n = 0;
	CK_RV rv;

	*out = CK_INVALID_HANDLE;
	if (p->f->C_FindObjectsInit(p->session, tmpl, 3) != CKR_OK)
		return SKR_ERR_SEAL_UNAVAILABLE;
	rv = p->f->C_FindObjects(p->session, out, 1, &n);
	(void)p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		return SKR_ERR_SEAL_UNAVAILABLE;
	return n == 1 ? SKR_OK : SKR_ERR_SEAL_KEY;
}

/* A new AES-256 key that never leaves the token and only encrypts and
 * decrypts. */
static int
make_key(struct p11 *p, const char *label, CK_OBJECT_HANDLE *out)
{
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_SIGN, &no, sizeof(no) },
		{ CKA_VERIFY, &no, sizeof(no) },
	};

	return p->f->C_GenerateKey(p->session, &mech, tmpl,
	    sizeof(tmpl) / sizeof(tmpl[0]), out) == CKR_OK ? SKR_OK :
	    SKR_ERR_SEAL_UNAVAILABLE;
}

/* Load the module, find the token, log in and find (or, with create,
 * make) the key. */
static int
p11_connect(const char *module, const char *token, const char *pin_file,
    const char *label, int create, struct p11 **out)
{
	CK_RV (*get)(CK_FUNCTION_LIST **);
	CK_SLOT_ID slots[64], slot = 0;
	CK_ULONG nslots = 64, i;
	CK_TOKEN_INFO ti;
	struct p11 *p = NULL;
	char pin[PIN_MAX];
	int r, found = 0;
	CK_RV rv;

	*out = NULL;
	SKR_ENSURE(module != NULL && token != NULL && label != NULL,
	    SKR_ERR_CONFIG);
	SKR_ENSURE((p = calloc(1, sizeof(*p))) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) != NULL,
	    SKR_ERR_SEAL_UNAVAILABLE);
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	SKR_ENSURE(get != NULL && get(&p->f) == CKR_OK && p->f != NULL,
	    SKR_ERR_SEAL_UNAVAILABLE);
	p->initialized = module_init(p->f, &rv);
	SKR_ENSURE(rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED,
	    SKR_ERR_SEAL_UNAVAILABLE);
	SKR_ENSURE(p->f->C_GetSlotList(CK_TRUE, slots, &nslots) == CKR_OK,
	    SKR_ERR_SEAL_UNAVAILABLE);
	for (i = 0; i < nslots && !found; i++)
		if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    label_is(ti.label, token)) {
			slot = slots[i];
			found = 1;
		}
	SKR_ENSURE(found, SKR_ERR_SEAL_UNAVAILABLE);
	SKR_ENSURE(p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &p->session) == CKR_OK, SKR_ERR_SEAL_UNAVAILABLE);
	p->open = 1;
	SKR_GUARD(pin_read(pin_file, pin));
	rv = p->f->C_Login(p->session, CKU_USER, (unsigned char *)pin,
	    strlen(pin));
	skr_wipe(pin, sizeof(pin));
	SKR_ENSURE(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN,
	    rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE ||
	    rv == CKR_PIN_INVALID || rv == CKR_PIN_LOCKED ||
	    rv == CKR_PIN_EXPIRED ? SKR_ERR_SEAL_AUTH :
	    SKR_ERR_SEAL_UNAVAILABLE);
	r = find_key(p, label, &p->key);
	if (r == SKR_ERR_SEAL_KEY && create)
		r = make_key(p, label, &p->key);
	SKR_GUARD(r);
	*out = p;
	p = NULL;
out:
	skr_wipe(pin, sizeof(pin));
	p11_free(p);
	return r;
}

static int
gcm(struct p11 *p, int enc, const uint8_t iv[IV_LEN], const uint8_t *in,
    size_t n, uint8_t *out, CK_ULONG *outlen)
{
	uint8_t aad[sizeof(AAD_LABEL) + 1];
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech = { CKM_AES_GCM, &gp, sizeof(gp) };
	CK_RV rv;

	memcpy(aad, AAD_LABEL, sizeof(AAD_LABEL));
	aad[sizeof(AAD_LABEL)] = BLOB_FORMAT;
	memset(&gp, 0, sizeof(gp));
	gp.pIv = (unsigned char *)iv;
	gp.ulIvLen = IV_LEN;
	gp.ulIvBits = IV_LEN * 8;
	gp.pAAD = aad;
	gp.ulAADLen = sizeof(aad);
	gp.ulTagBits = TAG_LEN * 8;
	if (enc) {
		if (p->f->C_EncryptInit(p->session, &mech, p->key) != CKR_OK)
			return SKR_ERR_SEAL_UNAVAILABLE;
		rv = p->f->C_Encrypt(p->session, (unsigned char *)in, n, out,
		    outlen);
		return rv == CKR_OK ? SKR_OK : SKR_ERR_SEAL_UNAVAILABLE;
	}
	if (p->f->C_DecryptInit(p->session, &mech, p->key) != CKR_OK)
		return SKR_ERR_SEAL_UNAVAILABLE;
	rv = p->f->C_Decrypt(p->session, (unsigned char *)in, n, out, outlen);
	if (rv == CKR_OK)
		return SKR_OK;
	/* Another token's key of the same label, or a changed blob. */
	return rv == CKR_ENCRYPTED_DATA_INVALID || rv ==
	    CKR_ENCRYPTED_DATA_LEN_RANGE ? SKR_ERR_SEAL_KEY :
	    SKR_ERR_SEAL_UNAVAILABLE;
}

static int
p11_wrap(void *ctx, const uint8_t *pt, size_t n, skr_buf *blob)
{
	struct p11 *p = ctx;
	uint8_t iv[IV_LEN], *ct = NULL;
	CK_ULONG ctlen = n + TAG_LEN;
	int r;

	SKR_ENSURE((ct = malloc(ctlen)) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(skr_random(iv, sizeof(iv)));
	SKR_GUARD(gcm(p, 1, iv, pt, n, ct, &ctlen));
	SKR_ENSURE(ctlen == n + TAG_LEN, SKR_ERR_SEAL_UNAVAILABLE);
	SKR_GUARD(skr_buf_append_byte(blob, BLOB_FORMAT));
	SKR_GUARD(skr_buf_append(blob, iv, sizeof(iv)));
	SKR_GUARD(skr_buf_append(blob, ct, ctlen));
out:
	free(ct);
	return r;
}

static int
p11_unwrap(void *ctx, const uint8_t *blob, size_t n, skr_buf *pt)
{
	struct p11 *p = ctx;
	uint8_t *out = NULL;
	CK_ULONG outlen;
	int r;

	SKR_ENSURE(n > 1 + IV_LEN + TAG_LEN && blob[0] == BLOB_FORMAT,
	    SKR_ERR_MASTER_KEY);
	outlen = n - 1 - IV_LEN;
	SKR_ENSURE((out = malloc(outlen)) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(gcm(p, 0, blob + 1, blob + 1 + IV_LEN, n - 1 - IV_LEN, out,
	    &outlen));
	SKR_GUARD(skr_buf_append(pt, out, outlen));
out:
	if (out != NULL)
		skr_freezero(out, n - 1 - IV_LEN);
	return r;
}

static const skr_seal_ops p11_ops = {
	.name = "pkcs11",
	.wrap = p11_wrap,
	.unwrap = p11_unwrap,
	.free = p11_free,
};

static int
p11_create(const skr_seal_opts *o, json_t *settings, void **ctx,
    skr_seal_shares *shares)
{
	const char *label = o->pkcs11_key != NULL ? o->pkcs11_key :
	    DEFAULT_KEY_LABEL;
	struct p11 *p = NULL;
	int r;

	(void)shares;
	*ctx = NULL;
	SKR_ENSURE(o->pkcs11_module != NULL && o->pkcs11_token != NULL,
	    SKR_ERR_CONFIG);
	SKR_GUARD(p11_connect(o->pkcs11_module, o->pkcs11_token,
	    o->pkcs11_pin_file, label, 1, &p));
	/* The PIN file's path (not the PIN) is kept, so that serve finds it
	 * without a flag. */
	SKR_ENSURE(json_object_set_new(settings, "module",
	    json_string(o->pkcs11_module)) == 0 &&
	    json_object_set_new(settings, "token",
	    json_string(o->pkcs11_token)) == 0 &&
	    json_object_set_new(settings, "key", json_string(label)) == 0 &&
	    json_object_set_new(settings, "mechanism",
	    json_string("CKM_AES_GCM")) == 0 &&
	    (o->pkcs11_pin_file == NULL || json_object_set_new(settings,
	    "pin_file", json_string(o->pkcs11_pin_file)) == 0), SKR_ERR_NOMEM);
	*ctx = p;
	p = NULL;
out:
	p11_free(p);
	return r;
}

static int
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static const char *
setting(const json_t *settings, const char *name)
{
	return json_string_value(json_object_get(settings, name));
}

static int
p11_open(const json_t *settings, const skr_seal_opts *o, void **ctx)
{
	const char *pin_file = o->pkcs11_pin_file != NULL ? o->pkcs11_pin_file :
	    setting(settings, "pin_file");

	*ctx = NULL;
	/* Blobs of another mechanism are not ours to read. */
	if (!str_eq(setting(settings, "mechanism"), "CKM_AES_GCM"))
		return SKR_ERR_CONFIG;
	return p11_connect(setting(settings, "module"), setting(settings,
	    "token"), pin_file, setting(settings, "key"), 0,
	    (struct p11 **)ctx);
}

static int
p11_same(const json_t *settings, const skr_seal_opts *o)
{
	return str_eq(json_string_value(json_object_get(settings, "module")),
	    o->pkcs11_module) && str_eq(json_string_value(json_object_get(
	    settings, "token")), o->pkcs11_token) &&
	    str_eq(json_string_value(json_object_get(settings, "key")),
	    o->pkcs11_key != NULL ? o->pkcs11_key : DEFAULT_KEY_LABEL);
}

const skr_seal_kind skr__seal_pkcs11 = {
	.name = "pkcs11",
	.ops = &p11_ops,
	.create = p11_create,
	.open = p11_open,
	.same = p11_same,
};
