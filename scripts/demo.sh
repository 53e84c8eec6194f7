#!/bin/bash
# The main job: set up, build, start `skrd --dev`, and walk through a real
# secure key release end to end -- a simulated confidential VM obtains an
# attestation token, releases a disk key wrapped to its own RSA key, and
# unwraps it -- then a denied release and the reason for it.
#
# Usage: scripts/demo.sh [--keep]   (--keep leaves the dev server running)
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
[ "${1:-}" = "--keep" ] && keep=1

sh scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

SKRD=$PWD/build/server/skrd
SKRCTL=$PWD/build/client/skrctl
work=$(mktemp -d /tmp/skr-demo-XXXXXX)
port=${SKR_DEMO_PORT:-8443}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
	if [ "$keep" = 0 ] && [ -n "${pid:-}" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

say "Starting skrd in development mode"
"$SKRD" --dev --listen "127.0.0.1:$port" 2>"$work/skrd.log" &
pid=$!
for _ in $(seq 100); do
	grep -q 'listening on' "$work/skrd.log" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/skrd.log"; exit 1; }
	sleep 0.1
done
sleep 0.2
grep -v '^{' "$work/skrd.log" | sed 's/^/  /'
eval "$(grep -o 'export SKR_ADDR=.*' "$work/skrd.log")"
export SKR_ADDR SKR_CACERT SKR_TOKEN

say "An administrator creates two disk keys with a confidential-VM release policy"
cat >"$work/cvm-policy.json" <<'EOF'
{
  "version": "1.0.0",
  "anyOf": [
    {
      "authority": "https://skr-test-attestation.invalid/dev",
      "allOf": [
        { "claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm" },
        { "claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm" },
        { "claim": "x-ms-isolation-tee.x-ms-runtime.vm-configuration.secure-boot", "equals": true }
      ]
    }
  ]
}
EOF
cat "$work/cvm-policy.json"
run "$SKRCTL" key create disk-rsa --kty RSA --size 2048 --exportable --policy "$work/cvm-policy.json"
run "$SKRCTL" key create disk-oct --kty oct --size 256 --exportable --policy "$work/cvm-policy.json"

say "Inside the (simulated) SEV-SNP confidential VM: a wrapping key that never leaves the TEE"
run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/tee-key.pem" 2>/dev/null
say "The VM obtains an attestation token naming that key (test authority)"
run "$SKRCTL" dev token --tee sevsnp --wrapping-key "$work/tee-key.pem" --out "$work/cvm.token"
payload=$(cut -d. -f2 "$work/cvm.token" | tr '_-' '/+')
while [ $((${#payload} % 4)) != 0 ]; do payload="$payload="; done
echo "token claims (excerpt):"
printf '%s' "$payload" | base64 -d | jq '{iss, "x-ms-isolation-tee": ."x-ms-isolation-tee" | {"x-ms-attestation-type", "x-ms-compliance-status"}, "wrapping key": ."x-ms-runtime".keys[0].kid}'

say "The VM releases both keys: skrd verifies the token, evaluates the policy, wraps to the TEE key"
run "$SKRCTL" release disk-rsa --token "$work/cvm.token" --wrapping-key "$work/tee-key.pem" --out "$work/disk-rsa.pem"
run "$SKRCTL" release disk-oct --token "$work/cvm.token" --wrapping-key "$work/tee-key.pem" --enc RSA_AES_KEY_WRAP_256 --out "$work/disk-oct.key"

say "The released RSA key is the one skrd created: its public part matches the key bundle"
"$SKRCTL" key show disk-rsa --json | jq -r .key.n >"$work/n.server"
openssl rsa -in "$work/disk-rsa.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '=' >"$work/n.released"
echo "modulus from skrd:     $(cut -c1-48 "$work/n.server")..."
echo "modulus from release:  $(cut -c1-48 "$work/n.released")..."
cmp -s <(tr -d '\n' <"$work/n.server") <(tr -d '\n' <"$work/n.released") && echo "MATCH"

say "The released oct key is stable: a second release with another wrapping algorithm gives the same bytes"
run "$SKRCTL" release disk-oct --token "$work/cvm.token" --wrapping-key "$work/tee-key.pem" --enc CKM_RSA_AES_KEY_WRAP --out "$work/disk-oct-2.key"
echo "sha256 first:  $(sha256sum <"$work/disk-oct.key" | cut -c1-64)"
echo "sha256 second: $(sha256sum <"$work/disk-oct-2.key" | cut -c1-64)"
cmp -s "$work/disk-oct.key" "$work/disk-oct-2.key" && echo "MATCH ($(stat -c %s "$work/disk-oct.key") bytes, file mode $(stat -c %a "$work/disk-oct.key"))"

say "A TDX VM is not what the policy allows: the release is denied, with the reason"
"$SKRCTL" dev token --tee tdx --wrapping-key "$work/tee-key.pem" --out "$work/tdx.token"
set +e
printf '$ %s\n' "skrctl release disk-oct --token tdx.token ..."
"$SKRCTL" release disk-oct --token "$work/tdx.token" --wrapping-key "$work/tee-key.pem" --out "$work/denied.key"
echo "exit status $? (3 = denied)"
set -e
say "An operator asks why (evaluate: the full decision trace, nothing released)"
run "$SKRCTL" evaluate disk-oct --token "$work/tdx.token" || true

say "Every attempt is in the tamper-evident audit log"
"$SKRCTL" audit list --json | jq -r '.value[] | "\(.seq) \(.event) \(.key // "-") \(.outcome) \(.reason // "")"'
run "$SKRCTL" audit verify

if [ "$keep" = 1 ]; then
	say "skrd --dev keeps running (pid $pid); SKR_ADDR=$SKR_ADDR"
	trap - EXIT
	rm -rf "$work"
fi
