#!/usr/bin/env bash
# Integration: operations.  Metrics after a known sequence of requests, the
# audit record of each class of operation, tamper detection in the LMDB
# file (offline and online), SIGHUP reload with good and bad
# configurations while a request is in flight, the audit file sink (its
# failure, catch-up and rotation) and standard-output sink, structured logs
# that parse and hold no secret, and sd_notify readiness.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
# Sanitizer builds: no suppression statistics in skrd's log, whose every
# line is checked below.
export LSAN_OPTIONS=$LSAN_OPTIONS:print_suppressions=0

skr_init || finish

ta_serve || finish

conf() { # conf [EXTRA LINES...]: the configuration file, audit file $AUDIT_FILE
	{
		echo "audit_file = ${AUDIT_FILE:-$T/audit.jsonl}"
		echo "audit_stdout = true"
		for l in "$@"; do echo "$l"; done
		echo "[authority]"
		echo "issuer = $ISS"
		echo "source = oidc"
		echo "https_ca = $TAD/ca.pem"
	} >"$T/skrd.conf"
}
conf

# sd_notify: a datagram socket standing in for systemd, where python3 is.
NOTIFY_LOG=$T/notify.log
if command -v python3 >/dev/null; then
	python3 - "$T/notify.sock" "$NOTIFY_LOG" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as f:
    try:
        while True:
            f.write(s.recv(4096).decode() + "\n--\n")
    except socket.timeout:
        pass
EOF
	skr_track $!
	for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
	export NOTIFY_SOCKET=$T/notify.sock
fi

skr_start --config "$T/skrd.conf" >"$T/stdout.log" || finish
unset NOTIFY_SOCKET
if [ -S "$T/notify.sock" ]; then
	for _ in $(seq 100); do grep -q READY=1 "$NOTIFY_LOG" 2>/dev/null && break; sleep 0.05; done
	check "sd_notify: READY=1 with the main pid once listening" \
		grep -q "MAINPID=$SKRD_PID" "$NOTIFY_LOG"
	check "sd_notify: STATUS names the address" grep -q "STATUS=serving on $SKR_ADDR" "$NOTIFY_LOG"
fi

# ---- material whose secrets must never show up ----------------------------
policy() {
	printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' "$ISS"
}
policy >"$T/cvm.json"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok" 2>/dev/null
"$TA" token --dir "$TAD" --tee tdx --wrapping-key "$T/tee.pem" >"$T/tdx.tok" 2>/dev/null
check "minted attestation tokens" test -s "$T/cvm.tok" -a -s "$T/tdx.tok"
head -c 32 /dev/urandom >"$T/k-oct"
KEY_HEX=$(xxd -p -c 64 "$T/k-oct")
KEY_B64U=$(b64url <"$T/k-oct")
KEY_B64=$(base64 -w0 <"$T/k-oct")
TOKEN_SIG=$(cut -d. -f3 "$T/cvm.tok")
KEYNAME=opsSecretishName

hdr_rid() { sed -n 's/^x-request-id: *\([0-9a-f]*\).*/\1/Ip' "$T/hdr" | tail -1; }

# ---- a known sequence for the metrics --------------------------------------
# (counts are exact: nothing else talks to this server)
AUTH=
api GET /healthz
api GET /healthz
api GET /keys
expect_status 401 "GET /keys without a token"
api GET /no/such/route
expect_status 404 "unmatched route"
AUTH=$ADMIN
for _ in 1 2 3; do api GET /keys; done
expect_status 200 "GET /keys"
ctl key import "$KEYNAME" --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "import an exportable oct key"
for _ in 1 2; do
	rm -f "$T/rel"
	ctl release "$KEYNAME" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel"
	expect_rc 0 "release allowed"
done
check "released bytes are the imported ones" cmp -s "$T/rel" "$T/k-oct"
rm -f "$T/rel"
ctl release "$KEYNAME" --token "$T/tdx.tok" --wrapping-key "$T/tee.pem" --out "$T/rel"
expect_rc 3 "release denied by policy"
ctl evaluate "$KEYNAME" --token "$T/cvm.tok"
expect_rc 0 "evaluate allows"

AUTH=
api GET /metrics
expect_error 401 SKR.AUTH.MISSING "GET /metrics needs a bearer token by default"
AUTH=$ADMIN
API_CURL=(-D "$T/hdr")
api GET /metrics
API_CURL=()
expect_status 200 "GET /metrics with a token"
METRICS=$BODY
MRID=$(hdr_rid)
check "text format content type" grep -qi '^content-type: text/plain; version=0.0.4' "$T/hdr"
# Every line is a comment or "name{labels} value".
BAD=$(grep -Ev '^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* |^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.]+(e[-+][0-9]+)?$' <<<"$METRICS")
check "every metrics line parses" test -z "$BAD"
[ -z "$BAD" ] || echo "$BAD" >&2
metric() { # metric 'name{labels}' -> value (exact label text)
	awk -v k="$1" 'index($0, k " ") == 1 { print $NF }' <<<"$METRICS"
}
expect_metric() { # expect_metric 'name{labels}' VALUE DESC
	local got
	got=$(metric "$1")
	if [ "$got" = "$2" ]; then pass "$3"; else failed "$3: $1 = '$got', want $2"; fi
}
REL='route="/keys/{name}/{version?}/release"'
expect_metric 'skr_http_requests_total{method="GET",route="/healthz",status="200"}' 2 "metrics: /healthz twice"
expect_metric 'skr_http_requests_total{method="GET",route="/keys",status="200"}' 3 "metrics: GET /keys 200 three times"
expect_metric 'skr_http_requests_total{method="GET",route="/keys",status="401"}' 1 "metrics: GET /keys 401 once"
expect_metric 'skr_http_requests_total{method="",route="unmatched",status="404"}' 1 "metrics: one unmatched request"
expect_metric "skr_http_requests_total{method=\"POST\",$REL,status=\"200\"}" 2 "metrics: two releases answered 200"
expect_metric "skr_http_requests_total{method=\"POST\",$REL,status=\"403\"}" 1 "metrics: one release answered 403"
expect_metric 'skr_http_requests_total{method="PUT",route="/keys/{name}",status="200"}' 1 "metrics: one import"
expect_metric "skr_http_request_duration_seconds_count{method=\"POST\",$REL}" 3 "metrics: latency histogram counts the releases"
expect_metric "skr_http_request_duration_seconds_bucket{method=\"POST\",$REL,le=\"+Inf\"}" 3 "metrics: +Inf bucket equals the count"
expect_metric "skr_release_decisions_total{operation=\"release\",outcome=\"allowed\",reason=\"\",authority=\"$ISS\",attestation_type=\"sevsnpvm\"}" 2 "metrics: two releases allowed, by authority and type"
expect_metric "skr_release_decisions_total{operation=\"release\",outcome=\"denied\",reason=\"SKR.POLICY.DENIED\",authority=\"$ISS\",attestation_type=\"tdxvm\"}" 1 "metrics: one release denied, with its reason id"
expect_metric "skr_release_decisions_total{operation=\"evaluate\",outcome=\"allowed\",reason=\"\",authority=\"$ISS\",attestation_type=\"sevsnpvm\"}" 1 "metrics: one evaluate allowed"
expect_metric 'skr_store_entries{kind="keys"}' 1 "metrics: one key in the store"
expect_metric "skr_authority_refresh_ok{authority=\"$ISS\"}" 1 "metrics: authority key set refreshed"
check "metrics: authority has keys" test "$(metric "skr_authority_keys{authority=\"$ISS\"}")" -ge 1
check "metrics: key set age is reported" test -n "$(metric "skr_authority_key_set_age_seconds{authority=\"$ISS\"}")"
check "metrics: store size is reported" test "$(metric skr_store_used_bytes)" -gt 0
# Three releases and one evaluate: four attempt records, in one or more
# group commits.
check "metrics: audit group commits and their records" awk \
	-v c="$(metric skr_audit_group_commits_total)" \
	-v r="$(metric skr_audit_group_commit_records_total)" \
	'BEGIN { exit !(c >= 1 && r >= 4 && r >= c) }'
# Each of those commits timed: the histogram counts them all, over no time.
check "metrics: group commits timed" awk \
	-v c="$(metric skr_audit_group_commits_total)" \
	-v n="$(metric skr_audit_group_commit_duration_seconds_count)" \
	-v i="$(metric 'skr_audit_group_commit_duration_seconds_bucket{le="+Inf"}')" \
	-v s="$(metric skr_audit_group_commit_duration_seconds_sum)" \
	'BEGIN { exit !(c >= 1 && n == c && i == c && s > 0) }'
# One key, one policy: parsed once for the four attempts, then found.
expect_metric 'skr_policy_cache_lookups_total{result="miss"}' 1 "metrics: the key's policy parsed once"
expect_metric 'skr_policy_cache_lookups_total{result="hit"}' 3 "metrics: ... and found for the other attempts"
# The token checked four times under one authority key: one set-up of the
# verification, copied after; the signings and wraps add their own.
check "metrics: prepared operations set up once, then copied" awk \
	-v h="$(metric 'skr_prepared_operations_total{result="hit"}')" \
	-v m="$(metric 'skr_prepared_operations_total{result="miss"}')" \
	'BEGIN { exit !(m >= 1 && h >= 3) }'
check "metrics: open connections (this one at least)" test "$(metric skr_http_connections_open)" -ge 1
expect_metric 'skr_audit_sink_up{sink="file"}' 1 "metrics: audit file sink up"
expect_metric 'skr_audit_sink_up{sink="stdout"}' 1 "metrics: stdout sink up"
check_not "metrics carry no key names" grep -q "$KEYNAME" <<<"$METRICS"
check "the scrape's request id is in the log" grep -q "\"request_id\":\"$MRID\"" "$T/skrd.log"

# ---- one audit record per operation, with the fields of docs/store.md ----
AUTH=$ADMIN
API_CURL=(-D "$T/hdr")
declare -A RIDS
op() { # op EVENT METHOD PATH [BODY]: one request; remember its request id
	local ev=$1
	shift
	api "$@"
	RIDS[$ev]=$(hdr_rid)
	[ -n "${RIDS[$ev]}" ] && [ "${STATUS:0:1}" = 2 ] || failed "$ev: status $STATUS, request id '${RIDS[$ev]}': $BODY"
}
op key.create POST /keys/ops-gen/create '{"kty":"EC","crv":"P-256"}'
op key.update PATCH /keys/ops-gen '{"tags":{"team":"ops"}}'
op key.rotate POST /keys/ops-gen/rotate
op key.backup POST /keys/ops-gen/backup
BACKUP=$(jq -r .value <<<"$BODY")
op key.delete DELETE /keys/ops-gen
op key.recover POST /deletedkeys/ops-gen/recover
api DELETE /keys/ops-gen
op key.purge DELETE /deletedkeys/ops-gen
op key.restore POST /keys/restore "{\"value\":\"$BACKUP\"}"
op token.create POST /admin/tokens '{"roles":["reader"],"name":"ops-reader"}'
READER=$(jq -r '.token // .value // empty' <<<"$BODY")
READER_ID=$(jq -r '.id // empty' <<<"$BODY")
check "token created" test -n "$READER" -a -n "$READER_ID"
op token.revoke DELETE "/admin/tokens/$READER_ID"
API_CURL=()

ctl --json audit list --maxresults 1000
AUDIT=$OUT
for ev in "${!RIDS[@]}"; do
	rec=$(jq -c --arg r "${RIDS[$ev]}" '[.value[] | select(.request_id == $r)]' <<<"$AUDIT")
	check "audit: exactly one $ev record for its request" test "$(jq length <<<"$rec")" = 1
	check "audit: $ev record has event, outcome, principal, peer, key, time, seq, prev, hash" \
		jq -e --arg ev "$ev" '.[0] | .event == $ev and .outcome == "ok" and
			(.principal | test("^[0-9a-f]{32}$")) and .peer == "127.0.0.1" and
			(.time | type) == "number" and (.seq | type) == "number" and
			(.prev | test("^[0-9a-f]{64}$")) and (.hash | test("^[0-9a-f]{64}$")) and
			(if ($ev | startswith("key.")) then .key == "ops-gen" else true end)' <<<"$rec"
done
check "audit: the key's version is named on create" \
	jq -e --arg r "${RIDS[key.create]}" '.value[] | select(.request_id == $r) | .version | test("^[0-9a-f]{32}$")' <<<"$AUDIT"
check "audit: releases carry iss, jti, attestation type, version and trace digest" \
	jq -e --arg k "$KEYNAME" --arg iss "$ISS" '[.value[] | select(.event == "key.release" and .outcome == "ok" and .key == $k)] |
		length == 2 and all(.iss == $iss and .attestation_type == "sevsnpvm" and (.jti | type) == "string" and
			(.version | test("^[0-9a-f]{32}$")) and (.trace_digest | test("^[0-9a-f]{64}$")) and .peer == "127.0.0.1")' <<<"$AUDIT"
check "audit: the denied release is recorded with its reason" \
	jq -e --arg k "$KEYNAME" '[.value[] | select(.event == "key.release" and .outcome == "denied" and .key == $k)] |
		length == 1 and .[0].reason == "SKR.POLICY.DENIED" and .[0].attestation_type == "tdxvm"' <<<"$AUDIT"
check "audit: the evaluate attempt is recorded" \
	jq -e --arg k "$KEYNAME" '[.value[] | select(.event == "key.evaluate" and .key == $k)] | length == 1 and .[0].principal != null' <<<"$AUDIT"
check "audit: the import is recorded" \
	jq -e --arg k "$KEYNAME" '[.value[] | select(.event == "key.import" and .key == $k)] | length == 1' <<<"$AUDIT"
check "audit: seqs run 1..N without gaps" \
	jq -e '[.value[].seq] as $s | $s == [range(1; ($s | length) + 1)]' <<<"$AUDIT"
ctl audit list --key "$KEYNAME" --outcome denied
check "audit list --key --outcome denied finds the denial" grep -q "denied" <<<"$OUT"

# ---- the audit file and standard output ---------------------------------------
HEAD=$(jq '.value | last | .seq' <<<"$AUDIT")
wait_file_seq() { # wait_file_seq FILE SEQ: until FILE's last record is SEQ
	local i
	for i in $(seq 200); do
		[ "$(tail -1 "$1" 2>/dev/null | jq -r .seq 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
check "audit file reaches the chain's head" wait_file_seq "$T/audit.jsonl" "$HEAD"
check "stdout sink reaches the chain's head" wait_file_seq "$T/stdout.log" "$HEAD"
check "audit file lines are the stored records" \
	test "$(jq -c . "$T/audit.jsonl" | tail -5 | jq -r .hash)" = "$(jq -r '.value[-5:][] | .hash' <<<"$AUDIT")"
FIRST=$(head -1 "$T/audit.jsonl" | jq .seq)
check "audit file: one line per record from start, in order" \
	test "$(jq -r .seq "$T/audit.jsonl" | tr '\n' ' ')" = "$(seq "$FIRST" "$HEAD" | tr '\n' ' ')"
check "audit file is mode 0600" test "$(stat -c %a "$T/audit.jsonl")" = 600

# Rotation: rename, SIGHUP, and the next records go to a new file.
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
kill -HUP "$SKRD_PID"
for _ in $(seq 200); do grep -q '"msg":"configuration reloaded"' "$T/skrd.log" && break; sleep 0.05; done
AUTH=$ADMIN
api POST /keys/ops-rot/create '{"kty":"oct","key_size":128}'
expect_status 200 "create after rotation"
HEAD=$((HEAD + 1))
check "rotation: the new file gets the next record" wait_file_seq "$T/audit.jsonl" "$HEAD"
check "rotation: the new file holds only new records" test "$(wc -l <"$T/audit.jsonl")" = 1
check "rotation: old and new files together are contiguous" \
	test "$(cat "$T/audit.jsonl.1" "$T/audit.jsonl" | jq -r .seq | tr '\n' ' ')" = "$(seq "$FIRST" "$HEAD" | tr '\n' ' ')"

# ---- SIGHUP reload -------------------------------------------------------------
reloads() { # reloads RESULT: count of log lines
	grep -c "\"msg\":\"configuration reload${1}" "$T/skrd.log"
}
hup_wait() { # hup_wait: SIGHUP, then wait for the next reload log line
	local before
	before=$(grep -c '"msg":"configuration reload' "$T/skrd.log")
	kill -HUP "$SKRD_PID"
	for _ in $(seq 400); do
		[ "$(grep -c '"msg":"configuration reload' "$T/skrd.log")" -gt "$before" ] && return 0
		sleep 0.05
	done
	return 1
}

# A good configuration, applied while a request is in flight on an open
# connection: the request completes on the same connection.
conf "metrics_auth = none"
mkfifo "$T/fifo"
curl -s -o "$T/inflight.out" -w '%{http_code} %{num_connects}' --cacert "$D/ca.pem" \
	-H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
	-X POST -T - "$SKR_ADDR/keys/$KEYNAME/evaluate" <"$T/fifo" >"$T/inflight.status" &
CURL_PID=$!
exec 3>"$T/fifo"
printf '{"target":"' >&3
sleep 0.2
check "reload with a good configuration" hup_wait
printf '%s"}' "$(cat "$T/cvm.tok")" >&3
exec 3>&-
wait "$CURL_PID"
check "a request in flight during the reload completes" test "$(cat "$T/inflight.status")" = "200 1"
check "the reload was applied" test "$(reloads ed)" -ge 2
AUTH=
api GET /metrics
expect_status 200 "after reload: metrics_auth = none serves /metrics without a token"
METRICS=$BODY
check "metrics count applied reloads" test "$(metric 'skr_config_reloads_total{result="applied"}')" -ge 2

# A configuration that does not parse is refused; the old one keeps serving.
cp "$T/skrd.conf" "$T/good.conf"
echo "no_such_setting = 1" >>"$T/skrd.conf"
check "reload with a bad configuration" hup_wait
check "the bad configuration is refused, naming the key" grep -q '"msg":"configuration reload refused.*no_such_setting' "$T/skrd.log"
api GET /metrics
expect_status 200 "after a refused reload the running configuration stays"
METRICS=$BODY
expect_metric 'skr_config_reloads_total{result="refused"}' 1 "metrics count the refused reload"
api GET /healthz
expect_status 200 "still serving after a refused reload"

# Authorities that cannot be loaded are refused too; releases go on.
{
	echo "metrics_auth = none"
	echo "[authority]"
	echo "issuer = https://127.0.0.1:1/nowhere"
	echo "source = $T/no-such-jwks.json"
} >"$T/skrd.conf"
check "reload with an authority that has no keys" hup_wait
check "refused: the authority has no keys" test "$(reloads ' refused')" = 2
AUTH=$ADMIN
rm -f "$T/rel"
ctl release "$KEYNAME" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel"
expect_rc 0 "releases continue with the running authorities"

# ---- audit file sink failure ---------------------------------------------------
# The file cannot be opened (its directory is missing): reported on /readyz
# and in metrics; by default releases continue.
AUDIT_FILE=$T/later/audit.jsonl
conf "metrics_auth = none"
check "reload: audit file in a missing directory" hup_wait
sink_state() { # sink_state: /readyz's file sink healthy flag once it settles
	local i
	for i in $(seq 100); do
		AUTH= api GET /readyz
		[ "$(jq -r '.audit_sinks.file.healthy | tostring' <<<"$BODY")" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
check "readyz reports the failing file sink" sink_state false
expect_status 200 "readyz stays 200 while releases continue"
AUTH=
api GET /metrics
METRICS=$BODY
expect_metric 'skr_audit_sink_up{sink="file"}' 0 "metrics: audit file sink down"
check "metrics: audit sink errors counted" test "$(metric 'skr_audit_sink_errors_total{sink="file"}')" -ge 1
AUTH=$ADMIN
rm -f "$T/rel"
ctl release "$KEYNAME" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel"
expect_rc 0 "audit_file_failure = continue (default): release goes on"

# audit_file_failure = refuse: no release while the sink fails.
conf "metrics_auth = none" "audit_file_failure = refuse"
check "reload: refuse releases while the sink fails" hup_wait
AUTH=
api POST "/keys/$KEYNAME/release" "{\"target\":\"$(cat "$T/cvm.tok")\"}"
expect_error 503 SKR.SEALED "release refused while the audit file sink fails"
api GET /readyz
expect_status 503 "readyz is 503 while releases are refused"
# The directory appears: the sink opens, catches up and releases resume.
mkdir "$T/later"
check "the file sink recovers" sink_state true
AUTH=$ADMIN
ctl --json audit list --maxresults 1000
HEAD=$(jq '.value | last | .seq' <<<"$OUT")
check "the recovered sink caught up with the chain" wait_file_seq "$T/later/audit.jsonl" "$HEAD"
check "the refused release is in the caught-up file" \
	jq -se 'map(select(.event == "key.release" and .reason == "SKR.SEALED")) | length == 1' "$T/later/audit.jsonl"
rm -f "$T/rel"
ctl release "$KEYNAME" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel"
expect_rc 0 "releases resume once the sink works"

# ---- logs: JSON lines, levels, request ids, no secrets --------------------------
skr_stop
check "skrd log: every line but the listening banner is a JSON object with time, level, msg" \
	bash -c "grep -v '^skrd: listening on ' '$T/skrd.log' | jq -e -s 'length > 10 and all(.time and (.level | IN(\"debug\",\"info\",\"warn\",\"error\")) and .msg)' >/dev/null"
check "request lines carry request ids" \
	bash -c "grep -v '^skrd: ' '$T/skrd.log' | jq -e -s '[.[] | select(.msg == \"request\")] | length > 20 and all(.request_id | test(\"^[0-9a-f]{16}$\"))' >/dev/null"
if [ -S "$T/notify.sock" ]; then
	check "sd_notify: RELOADING=1 then READY=1 around each reload" grep -q 'RELOADING=1' "$NOTIFY_LOG"
	check "sd_notify: STOPPING=1 at shutdown" grep -q 'STOPPING=1' "$NOTIFY_LOG"
fi
for f in skrd.log stdout.log audit.jsonl audit.jsonl.1 later/audit.jsonl; do
	for secret in "$ADMIN" "$READER" "$TOKEN_SIG" "$KEY_HEX" "$KEY_B64U" "$KEY_B64"; do
		if [ -n "$secret" ] && grep -qF -- "$secret" "$T/$f"; then
			failed "$f holds a secret (${secret:0:6}...)"
		fi
	done
	pass "$f holds no admin token, bearer token, attestation token or key bytes"
done
for secret in "$ADMIN" "$READER" "$TOKEN_SIG" "$KEY_HEX" "$KEY_B64U" "$KEY_B64"; do
	if [ -n "$secret" ] && grep -qF -- "$secret" <<<"$AUDIT"; then
		failed "the audit chain holds a secret (${secret:0:6}...)"
	fi
done
pass "the whole audit chain holds no token or key bytes"

# ---- tamper detection in the LMDB file (server stopped) ------------------------
ctl audit verify --data "$D"
expect_rc 0 "offline verify of the intact chain"
check "offline verify says ok" grep -q "audit chain ok" <<<"$OUT"
ctl --json audit verify --data "$D"
check "offline verify --json: ok, a count, no broken record" \
	jq -e '.ok == true and .records > 0 and .first_broken == null' <<<"$OUT"
RID=${RIDS[key.update]}
SEQ=$(jq -r --arg r "$RID" '.value[] | select(.request_id == $r) | .seq' <<<"$AUDIT")
# Same length, still valid JSON: only the hash can tell.  LMDB may keep
# stale copies of a page; change every copy.
perl -0777 -pi -e "s/$RID/0123456789abcdef/g" "$D/skr.mdb"
check "the record's bytes were changed in the file" grep -q 0123456789abcdef "$D/skr.mdb"
ctl --json audit verify --data "$D"
expect_rc 1 "offline verify fails on the tampered store"
check "offline verify names the tampered record ($SEQ)" test "$(jq -r .first_broken <<<"$OUT")" = "$SEQ"
ctl audit verify --data "$D"
check "offline verify's human output names it" grep -q "BROKEN at record $SEQ" <<<"$OUT"
skr_start --config "$T/good.conf" >/dev/null || finish
AUTH=$ADMIN
ctl --json audit verify
expect_rc 1 "online verify fails on the tampered store"
check "online verify names the tampered record ($SEQ)" test "$(jq -r .first_broken <<<"$OUT")" = "$SEQ"
skr_stop

finish
