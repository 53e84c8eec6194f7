/*
 * h2o/http2_internal.h includes the "khash.h" of h2o's own source tree,
 * which Debian's libh2o-dev does not install.  gate.c needs that header's
 * structures, not h2o's stream hash table: here the table stays an opaque
 * type behind the pointer h2o_http2_conn_t holds, and the header's one
 * lookup, h2o_http2_conn_get_stream, finds nothing and is never called
 * (gate.c finds a connection's streams through its priority tree).  Only
 * server/net/ compiles with this directory on its include path.
 */
#ifndef SKR_NET_COMPAT_KHASH_H
#define SKR_NET_COMPAT_KHASH_H

typedef unsigned int khint_t;
typedef khint_t khiter_t;

#define khash_t(name) struct skr__khash_##name
#define KHASH_MAP_INIT_INT64(name, khval_t) khash_t(name);
#define kh_get(name, h, key) ((khiter_t)0)
#define kh_end(h) ((khiter_t)0)
#define kh_val(h, x) NULL

#endif
