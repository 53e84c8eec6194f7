#!/bin/sh
# Sets everything up and runs every test: the normal build, then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer, then the
# tests that run skr's code on several threads at once under
# ThreadSanitizer, then every fuzz target for FUZZ_SECONDS under ASan +
# UBSan.  Each build ends with a line of counts and seconds; the last line
# sums them all.
# Usage: scripts/test.sh [extra meson test arguments, e.g. --suite unit]
set -eu
cd "$(dirname "$0")/.."

START=$(date +%s)
sh scripts/install-deps.sh

# run_suite DIR [meson setup options]: configure, build, and run $EXTRA
# (meson test arguments) followed by $TESTS (test names; empty: all).
run_suite() {
	dir=$1
	shift
	t0=$(date +%s)
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
	status=0
	log="$dir/meson-logs/testlog.json"
	# A run that selects no test writes no log: never count an old one.
	rm -f "$log"
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $EXTRA $TESTS ||
	    status=$?
	# One closing line per build for people and CI to read.
	pass=$(grep -c '"result": "OK"' "$log" 2>/dev/null || true)
	fail=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" 2>/dev/null || true)
	skip=$(grep -c '"result": "SKIP"' "$log" 2>/dev/null || true)
	echo "$dir: $pass passed, $fail failed, $skip skipped ($(($(date +%s) - t0))s)"
	SUMMARY="$SUMMARY${SUMMARY:+, }$dir $pass/$fail/$skip"
	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	TOTAL_SKIP=$((TOTAL_SKIP + skip))
	return $status
}

EXTRA="$*"
TESTS=
SUMMARY=
TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
rc=0
run_suite build || rc=1
# Sanitizer findings abort the test process, which meson reports as a failure.
# This build also has the test clock, so the checks that move skrd's clock
# (token expiry, scheduled purge) run here, while the normal build checks
# that a production skrd ignores it.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug -Dtest_clock=true || rc=1
# ThreadSanitizer (the system compiler's runtime): the unit tests that start
# threads -- the store under concurrent writers and readers, the
# authorities' refresh thread, the rate limiter, metrics, the audit sinks,
# the cache of parsed policies and work posted to a serving loop from
# another thread -- and the integration tests that drive a
# real skrd on its event loops and thread pool: concurrent releases through
# one libskr client (the audit group commit), release end to end, serving
# (HTTP/2, limits, graceful shutdown with requests in flight), operations
# (SIGHUP reload while serving, the audit sink thread), master key rotation
# (the rotation thread, readers of both generations, sealing while requests
# run) and replicas over etcd (the store's watch thread and copy under
# concurrent transactions on two stores, and three skrd replicas through a
# storm). test_load is left out: under ThreadSanitizer skrd accepts too
# slowly for its thousand held connections.  halt_on_error turns the first
# report into exit status 66, which fails the test (skrd must exit 0 on
# SIGTERM); the full reports are kept in build-tsan/tsan/ and printed
# below.  No suppressions: none of these tests has a report in a system
# library.
TSAN_UNIT="store audit_commit authority ratelimit metrics auditsink release rotate policy opcache net_serve"
TSAN_INTEGRATION="test_client test_release test_serve test_ops test_rotate test_etcd_store test_cluster"
rm -rf build-tsan/tsan
mkdir -p build-tsan/tsan
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:log_path=$PWD/build-tsan/tsan/report} \
TESTS="$TSAN_UNIT $TSAN_INTEGRATION" \
	run_suite build-tsan -Db_sanitize=thread -Db_lundef=false || rc=1
for f in build-tsan/tsan/report.*; do
	[ -e "$f" ] || continue
	echo "ThreadSanitizer report $f:" >&2
	cat "$f" >&2
	rc=1
done
TESTS=
# Fuzzing: every libFuzzer target (tests/fuzz) built with clang under ASan +
# UBSan and run for FUZZ_SECONDS (default 30) over its committed corpus, two
# at a time; a crash, sanitizer finding or leak fails the run.  FUZZ_SECONDS=0
# skips this step.
run_fuzz() {
	dir=build-fuzz
	secs=${FUZZ_SECONDS:-30}
	[ "$secs" != 0 ] || return 0
	start=$(date +%s)
	if [ -d "$dir/meson-private" ]; then set -- --reconfigure; else set --; fi
	CC=clang meson setup "$@" "$dir" -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	# "target corpus" pairs: every target of tests/fuzz, and libskr's.
	sed -n "s/^  '\([a-z]*\)' : \['[a-z]*', .*/tests\/fuzz\/fuzz_\1 tests\/fuzz\/corpus\/\1/p" \
	    tests/fuzz/meson.build >"$dir/fuzz-targets"
	echo "tests/client/fuzz_client_response tests/client/corpus/response" \
	    >>"$dir/fuzz-targets"
	echo "tests/client/fuzz_skrctl_args tests/client/corpus/skrctl_args" \
	    >>"$dir/fuzz-targets"
	# shellcheck disable=SC2046
	ninja -C "$dir" $(cut -d' ' -f1 "$dir/fuzz-targets")
	rm -rf "$dir/fuzz-work"
	# shellcheck disable=SC2016
	xargs -P 2 -L 1 sh -c 'sh tests/fuzz/run.sh "$0/$2" "$1" "$3" \
	    "$0/fuzz-work/${2##*/}"' "$dir" "$secs" <"$dir/fuzz-targets" || true
	pass=0 fail=0
	while read -r bin _; do
		t=$(basename "$bin")
		if [ "$(cat "$dir/fuzz-work/$t/result" 2>/dev/null)" = ok ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "$t: FAILED; log in $dir/fuzz-work/$t/log" >&2
		fi
	done <"$dir/fuzz-targets"
	echo "$dir: $pass passed, $fail failed, 0 skipped ($(($(date +%s) - start))s)"
	SUMMARY="$SUMMARY${SUMMARY:+, }$dir $pass/$fail/0"
	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	[ "$fail" = 0 ]
}
run_fuzz || rc=1
# Passed/failed/skipped per build, then the whole run's time.
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped ($SUMMARY; $(($(date +%s) - START))s)"
exit $rc
