#!/usr/bin/env bash
# Integration: `skrd --dev`, the main job of the README's first command.
# It must come up on its own (temporary store, certificates, an in-process
# test authority), print what a newcomer needs, let skrctl mint a token and
# do a real release that unwraps to the key skrd holds, deny what the policy
# does not allow, keep a verifiable audit chain, refuse to mint tokens when
# not in dev mode, and remove its data directory when it stops.
. "$SKR_TESTS_DIR/lib.sh"

# POST /dev/token mints tokens the server trusts: dev mode serves this
# machine only, and says so with a usage error before anything starts.
for addr in 0.0.0.0:0 "[::]:0" 192.0.2.1:0; do
	rc=0
	timeout 20 "$SKRD" --dev --listen "$addr" >"$T/nodev.log" 2>&1 || rc=$?
	check "--dev --listen $addr is refused (exit 2)" [ "$rc" = 2 ]
	check "... saying why" grep -q 'only loopback' "$T/nodev.log"
	check_not "... before serving" grep -q 'listening on' "$T/nodev.log"
done

"$SKRD" --dev --listen 127.0.0.1:0 2>"$T/dev.log" &
SKRD_PID=$!
wait_log "$SKRD_PID" "$T/dev.log" 'export SKR_ADDR='
check "the banner says development mode" grep -q 'DEVELOPMENT MODE' "$T/dev.log"
line=$(grep -o 'export SKR_ADDR=.*' "$T/dev.log")
check "the banner has an export line" test -n "$line"
[ -n "$line" ] || { cat "$T/dev.log" >&2; finish; }
eval "$line"
export SKR_ADDR SKR_CACERT SKR_TOKEN
AUTH=$SKR_TOKEN
DEVDIR=$(dirname "$SKR_CACERT")
check "its data directory exists while it runs" test -f "$DEVDIR/skr.mdb"
check "... and is private (0700)" test "$(stat -c %a "$DEVDIR")" = 700

ctl status
expect_rc 0 "status against the dev server"
printf '{"version":"1.0.0","anyOf":[{"authority":"https://skr-test-attestation.invalid/dev","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	>"$T/policy.json"
ctl key create disk --kty RSA --size 2048 --exportable --policy "$T/policy.json"
expect_rc 0 "create an exportable RSA key with a CVM policy"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
ctl dev token --tee sevsnp --wrapping-key "$T/tee.pem" --out "$T/cvm.tok"
expect_rc 0 "skrctl dev token mints an SEV-SNP token"
ctl release disk --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/disk.pem"
expect_rc 0 "the release succeeds"
ctl key show disk --json
unb64url() { # base64url on stdin to upper-case hex
	local s
	s=$(tr '_-' '/+')
	while [ $((${#s} % 4)) != 0 ]; do s="$s="; done
	printf '%s' "$s" | base64 -d | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F
}
N_SERVER=$(jq -r .key.n <<<"$OUT" | unb64url)
N_RELEASED=$(openssl rsa -in "$T/disk.pem" -noout -modulus 2>/dev/null | cut -d= -f2)
check "the released private key is the key skrd holds" test -n "$N_SERVER" -a "$N_SERVER" = "$N_RELEASED"
ctl dev token --tee tdx --wrapping-key "$T/tee.pem" --out "$T/tdx.tok"
ctl release disk --token "$T/tdx.tok" --wrapping-key "$T/tee.pem" --out "$T/denied.pem"
expect_rc 3 "a TDX token is denied (exit 3)"
check "... and nothing is written" test ! -e "$T/denied.pem"
ctl audit verify
expect_rc 0 "the audit chain verifies"

kill -TERM "$SKRD_PID"
rc=0
wait "$SKRD_PID" || rc=$?
SKRD_PID=
check "skrd --dev stops cleanly on SIGTERM" test "$rc" = 0
check "... and removes its data directory" test ! -e "$DEVDIR"

# Minting tokens is dev mode only.
skr_init || finish
skr_start || finish
API_CURL=()
AUTH=
api POST /dev/token '{"tee":"sevsnp"}'
check "POST /dev/token outside dev mode is not served ($STATUS)" test "$STATUS" = 404
skr_stop
finish
