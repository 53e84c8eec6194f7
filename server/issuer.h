/*
 * skrd's own attestation authority (docs/snp.md, "Tokens"): the key that
 * signs the tokens of the attestation endpoint, its key set (GET /certs)
 * and OpenID metadata, the minting of a token from verified claims, and
 * the trust a release puts in those tokens without fetching anything.
 *
 * The issuer URL is skrd's base URL, which is known only once the server
 * listens: it is passed to each call rather than kept here.  An issuer is
 * built once and then only read, so every thread may use it.
 */
#ifndef SKR_SERVER_ISSUER_H
#define SKR_SERVER_ISSUER_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "token.h"

struct skr_authorities;

/* Azure Attestation's token lifetime. */
#define SKR_ISSUER_DEFAULT_LIFETIME 28800
/* jti: 32 random bytes in hex. */
#define SKR_ISSUER_JTI_LEN 64

typedef struct skr_issuer skr_issuer;

/* The issuer of the attestation-signing key in data directory dir
 * (skr_pki_load_attest), minting tokens valid for lifetime seconds (<= 0:
 * the default).  *out: caller frees with skr_issuer_free. */
int skr_issuer_load(const char *dir, int64_t lifetime, skr_issuer **out);
void skr_issuer_free(skr_issuer *is);

/* The signing key's kid: the base64url RFC 7638 SHA-256 thumbprint of its
 * public JWK.  Borrowed, valid while is lives. */
const char *skr_issuer_kid(const skr_issuer *is);
int64_t skr_issuer_lifetime(const skr_issuer *is);

/* {"keys": [{"kty": "RSA", "kid", "use": "sig", "alg": "RS256", "n",
 * "e", "x5c": [certificate, CA]}]}, what GET /certs answers.  A new
 * reference, NULL when memory is short. */
json_t *skr_issuer_jwks_json(const skr_issuer *is);

/* The OpenID discovery document of issuer iss: issuer, jwks_uri
 * ({iss}/certs) and the algorithms and claims.  New reference or NULL. */
json_t *skr_issuer_openid_json(const skr_issuer *is, const char *iss);

/*
 * A token of issuer iss carrying claims (borrowed; every member is
 * copied into the payload) and iat = nbf = now, exp = now + lifetime, iss
 * and a fresh jti (written into jti, SKR_ISSUER_JTI_LEN + 1 bytes), signed
 * RS256 with the header {alg, jku: {iss}/certs, kid, typ: "JWT"} as Azure
 * Attestation signs its tokens.  The compact JWS is appended to token.
 */
int skr_issuer_mint(const skr_issuer *is, const char *iss,
    const json_t *claims, int64_t now, skr_buf *token,
    char jti[SKR_ISSUER_JTI_LEN + 1]);

/*
 * The trust a release verifies tokens with: tokens whose iss is iss (the
 * server's base URL, compared as policies compare authorities) are
 * checked against is's key set, every other issuer goes to auths.  is or
 * auths may be NULL (not trusted).  *ctx holds the state *out points at;
 * both are the caller's and must outlive out's use, as must is, iss and
 * auths.
 */
typedef struct skr_issuer_trust {
	const skr_issuer *is;
	const char *iss;
	skr_token_trust inner;
	int has_inner;
} skr_issuer_trust;

void skr_issuer_trust_init(skr_issuer_trust *ctx, const skr_issuer *is,
    const char *iss, struct skr_authorities *auths, skr_token_trust *out);

#endif
