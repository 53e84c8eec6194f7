/*
 * AMD's roots of trust for SEV-SNP (docs/snp.md, "Trust roots") and the
 * chains that lead to them: VCEK -> ASK -> ARK, VLEK -> ASVK -> ARK, every
 * link an RSA-PSS signature with SHA-384, MGF1-SHA-384 and a 48-byte salt.
 *
 * skr ships the roots as pins, not certificates: the SHA-256 of each
 * product's ARK SubjectPublicKeyInfo, derived from the certificates AMD
 * publishes.  An ARK is trusted for a product when it is self-signed, its
 * subject CN is "ARK-<Product>" and its key matches that product's pin;
 * the ARK certificate itself, and the ASK or ASVK below it, come from the
 * evidence or from certificates the operator configures
 * (skr_snp_trust_add_pem, e.g. AMD's ask_ark bundles).  Configuring a root
 * file (skr_snp_trust_set_roots_pem) replaces every pin: only the ARKs in
 * that file are trusted from then on.
 *
 * A trust object is built once, then only read: verifications may share it
 * across threads.
 */
#ifndef SKR_SNP_TRUST_H
#define SKR_SNP_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "buf.h"
#include "snp_report.h"

#define SKR_SNP_TRUST_MAX_CERTS 64
#define SKR_SNP_TRUST_MAX_PINS 16
#define SKR_SNP_EVIDENCE_MAX_CERTS 8  /* certificates sent with evidence */

typedef struct skr_snp_trust skr_snp_trust;

/* A trust holding the built-in pins and no certificates.  *out: caller
 * frees with skr_snp_trust_free. */
int skr_snp_trust_new(skr_snp_trust **out);
void skr_snp_trust_free(skr_snp_trust *t);

/* Add the certificates of a PEM bundle (ARKs, ASKs, ASVKs) as candidates
 * for chains; they are never trusted for being here (an ARK must still
 * match a pin).  SKR_ERR_SNP_CERT for a malformed bundle, one without a
 * certificate, or more than SKR_SNP_TRUST_MAX_CERTS in all. */
int skr_snp_trust_add_pem(skr_snp_trust *t, const char *pem, size_t n,
    skr_buf *why);

/* Replace the pins with the ARKs of a PEM bundle: each self-signed
 * certificate must be "ARK-Milan", "ARK-Genoa" or "ARK-Turin" with a
 * valid RSA-PSS self-signature, and becomes that product's root; the other
 * certificates are added as by skr_snp_trust_add_pem.  At least one ARK
 * is required.  SKR_ERR_SNP_CERT otherwise, leaving t unchanged. */
int skr_snp_trust_set_roots_pem(skr_snp_trust *t, const char *pem, size_t n,
    skr_buf *why);

/* {"roots": "built-in"|"configured", "pins": {"Milan": [hex, ...], ...},
 * "certificates": N} for status pages.  *out: a new reference. */
int skr_snp_trust_describe(const skr_snp_trust *t, json_t **out);

/*
 * Does leaf (a VCEK when kind is SKR_SNP_SIGNER_VCEK, else a VLEK) chain to
 * a trusted ARK of product p at Unix time now?  Candidates for the ARK and
 * the ASK/ASVK are the trust's certificates and extra (may be NULL;
 * certificates that came with the evidence, borrowed).  The intermediate
 * must be "SEV-<Product>" for a VCEK, "SEV-VLEK-<Product>" for a VLEK.
 * SKR_ERR_SNP_CHAIN when no chain of valid signatures exists;
 * SKR_ERR_SNP_EXPIRED when one does but a certificate of it is outside its
 * validity at now.
 */
int skr_snp_trust_verify(const skr_snp_trust *t, X509 *leaf,
    skr_snp_signer kind, skr_snp_product p, STACK_OF(X509) *extra,
    int64_t now, skr_buf *why);

/* Parse a PEM bundle into a new stack (caller frees with
 * sk_X509_pop_free(s, X509_free)); at most max certificates.
 * SKR_ERR_SNP_CERT when malformed, empty or over max. */
int skr_snp_certs_from_pem(const char *pem, size_t n, size_t max,
    STACK_OF(X509) **out, skr_buf *why);

#endif
