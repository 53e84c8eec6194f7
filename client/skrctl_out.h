/*
 * skrctl's output: what a command prints for people or, with --json, for
 * programs, and how it fails.  Errors go to standard error as
 * "skrctl: <id>: <message>" (docs/skrctl.1, DIAGNOSTICS) and every failure
 * ends in one of the exit statuses below.
 */
#ifndef SKR_CLIENT_SKRCTL_OUT_H
#define SKR_CLIENT_SKRCTL_OUT_H

#include <jansson.h>

#include "skr/client.h"

#define SKRCTL_PROG "skrctl"

enum skrctl_exit {
	SKRCTL_EXIT_OK = 0,
	SKRCTL_EXIT_ERR = 1,
	SKRCTL_EXIT_USAGE = 2,
	SKRCTL_EXIT_DENIED = 3, /* release and evaluate denied, evidence
	                         * refused (attest) */
};

/* Turns a server response body into readable lines; o is borrowed. */
typedef void (*skrctl_human_fn)(json_t *o);

/* "skrctl: " and the formatted message, a line on standard error. */
void skrctl_out_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "skrctl: <id>: <message>" for err, with the server's id and message
 * when res (may be NULL) has them. */
void skrctl_out_report(int err, const skr_result *res);

/* A command failed: reported, exit 1. */
int skrctl_out_fail(int err, const skr_result *res);

/* A release or an evaluation failed: reported, exit 3 when the key was
 * refused (policy, token, SEV-SNP evidence, nonce, key state, wrapping
 * key), else 1. */
int skrctl_out_fail_release(int err, const skr_result *res);

/* The exit status skrctl_out_fail_release gives for err, unreported. */
int skrctl_out_release_exit(int err);

/* A usage error: "skrctl: <msg> (see skrctl --help)", exit 2. */
int skrctl_out_usage(const char *msg);

/* Print a response body (borrowed; NULL or "" prints nothing): as is with
 * json, else through human, else as indented JSON. */
void skrctl_out_show(int json, const char *text, skrctl_human_fn human);

/* The end of most commands: on success show out, else report r with res.
 * Frees out either way. */
int skrctl_out_finish(int json, int r, const skr_result *res, char *out,
    skrctl_human_fn human);

/* Print o (a new reference, consumed; NULL when it could not be made) as
 * one line of compact JSON: SKR_OK or SKR_ERR_NOMEM. */
int skrctl_out_json(json_t *o);

/* The string at path in o (skr_json_path), or ""; borrowed from o. */
const char *skrctl_out_jstr(const json_t *o, const char *path);

/* 1 when the value at path in o is true. */
int skrctl_out_jbool(const json_t *o, const char *path);

#endif
