#include "snp_report.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "encoding.h"
#include "guard.h"
#include "skr/error.h"
#include "snp_priv.h"

/* ATTESTATION_REPORT offsets (SEV-SNP firmware ABI, docs/snp.md). */
enum {
	OFF_VERSION = 0x000,
	OFF_GUEST_SVN = 0x004,
	OFF_POLICY = 0x008,
	OFF_FAMILY_ID = 0x010,
	OFF_IMAGE_ID = 0x020,
	OFF_VMPL = 0x030,
	OFF_SIG_ALGO = 0x034,
	OFF_CURRENT_TCB = 0x038,
	OFF_PLATFORM_INFO = 0x040,
	OFF_KEY_INFO = 0x048,
	OFF_KEY_INFO_RSVD = 0x04C,
	OFF_REPORT_DATA = 0x050,
	OFF_MEASUREMENT = 0x090,
	OFF_HOST_DATA = 0x0C0,
	OFF_ID_KEY_DIGEST = 0x0E0,
	OFF_AUTHOR_KEY_DIGEST = 0x110,
	OFF_REPORT_ID = 0x140,
	OFF_REPORT_ID_MA = 0x160,
	OFF_REPORTED_TCB = 0x180,
	OFF_CPUID_FAM = 0x188,
	OFF_CPUID_MOD = 0x189,
	OFF_CPUID_STEP = 0x18A,
	OFF_CHIP_ID = 0x1A0,
	OFF_COMMITTED_TCB = 0x1E0,
	OFF_CURRENT_VER = 0x1E8,     /* build, minor, major */
	OFF_COMMITTED_VER = 0x1EC,
	OFF_LAUNCH_TCB = 0x1F0,
	OFF_LAUNCH_MIT = 0x1F8,      /* version 5 */
	OFF_CURRENT_MIT = 0x200,
	OFF_SIG_R = 0x2A0,
	OFF_SIG_S = 0x2E8,
	OFF_SIG_RSVD = 0x330,
};

#define SIG_ALGO_ECDSA_P384_SHA384 1
#define KEY_INFO_KNOWN_BITS 0x1Fu
#define P384_BYTES 48

int
skr__snp_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int
skr__snp_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
	char text[2 * 64 + 1];

	if (n > 64)
		return SKR_ERR_INVAL;
	skr_hex_text(text, p, n);
	return json_object_set_new(obj, key, json_string(text)) == 0 ?
	    SKR_OK : SKR_ERR_NOMEM;
}

static const char *const product_names[SKR_SNP_PRODUCT_COUNT] = {
	[SKR_SNP_PRODUCT_UNKNOWN] = "unknown",
	[SKR_SNP_PRODUCT_MILAN] = "Milan",
	[SKR_SNP_PRODUCT_GENOA] = "Genoa",
	[SKR_SNP_PRODUCT_TURIN] = "Turin",
};

const char *
skr_snp_product_name(skr_snp_product p)
{
	if ((unsigned)p >= SKR_SNP_PRODUCT_COUNT)
		return product_names[SKR_SNP_PRODUCT_UNKNOWN];
	return product_names[p];
}

skr_snp_product
skr_snp_product_parse(const char *name, size_t n)
{
	size_t len = 0;

	while (len < n && name[len] != '-')
		len++;
	for (int p = SKR_SNP_PRODUCT_MILAN; p < SKR_SNP_PRODUCT_COUNT; p++)
		if (strlen(product_names[p]) == len &&
		    memcmp(product_names[p], name, len) == 0)
			return (skr_snp_product)p;
	return SKR_SNP_PRODUCT_UNKNOWN;
}

/* CPUID Fn8000_0001 family and model ranges as AMD's KDS documentation
 * groups them into products. */
skr_snp_product
skr_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0F)
			return SKR_SNP_PRODUCT_MILAN;
		if ((model >= 0x10 && model <= 0x1F) ||
		    (model >= 0xA0 && model <= 0xAF))
			return SKR_SNP_PRODUCT_GENOA;
	} else if (family == 0x1A) {
		if (model <= 0x11)
			return SKR_SNP_PRODUCT_TURIN;
	}
	return SKR_SNP_PRODUCT_UNKNOWN;
}

skr_snp_product
skr_snp_report_product(const skr_snp_report *r)
{
	if (!r->has_cpuid)
		return SKR_SNP_PRODUCT_UNKNOWN;
	return skr_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
}

void
skr_snp_tcb_decode(uint64_t raw, skr_snp_product p, skr_snp_tcb *out)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(raw >> (8 * i));
	memset(out, 0, sizeof(*out));
	if (p == SKR_SNP_PRODUCT_TURIN) {
		out->fmc = b[0];
		out->bootloader = b[1];
		out->tee = b[2];
		out->snp = b[3];
	} else {
		out->bootloader = b[0];
		out->tee = b[1];
		out->snp = b[6];
	}
	out->microcode = b[7];
}

int
skr_snp_report_parse(const uint8_t *p, size_t n, skr_snp_report *out,
    skr_buf *why)
{
	uint32_t key_info;
	skr_snp_report *r = out;

	if (n != SKR_SNP_REPORT_SIZE)
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "report is %zu bytes, not %d", n, SKR_SNP_REPORT_SIZE);
	memset(r, 0, sizeof(*r));
	r->version = skr__le32(p + OFF_VERSION);
	if (r->version < SKR_SNP_MIN_VERSION ||
	    r->version > SKR_SNP_MAX_VERSION)
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "report version %u not supported (%d to %d)", r->version,
		    SKR_SNP_MIN_VERSION, SKR_SNP_MAX_VERSION);
	r->signature_algo = skr__le32(p + OFF_SIG_ALGO);
	if (r->signature_algo != SIG_ALGO_ECDSA_P384_SHA384)
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "unknown signature algorithm %u", r->signature_algo);
	key_info = skr__le32(p + OFF_KEY_INFO);
	if ((key_info & ~KEY_INFO_KNOWN_BITS) != 0 ||
	    skr__le32(p + OFF_KEY_INFO_RSVD) != 0)
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "reserved bits set at 0x48-0x4f");
	r->author_key_en = key_info & 1;
	r->mask_chip_key = (key_info >> 1) & 1;
	r->signer = (skr_snp_signer)((key_info >> 2) & 7);
	if (r->signer != SKR_SNP_SIGNER_VCEK &&
	    r->signer != SKR_SNP_SIGNER_VLEK &&
	    r->signer != SKR_SNP_SIGNER_NONE)
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "unknown signing key %u", (unsigned)r->signer);
	r->policy = skr__le64(p + OFF_POLICY);
	if (!(r->policy & SKR_SNP_POLICY_RESERVED_ONE))
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "policy bit 17 is clear (must be one)");
	r->vmpl = skr__le32(p + OFF_VMPL);
	if (r->vmpl > 3)
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "vmpl 0x%x: a host-requested report carries no guest data",
		    r->vmpl);
	if (!skr__snp_zero(p + OFF_SIG_R + P384_BYTES, 72 - P384_BYTES) ||
	    !skr__snp_zero(p + OFF_SIG_S + P384_BYTES, 72 - P384_BYTES))
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "signature r or s wider than 48 bytes");
	if (!skr__snp_zero(p + OFF_SIG_RSVD,
	    SKR_SNP_REPORT_SIZE - OFF_SIG_RSVD))
		return skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "unsigned bytes after the signature are not zero");

	r->guest_svn = skr__le32(p + OFF_GUEST_SVN);
	memcpy(r->family_id, p + OFF_FAMILY_ID, sizeof(r->family_id));
	memcpy(r->image_id, p + OFF_IMAGE_ID, sizeof(r->image_id));
	r->current_tcb = skr__le64(p + OFF_CURRENT_TCB);
	r->platform_info = skr__le64(p + OFF_PLATFORM_INFO);
	memcpy(r->report_data, p + OFF_REPORT_DATA, sizeof(r->report_data));
	memcpy(r->measurement, p + OFF_MEASUREMENT, sizeof(r->measurement));
	memcpy(r->host_data, p + OFF_HOST_DATA, sizeof(r->host_data));
	memcpy(r->id_key_digest, p + OFF_ID_KEY_DIGEST,
	    sizeof(r->id_key_digest));
	memcpy(r->author_key_digest, p + OFF_AUTHOR_KEY_DIGEST,
	    sizeof(r->author_key_digest));
	memcpy(r->report_id, p + OFF_REPORT_ID, sizeof(r->report_id));
	memcpy(r->report_id_ma, p + OFF_REPORT_ID_MA, sizeof(r->report_id_ma));
	r->reported_tcb = skr__le64(p + OFF_REPORTED_TCB);
	if (r->version >= 3) {
		r->has_cpuid = 1;
		r->cpuid_fam_id = p[OFF_CPUID_FAM];
		r->cpuid_mod_id = p[OFF_CPUID_MOD];
		r->cpuid_step = p[OFF_CPUID_STEP];
	}
	memcpy(r->chip_id, p + OFF_CHIP_ID, sizeof(r->chip_id));
	r->committed_tcb = skr__le64(p + OFF_COMMITTED_TCB);
	r->current.build = p[OFF_CURRENT_VER];
	r->current.minor = p[OFF_CURRENT_VER + 1];
	r->current.major = p[OFF_CURRENT_VER + 2];
	r->committed.build = p[OFF_COMMITTED_VER];
	r->committed.minor = p[OFF_COMMITTED_VER + 1];
	r->committed.major = p[OFF_COMMITTED_VER + 2];
	r->launch_tcb = skr__le64(p + OFF_LAUNCH_TCB);
	if (r->version >= 5) {
		r->has_mit_vectors = 1;
		r->launch_mit_vector = skr__le64(p + OFF_LAUNCH_MIT);
		r->current_mit_vector = skr__le64(p + OFF_CURRENT_MIT);
	}
	memcpy(r->sig_r, p + OFF_SIG_R, sizeof(r->sig_r));
	memcpy(r->sig_s, p + OFF_SIG_S, sizeof(r->sig_s));
	memcpy(r->raw, p, SKR_SNP_REPORT_SIZE);
	return SKR_OK;
}

int
skr_snp_report_bind(const skr_snp_report *r, const uint8_t *data, size_t n,
    skr_buf *why)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (data == NULL && n > 0)
		return SKR_ERR_INVAL;
	if (SHA256(data != NULL ? data : (const uint8_t *)"", n, md) == NULL)
		return SKR_ERR_CRYPTO;
	if (CRYPTO_memcmp(md, r->report_data, sizeof(md)) != 0)
		return skr_buf_fail(why, SKR_ERR_SNP_BINDING,
		    "report_data[0:32] is not the SHA-256 of the runtime "
		    "data");
	if (!skr__snp_zero(r->report_data + 32, 32))
		return skr_buf_fail(why, SKR_ERR_SNP_BINDING,
		    "report_data[32:64] is not zero");
	return SKR_OK;
}

#define CLAIM(s) "x-ms-sevsnpvm-" s
#define FIELD(m) offsetof(skr_snp_report, m), sizeof(((skr_snp_report *)0)->m)

/* Byte fields, as lower-case hex. */
static const struct {
	const char *name;
	size_t off, len;
} hex_claims[] = {
	{ CLAIM("authorkeydigest"), FIELD(author_key_digest) },
	{ CLAIM("chipid"), FIELD(chip_id) },
	{ CLAIM("familyId"), FIELD(family_id) },
	{ CLAIM("hostdata"), FIELD(host_data) },
	{ CLAIM("idkeydigest"), FIELD(id_key_digest) },
	{ CLAIM("imageId"), FIELD(image_id) },
	{ CLAIM("launchmeasurement"), FIELD(measurement) },
	{ CLAIM("reportdata"), FIELD(report_data) },
	{ CLAIM("reportid"), FIELD(report_id) },
};

/* Guest policy bits, as booleans. */
static const struct {
	const char *name;
	uint64_t bit;
} policy_claims[] = {
	{ CLAIM("is-debuggable"), SKR_SNP_POLICY_DEBUG },
	{ CLAIM("migration-allowed"), SKR_SNP_POLICY_MIGRATE_MA },
	{ CLAIM("smt-allowed"), SKR_SNP_POLICY_SMT },
};

static int
set_int(json_t *o, const char *key, json_int_t v)
{
	return json_object_set_new(o, key, json_integer(v)) == 0 ? SKR_OK :
	    SKR_ERR_NOMEM;
}

int
skr_snp_report_claims(const skr_snp_report *rep, skr_snp_product p,
    json_t **out)
{
	const uint8_t *base = (const uint8_t *)rep;
	json_t *c = json_object();
	skr_snp_tcb tcb;
	size_t i;
	int r = SKR_OK;

	*out = NULL;
	SKR_ENSURE(c != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(c, "x-ms-attestation-type",
	    json_string("sevsnpvm")) == 0, SKR_ERR_NOMEM);
	for (i = 0; i < sizeof(hex_claims) / sizeof(hex_claims[0]); i++)
		SKR_GUARD(skr__snp_set_hex(c, hex_claims[i].name,
		    base + hex_claims[i].off, hex_claims[i].len));
	for (i = 0; i < sizeof(policy_claims) / sizeof(policy_claims[0]); i++)
		SKR_ENSURE(json_object_set_new(c, policy_claims[i].name,
		    json_boolean((rep->policy & policy_claims[i].bit) != 0)) ==
		    0, SKR_ERR_NOMEM);
	SKR_GUARD(set_int(c, CLAIM("guestsvn"), rep->guest_svn));
	SKR_GUARD(set_int(c, CLAIM("vmpl"), rep->vmpl));
	/* The SVNs of the TCB the signing key was derived for. */
	skr_snp_tcb_decode(rep->reported_tcb, p, &tcb);
	SKR_GUARD(set_int(c, CLAIM("bootloader-svn"), tcb.bootloader));
	SKR_GUARD(set_int(c, CLAIM("tee-svn"), tcb.tee));
	SKR_GUARD(set_int(c, CLAIM("snpfw-svn"), tcb.snp));
	SKR_GUARD(set_int(c, CLAIM("microcode-svn"), tcb.microcode));
	if (p == SKR_SNP_PRODUCT_TURIN)
		SKR_GUARD(set_int(c, CLAIM("fmc-svn"), tcb.fmc));
	*out = c;
	c = NULL;
out:
	json_decref(c);
	return r;
}
