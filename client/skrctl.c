/*
 * skrctl: the skr admin and workload CLI (docs/skrctl.1).
 *
 * main finds the command in the table below, parses its arguments with
 * the one parser (skrctl_args.c), connects to the server unless the
 * command works offline, and runs its handler, which lives in the file of
 * its group.  Exit status: 0 ok, 1 error, 2 usage, 3 release denied or
 * evidence refused.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "skrctl.h"
#include "skrctl_args.h"
#include "skrctl_out.h"

/* The server options: every command but the offline ones takes them,
 * before or after the command. */
static const char server_opts[] =
    "addr= auth= cacert= pin= signing-cert= signing-ca= json";

/* The attributes, tags, operations and policy of create, import, update. */
#define KEYOPTS \
    "exportable enable disable nbf= exp= tag= ops= policy= immutable"

static const struct skrctl_cmd cmds[] = {
	{ "key", "create", skrctl_key_create, "kty= size= crv= " KEYOPTS, 1, 0,
	    "NAME --kty RSA|EC|oct [--size BITS] [--crv P-256]\n"
	    "[--exportable --policy FILE [--immutable]] [--tag K=V]... "
	    "[--ops a,b] [--disable]" },
	{ "key", "import", skrctl_key_import, "jwk= pem= oct= " KEYOPTS, 1, 0,
	    "NAME (--jwk FILE | --pem FILE | --oct FILE) "
	    "[--exportable --policy FILE] [--tag K=V]..." },
	{ "key", "list", skrctl_key_list, "", 0, 0, "" },
	{ "key", "show", skrctl_key_show, "version=", 1, 0,
	    "NAME [--version V]" },
	{ "key", "versions", skrctl_key_versions, "", 1, 0, "NAME" },
	{ "key", "update", skrctl_key_update, "version= remove-policy " KEYOPTS,
	    1, 0,
	    "NAME [--version V] [--enable|--disable] [--nbf T] [--exp T]\n"
	    "[--tag K=V]... [--ops a,b] [--policy FILE [--immutable] | "
	    "--remove-policy]" },
	{ "key", "rotate", skrctl_key_rotate, "", 1, 0, "NAME" },
	{ "key", "delete", skrctl_key_delete, "", 1, 0, "NAME" },
	{ "key", "deleted", skrctl_key_deleted, "", -1, 0, "[NAME]" },
	{ "key", "recover", skrctl_key_recover, "", 1, 0, "NAME" },
	{ "key", "purge", skrctl_key_purge, "", 1, 0, "NAME" },
	{ "key", "backup", skrctl_key_backup, "out= force", 1, 0,
	    "NAME --out FILE|-" },
	{ "key", "restore", skrctl_key_restore, "in=", 0, 0, "--in FILE|-" },
	{ "release", NULL, skrctl_release,
	    "token= wrapping-key= tpm tcti= version= enc= nonce= out= force",
	    1, 0,
	    "NAME --token FILE --out FILE|-\n"
	    "(--wrapping-key PEM | --tpm [--tcti TCTI])\n"
	    "[--version V] [--enc CKM_RSA_AES_KEY_WRAP|"
	    "RSA_AES_KEY_WRAP_256|RSA_AES_KEY_WRAP_384]\n"
	    "[--nonce N] [--signing-cert PEM | --signing-ca PEM] [--force]" },
	{ "evaluate", NULL, skrctl_evaluate, "token= version= nonce=", 1, 0,
	    "NAME --token FILE [--version V] [--nonce N]" },
	{ "nonce", NULL, skrctl_nonce, "", 0, 0, "" },
	{ "tpm", "pubkey", skrctl_tpm_pubkey, "tcti= pem jwk", 0,
	    SKRCTL_OFFLINE, "[--tcti TCTI] [--pem | --jwk]" },
	{ "status", NULL, skrctl_status, "", 0, 0, "" },
	{ "seal-status", NULL, skrctl_seal_status, "", 0, 0, "" },
	{ "unseal", NULL, skrctl_unseal, "", 0, 0,
	    "< SHARE (one share on standard input; none reopens a PKCS#11 or "
	    "TPM seal)" },
	{ "seal", NULL, skrctl_seal, "", 0, 0, "" },
	{ "master-key", "rotate", skrctl_master_key_rotate, "", 0, 0, "" },
	{ "token", "create", skrctl_token_create,
	    "name= role= prefix= expires=", 0, 0,
	    "--role admin|operator|reader|auditor|releaser... "
	    "[--prefix P]... [--name N] [--expires UNIXTIME]" },
	{ "token", "list", skrctl_token_list, "", 0, 0, "" },
	{ "token", "revoke", skrctl_token_revoke, "", 1, 0, "ID" },
	{ "authority", "list", skrctl_authority_list, "", 0, 0, "" },
	{ "authority", "refresh", skrctl_authority_refresh, "", 1, 0,
	    "ISSUER" },
	{ "dev", "token", skrctl_dev_token,
	    "tee= wrapping-key= nonce= lifetime= claims= out=", 0, 0,
	    "[--tee sevsnp|tdx|sgx] [--wrapping-key PEM] [--nonce N] "
	    "[--claims JSON] [--out FILE]\n"
	    "(skrd --dev only: a test attestation token)" },
	{ "audit", "list", skrctl_audit_list,
	    "key= since= outcome= event= after= maxresults=", 0, 0,
	    "[--key K] [--since UNIXTIME] [--outcome ok|denied|error] "
	    "[--event E]\n[--after SEQ] [--maxresults N]" },
	{ "audit", "verify", skrctl_audit_verify, "data=", 0,
	    SKRCTL_CONNECTS_ITSELF,
	    "[--data DIR (offline, server stopped or not)]" },
	{ "policy", "check", skrctl_policy_check, "", 1,
	    SKRCTL_OFFLINE | SKRCTL_GROUP_USAGE, "FILE" },
	{ "policy", "eval", skrctl_policy_eval,
	    "token= jwks= policy= issuer= at= skew= json", 0,
	    SKRCTL_OFFLINE | SKRCTL_GROUP_USAGE,
	    "--token FILE --jwks FILE --policy FILE\n"
	    "[--issuer URL] [--at UNIXTIME] [--skew SECONDS] [--json]" },
	{ "attest", "snp", skrctl_attest_snp,
	    "report= certs= runtime-data= json-runtime roots= at= json", 0,
	    SKRCTL_OFFLINE | SKRCTL_GROUP_USAGE,
	    "--report FILE --certs FILE [--runtime-data FILE "
	    "[--json-runtime]]\n[--roots FILE] [--at TIME] [--json]" },
	{ "attest", "azure", skrctl_attest_azure,
	    "evidence= nonce= nonce-hex= no-nonce roots= certs= at= json", 0,
	    SKRCTL_OFFLINE | SKRCTL_GROUP_USAGE,
	    "--evidence FILE (--nonce TEXT | --nonce-hex HEX | --no-nonce)\n"
	    "[--roots FILE] [--certs FILE] [--at TIME] [--json]" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* ---- usage ------------------------------------------------------------- */

/* lead, then "group verb arguments", each further line of the arguments
 * aligned under the first. */
static void
synopsis(FILE *f, const char *lead, const struct skrctl_cmd *c)
{
	int width = (int)(strlen(lead) + strlen(c->group) + 1 +
	    (c->verb != NULL ? strlen(c->verb) + 1 : 0));
	const char *p = c->usage, *nl;

	fprintf(f, "%s%s%s%s", lead, c->group, c->verb ? " " : "",
	    c->verb ? c->verb : "");
	if (*p != '\0')
		fputc(' ', f);
	while ((nl = strchr(p, '\n')) != NULL) {
		fprintf(f, "%.*s\n%*s", (int)(nl - p), p, width, "");
		p = nl + 1;
	}
	fprintf(f, "%s\n", p);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: " SKRCTL_PROG " COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		synopsis(f, "  ", &cmds[i]);
	fprintf(f, "\ncommon options (before or after the command):\n"
	    "  --addr URL          server, https://HOST[:PORT] (SKR_ADDR)\n"
	    "  --auth TOKEN        admin bearer token (SKR_TOKEN)\n"
	    "  --cacert PEM        CA bundle for the server (SKR_CACERT)\n"
	    "  --pin PIN           server certificate: sha256//BASE64 of its "
	    "public key,\n"
	    "                      its SHA-256 fingerprint, or a PEM file "
	    "(SKR_PIN)\n"
	    "  --signing-cert PEM  pinned release-signing certificate "
	    "(SKR_SIGNING_CERT)\n"
	    "  --signing-ca PEM    CA of the release-signing certificate "
	    "(default: --cacert)\n"
	    "  --json              machine-readable output\n"
	    "  --help              usage of a command\n"
	    "exit status: 0 ok, 1 error, 2 usage, 3 release denied or "
	    "evidence refused\n");
}

/* The commands of one group, for "skrctl key" and unknown subcommands. */
static void
group_usage(FILE *f, const char *group)
{
	const char *lead = "usage: " SKRCTL_PROG " ";

	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].group, group) == 0) {
			synopsis(f, lead, &cmds[i]);
			lead = "       " SKRCTL_PROG " ";
		}
}

void
skrctl_usage_of(FILE *f, const struct skrctl_cmd *c)
{
	if (c->flags & SKRCTL_GROUP_USAGE)
		group_usage(f, c->group);
	else
		synopsis(f, "usage: " SKRCTL_PROG " ", c);
}

/* ---- dispatch ---------------------------------------------------------- */

static int
is_group(const char *s)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].group, s) == 0)
			return 1;
	return 0;
}

static int
is_help_word(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 ||
	    strcmp(s, "help") == 0;
}

/* The command named by argv[i] and argv[i + 1] (when it has a verb). */
static const struct skrctl_cmd *
find(int argc, char **argv, int i)
{
	for (size_t k = 0; k < NCMDS; k++)
		if (strcmp(cmds[k].group, argv[i]) == 0 && (cmds[k].verb ==
		    NULL || (i + 1 < argc && strcmp(cmds[k].verb,
		    argv[i + 1]) == 0)))
			return &cmds[k];
	return NULL;
}

/* No command at argv[i]: a group's usage (exit 0 when asked for), or an
 * unknown command. */
static int
not_a_command(int argc, char **argv, int i)
{
	if (!is_group(argv[i])) {
		skrctl_out_errorf("unknown command \"%s\"", argv[i]);
		usage(stderr);
		return SKRCTL_EXIT_USAGE;
	}
	if (i + 1 < argc && is_help_word(argv[i + 1])) {
		group_usage(stdout, argv[i]);
		return SKRCTL_EXIT_OK;
	}
	if (i + 1 < argc)
		skrctl_out_errorf("unknown command \"%s %s\"", argv[i],
		    argv[i + 1]);
	group_usage(stderr, argv[i]);
	return SKRCTL_EXIT_USAGE;
}

/* Parse the arguments of c: the server options before it (argv[1..i)) and
 * everything after it.  An exit status, or -1 to go on. */
static int
parse(const struct skrctl_cmd *c, int argc, char **argv, int i,
    struct skrctl_args *a)
{
	const char *specs[] = { c->opts, (c->flags & SKRCTL_OFFLINE) ? NULL :
	    server_opts, NULL };
	int words = c->verb != NULL ? 2 : 1;
	char msg[256];

	if ((c->flags & SKRCTL_OFFLINE) && i > 1) {
		snprintf(msg, sizeof(msg), "%s takes no server options",
		    c->group);
		return skrctl_out_usage(msg);
	}
	skrctl_args_init(a);
	skrctl_args_parse(a, i - 1, argv + 1, specs);
	skrctl_args_parse(a, argc - i - words, argv + i + words, specs);
	if (a->help) {
		skrctl_usage_of(stdout, c);
		return SKRCTL_EXIT_OK;
	}
	if (a->err != SKRCTL_ARGS_OK) {
		if (*skrctl_args_strerror(a, msg, sizeof(msg)) != '\0')
			skrctl_out_errorf("%s", msg);
		skrctl_usage_of(stderr, c);
		return SKRCTL_EXIT_USAGE;
	}
	/* npos -1: the command checks its positional arguments itself. */
	if (c->npos >= 0 && a->npos != c->npos) {
		skrctl_usage_of(stderr, c);
		return SKRCTL_EXIT_USAGE;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	static const char *const leading[] = { server_opts, NULL };
	const struct skrctl_cmd *c;
	struct skrctl_ctx x;
	int i, takes, r;

	/* Imported keys and released keys pass through JSON. */
	skr_json_wipe_on_free();
	if (argc < 2 || is_help_word(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SKRCTL_EXIT_USAGE : SKRCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(SKRCTL_PROG " " SKR_VERSION "\n");
		return SKRCTL_EXIT_OK;
	}
	/* Server options may come before the command ("skrctl --json key
	 * list"): skip them to find it; they are parsed with the rest. */
	for (i = 1; i < argc && skrctl_args_is_option(argv[i], leading,
	    &takes); i++)
		if (takes && i + 1 < argc)
			i++;
	if (i == argc)
		return skrctl_out_usage("no command");
	if ((c = find(argc, argv, i)) == NULL)
		return not_a_command(argc, argv, i);
	memset(&x, 0, sizeof(x));
	x.cmd = c;
	if ((r = parse(c, argc, argv, i, &x.a)) >= 0)
		return r;
	x.json = skrctl_args_get(&x.a, "json") != NULL;
	if (!(c->flags & (SKRCTL_OFFLINE | SKRCTL_CONNECTS_ITSELF)) &&
	    (r = skrctl_connect(&x)) != SKRCTL_EXIT_OK)
		return r;
	r = c->run(&x);
	skr_client_free(x.c);
	return r;
}
