#!/usr/bin/env bash
# Integration: the seals of the master key (docs/sealing.md) end to end
# with a real skrd, a real SoftHSM2 token and a real swtpm: init, serve and
# release byte-identical keys with each seal; every fault that must stop
# skrd with one line naming the cause (wrong PIN, missing module, a token
# without the key, no token, another TPM, changed PCRs, no TPM); a data
# directory copied without its seal opens nothing; the Shamir seal starts
# sealed, refuses malformed, foreign and repeated shares without counting
# them, unseals with k shares, seals again and comes up sealed after a
# restart.
. "$SKR_TESTS_DIR/lib.sh"
. "$SKR_TESTS_DIR/seal_lib.sh"

rel_setup || finish
PIN=skr-pin-7319

# ---- PKCS#11 ---------------------------------------------------------------
hsm_init "$T/hsm" skr-p "$PIN"
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
init_seal --seal pkcs11 --pkcs11-module "$SOFTHSM_MODULE" --pkcs11-token skr-p \
	--pkcs11-pin-file "$T/pin" || finish
check "pkcs11: no master.key in the data directory" test ! -e "$D/master.key"
check "pkcs11: seal.json names the seal" test "$(jq -r .type "$D/seal.json")" = pkcs11
check "pkcs11: seal.json records the mechanism" test "$(jq -r .pkcs11.mechanism "$D/seal.json")" = CKM_AES_GCM
check_not "pkcs11: the PIN is nowhere in the data directory" grep -rq "$PIN" "$D"
check "pkcs11: init made the wrapping key on the token" bash -c \
	"pkcs11-tool --module '$SOFTHSM_MODULE' --token-label skr-p --login --pin '$PIN' -O 2>/dev/null | grep -q skr-master-wrap"
skr_start --config "$T/skrd.conf" || finish
keys_make
keys_same "pkcs11: every key releases the bytes it was imported with"
skr_stop
cp -a "$D" "$T/pkcs11-data"

serve_fails "pkcs11: a wrong PIN stops skrd with one line" 'SKR.SEAL.AUTH' \
	--pkcs11-pin-file <(echo wrong-pin)
mv "$T/pin" "$T/pin.away"
serve_fails "pkcs11: no PIN at all stops skrd" 'SKR.SEAL.AUTH'
SKR_PKCS11_PIN=$PIN skr_start --config "$T/skrd.conf" && pass "pkcs11: the PIN from SKR_PKCS11_PIN"
skr_stop
mv "$T/pin.away" "$T/pin"
jq --arg m "$T/nonexistent.so" '.pkcs11.module = $m' "$D/seal.json" >"$T/s.json"
cp "$D/seal.json" "$T/seal.json.good"
cp "$T/s.json" "$D/seal.json"
serve_fails "pkcs11: a missing module stops skrd" 'SKR.SEAL.UNAVAILABLE'
cp "$T/seal.json.good" "$D/seal.json"
# Another token store: a token of the same label without the key, then
# none at all (the data directory copied to a machine without the token).
GOOD_CONF=$SOFTHSM2_CONF
hsm_init "$T/hsm2" skr-p "$PIN"
serve_fails "pkcs11: a token without the key stops skrd" 'SKR.SEAL.KEY'
hsm_init "$T/hsm3" other
serve_fails "pkcs11: copied where the token is absent, opens nothing" 'SKR.SEAL.UNAVAILABLE'
export SOFTHSM2_CONF=$GOOD_CONF
skr_start --config "$T/skrd.conf" || finish
keys_same "pkcs11: after every refusal the store still opens and releases"
# Sealed by an admin, a PKCS#11 seal reopens from its token on request.
ctl seal
expect_rc 0 "pkcs11: skrctl seal"
api GET /keys
expect_error 503 SKR.SEALED "pkcs11: sealed, key routes answer 503"
ctl unseal </dev/null
expect_rc 0 "pkcs11: skrctl unseal with no share reopens from the token"
ctl unseal <<<"skrs1-AAAA"
check "pkcs11: a share for a seal that takes none is refused" test "$RC" != 0
keys_same "pkcs11: reopened, same bytes"
skr_stop

# ---- TPM 2.0 ---------------------------------------------------------------
tpm_start tpma || finish
init_seal --seal tpm2 --tcti "$TCTI_tpma" --tpm-pcrs sha256:0,7 || finish
check "tpm2: no master.key in the data directory" test ! -e "$D/master.key"
check "tpm2: seal.json records the PCRs" test "$(jq -r .tpm2.pcrs "$D/seal.json")" = sha256:0,7
skr_start --config "$T/skrd.conf" || finish
keys_make
keys_same "tpm2: every key releases the bytes it was imported with"
skr_stop
# A reboot: power cycle and TPM2_Startup(CLEAR); the primary key comes
# from the same template, the PCRs start from the same values.
swtpm_ioctl --tcp 127.0.0.1:$((${TCTI_tpma##*port=} + 1)) -i >/dev/null
TPM2TOOLS_TCTI=$TCTI_tpma tpm2_startup -c >/dev/null 2>&1
skr_start --config "$T/skrd.conf" || finish
keys_same "tpm2: after a TPM reset the seal opens again"
skr_stop
tpm_start tpmb || finish
serve_fails "tpm2: another TPM opens nothing" 'SKR.SEAL.KEY' --tcti "$TCTI_tpmb"
tpm_stop tpmb
TPM2TOOLS_TCTI=$TCTI_tpma tpm2_pcrextend \
	7:sha256=0000000000000000000000000000000000000000000000000000000000000001
serve_fails "tpm2: a changed PCR stops skrd" 'SKR.SEAL.POLICY'
tpm_stop tpma
serve_fails "tpm2: an unreachable TPM stops skrd" 'SKR.SEAL.UNAVAILABLE'

# ---- Shamir ---------------------------------------------------------------
for bad in "--shares 17 --threshold 2" "--shares 3 --threshold 1" "--shares 2 --threshold 3" \
	"--shares 3"; do
	rc=0
	# shellcheck disable=SC2086
	"$SKRD" init --data "$T/bad" --seal shamir $bad >/dev/null 2>&1 || rc=$?
	check "shamir: init refuses $bad" test "$rc" = 2
done
init_seal --seal shamir --shares 3 --threshold 2 || finish
mv "$T/shares" "$T/foreign-shares"
FOREIGN=$(sed -n 's|^share 1/3: ||p' "$T/foreign-shares")
init_seal --seal shamir --shares 5 --threshold 3 || finish
check "shamir: five share lines of the form 'share I/5: SHARE'" test \
	"$(grep -cE '^share [1-5]/5: skrs1-[A-Za-z0-9_-]+$' "$T/init.out")" = 5
check "shamir: each share once, the token last" test "$(wc -l <"$T/init.out")" = 6
check "shamir: the data directory holds no share" bash -c \
	"! grep -rqF '$(share 1 | cut -c7-30)' '$D'"
skr_start --config "$T/skrd.conf" || finish
AUTH= api GET /healthz
expect_status 200 "sealed: /healthz answers 200"
AUTH= api GET /readyz
expect_status 503 "sealed: /readyz answers 503"
api GET /keys
expect_error 503 SKR.SEALED "sealed: key routes answer 503 SKR.SEALED"
api GET /admin/tokens
expect_error 503 SKR.SEALED "sealed: admin routes answer 503 SKR.SEALED"
api POST /keys/k/release '{"target":"x"}'
expect_error 503 SKR.SEALED "sealed: release answers 503 SKR.SEALED"
AUTH= api POST /attest/SevSnpVm '{"report":"x"}'
expect_error 503 SKR.SEALED "sealed: the attestation endpoint answers 503"
AUTH= api GET /nonce
expect_error 503 SKR.SEALED "sealed: nonces answer 503"
ctl --json seal-status
expect_rc 0 "seal-status while sealed"
check "seal-status: sealed, shamir, 3, 0" test \
	"$(jq -c '[.sealed,.type,.threshold,.progress]' <<<"$OUT")" = '[true,"shamir",3,0]'

unseal() { ctl --json unseal <<<"$1"; }
progress() { ctl --json seal-status; jq -r .progress <<<"$OUT"; }
unseal "not a share"
check "a malformed share is refused" grep -q SKR.SHARE.MALFORMED <<<"$ERR"
S1=$(share 1)
unseal "${S1%?}A"
check "a share with a changed character is refused" grep -q SKR.SHARE.MALFORMED <<<"$ERR"
unseal "$FOREIGN"
check "a share of another store is refused" grep -q SKR.SHARE.FOREIGN <<<"$ERR"
check "refused shares do not count" test "$(progress)" = 0
unseal "$S1"
expect_rc 0 "share 1 accepted"
unseal "share 1/5: $S1"
check "a repeated share is refused" grep -q SKR.SHARE.DUPLICATE <<<"$ERR"
check "a repeated share does not count twice" test "$(progress)" = 1
unseal "$(share 2)"
expect_rc 0 "share 2 accepted"
api GET /keys
expect_error 503 SKR.SEALED "still sealed with k-1 shares"
unseal "$(share 4)"
expect_rc 0 "share 4 unseals"
check "unsealed" test "$(jq -r .sealed <<<"$OUT")" = false
unseal "$(share 5)"
check "a share more than needed: not sealed" grep -q SKR.NOT_SEALED <<<"$ERR"
AUTH= api GET /readyz
expect_status 200 "unsealed: /readyz answers 200"
keys_make
keys_same "shamir: every key releases the bytes it was imported with"
ctl --json audit list --event seal.unseal
check "the unseal attempts made while sealed are in the audit log" test \
	"$(jq '[.value[] | select(.event == "seal.unseal")] | length' <<<"$OUT")" -ge 6
check "refused attempts are recorded as errors" test \
	"$(jq '[.value[] | select(.event == "seal.unseal" and .outcome == "error")] | length' <<<"$OUT")" -ge 4

# skrctl seal while releases run: each finishes with the key's bytes or
# is refused cleanly with SKR.SEALED, nothing in between.
rm -f "$T/bg.log"
(
	for i in $(seq 40); do
		if release_one k-oct "$T/bg-$i"; then
			cmp -s "$T/bg-$i" "$T/k-oct" && echo ok || echo wrong-bytes
		elif grep -q SKR.SEALED "$T/rel.err"; then echo sealed
		else echo "other: $(cat "$T/rel.err")"; fi
	done >"$T/bg.log"
) &
BG=$!
skr_track "$BG"
sleep 0.3
ctl seal
expect_rc 0 "skrctl seal"
wait "$BG"
check "releases in flight while sealing finished or were refused cleanly" \
	test "$(grep -cvE '^(ok|sealed)$' "$T/bg.log")" = 0
check "some releases ran before the seal" grep -q '^ok$' "$T/bg.log"
api GET /keys
expect_error 503 SKR.SEALED "sealed again: key routes answer 503"
ctl --json seal-status
check "sealed again: progress 0" test "$(jq -c '[.sealed,.progress]' <<<"$OUT")" = '[true,0]'
ctl seal
check "seal on a sealed server is refused" test "$RC" != 0
for i in 3 5 1; do unseal "$(share $i)"; done
keys_same "unsealed again with three other shares: same bytes"
skr_stop

# A restart comes up sealed.
skr_start --config "$T/skrd.conf" || finish
api GET /keys
expect_error 503 SKR.SEALED "after a restart the server is sealed"
# Attempts are rate limited per address.
limited=0
for _ in $(seq 12); do
	unseal garbage
	grep -q SKR.RATE_LIMITED <<<"$ERR" && limited=1
done
check "unseal attempts are rate limited" test "$limited" = 1
skr_stop
# The data directory copied without the shares opens nothing.
cp -a "$D" "$T/copy"
D_SAVE=$D
D=$T/copy
skr_start --config "$T/skrd.conf" || finish
api GET /keys
expect_error 503 SKR.SEALED "a copy without the shares opens nothing"
unseal "$FOREIGN"
check "nor with another store's shares" grep -q SKR.SHARE.FOREIGN <<<"$ERR"
skr_stop
D=$D_SAVE
finish
