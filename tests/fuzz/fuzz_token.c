/*
 * libFuzzer target: attestation token verification.  The first input byte
 * picks a mode: 0 verifies the rest as a compact token; 1 signs the rest as
 * the payload with a known key (so claim checks, the wrapping-key selection
 * and the nonce are reached, which a fuzzer cannot do through a signature);
 * 2 signs a fixed payload under the rest as extra header members.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jwks.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISS "https://a.example"

static skr_key *key;
static skr_jwks *keys;
static skr_token_static st;
static skr_token_trust trust;

static int
setup(void)
{
	json_t *doc = NULL, *jwk;

	if (keys != NULL)
		return 0;
	if (skr_key_generate(SKR_KTY_EC, 256, &key) != 0)
		return -1;
	jwk = skr_jwk_emit(key, 0);
	json_object_set_new(jwk, "kid", json_string("k1"));
	doc = json_pack("{s:[o]}", "keys", jwk);
	if (skr_jwks_from_json(doc, NULL, 0, &keys, NULL) != 0)
		keys = NULL;
	json_decref(doc);
	st.issuer = ISS;
	st.keys = keys;
	skr_token_trust_static(&trust, &st);
	return keys != NULL ? 0 : -1;
}

static void
check(const char *text, size_t n)
{
	skr_token_opts opts = SKR_TOKEN_OPTS_INIT;
	skr_buf why = SKR_BUF_INIT;
	skr_token *tok = NULL;
	skr_key *wk = NULL;
	char *kid = NULL;

	opts.now = 1700000000;
	if (skr_token_verify(text, n, &trust, &opts, &tok, &why) == 0) {
		(void)skr_token_wrapping_key(tok, NULL, &wk, &kid);
		(void)skr_token_nonce(tok);
	}
	skr_key_free(wk);
	free(kid);
	skr_token_free(tok);
	skr_buf_free(&why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char payload[] =
	    "{\"iss\":\"" ISS "\",\"exp\":1700000600,\"iat\":1699999990}";
	skr_buf t = SKR_BUF_INIT;
	json_t *hdr = NULL;

	if (size == 0 || setup() != 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check((const char *)data + 1, size - 1);
		break;
	case 1:
		hdr = json_pack("{s:s}", "kid", "k1");
		if (skr_jws_sign(skr_key_pkey(key), SKR_ALG_ES256, hdr,
		    data + 1, size - 1, &t) == 0)
			check((const char *)t.data, t.len);
		break;
	case 2:
		if (skr_json_parse((const char *)data + 1, size - 1, 0,
		    &hdr) != 0 || !json_is_object(hdr))
			break;
		if (skr_jws_sign(skr_key_pkey(key), SKR_ALG_ES256, hdr,
		    (const uint8_t *)payload, sizeof(payload) - 1, &t) == 0)
			check((const char *)t.data, t.len);
		break;
	}
	json_decref(hdr);
	skr_buf_free(&t);
	return 0;
}
