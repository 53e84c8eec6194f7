#include "snp_kds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encoding.h"
#include "guard.h"
#include "skr/error.h"
#include "snp_cert.h"
#include "snp_priv.h"

#define TURIN_HWID_BYTES 8

/* The product, hwid bytes and TCB the KDS serves r's VCEK under. */
static int
vcek_key(const skr_snp_report *r, skr_snp_product *p, size_t *hwid_len,
    skr_snp_tcb *tcb, skr_buf *why)
{
	if (*p == SKR_SNP_PRODUCT_UNKNOWN)
		*p = skr_snp_report_product(r);
	if (*p == SKR_SNP_PRODUCT_UNKNOWN)
		return skr_buf_fail(why, SKR_ERR_SNP_PRODUCT,
		    "the report does not name its product; give it");
	if (r->signer != SKR_SNP_SIGNER_VCEK)
		return skr_buf_fail(why, SKR_ERR_UNSUPPORTED,
		    "only VCEKs are published by chip id");
	if (skr__snp_zero(r->chip_id, sizeof(r->chip_id)))
		return skr_buf_fail(why, SKR_ERR_UNSUPPORTED,
		    "chip_id is masked");
	*hwid_len = *p == SKR_SNP_PRODUCT_TURIN ? TURIN_HWID_BYTES :
	    sizeof(r->chip_id);
	skr_snp_tcb_decode(r->reported_tcb, *p, tcb);
	return SKR_OK;
}

int
skr_snp_kds_vcek_url(const skr_snp_report *r, skr_snp_product p,
    const char *base, skr_buf *url, skr_buf *why)
{
	char hwid[2 * 64 + 1];
	skr_snp_tcb tcb;
	size_t hlen = 0;
	int ret;

	if ((ret = vcek_key(r, &p, &hlen, &tcb, why)) != SKR_OK)
		return ret;
	skr_hex_text(hwid, r->chip_id, hlen);
	ret = skr_buf_appendf(url, "%s/vcek/v1/%s/%s?",
	    base != NULL ? base : SKR_SNP_KDS_URL, skr_snp_product_name(p),
	    hwid);
	if (ret == SKR_OK && p == SKR_SNP_PRODUCT_TURIN)
		ret = skr_buf_appendf(url, "fmcSPL=%02u&", tcb.fmc);
	if (ret == SKR_OK)
		ret = skr_buf_appendf(url,
		    "blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
		    tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode);
	return ret;
}

int
skr_snp_kds_chain_url(skr_snp_product p, skr_snp_signer kind,
    const char *base, skr_buf *url)
{
	if (p == SKR_SNP_PRODUCT_UNKNOWN)
		return SKR_ERR_INVAL;
	return skr_buf_appendf(url, "%s/%s/v1/%s/cert_chain",
	    base != NULL ? base : SKR_SNP_KDS_URL,
	    kind == SKR_SNP_SIGNER_VLEK ? "vlek" : "vcek",
	    skr_snp_product_name(p));
}

int
skr_snp_kds_cache_name(const skr_snp_report *r, skr_snp_product p,
    skr_buf *name, skr_buf *why)
{
	char hwid[2 * 64 + 1];
	skr_snp_tcb tcb;
	size_t hlen = 0;
	int ret;

	if ((ret = vcek_key(r, &p, &hlen, &tcb, why)) != SKR_OK)
		return ret;
	skr_hex_text(hwid, r->chip_id, hlen);
	return skr_buf_appendf(name, "vcek-%s-%s-%016llx.der",
	    skr_snp_product_name(p), hwid,
	    (unsigned long long)r->reported_tcb);
}

static int
plain_name(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL;
}

int
skr_snp_kds_cache_load(const char *dir, const char *name, skr_buf *der,
    int *found)
{
	skr_buf path = SKR_BUF_INIT;
	uint8_t chunk[4096];
	ssize_t got;
	int fd = -1, r = SKR_OK;

	*found = 0;
	SKR_ENSURE(dir != NULL && plain_name(name), SKR_ERR_INVAL);
	SKR_GUARD(skr_buf_appendf(&path, "%s/%s", dir, name));
	if ((fd = open(skr_buf_cstr(&path), O_RDONLY | O_CLOEXEC)) < 0) {
		r = errno == ENOENT ? SKR_OK : SKR_ERR_IO;
		goto out;
	}
	skr_buf_reset(der);
	while ((got = read(fd, chunk, sizeof(chunk))) > 0) {
		SKR_ENSURE(der->len + (size_t)got <= SKR_SNP_CERT_MAX_BYTES,
		    SKR_ERR_TOO_LARGE);
		SKR_GUARD(skr_buf_append(der, chunk, (size_t)got));
	}
	SKR_ENSURE(got == 0, SKR_ERR_IO);
	*found = 1;
out:
	if (fd >= 0)
		close(fd);
	skr_buf_free(&path);
	return r;
}

int
skr_snp_kds_cache_store(const char *dir, const char *name,
    const uint8_t *der, size_t n)
{
	skr_buf path = SKR_BUF_INIT, tmp = SKR_BUF_INIT;
	size_t off = 0;
	int fd = -1, r = SKR_OK;

	SKR_ENSURE(dir != NULL && plain_name(name) && der != NULL,
	    SKR_ERR_INVAL);
	SKR_GUARD(skr_buf_appendf(&path, "%s/%s", dir, name));
	SKR_GUARD(skr_buf_appendf(&tmp, "%s/.%s.XXXXXX", dir, name));
	SKR_ENSURE((fd = mkstemp((char *)tmp.data)) >= 0, SKR_ERR_IO);
	while (off < n) {
		ssize_t w = write(fd, der + off, n - off);

		SKR_ENSURE(w > 0 || (w < 0 && errno == EINTR), SKR_ERR_IO);
		if (w > 0)
			off += (size_t)w;
	}
	SKR_ENSURE(fchmod(fd, 0644) == 0 && fsync(fd) == 0, SKR_ERR_IO);
	SKR_ENSURE(close(fd) == 0, SKR_ERR_IO);
	fd = -1;
	SKR_ENSURE(rename(skr_buf_cstr(&tmp), skr_buf_cstr(&path)) == 0,
	    SKR_ERR_IO);
out:
	if (fd >= 0)
		close(fd);
	if (r != SKR_OK && tmp.len > 0)
		(void)unlink(skr_buf_cstr(&tmp));
	skr_buf_free(&path);
	skr_buf_free(&tmp);
	return r;
}
