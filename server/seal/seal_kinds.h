/*
 * What sealdir.c knows of each seal: one table entry per kind.  Internal to
 * server/seal/.
 *
 * create makes a new seal from the options (for init and migration) and
 * writes the settings it needs later into settings (the object kept in
 * seal.json under the kind's name); open makes one from those settings.
 * Both give a context for the kind's skr_seal_ops.  same says whether the
 * options describe the seal the settings already name.
 */
#ifndef SKR_SEAL_KINDS_H
#define SKR_SEAL_KINDS_H

#include <jansson.h>

#include "sealdir.h"

typedef struct skr_seal_kind {
	const char *name;
	const skr_seal_ops *ops;
	int (*create)(const skr_seal_opts *o, json_t *settings, void **ctx,
	    skr_seal_shares *shares);
	int (*open)(const json_t *settings, const skr_seal_opts *o,
	    void **ctx);
	int (*same)(const json_t *settings, const skr_seal_opts *o);
} skr_seal_kind;

extern const skr_seal_kind skr__seal_file;
extern const skr_seal_kind skr__seal_pkcs11;
extern const skr_seal_kind skr__seal_tpm2;
extern const skr_seal_kind skr__seal_shamir;

/* seal_shamir.c: the unseal-share calls of sealdir.h on a Shamir context. */
int skr__shamir_give(void *ctx, const char *text, size_t len, int *complete);
void skr__shamir_status(void *ctx, int *needs, int *threshold, int *progress);
void skr__shamir_forget(void *ctx);

#endif
