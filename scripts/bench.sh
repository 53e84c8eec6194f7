#!/bin/sh
# The release benchmark (README.md, "Performance"): builds a release-type
# build directory and runs skr-bench, which starts skrd itself on loopback,
# prints a table and writes the figures to bench-results.json.  Extra
# arguments go to `skr-bench run` (for example --duration 5 --keys 1000).
# Takes a few minutes; run it on an otherwise idle machine.  Like
# scripts/test.sh it first installs the Debian packages it needs, so it
# runs on a fresh clone on a fresh machine.
#
# scripts/bench.sh --cluster [ARGS]: replicas over etcd instead
# (docs/availability.md, "Performance"): `skr-bench cluster` with one, two
# and three skrd replicas on a three-member etcd cluster started here on
# free loopback ports (or the cluster SKR_BENCH_ETCD names, comma-separated
# client URLs); figures in bench-cluster.json.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
BUILD=${SKR_BENCH_BUILD:-build-bench}
if [ -d "$BUILD" ]; then
	meson configure "$BUILD" -Dbuildtype=release >/dev/null
else
	meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" server/skrd tests/bench/skr-bench >/dev/null
if [ "${1:-}" != --cluster ]; then
	exec "$BUILD/tests/bench/skr-bench" run --skrd "$BUILD/server/skrd" \
		--json bench-results.json "$@"
fi
shift
EPS=${SKR_BENCH_ETCD:-}
PIDS=
ETCD_DIR=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || :; done
	for p in $PIDS; do wait "$p" 2>/dev/null || :; done
	[ -z "$ETCD_DIR" ] || rm -rf "$ETCD_DIR"
}
trap cleanup EXIT INT TERM
if [ -z "$EPS" ]; then
	port() {
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	}
	ETCD_DIR=$(mktemp -d /var/tmp/skr-bench-etcd-XXXXXX)
	CLUSTER=
	for n in 1 2 3; do
		eval "C$n=http://127.0.0.1:$(port) P$n=http://127.0.0.1:$(port)"
		eval "CLUSTER=\${CLUSTER:+\$CLUSTER,}m$n=\$P$n"
		eval "EPS=\${EPS:+\$EPS,}\$C$n"
	done
	for n in 1 2 3; do
		eval "c=\$C$n p=\$P$n"
		etcd --name "m$n" --data-dir "$ETCD_DIR/m$n" \
			--listen-client-urls "$c" --advertise-client-urls "$c" \
			--listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
			--initial-cluster "$CLUSTER" --initial-cluster-state new \
			>"$ETCD_DIR/m$n.log" 2>&1 &
		PIDS="$PIDS $!"
	done
	for _ in $(seq 100); do
		curl -s -m 1 -X POST -d '{"key":"AA=="}' "$C1/v3/kv/range" |
			grep -q revision && break
		sleep 0.2
	done
	echo "bench.sh: etcd on $EPS" >&2
fi
"$BUILD/tests/bench/skr-bench" cluster --skrd "$BUILD/server/skrd" \
	--etcd-endpoints "$EPS" --json bench-cluster.json "$@"
