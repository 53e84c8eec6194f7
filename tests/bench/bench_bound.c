/*
 * The crypto-only bound: what a release costs in public-key and symmetric
 * cryptography alone, done directly with OpenSSL in a tight loop on as many
 * threads as skrd has event loops.  No HTTP, TLS, JSON, store or policy:
 * the server can only approach this figure, and the ratio server/bound says
 * how much the rest costs.
 *
 * Per release, as skrd does it (server/release.c, keys/wrap.c, keys/jws.c):
 * RS256 verify of the attestation token (RSA-2048, the test authority's
 * key), a fresh random AES-256 key K, RSA-OAEP-SHA-1 encryption of K to the
 * token's RSA-2048 wrapping key, AES-KWP (RFC 5649) of the 32-byte key
 * under K, and the response signature (RS256 or ES256 with skrd's own
 * release-signing key) over a response-sized signing input.
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "skr/error.h"

/* A release response's signing input: the header with a two-certificate
 * x5c chain and the payload with the key bundle, both base64url. */
#define SIGNING_INPUT_LEN 5200

struct parsed_token {
	skr_jws jws;
	EVP_PKEY *wrap;         /* borrowed */
};

struct bound {
	struct parsed_token *tok;
	size_t ntok;
	EVP_PKEY *authority;
	EVP_PKEY *sign_key;
	const EVP_MD *sign_md;
	double deadline;
	atomic_uint_fast64_t ops;
	atomic_uint_fast64_t cpu_ns; /* threads' CPU time, summed */
	atomic_int failed;
	uint8_t input[SIGNING_INPUT_LEN];
};

static int
one_release(struct bound *b, size_t i, EVP_MD_CTX *md)
{
	const struct parsed_token *t = &b->tok[i % b->ntok];
	EVP_PKEY_CTX *pc = NULL;
	EVP_CIPHER_CTX *cc = NULL;
	uint8_t k[32], key[32], oaep[512], kwp[64], sig[512];
	size_t oaeplen = sizeof(oaep), siglen = sizeof(sig);
	int len, fin, ok = 0;

	/* Token signature. */
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    b->authority) != 1 || EVP_DigestVerify(md,
	    t->jws.signature.data, t->jws.signature.len,
	    (const uint8_t *)t->jws.signing_input, t->jws.signing_len) != 1)
		goto out;
	EVP_MD_CTX_reset(md);
	/* K, wrapped to the TEE's key with OAEP-SHA-1. */
	if (RAND_bytes(k, sizeof(k)) != 1 ||
	    (pc = EVP_PKEY_CTX_new(t->wrap, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha1()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha1()) != 1 ||
	    EVP_PKEY_encrypt(pc, oaep, &oaeplen, k, sizeof(k)) != 1)
		goto out;
	/* The key under K. */
	memset(key, (int)(i & 0xff), sizeof(key));
	if ((cc = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	EVP_CIPHER_CTX_set_flags(cc, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_EncryptInit_ex(cc, EVP_aes_256_wrap_pad(), NULL, k, NULL) !=
	    1 || EVP_EncryptUpdate(cc, kwp, &len, key, sizeof(key)) != 1 ||
	    EVP_EncryptFinal_ex(cc, kwp + len, &fin) != 1)
		goto out;
	/* The response signature. */
	b->input[i % sizeof(b->input)] ^= 1;
	if (EVP_DigestSignInit(md, NULL, b->sign_md, NULL, b->sign_key) !=
	    1 || EVP_DigestSign(md, sig, &siglen, b->input,
	    sizeof(b->input)) != 1)
		goto out;
	ok = 1;
out:
	EVP_MD_CTX_reset(md);
	EVP_CIPHER_CTX_free(cc);
	EVP_PKEY_CTX_free(pc);
	OPENSSL_cleanse(k, sizeof(k));
	return ok;
}

/* CPU seconds this thread has used: unlike the wall clock, not inflated by
 * other work sharing the cores. */
static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
bound_thread(void *arg)
{
	struct bound *b = arg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t n = 0;
	size_t i = (size_t)pthread_self();
	double c0 = thread_cpu(), dc;

	if (md == NULL) {
		atomic_store(&b->failed, 1);
		return NULL;
	}
	/* Check the clock every few releases only. */
	while ((n & 7) != 0 || bench_now() < b->deadline) {
		if (!one_release(b, i++, md)) {
			atomic_store(&b->failed, 1);
			break;
		}
		n++;
	}
	dc = thread_cpu() - c0;
	atomic_fetch_add(&b->ops, n);
	atomic_fetch_add(&b->cpu_ns, (uint_fast64_t)(dc * 1e9));
	EVP_MD_CTX_free(md);
	return NULL;
}

int
bench_bound(const bench_tokens *t, EVP_PKEY *sign_key, skr_alg alg,
    int threads, double duration, double *rps, double *cpu_us)
{
	struct bound *b;
	pthread_t th[64];
	double t0;
	size_t i;
	int n = 0, r = SKR_ERR_NOMEM;

	if (threads < 1 || threads > 64 || t->n == 0)
		return SKR_ERR_INVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return SKR_ERR_NOMEM;
	if ((b->tok = calloc(t->n, sizeof(*b->tok))) == NULL)
		goto out;
	for (i = 0; i < t->n; i++) {
		if ((r = skr_jws_parse(t->token[i], strlen(t->token[i]), 0,
		    &b->tok[i].jws)) != SKR_OK)
			goto out;
		b->ntok++;
		b->tok[i].wrap = skr_key_pkey(t->wrap_keys[t->wrap[i]]);
	}
	b->authority = t->authority;
	b->sign_key = sign_key;
	b->sign_md = EVP_sha256();      /* RS256 and ES256 */
	if (alg != SKR_ALG_RS256 && alg != SKR_ALG_ES256) {
		r = SKR_ERR_INVAL;
		goto out;
	}
	RAND_bytes(b->input, sizeof(b->input));
	t0 = bench_now();
	b->deadline = t0 + duration;
	for (n = 0; n < threads; n++)
		if (pthread_create(&th[n], NULL, bound_thread, b) != 0)
			break;
	for (i = 0; i < (size_t)n; i++)
		pthread_join(th[i], NULL);
	r = SKR_ERR_CRYPTO;
	if (n != threads || atomic_load(&b->failed))
		goto out;
	*rps = (double)atomic_load(&b->ops) / (bench_now() - t0);
	*cpu_us = atomic_load(&b->ops) > 0 ? (double)atomic_load(&b->cpu_ns) / 1e3 /
	    (double)atomic_load(&b->ops) : 0;
	r = SKR_OK;
out:
	for (i = 0; b->tok != NULL && i < b->ntok; i++)
		skr_jws_clear(&b->tok[i].jws);
	free(b->tok);
	free(b);
	return r;
}
