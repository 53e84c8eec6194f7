/*
 * Release a key with libskr and write it to standard output.
 *
 *   cc release_key.c $(pkg-config --cflags --libs skr) -o release_key
 *   SKR_ADDR=https://skr.example:8443 SKR_CACERT=ca.pem \
 *       ./release_key disk-key token.jwt tee-key.pem > disk.key
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>
#include <skr/client.h>

int
main(int argc, char **argv)
{
	skr_client_opts o;
	skr_client *c = NULL;
	skr_released_key *k = NULL;
	skr_unwrapper u = { 0 };
	skr_result res;
	char token[65536];
	const unsigned char *key;
	size_t n = 0, len;
	FILE *f;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: release_key NAME TOKEN-FILE WRAP-KEY.pem\n");
		return 2;
	}
	if ((f = fopen(argv[2], "r")) != NULL) {
		n = fread(token, 1, sizeof(token) - 1, f);
		fclose(f);
	}
	while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'))
		n--;
	token[n] = '\0';
	if ((f = fopen(argv[3], "r")) != NULL) {
		u.key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	skr_client_opts_init(&o);
	o.url = getenv("SKR_ADDR");
	o.ca_file = getenv("SKR_CACERT");
	o.signing_ca = o.ca_file;      /* skrd's release signer shares its CA */
	if ((r = skr_client_new(&o, &c)) == SKR_OK)
		r = skr_client_release(c, argv[1], NULL, token, NULL, NULL, &u,
		    &k, &res);
	if (r != SKR_OK) {
		fprintf(stderr, "release_key: %s: %s\n", skr_err_id(r),
		    r == SKR_ERR_INVAL ? skr_strerror(r) : res.message);
	} else {
		key = skr_released_key_bytes(k, &len);
		fwrite(key, 1, len, stdout);
	}
	skr_released_key_free(k);
	skr_client_free(c);
	EVP_PKEY_free(u.key);
	return r == SKR_OK ? 0 : 1;
}
