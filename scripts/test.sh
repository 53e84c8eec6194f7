#!/bin/sh
# Sets everything up and runs every test: the normal build, then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
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
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug || rc=1
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
exit $rc
