#!/usr/bin/env bash
# Integration: load safety.  While 1,000 connections are held open (half of
# them slowloris requests trickling a byte a second), one address floods
# release attempts with invalid tokens and another sends oversized heads and
# bodies, a well-behaved client's releases still complete, skrd's memory
# stays bounded, the flood is rate limited with 429 and Retry-After, and
# skrd never crashes and stops cleanly.  Failed admin authentication is
# rate limited the same way.  Only completion is asserted, never timing.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
HOLD=${LOAD_CONNECTIONS:-1000}
# Longer than header_timeout below, so that held connections are cut.
SECONDS_UNDER_LOAD=${LOAD_SECONDS:-16}
command -v python3 >/dev/null || skip "no python3"
ulimit -n 8192 2>/dev/null
[ "$(ulimit -n)" -ge $((HOLD + 200)) ] || skip "open file limit $(ulimit -n) is too low for $HOLD connections"

skr_init || finish
ta_offline || finish
cat >"$T/skrd.conf" <<EOF
header_timeout = 10
release_limit = 20
release_window = 60
auth_fail_limit = 5
auth_fail_window = 60
log_level = warn
[authority]
issuer = $ISS
source = $T/jwks.json
EOF
skr_start --config "$T/skrd.conf" || finish
HOST=${SKR_ADDR#https://}
PORT=${HOST##*:}
HOST=${HOST%:*}

printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/policy.json"
ctl key create disk --kty oct --size 256 --exportable --policy "$T/policy.json"
expect_rc 0 "create the key to release"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok" 2>/dev/null
ctl release disk --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/before"
expect_rc 0 "a release before the load"

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SKRD_PID/status" 2>/dev/null || echo 0; }
RSS0=$(rss)

# ---- the attack -------------------------------------------------------------
python3 "$SKR_TESTS_DIR/load_attack.py" "$HOST" "$PORT" "$D/ca.pem" \
	"$SECONDS_UNDER_LOAD" "$HOLD" "$T/ready" >"$T/attack.json" 2>"$T/attack.err" &
ATTACK=$!
skr_track "$ATTACK"
for _ in $(seq 1200); do [ -s "$T/ready" ] || ! kill -0 "$ATTACK" 2>/dev/null && break; sleep 0.05; done
check "the attacker holds $HOLD connections at once" test "$(cat "$T/ready" 2>/dev/null || echo 0)" -ge "$HOLD"

# A well-behaved client from another address: its releases complete.
peak=$RSS0
done_ok=0
for i in 1 2 3 4 5; do
	ctl release disk --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/during-$i"
	[ "$RC" = 0 ] && cmp -s "$T/during-$i" "$T/before" && done_ok=$((done_ok + 1))
	r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
done
check "releases under load complete ($done_ok of 5, same key)" test "$done_ok" = 5
api GET /healthz
expect_status 200 "health under load"
# Failed admin authentication from a fifth address: limited, with
# Retry-After, whatever token comes next from there.
AUTH=skr_00000000000000000000000000000000_nope
API_CURL=(--interface 127.0.0.5)
for i in $(seq 6); do api GET /keys; done
expect_error 429 SKR.RATE_LIMITED "failed admin authentication is rate limited"
API_CURL=(--interface 127.0.0.5 -D "$T/headers")
AUTH=$ADMIN
api GET /keys
check "an admin token from the limited address waits too" test "$STATUS" = 429
check "with Retry-After" grep -qi '^retry-after: [1-9]' "$T/headers"
API_CURL=()
api GET /keys
expect_status 200 "the admin token from the well-behaved address works"
# Nonces are free to ask for but each is a synced write: a sixth address
# asking for more than release_limit is throttled, others are not.
AUTH=
API_CURL=(--interface 127.0.0.6 -D "$T/headers")
n200=0
for i in $(seq 22); do api GET /nonce; [ "$STATUS" = 200 ] && n200=$((n200 + 1)); done
check "nonce requests per address are limited ($n200 of 22 answered)" test "$n200" = 20
expect_error 429 SKR.RATE_LIMITED "... then 429"
check "... with Retry-After" grep -qi '^retry-after: [1-9]' "$T/headers"
API_CURL=()
api GET /nonce
expect_status 200 "another address still gets a nonce"
AUTH=$ADMIN
while kill -0 "$ATTACK" 2>/dev/null; do
	r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
	sleep 0.5
done
wait "$ATTACK"
cat "$T/attack.err" >&2

# ---- what the attacker saw ----------------------------------------------------
A=$(cat "$T/attack.json")
echo "# attack: $A"
echo "# skrd RSS: ${RSS0} kB before, ${peak} kB at the peak"
check "attack report" jq -e . <<<"$A"
check "slowloris and idle connections are cut by the header timeout" \
	test "$(jq .closed_by_server <<<"$A")" -gt 0
check "the flood got 429s" test "$(jq '.flood["429"] // 0' <<<"$A")" -gt 0
check "every 429 carried Retry-After" \
	test "$(jq '.flood["429"] // 0' <<<"$A")" = "$(jq .flood_retry_after <<<"$A")"
check "the flood's invalid tokens were never accepted" test "$(jq '.flood["200"] // 0' <<<"$A")" = 0
check "the flood got no 5xx" \
	test "$(jq '[.flood | to_entries[] | select(.key | startswith("5")) | .value] | add // 0' <<<"$A")" = 0
check "the flood was limited to release_limit attempts past the token check" \
	test "$(jq '[.flood | to_entries[] | select(.key != "429") | .value] | add // 0' <<<"$A")" -le 20
# The flood's refusals are recorded once per window, not once each.
api GET "/admin/audit?event=key.release&outcome=denied&maxresults=1000"
THROTTLED=$(jq '[.value[] | select(.reason == "SKR.RATE_LIMITED")]' <<<"$BODY")
check "the flood's first refusal has an audit record" \
	test "$(jq 'length' <<<"$THROTTLED")" -ge 1
check "... naming its peer, and no other peer" \
	test "$(jq -c '[.[].peer] | unique' <<<"$THROTTLED")" = '["127.0.0.2"]'
check "... once per window (flood 429s: $(jq '.flood["429"] // 0' <<<"$A"))" \
	test "$(jq 'length' <<<"$THROTTLED")" -le 2
check "oversized heads are refused or cut" \
	jq -e '.big_header | length == 2 and all(. == 431 or . == 400 or . == 413 or . == "closed")' <<<"$A"
check "oversized bodies are refused or cut" \
	jq -e '.big_body | length == 2 and all(. == 413 or . == "closed")' <<<"$A"
# Bounded: the held connections cost their buffers, nothing grows without
# limit.  AddressSanitizer's quarantine alone keeps 256 MiB of freed memory.
BOUND=262144
ldd "$SKRD" 2>/dev/null | grep -q libasan && BOUND=786432
check "skrd's memory stays bounded (grew $((peak - RSS0)) kB, bound $BOUND kB)" \
	test "$((peak - RSS0))" -lt "$BOUND"
check "skrd is still running" kill -0 "$SKRD_PID"

# After the load: everything still works, from the limited address too once
# its window has passed (not waited for here), and skrd stops cleanly.
ctl release disk --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/after"
expect_rc 0 "a release after the load"
AUTH=
api POST /keys/disk/release "{\"target\":\"$(cat "$T/cvm.tok")\"}" 
expect_status 200 "the well-behaved address is not limited"
skr_stop
finish
