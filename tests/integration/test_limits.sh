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

# ---- request bodies -------------------------------------------------------
# Over-limit bodies get the error shape on both protocols: over max_body,
# over their route's limit (a release takes 144 KiB), to a route that does
# not exist, to a route that takes none.
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB) that
# counts as resident; the sections that measure skrd's memory go without.
ASAN_SAVED=${ASAN_OPTIONS-}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
head -c 2000000 /dev/zero | tr '\0' a >"$T/2m"
head -c 300000 /dev/zero | tr '\0' a >"$T/300k"
skr_start || finish
hostport
for proto in --http1.1 --http2; do
	API_CURL=("$proto")
	api POST /keys/restore "@$T/2m"
	expect_error 413 SKR.REQUEST.TOO_LARGE "$proto: a body over max_body"
	api POST /keys/k/release "@$T/300k"
	expect_error 413 SKR.REQUEST.TOO_LARGE "$proto: a body over the route's limit"
	api POST /no/such/route "@$T/300k"
	expect_error 404 SKR.REQUEST.NOT_FOUND "$proto: a body for no route"
	api GET /healthz "@$T/300k"
	expect_error 413 SKR.REQUEST.TOO_LARGE "$proto: a body for a route that takes none"
	api GET /healthz
	expect_status 200 "$proto: and serving goes on"
done
API_CURL=()
# A refusal by the serving layer has its request line, marked refused.
check "the refused requests are logged" [ "$(grep -c \
	'"method":"POST","path":"/keys/restore","status":413,"refused":true}' \
	"$T/skrd.log")" = 2 ]

# hold DESC MAX_MIB ARGS...: rawconn.py ARGS against skrd, whose resident
# memory must grow by less than MAX_MIB while they hold what they sent.
# HELD: rawconn's summary.
hold() {
	local desc=$1 max=$2 r0 r1 pid _
	shift 2
	rm -f "$T/held"
	r0=$(rss_kib)
	"${RAW[@]}" "$HOST" "$PORT" "$D/ca.pem" "$@" "$T/held" \
	    >"$T/hold.out" 2>&1 &
	pid=$!
	skr_track "$pid"
	for _ in $(seq 1800); do
		[ -s "$T/held" ] || ! kill -0 "$pid" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5
	r1=$(rss_kib)
	HELD=$(cat "$T/held" 2>/dev/null)
	echo "$desc: resident $r0 -> $r1 KiB; $HELD"
	check "$desc: skrd grew by less than $max MiB" \
	    [ $(((r1 - r0) / 1024)) -lt "$max" ]
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	api GET /healthz
	expect_status 200 "$desc: skrd serves on"
}
held() { jq -r "$1" <<<"$HELD"; }

# Four HTTP/2 connections, 100 streams each, holding unfinished 1 MiB
# bodies (400 MiB sent): a few MiB, where h2o alone held them all.
hold "1 MiB bodies for no route" 32 hold 4 100 1048576 /no/such/route cl hold
hold "1 MiB bodies for release, no length" 32 hold 4 100 1048576 \
    /keys/k/release none hold
hold "1 MiB bodies for restore, no length" 32 hold 4 100 1048576 \
    /keys/restore none hold
# Past http2_max_streams (16) streams with a body in the works, the newest
# are answered 429; the others are served (400: not a release body).
hold "30 small release bodies on one connection" 32 hold 1 30 10000 \
    /keys/k/release cl finish
check "... 14 of them refused with 429" [ "$(held '.status["429"]')" = 14 ]
check "... 16 served" [ "$(held '.status["400"]')" = 16 ]
skr_stop

# The memory bounds themselves: past max_connection_body_memory or
# max_body_memory, the newest bodies are refused with 429, the others
# served (401: restore without a token), no connection is cut.
printf 'max_connection_body_memory = 1048576\nmax_body_memory = 2097152\n' \
    >"$T/bodies.conf"
skr_start --config "$T/bodies.conf" || finish
hostport
hold "16 bodies of 200 KB on one connection" 32 hold 1 16 200000 \
    /keys/restore cl finish
check "... some refused with 429 ($(held '.status["429"]'))" \
    [ "$(held '.status["429"] // 0')" -gt 0 ]
check "... all answered" [ "$(held .answered)" = 16 ]
hold "8 bodies of 200 KB on each of 3 connections" 32 hold 3 8 200000 \
    /keys/restore cl finish
check "... some refused with 429 ($(held '.status["429"]'))" \
    [ "$(held '.status["429"] // 0')" -gt 0 ]
check "... all answered" [ "$(held .answered)" = 24 ]
check "... no connection cut" [ "$(held .closed)" = 0 ]
skr_stop

# Limits that cannot work together are refused at start.
printf 'max_body = 4194304\n' >"$T/bad.conf"
rc=0
"$SKRD" serve --data "$D" --listen 127.0.0.1:0 --config "$T/bad.conf" \
    >"$T/bad.out" 2>&1 || rc=$?
check "max_body over max_connection_body_memory is refused (exit 1)" \
    [ "$rc" = 1 ]
check "... saying so" grep -q max_connection_body_memory "$T/bad.out"

# HTTP/1.1 holds one request per connection: 200 connections each holding
# an unfinished 1 MB body stop being read past max_body_memory (16 MiB
# here); h2o alone held all 200 MB.
printf 'max_body_memory = 16777216\n' >"$T/h1.conf"
skr_start --config "$T/h1.conf" || finish
hostport
hold "200 HTTP/1.1 bodies of 1 MB" 48 hold1 200 1000000 /keys/restore
skr_stop

# The test authority serves through the same layer, with the same bounds.
ta_serve || finish
TAPORT=${ISS#https://127.0.0.1:}
TAPORT=${TAPORT%%/*}
ta_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$TA_PID/status"; }
r0=$(ta_rss)
rm -f "$T/taheld"
"${RAW[@]}" 127.0.0.1 "$TAPORT" "$TAD/ca.pem" hold 4 100 1048576 /token cl \
    hold "$T/taheld" >/dev/null 2>&1 &
pid=$!
skr_track "$pid"
for _ in $(seq 1800); do
	[ -s "$T/taheld" ] || ! kill -0 "$pid" 2>/dev/null && break
	sleep 0.1
done
r1=$(ta_rss)
echo "test authority: resident $r0 -> $r1 KiB; $(cat "$T/taheld" 2>/dev/null)"
check "the test authority holding 4x100 unfinished 1 MiB bodies grew by less than 32 MiB" \
    [ $(((r1 - r0) / 1024)) -lt 32 ]
kill "$pid" "$TA_PID" 2>/dev/null
wait "$pid" "$TA_PID" 2>/dev/null
export ASAN_OPTIONS="$ASAN_SAVED"

# ---- a long audit verification does not hold the loop ---------------------
# 300,000 records take seconds to verify.  On one event loop, a request on
# the same HTTP/2 connection and one on another connection are answered
# meanwhile: the bounds are a liveness check, far above their usual
# milliseconds and far below the verification's time.
# (Without glibc's malloc perturbation, which meson turns on: it makes
# the filler crawl.)
check "300,000 audit records appended" \
    env -u MALLOC_PERTURB_ "$AUDIT_FILL" "$D" 300000
skr_start --threads 1 || finish
hostport
"${RAW[@]}" "$HOST" "$PORT" "$D/ca.pem" timed "$ADMIN" /admin/audit/verify \
    /healthz 0.5 >"$T/timed.json" 2>"$T/timed.err" &
TIMED=$!
skr_track "$TIMED"
sleep 1
t0=$(date +%s%N)
api GET /healthz
t1=$(date +%s%N)
expect_status 200 "healthz on another connection while the chain is verified"
other=$(((t1 - t0) / 1000000))
wait "$TIMED"
slow=$(jq -r .slow_s "$T/timed.json")
fast=$(jq -r .fast_s "$T/timed.json")
echo "verify ${slow} s; meanwhile healthz ${fast} s on its connection," \
    "${other} ms on another"
# between LO HI X: LO < X < HI, as numbers.
between() {
	python3 -c 'import sys; lo, hi, x = map(float, sys.argv[1:]); sys.exit(not lo < x < hi)' "$@"
}
check "the verification took more than a second (${slow} s)" \
    between 1 600 "$slow"
check "healthz on the verifying connection answered meanwhile (${fast} s)" \
    between 0 "$(python3 -c "print(min(2, $slow / 4))")" "$fast"
check "healthz on another connection answered meanwhile (${other} ms)" \
    between 0 "$(python3 -c "print(min(2000, $slow * 250))")" "$other"
# A query whose filter matches nothing scans up to 100,000 records: on
# the thread pool too.
"${RAW[@]}" "$HOST" "$PORT" "$D/ca.pem" timed "$ADMIN" \
    "/admin/audit?event=none&maxresults=1000" /healthz 0.1 >"$T/query.json"
qslow=$(jq -r .slow_s "$T/query.json")
qfast=$(jq -r .fast_s "$T/query.json")
echo "filtered audit query ${qslow} s; meanwhile healthz ${qfast} s"
check "healthz answered during a filtered audit query (${qfast} s)" \
    between 0 "$(python3 -c "print($qslow / 4)")" "$qfast"
check "... which found nothing" \
    bash -c '[ "$(jq -r .slow_body "$1" | jq ".value | length")" = 0 ]' \
    _ "$T/query.json"
BODY=$(jq -r .slow_body "$T/timed.json")
expect_json .ok true "the chain verifies"
check "every record was walked" \
    [ "$(jq -r .records <<<"$BODY")" -gt 300000 ]
# One verification at a time; SIGTERM does not wait for one to finish.
curl -s -o /dev/null --cacert "$D/ca.pem" -H "Authorization: Bearer $ADMIN" \
    "$SKR_ADDR/admin/audit/verify" &
first=$!
skr_track "$first"
sleep 0.5
api GET /admin/audit/verify
expect_error 429 SKR.RATE_LIMITED "a second verification meanwhile is refused"
stop_within 20 "SIGTERM during a verification stops skrd"
wait "$first" 2>/dev/null

# ---- TLS 1.2: AEAD suites only ---------------------------------------------
# skrd's certificate has a P-256 key: the ECDSA suites are the ones it could
# otherwise negotiate.
skr_start || finish
hostport
tls12() {
	openssl s_client -connect "$HOST:$PORT" -tls1_2 -cipher "$1" \
	    -CAfile "$D/ca.pem" </dev/null >"$T/s_client.out" 2>&1
}
for c in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA \
    ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384; do
	check_not "TLS 1.2 refuses the CBC suite $c" tls12 "$c"
done
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
    ECDHE-ECDSA-CHACHA20-POLY1305; do
	check "TLS 1.2 accepts the AEAD suite $c" tls12 "$c"
done
skr_stop

# libskr offers the same suites: against a TLS 1.2 server that speaks CBC
# only, skrctl fails the handshake; against one that speaks GCM it gets
# through TLS (and then finds no skrd).
s_server() {
	local _
	openssl s_server -accept 127.0.0.1:0 -cert "$D/tls-cert.pem" \
	    -key "$D/tls-key.pem" -tls1_2 -cipher "$1" -www \
	    >"$T/s_server.log" 2>&1 &
	SPID=$!
	skr_track "$SPID"
	for _ in $(seq 100); do
		grep -q '^ACCEPT' "$T/s_server.log" && break
		sleep 0.05
	done
	SPORT=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$T/s_server.log")
}
s_server ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA
SKR_ADDR=https://127.0.0.1:$SPORT ctl status
check "skrctl refuses a CBC-only server" [ "$RC" -ne 0 ]
check "... in the TLS handshake" grep -q 'SKR.CLIENT.TLS' <<<"$ERR"
kill "$SPID"
wait "$SPID" 2>/dev/null
s_server ECDHE-ECDSA-AES128-GCM-SHA256
SKR_ADDR=https://127.0.0.1:$SPORT ctl status
check "skrctl gets through TLS with a GCM-only server" \
    bash -c '! grep -q "SKR.CLIENT.TLS" <<<"$1"' _ "$ERR"
kill "$SPID"
wait "$SPID" 2>/dev/null

finish
