/*
 * libskr internals shared between the client/ sources and the unit tests.  Not
 * installed; nothing here is part of the library's ABI (the version script
 * hides every skr__ symbol from the shared library).
 */
#ifndef SKR_CLIENT_PRIV_H
#define SKR_CLIENT_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/x509.h>

#include "buf.h"
#include "jwk.h"
#include "skr/client.h"

#define SKR__RESPONSE_MAX ((size_t)16 * 1024 * 1024)
#define SKR__PATH_MAX 2048
#define SKR__PINS_MAX 8
#define SKR__URLS_MAX 16

enum skr__pin_kind {
	SKR__PIN_SPKI = 1,      /* SHA-256 of the SubjectPublicKeyInfo DER */
	SKR__PIN_CERT,          /* SHA-256 of the certificate DER */
};

struct skr__pin {
	enum skr__pin_kind kind;
	uint8_t sha256[32];
};

struct skr_client {
	char *url;              /* the first of urls */
	char *urls[SKR__URLS_MAX]; /* no trailing slash, one path for all */
	size_t nurls;
	_Atomic size_t current; /* the one to try first */
	long failover_ms;
	char *ca_file;
	char *curl_pin;         /* "sha256//..." for CURLOPT_PINNEDPUBLICKEY */
	struct skr__pin pins[SKR__PINS_MAX];
	size_t npins;
	char *bearer;           /* wiped on free */
	long connect_timeout_ms;
	long timeout_ms;
	X509 *signing_cert;
	X509_STORE *signing_ca;
};

/* What a release response must echo: the request as sent. */
struct skr__release_expect {
	const char *name;
	const char *version;    /* NULL: any */
	const char *nonce;      /* NULL: none may be echoed */
	const char *enc;        /* NULL: the default */
};

/*
 * Parse a pin option (see skr_client_opts.pin) into pins[]; a file is read
 * and hashed.  *curl_pin (malloc'd or NULL) is the curl form of the SPKI
 * pins.  SKR_ERR_INVAL on anything malformed.
 */
int skr__pin_parse(const char *pin, struct skr__pin *pins, size_t *npins,
    char **curl_pin);
/* 1 when cert matches one of the pins. */
int skr__pin_match(const struct skr__pin *pins, size_t npins, X509 *cert);

/* Every public call starts so: res (may be NULL) cleared, since
 * skr__refuse keeps what is already there, and *out (out may be NULL)
 * NULL, so no return leaves either stale. */
static inline void
skr__start(skr_result *res, char **out)
{
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (out != NULL)
		*out = NULL;
}

/* A failure decided on this side (bad argument, bad response, no trust
 * configured): names it in *res (may be NULL) unless something more
 * precise is already there.  Returns r. */
int skr__refuse(skr_result *res, int r);

/*
 * Map an HTTP error response to an SKR_ERR code and fill res (may be NULL):
 * the "<id>: " prefix of error.message when it names a known id, else Key
 * Vault's error.code, else the status.  Pure.
 */
int skr__error_from_response(long status, const char *body, size_t n,
    skr_result *res);

/*
 * Verify and unpack the JWS of a release response (the "value" member)
 * as skr_client_release describes.  Pure apart from the unwrap callback.
 */
int skr__release_unpack(const skr_client *c, const char *jws, size_t n,
    const struct skr__release_expect *want, const skr_unwrapper *u,
    skr_released_key **out);

/* "/keys/NAME[/VERSION]SUFFIX?api-version=7.4"; SKR_ERR_KEY_NAME for a
 * name or version Key Vault would not accept. */
int skr__key_path(char *out, size_t outlen, const char *name,
    const char *version, const char *suffix);

/* The path and query of a nextLink below base_path (the path of the
 * client's URL, "" usually), when it is the same route as first_path (whose
 * query is ignored); SKR_ERR_RESPONSE otherwise. */
int skr__next_path(const char *link, const char *base_path,
    const char *first_path, char *out, size_t outlen);

/* Where skrd looks for the wrapping key by default (docs/attestation.md). */
#define SKR__WRAPKEY_CLAIM "x-ms-runtime.keys"

/*
 * The key a release of token would be wrapped to, as skrd chooses it with
 * its default claim path: the first entry of x-ms-runtime.keys with kty RSA,
 * a non-empty kid, use "enc" or key_ops "encrypt", that parses as an RSA
 * public key of at least 2048 bits.  The token is parsed, not verified.
 * SKR_ERR_TOKEN_MALFORMED (not a compact JWS with a JSON payload, or over
 * 128 KiB), SKR_ERR_WRAPKEY_MISSING, SKR_ERR_WRAPKEY_INVALID (entries
 * matched but none was usable).  Pure.  *key: skr_key_free; *kid: free.
 */
int skr__token_wrapping_key(const char *token, size_t n, skr_key **key,
    char **kid);

#endif
