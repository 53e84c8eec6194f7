/*
 * skrctl's connection to the server: the server options (--addr, --auth,
 * --cacert, --pin, --signing-cert, --signing-ca) over the environment
 * (docs/skrctl.1, ENVIRONMENT), where an empty variable counts as unset.
 * The bearer flag is --auth because --token names the attestation token
 * file of release and evaluate.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* The option, else the environment variable. */
static const char *
option_or_env(const struct skrctl_ctx *x, const char *opt, const char *var)
{
	const char *v = skrctl_args_get(&x->a, opt);

	return v != NULL ? v : env(var);
}

/* 1 when path (may be NULL) holds exactly one certificate, a self-signed
 * CA: skrd's ca.pem, not a bundle. */
static int
one_root(const char *path)
{
	X509 *c = NULL, *more = NULL;
	FILE *f;
	int ok;

	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return 0;
	c = PEM_read_X509(f, NULL, NULL, NULL);
	more = c != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	fclose(f);
	ok = c != NULL && more == NULL && X509_check_ca(c) >= 1 &&
	    X509_check_issued(c, c) == X509_V_OK;
	X509_free(c);
	X509_free(more);
	ERR_clear_error();
	return ok;
}

int
skrctl_connect(struct skrctl_ctx *x)
{
	skr_client_opts o;
	const char *v;
	int r;

	skr_client_opts_init(&o);
	o.url = option_or_env(x, "addr", "SKR_ADDR");
	o.bearer = option_or_env(x, "auth", "SKR_TOKEN");
	o.ca_file = option_or_env(x, "cacert", "SKR_CACERT");
	o.pin = option_or_env(x, "pin", "SKR_PIN");
	o.signing_cert = option_or_env(x, "signing-cert", "SKR_SIGNING_CERT");
	/* skrd issues its release-signing certificate from the same CA as
	 * its TLS certificate, so that CA is the default trust for release
	 * responses unless a certificate is pinned -- when --cacert is that
	 * one CA.  A bundle (public CAs for a proxy in front, say) is not:
	 * any of its CAs may issue document-signing certificates. */
	o.signing_ca = (v = skrctl_args_get(&x->a, "signing-ca")) ? v :
	    o.signing_cert ? NULL : one_root(o.ca_file) ? o.ca_file : NULL;
	x->signing_trust = o.signing_cert != NULL || o.signing_ca != NULL;
	if (o.url == NULL || *o.url == '\0') {
		skrctl_out_errorf("no server: set SKR_ADDR or --addr");
		return SKRCTL_EXIT_USAGE;
	}
	if ((r = skr_client_new(&o, &x->c)) != SKR_OK) {
		skrctl_out_errorf("%s: %s", skr_err_id(r), r == SKR_ERR_INVAL ?
		    "the address must be https://HOST[:PORT] (or several, "
		    "comma-separated, with one path), the certificate "
		    "files readable PEM and the pin sha256//BASE64, a SHA-256 "
		    "fingerprint or a certificate file" : skr_strerror(r));
		return r == SKR_ERR_INVAL ? SKRCTL_EXIT_USAGE : SKRCTL_EXIT_ERR;
	}
	return SKRCTL_EXIT_OK;
}
