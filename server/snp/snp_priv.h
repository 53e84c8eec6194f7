/*
 * libskrsnp internals shared between its sources and its unit tests; not
 * part of the library's API.
 */
#ifndef SKR_SNP_PRIV_H
#define SKR_SNP_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "buf.h"

static inline uint16_t
skr__le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
skr__le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
skr__le64(const uint8_t *p)
{
	return (uint64_t)skr__le32(p) | (uint64_t)skr__le32(p + 4) << 32;
}

/* now, or the current Unix time when now is 0. */
static inline int64_t
skr__snp_now(int64_t now)
{
	return now != 0 ? now : (int64_t)time(NULL);
}

/* 1 when the n bytes at p are all zero. */
int skr__snp_zero(const uint8_t *p, size_t n);

/* Set key to lower-case hex of the n bytes at p in obj; SKR_OK or
 * SKR_ERR_NOMEM. */
int skr__snp_set_hex(json_t *obj, const char *key, const uint8_t *p,
    size_t n);

/* The one CN of x's subject, copied into buf as a C string; 0 when there
 * is not exactly one, it holds a NUL or it does not fit. */
int skr__snp_subject_cn(X509 *x, char *buf, size_t size);

#endif
