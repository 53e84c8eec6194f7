#!/usr/bin/env bash
# Integration: every skrctl subcommand against the real skrd, its exit
# statuses (0 ok, 1 error, 2 usage, 3 denied) and error lines, TLS trust
# (wrong CA, pin mismatch), server down, and an attacker in the middle who
# tampers with or replays release responses (tests/client/tamper_proxy.py).
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
PROXY=$SKR_TESTS_DIR/../client/tamper_proxy.py

skr_init || finish
PROXY_PID=
ta_start || finish
trap 'kill $PROXY_PID 2>/dev/null; skr_cleanup' EXIT
skr_start --config "$T/skrd.conf" || finish

expect_err() { # expect_err ID DESC: stderr is "skrctl: ID: ..."
	if grep -q "^skrctl: $1: " <<<"$ERR"; then pass "$2"; else
		failed "$2: stderr '$ERR', want 'skrctl: $1: ...'"
	fi
}
mode_of() { stat -c %a "$1" 2>/dev/null; }

printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/cvm.json"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
head -c 32 /dev/urandom >"$T/k-oct"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok"
"$TA" token --dir "$TAD" --tee tdx --wrapping-key "$T/tee.pem" >"$T/tdx.tok"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce nonce-A >"$T/a.tok"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce nonce-B >"$T/b.tok"

# ---- status, nonce ---------------------------------------------------------
ctl status
expect_rc 0 "status"
check "status says ready" grep -q "ready  yes" <<<"$OUT"
ctl --json status
check "status --json" test "$(jq -r .ready <<<"$OUT")" = true
ctl nonce
expect_rc 0 "nonce"
check "nonce prints one" test -n "$OUT"

# ---- keys ------------------------------------------------------------------
ctl key create c-oct --kty oct --size 256 --exportable --policy "$T/cvm.json" --tag team=storage --tag env=test
expect_rc 0 "key create oct, exportable, with tags"
check "human output names the kid" grep -q "^kid .*/keys/c-oct/" <<<"$OUT"
ctl --json key create c-rsa --kty RSA --size 2048 --ops sign,verify
expect_rc 0 "key create RSA --json"
check "RSA bundle has n" test "$(jq -r '.key.n | length > 300' <<<"$OUT")" = true
ctl key create c-ec --kty EC --crv P-384 --json
expect_rc 0 "key create EC P-384"
check "EC bundle" test "$(jq -r .key.crv <<<"$OUT")" = P-384
ctl key create c-bad --kty oct --exportable
expect_rc 1 "exportable without policy is an error"
expect_err SKR.KEY.POLICY_REQUIRED "... named by its id"
ctl key import c-imp-oct --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "key import --oct"
ctl key import c-imp-ec --pem "$T/ec.pem"
expect_rc 0 "key import --pem"
jq -n --arg k "$(b64url <"$T/k-oct")" '{kty:"oct",k:$k}' >"$T/k.jwk"
ctl key import c-imp-jwk --jwk "$T/k.jwk"
expect_rc 0 "key import --jwk"
ctl key list
expect_rc 0 "key list"
check "list names the keys" grep -q "^c-imp-jwk " <<<"$OUT"
ctl --json key list
check "key list --json" test "$(jq '.value | length' <<<"$OUT")" -ge 6
ctl key show c-oct
expect_rc 0 "key show"
check "show: exportable" grep -q "^exportable  yes" <<<"$OUT"
V1=$(SKR_TOKEN=$ADMIN "$SKRCTL" --json key show c-oct | jq -r '.key.kid' | sed 's|.*/||')
ctl key rotate c-oct
expect_rc 0 "key rotate"
ctl --json key versions c-oct
check "two versions after rotate" test "$(jq '.value | length' <<<"$OUT")" = 2
ctl key show c-oct --version "$V1" --json
check "key show --version" test "$(jq -r .key.kid <<<"$OUT" | sed 's|.*/||')" = "$V1"
ctl key update c-oct --version "$V1" --disable --tag owner=ops --json
expect_rc 0 "key update --disable --tag"
check "update applied" test "$(jq -r '.attributes.enabled, .tags.owner' <<<"$OUT" | tr '\n' ' ')" = "false ops "
ctl key update c-oct --version "$V1" --enable
expect_rc 0 "key update --enable"
ctl key show nothing-here
expect_rc 1 "key show of an unknown key"
expect_err SKR.KEY.NOT_FOUND "... SKR.KEY.NOT_FOUND"

ctl key backup c-imp-jwk --out "$T/backup"
expect_rc 0 "key backup"
check "backup file is 0600" test "$(mode_of "$T/backup")" = 600
ctl key backup c-imp-jwk --out "$T/backup"
expect_rc 1 "key backup refuses to overwrite"
ctl key delete c-imp-jwk
expect_rc 0 "key delete"
ctl key deleted
check "key deleted lists it" grep -q "c-imp-jwk" <<<"$OUT"
ctl key deleted c-imp-jwk --json
check "key deleted NAME" test "$(jq -r '.recoveryId | length > 0' <<<"$OUT")" = true
ctl key recover c-imp-jwk
expect_rc 0 "key recover"
ctl key show c-imp-jwk
expect_rc 0 "recovered key is back"
ctl key delete c-imp-jwk
ctl key purge c-imp-jwk
expect_rc 0 "key purge"
ctl key show c-imp-jwk
expect_rc 1 "purged key is gone"
ctl key restore --in "$T/backup"
expect_rc 0 "key restore"
ctl key show c-imp-jwk
expect_rc 0 "restored key is back"

# ---- release and evaluate --------------------------------------------------
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel.key"
expect_rc 0 "release to a file"
check "released bytes are the imported key" cmp -s "$T/rel.key" "$T/k-oct"
check "released key file is 0600" test "$(mode_of "$T/rel.key")" = 600
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel.key"
expect_rc 1 "release refuses to overwrite"
check "... and leaves the file alone" cmp -s "$T/rel.key" "$T/k-oct"
chmod 0644 "$T/rel.key"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel.key" --force --enc RSA_AES_KEY_WRAP_384
expect_rc 0 "release --force --enc RSA_AES_KEY_WRAP_384"
check "... replaces the file with a 0600 one" test "$(mode_of "$T/rel.key")" = 600
check "... holding the key" cmp -s "$T/rel.key" "$T/k-oct"
ctl release c-imp-oct --token "$T/tdx.tok" --wrapping-key "$T/tee.pem" --out "$T/rel.key" --force
expect_rc 3 "a denied release with --force exits 3"
check "... and leaves the existing key file as it was" cmp -s "$T/rel.key" "$T/k-oct"
check "... and no stray file beside it" test "$(ls -A "$T" | grep -c '^\.rel\.key\.')" = 0
RC=0
SKR_TOKEN= "$SKRCTL" release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out - >"$T/stdout.key" 2>"$T/ctl.err" || RC=$?
expect_rc 0 "release --out - without a bearer token"
check "release to stdout" cmp -s "$T/stdout.key" "$T/k-oct"
ctl release c-rsa --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/x"
expect_rc 3 "release of a non-exportable key is denied (exit 3)"
ctl release c-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rsa-or-oct.key" --json
expect_rc 0 "release --json"
check "release --json names kid and kty" test "$(jq -r .kty <<<"$OUT")" = oct
ctl release c-imp-oct --token "$T/tdx.tok" --wrapping-key "$T/tee.pem" --out "$T/denied.key"
expect_rc 3 "a denied release exits 3"
expect_err SKR.POLICY.DENIED "... with SKR.POLICY.DENIED"
check "a denied release leaves no file" test ! -e "$T/denied.key"
ctl release c-imp-oct --token "$T/a.tok" --wrapping-key "$T/tee.pem" --nonce nonce-B --out "$T/x"
expect_rc 3 "token nonce differs from the request nonce: exit 3"
expect_err SKR.NONCE.MISMATCH "... SKR.NONCE.MISMATCH"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/ec.pem" --out "$T/x"
expect_rc 1 "an EC wrapping key is refused locally"
ctl evaluate c-imp-oct --token "$T/cvm.tok"
expect_rc 0 "evaluate: allow exits 0"
ctl evaluate c-imp-oct --token "$T/tdx.tok"
expect_rc 3 "evaluate: deny exits 3"
check "evaluate shows the trace" grep -q "x-ms-attestation-type" <<<"$OUT"
ctl --json evaluate c-imp-oct --token "$T/tdx.tok"
check "evaluate --json" test "$(jq -r .decision <<<"$OUT")" = deny

# ---- tokens, authorities, audit, policy -------------------------------------
ctl token create --role reader --name cli-reader
expect_rc 0 "token create"
READER=$OUT
check "token create prints the secret alone" test "$(wc -l <<<"$READER")" = 1
TID=$(SKR_TOKEN=$ADMIN "$SKRCTL" --json token list | jq -r '.value[] | select(.name == "cli-reader") | .id')
check "token list --json finds it" test -n "$TID"
ctl token list
check "token list (human)" grep -q "cli-reader" <<<"$OUT"
RC=0
SKR_TOKEN=$READER "$SKRCTL" key create r-key --kty oct >/dev/null 2>"$T/ctl.err" || RC=$?
ERR=$(cat "$T/ctl.err")
expect_rc 1 "a reader may not create keys"
expect_err SKR.AUTH.FORBIDDEN "... SKR.AUTH.FORBIDDEN"
RC=0
SKR_TOKEN=bogus "$SKRCTL" key list --auth "$READER" >/dev/null 2>&1 || RC=$?
expect_rc 0 "--auth overrides SKR_TOKEN"
ctl token revoke "$TID"
expect_rc 0 "token revoke"
RC=0
SKR_TOKEN=$READER "$SKRCTL" key list >/dev/null 2>&1 || RC=$?
expect_rc 1 "a revoked token is refused"
ctl token create
expect_rc 2 "token create without --role is a usage error"
ctl authority list
expect_rc 0 "authority list"
check "authority list names the issuer" grep -qF "$ISS" <<<"$OUT"
ctl authority refresh "$ISS"
expect_rc 0 "authority refresh"
ctl authority refresh https://nope.example
expect_rc 1 "authority refresh of an unknown issuer: exit 1 (3 is for releases)"
expect_err SKR.TOKEN.ISSUER "... SKR.TOKEN.ISSUER"
ctl audit list --outcome denied
expect_rc 0 "audit list --outcome denied"
check "the denied release is in the audit log" grep -q "key.release .* denied" <<<"$OUT"
ctl --json audit list --key c-imp-oct --maxresults 3
check "audit list --json --maxresults" test "$(jq '.value | length' <<<"$OUT")" = 3
ctl audit verify
expect_rc 0 "audit verify"
check "audit verify says ok" grep -q "audit chain ok" <<<"$OUT"
ctl policy check "$T/cvm.json"
expect_rc 0 "policy check dispatches"

# ---- TLS trust, flags over environment, server down -------------------------
FP=$(openssl x509 -in "$D/tls-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
CAFP=$(openssl x509 -in "$D/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
RC=0
SKR_CACERT=$TAD/ca.pem SKR_TOKEN=$ADMIN "$SKRCTL" key list >/dev/null 2>"$T/ctl.err" || RC=$?
ERR=$(cat "$T/ctl.err")
expect_rc 1 "wrong CA: exit 1"
expect_err SKR.CLIENT.TLS "... SKR.CLIENT.TLS"
RC=0
SKR_CACERT=$TAD/ca.pem SKR_TOKEN=$ADMIN "$SKRCTL" key list --cacert "$D/ca.pem" >/dev/null 2>&1 || RC=$?
expect_rc 0 "--cacert overrides SKR_CACERT"
RC=0
SKR_CACERT= SKR_TOKEN=$ADMIN "$SKRCTL" key list --pin "$FP" >/dev/null 2>&1 || RC=$?
expect_rc 0 "--pin of the server certificate, no CA"
RC=0
SKR_CACERT= SKR_TOKEN=$ADMIN "$SKRCTL" key list --pin "$CAFP" >/dev/null 2>"$T/ctl.err" || RC=$?
ERR=$(cat "$T/ctl.err")
expect_rc 1 "pinned certificate mismatch: exit 1"
expect_err SKR.CLIENT.TLS "... SKR.CLIENT.TLS"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/pin.key" --signing-cert "$D/release-signing.pem"
expect_rc 0 "release with --signing-cert pinned"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/pin2.key" --signing-cert "$D/ca.pem"
expect_rc 1 "release with another --signing-cert is refused"
expect_err SKR.CLIENT.RESPONSE_SIGNATURE "... SKR.CLIENT.RESPONSE_SIGNATURE"
check "... and writes nothing" test ! -e "$T/pin2.key"

# ---- an attacker in the middle ----------------------------------------------
if command -v python3 >/dev/null; then
	# The attacker's TLS certificate is one the client trusts; the
	# release-signing key is what it does not have.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=proxy -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$T/proxy-key.pem" -out "$T/proxy.pem" 2>/dev/null
	proxy() { # proxy MODE: start it, set PADDR
		[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
		rm -f "$T/proxy.port"
		python3 "$PROXY" "$1" "$T/proxy.pem" "$T/proxy-key.pem" "$SKR_ADDR" "$D/ca.pem" \
			"$T/proxy.port" 2>"$T/proxy.log" &
		PROXY_PID=$!
		for _ in $(seq 200); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
		PADDR=https://127.0.0.1:$(cat "$T/proxy.port")
	}
	via() { # via ARGS...: skrctl through the proxy
		RC=0
		OUT=$(SKR_TOKEN=$ADMIN "$SKRCTL" --addr "$PADDR" --cacert "$T/proxy.pem" \
			--signing-ca "$D/ca.pem" "$@" 2>"$T/ctl.err") || RC=$?
		ERR=$(cat "$T/ctl.err")
	}
	proxy pass
	via release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/p.key"
	expect_rc 0 "through an honest proxy the release works"
	proxy tamper
	via key list
	expect_rc 0 "tampering proxy: admin calls pass through"
	via release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/t.key"
	expect_rc 1 "a tampered release response is refused"
	expect_err SKR.CLIENT.RESPONSE_SIGNATURE "... SKR.CLIENT.RESPONSE_SIGNATURE"
	check "... and writes nothing" test ! -e "$T/t.key"
	proxy replay
	via release c-imp-oct --token "$T/a.tok" --wrapping-key "$T/tee.pem" --nonce nonce-A --out "$T/r1.key"
	expect_rc 0 "replaying proxy: the first release (nonce A) works"
	via release c-imp-oct --token "$T/b.tok" --wrapping-key "$T/tee.pem" --nonce nonce-B --out "$T/r2.key"
	expect_rc 3 "a replayed response for another nonce is refused"
	expect_err SKR.NONCE.MISMATCH "... SKR.NONCE.MISMATCH"
	check "... and writes nothing" test ! -e "$T/r2.key"
	resigned() { # resigned KEY CERT OUT: a release through a re-signing proxy
		export RESIGN_KEY=$1 RESIGN_CERT=$2
		proxy resign
		via release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$3"
	}
	# The attacker holds skrd's own TLS key, whose certificate the same CA
	# issued: its signature does not speak for releases.
	resigned "$D/tls-key.pem" "$D/tls-cert.pem" "$T/s1.key"
	expect_rc 1 "a response re-signed with skrd's TLS key (same CA) is refused"
	expect_err SKR.CLIENT.RESPONSE_SIGNATURE "... SKR.CLIENT.RESPONSE_SIGNATURE"
	check "... and writes nothing" test ! -e "$T/s1.key"
	resigned "$D/release-signing-ec-key.pem" "$D/release-signing-ec.pem" "$T/s2.key"
	expect_rc 0 "the same re-signing with the EC release-signing key is taken"
	check "... and gives the same key" cmp -s "$T/s2.key" "$T/pin.key"
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
else
	echo "# skipped the proxy checks: no python3"
fi

skr_stop
ctl key list
expect_rc 1 "server down: exit 1"
expect_err SKR.CLIENT.TRANSPORT "... SKR.CLIENT.TRANSPORT"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/down.key"
expect_rc 1 "release with the server down: exit 1"
check "... and writes nothing" test ! -e "$T/down.key"

# ---- skrd renew: certificates re-issued from the data directory's CA ---------
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
pub() { openssl x509 -in "$1" -noout -pubkey; }
sums() { sha256sum "$D"/*.pem; }
# A release-signing certificate as data directories had it before the
# release-signing extended key usage: CA trust refuses it, a pin takes it.
openssl req -new -key "$D/release-signing-key.pem" -subj "/O=skr/CN=skr release signing" 2>/dev/null |
	openssl x509 -req -CA "$D/ca.pem" -CAkey "$D/ca-key.pem" -set_serial 7 -days 30 \
		-extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n') \
		2>/dev/null >"$T/old-sign.pem"
cat "$T/old-sign.pem" "$D/ca.pem" >"$D/release-signing.pem"
skr_start --config "$T/skrd.conf" || finish
check "skrd warns about a release-signing certificate without the usage" \
	grep -q 'lacks the release-signing extended key usage' "$T/skrd.log"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/old1.key"
expect_rc 1 "... and a client trusting ca.pem refuses its responses"
expect_err SKR.CLIENT.RESPONSE_SIGNATURE "... SKR.CLIENT.RESPONSE_SIGNATURE"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/old2.key" \
	--signing-cert "$D/release-signing.pem"
expect_rc 0 "... while a client pinning it takes them"
skr_stop

OLDSUMS=$(sums)
"$SKRD" renew --data "$D" >/dev/null 2>&1
check "renew without --tls or --signing: usage (2)" test $? = 2
"$SKRD" renew --data "$D" --signing --name x.example >/dev/null 2>&1
check "renew --name without --tls: usage (2)" test $? = 2
"$SKRD" renew --data "$D" --tls --name 'a,DNS:evil' >/dev/null 2>&1
check "renew --name with a list in it: error (1)" test $? = 1
mv "$D/ca-key.pem" "$T/ca-key.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/ca-key.pem" 2>/dev/null
"$SKRD" renew --data "$D" --tls --signing 2>"$T/renew.err"
check "renew with a CA key that is not the CA's: error (1)" test $? = 1
rm -f "$D/ca-key.pem"
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew without ca-key.pem: error (1)" test $? = 1
check "... saying what it needs" grep -q 'ca-key.pem' "$T/renew.err"
mv "$T/ca-key.pem" "$D/ca-key.pem"
# The data directory belongs to the service user and renew runs as root:
# a symlink in it is refused, never followed, for reading or writing.
echo "some other file" >"$T/elsewhere"
cp "$T/elsewhere" "$T/elsewhere.orig"
mv "$D/release-signing.pem" "$T/rs.pem"
ln -s "$T/elsewhere" "$D/release-signing.pem"
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew with a certificate that is a symlink: error (1)" test $? = 1
check "... the file it points at unchanged" cmp -s "$T/elsewhere" "$T/elsewhere.orig"
check "... the symlink left as it was" test -L "$D/release-signing.pem"
check "... saying symlinks are refused" grep -q 'symlink' "$T/renew.err"
rm "$D/release-signing.pem"
mv "$T/rs.pem" "$D/release-signing.pem"
mv "$D/ca-key.pem" "$T/ca-key.pem"
ln -s "$T/ca-key.pem" "$D/ca-key.pem"
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew with ca-key.pem a symlink (to the right key): error (1)" test $? = 1
rm "$D/ca-key.pem"
mv "$T/ca-key.pem" "$D/ca-key.pem"
# Files that belong together are all written before any is replaced: the
# TLS certificate refused leaves the TLS key as it was.
mv "$D/tls-cert.pem" "$T/tc.pem"
ln -s "$T/tc.pem" "$D/tls-cert.pem"
"$SKRD" renew --data "$D" --tls --name other.example 2>"$T/renew.err"
check "renew --tls with the certificate a symlink: error (1)" test $? = 1
check "... no temporary file is left" test -z "$(ls "$D" | grep '\.new$')"
rm "$D/tls-cert.pem"
mv "$T/tc.pem" "$D/tls-cert.pem"
check "refused renews changed no file" test "$(sums)" = "$OLDSUMS"

# No certificate outlives the CA: an expired CA is refused, one about to
# expire ends the new certificates with it.
cp "$D/ca.pem" "$T/ca.orig"
mkdir "$T/oldca"
: >"$T/oldca/index.txt"
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\nnew_certs_dir=%s\nrand_serial=yes\ndefault_md=sha256\npolicy=p\n[p]\norganizationName=supplied\ncommonName=supplied\n[x]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' \
	"$T/oldca" "$T/oldca" >"$T/oldca/ca.cnf"
openssl req -new -key "$D/ca-key.pem" -subj "/O=skr/CN=skr CA" -out "$T/oldca/csr.pem" 2>/dev/null
openssl ca -batch -notext -selfsign -keyfile "$D/ca-key.pem" -in "$T/oldca/csr.pem" \
	-out "$D/ca.pem" -startdate 20200101000000Z -enddate 20200201000000Z \
	-config "$T/oldca/ca.cnf" -extensions x 2>/dev/null
check "an expired CA with the same key made" openssl x509 -in "$D/ca.pem" -noout -subject
OLDSUMS=$(sums)
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew under an expired CA: error (1)" test $? = 1
check "... saying the CA has expired" grep -q 'ca.pem has expired' "$T/renew.err"
check "... changing no file" test "$(sums)" = "$OLDSUMS"
openssl req -x509 -key "$D/ca-key.pem" -subj "/O=skr/CN=skr CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE,pathlen:0 \
	-addext keyUsage=critical,keyCertSign,cRLSign -out "$D/ca.pem" 2>/dev/null
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew under a CA expiring in two days" test $? = 0
check "... says the certificates end with it" grep -q 'ca.pem expires in' "$T/renew.err"
check "... and they do" sh -c "! openssl x509 -in '$D/release-signing.pem' -noout -checkend $((2 * 86400))"
cp "$T/ca.orig" "$D/ca.pem"
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew under the original CA" test $? = 0
check_not "... with nothing to say about the CA" grep -q 'ca.pem expires' "$T/renew.err"

OLDPUB=$(pub "$D/release-signing.pem")
OLDFP=$(fp "$D/release-signing.pem")
# Run as root for a service user: the files keep their owner.
[ "$(id -u)" = 0 ] && chown 65534:65534 "$D/release-signing.pem" "$D/tls-key.pem"
"$SKRD" renew --data "$D" --signing 2>"$T/renew.err"
check "renew --signing" test $? = 0
check "... a new certificate" test "$(fp "$D/release-signing.pem")" != "$OLDFP"
check "... for the same key" test "$(pub "$D/release-signing.pem")" = "$OLDPUB"
check "... with the release-signing usage" \
	sh -c "openssl x509 -in '$D/release-signing.pem' -noout -text | grep -qE '1\.3\.6\.1\.5\.5\.7\.3\.36|Document Signing'"
check "... that the CA verifies" openssl verify -CAfile "$D/ca.pem" "$D/release-signing.pem"
check "... and the EC one too" openssl verify -CAfile "$D/ca.pem" "$D/release-signing-ec.pem"
check "... keys stay private (0600)" test "$(mode_of "$D/release-signing-key.pem")" = 600
check "... no temporary file is left" test -z "$(ls "$D" | grep '\.new$')"
[ "$(id -u)" = 0 ] && check "... renewed as root, the file keeps its owner" \
	test "$(stat -c %u:%g "$D/release-signing.pem")" = 65534:65534

OLDSAN=$(openssl x509 -in "$D/tls-cert.pem" -noout -ext subjectAltName)
OLDPUB=$(pub "$D/tls-cert.pem")
"$SKRD" renew --data "$D" --tls 2>"$T/renew.err"
check "renew --tls" test $? = 0
check "... a new TLS key" test "$(pub "$D/tls-cert.pem")" != "$OLDPUB"
check "... with the same names" \
	test "$(openssl x509 -in "$D/tls-cert.pem" -noout -ext subjectAltName)" = "$OLDSAN"
check "... TLS key 0600" test "$(mode_of "$D/tls-key.pem")" = 600
[ "$(id -u)" = 0 ] && check "... and keeps its owner" \
	test "$(stat -c %u:%g "$D/tls-key.pem")" = 65534:65534
check "... the key is the certificate's" \
	test "$(openssl pkey -in "$D/tls-key.pem" -pubout)" = "$(pub "$D/tls-cert.pem")"

skr_start --config "$T/skrd.conf" || finish
check_not "skrd no longer warns" grep -q 'lacks the release-signing' "$T/skrd.log"
ctl status
expect_rc 0 "a client trusting ca.pem talks to the renewed TLS certificate"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/renewed.key"
expect_rc 0 "... and takes releases signed under the renewed certificate"
check "... the same key as before" cmp -s "$T/renewed.key" "$T/pin.key"
# A --cacert bundle is no release-signing trust by default: any CA in it may
# issue document-signing certificates (public CAs for a proxy in front).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/other-ca-key.pem" -subj "/CN=another CA" -days 2 \
	-out "$T/other-ca.pem" 2>/dev/null
cat "$D/ca.pem" "$T/other-ca.pem" >"$T/bundle.pem"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" \
	--out "$T/bundle1.key" --cacert "$T/bundle.pem"
expect_rc 2 "release with a --cacert bundle and no signing trust: usage (2)"
check "... saying what to give" grep -q 'one CA of skrd (its ca.pem)' <<<"$ERR"
check "... and nothing written" test ! -e "$T/bundle1.key"
ctl release c-imp-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" \
	--out "$T/bundle2.key" --cacert "$T/bundle.pem" --signing-ca "$D/ca.pem"
expect_rc 0 "... with --signing-ca named, released"
skr_stop
"$SKRD" renew --data "$D" --tls --name keys.example.com 2>"$T/renew.err"
check "renew --tls --name" test $? = 0
check "... names the new host" \
	sh -c "openssl x509 -in '$D/tls-cert.pem' -noout -ext subjectAltName | grep -q 'DNS:keys.example.com'"
"$SKRD" renew --data "$D" --tls --name 10.0.0.5 2>"$T/renew.err"
check "renew --tls --name with an IP address" test $? = 0
check "... names it as an IP address" \
	sh -c "openssl x509 -in '$D/tls-cert.pem' -noout -ext subjectAltName | grep -q 'IP Address:10.0.0.5'"
LONG=$(printf 'a%.0s' $(seq 70)).example.com
"$SKRD" renew --data "$D" --tls --name "$LONG" 2>"$T/renew.err"
check "renew --tls --name longer than a CN may be" test $? = 0
check "... names it in the subjectAltName" \
	sh -c "openssl x509 -in '$D/tls-cert.pem' -noout -ext subjectAltName | grep -q 'DNS:$LONG'"

# ---- usage errors need no server --------------------------------------------
ctl key list --bogus
expect_rc 2 "unknown flag: exit 2"
ctl release c-oct --token "$T/cvm.tok" --wrapping-key "$T/tee.pem"
expect_rc 2 "release without --out: exit 2"
ctl key
expect_rc 2 "a group without a command: exit 2"

finish
