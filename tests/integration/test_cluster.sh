#!/usr/bin/env bash
# Integration: skrd replicas over a real three-member etcd cluster
# (docs/availability.md).  Three skrd serve copies of one data directory;
# writes on one replica are honoured by the next request to another, a
# server nonce is used once across replicas, a release/import storm goes
# on while a replica and then the etcd leader are killed, quorum is lost
# and comes back without restarting skrd, and skrctl with a list of
# addresses keeps releasing while a replica is down.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}

etcd_start || finish
skr_init --store etcd --etcd-endpoints "$ETCD_ENDPOINTS" --etcd-prefix "test-$$/" ||
	finish
check "init records the etcd settings in store.json" \
	jq -e '.backend == "etcd" and (.etcd.endpoints | length) == 3' "$D/store.json"
check "init writes no LMDB file" test ! -e "$D/skr.mdb"

ta_start || finish
{ printf 'nonce_ttl = 60\nrelease_limit = 0\n'; cat "$T/skrd.conf"; } >"$T/skrd.conf.new"
mv "$T/skrd.conf.new" "$T/skrd.conf"
for n in 1 2 3; do replica_start "$n" --config "$T/skrd.conf" || finish; done
A=${ADDR[1]} B=${ADDR[2]} C=${ADDR[3]}

policy() { # policy TYPE [extra top-level JSON members]
	printf '{"version":"1.0.0",%s"anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"%s"}]}]}' "${2:-}" "$ISS" "$1"
}
policy sevsnpvm >"$T/cvm.json"
policy tdxvm >"$T/tdx.json"
policy sevsnpvm '"requireServerNonce":true,' >"$T/cvm-nonce.json"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok"

# at ADDR ctl ARGS...: skrctl against one replica.
at() {
	local addr=$1
	shift
	SKR_ADDR=$addr ctl "$@"
}
release_at() { # release_at ADDR NAME OUT [ARGS...]
	local addr=$1 name=$2 out=$3
	shift 3
	rm -f "$out"
	at "$addr" release "$name" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" \
		--out "$out" "$@"
}
err_is() { grep -q "$1" <<<"$ERR"; }

# ---- a write on one replica is honoured by the next request to another ----
head -c 32 /dev/urandom >"$T/k1"
at "$A" key import k1 --oct "$T/k1" --exportable --policy "$T/cvm.json"
expect_rc 0 "import on A"
release_at "$B" k1 "$T/k1.out"
expect_rc 0 "release on B at once"
check "B releases the bytes imported on A" cmp -s "$T/k1" "$T/k1.out"
at "$B" key update k1 --policy "$T/tdx.json"
expect_rc 0 "policy update on B"
release_at "$A" k1 "$T/k1.out"
expect_rc 3 "the next release on A obeys B's policy: denied"
check "denied by the policy" err_is SKR.POLICY.DENIED
at "$C" key update k1 --policy "$T/cvm.json"
at "$A" key update k1 --disable
expect_rc 0 "disable on A"
release_at "$B" k1 "$T/k1.out"
expect_rc 3 "release on B of a key disabled on A: refused"
check "refused as disabled" err_is SKR.KEY.DISABLED
at "$C" key update k1 --enable
release_at "$A" k1 "$T/k1.out"
expect_rc 0 "enabled on C, released on A"

at "$A" --json token create --role reader --name r1
RTOK=$(jq -r .token <<<"$OUT")
RID=$(jq -r .id <<<"$OUT")
SKR_ADDR=$C AUTH=$RTOK ctl key list
expect_rc 0 "a reader token made on A works on C"
at "$B" token revoke "$RID"
expect_rc 0 "revoke on B"
SKR_ADDR=$C AUTH=$RTOK ctl key list
check "the revoked token is refused on C" err_is SKR.AUTH.REVOKED
SKR_ADDR=$A AUTH=$RTOK ctl key list
check "and on A" err_is SKR.AUTH.REVOKED

# Each replica's seal holds the master key: a new generation made on one
# would strand the others, so rotation is refused on a replicated store.
at "$B" master-key rotate
expect_rc 1 "master key rotation on a replica: refused"
check "as a conflict that says why" err_is "SKR.CONFLICT.*replicated"
at "$A" --json seal-status
check "the generation stays 1" test "$(jq -r .generation <<<"$OUT")" = 1

# ---- a server nonce is used once, whichever replica sees it -----------------
at "$A" key import kn --oct "$T/k1" --exportable --policy "$T/cvm-nonce.json"
at "$A" nonce
N1=$OUT
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce "$N1" >"$T/n1.tok"
nrelease() { # nrelease ADDR
	rm -f "$T/n.out"
	SKR_ADDR=$1 ctl release kn --token "$T/n1.tok" --wrapping-key "$T/tee.pem" \
		--nonce "$N1" --out "$T/n.out"
}
nrelease "$B"
expect_rc 0 "a nonce issued by A is accepted by B"
nrelease "$A"
check "replayed on A: reused" err_is SKR.NONCE.REUSED
nrelease "$B"
check "replayed on B: reused" err_is SKR.NONCE.REUSED
nrelease "$C"
check "replayed on C: reused" err_is SKR.NONCE.REUSED

# ---- skrctl with every address keeps releasing while a replica is down ----
replica_kill 1
ok=0
for i in 1 2 3 4 5; do
	rm -f "$T/fo.out"
	SKR_ADDR="$A,$B,$C" ctl release k1 --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" \
		--out "$T/fo.out"
	if [ "$RC" = 0 ] && cmp -s "$T/k1" "$T/fo.out"; then
		ok=$((ok + 1))
	else
		echo "release through the list: $ERR" >&2
	fi
done
check "five releases through the address list with A down" test "$ok" = 5
replica_start 1 --config "$T/skrd.conf" || finish

# ---- a storm of imports and releases while replicas and etcd fail -----------
# Each worker imports keys of its own (known bytes) on one replica and
# releases each at once; what was acknowledged is written down.
mkdir -p "$T/storm"
storm_worker() { # storm_worker ID ADDR
	local id=$1 addr=$2 j=0 name
	while [ ! -e "$T/storm/stop" ]; do
		j=$((j + 1))
		name=s$id-$j
		head -c 32 /dev/urandom >"$T/storm/$name"
		if SKR_ADDR=$addr "$SKRCTL" key import "$name" --oct "$T/storm/$name" \
			--exportable --policy "$T/cvm.json" >/dev/null 2>"$T/storm/$name.ierr"; then
			echo "$name" >>"$T/storm/imported"
		else
			grep -o 'SKR\.[A-Z0-9_.]*' "$T/storm/$name.ierr" | head -1 >>"$T/storm/errors"
			continue
		fi
		if SKR_ADDR=$addr "$SKRCTL" release "$name" --token "$T/cvm.tok" \
			--wrapping-key "$T/tee.pem" --out "$T/storm/$name.out" \
			>/dev/null 2>"$T/storm/$name.rerr"; then
			if cmp -s "$T/storm/$name" "$T/storm/$name.out"; then
				echo "$name" >>"$T/storm/released"
			else
				echo "$name" >>"$T/storm/wrong"
			fi
		else
			grep -o 'SKR\.[A-Z0-9_.]*' "$T/storm/$name.rerr" | head -1 >>"$T/storm/errors"
		fi
	done
}
SKR_TOKEN=$ADMIN
WORKERS=()
for w in 1 2 3 4 5 6; do
	storm_worker "$w" "${ADDR[$(( (w - 1) % 3 + 1 ))]}" &
	WORKERS+=("$!")
	skr_track "$!"
done
sleep 3
replica_kill 2
sleep 1
replica_start 2 --config "$T/skrd.conf" || finish
sleep 2
LEADER=$(etcd_leader)
check "found the etcd leader" test -n "$LEADER"
etcd_kill "$LEADER"
sleep 2
etcd_run "$LEADER"
check "etcd has quorum again" etcd_healthy
sleep 3
touch "$T/storm/stop"
wait "${WORKERS[@]}"
IMPORTED=$(sort -u "$T/storm/imported" 2>/dev/null | wc -l)
echo "storm: $IMPORTED imports, $(wc -l <"$T/storm/released" 2>/dev/null) releases acknowledged"
check "the storm acknowledged imports" test "$IMPORTED" -gt 10
check "no release gave other bytes than imported" test ! -s "$T/storm/wrong"
# A connection the kill cut is a transport error, or a TLS one when it was
# cut in the handshake; neither is an answer.
BADERR=$(grep -v -x -e SKR.STORE.UNAVAILABLE -e SKR.CLIENT.TRANSPORT \
	-e SKR.CLIENT.TLS "$T/storm/errors" 2>/dev/null | sort | uniq -c)
check "no error but SKR.STORE.UNAVAILABLE or a dropped connection: ${BADERR:-none}" \
	test -z "$BADERR"
missing=0
while read -r name; do
	release_at "${ADDR[$(( RANDOM % 3 + 1 ))]}" "$name" "$T/storm/$name.after"
	[ "$RC" = 0 ] && cmp -s "$T/storm/$name" "$T/storm/$name.after" ||
		{ missing=$((missing + 1)); echo "lost: $name: $ERR" >&2; }
done < <(sort -u "$T/storm/imported")
check "every acknowledged key is there and releases the bytes imported" test "$missing" = 0

# The whole chain, record by record.
AUTH=$ADMIN
: >"$T/records"
after=0
while :; do
	SKR_ADDR=$C api GET "/admin/audit?after=$after&maxresults=1000"
	jq -c '.value[]' <<<"$BODY" >>"$T/records"
	after=$(jq -r .next <<<"$BODY")
	[ "$after" != 0 ] && [ "$after" != null ] || break
done
SKR_ADDR=$B api GET /admin/audit/verify
expect_json .ok true "the chain verifies after the storm"
check "the chain holds every record the log lists" test \
	"$(jq -r .records <<<"$BODY")" = "$(wc -l <"$T/records")"
check "no two records of one request and event" test -z \
	"$(jq -r '[.request_id, .event, .key] | @tsv' "$T/records" | sort | uniq -d)"
dup=0 lost=0
while read -r name; do
	n=$(jq -r --arg k "$name" 'select(.event == "key.import" and .outcome == "ok" and .key == $k) | .seq' "$T/records" | wc -l)
	[ "$n" = 1 ] || { dup=$((dup + 1)); echo "$name: $n import records" >&2; }
done < <(sort -u "$T/storm/imported")
check "one import record per acknowledged import" test "$dup" = 0
while read -r name; do
	n=$(jq -r --arg k "$name" 'select(.event == "key.release" and .outcome == "ok" and .key == $k) | .seq' "$T/records" | wc -l)
	# The storm's release and the check's: two, never more.
	[ "$n" = 2 ] || { lost=$((lost + 1)); echo "$name: $n release records" >&2; }
done < <(sort -u "$T/storm/released")
check "one release record per acknowledged release" test "$lost" = 0

# ---- quorum lost: writes and releases fail closed, and resume by themselves -
AUTH=$ADMIN
SKR_ADDR=$A api GET /admin/audit/verify
BEFORE=$(jq -r .records <<<"$BODY")
etcd_kill 2 TERM
etcd_kill 3 TERM
head -c 32 /dev/urandom >"$T/q1"
at "$A" key import q1 --oct "$T/q1" --exportable --policy "$T/cvm.json"
check "no quorum: an import is refused" err_is SKR.STORE.UNAVAILABLE
release_at "$B" k1 "$T/q.out"
check "no quorum: a release is refused" err_is SKR.STORE.UNAVAILABLE
check "and nothing is released" test ! -s "$T/q.out"
API_CURL=(-D "$T/q.hdr")
SKR_ADDR=$C api GET "/keys/k1?api-version=7.4"
API_CURL=()
expect_status 200 "no quorum: the public part of a key is served from the copy"
check "and says so" grep -qi '^x-skr-store: cached' "$T/q.hdr"
SKR_ADDR=$C api GET /readyz
expect_status 503 "no quorum: not ready"
etcd_run 2
etcd_run 3
check "quorum is back" etcd_healthy
for n in 1 2 3; do
	for _ in $(seq 100); do
		SKR_ADDR=${ADDR[$n]} api GET /readyz
		[ "$STATUS" = 200 ] && break
		sleep 0.1
	done
	expect_status 200 "replica $n is ready again without a restart"
done
at "$A" key show q1
check "the refused import left no key" err_is SKR.KEY.NOT_FOUND
SKR_ADDR=$B api GET /admin/audit/verify
expect_json .ok true "the chain verifies after the outage"
expect_json .records "$BEFORE" "and the refused import and release left no record"
at "$A" key import q1 --oct "$T/q1" --exportable --policy "$T/cvm.json"
expect_rc 0 "quorum back: an import works"
release_at "$B" q1 "$T/q.out"
expect_rc 0 "and a release"
check "of the bytes imported" cmp -s "$T/q1" "$T/q.out"

# ---- what a replica says of its store ----------------------------------------
SKR_ADDR=$A api GET /metrics
metric() { awk -v m="$1" '$1 == m { print $2 }' <<<"$BODY"; }
check "metrics: the store is available" test "$(metric skr_store_available)" = 1
check "metrics: the copy's revision" test "$(metric skr_store_revision)" -gt 100
check "metrics: etcd round trips" test "$(metric skr_store_round_trips_total)" -gt 100
check "metrics: the outage was counted" test "$(metric skr_store_unavailable_total)" -ge 1
check "metrics: and its length" awk -v v="$(metric skr_store_unavailable_seconds_total)" \
	'BEGIN { exit !(v > 0) }'
check "metrics: conflicts are counted" test -n "$(metric skr_store_conflicts_total)"

# ---- moving a single-node store into the cluster -----------------------------
L=$T/lmdb
LADMIN=$("$SKRD" init --data "$L" 2>/dev/null)
"$SKRD" serve --data "$L" --listen 127.0.0.1:0 --config "$T/skrd.conf" 2>"$T/l.log" &
LPID=$!
skr_track "$LPID"
wait_log "$LPID" "$T/l.log" 'skrd: listening on'
LADDR=$(sed -n 's/^skrd: listening on //p' "$T/l.log")
lctl() { SKR_ADDR=$LADDR SKR_CACERT=$L/ca.pem AUTH=$LADMIN ctl "$@"; }
lctl key import m1 --oct "$T/k1" --exportable --policy "$T/cvm.json"
expect_rc 0 "a key in the single-node store"
lctl key create m2 --kty EC
lctl key delete m2
SKR_ADDR=$LADDR SKR_CACERT=$L/ca.pem AUTH=$LADMIN api GET "/admin/audit?maxresults=1000"
jq -c '.value[] | [.seq, .event, .hash]' <<<"$BODY" >"$T/lmdb.chain"
kill "$LPID"
wait "$LPID"
"$SKRD" init --data "$T/moved" --store etcd --etcd-endpoints "$ETCD_ENDPOINTS" \
	--etcd-prefix "moved-$$/" --master-key "$L/master.key" >/dev/null 2>&1
check "store-copy into a fresh etcd store of the same master key" \
	"$SKRD" store-copy --data "$L" --to-data "$T/moved"
check_not "store-copy into a store that has keys: refused" \
	"$SKRD" store-copy --data "$L" --to-data "$T/moved"
"$SKRD" serve --data "$T/moved" --listen 127.0.0.1:0 --config "$T/skrd.conf" 2>"$T/m.log" &
MPID=$!
skr_track "$MPID"
wait_log "$MPID" "$T/m.log" 'skrd: listening on'
MADDR=$(sed -n 's/^skrd: listening on //p' "$T/m.log")
mctl() { SKR_ADDR=$MADDR SKR_CACERT=$T/moved/ca.pem AUTH=$LADMIN ctl "$@"; }
rm -f "$T/m1.out"
mctl release m1 --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/m1.out"
expect_rc 0 "the moved key releases (with the old store's admin token)"
check "its bytes" cmp -s "$T/k1" "$T/m1.out"
mctl key deleted m2
expect_rc 0 "the deleted key moved as deleted"
SKR_ADDR=$MADDR SKR_CACERT=$T/moved/ca.pem AUTH=$LADMIN api GET "/admin/audit?maxresults=1000"
jq -c '.value[] | [.seq, .event, .hash]' <<<"$BODY" | head -n "$(wc -l <"$T/lmdb.chain")" >"$T/moved.chain"
check "the chain goes on with the same records and hashes" cmp -s "$T/lmdb.chain" "$T/moved.chain"
mctl audit verify
expect_rc 0 "and verifies"
kill "$MPID"
wait "$MPID"

# ---- one audit chain, verifiable from any replica ---------------------------
for n in 1 2 3; do
	at "${ADDR[$n]}" audit verify
	expect_rc 0 "the audit chain verifies on replica $n"
done
# Sanitizer builds: nothing any replica reported.
check_not "no sanitizer report from a replica" \
	grep -qs -e 'runtime error' -e 'Sanitizer' "$T"/r?.log "$T"/r?.old

finish
