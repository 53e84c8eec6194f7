/*
 * Unit tests: prepared OpenSSL operations (keys/opcache).  A template is
 * made once per key and operation and copied after; a copy signs, verifies
 * and wraps exactly as a fresh set-up does; keys never share a template,
 * not even a key allocated where a freed one was; bad signatures stay bad;
 * eviction, forgetting and threads copying at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "check.h"
#include "jwk.h"
#include "jws.h"
#include "opcache.h"
#include "wrap.h"

static const char payload[] = "{\"iss\":\"opcache\"}";

static int
sign(EVP_PKEY *pkey, skr_alg alg, skr_buf *out)
{
	out->len = 0;
	return skr_jws_sign(pkey, alg, NULL, (const uint8_t *)payload,
	    strlen(payload), out);
}

static int
verify(const skr_buf *compact, EVP_PKEY *pkey)
{
	skr_jws jws;
	int r;

	if ((r = skr_jws_parse((const char *)compact->data, compact->len, 0,
	    &jws)) != SKR_OK)
		return r;
	r = skr_jws_verify(&jws, pkey, 0);
	skr_jws_clear(&jws);
	return r;
}

static skr_opcache_stats
stats(void)
{
	skr_opcache_stats s;

	skr_opcache_stats_get(&s);
	return s;
}

/* A second signing copies the first one's template; both verify, and
 * the verifications share one template of their own. */
static void
test_reuse(void)
{
	skr_key *k = NULL;
	skr_buf a = SKR_BUF_INIT, b = SKR_BUF_INIT;
	skr_opcache_stats s0, s1;

	skr_opcache_forget(NULL);
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &k));
	s0 = stats();
	CHECK_OK(sign(skr_key_pkey(k), SKR_ALG_ES256, &a));
	CHECK_OK(sign(skr_key_pkey(k), SKR_ALG_ES256, &b));
	s1 = stats();
	CHECK(s1.misses == s0.misses + 1);
	CHECK(s1.hits == s0.hits + 1);
	CHECK(s1.entries == 1);
	/* ECDSA is randomised: two signings, two signatures. */
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) != 0);
	CHECK_OK(verify(&a, skr_key_pkey(k)));
	CHECK_OK(verify(&b, skr_key_pkey(k)));
	s0 = stats();
	CHECK(s0.entries == 2 && s0.misses == s1.misses + 1 &&
	    s0.hits == s1.hits + 1);
	/* A changed signature fails through the cached template too (one
	 * base64url character swapped for another: a flipped bit could make
	 * it no base64url at all, refused before the signature is looked at). */
	b.data[b.len - 5] = b.data[b.len - 5] == 'A' ? 'B' : 'A';
	CHECK_ERR(verify(&b, skr_key_pkey(k)), SKR_ERR_JWS_SIGNATURE);
	skr_opcache_forget(skr_key_pkey(k));
	CHECK(stats().entries == 0);
	skr_key_free(k);
	skr_buf_free(&a);
	skr_buf_free(&b);
}

/* Keys and algorithms never share a template: a signature by one key
 * does not verify under another, RS256 and PS256 on one key are two. */
static void
test_separate(void)
{
	skr_key *r1 = NULL, *r2 = NULL;
	skr_buf rs = SKR_BUF_INIT, ps = SKR_BUF_INIT;

	skr_opcache_forget(NULL);
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &r1));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &r2));
	CHECK_OK(sign(skr_key_pkey(r1), SKR_ALG_RS256, &rs));
	CHECK_OK(sign(skr_key_pkey(r1), SKR_ALG_PS256, &ps));
	CHECK(stats().entries == 2);
	CHECK_OK(verify(&rs, skr_key_pkey(r1)));
	CHECK_OK(verify(&ps, skr_key_pkey(r1)));
	CHECK_ERR(verify(&rs, skr_key_pkey(r2)), SKR_ERR_JWS_SIGNATURE);
	CHECK_ERR(verify(&ps, skr_key_pkey(r2)), SKR_ERR_JWS_SIGNATURE);
	/* PKCS#1 v1.5 and PSS signatures are never the same. */
	CHECK(rs.len == ps.len && memcmp(rs.data, ps.data, rs.len) != 0);
	skr_opcache_forget(NULL);
	skr_key_free(r1);
	skr_key_free(r2);
	skr_buf_free(&rs);
	skr_buf_free(&ps);
}

/*
 * A key freed without skr_opcache_forget stays referenced by its entries,
 * so the next key cannot take its address and inherit its template: keys
 * made and freed one after another each sign with themselves, checked
 * against their public halves read back separately.
 */
static void
test_freed_key(void)
{
	skr_buf sig = SKR_BUF_INIT;
	int i, bad = 0;

	skr_opcache_forget(NULL);
	for (i = 0; i < 8; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		skr_key *pub = NULL;
		skr_buf spki = SKR_BUF_INIT;

		CHECK(k != NULL);
		if (k == NULL)
			break;
		CHECK_OK(sign(k, SKR_ALG_ES256, &sig));
		CHECK_OK(skr_key_from_pkey(k, &pub));
		CHECK_OK(skr_key_public_spki_der(pub, &spki));
		skr_key_free(pub);
		/* Verified by a key read from the public half alone. */
		{
			const unsigned char *p = spki.data;
			EVP_PKEY *vk = d2i_PUBKEY(NULL, &p, (long)spki.len);

			bad += verify(&sig, vk) != SKR_OK;
			EVP_PKEY_free(vk);
		}
		skr_buf_free(&spki);
		EVP_PKEY_free(k);
	}
	CHECK(bad == 0);
	skr_opcache_forget(NULL);
	CHECK(stats().entries == 0);
	skr_buf_free(&sig);
}

/* More keys than entries: the oldest go, the count stays bounded, and
 * every operation is still right. */
static void
test_evict(void)
{
	enum { N = SKR_OPCACHE_SIZE + 8 };
	skr_key *k[N];
	skr_buf sig = SKR_BUF_INIT;
	int i, bad = 0;

	skr_opcache_forget(NULL);
	for (i = 0; i < N; i++) {
		k[i] = NULL;
		CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &k[i]));
	}
	for (i = 0; i < N; i++)
		bad += k[i] == NULL ||
		    sign(skr_key_pkey(k[i]), SKR_ALG_ES256, &sig) != SKR_OK;
	CHECK(stats().entries == SKR_OPCACHE_SIZE);
	/* The first keys were evicted: made again, and right. */
	for (i = 0; i < 4; i++)
		bad += sign(skr_key_pkey(k[i]), SKR_ALG_ES256, &sig) !=
		    SKR_OK || verify(&sig, skr_key_pkey(k[i])) != SKR_OK;
	CHECK(bad == 0);
	CHECK(stats().entries == SKR_OPCACHE_SIZE);
	skr_opcache_forget(NULL);
	for (i = 0; i < N; i++)
		skr_key_free(k[i]);
	skr_buf_free(&sig);
}

/* RSA-OAEP: one template per wrapping key and encryption; what it wraps
 * unwraps with the private key under the same encryption only. */
static void
test_wrap(void)
{
	static const uint8_t secret[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	skr_key *w = NULL;
	skr_buf ct1 = SKR_BUF_INIT, ct256 = SKR_BUF_INIT, pt = SKR_BUF_INIT;
	skr_opcache_stats s0, s1;

	skr_buf_init_secret(&pt, 0);
	skr_opcache_forget(NULL);
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &w));
	s0 = stats();
	CHECK_OK(skr_rsa_aes_wrap(skr_key_pkey(w), SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	    secret, sizeof(secret), &ct1));
	ct1.len = 0;
	CHECK_OK(skr_rsa_aes_wrap(skr_key_pkey(w), SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	    secret, sizeof(secret), &ct1));
	CHECK_OK(skr_rsa_aes_wrap(skr_key_pkey(w), SKR_ENC_RSA_AES_KEY_WRAP_256,
	    secret, sizeof(secret), &ct256));
	s1 = stats();
	CHECK(s1.misses == s0.misses + 2 && s1.hits == s0.hits + 1);
	CHECK_OK(skr_rsa_aes_unwrap(skr_key_pkey(w),
	    SKR_ENC_CKM_RSA_AES_KEY_WRAP, ct1.data, ct1.len, &pt));
	CHECK(pt.len == sizeof(secret) &&
	    memcmp(pt.data, secret, sizeof(secret)) == 0);
	pt.len = 0;
	CHECK_OK(skr_rsa_aes_unwrap(skr_key_pkey(w),
	    SKR_ENC_RSA_AES_KEY_WRAP_256, ct256.data, ct256.len, &pt));
	CHECK(pt.len == sizeof(secret) &&
	    memcmp(pt.data, secret, sizeof(secret)) == 0);
	/* The SHA-256 wrap is not an SHA-1 one: the templates differ. */
	pt.len = 0;
	CHECK_ERR(skr_rsa_aes_unwrap(skr_key_pkey(w),
	    SKR_ENC_CKM_RSA_AES_KEY_WRAP, ct256.data, ct256.len, &pt),
	    SKR_ERR_UNWRAP);
	skr_opcache_forget(NULL);
	skr_key_free(w);
	skr_buf_free(&ct1);
	skr_buf_free(&ct256);
	skr_buf_free(&pt);
}

/* Threads sign and verify with two shared keys while one of them keeps
 * dropping every entry: every result is right (and ThreadSanitizer, in
 * CI, sees no race). */
static skr_key *shared[2];
static _Atomic int thread_bad;

static void *
worker(void *arg)
{
	skr_buf sig = SKR_BUF_INIT;
	int id = (int)(size_t)arg, i;

	for (i = 0; i < 200; i++) {
		EVP_PKEY *k = skr_key_pkey(shared[(id + i) % 2]);

		if (sign(k, SKR_ALG_ES256, &sig) != SKR_OK ||
		    verify(&sig, k) != SKR_OK ||
		    verify(&sig, skr_key_pkey(shared[(id + i + 1) % 2])) !=
		    SKR_ERR_JWS_SIGNATURE)
			thread_bad++;
		if (id == 0 && i % 50 == 0)
			skr_opcache_forget(NULL);
	}
	skr_buf_free(&sig);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[4];
	size_t i;

	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &shared[0]));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &shared[1]));
	if (shared[0] == NULL || shared[1] == NULL)
		return;
	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(thread_bad == 0);
	skr_opcache_forget(NULL);
	skr_key_free(shared[0]);
	skr_key_free(shared[1]);
}

int
main(void)
{
	unsigned char d[32];
	unsigned int dl = 0;

	/* The fetched SHA-256 is SHA-256 (FIPS 180-2, "abc"). */
	CHECK(skr_opcache_sha256() != NULL);
	CHECK(EVP_Digest("abc", 3, d, &dl, skr_opcache_sha256(), NULL) == 1 &&
	    dl == 32 && d[0] == 0xba && d[1] == 0x78 && d[31] == 0xad);
	/* Misuse is refused, not crashed on. */
	CHECK(skr_opcache_md(NULL, SKR_OPCACHE_JWS, NULL) == NULL);
	CHECK(skr_opcache_pkey(NULL, SKR_OPCACHE_WRAP, NULL) == NULL);
	skr_opcache_forget(NULL);
	test_reuse();
	test_separate();
	test_freed_key();
	test_evict();
	test_wrap();
	test_threads();
	return check_done();
}
