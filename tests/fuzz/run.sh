#!/bin/sh
# Run one libFuzzer target for SECONDS over its committed corpus.
#   run.sh BINARY SECONDS CORPUS_DIR [WORK_DIR]
# New inputs go to WORK_DIR (default: next to the binary), never into the
# committed corpus; a crash leaves its input there as crash-* and makes
# this script fail, printing how to reproduce it.  WORK_DIR/result says
# "ok" or "failed" for callers that run several at once.
set -eu
bin=$1 secs=$2 corpus=$3
name=$(basename "$bin")
work=${4:-$(dirname "$bin")/$name-work}
mkdir -p "$work/new" "$work/artifacts"
rm -f "$work/result"
# Leaks in a target are findings too; UBSan reports abort.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
status=0
"$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 \
	-max_len=65536 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" \
	"$work/new" "$corpus" >"$work/log" 2>&1 || status=$?
tail -n 20 "$work/log" | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' || true
if [ "$status" != 0 ]; then
	# The target's own words first (a broken invariant names itself),
	# then the sanitizer's report.
	grep -E "^$name: " "$work/log" | head -5 || true
	grep -E -A 40 'ERROR: |runtime error|deadly signal|Test unit written' "$work/log" | head -80
	echo "$name: FAILED (exit $status); reproduce with: $bin $work/artifacts/<crash file>" >&2
	echo failed >"$work/result"
	exit 1
fi
echo ok >"$work/result"
echo "$name: ok, ${secs}s"
