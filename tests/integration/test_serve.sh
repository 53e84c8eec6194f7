#!/usr/bin/env bash
# Integration: skrd init and serve over real TLS on loopback, checked with
# curl and openssl: the data directory, TLS versions and ALPN, trust, health,
# the error shape, limits and timeouts, the loopback-only rule for plain
# HTTP, graceful shutdown with a request in flight, and persistence across a
# restart.
. "$SKR_TESTS_DIR/lib.sh"

# The error shape of docs/api.md with both the stable id and the Key Vault code.
expect_kv() {
	expect_error "$1" "$3" "$4"
	expect_json .error.code "$2" "$4: code $2"
}
port_of() { local u=${1##*:}; echo "${u%%/*}"; }
mode_of() { stat -c %a "$1"; }

# ---- the command line ---------------------------------------------------

rc=0; "$SKRD" --version >"$T/out" || rc=$?
check "--version exits 0" [ "$rc" -eq 0 ]
check "--version names skrd" grep -q '^skrd ' "$T/out"
rc=0; "$SKRD" --help >/dev/null || rc=$?
check "--help exits 0" [ "$rc" -eq 0 ]
for args in "" "bogus" "init" "init --data" "init --data $T/x extra" \
    "serve" "serve --bogus" "serve --data $T/x --threads many" \
    "serve --data $T/x --threads -1" "serve --data $T/x --listen"; do
	rc=0
	# shellcheck disable=SC2086
	"$SKRD" $args >/dev/null 2>&1 || rc=$?
	check "usage error exits 2: skrd $args" [ "$rc" -eq 2 ]
done

# ---- init -----------------------------------------------------------------

skr_init --name skr.example.test || finish
check "admin token printed" [ -n "$ADMIN" ]
check "the admin token is one word" bash -c '[[ $1 =~ ^[A-Za-z0-9._-]+$ ]]' \
    _ "$ADMIN"
check "the token is not on stderr" \
    bash -c '! grep -qF -- "$1" "$2"' _ "$ADMIN" "$T/init.err"
check "data directory is 0700" [ "$(mode_of "$D")" = 700 ]
for f in master.key ca-key.pem tls-key.pem release-signing-key.pem \
    release-signing-ec-key.pem; do
	check "$f is 0600" [ "$(mode_of "$D/$f")" = 600 ]
done
for f in ca.pem tls-cert.pem release-signing.pem release-signing-ec.pem; do
	check "$f exists" [ -s "$D/$f" ]
done
check "TLS certificate chains to the CA" \
    openssl verify -CAfile "$SKR_CACERT" "$D/tls-cert.pem"
check "release-signing certificate chains to the CA" \
    openssl verify -CAfile "$SKR_CACERT" "$D/release-signing.pem"
check "EC release-signing certificate chains to the CA" \
    openssl verify -CAfile "$SKR_CACERT" "$D/release-signing-ec.pem"
openssl x509 -in "$D/tls-cert.pem" -noout -ext subjectAltName \
    >"$T/san" 2>&1
for n in DNS:skr.example.test DNS:localhost 'IP Address:127.0.0.1' \
    'IP Address:0:0:0:0:0:0:0:1'; do
	check "TLS certificate names $n" grep -qF "$n" "$T/san"
done
check "release-signing key is RSA 2048" bash -c \
    'openssl x509 -in "$1" -noout -text | grep -q "Public-Key: (2048 bit)"' \
    _ "$D/release-signing.pem"
check "EC release-signing key is P-256" bash -c \
    'openssl x509 -in "$1" -noout -text | grep -q "NIST CURVE: P-256"' \
    _ "$D/release-signing-ec.pem"
rc=0; "$SKRD" init --data "$D" >"$T/out" 2>&1 || rc=$?
check "init refuses an existing store" [ "$rc" -ne 0 ]
check "the refused init says why" grep -q 'refusing' "$T/out"

# An adopted master key is copied, not moved: the same security domain.
rc=0; tok2=$("$SKRD" init --data "$T/second" --master-key "$D/master.key" \
    2>/dev/null) || rc=$?
check "init --master-key" [ "$rc" -eq 0 ]
check "init --master-key adopts the key" \
    cmp -s "$D/master.key" "$T/second/master.key"
check "adopted key is 0600" [ "$(mode_of "$T/second/master.key")" = 600 ]
check "a second store has its own admin token" [ "$tok2" != "$ADMIN" ]
check "a second store has its own CA" \
    bash -c '! cmp -s "$1/ca.pem" "$2/ca.pem"' _ "$D" "$T/second"
rc=0; "$SKRD" init --data "$T/third" --master-key "$T/nonexistent" \
    >"$T/out" 2>/dev/null || rc=$?
check "init with a missing master key file fails" [ "$rc" -ne 0 ]
check "... and prints no token" [ ! -s "$T/out" ]

# ---- serving ----------------------------------------------------------------

cat >"$T/skrd.conf" <<EOF
# skrd test configuration
header_timeout = 2
threads = 3
max_body = 1048576
EOF
check "skrd serve starts" skr_start --config "$T/skrd.conf"
PORT=$(port_of "$SKR_ADDR")
check "listening line names 127.0.0.1 and a real port" \
    bash -c '[[ $1 =~ ^https://127\.0\.0\.1:[0-9]+$ ]] && [ "$2" -gt 0 ]' \
    _ "$SKR_ADDR" "$PORT"

api GET /healthz
expect_status 200 "healthz"
expect_json .status ok
api GET /readyz
expect_status 200 "readyz once the store is open"

# TLS: versions, ALPN, trust.
v=$(curl -sS --http2 --cacert "$SKR_CACERT" -o /dev/null \
    -w '%{http_version}' "$SKR_ADDR/healthz" 2>/dev/null)
check "HTTP/2 by ALPN (got $v)" [ "$v" = 2 ]
v=$(curl -sS --http1.1 --cacert "$SKR_CACERT" -o /dev/null \
    -w '%{http_version}' "$SKR_ADDR/healthz" 2>/dev/null)
check "HTTP/1.1 (got $v)" [ "$v" = 1.1 ]
openssl s_client -connect "127.0.0.1:$PORT" -alpn h2,http/1.1 \
    -CAfile "$SKR_CACERT" </dev/null >"$T/s_client" 2>&1
check "openssl: ALPN selects h2" grep -q 'ALPN protocol: h2' "$T/s_client"
check "openssl: TLS 1.3 preferred" grep -q 'TLSv1.3' "$T/s_client"
check "openssl: chain verifies against the CA" \
    grep -q 'Verify return code: 0' "$T/s_client"
openssl s_client -connect "127.0.0.1:$PORT" -alpn http/1.1 \
    </dev/null >"$T/s_client" 2>&1
check "openssl: ALPN http/1.1 when only that is offered" \
    grep -q 'ALPN protocol: http/1.1' "$T/s_client"
check "TLS 1.2 accepted" curl -sS -o /dev/null --tlsv1.2 --tls-max 1.2 \
    --cacert "$SKR_CACERT" "$SKR_ADDR/healthz"
# The clients are told to allow TLS 1.1 (OpenSSL 3 refuses it at its
# default security level), so the refusal is the server's.
check_not "TLS 1.1 refused (curl)" curl -sS -o /dev/null --tlsv1.1 \
    --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' --cacert "$SKR_CACERT" \
    "$SKR_ADDR/healthz"
openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 \
    -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$T/s_client" 2>&1
check "TLS 1.1 refused (openssl)" grep -q '^New, (NONE)' "$T/s_client"
check_not "TLS 1.1 not negotiated" grep -q '^New, TLSv1' "$T/s_client"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=other -keyout "$T/other.key" -out "$T/other.pem" \
    -days 1 >/dev/null 2>&1
rc=0; curl -sS -o /dev/null --cacert "$T/other.pem" "$SKR_ADDR/healthz" \
    2>/dev/null || rc=$?
check "a client trusting another CA refuses the server (curl $rc)" \
    [ "$rc" -eq 60 ]
rc=0; curl -sS -o /dev/null "https://localhost:$PORT/healthz" \
    --cacert "$SKR_CACERT" || rc=$?
check "the certificate is valid for localhost" [ "$rc" -eq 0 ]

# Request ids.
curl -sS -D "$T/h1" -o /dev/null --cacert "$SKR_CACERT" \
    "$SKR_ADDR/healthz"
curl -sS -D "$T/h2" -o /dev/null --cacert "$SKR_CACERT" \
    "$SKR_ADDR/healthz"
id1=$(sed -n 's/^x-request-id: *\([0-9a-f]*\).*/\1/p' "$T/h1")
id2=$(sed -n 's/^x-request-id: *\([0-9a-f]*\).*/\1/p' "$T/h2")
check "x-request-id on every response" [ ${#id1} -ge 16 ]
check "x-request-id differs per request" [ "$id1" != "$id2" ]
check "responses are JSON" \
    grep -qi '^content-type: application/json' "$T/h1"
check "responses are not cacheable" \
    grep -qi '^cache-control: no-store' "$T/h1"
check "the request id is logged" grep -q "\"request_id\":\"$id1\"" "$T/skrd.log"

# The error shape.
api GET /no/such/route
expect_kv 404 NotFound SKR.REQUEST.NOT_FOUND "unknown route"
api DELETE /keys
expect_kv 405 MethodNotAllowed SKR.REQUEST.METHOD "wrong method"
AUTH= api GET /keys
expect_status 401 "no bearer token"
check "the 401 carries the Key Vault challenge" \
    grep -qi '^www-authenticate: Bearer authorization=' <(curl -sS \
    -D - -o /dev/null --cacert "$SKR_CACERT" "$SKR_ADDR/keys")
AUTH=not-a-token api GET /keys
expect_json .error.code Unauthorized "a bad bearer token"

# Limits: the body.
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T/big"
printf '{"kty":"EC"}' >>"$T/big"
for proto in --http1.1 --http2; do
	API_CURL=("$proto")
	api POST /keys/big/create "@$T/big"
	API_CURL=()
	expect_kv 413 RequestTooLarge SKR.REQUEST.TOO_LARGE \
	    "body over max_body ($proto)"
done
head -c $((8 * 1048576)) /dev/zero | tr '\0' ' ' >"$T/huge"
st=$(curl -sS --http1.1 --cacert "$SKR_CACERT" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $SKR_TOKEN" --data-binary "@$T/huge" \
    "$SKR_ADDR/keys/big/create" 2>/dev/null)
check "a body far over the limit is refused ($st)" [ "$st" = 413 ]
api POST /keys/small/create '{"kty":"EC"}'
expect_status 200 "a body under the limit is served"

# Limits: headers.
big=$(head -c 20000 /dev/zero | tr '\0' a)
API_CURL=(-H "X-Big: $big")
api GET /healthz
expect_kv 431 RequestTooLarge SKR.REQUEST.TOO_LARGE "oversized headers"
hdrs=()
for i in $(seq 80); do hdrs+=(-H "X-H$i: v"); done
API_CURL=("${hdrs[@]}")
api GET /healthz
API_CURL=()
expect_kv 431 RequestTooLarge SKR.REQUEST.TOO_LARGE "too many headers"

# Timeouts: a client that sends half a request header, or never starts TLS,
# is disconnected after header_timeout (2 s here).  The 30 s bound only
# keeps a broken server from hanging the suite.
mkfifo "$T/slow"
( printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: '; exec sleep 60 ) 2>/dev/null \
    >"$T/slow" &
slow=$!
skr_track "$slow"
rc=0
timeout 30 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
    <"$T/slow" >"$T/slow.out" 2>/dev/null || rc=$?
kill "$slow" 2>/dev/null
check "half a header: disconnected by the server (rc $rc)" [ "$rc" -ne 124 ]
check "half a header: nothing was served" \
    bash -c '! grep -q "\"status\":\"ok\"" "$1"' _ "$T/slow.out"
rc=0
timeout 30 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat <&3 >/dev/null' \
    _ "$PORT" || rc=$?
check "no TLS handshake: disconnected by the server (rc $rc)" \
    [ "$rc" -ne 124 ]
api GET /healthz
expect_status 200 "still serving after the slow clients"

skr_stop

# An HTTP/2 stream whose body trickles in (a byte every half second, so
# no read ever times out) is cut once its connection has gone
# header_timeout + idle_timeout (3 s here) without a request.  The 30 s
# bound only keeps a broken server from hanging the suite.
printf 'header_timeout = 1\nidle_timeout = 2\n' >"$T/trickle.conf"
skr_start --config "$T/trickle.conf" || failed "start for the trickle test"
mkfifo "$T/trickle"
( for i in $(seq 120); do printf ' '; sleep 0.5; done ) >"$T/trickle" \
    2>/dev/null &
trickler=$!
skr_track "$trickler"
rc=0
timeout 30 curl -sS --http2 -X POST -T "$T/trickle" --cacert "$SKR_CACERT" \
    -H "Authorization: Bearer $SKR_TOKEN" -H 'Content-Type: application/json' \
    -o /dev/null "$SKR_ADDR/keys/trickle/create" 2>/dev/null || rc=$?
kill "$trickler" 2>/dev/null
check "a trickling HTTP/2 stream is cut (curl $rc)" \
    bash -c '[ "$1" -ne 0 ] && [ "$1" -ne 124 ]' _ "$rc"
check "the cut is logged" grep -q 'connection stalled' "$T/skrd.log"
api GET /healthz
expect_status 200 "still serving after the trickling client"
skr_stop
skr_start --config "$T/skrd.conf" || failed "restart with skrd.conf"

# Many requests over the loops.
ok=0
for i in $(seq 12); do
	curl -sS -o /dev/null --cacert "$SKR_CACERT" "$SKR_ADDR/healthz" &&
	    ok=$((ok + 1))
done
check "12 connections served over 3 loops" [ "$ok" -eq 12 ]

# Persistence: a key made now is there after a restart.
api POST /keys/persist/create '{"kty":"RSA","key_size":2048}'
expect_status 200 "create a key"
kid=$(jq -r .key.kid <<<"$BODY")
skr_stop
check "skrd serve restarts on the same data directory" skr_start
api GET /keys/persist
expect_status 200 "the key survived the restart"
kid2=$(jq -r .key.kid <<<"$BODY")
check "same version after restart" [ "${kid##*/}" = "${kid2##*/}" ]
api GET /admin/audit/verify
expect_status 200 "the audit chain verifies after the restart"

# Graceful shutdown: a request whose body is still arriving when SIGTERM
# comes is finished and answered, over HTTP/1.1 and HTTP/2.
for proto in --http1.1 --http2; do
	[ -n "${SKRD_PID:-}" ] || skr_start
	rm -f "$T/up"
	mkfifo "$T/up"
	curl -v -sS "$proto" -X POST -T "$T/up" --cacert "$SKR_CACERT" \
	    -H "Authorization: Bearer $SKR_TOKEN" \
	    -H 'Content-Type: application/json' \
	    -o "$T/inflight.body" -w '%{http_code}' \
	    "$SKR_ADDR/keys/inflight-${proto//[^0-9]/}/create" \
	    >"$T/inflight.status" 2>"$T/inflight.err" &
	cpid=$!
	skr_track "$cpid"
	exec 4>"$T/up"
	printf '{"kty":' >&4
	# The request line is out once curl prints it; the bound only keeps
	# a wedged client from hanging the suite.
	for i in $(seq 300); do
		grep -q '^> POST' "$T/inflight.err" && break
		sleep 0.1
	done
	kill -TERM "$SKRD_PID"
	printf '"EC"}' >&4
	exec 4>&-
	rc=0; wait "$cpid" || rc=$?
	check "in-flight request completed after SIGTERM ($proto, curl $rc)" \
	    [ "$rc" -eq 0 ]
	check "in-flight request answered 200 ($proto)" \
	    [ "$(cat "$T/inflight.status")" = 200 ]
	rc=0; wait "$SKRD_PID" || rc=$?
	SKRD_PID=
	check "skrd exited 0 after draining ($proto)" [ "$rc" -eq 0 ]
done
check_not "skrd no longer listens" curl -sS -o /dev/null \
    --cacert "$SKR_CACERT" "$SKR_ADDR/healthz"

# Idle connections still open at the shutdown deadline are cut, and skrd
# still exits 0 with the store closed cleanly.
printf 'shutdown_timeout = 1\nheader_timeout = 600\nidle_timeout = 600\n' \
    >"$T/deadline.conf"
skr_start --config "$T/deadline.conf" || failed "start for the deadline test"
PORT=$(port_of "$SKR_ADDR")
mkfifo "$T/idle.in.http" "$T/idle.in.h2"
( printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'; exec sleep 120 ) 2>/dev/null \
    >"$T/idle.in.http" &
skr_track $!
sleep 120 >"$T/idle.in.h2" 2>/dev/null &
skr_track $!
openssl s_client -quiet -alpn http/1.1 -connect "127.0.0.1:$PORT" \
    <"$T/idle.in.http" >"$T/idle.out.http" 2>/dev/null &
c1=$!
skr_track "$c1"
openssl s_client -alpn h2 -connect "127.0.0.1:$PORT" \
    <"$T/idle.in.h2" >"$T/idle.out.h2" 2>&1 &
c2=$!
skr_track "$c2"
# Both are accepted once the one answered and the other finished its
# handshake; the bound only keeps a broken server from hanging the suite.
for i in $(seq 300); do
	grep -q '"status":"ok"' "$T/idle.out.http" &&
	    grep -q 'ALPN protocol: h2' "$T/idle.out.h2" && break
	sleep 0.1
done
check "two idle connections open" grep -q 'ALPN protocol: h2' "$T/idle.out.h2"
skr_stop
check "the deadline cut the idle connections" \
    grep -q 'shutdown deadline passed' "$T/skrd.log"
# The clients end when the server closes; bounded as above.
for i in $(seq 300); do
	kill -0 "$c1" 2>/dev/null || kill -0 "$c2" 2>/dev/null || break
	sleep 0.1
done
check_not "the idle clients saw their connections closed" \
    kill -0 "$c1" "$c2"

# max_connections: with two connections open, a third is closed at once;
# once one closes, new connections are served again.
printf 'max_connections = 2\nheader_timeout = 600\n' >"$T/maxconn.conf"
skr_start --config "$T/maxconn.conf" || failed "start for max_connections"
PORT=$(port_of "$SKR_ADDR")
holders=()
for n in 1 2; do
	mkfifo "$T/hold$n.in"
	sleep 120 >"$T/hold$n.in" 2>/dev/null &
	skr_track $!
	holders+=($!)
	openssl s_client -connect "127.0.0.1:$PORT" <"$T/hold$n.in" \
	    >"$T/hold$n.out" 2>&1 &
	skr_track $!
	# Accepted once the handshake is done (bounded, as above).
	for i in $(seq 300); do
		grep -q "^New, TLS" "$T/hold$n.out" 2>/dev/null && break
		sleep 0.1
	done
done
check "two connections held open" grep -q '^New, TLS' "$T/hold2.out"
check_not "a third connection is refused" curl -sS -o /dev/null \
    --cacert "$SKR_CACERT" "$SKR_ADDR/healthz"
kill "${holders[0]}"
ok=
for i in $(seq 300); do
	if curl -sS -o /dev/null --cacert "$SKR_CACERT" "$SKR_ADDR/healthz" \
	    2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
check "served again once a connection closed" [ -n "$ok" ]
kill "${holders[1]}"
skr_stop

# The test clock: only a -Dtest_clock=true build lets SKR_TEST_NOW move
# skrd's clock; a production build ignores it.
SKR_TEST_NOW=1000000000 skr_start || failed "start with SKR_TEST_NOW"
api POST /keys/clock/create '{"kty":"EC"}'
created=$(jq -r '.attributes.created // 0' <<<"$BODY")
if skrd_has_test_clock; then
	check "test clock build: the clock starts at SKR_TEST_NOW ($created)" \
	    bash -c '[ "$1" -ge 1000000000 ] && [ "$1" -lt 1000003600 ]' \
	    _ "$created"
	check "test clock build: says so in the log" \
	    grep -q 'test clock in use' "$T/skrd.log"
else
	check "production build: SKR_TEST_NOW is ignored ($created)" \
	    bash -c '[ "$1" -ge "$2" ]' _ "$created" "$(( $(date +%s) - 3600 ))"
	check_not "production build: no test clock" \
	    grep -q 'test clock in use' "$T/skrd.log"
fi
skr_stop

# Plain HTTP: only on loopback, only when asked for.
for addr in 0.0.0.0:0 '[::]:0' 192.0.2.1:0; do
	rc=0
	timeout 30 "$SKRD" serve --data "$D" --plain-http \
	    --listen "$addr" >/dev/null 2>"$T/plain.err" || rc=$?
	check "plain HTTP refused on $addr (rc $rc)" \
	    bash -c '[ "$1" -ne 0 ] && [ "$1" -ne 124 ]' _ "$rc"
done
check "the refusal says why" grep -q 'loopback' "$T/plain.err"
check "plain HTTP serves on loopback" skr_start --plain-http
check "plain HTTP address" bash -c '[[ $1 == http://127.0.0.1:* ]]' \
    _ "$SKR_ADDR"
st=$(curl -sS -o /dev/null -w '%{http_code}' "$SKR_ADDR/healthz")
check "plain HTTP healthz ($st)" [ "$st" = 200 ]
skr_stop

# A configuration error names the line; a bad flag value is a usage error.
printf 'threads = 2\nlisten 127.0.0.1:0\n' >"$T/bad.conf"
rc=0; "$SKRD" serve --data "$D" --config "$T/bad.conf" \
    2>"$T/bad.err" || rc=$?
check "bad config file refused" [ "$rc" -ne 0 ]
check "the error names line 2" grep -q 'line 2' "$T/bad.err"

# "skrd --config FILE" serves, everything from the file (docs/skrd.md).
printf 'data = %s\nlisten = 127.0.0.1:0\n' "$D" >"$T/only.conf"
"$SKRD" --config "$T/only.conf" 2>"$T/only.log" &
ONLY_PID=$!
wait_log "$ONLY_PID" "$T/only.log" 'skrd: listening on'
ONLY_ADDR=$(sed -n 's/^skrd: listening on //p' "$T/only.log")
st=$(curl -sS --cacert "$D/ca.pem" -o /dev/null -w '%{http_code}' \
    "$ONLY_ADDR/healthz" 2>/dev/null || true)
check "skrd --config FILE serves ($st)" [ "$st" = 200 ]
kill -TERM "$ONLY_PID" 2>/dev/null
rc=0; wait "$ONLY_PID" || rc=$?
check "... and stops cleanly on SIGTERM ($rc)" [ "$rc" = 0 ]

# public_url: what key ids and the challenge name, whatever the listen
# address; one with a path or of the wrong scheme is refused at start.
printf 'public_url = https://keys.example.test:8443\n' >"$T/pub.conf"
skr_start --config "$T/pub.conf" || finish
AUTH=$ADMIN api POST /keys/pub1/create '{"kty":"oct"}'
expect_json '.key.kid | startswith("https://keys.example.test:8443/keys/pub1/")' true \
    "public_url names the key ids"
API_CURL=(-D "$T/pub.hdr")
AUTH= api GET /keys
API_CURL=()
check "... and the Key Vault challenge" \
    grep -qi 'authorization="https://keys.example.test:8443"' "$T/pub.hdr"
AUTH=$ADMIN
skr_stop
for bad in https://keys.example.test/vault http://keys.example.test https://; do
	printf 'public_url = %s\n' "$bad" >"$T/pub-bad.conf"
	rc=0; "$SKRD" serve --data "$D" --listen 127.0.0.1:0 \
	    --config "$T/pub-bad.conf" 2>"$T/pub.err" || rc=$?
	check "public_url $bad is refused at start ($rc)" [ "$rc" = 1 ]
	check "... saying why" grep -q 'public_url' "$T/pub.err"
done

# readyz is 503 while an authority has no keys.
printf '{"keys":[]}' >"$T/empty.jwks"
if skr_start --authority "https://authority.example.test=$T/empty.jwks"; then
	api GET /readyz
	expect_kv 503 ServiceUnavailable SKR.SEALED \
	    "readyz before the authority has keys"
	api GET /healthz
	expect_status 200 "healthz while not ready"
	skr_stop
else
	failed "skrd serve with an authority"
fi

finish
