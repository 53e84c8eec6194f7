/*
 * The etcd v3 JSON gateway's messages (docs/availability.md, "How skrd talks
 * to etcd"), built and parsed apart from any transport: bytes in, a struct
 * out.  etcd 3.4 serves the gateway at /v3/ on its client URLs; it is the
 * gRPC API with protobuf's JSON mapping: keys and values are base64
 * (RFC 4648 section 4), 64-bit integers are decimal strings, enums are
 * their names, and a member at its default value (0, false, empty) is
 * left out.
 *
 * Parsing is strict about what it reads: the text must be one JSON object
 * without duplicate members, every member the codec knows must have its
 * type (an int64 as a decimal string or a JSON integer, in range; base64
 * that decodes; booleans as booleans), revisions and counts must not be
 * negative, and the members a message cannot do without must be there (a
 * response's header and its revision).  Members it does not know are
 * left alone, so that a newer etcd that adds one is still understood.
 * Every refusal is SKR_ERR_STORE (out of memory: SKR_ERR_NOMEM); a parsed
 * struct is filled only on success.
 */
#ifndef SKR_SERVER_STORE_ETCD_CODEC_H
#define SKR_SERVER_STORE_ETCD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Bounds the codec keeps to whatever a peer sends. */
#define SKR_ETCD_MSG_MAX ((size_t)64 * 1024 * 1024)
#define SKR_ETCD_KEY_MAX ((size_t)64 * 1024)
#define SKR_ETCD_VALUE_MAX ((size_t)8 * 1024 * 1024)

/* ---- requests -------------------------------------------------------- */

/* POST /v3/kv/range.  key is required; range_end NULL asks for key alone
 * (a range_end of one 0 byte means "every key >= key"). */
typedef struct skr_etcd_range_req {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *range_end;    /* may be NULL */
	size_t range_end_len;
	int64_t limit;               /* 0: no limit */
	int64_t revision;            /* 0: the latest */
	int keys_only;
	int count_only;
} skr_etcd_range_req;

int skr_etcd_range_req_build(const skr_etcd_range_req *req, skr_buf *out);

/* A compare of a txn (etcd's Compare): the key's target against value. */
enum { SKR_ETCD_CMP_MOD, SKR_ETCD_CMP_CREATE, SKR_ETCD_CMP_VERSION };
enum { SKR_ETCD_EQUAL, SKR_ETCD_GREATER, SKR_ETCD_LESS, SKR_ETCD_NOT_EQUAL };

typedef struct skr_etcd_cmp {
	const uint8_t *key;
	size_t key_len;
	int target;                  /* SKR_ETCD_CMP_* */
	int result;                  /* SKR_ETCD_EQUAL etc. */
	int64_t value;               /* a revision or a version */
} skr_etcd_cmp;

/* An operation of a txn. */
enum { SKR_ETCD_OP_RANGE, SKR_ETCD_OP_PUT, SKR_ETCD_OP_DELETE };

typedef struct skr_etcd_op {
	int kind;                    /* SKR_ETCD_OP_* */
	const uint8_t *key;
	size_t key_len;
	const uint8_t *range_end;    /* RANGE and DELETE; NULL: key alone */
	size_t range_end_len;
	const uint8_t *value;        /* PUT */
	size_t value_len;
} skr_etcd_op;

/* POST /v3/kv/txn: if every compare holds, the success ops, else the
 * failure ops, in one revision. */
int skr_etcd_txn_req_build(const skr_etcd_cmp *cmps, size_t ncmps,
    const skr_etcd_op *success, size_t nsuccess, const skr_etcd_op *failure,
    size_t nfailure, skr_buf *out);

/* POST /v3/watch: one create request for [key, range_end) from
 * start_revision (0: from now), with progress notifications. */
int skr_etcd_watch_req_build(const uint8_t *key, size_t key_len,
    const uint8_t *range_end, size_t range_end_len, int64_t start_revision,
    skr_buf *out);

/* POST /v3/kv/compaction of every revision before rev. */
int skr_etcd_compaction_req_build(int64_t rev, skr_buf *out);

/* POST /v3/auth/authenticate.  out should be a secret buffer: it holds
 * the password. */
int skr_etcd_auth_req_build(const char *user, const char *password,
    skr_buf *out);

/* ---- responses ---------------------------------------------------------- */

/* The header of every response; revision is the store's revision when
 * the request was served. */
typedef struct skr_etcd_header {
	uint64_t cluster_id;
	uint64_t member_id;
	int64_t revision;
	int64_t raft_term;
} skr_etcd_header;

/* One key-value (mvccpb.KeyValue).  key and value are owned by the
 * message they belong to. */
typedef struct skr_etcd_kv {
	uint8_t *key;
	size_t key_len;
	uint8_t *value;              /* NULL when empty */
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
} skr_etcd_kv;

/* A range response.  Release with skr_etcd_range_clear. */
typedef struct skr_etcd_range {
	skr_etcd_header header;
	skr_etcd_kv *kvs;            /* owned, nkvs entries */
	size_t nkvs;
	int more;
	int64_t count;
} skr_etcd_range;

void skr_etcd_range_clear(skr_etcd_range *r);
int skr_etcd_range_parse(const uint8_t *p, size_t n, skr_etcd_range *out);

/* The result of one txn operation. */
typedef struct skr_etcd_op_result {
	int kind;                    /* SKR_ETCD_OP_* */
	skr_etcd_range range;        /* RANGE: its kvs (its header holds only
	                              * the revision) */
	int64_t deleted;             /* DELETE */
} skr_etcd_op_result;

/* A txn response.  Release with skr_etcd_txn_clear. */
typedef struct skr_etcd_txn {
	skr_etcd_header header;
	int succeeded;
	skr_etcd_op_result *results; /* owned, nresults entries, in op order */
	size_t nresults;
} skr_etcd_txn;

void skr_etcd_txn_clear(skr_etcd_txn *t);
int skr_etcd_txn_parse(const uint8_t *p, size_t n, skr_etcd_txn *out);

/* A response that carries a header alone (compaction, put). */
int skr_etcd_header_parse(const uint8_t *p, size_t n, skr_etcd_header *out);

/* One event of a watch.  A DELETE's kv has the key and mod_revision (the
 * revision of the delete) only. */
enum { SKR_ETCD_EVENT_PUT, SKR_ETCD_EVENT_DELETE };

typedef struct skr_etcd_event {
	int type;                    /* SKR_ETCD_EVENT_* */
	skr_etcd_kv kv;
} skr_etcd_event;

/*
 * One message of a watch stream: {"result": WatchResponse} or, when the
 * gateway ends the stream, {"error": {grpc_code, http_code, message}}.
 * Release with skr_etcd_watch_clear.
 */
typedef struct skr_etcd_watch_msg {
	int error;                   /* 1: the stream ended with an error */
	int grpc_code;               /* with error */
	char message[256];           /* with error (or a cancel reason) */
	skr_etcd_header header;
	int64_t watch_id;
	int created;
	int canceled;
	int64_t compact_revision;    /* > 0: the start revision is gone */
	int fragment;
	skr_etcd_event *events;      /* owned, nevents entries */
	size_t nevents;
} skr_etcd_watch_msg;

void skr_etcd_watch_clear(skr_etcd_watch_msg *w);
int skr_etcd_watch_parse(const uint8_t *p, size_t n, skr_etcd_watch_msg *out);

/*
 * Split the next message off a watch stream: the gateway writes each
 * message as one JSON text followed by a newline.  The first complete
 * message in p is *len bytes from p + *off (without its newline), and
 * taking it uses the first *used bytes of p; with no complete message yet
 * *len is 0 and *used counts the blank lines that may go.  A message
 * longer than SKR_ETCD_MSG_MAX is SKR_ERR_STORE.
 */
int skr_etcd_stream_next(const uint8_t *p, size_t n, size_t *off,
    size_t *len, size_t *used);

/* An error answer: {"error": text, "code": gRPC code, "message": text}. */
typedef struct skr_etcd_error {
	int code;                    /* gRPC status code (codes.proto) */
	char message[256];
} skr_etcd_error;

int skr_etcd_error_parse(const uint8_t *p, size_t n, skr_etcd_error *out);

/* The auth token of an authenticate response, into token (a secret
 * buffer). */
int skr_etcd_auth_parse(const uint8_t *p, size_t n, skr_buf *token);

/* gRPC status codes the client acts on (google.golang.org/grpc/codes). */
#define SKR_ETCD_GRPC_INVALID_ARGUMENT 3
#define SKR_ETCD_GRPC_DEADLINE_EXCEEDED 4
#define SKR_ETCD_GRPC_NOT_FOUND 5
#define SKR_ETCD_GRPC_PERMISSION_DENIED 7
#define SKR_ETCD_GRPC_RESOURCE_EXHAUSTED 8
#define SKR_ETCD_GRPC_FAILED_PRECONDITION 9
#define SKR_ETCD_GRPC_OUT_OF_RANGE 11
#define SKR_ETCD_GRPC_UNAVAILABLE 14
#define SKR_ETCD_GRPC_UNAUTHENTICATED 16

#endif
