/*
 * Prepared OpenSSL operations (README.md, "Performance").
 *
 * Setting up a signature, verification or RSA-OAEP encryption in OpenSSL 3
 * (EVP_DigestSignInit, EVP_PKEY_encrypt_init and the padding parameters)
 * looks the algorithm up in the provider store, under its locks, every
 * time; copying a context that was set up once does not.  This module keeps
 * such set-up contexts, one per key and operation, and hands out copies.
 *
 * The cache is process-wide and bounded (the least recently used entry
 * goes), guarded by one mutex that is also held while a template is copied:
 * OpenSSL does not document copying one context from several threads at
 * once as safe.  An entry holds a reference to its key, so a key cannot be
 * freed and another allocated at its address while the entry names it;
 * owners of keys call skr_opcache_forget before freeing one, so that a
 * private key does not outlive its owner in the cache.  Templates carry no
 * message state: a copy is as fresh as a new set-up.
 */
#ifndef SKR_KEYS_OPCACHE_H
#define SKR_KEYS_OPCACHE_H

#include <stdint.h>

#include <openssl/evp.h>

/* Entries kept at most. */
#define SKR_OPCACHE_SIZE 32

/*
 * The operation a template is for, chosen by the module that prepares it:
 * its own tag in the high bits (SKR_OPCACHE_JWS, SKR_OPCACHE_WRAP) and its
 * own meaning below, so that modules never collide.
 */
#define SKR_OPCACHE_JWS 0x10000
#define SKR_OPCACHE_WRAP 0x20000

/* Sets up md (new, empty) for operation op on pkey; 1 on success. */
typedef int (*skr_opcache_md_init)(EVP_MD_CTX *md, EVP_PKEY *pkey, int op);
/* Sets up pctx (made from pkey) for operation op; 1 on success. */
typedef int (*skr_opcache_pkey_init)(EVP_PKEY_CTX *pctx, int op);

/* A digest-and-sign or digest-and-verify context for op on pkey, as init
 * leaves it: a copy of the cached template, made (with init) on a miss.
 * Caller frees with EVP_MD_CTX_free.  NULL when init or a copy failed. */
EVP_MD_CTX *skr_opcache_md(EVP_PKEY *pkey, int op, skr_opcache_md_init init);

/* The same for an EVP_PKEY_CTX (RSA-OAEP encryption).  Caller frees with
 * EVP_PKEY_CTX_free. */
EVP_PKEY_CTX *skr_opcache_pkey(EVP_PKEY *pkey, int op,
    skr_opcache_pkey_init init);

/* Drops every entry for pkey (and the references they hold).  NULL: every
 * entry.  Safe to call for a key the cache never saw. */
void skr_opcache_forget(EVP_PKEY *pkey);

/* SHA-256, fetched from the default provider once: EVP_sha256() makes
 * OpenSSL 3 look the implementation up again at every digest it starts.
 * Process-wide, never freed; NULL only if the provider lacks it. */
const EVP_MD *skr_opcache_sha256(void);

typedef struct skr_opcache_stats {
	uint64_t hits;    /* copies of a cached template */
	uint64_t misses;  /* templates made */
	unsigned entries; /* held now */
} skr_opcache_stats;

void skr_opcache_stats_get(skr_opcache_stats *out);

#endif
