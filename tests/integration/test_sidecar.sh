#!/usr/bin/env bash
# Integration: a release checked the way a Key Vault client that knows
# nothing of skr checks it -- the confidential-containers SKR sidecar
# (docs/libskr.md, "Key Vault clients").  It posts only {"target"}, with an
# identity provider's bearer token skrd does not know and its own
# api-version; it takes x5c[0] as an RSA key, verifies the JWS with it, then
# verifies x5c as a TLS server's chain for the vault's host against its
# system roots (here: skrd's ca.pem), and unwraps with SHA-1 OAEP and
# AES-KWP as request.enc says.  Also: the certificate profile from skrd
# init and skrd renew.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
HOST=keys.example.test

b64d() { tr -- '-_' '+/' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d; }
eku() { openssl x509 -in "$1" -noout -ext extendedKeyUsage 2>/dev/null; }
sans() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null; }

skr_init --name "$HOST" || finish

# ---- the certificate profile ----------------------------------------------
for f in release-signing.pem release-signing-ec.pem; do
	check "$f: serverAuth" grep -q "TLS Web Server Authentication" <(eku "$D/$f")
	check "$f: the release-signing usage" grep -q "1.3.6.1.5.5.7.3.36" <(eku "$D/$f")
	check "$f: named for $HOST, localhost, 127.0.0.1 and ::1" \
		grep -q "DNS:$HOST, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" <(sans "$D/$f")
done
check_not "the TLS certificate has no release-signing usage" \
	grep -q "1.3.6.1.5.5.7.3.36" <(eku "$D/tls-cert.pem")

# ---- a release as the sidecar asks for it ----------------------------------
ta_start || finish
skr_start --config "$T/skrd.conf" || finish
export SKR_TOKEN=$ADMIN
printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/cvm.json"
head -c 32 /dev/urandom >"$T/k-oct"
ctl key import side-oct --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "import an oct key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
TOKEN=$("$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem")

# An Entra ID access token that means nothing to skrd.
AUTH=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCJ9.c2ln
api POST "/keys/side-oct/release?api-version=7.3-preview" "{\"target\":\"$TOKEN\"}"
expect_status 200 "release with a foreign bearer token, no nonce, no enc"
AUTH=$ADMIN
JWS=$(jq -r .value <<<"$BODY")
IFS=. read -r H P S <<<"$JWS"
b64d <<<"$H" >"$T/header.json"
b64d <<<"$P" >"$T/payload.json"
b64d <<<"$S" >"$T/sig.bin"
check "the header has alg RS256, kid, x5c and x5t#S256" \
	jq -e '.alg == "RS256" and (.kid | type) == "string" and (.x5c | length) >= 2 and (.["x5t#S256"] | type) == "string"' "$T/header.json"

# x5c[0] is an RSA key, and the JWS verifies with it.
jq -r '.x5c[0]' "$T/header.json" | base64 -d | openssl x509 -inform DER -out "$T/leaf.pem"
openssl x509 -in "$T/leaf.pem" -noout -pubkey >"$T/leaf-pub.pem"
check "x5c[0] holds an RSA key" sh -c "openssl pkey -pubin -in '$T/leaf-pub.pem' -noout -text | grep -q 'Public-Key: (2048 bit)'"
check "x5c[0] is skrd's release-signing certificate" \
	test "$(openssl x509 -in "$T/leaf.pem" -outform DER | od -An -tx1 -v)" = \
	"$(openssl x509 -in "$D/release-signing.pem" -outform DER | od -An -tx1 -v)"
printf '%s.%s' "$H" "$P" >"$T/signed"
check "the JWS verifies with x5c[0]'s key" \
	openssl dgst -sha256 -verify "$T/leaf-pub.pem" -signature "$T/sig.bin" "$T/signed"

# The chain as crypto/x509 checks it with VerifyOptions{DNSName}: for a TLS
# server (serverAuth on the chain), the host in the leaf's names.  The
# sidecar takes x5c[1..n-2] as intermediates and the system's roots.
: >"$T/inter.pem"
N=$(jq '.x5c | length' "$T/header.json")
for i in $(seq 1 $((N - 2))); do
	jq -r ".x5c[$i]" "$T/header.json" | base64 -d | openssl x509 -inform DER >>"$T/inter.pem"
done
UNTRUSTED=()
[ -s "$T/inter.pem" ] && UNTRUSTED=(-untrusted "$T/inter.pem")
verify() { openssl verify -CAfile "$D/ca.pem" ${UNTRUSTED[@]+"${UNTRUSTED[@]}"} -purpose sslserver -x509_strict "$@" "$T/leaf.pem"; }
check "the chain verifies as a TLS server's for $HOST" verify -verify_hostname "$HOST"
check "and for localhost" verify -verify_hostname localhost
check "and for 127.0.0.1" verify -verify_ip 127.0.0.1
check_not "not for another host" verify -verify_hostname other.example.test
check_not "not against another CA" openssl verify -CAfile "$TAD/ca.pem" -purpose sslserver \
	-verify_hostname "$HOST" "$T/leaf.pem"

# Unwrap as the sidecar: request.enc names the OAEP hash; key_hsm and its
# ciphertext are unpadded base64url; the first 256 bytes are the OAEP part.
check "request.enc is echoed though none was sent" \
	jq -e '.request.enc == "CKM_RSA_AES_KEY_WRAP" and .request["api-version"] == "7.3-preview"' "$T/payload.json"
# Go's json.Unmarshal fails the whole payload on one member of another type
# than the sidecar's structs declare.
check "every member the sidecar decodes has the type it declares" \
	jq -e '[.request | .["api-version"], .enc, .kid] +
		[.response.key.release_policy | .contentType, .data] +
		[.response.key.key | .kid, .kty, .key_hsm] + .response.key.key.key_ops |
		all(type == "string")' "$T/payload.json"
check "response.key.key has kid, kty, key_ops and key_hsm" \
	jq -e '.response.key.key | (.kid | type) == "string" and (.kty == "oct" or .kty == "oct-HSM") and (.key_ops | type) == "array" and (.key_hsm | type) == "string"' "$T/payload.json"
jq -r .response.key.key.key_hsm "$T/payload.json" | b64d >"$T/keyhsm.json"
jq -r .ciphertext "$T/keyhsm.json" | b64d >"$T/ct"
head -c 256 "$T/ct" >"$T/ct-oaep"
tail -c +257 "$T/ct" >"$T/ct-kwp"
openssl pkeyutl -decrypt -inkey "$T/tee.pem" -in "$T/ct-oaep" -out "$T/kek" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 2>/dev/null
openssl enc -d -id-aes256-wrap-pad -K "$(xxd -p -c 64 "$T/kek")" -iv A65959A6 \
	-in "$T/ct-kwp" -out "$T/released" 2>/dev/null
check "SHA-1 OAEP and AES-KWP give the imported key" cmp -s "$T/released" "$T/k-oct"
skr_stop

# ---- renew keeps the profile -----------------------------------------------
check "skrd renew --signing" "$SKRD" renew --data "$D" --signing
check "renewed: serverAuth and the release-signing usage" \
	sh -c "openssl x509 -in '$D/release-signing.pem' -noout -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication, 1.3.6.1.5.5.7.3.36'"
check "renewed: the same names" grep -q "DNS:$HOST, DNS:localhost" <(sans "$D/release-signing.pem")
check "skrd renew --tls --signing --name" "$SKRD" renew --data "$D" --tls --signing --name other.example.test
for f in tls-cert.pem release-signing.pem release-signing-ec.pem; do
	check "$f follows the new name" grep -q "DNS:other.example.test" <(sans "$D/$f")
done
check "the new signer verifies as other.example.test's" \
	openssl verify -CAfile "$D/ca.pem" -purpose sslserver -verify_hostname other.example.test "$D/release-signing.pem"

finish
