/*
 * The certificates skrd makes for itself at `skrd init` (a private CA, the
 * TLS server certificate, the release-signing certificates) and the JWS
 * header that names the release-signing certificate (docs/release.md).
 *
 * Files in the data directory:
 *   ca.pem                      the CA certificate clients trust (0644)
 *   ca-key.pem                  its key (0600)
 *   tls-cert.pem, tls-key.pem   server certificate chain and key
 *   release-signing.pem         RSA release-signing certificate chain
 *   release-signing-key.pem
 *   release-signing-ec.pem      EC P-256 release-signing certificate chain
 *   release-signing-ec-key.pem
 *   attest-signing.pem          attestation-token signing certificate chain
 *   attest-signing-key.pem      (skrd's attestation endpoint, docs/snp.md)
 */
#ifndef SKR_SERVER_PKI_H
#define SKR_SERVER_PKI_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "jws.h"

enum skr_cert_kind {
	SKR_CERT_CA,        /* CA:TRUE, keyCertSign */
	SKR_CERT_TLS,       /* serverAuth, subjectAltName from sans */
	SKR_CERT_SIGNING,   /* digitalSignature only */
	SKR_CERT_RELEASE,   /* digitalSignature, EKU serverAuth and
	                     * SKR_OID_RELEASE_SIGNING, subjectAltName from
	                     * sans */
};

/*
 * A certificate for pkey named cn (organisation org), issued by (issuer,
 * issuer_key) or self-signed when issuer is NULL, valid for days.  sans is
 * an OpenSSL subjectAltName value ("DNS:localhost,IP:127.0.0.1") for TLS
 * and release-signing certificates (NULL: none), ignored for the others.
 *
 * A release-signing certificate carries the names skrd serves and
 * serverAuth besides the release-signing usage: Key Vault clients such as
 * the confidential-containers SKR sidecar verify the signer's chain as a
 * TLS server's for the vault's host (docs/libskr.md, "Key Vault clients"),
 * while skr's clients accept only a signer with the release-signing usage,
 * which the TLS certificate never has.  *out: caller frees with X509_free.
 */
int skr_pki_cert(EVP_PKEY *pkey, const char *org, const char *cn,
    X509 *issuer, EVP_PKEY *issuer_key, enum skr_cert_kind kind,
    const char *sans, long days, X509 **out);

/* Append the PEM of cert to out. */
int skr_pki_cert_pem(X509 *cert, skr_buf *out);

/* Write n bytes to dir/name with mode, created exclusively, synced. */
int skr_pki_write_file(const char *dir, const char *name, const void *p,
    size_t n, int mode);

/* Create the CA, TLS, release-signing and attestation-signing files in
 * dir for host (added to the names of the TLS and release-signing
 * certificates with localhost, 127.0.0.1 and ::1). */
int skr_pki_init_dir(const char *dir, const char *host);

/*
 * Re-issue certificates in dir from its CA (ca.pem, ca-key.pem), each file
 * replaced atomically:
 *   SKR_PKI_RENEW_TLS      a new TLS key and certificate (825 days) with
 *                          the names of the current one, or those of
 *                          `init --name host` when host is not NULL;
 *   SKR_PKI_RENEW_SIGNING  new release-signing certificates (10 years,
 *                          with the release-signing extended key usage
 *                          and serverAuth) for the same keys, named as
 *                          the TLS certificate is (after its renewal,
 *                          when both are asked for).
 * No certificate outlives the CA: one the CA would not outlast ends with
 * it, and an expired CA is refused (SKR_ERR_CONFIG).  note (a buffer) gets
 * a sentence for the operator when either happens.  Every file read or
 * replaced must be a regular file: a symlink is refused, not followed.
 * A running skrd goes on with what it loaded; the next start reads them.
 */
#define SKR_PKI_RENEW_TLS 1u
#define SKR_PKI_RENEW_SIGNING 2u
int skr_pki_renew(const char *dir, unsigned what, const char *host,
    skr_buf *note);

/*
 * Load the release-signing key for alg (RS256/PS256: the RSA key, ES256:
 * the EC key) from dir and build its JWS header members: kid (uppercase hex
 * SHA-1 thumbprint of the certificate, as Key Vault), x5t, x5t#S256, x5c
 * (standard base64 DER chain: leaf, CA) and typ "JWT".  *release_eku (may
 * be NULL) says whether the certificate carries the release-signing
 * extended key usage (keys/jwk.h): 0 for a data directory made before skrd
 * gave it (`skrd renew --signing` mends it), else 1.
 */
int skr_pki_load_signing(const char *dir, skr_alg alg, EVP_PKEY **key,
    json_t **header, int *release_eku);

/*
 * The key that signs the tokens of skrd's attestation endpoint
 * (docs/snp.md, "Tokens"): attest-signing-key.pem (RSA 2048, 0600) and
 * attest-signing.pem (its certificate from the data directory's CA, 10
 * years or to the CA's end, digitalSignature only; then the CA).
 * skr_pki_attest_ensure creates both when neither exists (*created 1) and
 * leaves them when both do (*created 0); one without the other, or a CA
 * that cannot be read, is SKR_ERR_CONFIG.
 */
int skr_pki_attest_ensure(const char *dir, int *created);

/* Load them: *key (caller frees with EVP_PKEY_free) and *x5c, the
 * certificate chain as a JSON array of standard base64 DER, leaf first (a
 * new reference).  SKR_ERR_CONFIG when the files are not a key and a
 * certificate of that key. */
int skr_pki_load_attest(const char *dir, EVP_PKEY **key, json_t **x5c);

#endif
