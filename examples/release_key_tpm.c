/*
 * Release a key to this machine's TPM with libskr and write it to standard
 * output: the disk key of an Azure confidential VM, whose attestation token
 * names the vTPM's key (x-ms-runtime.keys, TpmEphemeralEncryptionKey).
 *
 *   cc release_key_tpm.c $(pkg-config --cflags --libs skr) -o release_key_tpm
 *   AttestationClient -o token > token.jwt
 *   SKR_ADDR=https://skr.example:8443 SKR_CACERT=ca.pem \
 *       ./release_key_tpm data-disk token.jwt |
 *       cryptsetup open --key-file - /dev/sdb data
 *
 * SKR_TCTI chooses the TPM (default device:/dev/tpmrm0); SKR_ENC the enc
 * (default CKM_RSA_AES_KEY_WRAP).  Nothing is written unless the release
 * succeeds.
 */
#include <stdio.h>
#include <stdlib.h>

#include <skr/client.h>

int
main(int argc, char **argv)
{
	skr_client_opts o;
	skr_client *c = NULL;
	skr_tpm *tpm = NULL;
	skr_released_key *k = NULL;
	skr_unwrapper u;
	skr_result res;
	char token[65536];
	const unsigned char *key;
	size_t n = 0, len;
	FILE *f;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: release_key_tpm NAME TOKEN-FILE\n");
		return 2;
	}
	if ((f = fopen(argv[2], "r")) != NULL) {
		n = fread(token, 1, sizeof(token) - 1, f);
		fclose(f);
	}
	while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'))
		n--;
	token[n] = '\0';

	skr_client_opts_init(&o);
	o.url = getenv("SKR_ADDR");
	o.ca_file = getenv("SKR_CACERT");
	o.signing_ca = o.ca_file;      /* skrd's release signer shares its CA */
	if ((r = skr_client_new(&o, &c)) != SKR_OK) {
		fprintf(stderr, "release_key_tpm: %s: %s\n", skr_err_id(r),
		    skr_strerror(r));
		goto out;
	}
	/* The TPM's key must be the one the token names: checked here,
	 * before anything is sent. */
	if ((r = skr_tpm_open(getenv("SKR_TCTI"), &tpm, &res)) != SKR_OK ||
	    (r = skr_tpm_unwrapper(tpm, token, &u, &res)) != SKR_OK ||
	    (r = skr_client_release(c, argv[1], NULL, token, NULL,
	    getenv("SKR_ENC"), &u, &k, &res)) != SKR_OK) {
		fprintf(stderr, "release_key_tpm: %s\n", res.message);
		goto out;
	}
	key = skr_released_key_bytes(k, &len);
	if (fwrite(key, 1, len, stdout) != len || fflush(stdout) != 0)
		r = SKR_ERR_IO;
out:
	skr_released_key_free(k);
	skr_tpm_close(tpm);
	skr_client_free(c);
	return r == SKR_OK ? 0 : 1;
}
