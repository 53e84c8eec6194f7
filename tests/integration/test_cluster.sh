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

# ---- one audit chain, verifiable from any replica ---------------------------
for n in 1 2 3; do
	at "${ADDR[$n]}" audit verify
	expect_rc 0 "the audit chain verifies on replica $n"
done

finish
