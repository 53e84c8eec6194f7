/*
 * VCEKs from AMD's Key Distribution Service for attestation requests that
 * carry none (docs/snp.md, "Fetching VCEKs"; configuration `snp_kds`,
 * `snp_kds_ca`, `snp_cache_dir`).  Off unless configured.  Each VCEK, and
 * each product's ASK/ARK chain, is fetched once over HTTPS with libcurl
 * (no redirects, bounded time and size) and then served from a cache
 * directory.  What comes back is untrusted input like any other evidence:
 * skr_snp_verify checks it against the roots, so a bad answer or a
 * poisoned cache can make a verification fail, never succeed.
 *
 * Fetching blocks for up to the timeout: call it off the event loop.
 * Thread-safe once made.
 */
#ifndef SKR_SERVER_KDS_H
#define SKR_SERVER_KDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SKR_KDS_DEFAULT_TIMEOUT_MS 10000

typedef struct skr_kds skr_kds;

typedef struct skr_kds_opts {
	const char *base;       /* https://host[:port], no path (the KDS or
	                         * a mirror of it) */
	const char *cache_dir;  /* created (0700) when missing */
	const char *ca_file;    /* PEM CAs for the HTTPS fetches; NULL: the
	                         * system store */
	long timeout_ms;        /* each fetch; <= 0: the default */
} skr_kds_opts;

/* A fetcher with o's settings (strings copied).  SKR_ERR_CONFIG for a
 * base that is not an https URL without a path, or a cache directory that
 * cannot be made.  *out: free with skr_kds_free. */
int skr_kds_new(const skr_kds_opts *o, skr_kds **out);
void skr_kds_free(skr_kds *k);

/*
 * The VCEK for the n bytes of an SNP report, DER, appended to der, and
 * when chain is not NULL its product's ASK and ARK (KDS cert_chain, PEM)
 * appended to chain.  A version 2 report names no product: Milan, then
 * Genoa, are asked.  Errors: SKR_ERR_SNP_REPORT (the report does not
 * parse), SKR_ERR_SNP_CERT (a VLEK-signed report or a masked chip id:
 * KDS publishes no certificate for those by chip), SKR_ERR_SNP_KDS (the
 * service could not be reached or had no certificate), each with a reason
 * appended to why (a buffer: not NULL).
 */
int skr_kds_vcek(skr_kds *k, const uint8_t *report, size_t n, skr_buf *der,
    skr_buf *chain, skr_buf *why);

#endif
