/*
 * libskr: the wrapping key an attestation token names, chosen as skrd
 * chooses it (docs/release.md, "The wrapping key"), so that a client holding
 * that key elsewhere (a TPM) can tell before any request whether a release
 * would be wrapped to it.  The token is read here, never trusted: the server
 * verifies it.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client_priv.h"
#include "guard.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"

/* As skrd bounds the tokens it accepts. */
#define TOKEN_MAX ((size_t)128 * 1024)

static int
wants_encrypt(const json_t *e)
{
	const json_t *use = json_object_get(e, "use");
	const json_t *ops = json_object_get(e, "key_ops"), *op;
	size_t i;

	if (json_is_string(use) && strcmp(json_string_value(use), "enc") == 0)
		return 1;
	json_array_foreach(ops, i, op)
		if (json_is_string(op) &&
		    strcmp(json_string_value(op), "encrypt") == 0)
			return 1;
	return 0;
}

int
skr__token_wrapping_key(const char *token, size_t n, skr_key **keyp,
    char **kidp)
{
	const json_t *arr, *e, *kid, *kty;
	skr_jws jws;
	skr_key *key = NULL;
	size_t i;
	int r, matched = 0;

	*keyp = NULL;
	*kidp = NULL;
	memset(&jws, 0, sizeof(jws));
	if (skr_jws_parse(token, n, TOKEN_MAX, &jws) != SKR_OK ||
	    jws.payload == NULL) {
		r = SKR_ERR_TOKEN_MALFORMED;
		goto out;
	}
	arr = skr_json_path(jws.payload, SKR__WRAPKEY_CLAIM);
	SKR_ENSURE(json_is_array(arr), SKR_ERR_WRAPKEY_MISSING);
	r = SKR_ERR_WRAPKEY_MISSING;
	json_array_foreach(arr, i, e) {
		kid = json_object_get(e, "kid");
		kty = json_object_get(e, "kty");
		if (!json_is_string(kty) ||
		    skr_kty_parse(json_string_value(kty)) != SKR_KTY_RSA ||
		    !json_is_string(kid) || json_string_length(kid) == 0 ||
		    !wants_encrypt(e))
			continue;
		matched = 1;
		if ((r = skr_jwk_parse(e, SKR_JWK_PUBLIC, &key)) ==
		    SKR_ERR_NOMEM)
			goto out;
		if (r != SKR_OK || skr_key_kty(key) != SKR_KTY_RSA ||
		    skr_key_bits(key) < 2048) {
			skr_key_free(key);
			key = NULL;
			continue;
		}
		SKR_ENSURE((*kidp = strdup(json_string_value(kid))) != NULL,
		    SKR_ERR_NOMEM);
		*keyp = key;
		key = NULL;
		r = SKR_OK;
		goto out;
	}
	r = matched ? SKR_ERR_WRAPKEY_INVALID : SKR_ERR_WRAPKEY_MISSING;
out:
	skr_key_free(key);
	skr_jws_clear(&jws);
	return r;
}
