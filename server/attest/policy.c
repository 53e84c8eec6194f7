#include "policy.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "encoding.h"
#include "jdoc.h"
#include "json.h"
#include "jwrite.h"
#include "skr/error.h"

/* Claim paths longer than this are refused at set time; no attester uses
 * anything close. */
#define MAX_CLAIM_LEN 1024
/* JSON depth the parser lets through: the deepest valid policy (nesting 16)
 * needs 37 levels; anything past that is too deep whatever it holds. */
#define MAX_JSON_DEPTH (2 * SKR_POLICY_MAX_NESTING + 8)

enum group {
	LEAF = 0,
	ALL_OF,
	ANY_OF,
};

/* A policy value, compiled: the JSON for the trace and the forms the
 * operators compare with. */
struct value {
	json_t *json;    /* owned reference */
	char *text;      /* the text a string claim is compared with */
	size_t textlen;
	int is_num;
	int is_int;
	json_int_t i;
	double d;
};

struct cond;
typedef int (*eval_fn)(const struct cond *c, const skr_jnode *actual);
typedef const char *(*check_fn)(const json_t *v);

struct op_def {
	const char *name;
	check_fn check;
	eval_fn eval;
};

struct cond {
	enum group group;
	/* leaf */
	const struct op_def *op;
	char *claim;
	char **path;
	size_t *pathlen;
	size_t npath;
	struct value *vals;
	size_t nvals;
	json_t *expected; /* owned: the value as written, for the trace */
	/* The trace's text for this leaf, made once: the claim as a JSON
	 * string and the expected value as the trace writes it. */
	skr_buf claim_json;
	skr_buf expected_json;
	/* group */
	struct cond *kids;
	size_t nkids;
};

struct rule {
	char *authority;
	skr_buf authority_json; /* as a JSON string, for the trace */
	struct cond top;   /* an ALL_OF or ANY_OF group */
	int64_t max_age;   /* -1: not set */
};

struct skr_policy {
	struct rule *rules;
	size_t nrules;
	int require_server_nonce;
	int refs;               /* skr_policy_ref; atomic */
};

static const char *const group_names[] = {
	[LEAF] = "leaf",
	[ALL_OF] = "allOf",
	[ANY_OF] = "anyOf",
};

/* ---- comparisons ---- */

/* The text a scalar compares as: strings as they are, booleans and numbers
 * as their JSON text, as Key Vault does ("false" equals false).  Reals use
 * 15 significant digits so that a claim 0.1 reads "0.1"; integral reals keep
 * a ".0" the way they were written.  NULL for null, objects and arrays. */
static const char *
scalar_text_of(skr_jtype type, const char *str, size_t len, int64_t i,
    double d, char *tmp, size_t tmplen, size_t *lenp)
{
	int n;

	switch (type) {
	case SKR_JSTRING:
		*lenp = len;
		return str;
	case SKR_JTRUE:
		*lenp = 4;
		return "true";
	case SKR_JFALSE:
		*lenp = 5;
		return "false";
	case SKR_JINT:
		n = snprintf(tmp, tmplen, "%lld", (long long)i);
		break;
	case SKR_JREAL:
		n = snprintf(tmp, tmplen, "%.15g", d);
		if (n > 0 && (size_t)n + 2 < tmplen &&
		    strpbrk(tmp, ".eEn") == NULL) {
			memcpy(tmp + n, ".0", 3);
			n += 2;
		}
		break;
	default:
		return NULL;
	}
	if (n < 0 || (size_t)n >= tmplen)
		return NULL;
	*lenp = (size_t)n;
	return tmp;
}

/* The same for a policy value (a jansson scalar). */
static const char *
scalar_text(const json_t *v, char *tmp, size_t tmplen, size_t *lenp)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return scalar_text_of(SKR_JSTRING, json_string_value(v),
		    json_string_length(v), 0, 0, tmp, tmplen, lenp);
	case JSON_TRUE:
		return scalar_text_of(SKR_JTRUE, NULL, 0, 0, 0, tmp, tmplen,
		    lenp);
	case JSON_FALSE:
		return scalar_text_of(SKR_JFALSE, NULL, 0, 0, 0, tmp, tmplen,
		    lenp);
	case JSON_INTEGER:
		return scalar_text_of(SKR_JINT, NULL, 0, json_integer_value(v),
		    0, tmp, tmplen, lenp);
	case JSON_REAL:
		return scalar_text_of(SKR_JREAL, NULL, 0, 0,
		    json_real_value(v), tmp, tmplen, lenp);
	default:
		return NULL;
	}
}

static int
is_number(const skr_jnode *a)
{
	return a->type == SKR_JINT || a->type == SKR_JREAL;
}

static int
num_cmp(const struct value *v, const skr_jnode *a, int *cmp)
{
	if (!is_number(a) || !v->is_num)
		return 0;
	if (v->is_int && a->type == SKR_JINT) {
		*cmp = a->i < v->i ? -1 : a->i > v->i;
		return 1;
	}
	*cmp = a->d < v->d ? -1 : a->d > v->d;
	return 1;
}

static int
value_equal(const struct value *v, const skr_jnode *a)
{
	char tmp[64];
	const char *t;
	size_t tlen;
	int cmp;

	if (num_cmp(v, a, &cmp))
		return cmp == 0;
	if (v->text == NULL)
		return 0;
	if ((t = scalar_text_of(a->type, a->str, a->len, a->i, a->d, tmp,
	    sizeof(tmp), &tlen)) == NULL)
		return 0;
	return tlen == v->textlen && memcmp(t, v->text, tlen) == 0;
}

static int
eval_equals(const struct cond *c, const skr_jnode *a)
{
	return a != NULL && value_equal(&c->vals[0], a);
}

static int
eval_not_equals(const struct cond *c, const skr_jnode *a)
{
	return a != NULL && !value_equal(&c->vals[0], a);
}

static int
eval_less(const struct cond *c, const skr_jnode *a)
{
	int cmp;

	return a != NULL && num_cmp(&c->vals[0], a, &cmp) && cmp < 0;
}

static int
eval_less_eq(const struct cond *c, const skr_jnode *a)
{
	int cmp;

	return a != NULL && num_cmp(&c->vals[0], a, &cmp) && cmp <= 0;
}

static int
eval_greater(const struct cond *c, const skr_jnode *a)
{
	int cmp;

	return a != NULL && num_cmp(&c->vals[0], a, &cmp) && cmp > 0;
}

static int
eval_greater_eq(const struct cond *c, const skr_jnode *a)
{
	int cmp;

	return a != NULL && num_cmp(&c->vals[0], a, &cmp) && cmp >= 0;
}

static int
eval_exists(const struct cond *c, const skr_jnode *a)
{
	return (a != NULL) == json_is_true(c->vals[0].json);
}

static int
eval_in(const struct cond *c, const skr_jnode *a)
{
	size_t i;

	if (a == NULL)
		return 0;
	for (i = 0; i < c->nvals; i++)
		if (value_equal(&c->vals[i], a))
			return 1;
	return 0;
}

/* ---- value checks at set time ---- */

static int
is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static const char *
check_scalar(const json_t *v)
{
	return is_scalar(v) ? NULL :
	    "value must be a string, number or boolean";
}

static const char *
check_number(const json_t *v)
{
	return json_is_number(v) ? NULL : "value must be a number";
}

static const char *
check_bool(const json_t *v)
{
	return json_is_boolean(v) ? NULL : "value must be true or false";
}

static const char *
check_in(const json_t *v)
{
	const json_t *m;
	size_t i;

	if (!json_is_array(v))
		return "value must be an array";
	if (json_array_size(v) == 0)
		return "value must not be an empty array";
	json_array_foreach(v, i, m) {
		if (!is_scalar(m))
			return "array members must be strings, numbers or "
			    "booleans";
	}
	return NULL;
}

static const struct op_def ops[] = {
	{ "equals", check_scalar, eval_equals },
	{ "notEquals", check_scalar, eval_not_equals },
	{ "less", check_number, eval_less },
	{ "lessOrEquals", check_number, eval_less_eq },
	{ "greater", check_number, eval_greater },
	{ "greaterOrEquals", check_number, eval_greater_eq },
	{ "exists", check_bool, eval_exists },
	{ "in", check_in, eval_in },
};

static const struct op_def *
op_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

/* ---- freeing ---- */

static void
cond_clear(struct cond *c)
{
	size_t i;

	for (i = 0; i < c->nkids; i++)
		cond_clear(&c->kids[i]);
	free(c->kids);
	for (i = 0; i < c->nvals; i++) {
		json_decref(c->vals[i].json);
		free(c->vals[i].text);
	}
	free(c->vals);
	for (i = 0; i < c->npath; i++)
		free(c->path[i]);
	free(c->path);
	free(c->pathlen);
	free(c->claim);
	json_decref(c->expected);
	skr_buf_free(&c->claim_json);
	skr_buf_free(&c->expected_json);
	memset(c, 0, sizeof(*c));
}

void
skr_policy_free(skr_policy *p)
{
	size_t i;

	if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].authority);
		skr_buf_free(&p->rules[i].authority_json);
		cond_clear(&p->rules[i].top);
	}
	free(p->rules);
	free(p);
}

/* ---- parsing ---- */

struct pctx {
	skr_buf *why;
	skr_buf loc;      /* "anyOf[0].allOf[2]" */
	size_t nconds;
};

static size_t
loc_push(struct pctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t
loc_push(struct pctx *x, const char *fmt, ...)
{
	size_t saved = x->loc.len;
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Locations are for humans; one cut short is still useful. */
	if (n > 0)
		(void)skr_buf_append(&x->loc, tmp,
		    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
	return saved;
}

static void
loc_pop(struct pctx *x, size_t saved)
{
	if (x->loc.data != NULL && saved <= x->loc.len) {
		x->loc.len = saved;
		x->loc.data[saved] = '\0';
	}
}

static int
fail(struct pctx *x, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct pctx *x, int err, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	if (x->why == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	(void)skr_buf_appendf(x->why, "%s: %s",
	    x->loc.len ? skr_buf_cstr(&x->loc) : "policy", tmp);
	return err;
}

/* Names in error text come from the policy: keep them short and printable. */
static const char *
printable(const char *s, char *tmp, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		tmp[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ?
		    s[i] : '?';
	tmp[i] = '\0';
	return tmp;
}

static int
only_members(struct pctx *x, const json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;
	char tmp[64];
	size_t i;

	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "unknown member \"%s\"",
			    printable(k, tmp, sizeof(tmp)));
	}
	return SKR_OK;
}

static int
split_claim(struct pctx *x, struct cond *c, const char *claim)
{
	const char *p, *dot;
	size_t n, i, len;

	len = strlen(claim);
	if (len == 0)
		return fail(x, SKR_ERR_POLICY_INVALID, "empty claim");
	if (len > MAX_CLAIM_LEN)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "claim longer than %d characters", MAX_CLAIM_LEN);
	for (n = 1, p = claim; *p != '\0'; p++)
		if (*p == '.')
			n++;
	if ((c->claim = strdup(claim)) == NULL ||
	    (c->path = calloc(n, sizeof(*c->path))) == NULL ||
	    (c->pathlen = calloc(n, sizeof(*c->pathlen))) == NULL)
		return SKR_ERR_NOMEM;
	if (skr_jw_cstr(&c->claim_json, claim) != SKR_OK)
		return SKR_ERR_NOMEM;
	for (i = 0, p = claim; i < n; i++) {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (len == 0)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "claim \"%s\" has an empty path segment",
			    printable(claim, (char[64]){ 0 }, 64));
		if ((c->path[i] = strndup(p, len)) == NULL)
			return SKR_ERR_NOMEM;
		c->pathlen[i] = len;
		c->npath++;
		p = dot != NULL ? dot + 1 : p + len;
	}
	return SKR_OK;
}

static int
compile_value(const json_t *v, struct value *out)
{
	char tmp[64];
	const char *t;
	size_t tlen;

	out->json = json_incref((json_t *)v);
	if (json_is_number(v)) {
		out->is_num = 1;
		out->is_int = json_is_integer(v);
		out->i = out->is_int ? json_integer_value(v) : 0;
		out->d = json_number_value(v);
	}
	if ((t = scalar_text(v, tmp, sizeof(tmp), &tlen)) != NULL) {
		if ((out->text = malloc(tlen + 1)) == NULL)
			return SKR_ERR_NOMEM;
		memcpy(out->text, t, tlen);
		out->text[tlen] = '\0';
		out->textlen = tlen;
	}
	return SKR_OK;
}

static int
compile_leaf(struct pctx *x, struct cond *c, const struct op_def *op,
    const json_t *val)
{
	const char *why;
	const json_t *m;
	size_t i, n;
	int r;

	if ((why = op->check(val)) != NULL)
		return fail(x, SKR_ERR_POLICY_INVALID, "%s: %s", op->name, why);
	c->op = op;
	c->expected = json_incref((json_t *)val);
	{
		char *t = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);

		if (t == NULL || skr_buf_append_str(&c->expected_json, t) !=
		    SKR_OK) {
			free(t);
			return SKR_ERR_NOMEM;
		}
		free(t);
	}
	n = json_is_array(val) ? json_array_size(val) : 1;
	if ((c->vals = calloc(n, sizeof(*c->vals))) == NULL)
		return SKR_ERR_NOMEM;
	c->nvals = n; /* only now: cond_clear walks vals */
	if (!json_is_array(val))
		return compile_value(val, &c->vals[0]);
	json_array_foreach(val, i, m) {
		if ((r = compile_value(m, &c->vals[i])) != SKR_OK)
			return r;
	}
	return SKR_OK;
}

static int parse_group(struct pctx *x, struct cond *g, enum group kind,
    const json_t *arr, int level);

static int
parse_cond(struct pctx *x, struct cond *c, const json_t *obj, int level)
{
	static const char *const legacy_members[] = {
		"claim", "condition", "value", NULL,
	};
	const json_t *all, *any, *claim, *cname, *val = NULL, *v;
	const struct op_def *op = NULL;
	const char *k;
	char tmp[64], tmp2[64];
	int r;

	if (++x->nconds > SKR_POLICY_MAX_CONDITIONS)
		return fail(x, SKR_ERR_POLICY_TOO_LARGE,
		    "more than %d conditions", SKR_POLICY_MAX_CONDITIONS);
	if (!json_is_object(obj))
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "condition is not an object");
	all = json_object_get(obj, "allOf");
	any = json_object_get(obj, "anyOf");
	if (all != NULL || any != NULL) {
		if (all != NULL && any != NULL)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "both \"allOf\" and \"anyOf\"");
		if (json_object_size(obj) != 1)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "a group has only \"allOf\" or \"anyOf\"");
		return parse_group(x, c, all != NULL ? ALL_OF : ANY_OF,
		    all != NULL ? all : any, level + 1);
	}

	claim = json_object_get(obj, "claim");
	if (claim == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID, "missing \"claim\"");
	if (!json_is_string(claim))
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"claim\" must be a string");
	if ((r = split_claim(x, c, json_string_value(claim))) != SKR_OK)
		return r;

	if ((cname = json_object_get(obj, "condition")) != NULL) {
		/* Legacy form: {"claim", "condition": OP, "value"}. */
		if ((r = only_members(x, obj, legacy_members)) != SKR_OK)
			return r;
		if (!json_is_string(cname))
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "\"condition\" must be a string");
		if ((op = op_find(json_string_value(cname))) == NULL)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "unknown operator \"%s\"",
			    printable(json_string_value(cname), tmp,
			    sizeof(tmp)));
		if ((val = json_object_get(obj, "value")) == NULL)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "missing \"value\"");
		return compile_leaf(x, c, op, val);
	}

	json_object_foreach((json_t *)obj, k, v) {
		const struct op_def *o;

		if (strcmp(k, "claim") == 0)
			continue;
		if ((o = op_find(k)) == NULL)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "unknown operator \"%s\"",
			    printable(k, tmp, sizeof(tmp)));
		if (op != NULL)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "more than one operator (\"%s\", \"%s\")",
			    printable(op->name, tmp, sizeof(tmp)),
			    printable(o->name, tmp2, sizeof(tmp2)));
		op = o;
		val = v;
	}
	if (op == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID, "missing operator");
	return compile_leaf(x, c, op, val);
}

static int
parse_group(struct pctx *x, struct cond *g, enum group kind,
    const json_t *arr, int level)
{
	const json_t *m;
	size_t i, saved;
	int r;

	saved = loc_push(x, "%s%s", x->loc.len ? "." : "", group_names[kind]);
	if (level > SKR_POLICY_MAX_NESTING) {
		r = fail(x, SKR_ERR_POLICY_TOO_LARGE,
		    "nested deeper than %d levels", SKR_POLICY_MAX_NESTING);
		goto out;
	}
	if (!json_is_array(arr)) {
		r = fail(x, SKR_ERR_POLICY_INVALID, "must be an array");
		goto out;
	}
	if (json_array_size(arr) == 0) {
		r = fail(x, SKR_ERR_POLICY_INVALID, "must not be empty");
		goto out;
	}
	g->group = kind;
	g->nkids = json_array_size(arr);
	if ((g->kids = calloc(g->nkids, sizeof(*g->kids))) == NULL) {
		g->nkids = 0;
		r = SKR_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(arr, i, m) {
		size_t s2 = loc_push(x, "[%zu]", i);

		r = parse_cond(x, &g->kids[i], m, level);
		if (r != SKR_OK)
			goto out;
		loc_pop(x, s2);
	}
	r = SKR_OK;
	loc_pop(x, saved);
 out:
	return r;
}

static int
parse_authority(struct pctx *x, const json_t *v, char **out)
{
	const char *s, *p;

	if (v == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID, "missing \"authority\"");
	if (!json_is_string(v))
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"authority\" must be a string");
	s = json_string_value(v);
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"authority\" must be an http or https URL");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "\"authority\" contains a space or "
			    "non-ASCII character");
	if (json_string_length(v) != strlen(s) || strlen(s) > 2048)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"authority\" is malformed");
	if ((*out = strdup(s)) == NULL)
		return SKR_ERR_NOMEM;
	return SKR_OK;
}

static int
parse_rule(struct pctx *x, struct rule *rule, const json_t *obj)
{
	static const char *const members[] = {
		"authority", "allOf", "anyOf", "maxAgeSeconds", NULL,
	};
	const json_t *all, *any, *age;
	int r;

	rule->max_age = -1;
	if (!json_is_object(obj))
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "authority rule is not an object");
	if ((r = only_members(x, obj, members)) != SKR_OK)
		return r;
	if ((r = parse_authority(x, json_object_get(obj, "authority"),
	    &rule->authority)) != SKR_OK)
		return r;
	if (skr_jw_cstr(&rule->authority_json, rule->authority) != SKR_OK)
		return SKR_ERR_NOMEM;
	if ((age = json_object_get(obj, "maxAgeSeconds")) != NULL) {
		if (!json_is_integer(age))
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "\"maxAgeSeconds\" must be an integer");
		if (json_integer_value(age) < 0)
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "\"maxAgeSeconds\" must not be negative");
		rule->max_age = json_integer_value(age);
	}
	all = json_object_get(obj, "allOf");
	any = json_object_get(obj, "anyOf");
	if (all != NULL && any != NULL)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "both \"allOf\" and \"anyOf\"");
	if (all == NULL && any == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "missing \"allOf\" or \"anyOf\"");
	return parse_group(x, &rule->top, all != NULL ? ALL_OF : ANY_OF,
	    all != NULL ? all : any, 1);
}

static int
parse_root(struct pctx *x, skr_policy *p, const json_t *root)
{
	static const char *const members[] = {
		"version", "anyOf", "requireServerNonce", NULL,
	};
	static const char *const versions[] = { "1.0.0", "1.0", "0.2", NULL };
	const json_t *ver, *any, *nonce, *m;
	char tmp[32];
	size_t i, saved;
	int r;

	if (!json_is_object(root))
		return fail(x, SKR_ERR_POLICY_INVALID, "not a JSON object");
	if ((r = only_members(x, root, members)) != SKR_OK)
		return r;
	if ((ver = json_object_get(root, "version")) == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID, "missing \"version\"");
	if (!json_is_string(ver))
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"version\" must be a string");
	for (i = 0; versions[i] != NULL; i++)
		if (strcmp(json_string_value(ver), versions[i]) == 0)
			break;
	if (versions[i] == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "unsupported version \"%s\"",
		    printable(json_string_value(ver), tmp, sizeof(tmp)));
	if ((nonce = json_object_get(root, "requireServerNonce")) != NULL) {
		if (!json_is_boolean(nonce))
			return fail(x, SKR_ERR_POLICY_INVALID,
			    "\"requireServerNonce\" must be true or false");
		p->require_server_nonce = json_is_true(nonce);
	}
	if ((any = json_object_get(root, "anyOf")) == NULL)
		return fail(x, SKR_ERR_POLICY_INVALID, "missing \"anyOf\"");
	if (!json_is_array(any))
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"anyOf\" must be an array");
	if (json_array_size(any) == 0)
		return fail(x, SKR_ERR_POLICY_INVALID,
		    "\"anyOf\" must not be empty");
	p->nrules = json_array_size(any);
	if ((p->rules = calloc(p->nrules, sizeof(*p->rules))) == NULL) {
		p->nrules = 0;
		return SKR_ERR_NOMEM;
	}
	json_array_foreach(any, i, m) {
		saved = loc_push(x, "anyOf[%zu]", i);
		if ((r = parse_rule(x, &p->rules[i], m)) != SKR_OK)
			return r;
		loc_pop(x, saved);
	}
	return SKR_OK;
}

int
skr_policy_parse(const char *json, size_t n, skr_policy **out, skr_buf *why)
{
	struct pctx x;
	skr_policy *p = NULL;
	json_t *root = NULL;
	int r;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.why = why;
	skr_buf_init(&x.loc, 4096);
	if (n > SKR_POLICY_MAX_BYTES) {
		r = fail(&x, SKR_ERR_POLICY_TOO_LARGE,
		    "larger than %zu bytes", SKR_POLICY_MAX_BYTES);
		goto out;
	}
	switch ((r = skr_json_parse(json, n, MAX_JSON_DEPTH, &root))) {
	case SKR_OK:
		break;
	case SKR_ERR_JSON_DEPTH:
		r = fail(&x, SKR_ERR_POLICY_TOO_LARGE, "nested too deeply");
		goto out;
	case SKR_ERR_JSON_DUPLICATE:
		r = fail(&x, SKR_ERR_POLICY_INVALID,
		    "an object has a duplicate member");
		goto out;
	case SKR_ERR_NOMEM:
		goto out;
	default:
		r = fail(&x, SKR_ERR_POLICY_INVALID,
		    "not valid JSON (or not UTF-8)");
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	p->refs = 1;
	if ((r = parse_root(&x, p, root)) != SKR_OK)
		goto out;
	*out = p;
	p = NULL;
 out:
	skr_policy_free(p);
	json_decref(root);
	skr_buf_free(&x.loc);
	return r;
}

skr_policy *
skr_policy_ref(skr_policy *p)
{
	if (p != NULL)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

/*
 * The cache of parsed policies (policy.h, skr_policy_parse_cached): a
 * policy is parsed once per distinct text, not once per release.  Entries
 * are found by an FNV-1a hash of the text and then compared byte for
 * byte; the cache holds one reference to each, a caller another.  A
 * policy holds no secret, and a text always parses the same way, so an
 * entry can never be stale; it leaves when a newer text takes its slot
 * (round robin).  One lock, held for the lookup only, never while parsing.
 */
#define POLICY_CACHE 64

static struct {
	pthread_mutex_t mu;
	struct {
		uint64_t h;
		char *text;
		size_t n;
		skr_policy *p;
	} e[POLICY_CACHE];
	unsigned next;
	uint64_t hits, misses;
} pcache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static skr_policy *
pcache_find(uint64_t h, const char *json, size_t n)
{
	skr_policy *p = NULL;
	size_t i;

	pthread_mutex_lock(&pcache.mu);
	for (i = 0; i < POLICY_CACHE && p == NULL; i++)
		if (pcache.e[i].p != NULL && pcache.e[i].h == h &&
		    pcache.e[i].n == n && memcmp(pcache.e[i].text, json, n) == 0)
			p = skr_policy_ref(pcache.e[i].p);
	if (p != NULL)
		pcache.hits++;
	else
		pcache.misses++;
	pthread_mutex_unlock(&pcache.mu);
	return p;
}

int
skr_policy_parse_cached(const char *json, size_t n, skr_policy **out)
{
	skr_policy *p, *old = NULL;
	uint64_t h;
	char *text, *old_text = NULL;
	unsigned i;
	int r;

	*out = NULL;
	if (json == NULL || n > SKR_POLICY_MAX_BYTES)
		return skr_policy_parse(json, n, out, NULL);
	h = fnv1a(json, n);
	if ((*out = pcache_find(h, json, n)) != NULL)
		return SKR_OK;
	if ((r = skr_policy_parse(json, n, &p, NULL)) != SKR_OK)
		return r;
	*out = p;
	/* Kept only when there is memory for it. */
	if ((text = malloc(n > 0 ? n : 1)) == NULL)
		return SKR_OK;
	memcpy(text, json, n);
	pthread_mutex_lock(&pcache.mu);
	i = pcache.next++ % POLICY_CACHE;
	old = pcache.e[i].p;
	old_text = pcache.e[i].text;
	pcache.e[i].h = h;
	pcache.e[i].text = text;
	pcache.e[i].n = n;
	pcache.e[i].p = skr_policy_ref(p);
	pthread_mutex_unlock(&pcache.mu);
	skr_policy_free(old);
	free(old_text);
	return SKR_OK;
}

void
skr_policy_cache_stats(uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&pcache.mu);
	*hits = pcache.hits;
	*misses = pcache.misses;
	pthread_mutex_unlock(&pcache.mu);
}

void
skr_policy_cache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&pcache.mu);
	for (i = 0; i < POLICY_CACHE; i++) {
		skr_policy_free(pcache.e[i].p);
		free(pcache.e[i].text);
		pcache.e[i].p = NULL;
		pcache.e[i].text = NULL;
	}
	pthread_mutex_unlock(&pcache.mu);
}

int
skr_policy_require_server_nonce(const skr_policy *p)
{
	return p->require_server_nonce;
}

size_t
skr_policy_rule_count(const skr_policy *p)
{
	return p->nrules;
}

const char *
skr_policy_rule_authority(const skr_policy *p, size_t i)
{
	return i < p->nrules ? p->rules[i].authority : NULL;
}

int
skr_policy_issuer_match(const char *authority, const char *iss)
{
	size_t a, b;

	if (authority == NULL || iss == NULL)
		return 0;
	a = strlen(authority);
	b = strlen(iss);
	if (a > 0 && authority[a - 1] == '/')
		a--;
	if (b > 0 && iss[b - 1] == '/')
		b--;
	return a == b && a > 0 && memcmp(authority, iss, a) == 0;
}

/* ---- evaluation ---- */

/*
 * The trace is written as text, straight in the form the digest is taken
 * over: compact, members in key order, values as jansson writes them, so
 * that json_dumps(JSON_COMPACT | JSON_SORT_KEYS) of the trace parsed back
 * gives the same bytes (tests/server/attest/test_policy.c checks it).  The
 * members of each object are written in sorted order directly.
 */
struct ectx {
	const skr_jdoc *doc;
	skr_buf *out;    /* the trace text */
	int err;         /* SKR_ERR_NOMEM once anything failed */
};

static void
put(struct ectx *e, const char *s, size_t n)
{
	if (e->err == SKR_OK && skr_buf_append(e->out, s, n) != SKR_OK)
		e->err = SKR_ERR_NOMEM;
}

#define PUT(e, lit) put((e), (lit), sizeof(lit) - 1)

static void
put_buf(struct ectx *e, const skr_buf *b)
{
	put(e, (const char *)b->data, b->len);
}

static void
put_bool(struct ectx *e, int v)
{
	if (v)
		PUT(e, "true");
	else
		PUT(e, "false");
}

static void
put_int(struct ectx *e, int64_t v)
{
	if (e->err == SKR_OK && skr_jw_int(e->out, v) != SKR_OK)
		e->err = SKR_ERR_NOMEM;
}

static void
put_value(struct ectx *e, const skr_jnode *v)
{
	int r;

	if (e->err == SKR_OK && (r = skr_jdoc_dump_sorted(e->doc, v,
	    e->out)) != SKR_OK)
		e->err = r == SKR_ERR_INVAL ? SKR_ERR_INVAL : SKR_ERR_NOMEM;
}

static const skr_jnode *
claim_lookup(const struct ectx *e, const struct cond *c,
    const skr_jnode *claims)
{
	const skr_jnode *cur = claims, *m;
	size_t i;

	for (i = 0; i < c->npath; i++) {
		if (cur->type != SKR_JOBJECT)
			return NULL;
		for (m = skr_jdoc_child(e->doc, cur); m != NULL;
		    m = skr_jdoc_sibling(e->doc, cur, m))
			if (m->keylen == c->pathlen[i] &&
			    memcmp(m->key, c->path[i], m->keylen) == 0)
				break;
		if ((cur = m) == NULL)
			return NULL;
	}
	return cur;
}

static int eval_cond(struct ectx *e, const struct cond *c,
    const skr_jnode *claims, const char **fail_claim);

/* A group's children, as the trace array's members.  Evaluates every child
 * (no short cut) so the trace is complete.  Returns the group's result;
 * *fail_claim names the first failing leaf when it is false. */
static int
eval_kids(struct ectx *e, const struct cond *c, const skr_jnode *claims,
    const char **fail_claim)
{
	const char *kid_fail, *first_fail = NULL;
	size_t i;
	int res, kr;

	res = c->group == ALL_OF;
	PUT(e, "[");
	for (i = 0; i < c->nkids; i++) {
		if (i > 0)
			PUT(e, ",");
		kid_fail = NULL;
		kr = eval_cond(e, &c->kids[i], claims, &kid_fail);
		if (c->group == ALL_OF && !kr) {
			if (res)
				first_fail = kid_fail;
			res = 0;
		} else if (c->group == ANY_OF) {
			if (kr)
				res = 1;
			else if (first_fail == NULL)
				first_fail = kid_fail;
		}
	}
	PUT(e, "]");
	if (!res)
		*fail_claim = first_fail;
	return res;
}

/* {"actual":..,"claim":..,"expected":..,"op":..,"present":..,"result":..}
 * or {"conditions":[..],"op":..,"result":..} */
static int
eval_cond(struct ectx *e, const struct cond *c, const skr_jnode *claims,
    const char **fail_claim)
{
	const skr_jnode *actual;
	int res;

	if (c->group == LEAF) {
		actual = claim_lookup(e, c, claims);
		res = c->op->eval(c, actual);
		PUT(e, "{");
		if (actual != NULL) {
			PUT(e, "\"actual\":");
			put_value(e, actual);
			PUT(e, ",");
		}
		PUT(e, "\"claim\":");
		put_buf(e, &c->claim_json);
		PUT(e, ",\"expected\":");
		put_buf(e, &c->expected_json);
		PUT(e, ",\"op\":\"");
		put(e, c->op->name, strlen(c->op->name));
		PUT(e, "\",\"present\":");
		put_bool(e, actual != NULL);
		PUT(e, ",\"result\":");
		put_bool(e, res);
		PUT(e, "}");
		if (!res)
			*fail_claim = c->claim;
		return res;
	}
	PUT(e, "{\"conditions\":");
	res = eval_kids(e, c, claims, fail_claim);
	PUT(e, ",\"op\":\"");
	put(e, group_names[c->group], strlen(group_names[c->group]));
	PUT(e, "\",\"result\":");
	put_bool(e, res);
	PUT(e, "}");
	return res;
}

/* ,"maxAge":{"actual":..,"claim":"iat","expected":N,
 * "op":"maxAgeSeconds","present":..,"result":..} */
static int
eval_max_age(struct ectx *e, const struct rule *rule, const skr_jnode *claims,
    int64_t now)
{
	const skr_jnode *iat = skr_jdoc_get(e->doc, claims, "iat");
	int res;

	/* iat >= now - maxAge, not now - iat <= maxAge: an iat near the
	 * bottom of the range must not overflow into a young age.  iat is a
	 * NumericDate: fractions allowed (RFC 7519). */
	res = iat != NULL && ((iat->type == SKR_JINT && iat->i >=
	    now - rule->max_age) || (iat->type == SKR_JREAL && iat->d >=
	    (double)(now - rule->max_age)));
	PUT(e, ",\"maxAge\":{");
	if (iat != NULL) {
		PUT(e, "\"actual\":");
		put_value(e, iat);
		PUT(e, ",");
	}
	PUT(e, "\"claim\":\"iat\",\"expected\":");
	put_int(e, rule->max_age);
	PUT(e, ",\"op\":\"maxAgeSeconds\",\"present\":");
	put_bool(e, iat != NULL);
	PUT(e, ",\"result\":");
	put_bool(e, res);
	PUT(e, "}");
	return res;
}

static int
trace_digest(const skr_buf *text, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	if (EVP_Digest(text->data, text->len, md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return SKR_ERR_CRYPTO;
	skr_hex_text(out, md, mdlen);
	return SKR_OK;
}

void
skr_policy_result_clear(skr_policy_result *res)
{
	json_decref(res->trace);
	json_decref(res->failed_claims);
	skr_buf_free(&res->denial);
	skr_buf_free(&res->trace_text);
	memset(res, 0, sizeof(*res));
	skr_buf_init(&res->denial, 0);
	skr_buf_init(&res->trace_text, 0);
}

const json_t *
skr_policy_result_trace(skr_policy_result *res)
{
	if (res->trace == NULL && res->trace_text.len > 0)
		(void)skr_json_parse((const char *)res->trace_text.data,
		    res->trace_text.len, SKR_TRACE_MAX_DEPTH, &res->trace);
	return res->trace;
}

int
skr_policy_eval_doc(const skr_policy *p, const skr_jdoc *doc,
    const skr_jnode *claims, const char *iss, int64_t now,
    skr_policy_result *res)
{
	struct ectx e = { doc, NULL, SKR_OK };
	skr_buf rules = SKR_BUF_INIT;
	const struct rule *rule;
	const char *fc;
	size_t i, applicable = 0;
	int allowed = 0, match, ok;

	skr_policy_result_clear(res);
	if (p == NULL || doc == NULL || claims == NULL ||
	    claims->type != SKR_JOBJECT || iss == NULL)
		return SKR_ERR_INVAL;
	if ((res->failed_claims = json_array()) == NULL)
		return SKR_ERR_NOMEM;
	/* The rules first: the decision comes before them in key order. */
	e.out = &rules;
	PUT(&e, "[");
	for (i = 0; i < p->nrules && e.err == SKR_OK; i++) {
		rule = &p->rules[i];
		match = skr_policy_issuer_match(rule->authority, iss);
		if (i > 0)
			PUT(&e, ",");
		PUT(&e, "{\"authority\":");
		put_buf(&e, &rule->authority_json);
		PUT(&e, ",\"conditions\":");
		/* Rules for other issuers are evaluated too, for a complete
		 * dry-run trace, but can never allow. */
		fc = NULL;
		ok = eval_kids(&e, &rule->top, claims, &fc);
		PUT(&e, ",\"index\":");
		put_int(&e, (int64_t)i);
		PUT(&e, ",\"matches_issuer\":");
		put_bool(&e, match);
		if (rule->max_age >= 0 && !eval_max_age(&e, rule, claims,
		    now) && ok) {
			ok = 0;
			fc = "iat";
		}
		PUT(&e, ",\"op\":\"");
		put(&e, group_names[rule->top.group],
		    strlen(group_names[rule->top.group]));
		PUT(&e, "\",\"result\":");
		put_bool(&e, match && ok);
		PUT(&e, "}");
		if (!match)
			continue;
		applicable++;
		if (ok) {
			allowed = 1;
			continue;
		}
		if (fc == NULL)
			fc = "(unknown)";
		if (json_array_append_new(res->failed_claims,
		    json_string(fc)) != 0)
			e.err = SKR_ERR_NOMEM;
		if (skr_buf_appendf(&res->denial, "%sanyOf[%zu] (%s): %s",
		    res->denial.len ? "; " : "", i, rule->authority, fc) !=
		    SKR_OK)
			e.err = SKR_ERR_NOMEM;
	}
	PUT(&e, "]");
	if (e.err == SKR_OK && applicable == 0 &&
	    skr_buf_appendf(&res->denial, "no rule for issuer %s", iss) !=
	    SKR_OK)
		e.err = SKR_ERR_NOMEM;
	if (e.err == SKR_OK && allowed) {
		json_array_clear(res->failed_claims);
		skr_buf_reset(&res->denial);
	}
	/* {"at":..,"decision":..,"issuer":..,"rules":[..]} */
	e.out = &res->trace_text;
	PUT(&e, "{\"at\":");
	put_int(&e, now);
	PUT(&e, ",\"decision\":\"");
	if (allowed)
		PUT(&e, "allow");
	else
		PUT(&e, "deny");
	PUT(&e, "\",\"issuer\":");
	/* jansson could not make a string of an iss that is not UTF-8. */
	if (e.err == SKR_OK && skr_jw_cstr(&res->trace_text, iss) != SKR_OK)
		e.err = SKR_ERR_NOMEM;
	PUT(&e, ",\"rules\":");
	put_buf(&e, &rules);
	PUT(&e, "}");
	skr_buf_free(&rules);
	if (e.err == SKR_OK)
		e.err = trace_digest(&res->trace_text, res->trace_digest);
	if (e.err != SKR_OK) {
		int err = e.err;

		skr_policy_result_clear(res);
		return err;
	}
	res->allowed = allowed;
	return allowed ? SKR_OK : SKR_ERR_POLICY_DENIED;
}

int
skr_policy_eval(const skr_policy *p, const json_t *claims, const char *iss,
    int64_t now, skr_policy_result *res)
{
	skr_jdoc doc = SKR_JDOC_INIT;
	char *text = NULL;
	int r;

	skr_policy_result_clear(res);
	if (p == NULL || !json_is_object(claims) || iss == NULL)
		return SKR_ERR_INVAL;
	/* One evaluator: the claims are read back as a document. */
	if ((text = json_dumps(claims, JSON_COMPACT)) == NULL)
		return SKR_ERR_NOMEM;
	if ((r = skr_jdoc_parse(&doc, text, strlen(text),
	    SKR_TRACE_MAX_DEPTH)) != SKR_OK) {
		r = r == SKR_ERR_NOMEM ? r : SKR_ERR_INVAL;
		goto out;
	}
	r = skr_policy_eval_doc(p, &doc, skr_jdoc_root(&doc), iss, now, res);
	if ((r == SKR_OK || r == SKR_ERR_POLICY_DENIED) &&
	    skr_policy_result_trace(res) == NULL) {
		skr_policy_result_clear(res);
		r = SKR_ERR_NOMEM;
	}
out:
	skr_jdoc_free(&doc);
	free(text);
	return r;
}
