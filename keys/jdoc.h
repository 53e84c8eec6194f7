/*
 * skr_jdoc: strict JSON read in one pass into a flat array of nodes, with no
 * jansson tree and no allocation per value: the reader of what every
 * release carries (the request body, the attestation token's payload) and
 * of stored records.
 *
 * It accepts exactly what skr_json_parse (json.h) accepts -- no duplicate
 * member names, bracket nesting below max_depth, valid UTF-8 with no
 * "\u0000" and no lone surrogate, integers that fit 64 bits and reals that
 * do not overflow, one value and nothing after it but whitespace -- and a
 * refusal carries the error code skr_json_parse would give
 * (tests/fuzz/fuzz_jdoc.c holds the two to the same decisions).
 *
 * Nodes are in document order: a container's children follow it, and each
 * node's `next` is the index just past its subtree, so a sibling is one step
 * away.  Strings are decoded; one without escapes points into the input,
 * which must therefore outlive the document.  Decoded text and the nodes
 * are wiped when the document is freed (a body may carry secrets).
 */
#ifndef SKR_KEYS_JDOC_H
#define SKR_KEYS_JDOC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

typedef enum skr_jtype {
	SKR_JNULL,
	SKR_JFALSE,
	SKR_JTRUE,
	SKR_JINT,
	SKR_JREAL,
	SKR_JSTRING,
	SKR_JARRAY,
	SKR_JOBJECT,
} skr_jtype;

typedef struct skr_jnode {
	skr_jtype type;
	uint32_t next;      /* index just past this node's subtree */
	uint32_t count;     /* ARRAY, OBJECT: number of children */
	uint32_t parent;    /* index of the container; the root is its own */
	const char *key;    /* member of an object: its decoded name */
	size_t keylen;
	const char *str;    /* STRING: the decoded text (no NUL inside, not
	                     * NUL-terminated) */
	size_t len;
	const char *raw;    /* the value's text in the input */
	size_t rawlen;
	int64_t i;          /* INT */
	double d;           /* INT and REAL */
} skr_jnode;

typedef struct skr_jdoc {
	skr_jnode *nodes;   /* owned; nodes[0] is the root */
	size_t n, cap;
	char *text;         /* owned: decoded strings that had escapes */
	size_t textlen, textcap;
	uint32_t *hash;     /* owned: duplicate detection while parsing */
	size_t hashcap;
} skr_jdoc;

#define SKR_JDOC_INIT { NULL, 0, 0, NULL, 0, 0, NULL, 0 }

/*
 * Parse n bytes into doc (empty it first with skr_jdoc_clear when it is
 * reused; its memory is kept for the next parse).  max_depth 0 means
 * SKR_JSON_MAX_DEPTH; at most 256.  Errors: those of skr_json_parse
 * (SKR_ERR_JSON, SKR_ERR_JSON_DUPLICATE, SKR_ERR_JSON_DEPTH), SKR_ERR_NOMEM,
 * SKR_ERR_INVAL for max_depth over 256.  s is borrowed for the document's
 * life.
 */
int skr_jdoc_parse(skr_jdoc *doc, const char *s, size_t n, size_t max_depth);
/* Forget the parsed document, wiping what it decoded; keeps the memory. */
void skr_jdoc_clear(skr_jdoc *doc);
/* Wipe and release everything. */
void skr_jdoc_free(skr_jdoc *doc);

/* The root; NULL when nothing is parsed. */
const skr_jnode *skr_jdoc_root(const skr_jdoc *doc);
/* First child of a container, or NULL; the next sibling of a child of
 * parent, or NULL. */
const skr_jnode *skr_jdoc_child(const skr_jdoc *doc, const skr_jnode *n);
const skr_jnode *skr_jdoc_sibling(const skr_jdoc *doc,
    const skr_jnode *parent, const skr_jnode *n);
/* Member key (NUL-terminated) of object obj, or NULL (also when obj is not
 * an object). */
const skr_jnode *skr_jdoc_get(const skr_jdoc *doc, const skr_jnode *obj,
    const char *key);
/* A dotted path ("a.b.c") through nested objects, as skr_json_path walks
 * it; NULL when a step is missing or not an object. */
const skr_jnode *skr_jdoc_path(const skr_jdoc *doc, const skr_jnode *root,
    const char *path);

/* 1 when n is a string equal to s (NUL-terminated). */
int skr_jnode_streq(const skr_jnode *n, const char *s);
/* A copy of string n, NUL-terminated, or NULL (not a string, no memory).
 * Caller frees. */
char *skr_jnode_strdup(const skr_jnode *n);

/* The jansson value of node n's subtree (a new reference), or NULL when out
 * of memory: for the callers that still need a tree. */
json_t *skr_jdoc_to_json(const skr_jdoc *doc, const skr_jnode *n);

/* Append node n's subtree as json_dumps(JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENCODE_ANY) writes it, byte for byte. */
int skr_jdoc_dump_sorted(const skr_jdoc *doc, const skr_jnode *n,
    skr_buf *out);

#endif
