/*
 * skrctl: the skr admin and workload CLI.
 *
 * Exit status: 0 ok, 1 error, 2 usage, 3 release denied.  Environment:
 * SKR_ADDR (server URL), SKR_TOKEN (admin bearer token), SKR_CACERT (CA
 * bundle), SKR_PIN (server certificate pin), SKR_SIGNING_CERT (pinned
 * release-signing certificate); flags --addr, --auth, --cacert, --pin and
 * --signing-cert override them.  The bearer flag is --auth because --token
 * names the attestation token file of release and evaluate.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "chain.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "skr/client.h"
#include "skrctl_policy.h"

#define PROG "skrctl"
#define EXIT_OK 0
#define EXIT_ERR 1
#define EXIT_USAGE 2
#define EXIT_DENIED 3
#define MAXOPTS 48
#define MAXPOS 4

struct args {
	const char *pos[MAXPOS];
	int npos;
	struct {
		const char *name;
		const char *val;
	} opt[MAXOPTS];
	int nopt;
};

struct ctx {
	struct args a;
	int json;
	int signing_trust;          /* a signing certificate or CA is set */
	skr_client *c;
};

struct cmd {
	const char *group;
	const char *name;           /* NULL: the group is the command */
	int (*fn)(struct ctx *);
	const char *opts;           /* "name=" takes a value, "name" a flag */
	int npos;                   /* positional arguments required; -1:
	                               the handler checks */
	const char *usage;
};

static const char common_opts[] =
    "addr= auth= cacert= pin= json help signing-cert= signing-ca=";

/* ---- argument handling ------------------------------------------------ */

static int
spec_has(const char *spec, const char *name, int *takes_value)
{
	size_t n = strlen(name);
	const char *p = spec;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == spec || p[-1] == ' ') && (p[n] == ' ' ||
		    p[n] == '\0' || p[n] == '=')) {
			*takes_value = p[n] == '=';
			return 1;
		}
		p += n;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, const char *spec, struct args *a)
{
	int takes;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "--", 2) != 0 || s[2] == '\0') {
			if (a->npos == MAXPOS)
				return -1;
			a->pos[a->npos++] = s;
			continue;
		}
		s += 2;
		if ((!spec_has(common_opts, s, &takes) &&
		    !spec_has(spec, s, &takes)) || a->nopt == MAXOPTS) {
			fprintf(stderr, PROG ": unknown option --%s\n", s);
			return -1;
		}
		a->opt[a->nopt].name = s;
		if (takes) {
			if (i + 1 >= argc) {
				fprintf(stderr, PROG ": --%s needs a value\n", s);
				return -1;
			}
			a->opt[a->nopt].val = argv[++i];
		} else
			a->opt[a->nopt].val = "1";
		a->nopt++;
	}
	return 0;
}

static const char *
opt(const struct args *a, const char *name)
{
	const char *v = NULL;

	for (int i = 0; i < a->nopt; i++)
		if (strcmp(a->opt[i].name, name) == 0)
			v = a->opt[i].val; /* the last one wins */
	return v;
}

/* A whole decimal number in [min, max]; 0 if v is anything else. */
static int
parse_num(const char *v, long long min, long long max, long long *out)
{
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return 0;
	*out = n;
	return 1;
}

/* An environment variable, with "" meaning unset. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* ---- output ----------------------------------------------------------- */

static int
exit_for(int err)
{
	switch (err) {
	case SKR_OK:
		return EXIT_OK;
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
		return EXIT_DENIED;
	default:
		return EXIT_ERR;
	}
}

/* "skrctl: <id>: <message>", whoever wrote the message. */
static void
report(int err, const skr_result *res)
{
	const char *id = skr_err_id(err);

	if (res != NULL && res->error_id[0] != '\0')
		id = res->error_id;
	if (res == NULL || res->message[0] == '\0')
		fprintf(stderr, PROG ": %s: %s\n", id, skr_strerror(err));
	else if (strncmp(res->message, id, strlen(id)) == 0 &&
	    res->message[strlen(id)] == ':')
		fprintf(stderr, PROG ": %s\n", res->message);
	else
		fprintf(stderr, PROG ": %s: %s\n", id, res->message);
}

/* A command failed: exit 1. */
static int
fail(int err, const skr_result *res)
{
	report(err, res);
	return EXIT_ERR;
}

/* A release or an evaluation failed: exit 3 when the key was refused
 * (policy, token, nonce, key state, wrapping key), else 1. */
static int
fail_release(int err, const skr_result *res)
{
	report(err, res);
	return exit_for(err);
}

static int
usage_err(const char *msg)
{
	fprintf(stderr, PROG ": %s (see " PROG " --help)\n", msg);
	return EXIT_USAGE;
}

/* Print a response: the server's JSON as is with --json, else readable
 * (human, or indented JSON when the command has no better form). */
static void
show(struct ctx *x, const char *text, void (*human)(json_t *))
{
	json_t *o = NULL;
	char *pretty;

	if (text == NULL || *text == '\0')
		return;
	if (x->json || skr_json_parse(text, strlen(text), 0, &o) != SKR_OK) {
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

/* Print o (a new reference, consumed; NULL when it could not be made) as
 * one line of compact JSON. */
static int
print_json(json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return SKR_ERR_NOMEM;
	printf("%s\n", text);
	free(text);
	return SKR_OK;
}

static const char *
jstr(const json_t *o, const char *path)
{
	const json_t *v = skr_json_path(o, path);

	return json_is_string(v) ? json_string_value(v) : "";
}

static int
jbool(const json_t *o, const char *path)
{
	return json_is_true(skr_json_path(o, path));
}

static void
human_bundle(json_t *o)
{
	const char *kid = jstr(o, "key.kid");
	char *tags = json_dumps(json_object_get(o, "tags"), JSON_COMPACT);

	printf("kid         %s\n", kid);
	printf("kty         %s\n", jstr(o, "key.kty"));
	if (json_object_get(json_object_get(o, "key"), "crv") != NULL)
		printf("crv         %s\n", jstr(o, "key.crv"));
	printf("enabled     %s\n", jbool(o, "attributes.enabled") ? "yes" :
	    "no");
	printf("exportable  %s\n", jbool(o, "attributes.exportable") ? "yes" :
	    "no");
	printf("policy      %s\n", json_object_get(o, "release_policy") ?
	    (jbool(o, "release_policy.immutable") ? "yes (immutable)" :
	    "yes") : "none");
	printf("tags        %s\n", tags ? tags : "{}");
	if (json_object_get(o, "scheduledPurgeDate") != NULL)
		printf("deleted     purge scheduled at %lld\n", (long long)
		    json_integer_value(json_object_get(o,
		    "scheduledPurgeDate")));
	free(tags);
}

static void
human_list(json_t *o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "value"), i, v) {
		const char *kid = jstr(v, "kid");
		const char *slash = strstr(kid, "/keys/");

		printf("%-40s %s%s\n", slash ? slash + 6 : kid,
		    jbool(v, "attributes.enabled") ? "enabled" : "disabled",
		    jbool(v, "attributes.exportable") ? ", exportable" : "");
	}
}

/* "a,b,c" of a JSON array of strings into buf. */
static const char *
join(const json_t *arr, char *buf, size_t len)
{
	const json_t *v;
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || off >= len)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
		    json_string_value(v));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf[0] != '\0' ? buf : "-";
}

static void
human_tokens(json_t *o)
{
	char roles[256], prefixes[256];
	json_t *v;
	size_t i;

	printf("%-32s  %-20s  %-24s  %s\n", "ID", "NAME", "ROLES",
	    "PREFIXES");
	json_array_foreach(json_object_get(o, "value"), i, v)
		printf("%-32s  %-20s  %-24s  %s%s\n", jstr(v, "id"),
		    jstr(v, "name"), join(json_object_get(v, "roles"), roles,
		    sizeof(roles)), join(json_object_get(v, "prefixes"),
		    prefixes, sizeof(prefixes)), jbool(v, "revoked") ?
		    "  (revoked)" : "");
}

static void
human_authorities(json_t *o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "value"), i, v) {
		printf("%s\n", jstr(v, "issuer"));
		printf("  source        %s %s\n", jstr(v, "source"),
		    jstr(v, "location"));
		printf("  keys          %lld\n", (long long)json_integer_value(
		    json_object_get(v, "keys")));
		printf("  last refresh  %lld\n", (long long)json_integer_value(
		    json_object_get(v, "last_refresh")));
		printf("  failures      %lld%s%s\n", (long long)
		    json_integer_value(json_object_get(v, "failures")),
		    json_is_string(json_object_get(v, "last_error")) ?
		    ", last error: " : "", jstr(v, "last_error"));
	}
}

static void
human_audit(json_t *o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "value"), i, v)
		printf("%6lld  %lld  %-16s %-20s %-8s %s\n", (long long)
		    json_integer_value(json_object_get(v, "seq")), (long long)
		    json_integer_value(json_object_get(v, "time")),
		    jstr(v, "event"), *jstr(v, "key") ? jstr(v, "key") : "-",
		    jstr(v, "outcome"), jstr(v, "reason"));
	if (json_integer_value(json_object_get(o, "next")) > 0)
		printf("(more: --after %lld)\n", (long long)json_integer_value(
		    json_object_get(o, "next")));
}

/* ---- files ------------------------------------------------------------ */

/* 1 when path (may be NULL) holds exactly one certificate, a self-signed
 * CA: skrd's ca.pem, not a bundle. */
static int
one_root(const char *path)
{
	X509 *x = NULL, *more = NULL;
	FILE *f;
	int ok;

	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return 0;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	more = x != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	fclose(f);
	ok = x != NULL && more == NULL && X509_check_ca(x) >= 1 &&
	    X509_check_issued(x, x) == X509_V_OK;
	X509_free(x);
	X509_free(more);
	ERR_clear_error();
	return ok;
}

static int
read_file(const char *path, skr_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f;
	int r = SKR_OK;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, PROG ": SKR.IO: %s: %s\n", path,
		    strerror(errno));
		return SKR_ERR_IO;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((r = skr_buf_append(out, chunk, n)) != SKR_OK)
			break;
	if (f != stdin)
		fclose(f);
	skr_wipe(chunk, sizeof(chunk));
	return r;
}

/* ---- secret output files ---------------------------------------------- */

/*
 * A file that receives secret bytes (a released key, a backup, an admin
 * token).  They go to a new 0600 file beside the target, which takes the
 * target's name only once it is complete and synced: a failed command
 * leaves whatever was there before, and no reader sees half a key.  Without
 * force an existing target is never replaced.  "-" is standard output.
 */
struct secret_out {
	const char *path;
	char tmp[PATH_MAX];
	int fd;
	int force;
};

static int
io_fail(const char *path, int err, const char *hint)
{
	fprintf(stderr, PROG ": SKR.IO: %s: %s%s\n", path, strerror(err),
	    hint);
	return SKR_ERR_IO;
}

static int
secret_open(struct secret_out *o, const char *path, int force)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	int n;

	o->path = path;
	o->force = force;
	o->tmp[0] = '\0';
	o->fd = -1;
	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return SKR_OK;
	}
	if (!force && lstat(path, &st) == 0)
		return io_fail(path, EEXIST, " (use --force to overwrite)");
	n = slash == NULL ? snprintf(o->tmp, sizeof(o->tmp), ".%s.XXXXXX",
	    path) : snprintf(o->tmp, sizeof(o->tmp), "%.*s/.%s.XXXXXX",
	    (int)(slash - path), path, slash + 1);
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		o->tmp[0] = '\0';
		return io_fail(path, ENAMETOOLONG, "");
	}
	if ((o->fd = mkostemp(o->tmp, O_CLOEXEC)) < 0) {
		o->tmp[0] = '\0';
		return io_fail(path, errno, "");
	}
	return SKR_OK;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, q, n)) < 0) {
			if (errno == EINTR)
				continue;
			return SKR_ERR_IO;
		}
		q += w;
		n -= (size_t)w;
	}
	return SKR_OK;
}

/* Drop the new file, if any; what the target held is untouched. */
static void
secret_abort(struct secret_out *o)
{
	if (o->fd >= 0 && o->fd != STDOUT_FILENO)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0] != '\0')
		unlink(o->tmp);
	o->tmp[0] = '\0';
}

/* Sync the new file and give it the target's name. */
static int
secret_commit(struct secret_out *o)
{
	char dir[PATH_MAX];
	const char *slash;
	struct stat st;
	int err = 0, dfd;

	if (o->fd == STDOUT_FILENO)
		return fflush(stdout) == 0 ? SKR_OK : io_fail(o->path, errno,
		    "");
	if (fsync(o->fd) != 0)
		err = errno;
	if (close(o->fd) != 0 && err == 0)
		err = errno;
	o->fd = -1;
	if (err == 0 && o->force && rename(o->tmp, o->path) != 0)
		err = errno;
	else if (err == 0 && !o->force && link(o->tmp, o->path) != 0) {
		/* link() never replaces a file that appeared meanwhile; on a
		 * file system without hard links, a last look and a rename. */
		if (errno == EEXIST || lstat(o->path, &st) == 0)
			err = EEXIST;
		else if (rename(o->tmp, o->path) != 0)
			err = errno;
	}
	if (err != 0) {
		secret_abort(o);
		return io_fail(o->path, err, err == EEXIST ?
		    " (use --force to overwrite)" : "");
	}
	unlink(o->tmp); /* after link(); gone already after rename() */
	o->tmp[0] = '\0';
	/* The new name survives a crash too. */
	if ((slash = strrchr(o->path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == o->path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - o->path),
		    o->path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return SKR_OK;
}

/* Write secret bytes to path (see struct secret_out). */
static int
write_secret(const char *path, const void *p, size_t n, int force)
{
	struct secret_out o;
	int r;

	if ((r = secret_open(&o, path, force)) != SKR_OK)
		return r;
	if (write_all(o.fd, p, n) != SKR_OK) {
		int err = errno;

		secret_abort(&o);
		return io_fail(path, err, "");
	}
	return secret_commit(&o);
}

/* ---- building request bodies ------------------------------------------ */

static int
policy_member(const char *file, int immutable, json_t *body)
{
	skr_buf text = SKR_BUF_INIT, b64 = SKR_BUF_INIT;
	int r;

	if ((r = read_file(file, &text)) == SKR_OK &&
	    (r = skr_b64url_encode(&b64, text.data, text.len)) == SKR_OK)
		json_object_set_new(body, "release_policy", json_pack(
		    "{s:s,s:s,s:b}", "contentType",
		    "application/json; charset=utf-8", "data",
		    skr_buf_cstr(&b64), "immutable", immutable));
	skr_buf_free(&text);
	skr_buf_free(&b64);
	return r;
}

static int
tag_members(const struct args *a, json_t *body)
{
	json_t *tags = NULL;
	char k[257];
	const char *eq;

	for (int i = 0; i < a->nopt; i++) {
		if (strcmp(a->opt[i].name, "tag") != 0)
			continue;
		eq = strchr(a->opt[i].val, '=');
		if (eq == NULL || eq == a->opt[i].val ||
		    (size_t)(eq - a->opt[i].val) >= sizeof(k))
			return -1;
		memcpy(k, a->opt[i].val, (size_t)(eq - a->opt[i].val));
		k[eq - a->opt[i].val] = '\0';
		if (tags == NULL)
			tags = json_object();
		json_object_set_new(tags, k, json_string(eq + 1));
	}
	if (tags != NULL)
		json_object_set_new(body, "tags", tags);
	return 0;
}

static int
ops_member(const char *ops, json_t *body)
{
	json_t *arr;
	char buf[256], *tok, *save = NULL;

	if (strlen(ops) >= sizeof(buf) || (arr = json_array()) == NULL)
		return -1;
	snprintf(buf, sizeof(buf), "%s", ops);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save))
		json_array_append_new(arr, json_string(tok));
	json_object_set_new(body, "key_ops", arr);
	return 0;
}

/* attributes, tags, key_ops and release_policy shared by create, import
 * and update. */
static int
common_members(const struct args *a, json_t *body, int is_update)
{
	json_t *attrs = json_object();
	const char *v;
	long long t;

	if (opt(a, "exportable"))
		json_object_set_new(attrs, "exportable", json_true());
	if (opt(a, "disable"))
		json_object_set_new(attrs, "enabled", json_false());
	if (opt(a, "enable"))
		json_object_set_new(attrs, "enabled", json_true());
	for (size_t i = 0; i < 2; i++) {
		static const char *const times[] = { "nbf", "exp" };

		if ((v = opt(a, times[i])) == NULL)
			continue;
		if (!parse_num(v, 0, LLONG_MAX, &t)) {
			json_decref(attrs);
			return usage_err("--nbf and --exp take a UNIX time");
		}
		json_object_set_new(attrs, times[i], json_integer(t));
	}
	if (json_object_size(attrs) > 0 || !is_update)
		json_object_set_new(body, "attributes", attrs);
	else
		json_decref(attrs);
	if (tag_members(a, body) != 0)
		return usage_err("--tag takes KEY=VALUE");
	if ((v = opt(a, "ops")) != NULL && ops_member(v, body) != 0)
		return usage_err("--ops takes OP,OP,...");
	if ((v = opt(a, "policy")) != NULL &&
	    policy_member(v, opt(a, "immutable") != NULL, body) != SKR_OK)
		return EXIT_ERR;
	return EXIT_OK;
}

/* Send body and show the result. */
static int
finish_call(struct ctx *x, int r, skr_result *res, char *out,
    void (*human)(json_t *))
{
	if (r != SKR_OK) {
		free(out);
		return fail(r, res);
	}
	show(x, out, human);
	free(out);
	return EXIT_OK;
}

/* ---- key commands ----------------------------------------------------- */

static int
cmd_key_create(struct ctx *x)
{
	json_t *body = json_object();
	const char *v;
	char *text, *out = NULL;
	skr_result res;
	long long size;
	int r;

	if ((v = opt(&x->a, "kty")) == NULL) {
		json_decref(body);
		return usage_err("--kty RSA|EC|oct is required");
	}
	json_object_set_new(body, "kty", json_string(v));
	if ((v = opt(&x->a, "size")) != NULL) {
		if (!parse_num(v, 1, 65536, &size)) {
			json_decref(body);
			return usage_err("--size takes a number of bits");
		}
		json_object_set_new(body, "key_size", json_integer(size));
	}
	if ((v = opt(&x->a, "crv")) != NULL)
		json_object_set_new(body, "crv", json_string(v));
	if ((r = common_members(&x->a, body, 0)) != EXIT_OK) {
		json_decref(body);
		return r;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = skr_client_key_create(x->c, x->a.pos[0], text, &out, &res);
	free(text);
	return finish_call(x, r, &res, out, human_bundle);
}

static int
cmd_key_import(struct ctx *x)
{
	skr_buf in = SKR_BUF_INIT_SECRET;
	json_t *body = json_object(), *jwk = NULL;
	skr_key *k = NULL;
	char *text = NULL, *out = NULL;
	const char *file;
	skr_result res;
	int r = EXIT_ERR;

	memset(&res, 0, sizeof(res));
	if ((file = opt(&x->a, "jwk")) != NULL) {
		if (read_file(file, &in) != SKR_OK ||
		    skr_json_parse((const char *)in.data, in.len, 0, &jwk) !=
		    SKR_OK) {
			fprintf(stderr, PROG ": SKR.JWK.INVALID: %s: not a JSON "
			    "web key\n", file);
			goto out;
		}
	} else if ((file = opt(&x->a, "pem")) != NULL) {
		if (read_file(file, &in) != SKR_OK ||
		    skr_key_from_pem((const char *)in.data, in.len, &k) !=
		    SKR_OK || (jwk = skr_jwk_emit(k, 1)) == NULL) {
			fprintf(stderr, PROG ": SKR.JWK.INVALID: %s: not a PEM "
			    "private key\n", file);
			goto out;
		}
	} else if ((file = opt(&x->a, "oct")) != NULL) {
		skr_buf b64 = SKR_BUF_INIT;

		if (read_file(file, &in) != SKR_OK) {
			skr_buf_free(&b64);
			goto out;
		}
		skr_b64url_encode(&b64, in.data, in.len);
		jwk = json_pack("{s:s,s:s}", "kty", "oct", "k",
		    skr_buf_cstr(&b64));
		skr_wipe(b64.data, b64.len);
		skr_buf_free(&b64);
	} else {
		r = usage_err("--jwk FILE, --pem FILE or --oct FILE is required");
		goto out;
	}
	json_object_set_new(body, "key", jwk);
	jwk = NULL;
	if ((r = common_members(&x->a, body, 0)) != EXIT_OK)
		goto out;
	text = json_dumps(body, JSON_COMPACT);
	r = skr_client_key_import(x->c, x->a.pos[0], text, &out, &res);
	r = finish_call(x, r, &res, out, human_bundle);
out:
	if (text != NULL)
		skr_freezero(text, strlen(text));
	json_decref(body);
	json_decref(jwk);
	skr_key_free(k);
	skr_buf_free(&in);
	return r;
}

static int
cmd_key_list(struct ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_key_list(x->c, &out, &res);

	return finish_call(x, r, &res, out, human_list);
}

static int
cmd_key_show(struct ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_key_get(x->c, x->a.pos[0], opt(&x->a, "version"),
	    &out, &res);

	return finish_call(x, r, &res, out, human_bundle);
}

static int
cmd_key_versions(struct ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_key_versions(x->c, x->a.pos[0], &out, &res);

	return finish_call(x, r, &res, out, human_list);
}

static int
cmd_key_update(struct ctx *x)
{
	json_t *body = json_object();
	skr_result res;
	char *text, *out = NULL;
	int r;

	if (opt(&x->a, "remove-policy"))
		json_object_set_new(body, "release_policy", json_null());
	if ((r = common_members(&x->a, body, 1)) != EXIT_OK) {
		json_decref(body);
		return r;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = skr_client_key_update(x->c, x->a.pos[0], opt(&x->a, "version"),
	    text, &out, &res);
	free(text);
	return finish_call(x, r, &res, out, human_bundle);
}

/* The commands that name one key and print the bundle the server answers. */
static int
key_call(struct ctx *x, int (*fn)(skr_client *, const char *, char **,
    skr_result *))
{
	skr_result res;
	char *out = NULL;
	int r = fn(x->c, x->a.pos[0], &out, &res);

	return finish_call(x, r, &res, out, human_bundle);
}

static int
cmd_key_rotate(struct ctx *x)
{
	return key_call(x, skr_client_key_rotate);
}

static int
cmd_key_delete(struct ctx *x)
{
	return key_call(x, skr_client_key_delete);
}

static int
cmd_key_recover(struct ctx *x)
{
	return key_call(x, skr_client_key_recover);
}

/* Deleted keys: all of them, or one (its recovery id and purge date). */
static int
cmd_key_deleted(struct ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r;

	if (x->a.npos > 1)
		return usage_err("key deleted takes at most one NAME");
	if (x->a.npos == 1) {
		r = skr_client_deleted_get(x->c, x->a.pos[0], &out, &res);
		return finish_call(x, r, &res, out, human_bundle);
	}
	r = skr_client_deleted_list(x->c, &out, &res);
	return finish_call(x, r, &res, out, human_list);
}

static int
cmd_key_purge(struct ctx *x)
{
	skr_result res;
	int r = skr_client_key_purge(x->c, x->a.pos[0], &res);

	if (r != SKR_OK)
		return fail(r, &res);
	if (!x->json)
		printf("purged %s\n", x->a.pos[0]);
	return EXIT_OK;
}

static int
cmd_key_backup(struct ctx *x)
{
	skr_result res;
	char *out = NULL;
	const char *file = opt(&x->a, "out");
	int r;

	if (file == NULL)
		return usage_err("--out FILE|- is required");
	if ((r = skr_client_key_backup(x->c, x->a.pos[0], &out, &res)) !=
	    SKR_OK)
		return fail(r, &res);
	r = write_secret(file, out, strlen(out), opt(&x->a, "force") != NULL);
	free(out);
	return r == SKR_OK ? EXIT_OK : EXIT_ERR;
}

static int
cmd_key_restore(struct ctx *x)
{
	skr_buf in = SKR_BUF_INIT;
	skr_result res;
	char *out = NULL;
	const char *file = opt(&x->a, "in");
	int r;

	if (file == NULL)
		return usage_err("--in FILE|- is required");
	if (read_file(file, &in) != SKR_OK)
		return EXIT_ERR;
	r = skr_client_key_restore(x->c, skr_buf_cstr(&in), &out, &res);
	skr_buf_free(&in);
	return finish_call(x, r, &res, out, human_bundle);
}

/* ---- release and evaluate --------------------------------------------- */

static int
read_token(const char *file, skr_buf *tok)
{
	if (file == NULL)
		return usage_err("--token FILE (the attestation token) is "
		    "required");
	if (read_file(file, tok) != SKR_OK)
		return EXIT_ERR;
	while (tok->len > 0 && (tok->data[tok->len - 1] == '\n' ||
	    tok->data[tok->len - 1] == '\r' || tok->data[tok->len - 1] == ' '))
		tok->data[--tok->len] = '\0';
	return EXIT_OK;
}

/*
 * The kid the attestation token gives the wrapping key, so that libskr can
 * check key_hsm names it.  The token is only read here, not trusted: the
 * server verifies it; a token without a matching key just skips the check.
 */
static char *
token_wrapping_kid(const skr_buf *tok, const skr_key *wrap)
{
	skr_jws jws;
	const json_t *keys, *v;
	skr_key *k;
	char *kid = NULL;
	size_t i;

	if (skr_jws_parse(skr_buf_cstr(tok), tok->len, 0, &jws) != SKR_OK)
		return NULL;
	keys = skr_json_path(jws.payload, "x-ms-runtime.keys");
	json_array_foreach(keys, i, v) {
		if (kid != NULL || !json_is_string(json_object_get(v, "kid")) ||
		    skr_jwk_parse(v, SKR_JWK_PUBLIC, &k) != SKR_OK)
			continue;
		if (skr_key_public_equal(k, wrap))
			kid = strdup(json_string_value(json_object_get(v,
			    "kid")));
		skr_key_free(k);
	}
	skr_jws_clear(&jws);
	return kid;
}

/* The released key as it is written out: PEM (RSA, EC) or raw (oct). */
static int
released_bytes(const skr_released_key *k, skr_buf *out)
{
	const unsigned char *bytes;
	skr_key *rk = NULL;
	size_t n;
	int r;

	bytes = skr_released_key_bytes(k, &n);
	if (strcmp(skr_released_key_kty(k), "oct") == 0)
		return skr_buf_append(out, bytes, n);
	r = skr_key_from_private_bytes(strcmp(skr_released_key_kty(k),
	    "RSA") == 0 ? SKR_KTY_RSA : SKR_KTY_EC, bytes, n, &rk);
	if (r == SKR_OK)
		r = skr_key_to_pem(rk, 1, out);
	skr_key_free(rk);
	return r;
}

static int
cmd_release(struct ctx *x)
{
	skr_buf tok = SKR_BUF_INIT, pem = SKR_BUF_INIT_SECRET,
	    outbuf = SKR_BUF_INIT_SECRET;
	const char *wk = opt(&x->a, "wrapping-key"), *outfile;
	skr_released_key *k = NULL;
	skr_unwrapper u;
	skr_key *wrap = NULL;
	struct secret_out so = { .fd = -1 };
	skr_result res;
	char *kid = NULL;
	int r;

	memset(&res, 0, sizeof(res));
	if ((outfile = opt(&x->a, "out")) == NULL)
		return usage_err("--out FILE|- is required");
	if (wk == NULL)
		return usage_err("--wrapping-key PEM (the TEE's RSA private "
		    "key) is required");
	if (!x->signing_trust)
		return usage_err("a release response is trusted through "
		    "--signing-cert, --signing-ca, or --cacert when it is the "
		    "one CA of skrd (its ca.pem): give one");
	if ((r = read_token(opt(&x->a, "token"), &tok)) != EXIT_OK)
		goto out;
	r = EXIT_ERR;
	if (read_file(wk, &pem) != SKR_OK ||
	    skr_key_from_pem((const char *)pem.data, pem.len, &wrap) !=
	    SKR_OK || skr_key_kty(wrap) != SKR_KTY_RSA ||
	    !skr_key_has_private(wrap)) {
		fprintf(stderr, PROG ": SKR.JWK.INVALID: %s: not an RSA "
		    "private key\n", wk);
		goto out;
	}
	/* The output file first: a release may use up a server nonce, so
	 * do not ask for the key unless it can be written. */
	if (secret_open(&so, outfile, opt(&x->a, "force") != NULL) != SKR_OK)
		goto out;
	kid = token_wrapping_kid(&tok, wrap);
	memset(&u, 0, sizeof(u));
	u.key = skr_key_pkey(wrap);
	u.kid = kid;
	if ((r = skr_client_release(x->c, x->a.pos[0], opt(&x->a, "version"),
	    skr_buf_cstr(&tok), opt(&x->a, "nonce"), opt(&x->a, "enc"), &u, &k,
	    &res)) != SKR_OK) {
		r = fail_release(r, &res);
		goto out;
	}
	if ((r = released_bytes(k, &outbuf)) != SKR_OK ||
	    (r = write_all(so.fd, outbuf.data, outbuf.len)) != SKR_OK) {
		r = fail(r, NULL);
		goto out;
	}
	if (secret_commit(&so) != SKR_OK) {
		r = EXIT_ERR;
		goto out;
	}
	r = EXIT_OK;
	if (strcmp(outfile, "-") == 0)
		goto out;
	if (x->json) {
		if ((r = print_json(json_pack("{s:s,s:s}", "kid",
		    skr_released_key_kid(k), "kty",
		    skr_released_key_kty(k)))) != SKR_OK)
			r = fail(r, NULL);
	} else
		fprintf(stderr, PROG ": released %s (%s) to %s\n",
		    skr_released_key_kid(k), skr_released_key_kty(k), outfile);
out:
	/* A failed release leaves the target as it was. */
	secret_abort(&so);
	skr_released_key_free(k);
	skr_key_free(wrap);
	free(kid);
	skr_buf_free(&tok);
	skr_buf_free(&pem);
	skr_buf_free(&outbuf);
	return r;
}

static void
human_evaluate(json_t *o)
{
	char *trace = json_dumps(json_object_get(o, "trace"), JSON_INDENT(2));

	printf("decision      %s\n", jstr(o, "decision"));
	if (json_object_get(o, "reason") != NULL)
		printf("reason        %s: %s\n", jstr(o, "reason.id"),
		    jstr(o, "reason.message"));
	printf("version       %s\n", jstr(o, "version"));
	printf("wrapping key  %s\n", json_is_string(json_object_get(o,
	    "wrapping_key")) ? jstr(o, "wrapping_key") : "(none)");
	if (trace != NULL)
		printf("trace\n%s\n", trace);
	free(trace);
}

static int
cmd_evaluate(struct ctx *x)
{
	skr_buf tok = SKR_BUF_INIT;
	skr_result res;
	char *out = NULL;
	json_t *o = NULL;
	int r, denied;

	if ((r = read_token(opt(&x->a, "token"), &tok)) != EXIT_OK)
		return r;
	r = skr_client_evaluate(x->c, x->a.pos[0], opt(&x->a, "version"),
	    skr_buf_cstr(&tok), opt(&x->a, "nonce"), &out, &res);
	skr_buf_free(&tok);
	if (r != SKR_OK) {
		free(out);
		return fail_release(r, &res);
	}
	denied = skr_json_parse(out, strlen(out), 0, &o) == SKR_OK &&
	    strcmp(jstr(o, "decision"), "allow") != 0;
	json_decref(o);
	show(x, out, human_evaluate);
	free(out);
	return denied ? EXIT_DENIED : EXIT_OK;
}

static int
cmd_nonce(struct ctx *x)
{
	skr_result res;
	char *nonce = NULL;
	int r = skr_client_nonce(x->c, &nonce, &res);

	if (r != SKR_OK)
		return fail(r, &res);
	r = EXIT_OK;
	if (!x->json)
		printf("%s\n", nonce);
	else if ((r = print_json(json_pack("{s:s}", "value", nonce))) !=
	    SKR_OK)
		r = fail(r, NULL);
	free(nonce);
	return r;
}

/* ---- tokens, authorities, audit --------------------------------------- */

static int
cmd_token_create(struct ctx *x)
{
	json_t *body = json_object(), *roles = json_array(),
	    *prefixes = json_array();
	skr_result res;
	char *text, *out = NULL;
	const char *v;
	json_t *o = NULL;
	long long t;
	int r;

	for (int i = 0; i < x->a.nopt; i++) {
		if (strcmp(x->a.opt[i].name, "role") == 0)
			json_array_append_new(roles,
			    json_string(x->a.opt[i].val));
		else if (strcmp(x->a.opt[i].name, "prefix") == 0)
			json_array_append_new(prefixes,
			    json_string(x->a.opt[i].val));
	}
	if (json_array_size(roles) == 0) {
		json_decref(body);
		json_decref(roles);
		json_decref(prefixes);
		return usage_err("at least one --role is required");
	}
	json_object_set_new(body, "roles", roles);
	json_object_set_new(body, "prefixes", prefixes);
	if ((v = opt(&x->a, "name")) != NULL)
		json_object_set_new(body, "name", json_string(v));
	if ((v = opt(&x->a, "expires")) != NULL) {
		if (!parse_num(v, 1, LLONG_MAX, &t)) {
			json_decref(body);
			return usage_err("--expires takes a UNIX time");
		}
		json_object_set_new(body, "expires", json_integer(t));
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = skr_client_token_create(x->c, text, &out, &res);
	free(text);
	if (r != SKR_OK)
		return fail(r, &res);
	if (x->json)
		printf("%s\n", out);
	else if (skr_json_parse(out, strlen(out), 0, &o) == SKR_OK &&
	    *jstr(o, "token") != '\0') {
		/* The secret alone on stdout, for $(skrctl token create). */
		fprintf(stderr, PROG ": token %s created; its secret is shown "
		    "once:\n", jstr(o, "id"));
		printf("%s\n", jstr(o, "token"));
	} else
		r = SKR_ERR_RESPONSE;
	json_decref(o);
	skr_freezero(out, strlen(out));
	return r == SKR_OK ? EXIT_OK : fail(r, NULL);
}

static int
cmd_token_list(struct ctx *x)
{
	skr_result res;
	char *out = NULL;

	int r = skr_client_token_list(x->c, &out, &res);

	return finish_call(x, r, &res, out, human_tokens);
}

static int
cmd_token_revoke(struct ctx *x)
{
	skr_result res;
	int r = skr_client_token_revoke(x->c, x->a.pos[0], &res);

	if (r != SKR_OK)
		return fail(r, &res);
	if (!x->json)
		printf("revoked %s\n", x->a.pos[0]);
	return EXIT_OK;
}

static int
cmd_authority_list(struct ctx *x)
{
	skr_result res;
	char *out = NULL;

	int r = skr_client_authorities(x->c, &out, &res);

	return finish_call(x, r, &res, out, human_authorities);
}

static int
cmd_authority_refresh(struct ctx *x)
{
	skr_result res;
	int r = skr_client_authority_refresh(x->c, x->a.pos[0], &res);

	if (r != SKR_OK)
		return fail(r, &res);
	if (!x->json)
		printf("refresh requested for %s\n", x->a.pos[0]);
	return EXIT_OK;
}

static int
cmd_audit_list(struct ctx *x)
{
	static const char *const keys[] = { "key", "since", "outcome",
		"event", "after", "maxresults" };
	skr_buf q = SKR_BUF_INIT;
	skr_result res;
	char *out = NULL;
	const char *v;
	int r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = opt(&x->a, keys[i])) != NULL) {
			if (strpbrk(v, "&#% ") != NULL) {
				skr_buf_free(&q);
				return usage_err("bad filter value");
			}
			skr_buf_appendf(&q, "%s%s=%s", q.len ? "&" : "",
			    keys[i], v);
		}
	r = skr_client_audit_list(x->c, skr_buf_cstr(&q), &out, &res);
	skr_buf_free(&q);
	return finish_call(x, r, &res, out, human_audit);
}

static int
cmd_audit_verify(struct ctx *x)
{
	skr_result res;
	uint64_t count = 0, broken = 0;
	const char *dir = opt(&x->a, "data");
	json_t *o = NULL;
	char *out = NULL;
	int r, ok;

	if (dir != NULL) {
		/* Offline: walk the chain in the store file itself. */
		r = skr_audit_verify_dir(dir, &count, &broken);
		if (r != SKR_OK && r != SKR_ERR_AUDIT_BROKEN)
			return fail(r, NULL);
		ok = r == SKR_OK;
	} else {
		if (x->c == NULL)
			return usage_err("--addr or --data is required");
		if ((r = skr_client_audit_verify(x->c, &out, &res)) != SKR_OK)
			return fail(r, &res);
		if (skr_json_parse(out, strlen(out), 0, &o) != SKR_OK) {
			free(out);
			return fail(SKR_ERR_RESPONSE, NULL);
		}
		ok = jbool(o, "ok");
		count = (uint64_t)json_integer_value(json_object_get(o,
		    "records"));
		broken = (uint64_t)json_integer_value(json_object_get(o,
		    "first_broken"));
		json_decref(o);
		free(out);
	}
	if (x->json) {
		if ((r = print_json(json_pack("{s:b,s:I,s:o}", "ok", ok,
		    "records", (json_int_t)count, "first_broken", ok ?
		    json_null() : json_integer((json_int_t)broken)))) !=
		    SKR_OK)
			return fail(r, NULL);
	} else if (ok)
		printf("audit chain ok: %llu records\n",
		    (unsigned long long)count);
	else
		printf("audit chain BROKEN at record %llu (of %llu checked)\n",
		    (unsigned long long)broken, (unsigned long long)count);
	return ok ? EXIT_OK : EXIT_ERR;
}

/* skrd --dev only: a test attestation token for a simulated TEE whose
 * wrapping key is the public half of PEM. */
static int
cmd_dev_token(struct ctx *x)
{
	skr_buf pem = SKR_BUF_INIT_SECRET;
	skr_key *k = NULL;
	json_t *body = NULL, *o = NULL, *claims = NULL;
	const char *wk = opt(&x->a, "wrapping-key"), *v;
	skr_result res;
	char *text = NULL, *out = NULL;
	int r = EXIT_ERR;

	memset(&res, 0, sizeof(res));
	body = json_pack("{s:s}", "tee", (v = opt(&x->a, "tee")) ? v :
	    "sevsnp");
	if (wk != NULL) {
		if (read_file(wk, &pem) != SKR_OK || skr_key_from_pem(
		    (const char *)pem.data, pem.len, &k) != SKR_OK) {
			fprintf(stderr, PROG ": SKR.JWK.INVALID: %s: not a PEM "
			    "key\n", wk);
			goto out;
		}
		json_object_set_new(body, "wrapping_key", skr_jwk_emit(k, 0));
	}
	if ((v = opt(&x->a, "nonce")) != NULL)
		json_object_set_new(body, "nonce", json_string(v));
	if ((v = opt(&x->a, "lifetime")) != NULL) {
		long long t;

		if (!parse_num(v, 1, INT_MAX, &t)) {
			r = usage_err("--lifetime takes seconds");
			goto out;
		}
		json_object_set_new(body, "lifetime", json_integer(t));
	}
	if ((v = opt(&x->a, "claims")) != NULL) {
		if (skr_json_parse(v, strlen(v), 0, &claims) != SKR_OK) {
			r = usage_err("--claims takes a JSON object");
			goto out;
		}
		json_object_set_new(body, "claims", claims);
	}
	text = json_dumps(body, JSON_COMPACT);
	if ((r = skr_client_call(x->c, "POST", "/dev/token", text, &out,
	    &res)) != SKR_OK) {
		r = fail(r, &res);
		goto out;
	}
	if (skr_json_parse(out, strlen(out), 0, &o) != SKR_OK) {
		r = fail(SKR_ERR_RESPONSE, NULL);
		goto out;
	}
	v = jstr(o, "token");
	if (opt(&x->a, "out") == NULL || strcmp(opt(&x->a, "out"), "-") == 0) {
		printf("%s\n", v);
		r = EXIT_OK;
	} else
		r = write_secret(opt(&x->a, "out"), v, strlen(v), 1) == SKR_OK ?
		    EXIT_OK : EXIT_ERR;
out:
	json_decref(o);
	json_decref(body);
	skr_key_free(k);
	skr_buf_free(&pem);
	free(text);
	free(out);
	return r;
}

/* Liveness and readiness: 0 when ready, 1 otherwise. */
static int
cmd_status(struct ctx *x)
{
	skr_result live, ready;
	int rl, rr;

	rl = skr_client_health(x->c, &live);
	rr = rl == SKR_OK ? skr_client_ready(x->c, &ready) : rl;
	if (rl != SKR_OK)
		return fail(rl, &live);
	if (x->json)
		printf("{\"live\":true,\"ready\":%s}\n", rr == SKR_OK ?
		    "true" : "false");
	else
		printf("live   yes\nready  %s\n", rr == SKR_OK ? "yes" :
		    ready.message);
	return rr == SKR_OK ? EXIT_OK : EXIT_ERR;
}

/* ---- the table -------------------------------------------------------- */

#define KEYOPTS "exportable enable disable nbf= exp= tag= ops= policy= immutable"

static const struct cmd cmds[] = {
	{ "key", "create", cmd_key_create, "kty= size= crv= " KEYOPTS, 1,
	    "key create NAME --kty RSA|EC|oct [--size BITS] [--crv P-256]\n"
	    "        [--exportable --policy FILE [--immutable]] [--tag K=V]... "
	    "[--ops a,b] [--disable]" },
	{ "key", "import", cmd_key_import, "jwk= pem= oct= " KEYOPTS, 1,
	    "key import NAME (--jwk FILE | --pem FILE | --oct FILE) "
	    "[--exportable --policy FILE] [--tag K=V]..." },
	{ "key", "list", cmd_key_list, "", 0, "key list" },
	{ "key", "show", cmd_key_show, "version=", 1,
	    "key show NAME [--version V]" },
	{ "key", "versions", cmd_key_versions, "", 1, "key versions NAME" },
	{ "key", "update", cmd_key_update, "version= remove-policy " KEYOPTS, 1,
	    "key update NAME [--version V] [--enable|--disable] [--nbf T] "
	    "[--exp T]\n        [--tag K=V]... [--ops a,b] [--policy FILE "
	    "[--immutable] | --remove-policy]" },
	{ "key", "rotate", cmd_key_rotate, "", 1, "key rotate NAME" },
	{ "key", "delete", cmd_key_delete, "", 1, "key delete NAME" },
	{ "key", "deleted", cmd_key_deleted, "", -1, "key deleted [NAME]" },
	{ "key", "recover", cmd_key_recover, "", 1, "key recover NAME" },
	{ "key", "purge", cmd_key_purge, "", 1, "key purge NAME" },
	{ "key", "backup", cmd_key_backup, "out= force", 1,
	    "key backup NAME --out FILE|-" },
	{ "key", "restore", cmd_key_restore, "in=", 0,
	    "key restore --in FILE|-" },
	{ "release", NULL, cmd_release,
	    "token= wrapping-key= version= enc= nonce= out= force", 1,
	    "release NAME --token FILE --wrapping-key PEM --out FILE|-\n"
	    "        [--version V] [--enc CKM_RSA_AES_KEY_WRAP|"
	    "RSA_AES_KEY_WRAP_256|RSA_AES_KEY_WRAP_384]\n"
	    "        [--nonce N] [--signing-cert PEM | --signing-ca PEM] "
	    "[--force]" },
	{ "evaluate", NULL, cmd_evaluate, "token= version= nonce=", 1,
	    "evaluate NAME --token FILE [--version V] [--nonce N]" },
	{ "nonce", NULL, cmd_nonce, "", 0, "nonce" },
	{ "status", NULL, cmd_status, "", 0, "status" },
	{ "token", "create", cmd_token_create, "name= role= prefix= expires=", 0,
	    "token create --role admin|operator|reader|auditor|releaser... "
	    "[--prefix P]... [--name N] [--expires UNIXTIME]" },
	{ "token", "list", cmd_token_list, "", 0, "token list" },
	{ "token", "revoke", cmd_token_revoke, "", 1, "token revoke ID" },
	{ "authority", "list", cmd_authority_list, "", 0, "authority list" },
	{ "authority", "refresh", cmd_authority_refresh, "", 1,
	    "authority refresh ISSUER" },
	{ "dev", "token", cmd_dev_token,
	    "tee= wrapping-key= nonce= lifetime= claims= out=", 0,
	    "dev token [--tee sevsnp|tdx|sgx] [--wrapping-key PEM] [--nonce N] "
	    "[--claims JSON] [--out FILE]\n"
	    "        (skrd --dev only: a test attestation token)" },
	{ "audit", "list", cmd_audit_list,
	    "key= since= outcome= event= after= maxresults=", 0,
	    "audit list [--key K] [--since UNIXTIME] [--outcome ok|denied|error] "
	    "[--event E]\n        [--after SEQ] [--maxresults N]" },
	{ "audit", "verify", cmd_audit_verify, "data=", 0,
	    "audit verify [--data DIR (offline, server stopped or not)]" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage: " PROG " COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "  policy check FILE\n"
	    "  policy eval --token FILE --jwks FILE --policy FILE "
	    "[--issuer URL] [--at UNIXTIME]\n"
	    "\ncommon options (before or after the command):\n"
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
	    "exit status: 0 ok, 1 error, 2 usage, 3 release denied\n");
}

static int
needs_server(const struct cmd *c, const struct args *a)
{
	return !(c->fn == cmd_audit_verify && opt(a, "data") != NULL);
}

static int
make_client(struct ctx *x)
{
	skr_client_opts o;
	const char *v;
	int r;

	skr_client_opts_init(&o);
	o.url = (v = opt(&x->a, "addr")) ? v : env("SKR_ADDR");
	o.bearer = (v = opt(&x->a, "auth")) ? v : env("SKR_TOKEN");
	o.ca_file = (v = opt(&x->a, "cacert")) ? v : env("SKR_CACERT");
	o.pin = (v = opt(&x->a, "pin")) ? v : env("SKR_PIN");
	o.signing_cert = (v = opt(&x->a, "signing-cert")) ? v :
	    env("SKR_SIGNING_CERT");
	/* skrd issues its release-signing certificate from the same CA as
	 * its TLS certificate, so that CA is the default trust for release
	 * responses unless a certificate is pinned -- when --cacert is that
	 * one CA.  A bundle (public CAs for a proxy in front, say) is not:
	 * any of its CAs may issue document-signing certificates. */
	o.signing_ca = (v = opt(&x->a, "signing-ca")) ? v : o.signing_cert ?
	    NULL : one_root(o.ca_file) ? o.ca_file : NULL;
	x->signing_trust = o.signing_cert != NULL || o.signing_ca != NULL;
	if (o.url == NULL || *o.url == '\0') {
		fprintf(stderr, PROG ": no server: set SKR_ADDR or --addr\n");
		return EXIT_USAGE;
	}
	if ((r = skr_client_new(&o, &x->c)) != SKR_OK) {
		fprintf(stderr, PROG ": %s: %s\n", skr_err_id(r), r ==
		    SKR_ERR_INVAL ? "the address must be https://HOST[:PORT], "
		    "the certificate files readable PEM and the pin "
		    "sha256//BASE64, a SHA-256 fingerprint or a certificate "
		    "file" : skr_strerror(r));
		return r == SKR_ERR_INVAL ? EXIT_USAGE : EXIT_ERR;
	}
	return EXIT_OK;
}

/* The commands of one group, for "skrctl key" and unknown subcommands. */
static void
group_usage(FILE *f, const char *group)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].group, group) == 0)
			fprintf(f, "  " PROG " %s\n", cmds[i].usage);
}

static int
is_group(const char *s)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].group, s) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cmd *c = NULL;
	char *rest[256];
	struct ctx x;
	int cmdi, nrest = 0, takes, r;

	/* Imported keys and released keys pass through JSON. */
	skr_json_wipe_on_free();
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(PROG " " SKR_VERSION "\n");
		return EXIT_OK;
	}
	if (argc >= (int)(sizeof(rest) / sizeof(rest[0])))
		return usage_err("too many arguments");
	/* Common options may come before the command ("skrctl --json key
	 * list"): skip them to find it, and parse them with the rest. */
	for (cmdi = 1; cmdi < argc && strncmp(argv[cmdi], "--", 2) == 0 &&
	    spec_has(common_opts, argv[cmdi] + 2, &takes); cmdi++) {
		rest[nrest++] = argv[cmdi];
		if (takes && cmdi + 1 < argc)
			rest[nrest++] = argv[++cmdi];
	}
	if (cmdi == argc)
		return usage_err("no command");
	if (strcmp(argv[cmdi], "policy") == 0) {
		if (nrest > 0)
			return usage_err("policy takes no server options");
		return skrctl_policy_main(argc - cmdi, argv + cmdi);
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].group, argv[cmdi]) != 0)
			continue;
		if (cmds[i].name == NULL || (cmdi + 1 < argc &&
		    strcmp(cmds[i].name, argv[cmdi + 1]) == 0)) {
			c = &cmds[i];
			break;
		}
	}
	if (c == NULL) {
		if (is_group(argv[cmdi])) {
			if (cmdi + 1 < argc && (strcmp(argv[cmdi + 1],
			    "--help") == 0 || strcmp(argv[cmdi + 1], "help") ==
			    0)) {
				group_usage(stdout, argv[cmdi]);
				return EXIT_OK;
			}
			if (cmdi + 1 < argc)
				fprintf(stderr, PROG ": unknown command \"%s %s\"\n",
				    argv[cmdi], argv[cmdi + 1]);
			group_usage(stderr, argv[cmdi]);
			return EXIT_USAGE;
		}
		fprintf(stderr, PROG ": unknown command \"%s\"\n", argv[cmdi]);
		usage(stderr);
		return EXIT_USAGE;
	}
	for (int i = cmdi + (c->name == NULL ? 1 : 2); i < argc; i++)
		rest[nrest++] = argv[i];
	memset(&x, 0, sizeof(x));
	if (parse_args(nrest, rest, c->opts, &x.a) != 0) {
		fprintf(stderr, "usage: " PROG " %s\n", c->usage);
		return EXIT_USAGE;
	}
	if (opt(&x.a, "help")) {
		printf("usage: " PROG " %s\n", c->usage);
		return EXIT_OK;
	}
	/* npos -1: the command checks its positional arguments itself. */
	if (c->npos >= 0 && x.a.npos != c->npos) {
		fprintf(stderr, "usage: " PROG " %s\n", c->usage);
		return EXIT_USAGE;
	}
	x.json = opt(&x.a, "json") != NULL;
	if (needs_server(c, &x.a) && (r = make_client(&x)) != EXIT_OK)
		return r;
	r = c->fn(&x);
	skr_client_free(x.c);
	return r;
}
