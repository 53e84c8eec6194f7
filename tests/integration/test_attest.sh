#!/usr/bin/env bash
# Integration: skrd as its own attestation service (docs/snp.md, "The
# attestation endpoint").  Synthetic SEV-SNP evidence of a test hierarchy
# made here (snp_mkevidence; skrd trusts its ARK through snp_roots) goes to
# POST /attest/SevSnpVM exactly as the confidential-containers SKR sidecar
# sends it; the token that comes back releases a key from the same skrd
# when the report's measurement and debug bit satisfy the key's policy,
# and does not otherwise.  Also: the key set and OpenID metadata, every
# refusal with its id, Azure vTPM evidence with a server nonce, the
# offline skrctl attest, VCEKs from a local key distribution service and
# its cache, attest_snp = false, a data directory without the key.
. "$SKR_TESTS_DIR/lib.sh"
MK=${SNP_MKEVIDENCE:?SNP_MKEVIDENCE must name snp_mkevidence}
command -v python3 >/dev/null || skip "no python3"

EV=$T/ev
mkdir -p "$EV"
"$MK" init "$EV" || { failed "snp_mkevidence init"; finish; }

# Go's base64.URLEncoding: base64url with padding, as the sidecar sends.
b64p() { base64 -w0 | tr '+/' '-_'; }
b64d() { tr -- '-_' '+/' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d; }
claims() { cut -d. -f2 <<<"$1" | b64d; }

# sidecar_request REPORT.bin CERTS RUNTIME NONCE > request.json: the body
# of the sidecar's MAA request (pkg/common/maa.go); CERTS "" sends no
# VcekCertChain.
sidecar_request() {
	local rep chain=
	rep=$(b64p <"$1")
	[ -n "$2" ] && chain=$(b64p <"$2")
	local inner
	if [ -n "$chain" ]; then
		inner=$(printf '{"SnpReport":"%s","VcekCertChain":"%s"}' "$rep" "$chain" | b64p)
	else
		inner=$(printf '{"SnpReport":"%s"}' "$rep" | b64p)
	fi
	printf '{"report":"%s","runtimeData":{"data":"%s","dataType":"JSON"},"initTimeData":{"data":"","dataType":""},"nonce":%s}' \
		"$inner" "$(b64p <"$3")" "$4"
}

attest() { # attest BODYFILE [PATH]: POST as the sidecar does, no bearer
	local saved=$AUTH
	AUTH=
	api POST "${2:-/attest/SevSnpVM?api-version=2020-10-01}" "@$1"
	AUTH=$saved
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/wrap.pem" 2>/dev/null
"$MK" runtime "$T/wrap.pem" >"$T/runtime.json"
check "the runtime JSON names the wrapping key" jq -e '.keys[0].kid == "wrap"' "$T/runtime.json"
"$MK" report "$EV" "$T/good" --runtime "$T/runtime.json" --measurement-byte 170
"$MK" report "$EV" "$T/other" --runtime "$T/runtime.json" --measurement-byte 187
"$MK" report "$EV" "$T/debug" --runtime "$T/runtime.json" --measurement-byte 170 --debug
GOOD_M=$(printf 'aa%.0s' $(seq 48))

skr_init || finish
printf 'snp_roots = %s\nrelease_limit = 1000\n' "$EV/roots.pem" >"$T/skrd.conf"
skr_start --config "$T/skrd.conf" || finish
export SKR_TOKEN=$ADMIN

# ---- the issuer's key set and metadata --------------------------------------
AUTH= api GET /certs
expect_status 200 "GET /certs without a token"
expect_json '.keys | length' 1 "one key"
check "the key has kid, kty RSA, n, e and an x5c chain" \
	jq -e '.keys[0] | (.kid | type) == "string" and .kty == "RSA" and .n and .e and (.x5c | length) == 2' <<<"$BODY"
KID=$(jq -r '.keys[0].kid' <<<"$BODY")
jq -r '.keys[0].x5c[0]' <<<"$BODY" | base64 -d | openssl x509 -inform DER -out "$T/attest-cert.pem"
check "x5c[0] is issued by skrd's CA" openssl verify -CAfile "$D/ca.pem" "$T/attest-cert.pem"
check "x5c[0] is attest-signing.pem" cmp -s <(openssl x509 -in "$D/attest-signing.pem" -outform DER) \
	<(openssl x509 -in "$T/attest-cert.pem" -outform DER)
echo "$BODY" >"$T/certs.json"
AUTH= api GET /.well-known/openid-configuration
expect_status 200 "GET /.well-known/openid-configuration"
expect_json .issuer "$SKR_ADDR" "the issuer is skrd's URL"
expect_json .jwks_uri "$SKR_ADDR/certs" "jwks_uri is /certs"

# ---- attest as the sidecar does, then release ------------------------------
cat "$T/good-vcek.pem" >"$T/good-certs.pem"
sidecar_request "$T/good.bin" "$T/good-certs.pem" "$T/runtime.json" 18446744073709551615 >"$T/req-good.json"
attest "$T/req-good.json"
expect_status 200 "attest a good report (POST /attest/SevSnpVM?api-version=2020-10-01)"
TOK=$(jq -r .token <<<"$BODY")
printf '%s' "$TOK" >"$T/good.tok"
GOOD_ADDR=$SKR_ADDR
C=$(claims "$TOK")
check "token header: RS256, kid, jku on skrd, typ JWT" jq -e --arg kid "$KID" --arg jku "$SKR_ADDR/certs" \
	'.alg == "RS256" and .kid == $kid and .jku == $jku and .typ == "JWT"' <(cut -d. -f1 <<<"$TOK" | b64d)
check "iss is skrd's URL" jq -e --arg iss "$SKR_ADDR" '.iss == $iss' <<<"$C"
check "x-ms-attestation-type sevsnpvm" jq -e '.["x-ms-attestation-type"] == "sevsnpvm"' <<<"$C"
check "the launch measurement" jq -e --arg m "$GOOD_M" '.["x-ms-sevsnpvm-launchmeasurement"] == $m' <<<"$C"
check "not debuggable" jq -e '.["x-ms-sevsnpvm-is-debuggable"] == false' <<<"$C"
check "x-ms-runtime is the runtime data" cmp -s <(jq -cS '.["x-ms-runtime"]' <<<"$C") <(jq -cS . "$T/runtime.json")
check "the nonce, all 64 bits of it, as sent" jq -e '.nonce == "18446744073709551615"' <<<"$C"
check "8 hours from iat to exp, nbf = iat, a jti" \
	jq -e '.exp - .iat == 28800 and .nbf == .iat and (.jti | length) == 64' <<<"$C"
check "the token verifies offline with GET /certs" "$SKRCTL" policy eval --token "$T/good.tok" \
	--jwks "$T/certs.json" --issuer "$SKR_ADDR" --policy <(printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-attestation-type","equals":"sevsnpvm"}]}]}' "$SKR_ADDR")

printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-sevsnpvm-launchmeasurement","equals":"%s"},{"claim":"x-ms-sevsnpvm-is-debuggable","equals":false}]}]}' \
	"$SKR_ADDR" "$GOOD_M" >"$T/policy.json"
head -c 32 /dev/urandom >"$T/k-oct"
ctl key import cvm-key --oct "$T/k-oct" --exportable --policy "$T/policy.json"
expect_rc 0 "import a key released to the good measurement only"
ctl release cvm-key --token "$T/good.tok" --wrapping-key "$T/wrap.pem" --out "$T/released"
expect_rc 0 "release with skrd's own token"
check "the released key equals the stored one" cmp -s "$T/released" "$T/k-oct"

for bad in other debug; do
	sidecar_request "$T/$bad.bin" "$T/$bad-vcek.pem" "$T/runtime.json" 7 >"$T/req-$bad.json"
	attest "$T/req-$bad.json"
	expect_status 200 "attest the $bad report"
	jq -r .token <<<"$BODY" >"$T/$bad.tok"
	ctl release cvm-key --token "$T/$bad.tok" --wrapping-key "$T/wrap.pem" --out "$T/released-$bad"
	expect_rc 3 "no release for the $bad report"
	check "denied by the policy ($bad)" grep -q SKR.POLICY.DENIED <<<"$ERR"
	check "nothing written ($bad)" test ! -e "$T/released-$bad"
done
check "the other report's claim names the failing measurement" grep -q launchmeasurement \
	< <(ctl release cvm-key --token "$T/other.tok" --wrapping-key "$T/wrap.pem" --out "$T/x"; echo "$ERR")

# ---- refusals -----------------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/wrap2.pem" 2>/dev/null
"$MK" runtime "$T/wrap2.pem" >"$T/runtime2.json"
sidecar_request "$T/good.bin" "$T/good-vcek.pem" "$T/runtime2.json" 1 >"$T/req-swap.json"
attest "$T/req-swap.json"
expect_error 403 SKR.SNP.BINDING "runtime data the report does not bind"
printf '%s' "$(jq -c . "$T/runtime.json") " >"$T/runtime-space.json"
sidecar_request "$T/good.bin" "$T/good-vcek.pem" "$T/runtime-space.json" 1 >"$T/req-space.json"
attest "$T/req-space.json"
expect_error 403 SKR.SNP.BINDING "the runtime data bytes as sent are bound, not their JSON value"
cp "$T/good.bin" "$T/flip.bin"
printf '\x01' | dd of="$T/flip.bin" bs=1 seek=$((0x90)) conv=notrunc 2>/dev/null
sidecar_request "$T/flip.bin" "$T/good-vcek.pem" "$T/runtime.json" 1 >"$T/req-flip.json"
attest "$T/req-flip.json"
expect_error 403 SKR.SNP.SIGNATURE "a report with a changed measurement"
"$MK" report "$EV" "$T/foreign" --runtime "$T/runtime.json" --measurement-byte 170 --foreign-vcek
sidecar_request "$T/good.bin" "$T/foreign-vcek.pem" "$T/runtime.json" 1 >"$T/req-wrongvcek.json"
attest "$T/req-wrongvcek.json"
expect_error 403 SKR.SNP.SIGNATURE "a VCEK of the chip and TCB whose key did not sign the report"
sidecar_request "$T/good.bin" "$EV/chain.pem" "$T/runtime.json" 1 >"$T/req-nocert.json"
attest "$T/req-nocert.json"
expect_error 400 SKR.SNP.CERT "a chain without the VCEK"
sidecar_request "$T/good.bin" "" "$T/runtime.json" 1 >"$T/req-novcek.json"
attest "$T/req-novcek.json"
expect_error 400 SKR.SNP.CERT "no VcekCertChain and no KDS"
attest <(printf '{"report":"%%%%%%"}') /attest/SevSnpVm
expect_error 400 SKR.SNP.EVIDENCE "a report that is not base64url"
attest <(printf '{"report":"e30","bogus":1}') /attest/SevSnpVm
expect_error 400 SKR.SNP.EVIDENCE "an unknown member"
attest <(printf '{"report":') /attest/SevSnpVm
expect_error 400 SKR.JSON.MALFORMED "a body that is not JSON"
jq -c '.nonce = -1' "$T/req-good.json" >"$T/req-neg.json"
attest "$T/req-neg.json"
expect_error 400 SKR.SNP.EVIDENCE "a negative nonce"
sed 's/"nonce":18446744073709551615/"nonce":18446744073709551616/' "$T/req-good.json" >"$T/req-big.json"
attest "$T/req-big.json"
expect_error 400 SKR.SNP.EVIDENCE "a nonce over 2^64 - 1"
jq -c '.runtimeData.dataType = "XML"' "$T/req-good.json" >"$T/req-dt.json"
attest "$T/req-dt.json"
expect_error 400 SKR.SNP.EVIDENCE "a dataType other than JSON or Binary"
AUTH= api POST /attest/SevSnpVm "@$T/req-good.json" text/plain
expect_error 415 SKR.REQUEST.CONTENT_TYPE "a body that is not application/json"
head -c 200000 /dev/zero | tr '\0' ' ' >"$T/big.json"
attest "$T/big.json"
expect_error 413 SKR.REQUEST.TOO_LARGE "a body over the attestation limit"
AUTH=not-a-token-of-ours api POST "/attest/SevSnpVm?api-version=2022-08-01" "@$T/req-good.json"
expect_status 200 "a foreign bearer token is ignored; any api-version is answered"
AUTH= api POST "/attest/SevSnpVm?api-version=$(printf 'x%.0s' $(seq 80))" "@$T/req-good.json"
expect_error 400 SKR.REQUEST.INVALID "an api-version over 63 bytes"
AUTH= api GET /attest/SevSnpVm
expect_error 405 SKR.REQUEST.METHOD "GET on the attestation route"
api GET "/admin/audit?event=attest.sevsnpvm"
check "attempts are audited, with jti on the issued ones" jq -e \
	'[.value[] | select(.outcome == "ok" and (.jti | length) == 64)] | length >= 3' <<<"$BODY"
check "refusals are audited with their reason" jq -e \
	'[.value[] | select(.reason == "SKR.SNP.BINDING")] | length == 2' <<<"$BODY"
check "no token text in the audit log" bash -c "! grep -qF '$(cut -d. -f3 <"$T/good.tok")' <<<'$BODY'"

# ---- Azure vTPM evidence with a server nonce --------------------------------
api GET /nonce
N=$(jq -r .value <<<"$BODY")
"$MK" azure "$EV" "$T/az" --nonce "$N"
printf '{"evidence":%s,"nonce":"%s"}' "$(cat "$T/az.json")" "$N" >"$T/req-az.json"
attest "$T/req-az.json" /attest/AzureCvm
expect_status 200 "Azure vTPM evidence with a server nonce"
AC=$(claims "$(jq -r .token <<<"$BODY")")
check "azurevm token: attestation type, TEE claims, PCRs, the nonce" jq -e --arg n "$N" \
	'.["x-ms-attestation-type"] == "azurevm" and .["x-ms-isolation-tee"]["x-ms-attestation-type"] == "sevsnpvm" and (.["x-ms-azurevm-attested-pcrs"] | length) == 24 and .nonce == $n' <<<"$AC"
attest "$T/req-az.json" /attest/AzureCvm
expect_error 403 SKR.NONCE.REUSED "the same server nonce twice"
api GET /nonce
N2=$(jq -r .value <<<"$BODY")
printf '{"evidence":%s,"nonce":"%s"}' "$(cat "$T/az.json")" "$N2" >"$T/req-az2.json"
attest "$T/req-az2.json" /attest/AzureCvm
expect_error 403 SKR.SNP.NONCE "a quote of another nonce"
"$MK" azure "$EV" "$T/az3" --nonce "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
printf '{"evidence":%s,"nonce":"%s"}' "$(cat "$T/az3.json")" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" >"$T/req-az3.json"
attest "$T/req-az3.json" /attest/AzureCvm
expect_error 403 SKR.NONCE.INVALID "a nonce skrd never issued"
attest <(printf '{"evidence":%s}' "$(cat "$T/az.json")") /attest/AzureCvm
expect_error 403 SKR.NONCE.REQUIRED "Azure evidence without a nonce"
"$SKRCTL" attest azure --evidence "$T/az.json" --nonce "$N" --roots "$EV/roots.pem" --json >"$T/az-offline.json"
check "skrctl attest azure: the same evidence verifies offline" jq -e '.valid and .claims["x-ms-attestation-type"] == "azurevm"' "$T/az-offline.json"
"$SKRCTL" attest azure --evidence "$T/az.json" --nonce other --roots "$EV/roots.pem" 2>/dev/null
RC=$?; expect_rc 3 "skrctl attest azure: another nonce is refused (exit 3)"

# ---- skrctl attest snp, offline -------------------------------------------------
ctl attest snp --report "$T/good.bin" --certs "$T/good-vcek.der" --roots "$EV/roots.pem" \
	--runtime-data "$T/runtime.json" --json-runtime --json
expect_rc 0 "skrctl attest snp: a good report"
check "skrctl prints the claims the token carries" cmp -s \
	<(jq -cS '.claims' <<<"$OUT") <(jq -cS 'del(.exp, .iat, .nbf, .iss, .jti, .nonce)' <<<"$C")
ctl attest snp --report "$T/good.bin" --certs "$T/good-vcek.pem" --roots "$EV/roots.pem"
expect_rc 0 "skrctl attest snp: human output"
check "human output names the measurement" grep -q "x-ms-sevsnpvm-launchmeasurement: $GOOD_M" <<<"$OUT"
ctl attest snp --report "$T/flip.bin" --certs "$T/good-vcek.der" --roots "$EV/roots.pem"
expect_rc 3 "skrctl attest snp: a changed report is refused (exit 3)"
check "with its id" grep -q SKR.SNP.SIGNATURE <<<"$ERR"
ctl attest snp --report "$T/good.bin" --certs "$T/good-vcek.der"
expect_rc 3 "skrctl attest snp: the built-in roots do not trust the test ARK"
ctl attest snp --report "$T/runtime.json" --certs "$T/good-vcek.der" --roots "$EV/roots.pem"
expect_rc 1 "skrctl attest snp: not a report (exit 1)"
ctl attest snp --report "$T/good.bin"
expect_rc 2 "skrctl attest snp: no --certs (exit 2)"
ctl attest snp --report "$T/good.bin" --certs "$T/good-vcek.der" --at yesterday
expect_rc 2 "skrctl attest snp: a bad --at (exit 2)"

skr_stop

# ---- VCEKs from a key distribution service, then its cache --------------------
KDS=$T/kds
mkdir -p "$KDS/vcek/v1/Milan"
HWID=$(xxd -p -s $((0x1A0)) -l 64 "$T/good.bin" | tr -d '\n')
cp "$T/good-vcek.der" "$KDS/vcek/v1/Milan/$HWID"
cp "$EV/chain.pem" "$KDS/vcek/v1/Milan/cert_chain"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/kds-key.pem" -out "$T/kds-cert.pem" 2>/dev/null
cat >"$T/kds.py" <<'EOF'
import http.server, ssl, sys, os
root, cert, key, log = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, 'a') as f: f.write(self.path + '\n')
        p = os.path.join(root, self.path.split('?')[0].lstrip('/'))
        if not os.path.isfile(p):
            self.send_response(404); self.end_headers(); return
        b = open(p, 'rb').read()
        self.send_response(200); self.send_header('Content-Length', str(len(b))); self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(cert, key)
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$T/kds.py" "$KDS" "$T/kds-cert.pem" "$T/kds-key.pem" "$T/kds.log" >"$T/kds.port" 2>"$T/kds.err" &
KDS_PID=$!
skr_track "$KDS_PID"
for _ in $(seq 100); do [ -s "$T/kds.port" ] && break; sleep 0.05; done
KDS_PORT=$(cat "$T/kds.port")
printf 'snp_roots = %s\nsnp_kds = https://127.0.0.1:%s\nsnp_kds_ca = %s\nsnp_cache_dir = %s\n' \
	"$EV/roots.pem" "$KDS_PORT" "$T/kds-cert.pem" "$T/cache" >"$T/skrd-kds.conf"
skr_start --config "$T/skrd-kds.conf" || finish
attest "$T/req-novcek.json"
expect_status 200 "no VcekCertChain: the VCEK comes from the KDS"
check "the KDS was asked by chip id and reported TCB" grep -qx \
	"/vcek/v1/Milan/$HWID?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115" "$T/kds.log"
check "and for the product's cert_chain" grep -qx "/vcek/v1/Milan/cert_chain" "$T/kds.log"
check "the VCEK is cached" test -s "$T/cache/vcek-Milan-$HWID-7308000000000003.der"
kill "$KDS_PID"
wait "$KDS_PID" 2>/dev/null
attest "$T/req-novcek.json"
expect_status 200 "with the KDS gone, the cache answers"
"$MK" report "$EV" "$T/unknown" --runtime "$T/runtime.json" --chip-byte 85
sidecar_request "$T/unknown.bin" "" "$T/runtime.json" 1 >"$T/req-unknown.json"
attest "$T/req-unknown.json"
expect_error 503 SKR.SNP.KDS "a chip the cache lacks and the KDS cannot be reached for"
skr_stop

# ---- attest_snp = false; a data directory from before the endpoint ------------
printf 'attest_snp = false\n' >"$T/off.conf"
skr_start --config "$T/off.conf" || finish
attest "$T/req-good.json"
expect_error 404 SKR.REQUEST.NOT_FOUND "attest_snp = false: no attestation route"
AUTH= api GET /certs
expect_error 404 SKR.REQUEST.NOT_FOUND "attest_snp = false: no key set"
ctl release cvm-key --token "$T/good.tok" --wrapping-key "$T/wrap.pem" --out "$T/released-off"
expect_rc 3 "attest_snp = false: skrd's tokens are not trusted"
check "as an untrusted issuer" grep -q SKR.TOKEN.ISSUER <<<"$ERR"
skr_stop
OLDKEY=$(openssl pkey -in "$D/attest-signing-key.pem" -pubout 2>/dev/null)
rm "$D/attest-signing.pem" "$D/attest-signing-key.pem"
# The address the old token names, so that only its key differs.
skr_start --config "$T/skrd.conf" --listen "${GOOD_ADDR#https://}" || finish
check "a data directory without the key gets one at start" test -s "$D/attest-signing-key.pem"
check "logged" grep -q "attestation-signing key created" "$T/skrd.log"
check "a new key" test "$(openssl pkey -in "$D/attest-signing-key.pem" -pubout 2>/dev/null)" != "$OLDKEY"
ctl release cvm-key --token "$T/good.tok" --wrapping-key "$T/wrap.pem" --out "$T/released-old"
expect_rc 3 "a token of the previous key no longer releases"
check "for its unknown kid" grep -q SKR.TOKEN.KID <<<"$ERR"
skr_stop
rm "$D/attest-signing.pem"
"$SKRD" serve --data "$D" --listen 127.0.0.1:0 --config "$T/skrd.conf" 2>"$T/half.err" &
HALF=$!
skr_track "$HALF"
wait "$HALF"
check "a key without its certificate stops skrd" test $? -ne 0
check "saying why" grep -q "attest-signing" "$T/half.err"

# ---- rate limit -------------------------------------------------------------------
printf 'snp_roots = %s\nrelease_limit = 2\n' "$EV/roots.pem" >"$T/limit.conf"
rm -f "$D/attest-signing-key.pem"
skr_start --config "$T/limit.conf" || finish
for i in 1 2; do attest "$T/req-good.json"; done
expect_status 200 "within the limit"
attest "$T/req-good.json"
expect_error 429 SKR.RATE_LIMITED "attestation attempts per peer are limited"
skr_stop
finish
