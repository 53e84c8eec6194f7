/*
 * skrctl's output and failures (see skrctl_out.h).
 */
#include "skrctl_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "skr/error.h"

void
skrctl_out_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs(SKRCTL_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Exit 3 is for a key that was refused, per docs/skrctl.1 EXIT STATUS:
 * what skrd answers a release with 403, and a token or wrapping key it
 * does not take.  SEV-SNP evidence that does not parse (SKR.SNP.REPORT,
 * CERT, EVIDENCE: 400 in docs/snp.md) is a broken request, and the TPM's
 * errors (SKR.TPM.*) are this machine's: exit 1. */
int
skrctl_out_release_exit(int err)
{
	switch (err) {
	case SKR_OK:
		return SKRCTL_EXIT_OK;
	case SKR_ERR_POLICY_DENIED:
	case SKR_ERR_KEY_DISABLED:
	case SKR_ERR_KEY_NOT_EXPORTABLE:
	case SKR_ERR_NONCE_MISMATCH:
	case SKR_ERR_NONCE_INVALID:
	case SKR_ERR_NONCE_EXPIRED:
	case SKR_ERR_NONCE_REUSED:
	case SKR_ERR_NONCE_REQUIRED:
	case SKR_ERR_TOKEN_ALG:
	case SKR_ERR_TOKEN_HEADER:
	case SKR_ERR_TOKEN_ISSUER:
	case SKR_ERR_TOKEN_KID:
	case SKR_ERR_TOKEN_SIGNATURE:
	case SKR_ERR_TOKEN_EXPIRED:
	case SKR_ERR_TOKEN_NOT_YET_VALID:
	case SKR_ERR_TOKEN_IAT:
	case SKR_ERR_TOKEN_MALFORMED:
	case SKR_ERR_TOKEN_TOO_LARGE:
	case SKR_ERR_WRAPKEY_MISSING:
	case SKR_ERR_WRAPKEY_INVALID:
	case SKR_ERR_SNP_PRODUCT:
	case SKR_ERR_SNP_SIGNING_KEY:
	case SKR_ERR_SNP_CHAIN:
	case SKR_ERR_SNP_EXPIRED:
	case SKR_ERR_SNP_CHIP_ID:
	case SKR_ERR_SNP_TCB:
	case SKR_ERR_SNP_SIGNATURE:
	case SKR_ERR_SNP_BINDING:
	case SKR_ERR_SNP_QUOTE:
	case SKR_ERR_SNP_NONCE:
		return SKRCTL_EXIT_DENIED;
	default:
		return SKRCTL_EXIT_ERR;
	}
}

void
skrctl_out_report(int err, const skr_result *res)
{
	const char *id = skr_err_id(err);

	if (res != NULL && res->error_id[0] != '\0')
		id = res->error_id;
	/* Messages that already start with the id print it once. */
	if (res == NULL || res->message[0] == '\0')
		skrctl_out_errorf("%s: %s", id, skr_strerror(err));
	else if (strncmp(res->message, id, strlen(id)) == 0 &&
	    res->message[strlen(id)] == ':')
		skrctl_out_errorf("%s", res->message);
	else
		skrctl_out_errorf("%s: %s", id, res->message);
}

int
skrctl_out_fail(int err, const skr_result *res)
{
	skrctl_out_report(err, res);
	return SKRCTL_EXIT_ERR;
}

int
skrctl_out_fail_release(int err, const skr_result *res)
{
	skrctl_out_report(err, res);
	return skrctl_out_release_exit(err);
}

int
skrctl_out_usage(const char *msg)
{
	skrctl_out_errorf("%s (see " SKRCTL_PROG " --help)", msg);
	return SKRCTL_EXIT_USAGE;
}

void
skrctl_out_show(int json, const char *text, skrctl_human_fn human)
{
	json_t *o = NULL;
	char *pretty;

	if (text == NULL || *text == '\0')
		return;
	if (json || skr_json_parse(text, strlen(text), 0, &o) != SKR_OK) {
		printf("%s\n", text);
		return;
	}
	if (human != NULL)
		human(o);
	else if ((pretty = json_dumps(o, JSON_INDENT(2))) != NULL) {
		printf("%s\n", pretty);
		free(pretty);
	}
	json_decref(o);
}

int
skrctl_out_finish(int json, int r, const skr_result *res, char *out,
    skrctl_human_fn human)
{
	if (r != SKR_OK) {
		free(out);
		return skrctl_out_fail(r, res);
	}
	skrctl_out_show(json, out, human);
	free(out);
	return SKRCTL_EXIT_OK;
}

int
skrctl_out_json(json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return SKR_ERR_NOMEM;
	printf("%s\n", text);
	free(text);
	return SKR_OK;
}

const char *
skrctl_out_jstr(const json_t *o, const char *path)
{
	const json_t *v = skr_json_path(o, path);

	return json_is_string(v) ? json_string_value(v) : "";
}

int
skrctl_out_jbool(const json_t *o, const char *path)
{
	return json_is_true(skr_json_path(o, path));
}
