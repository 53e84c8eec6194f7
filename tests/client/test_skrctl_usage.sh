#!/usr/bin/env bash
# skrctl's command line without a server: usage errors exit 2 and say so,
# --help exits 0, local failures exit 1 before anything is sent.
set -uo pipefail
: "${SKRCTL:?SKRCTL must name the skrctl binary}"
T=$(mktemp -d /tmp/skr-test-usage-XXXXXX)
trap 'rm -rf "$T"' EXIT
PASSED=0
FAILED=0
# Nothing listens on port 1: a command that got as far as the network would
# fail with exit 1, not 2.
export SKR_ADDR=https://127.0.0.1:1 SKR_TOKEN=t
unset SKR_CACERT SKR_PIN SKR_SIGNING_CERT

want() { # want RC DESC ARGS...
	local want=$1 desc=$2 rc=0
	shift 2
	"$SKRCTL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" = "$want" ]; then
		PASSED=$((PASSED + 1))
		echo "ok - $desc"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL - $desc: exit $rc, want $want: $(head -3 "$T/err")" >&2
	fi
}
has() { # has FILE PATTERN DESC
	if grep -q -- "$2" "$T/$1"; then PASSED=$((PASSED + 1)); echo "ok - $3"; else
		FAILED=$((FAILED + 1))
		echo "FAIL - $3: $(head -3 "$T/$1")" >&2
	fi
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
echo "e30.e30.e30" >"$T/tok"

want 2 "no arguments" 
has err "usage: skrctl" "... prints the usage"
want 0 "--help" --help
has out "exit status: 0 ok, 1 error, 2 usage, 3 release denied" "... documents exit statuses"
want 0 "--version" --version
want 2 "unknown command" frobnicate
has err 'unknown command "frobnicate"' "... names it"
want 2 "a group alone" key
want 2 "unknown subcommand" key frobnicate
want 0 "group --help" key --help
has out "key create NAME" "... lists the group's commands"
want 0 "command --help" release --help
has out "release NAME --token FILE --out FILE|-" "... shows its usage"
has out "(--wrapping-key PEM | --tpm \[--tcti TCTI\])" "... with both places of the wrapping key"
want 0 "tpm --help" tpm --help
has out "tpm pubkey \[--tcti TCTI\] \[--pem | --jwk\]" "... shows tpm pubkey"
want 0 "--help needs no server" key list --help --addr http://bad
want 2 "unknown option" key list --frobnicate
has err "unknown option --frobnicate" "... names it"
want 2 "option without its value" key show k --version
want 2 "missing positional argument" key show
want 2 "extra positional argument" key show a b
want 2 "key create without --kty" key create k
want 2 "--size not a number" key create k --kty oct --size 25x
want 2 "--size negative" key create k --kty oct --size -1
want 2 "--nbf not a time" key update k --nbf tomorrow
want 2 "--exp not a time" key update k --exp 1e9
want 2 "--tag without =" key create k --kty oct --tag novalue
want 2 "key import without a source" key import k
want 2 "key backup without --out" key backup k
want 2 "key restore without --in" key restore
want 2 "key deleted with two names" key deleted a b
want 2 "release without --out" release k --token "$T/tok" --wrapping-key "$T/rsa.pem"
want 2 "release without --wrapping-key" release k --token "$T/tok" --out "$T/o"
want 2 "release without --token" release k --wrapping-key "$T/rsa.pem" --out "$T/o"
has err "--token FILE (the attestation token) is required" "... says so"
want 2 "release --tpm without --token" release k --tpm --out "$T/o"
has err "--token FILE (the attestation token) is required" "... says so"
want 2 "release --tpm with a key file" release k --token "$T/tok" --tpm --wrapping-key "$T/rsa.pem" --out "$T/o"
has err "--wrapping-key and --tpm exclude each other" "... says they exclude each other"
want 2 "release with neither --wrapping-key nor --tpm" release k --token "$T/tok" --out "$T/o"
has err "--wrapping-key PEM .* or --tpm" "... names both"
want 2 "release --tcti without --tpm" release k --token "$T/tok" --wrapping-key "$T/rsa.pem" --tcti device:/dev/tpm0 --out "$T/o"
has err "--tcti goes with --tpm" "... says so"
want 2 "tpm pubkey --pem --jwk" tpm pubkey --pem --jwk
want 2 "tpm pubkey with an argument" tpm pubkey extra
want 2 "tpm pubkey with a server option" tpm pubkey --addr https://127.0.0.1:1
want 2 "tpm alone" tpm
want 2 "release without any release-signing trust" release k --token "$T/tok" --wrapping-key "$T/rsa.pem" --out "$T/o"
has err "signing-cert" "... says what to give"
# From here on release responses would be checked against some CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=ca -keyout "$T/ca-key.pem" -out "$T/ca.pem" 2>/dev/null
export SKR_CACERT=$T/ca.pem
want 2 "evaluate without --token" evaluate k
want 2 "token create without --role" token create
want 2 "token create --expires not a time" token create --role reader --expires soon
want 2 "dev token --lifetime not a number" dev token --lifetime x
want 2 "token revoke without ID" token revoke
want 2 "authority refresh without ISSUER" authority refresh
want 2 "audit list with a bad filter" audit list --key 'a&b=c'
SKR_ADDR= want 2 "no server address" key list
has err "SKR_ADDR" "... says how to give one"
want 2 "a plain-http address" key list --addr http://127.0.0.1:1
want 2 "an address with a query" key list --addr 'https://h/?x'
want 2 "a malformed pin" key list --pin sha256//short
want 2 "a missing CA file" key list --cacert "$T/none.pem"
want 2 "a missing signing certificate" key list --signing-cert "$T/none.pem"

# Local failures: exit 1, and nothing written.
want 1 "release with an EC wrapping key" release k --token "$T/tok" --wrapping-key "$T/ec.pem" --out "$T/o1"
test ! -e "$T/o1" && PASSED=$((PASSED + 1)) || { FAILED=$((FAILED + 1)); echo "FAIL - o1 written" >&2; }
want 1 "release with a missing token file" release k --token "$T/none" --wrapping-key "$T/rsa.pem" --out "$T/o2"
# No TPM listens on port 1 either (or libskr has no TPM support): exit 1.
want 1 "release --tpm without a TPM" release k --token "$T/tok" --tpm --tcti swtpm:host=127.0.0.1,port=1 --out "$T/o4"
has err "^skrctl: SKR.TPM.UN" "... names the TPM's error"
test ! -e "$T/o4" && PASSED=$((PASSED + 1)) || { FAILED=$((FAILED + 1)); echo "FAIL - o4 written" >&2; }
SKR_TCTI=swtpm:host=127.0.0.1,port=1 want 1 "tpm pubkey without a TPM (SKR_TCTI)" tpm pubkey
has err "^skrctl: SKR.TPM.UN" "... exit 1 with the TPM's error"
echo existing >"$T/exists"
want 1 "release refuses to overwrite" release k --token "$T/tok" --wrapping-key "$T/rsa.pem" --out "$T/exists"
has err "use --force" "... and says how"
has exists "existing" "... and leaves the file alone"
want 1 "server down" release k --token "$T/tok" --wrapping-key "$T/rsa.pem" --out "$T/o3"
has err "^skrctl: SKR.CLIENT.TRANSPORT: " "... prints skrctl: <id>: <message>"
test ! -e "$T/o3" && PASSED=$((PASSED + 1)) || { FAILED=$((FAILED + 1)); echo "FAIL - o3 left behind" >&2; }
want 1 "key list with the server down" --json key list
want 2 "policy with server options" --addr https://x policy check "$T/tok"
for c in "" check eval; do
	# shellcheck disable=SC2086
	want 0 "policy $c --help" policy $c --help
	has out "usage: skrctl policy check FILE" "... prints the usage on stdout"
done
want 2 "policy check without a file" policy check
echo existing >"$T/kept"
want 1 "server down, --force" release k --token "$T/tok" --wrapping-key "$T/rsa.pem" --out "$T/kept" --force
has kept "existing" "... leaves the file it would have replaced"
test -z "$(find "$T" -name '.kept.*')" && PASSED=$((PASSED + 1)) ||
	{ FAILED=$((FAILED + 1)); echo "FAIL - a temporary file left behind" >&2; }

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
