/*
 * libFuzzer target: the etcd gateway codec (server/store/etcd/etcd_codec.h),
 * the answers a replicated skrd takes from etcd.  The first input byte
 * picks the parser:
 *
 *   0  range    1  txn    2  watch message    3  error    4  auth
 *   5  header   6  a watch stream, split as the client splits it
 *
 * Invariants: a refusal leaves its struct empty; what is accepted holds
 * what etcd_codec.h promises (revisions and counts not negative, a key in
 * every kv, no more kvs than the count, events in revision order); the
 * messages split off a stream are its lines, whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"
#include "skr/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_header(const skr_etcd_header *h)
{
	if (h->revision <= 0 || h->raft_term < 0)
		abort();
}

static void
check_kv(const skr_etcd_kv *kv, int live)
{
	if (kv->key == NULL || kv->key_len == 0 || kv->mod_revision <= 0 ||
	    (kv->value == NULL) != (kv->value_len == 0) || kv->lease < 0)
		abort();
	if (live && (kv->create_revision <= 0 || kv->create_revision >
	    kv->mod_revision || kv->version <= 0))
		abort();
}

static void
check_range(const skr_etcd_range *rg, int top)
{
	if (top)
		check_header(&rg->header);
	if (rg->count < (int64_t)rg->nkvs || (rg->kvs == NULL) !=
	    (rg->nkvs == 0))
		abort();
	for (size_t i = 0; i < rg->nkvs; i++)
		check_kv(&rg->kvs[i], 1);
}

static void
one(int which, const uint8_t *p, size_t n)
{
	skr_etcd_range rg;
	skr_etcd_txn t;
	skr_etcd_watch_msg w;
	skr_etcd_error e;
	skr_etcd_header h;
	skr_buf tok = SKR_BUF_INIT_SECRET;
	size_t i;

	switch (which) {
	case 0:
		if (skr_etcd_range_parse(p, n, &rg) == SKR_OK)
			check_range(&rg, 1);
		else if (rg.kvs != NULL || rg.nkvs != 0)
			abort();
		skr_etcd_range_clear(&rg);
		break;
	case 1:
		if (skr_etcd_txn_parse(p, n, &t) == SKR_OK) {
			check_header(&t.header);
			for (i = 0; i < t.nresults; i++) {
				if (t.results[i].kind == SKR_ETCD_OP_RANGE)
					check_range(&t.results[i].range, 0);
				else if (t.results[i].range.nkvs != 0 ||
				    t.results[i].deleted < 0)
					abort();
			}
		} else if (t.results != NULL || t.nresults != 0)
			abort();
		skr_etcd_txn_clear(&t);
		break;
	case 2:
		if (skr_etcd_watch_parse(p, n, &w) == SKR_OK && !w.error) {
			check_header(&w.header);
			for (i = 0; i < w.nevents; i++) {
				check_kv(&w.events[i].kv, w.events[i].type ==
				    SKR_ETCD_EVENT_PUT);
				if (i > 0 && w.events[i].kv.mod_revision <
				    w.events[i - 1].kv.mod_revision)
					abort();
			}
		} else if (w.events != NULL || w.nevents != 0)
			abort();
		skr_etcd_watch_clear(&w);
		break;
	case 3:
		if (skr_etcd_error_parse(p, n, &e) == SKR_OK ? e.code <= 0 :
		    e.code != 0)
			abort();
		break;
	case 4:
		if (skr_etcd_auth_parse(p, n, &tok) == SKR_OK)
			for (i = 0; i < tok.len; i++)
				if (tok.data[i] <= ' ' || tok.data[i] >= 0x7f)
					abort();
		break;
	case 5:
		if (skr_etcd_header_parse(p, n, &h) == SKR_OK)
			check_header(&h);
		break;
	default:
		break;
	}
	skr_buf_free(&tok);
}

/* Split a stream in chunks of the sizes the input's bytes give, as curl
 * hands it over, and check every message is a whole line of it. */
static void
stream(const uint8_t *p, size_t n)
{
	skr_buf acc = SKR_BUF_INIT;
	size_t at = 0, off, len, used, chunk;

	while (at < n) {
		chunk = 1 + p[at] % 64;
		if (chunk > n - at)
			chunk = n - at;
		if (skr_buf_append(&acc, p + at, chunk) != SKR_OK)
			abort();
		at += chunk;
		for (;;) {
			if (skr_etcd_stream_next(acc.data, acc.len, &off,
			    &len, &used) != SKR_OK)
				goto out;
			if (used > acc.len || (len > 0 && (off + len > used ||
			    memchr(acc.data + off, '\n', len) != NULL)))
				abort();
			if (len > 0)
				one(2, acc.data + off, len);
			if (used == 0)
				break;
			memmove(acc.data, acc.data + used, acc.len - used);
			acc.len -= used;
			if (len == 0)
				break;
		}
	}
out:
	skr_buf_free(&acc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 7 == 6)
		stream(data + 1, size - 1);
	else
		one(data[0] % 7, data + 1, size - 1);
	return 0;
}
