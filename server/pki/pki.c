#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "encoding.h"
#include "guard.h"
#include "jwk.h"
#include "skr/error.h"

#define ORG "skr"

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return SKR_ERR_CRYPTO;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? SKR_OK : SKR_ERR_CRYPTO;
}

int
skr_pki_cert(EVP_PKEY *pkey, const char *org, const char *cn,
    X509 *issuer, EVP_PKEY *issuer_key, enum skr_cert_kind kind,
    const char *sans, long days, X509 **out)
{
	X509 *cert = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	uint8_t serial[16];
	int r = SKR_ERR_CRYPTO;

	*out = NULL;
	SKR_ENSURE(RAND_bytes(serial, sizeof(serial)) == 1, SKR_ERR_CRYPTO);
	serial[0] &= 0x7f; /* positive (RFC 5280 section 4.1.2.2) */
	SKR_ENSURE((cert = X509_new()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_ENSURE(X509_set_version(cert, 2) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL &&
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0,
	    NULL) != NULL && X509_set_pubkey(cert, pkey), SKR_ERR_CRYPTO);
	name = X509_get_subject_name(cert);
	SKR_ENSURE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)org, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), SKR_ERR_CRYPTO);
	SKR_ENSURE(X509_set_issuer_name(cert, issuer != NULL ?
	    X509_get_subject_name(issuer) : name), SKR_ERR_CRYPTO);
	if (issuer == NULL)
		issuer = cert;
	SKR_GUARD(add_ext(cert, issuer, NID_subject_key_identifier, "hash"));
	if (issuer != cert)
		SKR_GUARD(add_ext(cert, issuer, NID_authority_key_identifier,
		    "keyid:always"));
	switch (kind) {
	case SKR_CERT_CA:
		SKR_GUARD(add_ext(cert, issuer, NID_basic_constraints,
		    "critical,CA:TRUE,pathlen:0"));
		SKR_GUARD(add_ext(cert, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign"));
		break;
	case SKR_CERT_TLS:
		SKR_GUARD(add_ext(cert, issuer, NID_basic_constraints,
		    "critical,CA:FALSE"));
		SKR_GUARD(add_ext(cert, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment"));
		SKR_GUARD(add_ext(cert, issuer, NID_ext_key_usage,
		    "serverAuth"));
		if (sans != NULL)
			SKR_GUARD(add_ext(cert, issuer, NID_subject_alt_name,
			    sans));
		break;
	case SKR_CERT_SIGNING:
	case SKR_CERT_RELEASE:
		SKR_GUARD(add_ext(cert, issuer, NID_basic_constraints,
		    "critical,CA:FALSE"));
		SKR_GUARD(add_ext(cert, issuer, NID_key_usage,
		    "critical,digitalSignature"));
		if (kind != SKR_CERT_RELEASE)
			break;
		/* Key Vault clients that check the signer's chain as a TLS
		 * server's for the vault's host (docs/libskr.md, "Key Vault
		 * clients") need serverAuth and the host among the names;
		 * skr's own clients need the release-signing usage. */
		SKR_GUARD(add_ext(cert, issuer, NID_ext_key_usage,
		    "serverAuth," SKR_OID_RELEASE_SIGNING));
		if (sans != NULL)
			SKR_GUARD(add_ext(cert, issuer, NID_subject_alt_name,
			    sans));
		break;
	}
	SKR_ENSURE(X509_sign(cert, issuer_key != NULL ? issuer_key : pkey,
	    EVP_sha256()) > 0, SKR_ERR_CRYPTO);
	*out = cert;
	cert = NULL;
	r = SKR_OK;
out:
	BN_free(bn);
	X509_free(cert);
	return r;
}

int
skr_pki_cert_pem(X509 *cert, skr_buf *out)
{
	BUF_MEM *mem;
	BIO *bio;
	int r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return SKR_ERR_NOMEM;
	if (PEM_write_bio_X509(bio, cert) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1)
		r = SKR_ERR_CRYPTO;
	else
		r = skr_buf_append(out, mem->data, mem->length);
	BIO_free(bio);
	return r;
}

/*
 * Create path (it must not exist; a symlink is not followed) with n bytes
 * at p, synced.  owner, when not NULL, gives the file that uid and gid
 * through the descriptor, so no path is followed to do it.  A failure
 * after the file was created removes it.
 */
static int
write_new(const char *path, const void *p, size_t n, int mode,
    const struct stat *owner)
{
	const uint8_t *q = p;
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0)
		return errno == EEXIST ? SKR_ERR_CONFLICT : SKR_ERR_IO;
	while (n > 0) {
		if ((w = write(fd, q, n)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		q += w;
		n -= (size_t)w;
	}
	if (owner != NULL && fchown(fd, owner->st_uid, owner->st_gid) != 0)
		goto fail;
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		(void)unlink(path);
		return SKR_ERR_IO;
	}
	return SKR_OK;
fail:
	close(fd);
	(void)unlink(path);
	return SKR_ERR_IO;
}

int
skr_pki_write_file(const char *dir, const char *name, const void *p,
    size_t n, int mode)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return SKR_ERR_INVAL;
	return write_new(path, p, n, mode, NULL);
}

/* Write the key (0600) and the certificate chain cert + ca (0644). */
static int
write_pair(const char *dir, const char *certname, const char *keyname,
    skr_key *key, X509 *cert, X509 *ca)
{
	skr_buf chain = SKR_BUF_INIT, pem = SKR_BUF_INIT_SECRET;
	int r;

	SKR_GUARD(skr_pki_cert_pem(cert, &chain));
	if (ca != NULL)
		SKR_GUARD(skr_pki_cert_pem(ca, &chain));
	SKR_GUARD(skr_key_to_pem(key, 1, &pem));
	SKR_GUARD(skr_pki_write_file(dir, keyname, pem.data, pem.len, 0600));
	SKR_GUARD(skr_pki_write_file(dir, certname, chain.data, chain.len,
	    0644));
out:
	skr_buf_free(&chain);
	skr_buf_free(&pem);
	return r;
}

/* The TLS names of `skrd init --name host`: host (when given; an IP
 * address as one), localhost, 127.0.0.1 and ::1. */
static int
init_sans(const char *host, char *sans, size_t n)
{
	static const char *const always = "DNS:localhost,IP:127.0.0.1,IP:::1";
	unsigned char a[16];
	const char *kind = "DNS";
	int w;

	if (host != NULL && (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1))
		kind = "IP";
	else if (host != NULL && (*host == '\0' ||
	    strpbrk(host, ",:= \t\n") != NULL))
		return SKR_ERR_CONFIG;
	if (host != NULL && strcmp(host, "localhost") != 0 &&
	    strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0)
		w = snprintf(sans, n, "%s:%s,%s", kind, host, always);
	else
		w = snprintf(sans, n, "%s", always);
	return w < 0 || (size_t)w >= n ? SKR_ERR_CONFIG : SKR_OK;
}

/* The subject CN for host: host itself while it fits the 64 characters
 * X.509 allows (clients match the subjectAltName, not the CN). */
static const char *
host_cn(const char *host)
{
	return host == NULL ? "localhost" : strlen(host) <= 64 ? host : "skrd";
}

int
skr_pki_init_dir(const char *dir, const char *host)
{
	skr_key *ca_key = NULL, *tls_key = NULL, *rsa = NULL, *ec = NULL;
	X509 *ca = NULL, *tls = NULL, *sign_rsa = NULL, *sign_ec = NULL;
	skr_buf ca_pem = SKR_BUF_INIT;
	char sans[512];
	int r;

	if ((r = init_sans(host, sans, sizeof(sans))) != SKR_OK)
		return r;
	SKR_GUARD(skr_key_generate(SKR_KTY_EC, 256, &ca_key));
	SKR_GUARD(skr_key_generate(SKR_KTY_EC, 256, &tls_key));
	SKR_GUARD(skr_key_generate(SKR_KTY_RSA, 2048, &rsa));
	SKR_GUARD(skr_key_generate(SKR_KTY_EC, 256, &ec));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(ca_key), ORG, "skr CA", NULL,
	    NULL, SKR_CERT_CA, NULL, 3650, &ca));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(tls_key), ORG, host_cn(host), ca,
	    skr_key_pkey(ca_key), SKR_CERT_TLS, sans, 825, &tls));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(rsa), ORG, "skr release signing",
	    ca, skr_key_pkey(ca_key), SKR_CERT_RELEASE, sans, 3650,
	    &sign_rsa));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(ec), ORG,
	    "skr release signing (EC)", ca, skr_key_pkey(ca_key),
	    SKR_CERT_RELEASE, sans, 3650, &sign_ec));
	SKR_GUARD(skr_pki_cert_pem(ca, &ca_pem));
	SKR_GUARD(skr_pki_write_file(dir, "ca.pem", ca_pem.data, ca_pem.len,
	    0644));
	{
		skr_buf k = SKR_BUF_INIT_SECRET;

		r = skr_key_to_pem(ca_key, 1, &k);
		if (r == SKR_OK)
			r = skr_pki_write_file(dir, "ca-key.pem", k.data, k.len,
			    0600);
		skr_buf_free(&k);
		if (r != SKR_OK)
			goto out;
	}
	SKR_GUARD(write_pair(dir, "tls-cert.pem", "tls-key.pem", tls_key, tls,
	    ca));
	SKR_GUARD(write_pair(dir, "release-signing.pem",
	    "release-signing-key.pem", rsa, sign_rsa, ca));
	SKR_GUARD(write_pair(dir, "release-signing-ec.pem",
	    "release-signing-ec-key.pem", ec, sign_ec, ca));
	{
		int created;

		SKR_GUARD(skr_pki_attest_ensure(dir, &created));
	}
out:
	skr_key_free(ca_key);
	skr_key_free(tls_key);
	skr_key_free(rsa);
	skr_key_free(ec);
	X509_free(ca);
	X509_free(tls);
	X509_free(sign_rsa);
	X509_free(sign_ec);
	skr_buf_free(&ca_pem);
	return r;
}

static int
read_file(const char *dir, const char *name, skr_buf *out)
{
	char path[PATH_MAX];
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd, r = SKR_OK;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return SKR_ERR_INVAL;
	/* Whoever owns the data directory can put a symlink in it; run as
	 * root (skrd renew), following one would read any file on the host,
	 * a CA key of another service say, as this directory's. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ELOOP ? SKR_ERR_CONFIG : SKR_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SKR_ERR_CONFIG;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = SKR_ERR_IO;
			break;
		}
		if ((r = skr_buf_append(out, chunk, (size_t)n)) != SKR_OK)
			break;
	}
	close(fd);
	skr_wipe(chunk, sizeof(chunk));
	return r;
}

/* The first certificate of dir/name. */
static int
read_cert(const char *dir, const char *name, X509 **out)
{
	skr_buf pem = SKR_BUF_INIT;
	BIO *bio = NULL;
	int r;

	*out = NULL;
	SKR_GUARD(read_file(dir, name, &pem));
	SKR_ENSURE((bio = BIO_new_mem_buf(pem.data, (int)pem.len)) != NULL,
	    SKR_ERR_NOMEM);
	*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ERR_clear_error();
	r = *out != NULL ? SKR_OK : SKR_ERR_CONFIG;
out:
	BIO_free(bio);
	skr_buf_free(&pem);
	return r;
}

/* The private key PEM dir/name. */
static int
read_key(const char *dir, const char *name, skr_key **out)
{
	skr_buf pem = SKR_BUF_INIT_SECRET;
	int r;

	*out = NULL;
	SKR_GUARD(read_file(dir, name, &pem));
	SKR_GUARD(skr_key_from_pem((const char *)pem.data, pem.len, out));
	if (!skr_key_has_private(*out)) {
		skr_key_free(*out);
		*out = NULL;
		r = SKR_ERR_CONFIG;
	}
out:
	skr_buf_free(&pem);
	return r;
}

/*
 * A file replaced in two steps: stage_file writes dir/name.new (mode,
 * synced), commit_files renames it over dir/name and syncs the directory.
 * A crash leaves the old file or the new one, never a torn one, and files
 * that belong together are all written before any is replaced.  Run as
 * root, the new file gets the old one's owner (set through its descriptor,
 * never a path), so a renew as root leaves files the service user can
 * read.  What is replaced must be a regular file (or absent): a symlink is
 * refused, not followed.
 */
struct staged {
	char tmp[PATH_MAX];
	char path[PATH_MAX];
	int live;               /* tmp exists and is ours */
};

static int
stage_file(const char *dir, const char *name, const void *p, size_t n,
    int mode, struct staged *s)
{
	struct stat old;
	int r, had;

	s->live = 0;
	if (snprintf(s->tmp, sizeof(s->tmp), "%s/%s.new", dir, name) >=
	    (int)sizeof(s->tmp) ||
	    snprintf(s->path, sizeof(s->path), "%s/%s", dir, name) >=
	    (int)sizeof(s->path))
		return SKR_ERR_INVAL;
	if (lstat(s->path, &old) == 0) {
		if (!S_ISREG(old.st_mode))
			return SKR_ERR_CONFIG;
		had = 1;
	} else if (errno == ENOENT)
		had = 0;
	else
		return SKR_ERR_IO;
	/* Left by an interrupted run. */
	if (unlink(s->tmp) != 0 && errno != ENOENT)
		return SKR_ERR_IO;
	if ((r = write_new(s->tmp, p, n, mode, had && geteuid() == 0 &&
	    (old.st_uid != 0 || old.st_gid != 0) ? &old : NULL)) != SKR_OK)
		return r;
	s->live = 1;
	return SKR_OK;
}

/* Remove a staged file that was not committed; nothing when it was. */
static void
unstage(struct staged *s)
{
	if (s->live)
		(void)unlink(s->tmp);
	s->live = 0;
}

/* Rename the n staged files over their names, in order; sync dir. */
static int
commit_files(const char *dir, struct staged *s, size_t n)
{
	int fd, r;

	for (size_t i = 0; i < n; i++) {
		if (rename(s[i].tmp, s[i].path) != 0)
			return SKR_ERR_IO;
		s[i].live = 0;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return SKR_ERR_IO;
	r = fsync(fd) == 0 ? SKR_OK : SKR_ERR_IO;
	close(fd);
	return r;
}

/* The subjectAltName of cert in the form skr_pki_cert takes: DNS and IP
 * names only. */
static int
cert_sans(X509 *cert, char *out, size_t n)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	char ip[64];
	size_t used = 0;
	int i, w, r = SKR_OK;

	*out = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return SKR_ERR_CONFIG;
	for (i = 0; r == SKR_OK && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		w = -1;
		if (g->type == GEN_DNS) {
			const char *d = (const char *)ASN1_STRING_get0_data(
			    g->d.dNSName);
			if ((size_t)ASN1_STRING_length(g->d.dNSName) !=
			    strlen(d) || strpbrk(d, ", \t\n") != NULL) {
				r = SKR_ERR_CONFIG;
				break;
			}
			w = snprintf(out + used, n - used, "%sDNS:%s",
			    used ? "," : "", d);
		} else if (g->type == GEN_IPADD) {
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *a = ASN1_STRING_get0_data(
			    g->d.iPAddress);
			if ((len != 4 && len != 16) || inet_ntop(len == 4 ?
			    AF_INET : AF_INET6, a, ip, sizeof(ip)) == NULL) {
				r = SKR_ERR_CONFIG;
				break;
			}
			w = snprintf(out + used, n - used, "%sIP:%s",
			    used ? "," : "", ip);
		} else
			continue;
		if (w < 0 || (size_t)w >= n - used)
			r = SKR_ERR_CONFIG;
		else
			used += (size_t)w;
	}
	GENERAL_NAMES_free(gens);
	return r == SKR_OK && used == 0 ? SKR_ERR_CONFIG : r;
}

/* The subject CN of cert into out. */
static int
cert_cn(X509 *cert, char *out, size_t n)
{
	int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_commonName, out, (int)n);

	return len > 0 && (size_t)len < n ? SKR_OK : SKR_ERR_CONFIG;
}

/* The certificate and key files of alg's release-signing key. */
static int
signing_files(skr_alg alg, const char **certname, const char **keyname)
{
	if (alg == SKR_ALG_ES256) {
		*certname = "release-signing-ec.pem";
		*keyname = "release-signing-ec-key.pem";
	} else if (alg == SKR_ALG_RS256 || alg == SKR_ALG_PS256) {
		*certname = "release-signing.pem";
		*keyname = "release-signing-key.pem";
	} else
		return SKR_ERR_CONFIG;
	return SKR_OK;
}

/* The days a certificate issued now may run for, at most want: to the
 * CA's notAfter when that comes first.  An expired CA is SKR_ERR_CONFIG;
 * note says why, or that the CA has less than a year to run. */
static int
days_within_ca(X509 *ca, long want, long *days, skr_buf *note)
{
	int d, s;

	if (!ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(ca))) {
		ERR_clear_error();
		return SKR_ERR_CRYPTO;
	}
	if (d < 0 || (d == 0 && s <= 0)) {
		skr_buf_append_str(note, "ca.pem has expired: certificates "
		    "it signs would not verify; a new CA needs a new data "
		    "directory (skrd init, then skrctl backup/restore of the "
		    "keys)");
		return SKR_ERR_CONFIG;
	}
	*days = d < want ? (d > 0 ? d : 1) : want;
	if (d < 365 && note->len == 0)
		skr_buf_appendf(note, "ca.pem expires in %d days; the "
		    "certificates issued now end with it (a new CA needs a new "
		    "data directory)", d);
	return SKR_OK;
}

/* Re-issue the certificate of keyname's key as certname (kind, names
 * sans, days), keeping the key and the subject CN. */
static int
renew_keep_key(const char *dir, const char *certname, const char *keyname,
    enum skr_cert_kind kind, const char *sans, long days, X509 *ca,
    EVP_PKEY *ca_key)
{
	skr_key *k = NULL;
	X509 *old = NULL, *cert = NULL;
	skr_buf chain = SKR_BUF_INIT;
	struct staged st = { .live = 0 };
	char cn[256];
	int r;

	SKR_GUARD(read_key(dir, keyname, &k));
	SKR_GUARD(read_cert(dir, certname, &old));
	SKR_GUARD(cert_cn(old, cn, sizeof(cn)));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(k), ORG, cn, ca, ca_key, kind,
	    sans, days, &cert));
	SKR_GUARD(skr_pki_cert_pem(cert, &chain));
	SKR_GUARD(skr_pki_cert_pem(ca, &chain));
	SKR_GUARD(stage_file(dir, certname, chain.data, chain.len, 0644, &st));
	SKR_GUARD(commit_files(dir, &st, 1));
out:
	unstage(&st);
	skr_key_free(k);
	X509_free(old);
	X509_free(cert);
	skr_buf_free(&chain);
	return r;
}

int
skr_pki_renew(const char *dir, unsigned what, const char *host,
    skr_buf *note)
{
	skr_key *ca_key = NULL, *tls_key = NULL;
	X509 *ca = NULL, *old = NULL, *tls = NULL;
	skr_buf chain = SKR_BUF_INIT, pem = SKR_BUF_INIT_SECRET;
	struct staged st[2] = { { .live = 0 }, { .live = 0 } };
	char sans[512], cn[256];
	long days;
	int r;

	if (what == 0 || (what & ~(unsigned)(SKR_PKI_RENEW_TLS |
	    SKR_PKI_RENEW_SIGNING)) != 0 ||
	    (host != NULL && !(what & SKR_PKI_RENEW_TLS)))
		return SKR_ERR_INVAL;
	SKR_GUARD(read_cert(dir, "ca.pem", &ca));
	SKR_GUARD(read_key(dir, "ca-key.pem", &ca_key));
	SKR_ENSURE(X509_check_private_key(ca, skr_key_pkey(ca_key)) == 1,
	    SKR_ERR_CONFIG);
	if (what & SKR_PKI_RENEW_TLS) {
		SKR_GUARD(days_within_ca(ca, 825, &days, note));
		/* A new key; the names are the old certificate's unless
		 * given anew. */
		if (host != NULL) {
			SKR_GUARD(init_sans(host, sans, sizeof(sans)));
			snprintf(cn, sizeof(cn), "%s", host_cn(host));
		} else {
			SKR_GUARD(read_cert(dir, "tls-cert.pem", &old));
			SKR_GUARD(cert_sans(old, sans, sizeof(sans)));
			SKR_GUARD(cert_cn(old, cn, sizeof(cn)));
		}
		SKR_GUARD(skr_key_generate(SKR_KTY_EC, 256, &tls_key));
		SKR_GUARD(skr_pki_cert(skr_key_pkey(tls_key), ORG, cn, ca,
		    skr_key_pkey(ca_key), SKR_CERT_TLS, sans, days, &tls));
		SKR_GUARD(skr_pki_cert_pem(tls, &chain));
		SKR_GUARD(skr_pki_cert_pem(ca, &chain));
		SKR_GUARD(skr_key_to_pem(tls_key, 1, &pem));
		/* Both written before either is replaced: a failed write
		 * changes nothing.  Only a crash between the two renames
		 * leaves a pair that skrd refuses at start (it checks the
		 * key against the certificate); renew again mends it. */
		SKR_GUARD(stage_file(dir, "tls-key.pem", pem.data, pem.len,
		    0600, &st[0]));
		SKR_GUARD(stage_file(dir, "tls-cert.pem", chain.data,
		    chain.len, 0644, &st[1]));
		SKR_GUARD(commit_files(dir, st, 2));
	}
	if (what & SKR_PKI_RENEW_SIGNING) {
		/* The RSA pair (RS256, PS256), then the EC one. */
		static const skr_alg algs[] = { SKR_ALG_RS256, SKR_ALG_ES256 };
		const char *certname, *keyname;

		SKR_GUARD(days_within_ca(ca, 3650, &days, note));
		/* The names skrd serves: those of its TLS certificate, as
		 * renewed above when it was. */
		X509_free(old);
		old = NULL;
		SKR_GUARD(read_cert(dir, "tls-cert.pem", &old));
		SKR_GUARD(cert_sans(old, sans, sizeof(sans)));
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			SKR_GUARD(signing_files(algs[i], &certname, &keyname));
			SKR_GUARD(renew_keep_key(dir, certname, keyname,
			    SKR_CERT_RELEASE, sans, days, ca,
			    skr_key_pkey(ca_key)));
		}
	}
out:
	unstage(&st[0]);
	unstage(&st[1]);
	skr_key_free(ca_key);
	skr_key_free(tls_key);
	X509_free(ca);
	X509_free(old);
	X509_free(tls);
	skr_buf_free(&chain);
	skr_buf_free(&pem);
	return r;
}

static int
digest_b64(const uint8_t *der, size_t n, const EVP_MD *md, int hexupper,
    skr_buf *out)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dlen;

	if (EVP_Digest(der, n, d, &dlen, md, NULL) != 1)
		return SKR_ERR_CRYPTO;
	return hexupper ? skr_hex_encode(out, d, dlen, 1) :
	    skr_b64url_encode(out, d, dlen);
}

int
skr_pki_load_signing(const char *dir, skr_alg alg, EVP_PKEY **key,
    json_t **header, int *release_eku)
{
	const char *certname, *keyname;
	skr_buf certs = SKR_BUF_INIT;
	skr_buf kid = SKR_BUF_INIT, x5t = SKR_BUF_INIT, x5t256 = SKR_BUF_INIT;
	skr_buf b64 = SKR_BUF_INIT;
	skr_key *k = NULL;
	json_t *h = NULL, *x5c = NULL;
	X509 *x;
	BIO *bio = NULL;
	unsigned char *der = NULL;
	int derlen, first = 1, r;

	*key = NULL;
	*header = NULL;
	if ((r = signing_files(alg, &certname, &keyname)) != SKR_OK)
		return r;
	SKR_GUARD(read_key(dir, keyname, &k));
	SKR_ENSURE(skr_alg_fits_key(alg, skr_key_pkey(k)), SKR_ERR_CONFIG);
	SKR_GUARD(read_file(dir, certname, &certs));
	SKR_ENSURE((bio = BIO_new_mem_buf(certs.data, (int)certs.len)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_ENSURE((x5c = json_array()) != NULL, SKR_ERR_NOMEM);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		derlen = i2d_X509(x, &der);
		if (first) {
			/* The certificate must be the key's. */
			if (X509_check_private_key(x, skr_key_pkey(k)) != 1)
				derlen = -1;
			if (release_eku != NULL)
				*release_eku = skr_cert_is_release_signing(x);
		}
		X509_free(x);
		SKR_ENSURE(derlen > 0, SKR_ERR_CONFIG);
		if (first) {
			SKR_GUARD(digest_b64(der, (size_t)derlen, EVP_sha1(), 1,
			    &kid));
			SKR_GUARD(digest_b64(der, (size_t)derlen, EVP_sha1(), 0,
			    &x5t));
			SKR_GUARD(digest_b64(der, (size_t)derlen, EVP_sha256(),
			    0, &x5t256));
		}
		skr_buf_reset(&b64);
		SKR_GUARD(skr_b64_encode(&b64, der, (size_t)derlen));
		json_array_append_new(x5c, json_string(skr_buf_cstr(&b64)));
		OPENSSL_free(der);
		der = NULL;
		first = 0;
	}
	ERR_clear_error();
	SKR_ENSURE(!first, SKR_ERR_CONFIG);
	h = json_pack("{s:s,s:s,s:s,s:O,s:s}", "kid", skr_buf_cstr(&kid),
	    "x5t", skr_buf_cstr(&x5t), "x5t#S256", skr_buf_cstr(&x5t256),
	    "x5c", x5c, "typ", "JWT");
	SKR_ENSURE(h != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(EVP_PKEY_up_ref(skr_key_pkey(k)) == 1, SKR_ERR_CRYPTO);
	*key = skr_key_pkey(k);
	*header = h;
	h = NULL;
	r = SKR_OK;
out:
	OPENSSL_free(der);
	BIO_free(bio);
	json_decref(h);
	json_decref(x5c);
	skr_key_free(k);
	skr_buf_free(&certs);
	skr_buf_free(&kid);
	skr_buf_free(&x5t);
	skr_buf_free(&x5t256);
	skr_buf_free(&b64);
	return r;
}

/* ---- the attestation-signing key ---------------------------------------- */

#define ATTEST_CERT "attest-signing.pem"
#define ATTEST_KEY "attest-signing-key.pem"

/* 1 when dir/name exists (as anything: a symlink is not followed). */
static int
exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return 0;
	return lstat(path, &st) == 0;
}

int
skr_pki_attest_ensure(const char *dir, int *created)
{
	skr_key *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *cert = NULL;
	skr_buf note = SKR_BUF_INIT;
	int have_cert = exists(dir, ATTEST_CERT), have_key = exists(dir,
	    ATTEST_KEY);
	long days;
	int r;

	*created = 0;
	if (have_cert && have_key)
		return SKR_OK;
	if (have_cert || have_key)
		return SKR_ERR_CONFIG;
	SKR_GUARD(read_key(dir, "ca-key.pem", &ca_key));
	SKR_GUARD(read_cert(dir, "ca.pem", &ca));
	SKR_GUARD(days_within_ca(ca, 3650, &days, &note));
	SKR_GUARD(skr_key_generate(SKR_KTY_RSA, 2048, &key));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(key), ORG,
	    "skr attestation signing", ca, skr_key_pkey(ca_key),
	    SKR_CERT_SIGNING, NULL, days, &cert));
	SKR_GUARD(write_pair(dir, ATTEST_CERT, ATTEST_KEY, key, cert, ca));
	*created = 1;
out:
	skr_key_free(ca_key);
	skr_key_free(key);
	X509_free(ca);
	X509_free(cert);
	skr_buf_free(&note);
	return r;
}

int
skr_pki_load_attest(const char *dir, EVP_PKEY **key, json_t **x5c)
{
	skr_buf certs = SKR_BUF_INIT, b64 = SKR_BUF_INIT;
	skr_key *k = NULL;
	json_t *chain = NULL;
	BIO *bio = NULL;
	X509 *x;
	unsigned char *der = NULL;
	int derlen, first = 1, r;

	*key = NULL;
	*x5c = NULL;
	SKR_GUARD(read_key(dir, ATTEST_KEY, &k));
	SKR_ENSURE(skr_key_kty(k) == SKR_KTY_RSA, SKR_ERR_CONFIG);
	SKR_GUARD(read_file(dir, ATTEST_CERT, &certs));
	SKR_ENSURE((bio = BIO_new_mem_buf(certs.data, (int)certs.len)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_ENSURE((chain = json_array()) != NULL, SKR_ERR_NOMEM);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		derlen = i2d_X509(x, &der);
		/* The first certificate must be the key's. */
		if (first && X509_check_private_key(x, skr_key_pkey(k)) != 1)
			derlen = -1;
		X509_free(x);
		SKR_ENSURE(derlen > 0, SKR_ERR_CONFIG);
		skr_buf_reset(&b64);
		SKR_GUARD(skr_b64_encode(&b64, der, (size_t)derlen));
		SKR_ENSURE(json_array_append_new(chain,
		    json_string(skr_buf_cstr(&b64))) == 0, SKR_ERR_NOMEM);
		OPENSSL_free(der);
		der = NULL;
		first = 0;
	}
	ERR_clear_error();
	SKR_ENSURE(!first, SKR_ERR_CONFIG);
	SKR_ENSURE(EVP_PKEY_up_ref(skr_key_pkey(k)) == 1, SKR_ERR_CRYPTO);
	*key = skr_key_pkey(k);
	*x5c = chain;
	chain = NULL;
	r = SKR_OK;
out:
	OPENSSL_free(der);
	BIO_free(bio);
	json_decref(chain);
	skr_key_free(k);
	skr_buf_free(&certs);
	skr_buf_free(&b64);
	ERR_clear_error();
	return r;
}
