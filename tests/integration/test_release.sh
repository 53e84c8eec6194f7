#!/usr/bin/env bash
# Integration: secure key release end to end (docs/release.md).  The
# real skrd trusts the real skr-test-authority over HTTPS (OpenID discovery
# through the config file), tokens come from that authority, and releases go
# through skrctl (libskr verifies the signed response and unwraps).
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}

skr_init || finish

# The test attestation authority, on its own port with its own CA.
ta_start || finish
{ printf 'token_skew = 60\nnonce_ttl = 10\n'; cat "$T/skrd.conf"; } >"$T/skrd.conf.new"
mv "$T/skrd.conf.new" "$T/skrd.conf"
skr_start --config "$T/skrd.conf" || finish

policy() { # policy TYPE [extra top-level JSON members]
	printf '{"version":"1.0.0",%s"anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"%s"},{"claim":"x-ms-isolation-tee.x-ms-compliance-status","equals":"azure-compliant-cvm"}]}]}' "${2:-}" "$ISS" "$1"
}
policy sevsnpvm >"$T/cvm.json"
policy sevsnpvm '"requireServerNonce":true,' >"$T/cvm-nonce.json"

token() { # token OUTFILE ARGS... (minted offline with the authority's key)
	local out=$1
	shift
	"$TA" token --dir "$TAD" "$@" >"$out" 2>>"$T/ta.err"
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.pem" 2>/dev/null
token "$T/cvm.tok" --tee sevsnp --wrapping-key "$T/tee.pem"
check "minted a CVM token" test -s "$T/cvm.tok"

release() { # release NAME OUT [ARGS...]
	local name=$1 out=$2
	shift 2
	rm -f "$out"
	ctl release "$name" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$out" "$@"
}

# ---- every key type x every enc; the released key equals the stored one --
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k-rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k-ec256.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/k-ec384.pem" 2>/dev/null
head -c 32 /dev/urandom >"$T/k-oct"
for k in rsa ec256 ec384; do
	ctl key import "imp-$k" --pem "$T/k-$k.pem" --exportable --policy "$T/cvm.json"
	expect_rc 0 "import $k key"
done
ctl key import imp-oct --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "import oct key"
for k in rsa ec256 ec384 oct; do
	for enc in CKM_RSA_AES_KEY_WRAP RSA_AES_KEY_WRAP_256 RSA_AES_KEY_WRAP_384; do
		release "imp-$k" "$T/out-$k-$enc" --enc "$enc"
		expect_rc 0 "release $k with $enc"
		if [ "$k" = oct ]; then
			check "released oct bytes equal the imported ones ($enc)" cmp -s "$T/out-$k-$enc" "$T/k-oct"
		else
			check "released $k private key equals the imported one ($enc)" cmp -s \
				<(openssl pkey -in "$T/out-$k-$enc" -outform DER 2>/dev/null) \
				<(openssl pkey -in "$T/k-$k.pem" -outform DER 2>/dev/null)
		fi
		check "released key file is mode 0600" test "$(stat -c %a "$T/out-$k-$enc")" = 600
	done
done
# A key skrd generated: the released RSA key matches the bundle's modulus.
ctl key create gen-rsa --kty RSA --size 3072 --exportable --policy "$T/cvm.json"
release gen-rsa "$T/gen-rsa.pem"
expect_rc 0 "release a generated RSA-3072 key"
ctl --json key show gen-rsa
check "generated key: released modulus equals the bundle's" test \
	"$(jq -r .key.n <<<"$OUT")" = \
	"$(openssl rsa -in "$T/gen-rsa.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)"
# Key names are case-insensitive and versions hex of either case: a key
# created as DiskKey is released as diskkey (and by its version in upper
# case), and libskr accepts the answer that names it DiskKey.
ctl key create DiskKey --kty oct --size 256 --exportable --policy "$T/cvm.json"
release diskkey "$T/diskkey-1"
expect_rc 0 "a key created as DiskKey is released as diskkey"
ctl --json key show DISKKEY
dk_version=$(jq -r .key.kid <<<"$OUT" | sed 's,.*/,,')
release DISKKEY "$T/diskkey-2" --version "${dk_version^^}"
expect_rc 0 "... and as DISKKEY at its version in upper case"
check "both releases are the same key" cmp -s "$T/diskkey-1" "$T/diskkey-2"
# An oct key skrd generated: a test encryption round trip with two releases.
ctl key create gen-oct --kty oct --size 256 --exportable --policy "$T/cvm.json"
release gen-oct "$T/gen-oct-1"
release gen-oct "$T/gen-oct-2" --enc RSA_AES_KEY_WRAP_384
echo secret-message >"$T/msg"
openssl enc -aes-256-cbc -K "$(xxd -p -c 64 "$T/gen-oct-1")" -iv 00000000000000000000000000000000 -in "$T/msg" -out "$T/msg.enc"
check "oct key: ciphertext under the first release decrypts with the second" bash -c \
	"openssl enc -d -aes-256-cbc -K $(xxd -p -c 64 "$T/gen-oct-2") -iv 00000000000000000000000000000000 -in $T/msg.enc | grep -q secret-message"
release imp-oct - 
check "release to standard output" test "$(printf '%s' "$OUT" | wc -c)" -gt 0

# ---- the response on the wire ----------------------------------------------
AUTH=
api POST /keys/imp-oct//release "{\"target\":\"$(cat "$T/cvm.tok")\",\"nonce\":\"n-1\"}"
expect_error 403 SKR.NONCE.MISMATCH "request nonce not in the token: denied"
token "$T/nonce.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce n-1
api POST /keys/imp-oct//release "{\"target\":\"$(cat "$T/nonce.tok")\",\"nonce\":\"n-1\"}"
expect_status 200 "release with a matching nonce (empty version segment)"
JWS=$(jq -r .value <<<"$BODY")
HDR=$(cut -d. -f1 <<<"$JWS" | tr '_-' '/+'); while [ $((${#HDR} % 4)) != 0 ]; do HDR="$HDR="; done
PAY=$(cut -d. -f2 <<<"$JWS" | tr '_-' '/+'); while [ $((${#PAY} % 4)) != 0 ]; do PAY="$PAY="; done
BODY=$(base64 -d <<<"$HDR")
expect_json .alg RS256 "response JWS is RS256 by default"
expect_json .typ JWT "typ JWT"
expect_json '.kid | test("^[0-9A-F]{40}$")' true "kid is the uppercase SHA-1 thumbprint"
expect_json '.x5c | length' 2 "x5c carries the signing chain"
check "x5t#S256 present" jq -e '."x5t#S256"' <<<"$BODY"
BODY=$(base64 -d <<<"$PAY")
expect_json .request.nonce n-1 "nonce echoed"
expect_json .request.enc CKM_RSA_AES_KEY_WRAP "default enc"
expect_json .request.kid "$SKR_ADDR/keys/imp-oct" "request kid"
expect_json '.response.key.key.kty' oct-HSM "released kty"
expect_json '.response.key.release_policy.contentType' "application/json; charset=utf-8" "policy content type"
HSM=$(jq -r .response.key.key.key_hsm <<<"$BODY" | tr '_-' '/+'); while [ $((${#HSM} % 4)) != 0 ]; do HSM="$HSM="; done
BODY=$(base64 -d <<<"$HSM")
expect_json '.header.kid' TpmEphemeralEncryptionKey "key_hsm names the wrapping key"
expect_json '.header.alg' dir "key_hsm alg dir"
expect_json .schema_version 1.0 "key_hsm schema"
check "ciphertext: modulus-length OAEP part + KWP" test \
	"$(jq -r .ciphertext <<<"$BODY" | tr '_-' '/+' | { read -r c; while [ $((${#c} % 4)) != 0 ]; do c="$c="; done; printf '%s' "$c"; } | base64 -d | wc -c)" = $((256 + 40))
AUTH=$ADMIN

# ---- version selection, state of the key ------------------------------------
ctl key rotate imp-oct
OLD=$(jq -r '.value[0].kid' <<<"$(SKR_TOKEN=$ADMIN "$SKRCTL" --json key versions imp-oct 2>/dev/null || true)" 2>/dev/null)
ctl --json key versions imp-oct
V_OLD=$(jq -r '.value[0].kid' <<<"$OUT" | sed 's|.*/||')
V_NEW=$(jq -r '.value[1].kid' <<<"$OUT" | sed 's|.*/||')
release imp-oct "$T/v-cur"
check "without a version the newest is released" bash -c "! cmp -s $T/v-cur $T/k-oct"
release imp-oct "$T/v-old" --version "$V_OLD"
check "an explicit old version releases the old bytes" cmp -s "$T/v-old" "$T/k-oct"
ctl key update imp-oct --version "$V_NEW" --disable
release imp-oct "$T/v-fallback"
check "newest disabled: the newest enabled version is released" cmp -s "$T/v-fallback" "$T/k-oct"
release imp-oct "$T/v-dis" --version "$V_NEW"
expect_rc 3 "an explicitly named disabled version is denied"
check "  ... with SKR.KEY.DISABLED" grep -q SKR.KEY.DISABLED <<<"$ERR"
ctl key create plain --kty oct
release plain "$T/x"
expect_rc 3 "a non-exportable key is never released"
check "  ... SKR.KEY.NOT_EXPORTABLE" grep -q NOT_EXPORTABLE <<<"$ERR"
ctl key delete imp-ec384
release imp-ec384 "$T/x"
expect_rc 1 "a deleted key is not released"
release nosuchkey "$T/x"
expect_rc 1 "an unknown key: error"
check "no output file after failures" test ! -e "$T/x"

# ---- policy denial and evaluate ----------------------------------------------
token "$T/tdx.tok" --tee tdx --wrapping-key "$T/tee.pem"
ctl release imp-rsa --token "$T/tdx.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "TDX token against a SEV-SNP policy: denied (exit 3)"
check "denial names the failing claim" grep -q 'x-ms-isolation-tee.x-ms-attestation-type' <<<"$ERR"
check "denial does not reveal the claim's value" bash -c "! grep -q tdxvm <<<'$ERR'"
ctl --json evaluate imp-rsa --token "$T/tdx.tok"
expect_rc 3 "evaluate says deny"
check "evaluate returns the trace with actual values" bash -c "jq -e '.trace.rules[0].conditions[0].actual == \"tdxvm\"' <<<'$OUT'"
ctl --json evaluate imp-rsa --token "$T/cvm.tok"
expect_rc 0 "evaluate says allow"
check "evaluate names the wrapping key" bash -c "jq -e '.wrapping_key == \"TpmEphemeralEncryptionKey\"' <<<'$OUT'"
AUTH=
api POST /keys/imp-rsa/evaluate "{\"target\":\"$(cat "$T/cvm.tok")\"}"
expect_error 401 SKR.AUTH.MISSING "evaluate needs a bearer token"
AUTH=$ADMIN

# ---- token checks through the server ------------------------------------------
token "$T/expired.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --iat-offset -7200 --lifetime 600
ctl release imp-rsa --token "$T/expired.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "expired token: denied"
check "  ... SKR.TOKEN.EXPIRED" grep -q SKR.TOKEN.EXPIRED <<<"$ERR"
token "$T/future.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --iat-offset 3600
ctl release imp-rsa --token "$T/future.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "token from the future: denied"
sed 's/\.\([A-Za-z0-9_-]\)/.A\1/' "$T/cvm.tok" >"$T/tampered.tok"
ctl release imp-rsa --token "$T/tampered.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
check "tampered token: refused" test "$RC" != 0
"$TA" token --dir "$TAD" --issuer https://evil.example/skr-test-attestation --tee sevsnp --wrapping-key "$T/tee.pem" --header 'jku=null' >"$T/evil.tok" 2>/dev/null
ctl release imp-rsa --token "$T/evil.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "untrusted issuer: denied"
check "  ... SKR.TOKEN.ISSUER" grep -q SKR.TOKEN.ISSUER <<<"$ERR"
ctl release imp-rsa --token "$T/cvm.tok" --wrapping-key "$T/other.pem" --out "$T/x"
expect_rc 1 "a token for another TEE's key cannot be unwrapped here"

# ---- wrapping key selection -------------------------------------------------
token "$T/sgx.tok" --tee sgx
AUTH=
api POST /keys/imp-rsa/release "{\"target\":\"$(cat "$T/sgx.tok")\"}"
check "SGX token without a wrapping key is refused" test "$STATUS" != 200
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/weak.pem" 2>/dev/null
WN=$(openssl rsa -in "$T/weak.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)
token "$T/weak.tok" --tee sevsnp --claim "x-ms-runtime.keys=[{\"kty\":\"RSA\",\"kid\":\"weak\",\"key_ops\":[\"encrypt\"],\"n\":\"$WN\",\"e\":\"AQAB\"}]"
api POST /keys/imp-rsa/release "{\"target\":\"$(cat "$T/weak.tok")\"}"
expect_error 400 SKR.WRAPKEY.INVALID "1024-bit wrapping key refused"
token "$T/ec.tok" --tee sevsnp --claim 'x-ms-runtime.keys=[{"kty":"EC","kid":"e","key_ops":["encrypt"],"crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]'
api POST /keys/imp-rsa/release "{\"target\":\"$(cat "$T/ec.tok")\"}"
expect_error 400 SKR.WRAPKEY.MISSING "non-RSA wrapping key refused"
TN=$(openssl rsa -in "$T/tee.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)
token "$T/nokid.tok" --tee sevsnp --claim "x-ms-runtime.keys=[{\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"],\"n\":\"$TN\",\"e\":\"AQAB\"}]"
api POST /keys/imp-rsa/release "{\"target\":\"$(cat "$T/nokid.tok")\"}"
expect_error 400 SKR.WRAPKEY.MISSING "wrapping key without kid refused"
api POST /keys/imp-rsa/release '{"target":"x.y.z"}'
check "garbage token refused" test "$STATUS" = 400 -o "$STATUS" = 403
api POST /keys/imp-rsa/release '{"target":"a"' 
expect_error 400 SKR.JSON.MALFORMED "malformed release body"
api POST /keys/imp-rsa/release "{\"target\":\"$(cat "$T/cvm.tok")\",\"enc\":\"A256KW\"}"
expect_error 400 SKR.WRAP.ENC_UNSUPPORTED "unknown enc"
api POST /keys/imp-rsa/release '{"nonce":"x"}'
expect_error 400 SKR.REQUEST.INVALID "no target"

# ---- server nonces -------------------------------------------------------------
AUTH=$ADMIN
ctl key import sn-oct --oct "$T/k-oct" --exportable --policy "$T/cvm-nonce.json"
expect_rc 0 "key whose policy requires a server nonce"
release sn-oct "$T/x"
expect_rc 3 "a token without a server nonce is refused"
check "  ... SKR.NONCE.REQUIRED" grep -q SKR.NONCE.REQUIRED <<<"$ERR"
ctl nonce
N1=$OUT
check "GET /nonce gives a nonce" test -n "$N1"
token "$T/sn.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce "$N1"
ctl release sn-oct --token "$T/sn.tok" --wrapping-key "$T/tee.pem" --nonce "$N1" --out "$T/sn-1"
expect_rc 0 "release with a fresh server nonce"
check "  ... the right key" cmp -s "$T/sn-1" "$T/k-oct"
ctl release sn-oct --token "$T/sn.tok" --wrapping-key "$T/tee.pem" --nonce "$N1" --out "$T/sn-2"
expect_rc 3 "the same nonce again: refused"
check "  ... SKR.NONCE.REUSED" grep -q SKR.NONCE.REUSED <<<"$ERR"
FORGED=$(head -c 32 /dev/urandom | b64url)
token "$T/forged.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce "$FORGED"
ctl release sn-oct --token "$T/forged.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "a nonce the server never issued: refused"
check "  ... SKR.NONCE.INVALID" grep -q SKR.NONCE.INVALID <<<"$ERR"
ctl nonce
N2=$OUT
token "$T/sn2.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce "$N2"
ctl nonce
N3=$OUT
token "$T/sn3.tok" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce "$N3"
# Evaluate answers as a release would, and uses nothing up.
ctl --json evaluate sn-oct --token "$T/forged.tok"
expect_rc 3 "evaluate: a nonce the server never issued is a deny"
check "  ... naming SKR.NONCE.INVALID" grep -q SKR.NONCE.INVALID <<<"$OUT"
ctl evaluate sn-oct --token "$T/sn.tok"
expect_rc 3 "evaluate: a used nonce is a deny"
ctl evaluate sn-oct --token "$T/sn2.tok"
expect_rc 0 "evaluate: a fresh server nonce is an allow"
ctl evaluate sn-oct --token "$T/sn2.tok"
expect_rc 0 "... and is not used up by it"
ctl release sn-oct --token "$T/sn2.tok" --wrapping-key "$T/tee.pem" --out "$T/sn-3"
expect_rc 0 "second nonce used"

# Single use survives a restart.
skr_stop
skr_start --config "$T/skrd.conf" || finish
ctl release sn-oct --token "$T/sn2.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "a nonce used before a restart stays used"
check "  ... SKR.NONCE.REUSED" grep -q SKR.NONCE.REUSED <<<"$ERR"
# Expiry (nonce_ttl = 10 s in the config).
sleep 11
ctl release sn-oct --token "$T/sn3.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "an expired server nonce: refused"
check "  ... SKR.NONCE.EXPIRED" grep -q SKR.NONCE.EXPIRED <<<"$ERR"
ctl nonce
expect_rc 0 "a nonce after the others expired"
api GET /metrics
check "an expired nonce is kept for a lifetime (so it reads as expired)" \
	grep -qx 'skr_store_entries{kind="nonces"} 4' <<<"$BODY"
# Expired nonces do not pile up: the housekeeper removes those expired for
# more than a lifetime, with no request asking.  The test clock stands in
# for the wait.
if skrd_has_test_clock; then
	skr_stop
	SKR_TEST_CLOCK_OFFSET=3600 skr_start --config "$T/skrd.conf" || finish
	for _ in $(seq 100); do
		api GET /metrics
		grep -qx 'skr_store_entries{kind="nonces"} 0' <<<"$BODY" && break
		sleep 0.05
	done
	check "expired server nonces are removed with no request asking" \
		grep -qx 'skr_store_entries{kind="nonces"} 0' <<<"$BODY"
	skr_stop
	skr_start --config "$T/skrd.conf" || finish
fi

# ---- the authority rotates its signing key ---------------------------------------
# The first token with the new kid waits for the early key-set refresh
# instead of being refused.
curl -s --fail --cacert "$TAD/ca.pem" -X POST "$ISS/rotate" >/dev/null
token "$T/rot.tok" --tee sevsnp --wrapping-key "$T/tee.pem"
ctl release imp-oct --token "$T/rot.tok" --wrapping-key "$T/tee.pem" --out "$T/rot.key"
expect_rc 0 "the first token signed with an authority's new key is released"

# ---- audit ---------------------------------------------------------------------
api GET '/admin/audit?event=key.release&outcome=denied&maxresults=1000'
check "denied releases are audited" test "$(jq '.value | length' <<<"$BODY")" -ge 10
check "audit records carry iss and the trace digest" bash -c "jq -e '[.value[] | select(.reason == \"SKR.POLICY.DENIED\")][0] | (.iss == \"$ISS\") and (.trace_digest | length == 64)' <<<'$BODY'"
api GET '/admin/audit?event=key.release&outcome=ok&maxresults=1000'
check "allowed releases are audited" test "$(jq '.value | length' <<<"$BODY")" -ge 12
check "no token or key material in audit records" bash -c "! grep -q '$(cut -c1-60 "$T/cvm.tok")' <<<'$BODY'"
ctl audit verify
expect_rc 0 "audit chain verifies"
skr_stop
finish
