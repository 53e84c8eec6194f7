# Harness for skr integration tests: source it from a bash test script.
#
# It starts the real skrd on a loopback port with a fresh data directory and
# a real TLS certificate, and talks to it with curl (raw HTTP checks) and
# skrctl (the real client).  Every check counts; `finish` prints
# "N passed, N failed" and sets the exit status.
#
#   skr_init [ARGS...]       fresh data dir in $D; admin token in $ADMIN;
#                            exports SKR_TOKEN and SKR_CACERT
#   skr_start [ARGS...]      skrd serve --data $D --listen 127.0.0.1:0 ARGS
#                            (later flags win); waits for the listening
#                            line; exports SKR_ADDR; log in $T/skrd.log
#   skr_stop                 SIGTERM, wait, expect exit status 0
#   wait_log PID FILE PAT    wait until FILE has a line matching PAT (true)
#                            or PID exits (false)
#   skr_track PID            the cleanup trap also ends PID
#   api METHOD PATH [BODY]   curl; sets $STATUS and $BODY (uses $AUTH;
#                            BODY "@file" sends a file; extra curl
#                            arguments in the array API_CURL)
#   check DESC CMD...        pass if CMD succeeds
#   check_not DESC CMD...    pass if CMD fails
#   expect_status CODE DESC  pass if $STATUS is CODE
#   expect_json FILTER VALUE DESC   pass if jq -r FILTER of $BODY is VALUE
#   ctl ARGS...              skrctl with SKR_ADDR/SKR_CACERT/SKR_TOKEN set;
#                            sets $RC and $OUT (stdout) and $ERR (stderr)
#   skip REASON              exit 77 (meson: skipped)
#   skrd_has_test_clock      true when skrd was built with -Dtest_clock=true
#                            (then SKR_TEST_NOW / SKR_TEST_CLOCK_OFFSET in
#                            its environment move its clock)
#   ta_start                 start skr-test-authority ($SKR_TEST_AUTHORITY)
#                            on a free loopback port; sets $TAD (its
#                            directory), $ISS (its issuer) and writes
#                            $T/skrd.conf trusting it through OIDC
#   etcd_start               a three-member etcd cluster on free loopback
#                            ports, data in $T/etcd; sets ETCD_ENDPOINTS
#                            (comma-separated) and ETCD_URL[1..3]; waits
#                            for quorum.  etcd_kill N [SIG] stops member N
#                            (SIGKILL by default), etcd_run N starts it
#                            again, etcd_leader prints the leader's number,
#                            etcd_healthy waits for quorum (false after 30 s)
#   replica_start N [ARGS]   skrd serve on a copy of $D ($T/rN, made on
#                            first start) on a free port, kept across
#                            restarts; sets ADDR[N] and RPID[N]; log in
#                            $T/rN.log (earlier runs' in $T/rN.old).
#                            replica_kill N [SIG] stops it
#   free_port, free_port_pair  a free loopback port; one whose successor
#                            is free too
#   finish                   summary line and exit status
set -uo pipefail

: "${SKRD:?SKRD must name the skrd binary}"
: "${SKRCTL:?SKRCTL must name the skrctl binary}"
for tool in curl jq openssl; do
	command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done

# libh2o's thread-local buffer caches (see lsan.supp) for sanitizer builds
# when a script runs outside meson.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SKR_TESTS_DIR/lsan.supp}

T=$(mktemp -d /tmp/skr-test-XXXXXX)
D=$T/data
PASSED=0
FAILED=0
SKRD_PID=
SKR_PIDS=()
AUTH=
STATUS=
BODY=

skr_cleanup() {
	local pid
	for pid in $SKRD_PID ${SKR_PIDS[@]+"${SKR_PIDS[@]}"}; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	rm -rf "$T"
}
trap skr_cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
failed() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $*" >&2
}

check() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$desc"; else failed "$desc"; fi
}

check_not() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then failed "$desc"; else pass "$desc"; fi
}

skr_track() { SKR_PIDS+=("$1"); }

skip() { echo "skipped: $*"; exit 77; }

skrd_has_test_clock() { "$SKRD" --version | grep -q 'test-clock'; }

skr_init() {
	rm -rf "$D"
	ADMIN=$("$SKRD" init --data "$D" "$@" 2>"$T/init.err") ||
		{ cat "$T/init.err" >&2; failed "skrd init"; return 1; }
	AUTH=$ADMIN
	SKR_TOKEN=$ADMIN
	SKR_CACERT=$D/ca.pem
	export SKR_TOKEN SKR_CACERT
}

# wait_log PID FILE PATTERN: until FILE has a line matching PATTERN (true)
# or PID has exited (false).  The bound (a minute, for loaded sanitizer
# builds) only keeps a wedged server from hanging the suite.
wait_log() {
	local _
	for _ in $(seq 1200); do
		grep -q "$3" "$2" && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	grep -q "$3" "$2"
}

skr_start() {
	: >"$T/skrd.log"
	"$SKRD" serve --data "$D" --listen 127.0.0.1:0 "$@" 2>"$T/skrd.log" &
	SKRD_PID=$!
	if wait_log "$SKRD_PID" "$T/skrd.log" 'skrd: listening on'; then
		SKR_ADDR=$(sed -n 's/^skrd: listening on //p' "$T/skrd.log")
		export SKR_ADDR SKR_CACERT=$D/ca.pem
		return 0
	fi
	cat "$T/skrd.log" >&2
	failed "skrd start"
	SKRD_PID=
	return 1
}

skr_stop() {
	local rc=0
	[ -n "$SKRD_PID" ] || return 0
	kill -TERM "$SKRD_PID"
	wait "$SKRD_PID" || rc=$?
	SKRD_PID=
	if [ "$rc" = 0 ]; then pass "skrd stops cleanly"; else
		failed "skrd exit status $rc on SIGTERM"
		tail -20 "$T/skrd.log" >&2
	fi
}

# api METHOD PATH [BODY [CONTENT-TYPE]]
api() {
	local method=$1 path=$2 body=${3-} ctype=${4:-application/json}
	local args=(-s -o "$T/body" -w '%{http_code}' --cacert "$D/ca.pem"
		-X "$method")
	[ -n "$AUTH" ] && args+=(-H "Authorization: Bearer $AUTH")
	if [ -n "$body" ]; then
		args+=(-H "Content-Type: $ctype" --data-binary "$body")
	fi
	STATUS=$(curl "${args[@]}" ${API_CURL[@]+"${API_CURL[@]}"} \
	    "$SKR_ADDR$path") || STATUS=000
	BODY=$(cat "$T/body" 2>/dev/null)
}

# expect_status CODE [DESC]
expect_status() {
	local desc=${2:-"status $1"}
	if [ "$STATUS" = "$1" ]; then pass "$desc"; else
		failed "$desc: status $STATUS, want $1: $BODY"
	fi
}

# expect_json FILTER VALUE [DESC], e.g. expect_json .error.code KeyNotFound
expect_json() {
	local got desc=${3:-"$1 is $2"}
	got=$(jq -r "$1" <<<"$BODY" 2>/dev/null)
	if [ "$got" = "$2" ]; then pass "$desc"; else
		failed "$desc: $1 = '$got', want '$2'"
	fi
}

# The error shape of docs/api.md with a given id.
expect_error() {
	local status=$1 id=$2 desc=$3
	if [ "$STATUS" = "$status" ] &&
		jq -e --arg id "$id" '.error.code and (.error.message | startswith($id + ": "))' \
			<<<"$BODY" >/dev/null 2>&1; then
		pass "$desc"
	else
		failed "$desc: status $STATUS body $BODY, want $status $id"
	fi
}

ctl() {
	RC=0
	OUT=$(SKR_TOKEN=$AUTH "$SKRCTL" "$@" 2>"$T/ctl.err") || RC=$?
	ERR=$(cat "$T/ctl.err")
}

expect_rc() {
	if [ "$RC" = "$1" ]; then pass "$2"; else
		failed "$2: exit $RC, want $1: $ERR"
	fi
}

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# ta_serve: start the test authority in the background on a free port;
# sets TAD (its directory), TA_PID and ISS (its issuer URL).
ta_serve() {
	local ta=${SKR_TEST_AUTHORITY:?SKR_TEST_AUTHORITY must name skr-test-authority}
	TAD=$T/authority
	"$ta" serve --dir "$TAD" --listen 127.0.0.1:0 2>"$T/ta.log" &
	TA_PID=$!
	skr_track "$TA_PID"
	ISS=
	for _ in $(seq 200); do
		ISS=$(sed -n 's/.*issuer \(https:[^ ]*\).*/\1/p' "$T/ta.log" | head -1)
		[ -n "$ISS" ] && break
		sleep 0.05
	done
	if [ -z "$ISS" ]; then failed "test authority start"; return 1; fi
}

# ta_start: a running test authority, and $T/skrd.conf trusting it.
ta_start() {
	ta_serve || return 1
	printf '[authority]\nissuer = %s\nsource = oidc\nhttps_ca = %s\n' \
		"$ISS" "$TAD/ca.pem" >"$T/skrd.conf"
}

# ta_offline: the test authority's keys and issuer without a running
# authority: its key set is written to $T/jwks.json (for a skrd that reads
# the key set from a file) and tokens are minted offline from $TAD.
ta_offline() {
	ta_serve || return 1
	kill "$TA_PID"
	wait "$TA_PID" 2>/dev/null
	"${SKR_TEST_AUTHORITY}" jwks --dir "$TAD" >"$T/jwks.json"
}

# ---- an etcd cluster and skrd replicas (test_cluster.sh) -------------------

# A loopback port nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A free loopback port whose successor is free too (swtpm's server and
# control channels).
free_port_pair() {
	python3 - <<'PY'
import socket
for _ in range(200):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    finally:
        a.close()
        b.close()
    print(p)
    break
PY
}

ETCD_PIDS=()
ETCD_URL=()
ETCD_PEER=()
ETCD_CLUSTER=
ETCD_ENDPOINTS=

# etcd_run N: start member N (1-3) of the cluster etcd_start laid out.
etcd_run() {
	local n=$1
	# Short heartbeats and elections: a lost leader is replaced in well
	# under a second, which keeps the test short.
	etcd --name "m$n" --data-dir "$T/etcd/m$n" \
		--listen-client-urls "${ETCD_URL[$n]}" \
		--advertise-client-urls "${ETCD_URL[$n]}" \
		--listen-peer-urls "${ETCD_PEER[$n]}" \
		--initial-advertise-peer-urls "${ETCD_PEER[$n]}" \
		--initial-cluster "$ETCD_CLUSTER" \
		--initial-cluster-state new \
		--initial-cluster-token "skr-test-$$" \
		--heartbeat-interval 50 --election-timeout 500 \
		>>"$T/etcd/m$n.log" 2>&1 &
	ETCD_PIDS[$n]=$!
	skr_track "$!"
}

etcd_kill() {
	local n=$1 sig=${2:-KILL} pid=${ETCD_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ETCD_PIDS[$n]=
}

# etcd_healthy: until the cluster has a leader and serves a quorum read.
etcd_healthy() {
	local _ n
	for _ in $(seq 300); do
		for n in 1 2 3; do
			[ -n "${ETCD_PIDS[$n]:-}" ] || continue
			curl -s -m 1 -X POST -d '{"key":"AA=="}' \
				"${ETCD_URL[$n]}/v3/kv/range" 2>/dev/null |
				grep -q '"revision"' && return 0
		done
		sleep 0.1
	done
	return 1
}

# etcd_leader: the number of the member that leads now.
etcd_leader() {
	local n st lead id
	for n in 1 2 3; do
		[ -n "${ETCD_PIDS[$n]:-}" ] || continue
		st=$(curl -s -m 1 -X POST -d '{}' \
			"${ETCD_URL[$n]}/v3/maintenance/status" 2>/dev/null)
		lead=$(jq -r '.leader // empty' <<<"$st" 2>/dev/null)
		id=$(jq -r '.header.member_id // empty' <<<"$st" 2>/dev/null)
		if [ -n "$lead" ] && [ "$lead" = "$id" ]; then
			echo "$n"
			return 0
		fi
	done
	return 1
}

etcd_start() {
	local n
	command -v etcd >/dev/null || { failed "etcd is not installed"; return 1; }
	mkdir -p "$T/etcd"
	for n in 1 2 3; do
		ETCD_URL[$n]=http://127.0.0.1:$(free_port)
		ETCD_PEER[$n]=http://127.0.0.1:$(free_port)
	done
	ETCD_CLUSTER="m1=${ETCD_PEER[1]},m2=${ETCD_PEER[2]},m3=${ETCD_PEER[3]}"
	ETCD_ENDPOINTS="${ETCD_URL[1]},${ETCD_URL[2]},${ETCD_URL[3]}"
	for n in 1 2 3; do etcd_run "$n"; done
	if ! etcd_healthy; then
		tail -5 "$T"/etcd/m*.log >&2
		failed "etcd cluster start"
		return 1
	fi
}

ADDR=()
RPID=()
RPORT=()

replica_start() {
	local n=$1 dir=$T/r$1
	shift
	[ -d "$dir" ] || cp -a "$D" "$dir"
	[ -n "${RPORT[$n]:-}" ] || RPORT[$n]=$(free_port)
	# What an earlier run said is kept in $T/rN.old.
	[ ! -f "$T/r$n.log" ] || cat "$T/r$n.log" >>"$T/r$n.old"
	: >"$T/r$n.log"
	"$SKRD" serve --data "$dir" --listen "127.0.0.1:${RPORT[$n]}" "$@" \
		2>"$T/r$n.log" &
	RPID[$n]=$!
	skr_track "$!"
	if wait_log "${RPID[$n]}" "$T/r$n.log" 'skrd: listening on'; then
		ADDR[$n]=$(sed -n 's/^skrd: listening on //p' "$T/r$n.log")
		return 0
	fi
	tail -20 "$T/r$n.log" >&2
	failed "replica $n start"
	return 1
}

replica_kill() {
	local n=$1 sig=${2:-KILL} pid=${RPID[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	RPID[$n]=
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
	exit $?
}
