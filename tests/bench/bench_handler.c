/*
 * The release handler alone: releases through skr_dispatch in this
 * process, on a server fixture (tests/lib/server_fixture.h) with a test
 * authority, an ES256 release-signing key and one oct key under the
 * benchmark policy.  No sockets, no TLS, no threads: what is left is what
 * server/release.c and the layers under it cost, which is what
 * `valgrind --tool=callgrind --toggle-collect=bench_handler_loop` counts
 * instruction by instruction, repeatably on a busy machine (README.md,
 * "Performance").
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_fixture.h"
#include "skr/error.h"
#include "store.h"

/* Not static: callgrind's --toggle-collect names it. */
__attribute__((noinline)) int bench_handler_loop(skr_server *srv,
    const skr_test_request *rq,
    skr_response *resp, int n);

int
bench_handler_loop(skr_server *srv, const skr_test_request *rq,
    skr_response *resp, int n)
{
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		skr_test_call(srv, rq, resp);
		bad += resp->status != 200;
	}
	return bad;
}

int
bench_handler(int count)
{
	skr_test_server fx;
	skr_testauth_claims spec;
	skr_version_params p;
	skr_response resp;
	skr_test_request rq;
	skr_key *wrap = NULL, *k = NULL;
	skr_txn *txn = NULL;
	skr_buf tok = SKR_BUF_INIT;
	json_t *body;
	char *policy, *text;
	uint8_t bytes[BENCH_KEY_BYTES];
	double t0, t;
	int r, bad;

	skr_test_server_make(&fx, "bench-handler", SKR_TEST_SERVER_AUTHORITY |
	    SKR_TEST_SERVER_SIGNING);
	/* One caller makes every request: no per-peer limit. */
	fx.srv.release_limit = 0;
	policy = bench_policy(SKR_TEST_ISSUER);
	skr_version_params_init(&p);
	p.exportable = 1;
	p.policy = policy;
	p.policy_len = strlen(policy);
	bench_key_bytes("bench-0000000", bytes);
	if ((r = skr_key_from_private_bytes(SKR_KTY_OCT, bytes, sizeof(bytes),
	    &k)) != SKR_OK || (r = skr_key_generate(SKR_KTY_RSA, 2048,
	    &wrap)) != SKR_OK || (r = skr_store_txn_begin(fx.srv.store,
	    SKR_TXN_WRITE, &txn)) != SKR_OK || (r = skr_store_version_add(txn,
	    "bench-0000000", k, &p, 0, skr_server_now(&fx.srv), NULL)) !=
	    SKR_OK)
		goto out;
	r = skr_store_txn_commit(txn);
	txn = NULL;
	if (r != SKR_OK)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.tee = SKR_TESTAUTH_TEE_SEVSNP;
	spec.wrapping_key = wrap;
	if ((r = skr_testauth_mint(fx.ta, &spec, &tok)) != SKR_OK)
		goto out;
	body = json_pack("{s:s}", "target", skr_buf_cstr(&tok));
	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.target = "/keys/bench-0000000/release?api-version=7.4";
	rq.body = text;
	rq.content_type = "application/json";
	skr_response_init(&resp);
	/* Warm up: first-use costs (the wrapping key's check, OpenSSL's
	 * lazy setup) are not what a release costs. */
	bad = bench_handler_loop(&fx.srv, &rq, &resp, 20);
	t0 = bench_now();
	bad += bench_handler_loop(&fx.srv, &rq, &resp, count);
	t = bench_now() - t0;
	printf("%d releases through skr_dispatch: %.1f us each, %d not "
	    "200\n", count, t * 1e6 / count, bad);
	if (bad > 0)
		fprintf(stderr, "skr-bench handler: last answer %d: %s\n",
		    resp.status, skr_buf_cstr(&resp.body));
	r = bad > 0 ? SKR_ERR_INTERNAL : SKR_OK;
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
	free(text);
out:
	skr_store_txn_abort(txn);
	skr_key_free(k);
	skr_key_free(wrap);
	skr_buf_free(&tok);
	free(policy);
	skr_test_server_free(&fx);
	return r;
}
