#!/usr/bin/env bash
# Integration: the disk-key workflow (the main user story).  An administrator
# creates an oct-256 disk key with a confidential-VM policy; at "boot" the
# workload obtains an attestation token and pipes `skrctl release ... --out -`
# into cryptsetup as a key file.  A LUKS2 image formatted with the released
# key opens (--test-passphrase, no device mapper) with the key released again
# later, and refuses a different key and a denied release; so does the
# example unit for platforms without a vTPM key.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
command -v cryptsetup >/dev/null || skip "no cryptsetup"

skr_init || finish
ta_start || finish
skr_start --config "$T/skrd.conf" || finish

cat >"$T/cvm.json" <<EOF
{"version":"1.0.0","anyOf":[{"authority":"$ISS","allOf":[
 {"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"},
 {"claim":"x-ms-isolation-tee.x-ms-compliance-status","equals":"azure-compliant-cvm"}]}]}
EOF
ctl key create disk --kty oct --size 256 --exportable --policy "$T/cvm.json"
expect_rc 0 "admin creates the oct-256 disk key with a CVM policy"

# Boot 1: the VM's ephemeral wrapping key and its token; format the disk
# with the released key, which never touches a file.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/boot1.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/boot1.pem" >"$T/boot1.tok"
truncate -s 32M "$T/disk.img"
check "luksFormat with the released key piped from skrctl" bash -c "
	set -o pipefail
	SKR_TOKEN= '$SKRCTL' release disk --token '$T/boot1.tok' --wrapping-key '$T/boot1.pem' --out - |
	cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file - '$T/disk.img'"
check "the image is LUKS2" bash -c "cryptsetup luksDump '$T/disk.img' | grep -q 'Version:.*2'"

# Boot 2, later: a new wrapping key, a new token, the same disk key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/boot2.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/boot2.pem" --nonce boot-2 >"$T/boot2.tok"
check "the key released at the next boot opens the disk" bash -c "
	set -o pipefail
	SKR_TOKEN= '$SKRCTL' release disk --token '$T/boot2.tok' --wrapping-key '$T/boot2.pem' --nonce boot-2 --out - |
	cryptsetup open --test-passphrase --key-file - '$T/disk.img'"
check_not "a different key does not open it" bash -c "
	head -c 32 /dev/urandom | cryptsetup open --test-passphrase --key-file - '$T/disk.img'"

# A VM that does not satisfy the policy gets nothing to open the disk with.
"$TA" token --dir "$TAD" --tee tdx --wrapping-key "$T/boot2.pem" >"$T/tdx.tok"
RC=0
SKR_TOKEN= "$SKRCTL" release disk --token "$T/tdx.tok" --wrapping-key "$T/boot2.pem" --out - >"$T/tdx.key" 2>"$T/tdx.err" || RC=$?
expect_rc 3 "a TDX VM's release is denied (exit 3)"
check "  ... and writes no key bytes" test ! -s "$T/tdx.key"
check_not "  ... and the disk stays closed" bash -c "cryptsetup open --test-passphrase --key-file - '$T/disk.img' <'$T/tdx.key'"

# The shipped unit for platforms without a vTPM key runs the same release
# through examples/skr-disk-key (the Azure one: test_disk_tpm.sh).  Its
# attestation command gets the public key made at boot and the nonce.
. "$SKR_TESTS_DIR/disk.sh"
UNIT=$EXAMPLES/skr-disk-key-file.service
cat >"$T/attest" <<'SH'
#!/bin/bash
"$TA" token --dir "$TAD" --tee "${ATTEST_TEE:-sevsnp}" --wrapping-key "$1" ${2:+--nonce "$2"}
SH
chmod +x "$T/attest"
export TA TAD
check "the file-key unit runs skr-disk-key open file" test "$(unit_line "$UNIT" ExecStart)" = \
	"/usr/local/libexec/skr-disk-key open file"
check "  ... in a runtime directory of its own" grep -q '^RuntimeDirectory=skr-disk-key$' "$UNIT"
mkdir -m 0700 "$T/run"
ENV=(SKR_TOKEN= SKRCTL="$SKRCTL" SKR_KEY_NAME=disk SKR_DISK="$T/disk.img"
	RUNTIME_DIRECTORY="$T/run" SKR_ATTEST="$T/attest")
unit_run "$UNIT" "${ENV[@]}"
expect_rc 0 "its ExecStart releases the key and it opens the disk"
check "  ... prints no key" test -z "$OUT"
check "  ... and leaves no wrapping key behind" test -z "$(ls -A "$T/run")"
unit_run "$UNIT" "${ENV[@]}" ATTEST_TEE=tdx
expect_rc 3 "  ... a TDX VM's release is denied: skrctl's exit 3"
check "  ... and leaves no wrapping key behind either" test -z "$(ls -A "$T/run")"
skr_stop
finish
