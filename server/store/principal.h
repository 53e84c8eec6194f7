/*
 * Principals: the administrative callers a bearer token stands for, with
 * their roles and key-name scopes (docs/api.md, "Roles and scopes").  The
 * store keeps them with the token records; the server's auth layer checks
 * them per route.
 */
#ifndef SKR_STORE_PRINCIPAL_H
#define SKR_STORE_PRINCIPAL_H

#include <stddef.h>
#include <stdint.h>

/* Roles (docs/api.md, "Roles and scopes"). */
#define SKR_ROLE_ADMIN 0x01u    /* everything */
#define SKR_ROLE_OPERATOR 0x02u /* keys, not tokens */
#define SKR_ROLE_READER 0x04u   /* get/list */
#define SKR_ROLE_AUDITOR 0x08u  /* audit log */
#define SKR_ROLE_RELEASER 0x10u /* release (when the server requires it) */

#define SKR_MAX_PREFIXES 8

/* An authenticated administrative caller. */
typedef struct skr_principal {
	char id[33];          /* token id, 32 hex */
	char name[64];        /* description given at creation */
	unsigned roles;       /* SKR_ROLE_* */
	size_t nprefixes;     /* 0: every key name */
	char prefixes[SKR_MAX_PREFIXES][128];
	int64_t expires;      /* unix seconds, 0 = never */
} skr_principal;

#endif
