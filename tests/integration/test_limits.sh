#!/usr/bin/env bash
# Integration: what a hostile client can hold.  Connections that end with a
# TCP reset (after an answer, after the handshake, in the middle of an
# HTTP/2 request) give their descriptor and max_connections slot back at
# once, and shutdown does not wait for them.  Request bodies are refused
# for routes that take none or smaller ones, early and with the error shape
# of docs/api.md over HTTP/1.1 and HTTP/2, and unfinished bodies held on
# many HTTP/2 streams do not grow skrd's memory past its body budget.  TLS
# 1.2 offers AEAD suites only.
. "$SKR_TESTS_DIR/lib.sh"
command -v python3 >/dev/null || skip "no python3"
RAW=("python3" "$SKR_TESTS_DIR/rawconn.py")

nfds() { ls "/proc/$SKRD_PID/fd" 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SKRD_PID/status"; }
hostport() {
	local hp=${SKR_ADDR#https://}
	HOST=${hp%:*}
	PORT=${hp##*:}
}
# wait_fds N: until skrd has at most N descriptors open (true), or 10 s.
wait_fds() {
	local _
	for _ in $(seq 200); do
		[ "$(nfds)" -le "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
# stop_within SECONDS DESC: SIGTERM, and skrd must be gone within SECONDS
# (a bound far above what a clean stop takes, far below shutdown_timeout).
stop_within() {
	local _ rc=0
	kill -TERM "$SKRD_PID"
	for _ in $(seq $(($1 * 20))); do
		kill -0 "$SKRD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SKRD_PID" 2>/dev/null; then
		failed "$2: skrd still runs $1 s after SIGTERM"
		kill -KILL "$SKRD_PID"
		wait "$SKRD_PID" 2>/dev/null
	else
		wait "$SKRD_PID" || rc=$?
		if [ "$rc" = 0 ]; then pass "$2"; else
			failed "$2: exit status $rc"
			tail -5 "$T/skrd.log" >&2
		fi
	fi
	SKRD_PID=
}

skr_init || finish

# ---- connections reset by the client ------------------------------------
# Each pattern three times over the connection cap: a connection h2o never
# disposed of would keep its slot, and the server would refuse everyone.
MAXC=6
cat >"$T/conns.conf" <<EOF
max_connections = $MAXC
shutdown_timeout = 60
EOF
for mode in h1 h2 handshake h2-request; do
	skr_start --config "$T/conns.conf" || finish
	hostport
	api GET /healthz
	expect_status 200 "$mode: healthz before the resets"
	sleep 0.2
	fds0=$(nfds)
	out=$("${RAW[@]}" "$HOST" "$PORT" "$D/ca.pem" reset "$mode" \
	    $((3 * MAXC)) 2>&1)
	check "$mode: $((3 * MAXC)) connections reset by the client" \
	    [ "$out" = "done $((3 * MAXC))" ]
	api GET /healthz
	expect_status 200 "$mode: a new connection is served at once"
	check "$mode: skrd's descriptors are back to $fds0" wait_fds "$fds0"
	stop_within 20 "$mode: SIGTERM stops skrd without waiting for them"
done

finish
