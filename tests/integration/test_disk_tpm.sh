#!/usr/bin/env bash
# Integration: the disk key of an Azure confidential VM
# (examples/skr-disk-key.service) against a software TPM, a real skrd and a
# LUKS2 image.  A stand-in for Azure's guest attestation sample
# (AttestationClient [-a URL] [-n NONCE] -o token) makes the vTPM's key with
# tpm2-tools and has the test authority sign a token naming its public
# half.  The image is formatted once with the key released through `skrctl
# release --tpm`; then the unit's ExecStart runs (tests/integration/disk.sh,
# unit_run) and the key it releases to the TPM must open the image, also
# after a reboot (a TPM reset: a new key, a new token) and with a server
# nonce.  No private key file is made at any step.  Refusals: a VM the
# policy does not allow (exit 3), a failed attestation, a key that does not
# open the volume (exit 1), none of them opening it.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
. "$SKR_TESTS_DIR/tpm.sh"
. "$SKR_TESTS_DIR/disk.sh"
UNIT=$EXAMPLES/skr-disk-key.service

tpm_start || finish
skr_init || finish
ta_start || finish
skr_start --config "$T/skrd.conf" || finish

cat >"$T/cvm.json" <<JSON
{"version":"1.0.0","anyOf":[{"authority":"$ISS","allOf":[
 {"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"},
 {"claim":"x-ms-isolation-tee.x-ms-compliance-status","equals":"azure-compliant-cvm"}]}]}
JSON
jq '. + {requireServerNonce: true}' "$T/cvm.json" >"$T/cvm-nonce.json"
ctl key create disk --kty oct --size 256 --exportable --policy "$T/cvm.json"
expect_rc 0 "admin creates the oct-256 disk key with a CVM policy"
ctl key create other --kty oct --size 256 --exportable --policy "$T/cvm.json"
expect_rc 0 "  ... and another key"
ctl key create disk-n --kty oct --size 256 --exportable --policy "$T/cvm-nonce.json"
expect_rc 0 "  ... and a disk key whose policy requires a server nonce"

# The attestation sample, as the unit runs it.  Like the sample, it prints
# the reason instead of a token, and exits 0, when attestation fails.
mkdir -p "$T/bin"
cat >"$T/bin/AttestationClient" <<'SH'
#!/bin/bash
nonce= out=bool
while getopts a:n:o: opt; do
	case $opt in
	a) [ "$OPTARG" = "$ISS" ] || { printf 'Attestation URL %s unknown' "$OPTARG"; exit 0; } ;;
	n) nonce=$OPTARG ;;
	o) out=$OPTARG ;;
	*) exit 1 ;;
	esac
done
[ "${out,,}" = token ] || { printf false; exit 0; }
[ -z "${ATTEST_FAIL-}" ] || { printf 'Failed to get the token: %s' "$ATTEST_FAIL"; exit 0; }
make_tpm_key "$T/attested.pem" >/dev/null 2>&1 || { printf 'TPM error'; exit 0; }
"$TA" token --dir "$TAD" --tee "${ATTEST_TEE:-sevsnp}" --wrapping-key "$T/attested.pem" \
	${nonce:+--nonce "$nonce"}
SH
chmod +x "$T/bin/AttestationClient"
export -f make_tpm_key
export T TA TAD ISS PATH="$T/bin:$PATH"

# ---- the unit --------------------------------------------------------------
check "the unit runs skr-disk-key open tpm" test "$(unit_line "$UNIT" ExecStart)" = \
	"/usr/local/libexec/skr-disk-key open tpm"
check "  ... and closes with skr-disk-key close" test "$(unit_line "$UNIT" ExecStop)" = \
	"/usr/local/libexec/skr-disk-key close"
check_not "  ... and makes no key file" bash -c "grep -v '^#' '$UNIT' | grep -qE 'wrapping-key|genpkey|RuntimeDirectory'"

# ---- first boot: the operator formats the volume once ----------------------
truncate -s 32M "$T/disk.img"
check "luksFormat with the key released to the TPM" bash -c "
	set -o pipefail
	AttestationClient -o token >'$T/boot1.tok' &&
	SKR_TOKEN= '$SKRCTL' release disk --token '$T/boot1.tok' --tpm --out - |
	cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file - '$T/disk.img'"
check "  ... the token names the TPM's key" \
	test "$(spki "$T/attested.pem")" = "$(spki <("$SKRCTL" tpm pubkey))"
check "  ... a public key: no private key file" \
	sh -c "! grep -q PRIVATE '$T/attested.pem'"

# ---- boots -----------------------------------------------------------------
mkdir -m 0700 "$T/run"
ENV=(SKR_TOKEN= SKRCTL="$SKRCTL" SKR_KEY_NAME=disk SKR_DISK="$T/disk.img"
	RUNTIME_DIRECTORY="$T/run" SKR_ATTEST="AttestationClient -a $ISS -o token")
unit_run "$UNIT" "${ENV[@]}"
expect_rc 0 "the unit's ExecStart releases the key to the TPM and it opens the volume"
check "  ... says so" grep -q "opens $T/disk.img" <<<"$ERR"
check "  ... prints no key" test -z "$OUT"
check "  ... and writes no file" test -z "$(ls -A "$T/run")"

# A reboot: the TPM's NULL seed is new, so are its key and the token.
BEFORE=$("$SKRCTL" tpm pubkey)
check "a reboot (TPM reset)" tpm_reset
check "  ... the TPM makes another key" test "$("$SKRCTL" tpm pubkey)" != "$BEFORE"
unit_run "$UNIT" "${ENV[@]}"
expect_rc 0 "  ... and the unit opens the volume again"
check "  ... with the released key" grep -q "opens $T/disk.img" <<<"$ERR"

# The default attestation command is the sample on the PATH; without -a
# it uses its own default provider, which this stand-in knows as skrd's.
unit_run "$UNIT" "${ENV[@]/#SKR_ATTEST=*/SKR_ATTEST=}"
expect_rc 0 "the default SKR_ATTEST is AttestationClient -o token"

# ---- refusals --------------------------------------------------------------
unit_run "$UNIT" "${ENV[@]}" ATTEST_TEE=tdx
expect_rc 3 "a VM the policy does not allow: skrctl's exit 3"
check "  ... skrctl says why" grep -q "^skrctl: SKR.POLICY.DENIED: " <<<"$ERR"
check "  ... and the volume was not opened" sh -c "! grep -q 'opens ' '$T/unit.err'"
check "  ... no key on standard output" test -z "$OUT"

unit_run "$UNIT" "${ENV[@]}" ATTEST_FAIL="no network"
expect_rc 1 "attestation fails (the sample prints its error and exits 0): exit 1"
check "  ... that is no token" grep -q "gave no attestation token: Failed to get the token: no network" <<<"$ERR"

unit_run "$UNIT" "${ENV[@]}" SKR_KEY_NAME=other
expect_rc 1 "a released key that does not open the volume: exit 1"
check "  ... says so" grep -q "the released key other does not open" <<<"$ERR"

unit_run "$UNIT" "${ENV[@]}" SKR_KEY_NAME=
expect_rc 2 "no SKR_KEY_NAME: exit 2"
RC=0
"$EXAMPLES/skr-disk-key" open >/dev/null 2>"$T/usage.err" || RC=$?
ERR=$(cat "$T/usage.err")
expect_rc 2 "skr-disk-key open without a mode: usage"

# ---- a server nonce --------------------------------------------------------
truncate -s 32M "$T/disk-n.img"
check "luksFormat a second volume with a key released against a server nonce" bash -c "
	set -o pipefail
	n=\$('$SKRCTL' nonce) && AttestationClient -n \"\$n\" -o token >'$T/n.tok' &&
	SKR_TOKEN= '$SKRCTL' release disk-n --token '$T/n.tok' --tpm --nonce \"\$n\" --out - |
	cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file - '$T/disk-n.img'"
NENV=("${ENV[@]}" SKR_KEY_NAME=disk-n SKR_DISK="$T/disk-n.img")
unit_run "$UNIT" "${NENV[@]}" SKR_SERVER_NONCE=1
expect_rc 0 "SKR_SERVER_NONCE=1: the token carries a fresh server nonce and the volume opens"
unit_run "$UNIT" "${NENV[@]}"
expect_rc 3 "without it, such a key is refused (exit 3)"
check "  ... SKR.NONCE.REQUIRED" grep -q "^skrctl: SKR.NONCE.REQUIRED: " <<<"$ERR"

skr_stop
finish
