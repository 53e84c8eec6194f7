#!/usr/bin/env bash
# Integration: skrd seal-migrate (docs/sealing.md, "Moving to another
# seal") along file -> pkcs11 -> shamir -> tpm2 with a real SoftHSM2 token
# and swtpm: after each move every key releases the bytes it was imported
# with; moving to the seal already in use is refused; a SIGKILL at each
# step of a move (test-clock builds, SKR_TEST_CRASH) leaves the old seal
# working before the commit and the new one after it, and nothing of the
# other behind.
. "$SKR_TESTS_DIR/lib.sh"
. "$SKR_TESTS_DIR/seal_lib.sh"

rel_setup || finish
PIN=skr-pin-4411
hsm_init "$T/hsm" skr-m "$PIN"
printf '%s\n' "$PIN" >"$T/pin"
tpm_start tpm || finish
P11=(--pkcs11-module "$SOFTHSM_MODULE" --pkcs11-token skr-m --pkcs11-pin-file "$T/pin")

migrate() { # migrate ARGS...: sets RC; stdout in $T/mig.out
	RC=0
	"$SKRD" seal-migrate --data "$D" "$@" >"$T/mig.out" 2>"$T/mig.err" || RC=$?
}
serves_same() { # serves_same DESC
	skr_start --config "$T/skrd.conf" || return 1
	keys_same "$1"
	skr_stop
}
seal_type() { if [ -e "$D/seal.json" ]; then jq -r .type "$D/seal.json"; else echo file; fi; }
# Only the settings, the blob they name and the store's own files remain.
no_leftovers() {
	local blob extra
	blob=$(jq -r .blob "$D/seal.json" 2>/dev/null || echo master.key)
	extra=$(cd "$D" && ls | grep -E '^(keyring-|master\.key$|seal\.json\.tmp$)' | grep -vxF "$blob")
	if [ -z "$extra" ]; then pass "$1"; else failed "$1: $extra"; fi
}

skr_init || finish
skr_start --config "$T/skrd.conf" || finish
keys_make
keys_same "file seal: every key releases its bytes"
skr_stop

migrate --to file
check "to the seal in use: refused" test "$RC" = 1
check "to the seal in use: SKR.SEAL.SAME" grep -q SKR.SEAL.SAME "$T/mig.err"
migrate --to shamir --shares 2
check "bad options: usage error" test "$RC" = 2

if skrd_has_test_clock; then
	for point in seal:blob-written seal:settings-written; do
		SKR_TEST_CRASH=$point migrate --to pkcs11 "${P11[@]}"
		check "killed at $point" test "$RC" = 137
		check "killed at $point: still the file seal" test "$(seal_type)" = file
		serves_same "killed at $point: the old seal opens the store"
		no_leftovers "killed at $point: what the move left is cleaned up"
	done
fi
migrate --to pkcs11 "${P11[@]}"
check "file -> pkcs11" test "$RC" = 0
check "file -> pkcs11: seal.json says pkcs11" test "$(seal_type)" = pkcs11
check "file -> pkcs11: master.key is gone" test ! -e "$D/master.key"
no_leftovers "file -> pkcs11: only the new blob"
serves_same "after file -> pkcs11 every key releases the same bytes"
migrate --to pkcs11 "${P11[@]}"
check "pkcs11 -> the same token and key: SKR.SEAL.SAME" grep -q SKR.SEAL.SAME "$T/mig.err"
migrate --to pkcs11 "${P11[@]}" --pkcs11-key skr-second-wrap
check "pkcs11 -> another key on the same token (one module twice)" test "$RC" = 0
serves_same "after pkcs11 -> pkcs11 every key releases the same bytes"

if skrd_has_test_clock; then
	SKR_TEST_CRASH=seal:committed migrate --to shamir --shares 5 --threshold 3
	check "killed right after the commit" test "$RC" = 137
	check "killed after the commit: the new seal is in force" test "$(seal_type)" = shamir
	check "killed after the commit: the shares were shown before it" test \
		"$(grep -c '^share [1-5]/5: ' "$T/mig.out")" = 5
	cp "$T/mig.out" "$T/shamir.out"
	skr_start --config "$T/skrd.conf" || finish
	for i in 1 2 3; do
		ctl unseal <<<"$(sed -n "s|^share $i/5: ||p" "$T/shamir.out")"
	done
	keys_same "killed after the commit: the shown shares unseal, same bytes"
	skr_stop
	no_leftovers "killed after the commit: the old blob is cleaned up at the next open"
else
	migrate --to shamir --shares 5 --threshold 3
	check "pkcs11 -> shamir" test "$RC" = 0
	cp "$T/mig.out" "$T/shamir.out"
	skr_start --config "$T/skrd.conf" || finish
	for i in 1 2 3; do
		ctl unseal <<<"$(sed -n "s|^share $i/5: ||p" "$T/shamir.out")"
	done
	keys_same "after pkcs11 -> shamir every key releases the same bytes"
	skr_stop
fi
check "shamir: the shares were printed once each" test \
	"$(grep -cE '^share [1-5]/5: skrs1-[A-Za-z0-9_-]+$' "$T/shamir.out")" = 5

# From Shamir the shares come on standard input; a wrong one is refused
# and does not count.
{ echo "not-a-share"; for i in 2 4 5; do sed -n "s|^share $i/5: ||p" "$T/shamir.out"; done; } >"$T/in"
RC=0
"$SKRD" seal-migrate --data "$D" --to tpm2 --tcti "$TCTI_tpm" --tpm-pcrs sha256:0 \
	<"$T/in" >"$T/mig.out" 2>"$T/mig.err" || RC=$?
check "shamir -> tpm2" test "$RC" = 0
check "shamir -> tpm2: the wrong share was refused" grep -q SKR.SHARE.MALFORMED "$T/mig.err"
check "shamir -> tpm2: seal.json says tpm2" test "$(seal_type)" = tpm2
no_leftovers "shamir -> tpm2: only the new blob"
serves_same "after file -> pkcs11 -> shamir -> tpm2 every key releases the same bytes"
migrate --to tpm2 --tcti "$TCTI_tpm" --tpm-pcrs sha256:0
check "tpm2 -> the same TPM and PCRs: SKR.SEAL.SAME" grep -q SKR.SEAL.SAME "$T/mig.err"
# Too few shares: nothing changes.
init_seal --seal shamir --shares 3 --threshold 2 || finish
sed -n 's|^share 1/3: ||p' "$T/shares" >"$T/in"
migrate --to file <"$T/in"
check "too few shares: refused" test "$RC" = 1
check "too few shares: still shamir" test "$(seal_type)" = shamir
finish
