#!/usr/bin/env bash
# skrctl policy check and eval, offline: tokens from the test authority
# (minted without it running), its key set and policies written here.  Exit
# statuses 0 valid/allowed, 1 error, 2 usage or invalid policy, 3 denied,
# and the messages that say why.
set -uo pipefail
: "${SKRCTL:?SKRCTL must name the skrctl binary}"
: "${SKR_TEST_AUTHORITY:?SKR_TEST_AUTHORITY must name skr-test-authority}"
command -v jq >/dev/null || { echo "skipped: no jq"; exit 77; }
T=$(mktemp -d /tmp/skr-test-policy-XXXXXX)
TA_PID=
trap '[ -n "$TA_PID" ] && kill "$TA_PID" 2>/dev/null; rm -rf "$T"' EXIT
PASSED=0
FAILED=0
unset SKR_ADDR SKR_TOKEN SKR_CACERT SKR_PIN SKR_SIGNING_CERT

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
empty() { # empty FILE DESC
	if [ ! -s "$T/$1" ]; then PASSED=$((PASSED + 1)); echo "ok - $2"; else
		FAILED=$((FAILED + 1))
		echo "FAIL - $2: $(head -3 "$T/$1")" >&2
	fi
}

# The authority makes its keys on its first start; its issuer names the
# port it listened on, which tokens minted later still carry.
"$SKR_TEST_AUTHORITY" serve --dir "$T/ta" --listen 127.0.0.1:0 2>"$T/ta.log" &
TA_PID=$!
for _ in $(seq 200); do grep -q 'issuer https:' "$T/ta.log" && break; sleep 0.05; done
ISS=$(sed -n 's/.*issuer \(https:[^ ]*\).*/\1/p' "$T/ta.log" | head -1)
kill "$TA_PID" 2>/dev/null
wait "$TA_PID" 2>/dev/null
TA_PID=
[ -n "$ISS" ] || { echo "FAIL - the test authority did not start" >&2; exit 1; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
"$SKR_TEST_AUTHORITY" jwks --dir "$T/ta" >"$T/jwks.json"
"$SKR_TEST_AUTHORITY" token --dir "$T/ta" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/snp.tok"
"$SKR_TEST_AUTHORITY" token --dir "$T/ta" --tee tdx --wrapping-key "$T/tee.pem" >"$T/tdx.tok"
"$SKR_TEST_AUTHORITY" token --dir "$T/ta" --tee sevsnp >"$T/nokey.tok"
printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/snp.json"
printf '{"version":"1.0.0","requireServerNonce":true,"anyOf":[{"authority":"https://a.example","allOf":[{"claim":"c","equals":"v"}]},{"authority":"https://b.example","allOf":[{"claim":"c","equals":"v"}]}]}' \
	>"$T/two.json"
echo '{"version":"1.0.0","anyOf":[]' >"$T/broken.json"
head -c 40000 /dev/zero | tr '\0' ' ' >"$T/big.json"
cat "$T/snp.json" >>"$T/big.json"
EVAL=(policy eval --token "$T/snp.tok" --jwks "$T/jwks.json")

# ---- check ------------------------------------------------------------------
want 0 "check: a valid policy" policy check "$T/snp.json"
has out "snp.json: valid (1 authority rule)" "... says so"
want 0 "check: two rules and a server nonce" policy check "$T/two.json"
has out "valid (2 authority rules, requires a server nonce)" "... counted"
want 2 "check: an invalid policy is exit 2" policy check "$T/broken.json"
has err "broken.json: SKR.POLICY.INVALID: " "... with the file and the id"
want 2 "check: a policy over the size limit" policy check "$T/big.json"
has err "big.json: SKR.POLICY" "... named by the parser"
want 1 "check: a missing file is exit 1" policy check "$T/none.json"
has err "^skrctl: SKR.IO: $T/none.json: No such file" "... skrctl: SKR.IO: <file>: <why>"
want 2 "check: no file" policy check
has err "usage: skrctl policy check FILE" "... prints the policy usage"
want 2 "check: two files" policy check "$T/snp.json" "$T/two.json"
want 2 "check takes no --json" policy check "$T/snp.json" --json
has err "unknown option --json" "... names it"
want 0 "check: a file named like an option, after --" policy check -- "$T/snp.json"

# ---- eval -------------------------------------------------------------------
want 0 "eval: allowed" "${EVAL[@]}" --policy "$T/snp.json"
has out "^decision: allow" "... says allow"
has out "^token: verified (iss $ISS" "... names the verified token"
has out "^wrapping key: " "... and the wrapping key"
has out "pass x-ms-isolation-tee.x-ms-attestation-type equals \"sevsnpvm\"" "... and the trace"
want 3 "eval: a TDX token against an SEV-SNP policy is denied (3)" \
	policy eval --token "$T/tdx.tok" --jwks "$T/jwks.json" --policy "$T/snp.json"
has out "^reason: SKR.POLICY.DENIED: " "... with the reason"
want 3 "eval --json: denied" policy eval --json --token "$T/tdx.tok" --jwks "$T/jwks.json" --policy "$T/snp.json"
check_json() { # check_json FILTER VALUE DESC
	if [ "$(jq -r "$1" "$T/out" 2>/dev/null)" = "$2" ]; then PASSED=$((PASSED + 1)); echo "ok - $3"; else
		FAILED=$((FAILED + 1))
		echo "FAIL - $3: $(head -c 300 "$T/out")" >&2
	fi
}
check_json .decision deny "... decision deny"
check_json .reason.code SKR.POLICY.DENIED "... reason SKR.POLICY.DENIED"
check_json '.reason.claims[0]' x-ms-isolation-tee.x-ms-attestation-type "... naming the claim"
want 0 "eval --json: allowed" "${EVAL[@]}" --policy "$T/snp.json" --json
check_json .decision allow "... decision allow"
check_json '.trace_digest | length' 64 "... with the trace digest"
want 0 "eval: an allowed token without a wrapping key" \
	policy eval --token "$T/nokey.tok" --jwks "$T/jwks.json" --policy "$T/snp.json"
has out "^wrapping key: none (SKR.WRAPKEY" "... says a release would fail"
want 0 "eval --issuer of the token" "${EVAL[@]}" --policy "$T/snp.json" --issuer "$ISS"
want 3 "eval --issuer of another authority" "${EVAL[@]}" --policy "$T/snp.json" --issuer https://other.example
has out "SKR.TOKEN.ISSUER" "... SKR.TOKEN.ISSUER"
want 3 "eval --at after the token expired" "${EVAL[@]}" --policy "$T/snp.json" --at 4000000000
has out "SKR.TOKEN.EXPIRED" "... SKR.TOKEN.EXPIRED"
want 3 "eval --at before the token" "${EVAL[@]}" --policy "$T/snp.json" --at 1000000000 --skew 0
has out "SKR.TOKEN.NOT_YET_VALID" "... SKR.TOKEN.NOT_YET_VALID"
want 0 "eval --name=VALUE options" policy eval "--token=$T/snp.tok" "--jwks=$T/jwks.json" "--policy=$T/snp.json"
want 0 "eval: the token on standard input" policy eval --token - --jwks "$T/jwks.json" --policy "$T/snp.json" <"$T/snp.tok"

# Usage: exit 2, nothing on standard output.
want 2 "eval without --policy" "${EVAL[@]}"
has err "usage: skrctl policy check FILE" "... prints the policy usage"
empty out "... and nothing else"
want 2 "eval --at not a time" "${EVAL[@]}" --policy "$T/snp.json" --at soon
has err "^skrctl: --at: not a Unix time" "... says so"
want 2 "eval --at 0" "${EVAL[@]}" --policy "$T/snp.json" --at 0
want 2 "eval --skew negative" "${EVAL[@]}" --policy "$T/snp.json" --skew -1
has err "^skrctl: --skew: not a number of seconds" "... says so"
want 2 "eval with a positional argument" "${EVAL[@]}" --policy "$T/snp.json" extra
want 2 "eval with a server option after it" "${EVAL[@]}" --policy "$T/snp.json" --addr https://x
has err "^skrctl: unknown option --addr" "... unknown there"
want 2 "eval with a server option before it" --addr https://x "${EVAL[@]}" --policy "$T/snp.json"
has err "policy takes no server options" "... refused"
want 2 "eval --json=1" "${EVAL[@]}" --policy "$T/snp.json" --json=1
has err "^skrctl: --json takes no value" "... says so"
want 2 "eval --policy without its value" "${EVAL[@]}" --policy
has err "^skrctl: --policy needs a value" "... says so"
want 0 "eval --help, whatever else is there" "${EVAL[@]}" --bogus --help
has out "usage: skrctl policy check FILE" "... prints the policy usage"
has out "skrctl policy eval --token FILE --jwks FILE --policy FILE" "... both commands"
want 2 "an unknown policy command" policy frob
has err 'unknown command "policy frob"' "... names it"

# Errors: exit 1, named by file.
want 1 "eval: a key set that is a policy" policy eval --token "$T/snp.tok" --jwks "$T/snp.json" --policy "$T/snp.json"
has err "^skrctl: $T/snp.json: SKR.JWK" "... names the key set"
want 1 "eval: a policy that is a key set" "${EVAL[@]}" --policy "$T/jwks.json"
has err "^skrctl: $T/jwks.json: SKR.POLICY" "... names the policy"
want 1 "eval: a missing token file" policy eval --token "$T/none" --jwks "$T/jwks.json" --policy "$T/snp.json"
has err "^skrctl: SKR.IO: $T/none: " "... named"
empty out "... and no decision printed"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
