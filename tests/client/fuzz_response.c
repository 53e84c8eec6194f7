/*
 * libFuzzer target: what libskr parses from a server.  The first byte picks
 * a mode:
 *   0  an error response body (status from the second byte)
 *   1  a release response JWS, checked against a pinned signer
 *   2  a release response payload, signed here by the pinned signer so the
 *      fuzzer reaches the echo, kid and key_hsm checks and the unwrap
 *   3  a nextLink
 *   4  a pin in its sha256// or fingerprint form
 *   5  an attestation token, for the wrapping key a TPM must hold
 * A release that is accepted must carry a key; a wrapping key that is
 * found is RSA of 2048 bits or more and has a kid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "client_priv.h"
#include "jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static skr_client client;
static EVP_PKEY *signer, *wrap;

static void
setup(void)
{
	X509_NAME *name = X509_NAME_new();
	X509 *x = X509_new();

	signer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	wrap = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (signer == NULL || wrap == NULL || x == NULL || name == NULL)
		abort();
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"fuzz signer", -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, signer);
	if (X509_sign(x, signer, EVP_sha256()) == 0)
		abort();
	X509_NAME_free(name);
	client.url = "https://fuzz.invalid";
	client.signing_cert = x;
}

static void
unpack(const char *jws, size_t n, const char *nonce)
{
	struct skr__release_expect want = { "k", NULL, nonce, NULL };
	skr_unwrapper u;
	skr_released_key *k = NULL;
	size_t len;

	memset(&u, 0, sizeof(u));
	u.key = wrap;
	if (skr__release_unpack(&client, jws, n, &want, &u, &k) == SKR_OK) {
		if (k == NULL || skr_released_key_bytes(k, &len) == NULL ||
		    len == 0)
			abort();
	} else if (k != NULL)
		abort();
	skr_released_key_free(k);
}

/* 64 hex digits, colons allowed: parsed as a fingerprint, never opened. */
static int
fingerprint_shaped(const char *s, size_t n)
{
	size_t hex = 0;

	if (strlen(s) != n || strspn(s, "0123456789abcdefABCDEF:") != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		hex += s[i] != ':';
	return hex == 64;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skr__pin pins[SKR__PINS_MAX];
	skr_buf text = SKR_BUF_INIT, jws = SKR_BUF_INIT;
	char path[SKR__PATH_MAX], *curl_pin = NULL;
	skr_result res;
	skr_key *wk = NULL;
	char *kid = NULL;
	size_t n;
	int r;

	if (signer == NULL)
		setup();
	if (size < 1)
		return 0;
	/* Text modes take the input as a C string. */
	if (skr_buf_append(&text, data + 1, size - 1) != SKR_OK)
		goto out;
	switch (data[0] % 6) {
	case 0:
		(void)skr__error_from_response(size > 1 ? 400 + data[1] % 200 :
		    500, skr_buf_cstr(&text), text.len, &res);
		if (memchr(res.message, '\0', sizeof(res.message)) == NULL ||
		    memchr(res.error_id, '\0', sizeof(res.error_id)) == NULL)
			abort();
		break;
	case 1:
		unpack(skr_buf_cstr(&text), text.len, NULL);
		break;
	case 2:
		if (skr_jws_sign(signer, SKR_ALG_ES256, NULL, text.data,
		    text.len, &jws) == SKR_OK) {
			unpack(skr_buf_cstr(&jws), jws.len, NULL);
			unpack(skr_buf_cstr(&jws), jws.len, "n");
		}
		break;
	case 3:
		if (skr__next_path(skr_buf_cstr(&text), "", "/keys?api-version=7.4",
		    path, sizeof(path)) == SKR_OK &&
		    strncasecmp(path, "/keys", 5) != 0)
			abort();
		break;
	case 4:
		/* Never a file name: that form reads the file system. */
		if (strncmp(skr_buf_cstr(&text), "sha256//", 8) != 0 &&
		    !fingerprint_shaped(skr_buf_cstr(&text), text.len))
			break;
		if (skr__pin_parse(skr_buf_cstr(&text), pins, &n, &curl_pin) ==
		    SKR_OK && (n == 0 || n > SKR__PINS_MAX))
			abort();
		free(curl_pin);
		break;
	case 5:
		r = skr__token_wrapping_key(skr_buf_cstr(&text), text.len, &wk,
		    &kid);
		if (r == SKR_OK ? wk == NULL || kid == NULL || *kid == '\0' ||
		    skr_key_kty(wk) != SKR_KTY_RSA || skr_key_bits(wk) < 2048 :
		    wk != NULL || kid != NULL)
			abort();
		skr_key_free(wk);
		free(kid);
		break;
	}
out:
	skr_buf_free(&text);
	skr_buf_free(&jws);
	return 0;
}
