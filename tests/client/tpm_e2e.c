/*
 * libskr's TPM unwrapper against a TPM (swtpm) and a real skrd, driven by
 * tests/integration/test_tpm.sh:
 *
 *   tpm_e2e pubkey pem|jwk              the key as the TPM makes it now
 *   tpm_e2e release NAME TOKEN [ENC [CMD]]
 *                                       check the token's key against the
 *                                       TPM, run CMD (sh -c) if given, then
 *                                       release; the key's bytes (PKCS#8
 *                                       DER or raw) go to standard output
 *   tpm_e2e garbage TOKEN MD            the TPM's decryption of 256
 *                                       bytes that are no OAEP ciphertext
 *                                       (its error, as a release gets it)
 *   tpm_e2e expect ERRID CMD...         run CMD and require the error
 *                                       ERRID, and nothing on standard
 *                                       output
 *
 * SKR_TCTI names the TPM; SKR_ADDR, SKR_CACERT the server (its ca.pem also
 * trusted for release signing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skr/client.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int
say(int r, const skr_result *res)
{
	if (r != SKR_OK)
		fprintf(stderr, "tpm_e2e: %s (%s)\n", skr_err_id(r),
		    res->message);
	return r;
}

static int
pubkey(skr_tpm *t, const char *format)
{
	skr_result res;
	char *out = NULL;
	int r;

	r = skr_tpm_pubkey(t, strcmp(format, "jwk") == 0 ? SKR_TPM_JWK :
	    SKR_TPM_PEM, &out, &res);
	if (say(r, &res) == SKR_OK)
		printf("%s%s", out, strcmp(format, "jwk") == 0 ? "\n" : "");
	skr_free(out);
	return r;
}

static char *
slurp(const char *path)
{
	static char buf[131072];
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return buf;
}

static int
release(skr_tpm *t, int argc, char **argv)
{
	skr_client_opts o;
	skr_client *c = NULL;
	skr_released_key *k = NULL;
	skr_unwrapper u;
	skr_result res;
	const unsigned char *bytes;
	const char *token;
	size_t n;
	int r;

	memset(&res, 0, sizeof(res));
	if (argc < 2 || (token = slurp(argv[1])) == NULL)
		return SKR_ERR_INVAL;
	skr_client_opts_init(&o);
	o.url = env("SKR_ADDR");
	o.ca_file = env("SKR_CACERT");
	o.signing_ca = o.ca_file;
	o.timeout_ms = 30000;
	if ((r = skr_client_new(&o, &c)) != SKR_OK)
		goto out;
	/* Before the release: the token must name this TPM's key. */
	if ((r = skr_tpm_unwrapper(t, token, &u, &res)) != SKR_OK)
		goto out;
	if (strcmp(u.kid, SKR_TPM_KID) != 0 || u.modulus_len != 256 ||
	    u.key != NULL || u.decrypt == NULL) {
		fprintf(stderr, "tpm_e2e: unexpected unwrapper\n");
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	if (argc > 3 && system(argv[3]) != 0) {
		fprintf(stderr, "tpm_e2e: %s failed\n", argv[3]);
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	if ((r = skr_client_release(c, argv[0], NULL, token, NULL,
	    argc > 2 && *argv[2] != '\0' ? argv[2] : NULL, &u, &k, &res)) !=
	    SKR_OK)
		goto out;
	bytes = skr_released_key_bytes(k, &n);
	if (fwrite(bytes, 1, n, stdout) != n)
		r = SKR_ERR_IO;
out:
	say(r, &res);
	skr_released_key_free(k);
	skr_client_free(c);
	return r;
}

static int
garbage(skr_tpm *t, const char *tokfile, const char *md)
{
	unsigned char in[256], out[256];
	const char *token = slurp(tokfile);
	size_t outlen = sizeof(out);
	skr_unwrapper u;
	skr_result res;
	int r;

	if (token == NULL)
		return SKR_ERR_INVAL;
	if ((r = skr_tpm_unwrapper(t, token, &u, &res)) != SKR_OK)
		return say(r, &res);
	memset(in, 0x5a, sizeof(in));
	r = u.decrypt(u.ctx, md, in, sizeof(in), out, &outlen);
	/* As a release maps it: a code of the callback's own, or UNWRAP. */
	return r == SKR_OK ? SKR_OK : r > -1000 && r < 0 ? r : SKR_ERR_UNWRAP;
}

static int
run(int argc, char **argv)
{
	skr_tpm *t = NULL;
	skr_result res;
	int r;

	if ((r = say(skr_tpm_open(env("SKR_TCTI"), &t, &res), &res)) !=
	    SKR_OK)
		return r;
	if (argc >= 2 && strcmp(argv[0], "pubkey") == 0)
		r = pubkey(t, argv[1]);
	else if (argc >= 3 && strcmp(argv[0], "release") == 0)
		r = release(t, argc - 1, argv + 1);
	else if (argc >= 3 && strcmp(argv[0], "garbage") == 0)
		r = garbage(t, argv[1], argv[2]);
	else
		r = SKR_ERR_INVAL;
	skr_tpm_close(t);
	return r;
}

int
main(int argc, char **argv)
{
	int r;

	if (argc >= 3 && strcmp(argv[1], "expect") == 0) {
		/* Standard output must stay empty: nothing leaks on refusal. */
		r = run(argc - 3, argv + 3);
		if (strcmp(skr_err_id(r), argv[2]) != 0) {
			fprintf(stderr, "tpm_e2e: got %s, want %s\n",
			    skr_err_id(r), argv[2]);
			return 1;
		}
		return 0;
	}
	r = run(argc - 1, argv + 1);
	if (r == SKR_ERR_INVAL && argc < 3)
		fprintf(stderr, "usage: tpm_e2e pubkey pem|jwk | release NAME "
		    "TOKEN [ENC [CMD]] | expect ERRID ...\n");
	return r == SKR_OK ? 0 : 1;
}
