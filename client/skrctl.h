/*
 * skrctl's commands: the table entry that describes one, what its handler
 * is given, and every handler the table in skrctl.c names, by the file
 * that holds it.
 */
#ifndef SKR_CLIENT_SKRCTL_H
#define SKR_CLIENT_SKRCTL_H

#include <stdio.h>

#include "skr/client.h"
#include "skrctl_args.h"

struct skrctl_ctx;

/* Flags of a command. */
enum {
	/* Works on this machine only (files, the TPM): takes no server
	 * options, never connects. */
	SKRCTL_OFFLINE = 1 << 0,
	/* Connects itself (skrctl_connect) when it needs the server; other
	 * commands are connected before their handler runs. */
	SKRCTL_CONNECTS_ITSELF = 1 << 1,
	/* Its usage, on --help or a usage error, is its whole group's: the
	 * commands of the group are documented together. */
	SKRCTL_GROUP_USAGE = 1 << 2,
};

struct skrctl_cmd {
	const char *group;
	const char *verb;            /* NULL: the group is the command */
	int (*run)(struct skrctl_ctx *x);
	const char *opts;            /* spec (skrctl_args.h), besides the
	                                server options */
	int npos;                    /* positional arguments it takes; -1:
	                                the handler checks them */
	unsigned flags;
	const char *usage;           /* its arguments; each "\n" starts a
	                                line aligned under the first */
};

/* What a handler is given; all of it lives until the handler returns. */
struct skrctl_ctx {
	const struct skrctl_cmd *cmd;
	struct skrctl_args a;
	int json;                    /* --json */
	int signing_trust;           /* a release-signing certificate or CA
	                                is set */
	skr_client *c;               /* NULL until connected */
};

/* Open x->c from the server options and the environment (SKR_ADDR,
 * SKR_TOKEN, SKR_CACERT, SKR_PIN, SKR_SIGNING_CERT).  Returns an exit
 * status: 0, or 2 (no or a bad address, pin or file) or 1, reported. */
int skrctl_connect(struct skrctl_ctx *x);

/* "usage: skrctl ..." of c (its group's with SKRCTL_GROUP_USAGE). */
void skrctl_usage_of(FILE *f, const struct skrctl_cmd *c);

/* Each handler returns an exit status (skrctl_out.h). */

/* skrctl_keys.c */
int skrctl_key_create(struct skrctl_ctx *x);
int skrctl_key_import(struct skrctl_ctx *x);
int skrctl_key_list(struct skrctl_ctx *x);
int skrctl_key_show(struct skrctl_ctx *x);
int skrctl_key_versions(struct skrctl_ctx *x);
int skrctl_key_update(struct skrctl_ctx *x);
int skrctl_key_rotate(struct skrctl_ctx *x);
int skrctl_key_delete(struct skrctl_ctx *x);
int skrctl_key_deleted(struct skrctl_ctx *x);
int skrctl_key_recover(struct skrctl_ctx *x);
int skrctl_key_purge(struct skrctl_ctx *x);
int skrctl_key_backup(struct skrctl_ctx *x);
int skrctl_key_restore(struct skrctl_ctx *x);

/* skrctl_seal.c */
int skrctl_seal_status(struct skrctl_ctx *x);
int skrctl_unseal(struct skrctl_ctx *x);
int skrctl_seal(struct skrctl_ctx *x);
int skrctl_master_key_rotate(struct skrctl_ctx *x);

/* skrctl_release.c */
int skrctl_release(struct skrctl_ctx *x);
int skrctl_evaluate(struct skrctl_ctx *x);
int skrctl_nonce(struct skrctl_ctx *x);

/* skrctl_tpm.c */
int skrctl_tpm_pubkey(struct skrctl_ctx *x);

/* skrctl_status.c */
int skrctl_status(struct skrctl_ctx *x);

/* skrctl_tokens.c */
int skrctl_token_create(struct skrctl_ctx *x);
int skrctl_token_list(struct skrctl_ctx *x);
int skrctl_token_revoke(struct skrctl_ctx *x);

/* skrctl_authorities.c */
int skrctl_authority_list(struct skrctl_ctx *x);
int skrctl_authority_refresh(struct skrctl_ctx *x);

/* skrctl_dev.c */
int skrctl_dev_token(struct skrctl_ctx *x);

/* skrctl_audit.c */
int skrctl_audit_list(struct skrctl_ctx *x);
int skrctl_audit_verify(struct skrctl_ctx *x);

/* skrctl_policy.c */
int skrctl_policy_check(struct skrctl_ctx *x);
int skrctl_policy_eval(struct skrctl_ctx *x);

/* skrctl_attest.c */
int skrctl_attest_snp(struct skrctl_ctx *x);
int skrctl_attest_azure(struct skrctl_ctx *x);

#endif
