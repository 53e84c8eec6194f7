#include "snp_tpm.h"

#include <string.h>

#include "skr/error.h"
#include "snp_priv.h"

/* A big-endian reader over the input; any read past the end sets bad. */
struct rd {
	const uint8_t *p;
	size_t n, off;
	int bad;
};

static const uint8_t *
take(struct rd *r, size_t len)
{
	const uint8_t *p;

	if (r->bad || len > r->n - r->off) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += len;
	return p;
}

static uint64_t
be(struct rd *r, size_t len)
{
	const uint8_t *p = take(r, len);
	uint64_t v = 0;

	for (size_t i = 0; p != NULL && i < len; i++)
		v = v << 8 | p[i];
	return v;
}

/* A TPM2B of at most max bytes into out; 0 when too long or truncated. */
static int
tpm2b(struct rd *r, uint8_t *out, size_t max, size_t *len)
{
	size_t n = (size_t)be(r, 2);
	const uint8_t *p;

	if (r->bad || n > max)
		return 0;
	if ((p = take(r, n)) == NULL)
		return 0;
	memcpy(out, p, n);
	*len = n;
	return 1;
}

int
skr_snp_tpm_quote_parse(const uint8_t *p, size_t n, skr_snp_tpm_quote *out,
    skr_buf *why)
{
	struct rd r = { p, n, 0, 0 };
	uint32_t magic;
	uint16_t type;
	size_t count;

	memset(out, 0, sizeof(*out));
	if (n > SKR_TPM_QUOTE_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote of %zu bytes", n);
	magic = (uint32_t)be(&r, 4);
	type = (uint16_t)be(&r, 2);
	if (r.bad)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote truncated in its header");
	if (magic != SKR_TPM_GENERATED_VALUE)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote magic 0x%08x is not TPM_GENERATED_VALUE", magic);
	if (type != SKR_TPM_ST_ATTEST_QUOTE)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "attestation type 0x%04x is not a quote", type);
	if (!tpm2b(&r, out->signer, sizeof(out->signer), &out->signer_len))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote qualifiedSigner malformed");
	if (!tpm2b(&r, out->extra, sizeof(out->extra), &out->extra_len))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote extraData malformed");
	out->clock = be(&r, 8);
	out->reset_count = (uint32_t)be(&r, 4);
	out->restart_count = (uint32_t)be(&r, 4);
	out->safe = (uint8_t)be(&r, 1);
	out->firmware_version = be(&r, 8);
	count = (size_t)be(&r, 4);
	if (r.bad)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote truncated before its PCR selection");
	if (out->safe > 1)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote clockInfo.safe is %u", out->safe);
	if (count > SKR_TPM_SELECTIONS_MAX)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote selects %zu PCR banks", count);
	for (size_t i = 0; i < count; i++) {
		skr_snp_tpm_selection *s = &out->sel[i];
		const uint8_t *bits;

		s->hash = (uint16_t)be(&r, 2);
		s->size = (uint8_t)be(&r, 1);
		if (r.bad || s->size == 0 || s->size > SKR_TPM_SELECT_MAX ||
		    (bits = take(&r, s->size)) == NULL)
			return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "quote PCR selection %zu malformed", i);
		memcpy(s->select, bits, s->size);
	}
	out->nsel = count;
	if (!tpm2b(&r, out->pcr_digest, sizeof(out->pcr_digest),
	    &out->pcr_digest_len))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote pcrDigest malformed");
	if (r.off != n)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%zu bytes after the quote", n - r.off);
	return SKR_OK;
}

int
skr_snp_tpm_quote_pcrs(const skr_snp_tpm_quote *q, unsigned *idx,
    size_t *count, skr_buf *why)
{
	const skr_snp_tpm_selection *s = &q->sel[0];
	size_t k = 0;

	*count = 0;
	if (q->nsel != 1 || s->hash != SKR_TPM_ALG_SHA256)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote must select the SHA-256 PCR bank alone");
	for (unsigned i = 0; i < (unsigned)s->size * 8; i++)
		if (s->select[i / 8] & (1u << (i % 8)))
			idx[k++] = i;
	*count = k;
	return SKR_OK;
}
