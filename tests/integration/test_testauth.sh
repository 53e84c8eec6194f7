#!/usr/bin/env bash
# Integration: skr-test-authority serving over HTTPS on loopback, checked with
# curl and openssl only (no skr code on the checking side): discovery, JWKS,
# minting, offline tokens signed by the same key, rotation, the fault switch,
# the loopback-only rule and a clean exit on SIGTERM.
set -euo pipefail

TA=${SKR_TEST_AUTHORITY:?SKR_TEST_AUTHORITY must name the skr-test-authority binary}
for tool in curl openssl base64 od; do
	command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done

W=$(mktemp -d)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$W/err" ] && sed 's/^/  server: /' "$W/err" >&2; exit 1; }
pass() { echo "ok - $*"; }

# base64url -> bytes
b64url_dec() {
	local s=${1//-/+}
	s=${s//_//}
	case $(( ${#s} % 4 )) in 2) s="$s==" ;; 3) s="$s=" ;; esac
	printf '%s' "$s" | base64 -d
}
# Top-level string member of compact JSON.
jstr() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$2" | head -n1; }
jnum() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9][0-9]*\).*/\1/p" <<<"$2" | head -n1; }
part() { cut -d. -f"$1" <<<"$2"; }

# Start the server in DIR with extra args; sets PID and ISS.
start() {
	local dir=$1; shift
	: >"$W/err"
	"$TA" serve --dir "$dir" --listen 127.0.0.1:0 "$@" 2>"$W/err" &
	PID=$!
	ISS=
	# Wait for the ready line, or for the process to die; the bound only
	# keeps a wedged server from hanging the suite.
	local i=0
	while [ -z "$ISS" ]; do
		kill -0 "$PID" 2>/dev/null || fail "server exited during start"
		ISS=$(sed -n 's/^skr-test-authority: issuer //p' "$W/err")
		[ -n "$ISS" ] && break
		i=$((i + 1))
		[ "$i" -lt 1200 ] || fail "server not ready after two minutes"
		sleep 0.1
	done
}

stop() {
	kill -TERM "$PID"
	local rc=0
	wait "$PID" || rc=$?
	PID=
	return "$rc"
}

# Verify an RS256 compact token with the public key in PEM file $2.
verify_rs256() {
	local tok=$1 pub=$2
	printf '%s' "$(part 1 "$tok").$(part 2 "$tok")" >"$W/input"
	b64url_dec "$(part 3 "$tok")" >"$W/sig"
	openssl dgst -sha256 -verify "$pub" -signature "$W/sig" "$W/input" \
	    >/dev/null 2>&1
}

# ---- loopback only ---------------------------------------------------------

for addr in 0.0.0.0:0 10.1.2.3:0 '[::]:0' 192.168.0.1:8443 example.com:0 \
    127.0.0.1 127.0.0.1:99999 ':0'; do
	rc=0
	"$TA" serve --dir "$W/refused" --listen "$addr" 2>"$W/refuse.err" || rc=$?
	[ "$rc" -eq 2 ] || fail "--listen $addr: exit $rc, want 2"
	grep -q "refusing to listen" "$W/refuse.err" || fail "--listen $addr: no reason given"
	[ ! -e "$W/refused" ] || fail "--listen $addr: created the directory"
done
pass "non-loopback listen addresses refused"

# ---- serve -----------------------------------------------------------------

start "$W/ta"
[[ $ISS =~ ^https://127\.0\.0\.1:[0-9]+/skr-test-attestation$ ]] || fail "issuer $ISS"
PORT=${ISS#https://127.0.0.1:}
PORT=${PORT%%/*}
[ "$PORT" -ne 0 ] || fail "port 0 in issuer"
[ -s "$W/ta/ca.pem" ] || fail "no ca.pem"
pass "serving, issuer $ISS"

C=(curl -sS --max-time 30 --cacert "$W/ta/ca.pem")

# TLS really is verified: without the CA the handshake fails.
if curl -sS --max-time 30 "$ISS/certs" >/dev/null 2>&1; then
	fail "TLS accepted without the test CA"
fi
"${C[@]}" --http2 -o /dev/null -w '%{http_version}' "$ISS/certs" | grep -q '^2' ||
	fail "no HTTP/2"
pass "TLS verifies against DIR/ca.pem only, HTTP/2 offered"

CFG=$("${C[@]}" --fail "$ISS/.well-known/openid-configuration")
[ "$(jstr issuer "$CFG")" = "$ISS" ] || fail "openid issuer: $CFG"
[ "$(jstr jwks_uri "$CFG")" = "$ISS/certs" ] || fail "openid jwks_uri: $CFG"
pass "openid-configuration"

JWKS=$("${C[@]}" --fail "$ISS/certs")
KID=$(jstr kid "$JWKS")
[ -n "$KID" ] || fail "JWKS without kid: $JWKS"
grep -q '"use":"sig"' <<<"$JWKS" || fail "JWKS use"
grep -q '"alg":"RS256"' <<<"$JWKS" || fail "JWKS alg"
grep -q '"n":"' <<<"$JWKS" || fail "JWKS n"
# The x5c certificate carries the signing key: extract it for openssl.
X5C=$(sed -n 's/.*"x5c":\["\([^"]*\)".*/\1/p' <<<"$JWKS" | head -n1)
printf '%s' "$X5C" | base64 -d >"$W/sign.der"
openssl x509 -inform DER -in "$W/sign.der" -pubkey -noout >"$W/sign.pub" ||
	fail "x5c is not a certificate"
[ "$(jstr kid "$("$TA" jwks --dir "$W/ta" | tr -d ' \n')")" = "$KID" ] ||
	fail "jwks subcommand disagrees with the server"
pass "JWKS (kid $KID)"

# ---- mint through the endpoint ----------------------------------------------

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/wrap.key" 2>/dev/null
openssl pkey -in "$W/wrap.key" -pubout -out "$W/wrap.pub"
MOD=$(openssl rsa -pubin -in "$W/wrap.pub" -noout -modulus | sed 's/^Modulus=//')
N=$(printf '%b' "$(sed 's/../\\x&/g' <<<"$MOD")" | base64 -w0 | tr '+/' '-_' | tr -d '=')
WJWK="{\"kty\":\"RSA\",\"n\":\"$N\",\"e\":\"AQAB\"}"

RESP=$("${C[@]}" --fail -H 'content-type: application/json' \
    -d "{\"tee\":\"sevsnp\",\"wrapping_key\":$WJWK,\"nonce\":\"n-123\",\"lifetime\":300,\"claims\":{\"x-ms-isolation-tee.x-ms-sevsnpvm-guestsvn\":9}}" \
    "$ISS/attest")
TOK=$(jstr token "$RESP")
[ -n "$TOK" ] || fail "attest: $RESP"
HDR=$(b64url_dec "$(part 1 "$TOK")")
PAY=$(b64url_dec "$(part 2 "$TOK")")
[ "$(jstr kid "$HDR")" = "$KID" ] || fail "token kid: $HDR"
[ "$(jstr alg "$HDR")" = "RS256" ] || fail "token alg: $HDR"
verify_rs256 "$TOK" "$W/sign.pub" || fail "served token does not verify with the x5c key"
[ "$(jstr iss "$PAY")" = "$ISS" ] || fail "token iss"
grep -q '"x-skr-test-authority":true' <<<"$PAY" || fail "no test marker"
grep -q '"x-ms-attestation-type":"sevsnpvm"' <<<"$PAY" || fail "not sevsnpvm"
grep -q '"x-ms-compliance-status":"azure-compliant-cvm"' <<<"$PAY" || fail "compliance"
grep -q '"x-ms-sevsnpvm-guestsvn":9' <<<"$PAY" || fail "override not applied"
grep -q '"client-payload":{"nonce":"n-123"}' <<<"$PAY" || fail "nonce"
grep -q '"kid":"TpmEphemeralEncryptionKey"' <<<"$PAY" || fail "wrapping key kid"
grep -q '"key_ops":\["encrypt"\]' <<<"$PAY" || fail "wrapping key_ops"
# The wrapping key in the token is the one sent, byte for byte.
# (The payload is compact with sorted members: kid, kty, n.)
TN=$(sed -n 's/.*"kid":"TpmEphemeralEncryptionKey","kty":"RSA","n":"\([^"]*\)".*/\1/p' <<<"$PAY")
[ "$(b64url_dec "$TN" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" = "$MOD" ] ||
	fail "wrapping key modulus differs"
IAT=$(jnum iat "$PAY"); EXP=$(jnum exp "$PAY")
[ $((EXP - IAT)) -eq 300 ] || fail "lifetime $IAT..$EXP"
pass "minted SEV-SNP token verifies with openssl and carries key, nonce, override"

for tee in tdx sgx; do
	T=$(jstr token "$("${C[@]}" --fail -d "{\"tee\":\"$tee\"}" "$ISS/attest")")
	P=$(b64url_dec "$(part 2 "$T")")
	case $tee in
	tdx) grep -q '"x-ms-attestation-type":"tdxvm"' <<<"$P" || fail "tdx shape" ;;
	sgx) grep -q '"x-ms-sgx-is-debuggable":false' <<<"$P" || fail "sgx shape"
	     ! grep -q '"x-ms-runtime"' <<<"$P" || fail "sgx runtime keys invented" ;;
	esac
	verify_rs256 "$T" "$W/sign.pub" || fail "$tee token signature"
done
pass "TDX and SGX tokens"

code=$("${C[@]}" -o "$W/out" -w '%{http_code}' -d '{"tee":"nope"}' "$ISS/attest")
[ "$code" = 400 ] || fail "bad tee: $code"
grep -q 'SKR.REQUEST.INVALID' "$W/out" || fail "bad tee body: $(cat "$W/out")"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' -d '{"tee":"sgx","tee":"sgx"}' "$ISS/attest")
[ "$code" = 400 ] || fail "duplicate member: $code"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$ISS/attest")
[ "$code" = 405 ] || fail "GET attest: $code"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$ISS/nothing")
[ "$code" = 404 ] || fail "unknown path: $code"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/certs")
[ "$code" = 404 ] || fail "path outside the issuer: $code"
pass "bad requests refused (400, 404, 405)"

# ---- offline tokens --------------------------------------------------------

OT=$("$TA" token --dir "$W/ta" --tee sgx --wrapping-key "$W/wrap.pub" \
    --nonce off-1 --claim 'x-ms-sgx-svn=7' --claim 'x-ms-ver=null' \
    --lifetime 60 --iat-offset -100)
OP=$(b64url_dec "$(part 2 "$OT")")
verify_rs256 "$OT" "$W/sign.pub" || fail "offline token signature"
[ "$(jstr iss "$OP")" = "$ISS" ] || fail "offline issuer $(jstr iss "$OP")"
grep -q '"x-ms-sgx-svn":7' <<<"$OP" || fail "offline --claim"
! grep -q '"x-ms-ver"' <<<"$OP" || fail "offline removal"
grep -q '"kid":"TpmEphemeralEncryptionKey"' <<<"$OP" || fail "offline wrapping key"
IAT=$(jnum iat "$OP"); EXP=$(jnum exp "$OP"); NOW=$(date +%s)
[ $((EXP - IAT)) -eq 60 ] || fail "offline lifetime"
[ "$EXP" -lt "$NOW" ] || fail "offline token should have expired"
OT=$("$TA" token --dir "$W/ta" --tee tdx --issuer https://other.example/x)
[ "$(jstr iss "$(b64url_dec "$(part 2 "$OT")")")" = "https://other.example/x" ] ||
	fail "--issuer"
OT=$("$TA" token --dir "$W/ta" --tee sevsnp --kid unknown --header 'jku="https://evil.example/certs"')
OH=$(b64url_dec "$(part 1 "$OT")")
[ "$(jstr kid "$OH")" = unknown ] || fail "--kid"
[ "$(jstr jku "$OH")" = "https://evil.example/certs" ] || fail "--header"
rc=0; "$TA" token --dir "$W/ta" --tee sev 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "bad --tee: exit $rc"
rc=0; "$TA" token --dir "$W/ta" --tee sgx --claim 'a=not json' 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "bad --claim: exit $rc"
rc=0; "$TA" token --dir "$W/none" --tee sgx 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "no authority: exit $rc"
pass "offline token subcommand"

# ---- rotation --------------------------------------------------------------

R=$("${C[@]}" --fail -X POST "$ISS/rotate")
KID2=$(jstr kid "$R")
[ -n "$KID2" ] && [ "$KID2" != "$KID" ] || fail "rotate: $R"
JWKS=$("${C[@]}" --fail "$ISS/certs")
grep -q "\"kid\":\"$KID\"" <<<"$JWKS" || fail "old key dropped too early"
grep -q "\"kid\":\"$KID2\"" <<<"$JWKS" || fail "new key not published"
T=$(jstr token "$("${C[@]}" --fail -d '{}' "$ISS/attest")")
[ "$(jstr kid "$(b64url_dec "$(part 1 "$T")")")" = "$KID2" ] || fail "not signing with the new key"
OT=$("$TA" token --dir "$W/ta" --tee sgx)
[ "$(jstr kid "$(b64url_dec "$(part 1 "$OT")")")" = "$KID2" ] || fail "rotation not saved to DIR"
R=$("${C[@]}" --fail -d '{"drop_old":true}' "$ISS/rotate")
KID3=$(jstr kid "$R")
JWKS=$("${C[@]}" --fail "$ISS/certs")
! grep -q "\"kid\":\"$KID2\"" <<<"$JWKS" || fail "drop_old kept the old key"
grep -q "\"kid\":\"$KID3\"" <<<"$JWKS" || fail "drop_old lost the new key"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' -d '{"drop_old":1}' "$ISS/rotate")
[ "$code" = 400 ] || fail "rotate with a bad body: $code"
pass "rotation with grace, and with the old keys dropped"

# ---- fault switch ------------------------------------------------------------

"${C[@]}" --fail -d '{"status":503}' "$ISS/fail" >/dev/null
code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$ISS/certs")
[ "$code" = 503 ] || fail "certs under fault: $code"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$ISS/.well-known/openid-configuration")
[ "$code" = 503 ] || fail "openid under fault: $code"
"${C[@]}" --fail -d '{}' "$ISS/attest" >/dev/null || fail "minting should not fail"
for bad in '{"status":99}' '{"status":"500"}' '{"status":500,"x":1}' '[]' ''; do
	code=$("${C[@]}" -o /dev/null -w '%{http_code}' -d "$bad" "$ISS/fail")
	[ "$code" = 400 ] || fail "fail with $bad: $code"
done
"${C[@]}" --fail -d '{"status":0}' "$ISS/fail" >/dev/null
"${C[@]}" --fail -o /dev/null "$ISS/certs" || fail "certs after clearing the fault"
pass "fault switch"

# ---- SIGTERM, restart with the same directory ----------------------------------

stop || fail "SIGTERM exit status $?"
grep -q "exiting" "$W/err" || fail "no exit message"
cp "$W/ta/ca.pem" "$W/ca.before"
start "$W/ta"
cmp -s "$W/ta/ca.pem" "$W/ca.before" || fail "ca.pem changed on restart"
JWKS=$(curl -sS --fail --max-time 30 --cacert "$W/ta/ca.pem" "$ISS/certs")
grep -q "\"kid\":\"$KID3\"" <<<"$JWKS" || fail "signing key not reloaded"
stop || fail "second SIGTERM exit status"
rc=0; "$TA" serve --dir "$W/ta" --alg ES256 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "alg change on an existing directory: exit $rc"
pass "SIGTERM exits 0; restart keeps keys and CA"

# ---- ES256 ---------------------------------------------------------------------

start "$W/es" --alg ES256
JWKS=$(curl -sS --fail --max-time 30 --cacert "$W/es/ca.pem" "$ISS/certs")
grep -q '"crv":"P-256"' <<<"$JWKS" || fail "ES256 JWKS: $JWKS"
grep -q '"alg":"ES256"' <<<"$JWKS" || fail "ES256 alg"
T=$(jstr token "$(curl -sS --fail --max-time 30 --cacert "$W/es/ca.pem" -d '{"tee":"tdx"}' "$ISS/attest")")
[ "$(jstr alg "$(b64url_dec "$(part 1 "$T")")")" = ES256 ] || fail "ES256 token"
[ "$(b64url_dec "$(part 3 "$T")" | wc -c)" -eq 64 ] || fail "ES256 signature is not r||s"
stop || fail "ES256 SIGTERM"
pass "ES256 authority"

echo "all passed"
