#!/bin/sh
# Sets everything up and runs every test: the normal build, then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# every fuzz target for FUZZ_SECONDS under both sanitizers.
# Usage: scripts/test.sh [extra meson test arguments, e.g. --suite unit]
set -eu
cd "$(dirname "$0")/.."

sh scripts/install-deps.sh

run_suite() {
	dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
	status=0
	meson test -C "$dir" --print-errorlogs --num-processes 2 $EXTRA || status=$?
	# One closing line per build for people and CI to read.
	log="$dir/meson-logs/testlog.json"
	pass=$(grep -c '"result": "OK"' "$log" || true)
	fail=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	skip=$(grep -c '"result": "SKIP"' "$log" || true)
	echo "$dir: $pass passed, $fail failed, $skip skipped"
	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	TOTAL_SKIP=$((TOTAL_SKIP + skip))
	return $status
}

EXTRA="$*"
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
# Fuzzing: every libFuzzer target (tests/fuzz) built with clang under ASan +
# UBSan and run for FUZZ_SECONDS (default 30) over its committed corpus, two
# at a time; a crash, sanitizer finding or leak fails the run.  FUZZ_SECONDS=0
# skips this step.
run_fuzz() {
	dir=build-fuzz
	secs=${FUZZ_SECONDS:-30}
	[ "$secs" != 0 ] || return 0
	if [ -d "$dir" ]; then set -- --reconfigure; else set --; fi
	CC=clang meson setup "$@" "$dir" -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	# "target corpus" pairs: every target of tests/fuzz, and libskr's.
	sed -n "s/^  '\([a-z]*\)' : \['[a-z]*', .*/tests\/fuzz\/fuzz_\1 tests\/fuzz\/corpus\/\1/p" \
	    tests/fuzz/meson.build >"$dir/fuzz-targets"
	echo "tests/client/fuzz_client_response tests/client/corpus/response" \
	    >>"$dir/fuzz-targets"
	# shellcheck disable=SC2046
	ninja -C "$dir" $(cut -d' ' -f1 "$dir/fuzz-targets")
	rm -rf "$dir/fuzz-work"
	start=$(date +%s)
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
	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	[ "$fail" = 0 ]
}
run_fuzz || rc=1
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
exit $rc
