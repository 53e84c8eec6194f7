#!/usr/bin/env bash
# Integration: master key rotation (docs/sealing.md, "Rotation") on a
# PKCS#11 seal (SoftHSM2) while a background loop releases keys: no release
# fails, the data keys move to the new generation in the background, the
# old generation leaves the seal, the events are audited and /metrics and
# seal-status show the generation; a backup made before the rotation
# restores after it.  A SIGKILL at each step of a rotation (test-clock
# builds) leaves a store that opens, finishes the rotation after the
# restart and releases the same bytes.  A Shamir seal rotates too and
# still opens with its shares.
. "$SKR_TESTS_DIR/lib.sh"
. "$SKR_TESTS_DIR/seal_lib.sh"

rel_setup || finish
PIN=skr-pin-2290
hsm_init "$T/hsm" skr-r "$PIN"
printf '%s\n' "$PIN" >"$T/pin"
init_seal --seal pkcs11 --pkcs11-module "$SOFTHSM_MODULE" --pkcs11-token skr-r \
	--pkcs11-pin-file "$T/pin" || finish
skr_start --config "$T/skrd.conf" || finish
keys_make
# Enough keys for several of the rotation's transactions.
for i in $(seq 80); do
	api PUT "/keys/bulk-$i" '{"key":{"kty":"oct","k":"'"$(head -c 32 /dev/urandom | b64url)"'","key_ops":["encrypt"]}}'
	[ "$STATUS" = 200 ] || { failed "import bulk-$i: $STATUS $BODY"; break; }
done
ctl key backup k-oct --out "$T/k-oct.backup"
expect_rc 0 "a backup before the rotation"

gen() { ctl --json seal-status; jq -r '.generation' <<<"$OUT"; }
rotating() { ctl --json seal-status; jq -e '.rotation != null' <<<"$OUT" >/dev/null; }
# wait_rotated GEN: the store is at GEN and no rotation runs.
wait_rotated() {
	local _
	for _ in $(seq 600); do
		[ "$(gen)" = "$1" ] && ! rotating && return 0
		sleep 0.1
	done
	return 1
}
# The sealed keyring cannot be read here, but its size tells how many
# generations it holds: generation 1 alone is its 32 bytes, any later one
# alone 42 (docs/sealing.md, "Generations"), two 82.
blob_size() { stat -c %s "$D/$(jq -r .blob "$D/seal.json")"; }
check "generation 1 at first" test "$(gen)" = 1
ONE_GEN_SIZE=$(($(blob_size) + 10))

# A release loop in the background, bounded in count and time.
rm -f "$T/stop" "$T/fails"
(
	n=0
	end=$((SECONDS + 120))
	while [ ! -e "$T/stop" ] && [ "$n" -lt 3000 ] && [ "$SECONDS" -lt "$end" ]; do
		if release_one k-oct "$T/bg.out" && cmp -s "$T/bg.out" "$T/k-oct"; then :; else
			echo "release $n: $(cat "$T/rel.err")" >>"$T/fails"
		fi
		n=$((n + 1))
		echo "$n" >"$T/count"
	done
) &
LOOP=$!
skr_track "$LOOP"
sleep 1
ctl --json master-key rotate
expect_rc 0 "skrctl master-key rotate"
check "the rotation names generation 2" test "$(jq -r .generation <<<"$OUT")" = 2
api GET /metrics
check "/metrics: the new generation" grep -q '^skr_master_key_generation 2' <<<"$BODY"
check "rotation finishes in the background" wait_rotated 2
sleep 1
touch "$T/stop"
wait "$LOOP"
check "the release loop ran during the rotation" test "$(cat "$T/count")" -gt 5
if [ -s "$T/fails" ]; then failed "no release failed during the rotation: $(head -3 "$T/fails")"; else
	pass "no release failed during the rotation"; fi
keys_same "after the rotation every key releases the same bytes"
check "the old generation left the seal" test "$(blob_size)" = "$ONE_GEN_SIZE"
ctl --json audit list --event master-key.rotate.start
check "audited: rotation started" test "$(jq '.value | length' <<<"$OUT")" = 1
ctl --json audit list --event master-key.rotate.finish
check "audited: rotation finished" test "$(jq '.value | length' <<<"$OUT")" = 1
check "the finish record counts the moved keys" test \
	"$(jq '.value[0].detail.moved' <<<"$OUT")" -ge 83
api GET /metrics
check "/metrics: no rotation running" grep -q '^skr_master_key_rotation_running 0' <<<"$BODY"
ctl key delete k-oct
ctl key purge k-oct
ctl key restore --in "$T/k-oct.backup"
expect_rc 0 "a backup made before the rotation restores after it"
keys_same "the restored key releases the same bytes"
skr_stop
skr_start --config "$T/skrd.conf" || finish
check "generation 2 after a restart" test "$(gen)" = 2
keys_same "after a restart every key releases the same bytes"
skr_stop

# ---- a SIGKILL at each step --------------------------------------------------
if skrd_has_test_clock; then
	want=2
	for point in rotate:sealed rotate:begun rotate:step rotate:moved rotate:dropped; do
		want=$((want + 1))
		SKR_TEST_CRASH=$point skr_start --config "$T/skrd.conf" || finish
		ctl master-key rotate
		rc=0
		wait_log "$SKRD_PID" /dev/null nothing || :
		wait "$SKRD_PID" || rc=$?
		SKRD_PID=
		check "killed at $point" test "$rc" = 137
		skr_start --config "$T/skrd.conf" || finish
		check "killed at $point: the rotation finishes after the restart" wait_rotated "$want"
		sleep 0.5
		check "killed at $point: the old generation left the seal" test "$(blob_size)" = "$ONE_GEN_SIZE"
		keys_same "killed at $point: every key releases the same bytes"
		skr_stop
	done
	ctl_events() { ctl --json audit list --event "$1" --maxresults 25; jq '.value | length' <<<"$OUT"; }
	skr_start --config "$T/skrd.conf" || finish
	check "every rotation started is audited once" test "$(ctl_events master-key.rotate.start)" = 6
	check "every rotation finished is audited once" test "$(ctl_events master-key.rotate.finish)" = 6
	skr_stop
fi

# ---- Shamir ------------------------------------------------------------------
init_seal --seal shamir --shares 3 --threshold 2 || finish
skr_start --config "$T/skrd.conf" || finish
ctl unseal <<<"$(share 1)"
ctl unseal <<<"$(share 3)"
keys_make
ctl master-key rotate
expect_rc 0 "shamir: rotate"
ctl master-key rotate
check "shamir: a second rotation while one may run is refused or starts the next" \
	test "$RC" = 0 -o -n "$(grep SKR.CONFLICT <<<"$ERR")"
check "shamir: rotation finishes" wait_rotated "$(gen)"
skr_stop
skr_start --config "$T/skrd.conf" || finish
ctl unseal <<<"$(share 2)"
ctl unseal <<<"$(share 1)"
keys_same "shamir: after rotations and a restart the same shares unseal, same bytes"
skr_stop
finish
