/*
 * Certificates for the client tests, made in memory with OpenSSL: a CA, and
 * leaves it issues, with chosen validity.  Test code only.
 */
#ifndef SKR_TESTS_CLIENT_TESTCERT_H
#define SKR_TESTS_CLIENT_TESTCERT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static EVP_PKEY *
tc_rsa(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static EVP_PKEY *
tc_ec(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int
tc_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/*
 * A certificate for key `pub` named cn, issued by (issuer, issuer_key), or
 * self-signed when issuer is NULL.  Valid from now + from_days to now +
 * to_days; with an extended key usage extension when eku (an OpenSSL
 * value: "serverAuth", an OID) is not NULL.  NULL on failure.
 */
static X509 *
tc_cert_eku(const char *cn, EVP_PKEY *pub, X509 *issuer,
    EVP_PKEY *issuer_key, int is_ca, long from_days, long to_days,
    const char *eku)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (x == NULL || name == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	X509_set_pubkey(x, pub);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	if (!tc_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !tc_ext(x, issuer != NULL ? issuer : x, NID_key_usage, is_ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature") ||
	    !tc_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier,
	    "hash") ||
	    (issuer != NULL && !tc_ext(x, issuer, NID_authority_key_identifier,
	    "keyid")) || (eku != NULL && !tc_ext(x, issuer != NULL ? issuer :
	    x, NID_ext_key_usage, eku)))
		goto fail;
	if (X509_sign(x, issuer_key != NULL ? issuer_key : pub,
	    EVP_sha256()) == 0)
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

static X509 *
tc_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
    int is_ca, long from_days, long to_days)
{
	return tc_cert_eku(cn, pub, issuer, issuer_key, is_ca, from_days,
	    to_days, NULL);
}

static int
tc_write_pem(const char *path, X509 *a, X509 *b)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return 0;
	ok = PEM_write_X509(f, a) == 1 && (b == NULL ||
	    PEM_write_X509(f, b) == 1);
	return fclose(f) == 0 && ok;
}

#endif
