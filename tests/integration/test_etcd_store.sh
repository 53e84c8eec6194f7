#!/usr/bin/env bash
# Integration: the store, handler and release tests of the unit suite run
# again over a replicated store in a real three-member etcd cluster
# (docs/availability.md): every store the tests' fixture makes is an etcd
# store under a prefix of its own (SKR_TEST_ETCD), so the API behaves the
# same whichever backend holds it.  Then two stores of one keyspace, as two
# replicas are (test_replicas).
. "$SKR_TESTS_DIR/lib.sh"
: "${SKR_BUILD_DIR:?}"

etcd_start || finish
export SKR_TEST_ETCD=$ETCD_ENDPOINTS
for t in server/test_api server/test_release server/test_dispatch \
	server/test_auditsink server/store/test_copy server/store/test_replicas; do
	if "$SKR_BUILD_DIR/tests/$t" >"$T/out" 2>&1; then
		pass "$t over etcd: $(tail -1 "$T/out")"
	else
		tail -20 "$T/out" >&2
		failed "$t over etcd"
	fi
done
finish
