#include "jdoc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"
#include "jwrite.h"
#include "skr/error.h"

#define MAX_DEPTH_LIMIT 256
/* Numbers longer than this are copied to the heap for strtod. */
#define NUM_STACK 64

struct parser {
	skr_jdoc *doc;
	const unsigned char *s, *p, *end;
	size_t max_depth;
	size_t nmembers;    /* entries in doc->hash */
	int err;            /* SKR_ERR_NOMEM, or the syntax error seen */
};

/* ---- storage ----------------------------------------------------------- */

static int
node_new(struct parser *ps, uint32_t parent, uint32_t *out)
{
	skr_jdoc *d = ps->doc;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		skr_jnode *nn;

		if (cap > UINT32_MAX)
			return ps->err = SKR_ERR_TOO_LARGE;
		if ((nn = malloc(cap * sizeof(*nn))) == NULL)
			return ps->err = SKR_ERR_NOMEM;
		if (d->n > 0)
			memcpy(nn, d->nodes, d->n * sizeof(*nn));
		skr_wipe(d->nodes, d->cap * sizeof(*d->nodes));
		free(d->nodes);
		d->nodes = nn;
		d->cap = cap;
	}
	memset(&d->nodes[d->n], 0, sizeof(d->nodes[0]));
	d->nodes[d->n].parent = parent;
	*out = (uint32_t)d->n++;
	return SKR_OK;
}

/* Room for decoded text: at most as long as the input, so one allocation of
 * the input's size is enough and pointers into it never move. */
static int
text_room(struct parser *ps)
{
	skr_jdoc *d = ps->doc;
	size_t need = (size_t)(ps->end - ps->s) + 1;

	if (d->textcap >= need)
		return SKR_OK;
	if (d->textlen > 0)
		return ps->err = SKR_ERR_INTERNAL;
	skr_wipe(d->text, d->textcap);
	free(d->text);
	d->textcap = 0;
	if ((d->text = malloc(need)) == NULL)
		return ps->err = SKR_ERR_NOMEM;
	d->textcap = need;
	return SKR_OK;
}

/* ---- duplicate member names ---------------------------------------------- */

/* Eight bytes of the name at a time (a multiply and a shift each): names
 * are hashed for every member of every document. */
static uint32_t
key_hash(uint32_t parent, const char *k, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)parent << 32) ^ n, w;

	for (; n >= 8; k += 8, n -= 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, k, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(h ^ (h >> 29));
}

static int
key_same(const skr_jnode *a, const skr_jnode *b)
{
	return a->parent == b->parent && a->keylen == b->keylen &&
	    memcmp(a->key, b->key, a->keylen) == 0;
}

static int
hash_grow(struct parser *ps)
{
	skr_jdoc *d = ps->doc;
	size_t cap = d->hashcap ? d->hashcap * 2 : 64, i, j;
	uint32_t *h;

	if ((h = calloc(cap, sizeof(*h))) == NULL)
		return ps->err = SKR_ERR_NOMEM;
	/* Entries are node index + 1; 0 is empty. */
	for (i = 0; i < d->hashcap; i++) {
		const skr_jnode *m;

		if (d->hash[i] == 0)
			continue;
		m = &d->nodes[d->hash[i] - 1];
		j = key_hash(m->parent, m->key, m->keylen) & (cap - 1);
		while (h[j] != 0)
			j = (j + 1) & (cap - 1);
		h[j] = d->hash[i];
	}
	free(d->hash);
	d->hash = h;
	d->hashcap = cap;
	return SKR_OK;
}

/* Record member m; SKR_ERR_JSON_DUPLICATE when its object already has one
 * of that name.  Kept at most half full. */
static int
member_add(struct parser *ps, uint32_t m)
{
	skr_jdoc *d = ps->doc;
	const skr_jnode *mn;
	size_t j;

	if ((ps->nmembers + 1) * 2 > d->hashcap && hash_grow(ps) != SKR_OK)
		return ps->err;
	mn = &d->nodes[m];
	j = key_hash(mn->parent, mn->key, mn->keylen) & (d->hashcap - 1);
	while (d->hash[j] != 0) {
		if (key_same(&d->nodes[d->hash[j] - 1], mn))
			return ps->err = SKR_ERR_JSON_DUPLICATE;
		j = (j + 1) & (d->hashcap - 1);
	}
	d->hash[j] = m + 1;
	ps->nmembers++;
	return SKR_OK;
}

/* ---- lexing ---------------------------------------------------------------- */

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
syntax(struct parser *ps)
{
	if (ps->err == SKR_OK)
		ps->err = SKR_ERR_JSON;
	return ps->err;
}

static int
hex4(const unsigned char *p, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return 0;
	}
	return 1;
}

static void
put_utf8(char *o, size_t *k, uint32_t v)
{
	if (v < 0x80)
		o[(*k)++] = (char)v;
	else if (v < 0x800) {
		o[(*k)++] = (char)(0xc0 | (v >> 6));
		o[(*k)++] = (char)(0x80 | (v & 0x3f));
	} else if (v < 0x10000) {
		o[(*k)++] = (char)(0xe0 | (v >> 12));
		o[(*k)++] = (char)(0x80 | ((v >> 6) & 0x3f));
		o[(*k)++] = (char)(0x80 | (v & 0x3f));
	} else {
		o[(*k)++] = (char)(0xf0 | (v >> 18));
		o[(*k)++] = (char)(0x80 | ((v >> 12) & 0x3f));
		o[(*k)++] = (char)(0x80 | ((v >> 6) & 0x3f));
		o[(*k)++] = (char)(0x80 | (v & 0x3f));
	}
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* A byte of x below n (n <= 128), or a zero byte: exact tests for
 * whether there is one. */
#define HAS_LESS(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)
#define HAS_ZERO(x) (((x) - ONES) & ~(x) & HIGHS)

/* 1 when none of the 8 bytes at p is '"', '\\', a control character or
 * non-ASCII: the scan goes a word at a time through plain text. */
static int
plain8(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return (HAS_LESS(x, 0x20) | HAS_ZERO(x ^ (ONES * '"')) |
	    HAS_ZERO(x ^ (ONES * '\\')) | (x & HIGHS)) == 0;
}

/* The first byte at or after p (before end) that is not plain text; end
 * when there is none.  With SSE2 (every x86-64) sixteen bytes at a time. */
static const unsigned char *
skip_plain(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
	    ctl = _mm_set1_epi8(0x1f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* '"', '\\', <= 0x1f (min leaves those unchanged), and the
		 * high bit (non-ASCII) from the bytes themselves. */
		__m128i bad = _mm_or_si128(_mm_or_si128(
		    _mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)),
		    _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
		unsigned m = (unsigned)(_mm_movemask_epi8(bad) |
		    _mm_movemask_epi8(v));

		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (end - p >= 8 && plain8(p))
		p += 8;
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/*
 * A string at ps->p (on its opening quote).  The common case, no escape,
 * is a scan that leaves the text where it is; the first escape moves the
 * decoded text to doc->text.
 */
static int
lex_string(struct parser *ps, const char **str, size_t *len)
{
	const unsigned char *p = ps->p + 1, *end = ps->end, *start = p;
	skr_jdoc *d = ps->doc;
	char *o = NULL;
	size_t k = 0, l;

	for (;;) {
		/* Plain text is passed over in bulk until an escape. */
		if (o == NULL)
			p = skip_plain(p, end);
		if (p >= end)
			return syntax(ps);
		if (*p == '"')
			break;
		if (*p < 0x20)
			return syntax(ps);
		if (*p < 0x80 && *p != '\\') {
			if (o != NULL)
				o[k++] = (char)*p;
			p++;
			continue;
		}
		if (*p >= 0x80) {
			if ((l = skr_utf8_seq(p, (size_t)(end - p))) == 0)
				return syntax(ps);
			if (o != NULL)
				memcpy(o + k, p, l);
			k += o != NULL ? l : 0;
			p += l;
			continue;
		}
		/* An escape: decode from here on. */
		if (o == NULL) {
			if (text_room(ps) != SKR_OK)
				return ps->err;
			o = d->text + d->textlen;
			k = (size_t)(p - start);
			memcpy(o, start, k);
		}
		if (end - p < 2)
			return syntax(ps);
		switch (p[1]) {
		case '"': o[k++] = '"'; p += 2; continue;
		case '\\': o[k++] = '\\'; p += 2; continue;
		case '/': o[k++] = '/'; p += 2; continue;
		case 'b': o[k++] = '\b'; p += 2; continue;
		case 'f': o[k++] = '\f'; p += 2; continue;
		case 'n': o[k++] = '\n'; p += 2; continue;
		case 'r': o[k++] = '\r'; p += 2; continue;
		case 't': o[k++] = '\t'; p += 2; continue;
		case 'u': break;
		default: return syntax(ps);
		}
		{
			uint32_t v, v2;

			if (end - p < 6 || !hex4(p + 2, &v))
				return syntax(ps);
			p += 6;
			if (v >= 0xd800 && v <= 0xdbff) {
				/* A high surrogate needs its low half. */
				if (end - p < 6 || p[0] != '\\' ||
				    p[1] != 'u' || !hex4(p + 2, &v2) ||
				    v2 < 0xdc00 || v2 > 0xdfff)
					return syntax(ps);
				p += 6;
				v = ((v - 0xd800) << 10) + (v2 - 0xdc00) +
				    0x10000;
			} else if (v >= 0xdc00 && v <= 0xdfff)
				return syntax(ps);
			if (v == 0)
				return syntax(ps);
			put_utf8(o, &k, v);
		}
	}
	if (o != NULL) {
		*str = o;
		d->textlen += k;
	} else {
		*str = (const char *)start;
		k = (size_t)(p - start);
	}
	*len = k;
	ps->p = p + 1;
	return SKR_OK;
}

static int
lex_number(struct parser *ps, skr_jnode *n)
{
	const unsigned char *p = ps->p, *end = ps->end, *start = p;
	int neg = 0, real = 0;
	uint64_t acc = 0;
	int overflow = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end)
		return syntax(ps);
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return syntax(ps);
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9') {
			unsigned dg = (unsigned)(*p - '0');

			if (acc > (UINT64_MAX - dg) / 10)
				overflow = 1;
			else
				acc = acc * 10 + dg;
			p++;
		}
	} else
		return syntax(ps);
	if (p < end && *p == '.') {
		real = 1;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return syntax(ps);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return syntax(ps);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	n->raw = (const char *)start;
	n->rawlen = (size_t)(p - start);
	ps->p = p;
	if (!real) {
		/* What strtoll accepts: INT64_MIN .. INT64_MAX. */
		if (overflow || (!neg && acc > (uint64_t)INT64_MAX) ||
		    (neg && acc > (uint64_t)INT64_MAX + 1))
			return syntax(ps);
		n->type = SKR_JINT;
		n->i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
		n->d = (double)n->i;
		return SKR_OK;
	}
	{
		char stack[NUM_STACK], *buf = stack;
		double v;

		if (n->rawlen >= sizeof(stack) &&
		    (buf = malloc(n->rawlen + 1)) == NULL)
			return ps->err = SKR_ERR_NOMEM;
		memcpy(buf, start, n->rawlen);
		buf[n->rawlen] = '\0';
		errno = 0;
		v = strtod(buf, NULL);
		if (buf != stack)
			free(buf);
		/* Overflow is refused; underflow reads as what strtod gives. */
		if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
			return syntax(ps);
		n->type = SKR_JREAL;
		n->d = v;
	}
	return SKR_OK;
}

static int
lex_literal(struct parser *ps, const char *word, size_t len)
{
	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
		return syntax(ps);
	ps->p += len;
	return SKR_OK;
}

/* ---- parsing -------------------------------------------------------------- */

static int parse_value(struct parser *ps, uint32_t parent, size_t depth,
    uint32_t *out);

static int
parse_object(struct parser *ps, uint32_t me, size_t depth)
{
	skr_jdoc *d = ps->doc;
	uint32_t child, count = 0;
	const char *key;
	size_t keylen;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return SKR_OK;
	}
	for (;;) {
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
			return syntax(ps);
		if (lex_string(ps, &key, &keylen) != SKR_OK)
			return ps->err;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':')
			return syntax(ps);
		ps->p++;
		skip_ws(ps);
		if (parse_value(ps, me, depth, &child) != SKR_OK)
			return ps->err;
		d->nodes[child].key = key;
		d->nodes[child].keylen = keylen;
		if (member_add(ps, child) != SKR_OK)
			return ps->err;
		count++;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return syntax(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != '}')
			return syntax(ps);
		ps->p++;
		d->nodes[me].count = count;
		return SKR_OK;
	}
}

static int
parse_array(struct parser *ps, uint32_t me, size_t depth)
{
	uint32_t child, count = 0;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return SKR_OK;
	}
	for (;;) {
		skip_ws(ps);
		if (parse_value(ps, me, depth, &child) != SKR_OK)
			return ps->err;
		count++;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return syntax(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != ']')
			return syntax(ps);
		ps->p++;
		ps->doc->nodes[me].count = count;
		return SKR_OK;
	}
}

/* One value at ps->p (whitespace skipped), its node appended; depth is the
 * bracket nesting around it. */
static int
parse_value(struct parser *ps, uint32_t parent, size_t depth, uint32_t *out)
{
	skr_jdoc *d = ps->doc;
	const unsigned char *start = ps->p;
	uint32_t me;
	skr_jnode *n;
	int r = SKR_OK;

	if (ps->p >= ps->end)
		return syntax(ps);
	if (node_new(ps, parent, &me) != SKR_OK)
		return ps->err;
	if (parent == UINT32_MAX)
		d->nodes[me].parent = me;
	switch (*ps->p) {
	case '{':
	case '[':
		/* skr_json_parse refuses nesting of max_depth or more. */
		if (depth + 1 >= ps->max_depth)
			return ps->err = SKR_ERR_JSON_DEPTH;
		d->nodes[me].type = *ps->p == '{' ? SKR_JOBJECT : SKR_JARRAY;
		r = *ps->p == '{' ? parse_object(ps, me, depth + 1) :
		    parse_array(ps, me, depth + 1);
		break;
	case '"': {
		const char *str;
		size_t len;

		if ((r = lex_string(ps, &str, &len)) == SKR_OK) {
			n = &d->nodes[me];
			n->type = SKR_JSTRING;
			n->str = str;
			n->len = len;
		}
		break;
	}
	case 't':
		d->nodes[me].type = SKR_JTRUE;
		r = lex_literal(ps, "true", 4);
		break;
	case 'f':
		d->nodes[me].type = SKR_JFALSE;
		r = lex_literal(ps, "false", 5);
		break;
	case 'n':
		d->nodes[me].type = SKR_JNULL;
		r = lex_literal(ps, "null", 4);
		break;
	default:
		r = lex_number(ps, &d->nodes[me]);
		break;
	}
	if (r != SKR_OK)
		return ps->err != SKR_OK ? ps->err : r;
	n = &d->nodes[me];
	n->raw = (const char *)start;
	n->rawlen = (size_t)(ps->p - start);
	n->next = (uint32_t)d->n;
	*out = me;
	return SKR_OK;
}

int
skr_jdoc_parse(skr_jdoc *doc, const char *s, size_t n, size_t max_depth)
{
	struct parser ps;
	json_t *oracle = NULL;
	uint32_t root;
	int r;

	if (max_depth == 0)
		max_depth = SKR_JSON_MAX_DEPTH;
	if (max_depth > MAX_DEPTH_LIMIT)
		return SKR_ERR_INVAL;
	skr_jdoc_clear(doc);
	memset(&ps, 0, sizeof(ps));
	ps.doc = doc;
	ps.s = ps.p = (const unsigned char *)s;
	ps.end = ps.s + n;
	ps.max_depth = max_depth;
	if (doc->hashcap > 0)
		memset(doc->hash, 0, doc->hashcap * sizeof(*doc->hash));
	skip_ws(&ps);
	if (parse_value(&ps, UINT32_MAX, 0, &root) == SKR_OK) {
		skip_ws(&ps);
		if (ps.p == ps.end)
			return SKR_OK;
		syntax(&ps);
	}
	r = ps.err;
	skr_jdoc_clear(doc);
	if (r == SKR_ERR_NOMEM || r == SKR_ERR_TOO_LARGE)
		return r;
	/*
	 * Refused.  Which error skr_json_parse would give depends on the
	 * order in which it meets the faults (its depth count comes first,
	 * jansson then stops at the first error it finds); on this path,
	 * which a valid document never takes, it is simply asked.  It cannot
	 * accept what was refused here (the fuzz target holds them to that),
	 * but if it ever did, the refusal stands.
	 */
	r = skr_json_parse(s, n, max_depth, &oracle);
	json_decref(oracle);
	return r == SKR_OK || r == SKR_ERR_NOMEM ? SKR_ERR_JSON : r;
}

void
skr_jdoc_clear(skr_jdoc *doc)
{
	if (doc->nodes != NULL)
		skr_wipe(doc->nodes, doc->n * sizeof(*doc->nodes));
	if (doc->text != NULL)
		skr_wipe(doc->text, doc->textlen);
	doc->n = 0;
	doc->textlen = 0;
}

void
skr_jdoc_free(skr_jdoc *doc)
{
	skr_jdoc_clear(doc);
	free(doc->nodes);
	free(doc->text);
	free(doc->hash);
	memset(doc, 0, sizeof(*doc));
}

/* ---- reading ---------------------------------------------------------------- */

const skr_jnode *
skr_jdoc_root(const skr_jdoc *doc)
{
	return doc->n > 0 ? &doc->nodes[0] : NULL;
}

const skr_jnode *
skr_jdoc_child(const skr_jdoc *doc, const skr_jnode *n)
{
	if (n == NULL || (n->type != SKR_JARRAY && n->type != SKR_JOBJECT) ||
	    n->count == 0)
		return NULL;
	(void)doc;
	return n + 1;
}

const skr_jnode *
skr_jdoc_sibling(const skr_jdoc *doc, const skr_jnode *parent,
    const skr_jnode *n)
{
	if (n == NULL || parent == NULL || n->next >= parent->next)
		return NULL;
	return &doc->nodes[n->next];
}

const skr_jnode *
skr_jdoc_get(const skr_jdoc *doc, const skr_jnode *obj, const char *key)
{
	const skr_jnode *c;
	size_t len;

	if (obj == NULL || obj->type != SKR_JOBJECT)
		return NULL;
	len = strlen(key);
	for (c = skr_jdoc_child(doc, obj); c != NULL;
	    c = skr_jdoc_sibling(doc, obj, c))
		if (c->keylen == len && memcmp(c->key, key, len) == 0)
			return c;
	return NULL;
}

const skr_jnode *
skr_jdoc_path(const skr_jdoc *doc, const skr_jnode *root, const char *path)
{
	const skr_jnode *cur = root, *c;
	const char *p = path, *dot;
	size_t len;

	while (cur != NULL) {
		if (cur->type != SKR_JOBJECT)
			return NULL;
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		/* skr_json_path refuses empty and overlong segments. */
		if (len == 0 || len >= 256)
			return NULL;
		for (c = skr_jdoc_child(doc, cur); c != NULL;
		    c = skr_jdoc_sibling(doc, cur, c))
			if (c->keylen == len && memcmp(c->key, p, len) == 0)
				break;
		if (dot == NULL || c == NULL)
			return c;
		cur = c;
		p = dot + 1;
	}
	return NULL;
}

int
skr_jnode_streq(const skr_jnode *n, const char *s)
{
	size_t len;

	if (n == NULL || n->type != SKR_JSTRING)
		return 0;
	len = strlen(s);
	return n->len == len && memcmp(n->str, s, len) == 0;
}

char *
skr_jnode_strdup(const skr_jnode *n)
{
	char *s;

	if (n == NULL || n->type != SKR_JSTRING ||
	    (s = malloc(n->len + 1)) == NULL)
		return NULL;
	memcpy(s, n->str, n->len);
	s[n->len] = '\0';
	return s;
}

json_t *
skr_jdoc_to_json(const skr_jdoc *doc, const skr_jnode *n)
{
	const skr_jnode *c;
	json_t *v, *m;

	switch (n->type) {
	case SKR_JNULL: return json_null();
	case SKR_JFALSE: return json_false();
	case SKR_JTRUE: return json_true();
	case SKR_JINT: return json_integer((json_int_t)n->i);
	case SKR_JREAL: return json_real(n->d);
	case SKR_JSTRING: return json_stringn_nocheck(n->str, n->len);
	case SKR_JARRAY:
		if ((v = json_array()) == NULL)
			return NULL;
		for (c = skr_jdoc_child(doc, n); c != NULL;
		    c = skr_jdoc_sibling(doc, n, c))
			if ((m = skr_jdoc_to_json(doc, c)) == NULL ||
			    json_array_append_new(v, m) != 0) {
				json_decref(v);
				return NULL;
			}
		return v;
	case SKR_JOBJECT:
		if ((v = json_object()) == NULL)
			return NULL;
		for (c = skr_jdoc_child(doc, n); c != NULL;
		    c = skr_jdoc_sibling(doc, n, c))
			if ((m = skr_jdoc_to_json(doc, c)) == NULL ||
			    json_object_setn_new_nocheck(v, c->key, c->keylen,
			    m) != 0) {
				json_decref(v);
				return NULL;
			}
		return v;
	}
	return NULL;
}

/* ---- canonical text ---------------------------------------------------------- */

static int
key_cmp(const void *a, const void *b)
{
	const skr_jnode *x = *(const skr_jnode *const *)a;
	const skr_jnode *y = *(const skr_jnode *const *)b;
	size_t m = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, m);

	if (c != 0)
		return c;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

int
skr_jdoc_dump_sorted(const skr_jdoc *doc, const skr_jnode *n, skr_buf *out)
{
	const skr_jnode *c, **sorted = NULL;
	size_t i;
	int r = SKR_OK;

	switch (n->type) {
	case SKR_JNULL: return skr_buf_append(out, "null", 4);
	case SKR_JFALSE: return skr_jw_bool(out, 0);
	case SKR_JTRUE: return skr_jw_bool(out, 1);
	case SKR_JINT: return skr_jw_int(out, n->i);
	case SKR_JREAL: return skr_jw_real(out, n->d);
	case SKR_JSTRING: return skr_jw_str(out, n->str, n->len);
	case SKR_JARRAY:
		if ((r = skr_buf_append_byte(out, '[')) != SKR_OK)
			return r;
		for (c = skr_jdoc_child(doc, n), i = 0; c != NULL && r ==
		    SKR_OK; c = skr_jdoc_sibling(doc, n, c), i++)
			if ((i == 0 || (r = skr_buf_append_byte(out, ',')) ==
			    SKR_OK))
				r = skr_jdoc_dump_sorted(doc, c, out);
		return r == SKR_OK ? skr_buf_append_byte(out, ']') : r;
	case SKR_JOBJECT:
		if (n->count > 0 && (sorted = malloc(n->count *
		    sizeof(*sorted))) == NULL)
			return SKR_ERR_NOMEM;
		for (c = skr_jdoc_child(doc, n), i = 0; c != NULL;
		    c = skr_jdoc_sibling(doc, n, c))
			sorted[i++] = c;
		if (n->count > 1)
			qsort(sorted, n->count, sizeof(*sorted), key_cmp);
		r = skr_buf_append_byte(out, '{');
		for (i = 0; i < n->count && r == SKR_OK; i++) {
			if (i > 0 && (r = skr_buf_append_byte(out, ',')) !=
			    SKR_OK)
				break;
			if ((r = skr_jw_str(out, sorted[i]->key,
			    sorted[i]->keylen)) == SKR_OK &&
			    (r = skr_buf_append_byte(out, ':')) == SKR_OK)
				r = skr_jdoc_dump_sorted(doc, sorted[i], out);
		}
		free(sorted);
		return r == SKR_OK ? skr_buf_append_byte(out, '}') : r;
	}
	return SKR_ERR_INVAL;
}
