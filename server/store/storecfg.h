/*
 * store.json, the settings of an etcd store in its data directory
 * (docs/availability.md, "A deployment"): which etcd cluster, under which
 * key prefix, and the files that authenticate skrd to it.  Nothing secret
 * is in it: a password is named by its file.  A pure codec: bytes in, a
 * struct out, and back.
 *
 *   {"format": 1, "backend": "etcd",
 *    "etcd": {"endpoints": ["https://10.0.0.1:2379", ...],
 *             "prefix": "skr/", "cacert": "etcd-ca.pem",
 *             "cert": "etcd-client.pem", "key": "etcd-client-key.pem",
 *             "user": "skr", "password_file": "etcd-password"}}
 *
 * The parser takes one JSON object without duplicate members and with no
 * member it does not know; endpoints are 1 to SKR_ETCD_ENDPOINTS_MAX
 * http:// or https:// URLs without a path; the prefix is 1 to 200
 * printable characters ending in '/'; file names are 1 to 1024 bytes
 * without control characters; cert and key come together, and so do user
 * and password_file.  Every refusal is SKR_ERR_CONFIG.
 */
#ifndef SKR_SERVER_STORE_STORECFG_H
#define SKR_SERVER_STORE_STORECFG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

#define SKR_STORECFG_PREFIX_DEFAULT "skr/"
#define SKR_STORECFG_PREFIX_MAX 200
#define SKR_STORECFG_PATH_MAX 1024

/* A parsed store.json; every member owned (free with
 * skr__storecfg_clear), endpoints comma-separated. */
typedef struct skr__storecfg {
	char *endpoints;
	char *prefix;
	char *cacert, *cert, *key;
	char *user, *password_file;
} skr__storecfg;

int skr__storecfg_parse(const uint8_t *p, size_t n, skr__storecfg *out);
/* The text of o (checked as the parser checks it), into out. */
int skr__storecfg_emit(const skr_store_etcd_opts *o, skr_buf *out);
void skr__storecfg_clear(skr__storecfg *c);

#endif
