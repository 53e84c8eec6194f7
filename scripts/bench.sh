#!/bin/sh
# The release benchmark (README.md, "Performance"): builds a release-type
# build directory and runs skr-bench, which starts skrd itself on loopback,
# prints a table and writes the figures to bench-results.json.  Extra
# arguments go to `skr-bench run` (for example --duration 5 --keys 1000).
# Takes a few minutes; run it on an otherwise idle machine.
set -eu
cd "$(dirname "$0")/.."
BUILD=${SKR_BENCH_BUILD:-build-bench}
if [ -d "$BUILD" ]; then
	meson configure "$BUILD" -Dbuildtype=release >/dev/null
else
	meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" server/skrd tests/bench/skr-bench >/dev/null
exec "$BUILD/tests/bench/skr-bench" run --skrd "$BUILD/server/skrd" \
	--json bench-results.json "$@"
