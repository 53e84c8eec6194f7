#!/usr/bin/env bash
# Integration: secrets hygiene.  After a session that imports, generates,
# rotates, backs up, restores and releases keys, fails authentication with
# wrong and revoked bearer tokens and sends hostile bodies that carry key
# material, the data directory (except the master key's own file), skrd's
# log, the audit records and every response body must hold no key's bytes,
# no master key and no bearer token -- raw, hex or base64 in any form.  The
# running skrd must not be dumpable, must have no core limit and must keep
# its master key in locked memory left out of core dumps.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
command -v python3 >/dev/null || skip "no python3"

skr_init || finish
MASTER_HEX=$(xxd -p -c 256 "$D/master.key")
check "the master key file is 32 bytes" test "${#MASTER_HEX}" = 64

# The test attestation authority: its key set as a file, tokens offline.
ta_offline || finish
check "test authority key set" jq -e '.keys | length > 0' "$T/jwks.json"
cat >"$T/skrd.conf" <<EOF
log_level = debug
[authority]
issuer = $ISS
source = $T/jwks.json
EOF
skr_start --config "$T/skrd.conf" || finish
printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/policy.json"

# Everything secret this session handles, one hex string per line.
SECRETS=$T/secrets
: >"$SECRETS"
secret_hex() { printf '%s\n' "$1" >>"$SECRETS"; }
secret_text() { printf '%s' "$1" | xxd -p -c 100000 >>"$SECRETS"; }
# The private numbers of a PEM key (d; for RSA also the primes), hex.
private_hex() {
	openssl pkey -in "$1" -text -noout 2>/dev/null | awk '
		/^[a-zA-Z]/ {
			if (on) print ""
			on = $0 ~ /^(privateExponent|prime1|prime2|priv):/
			next
		}
		on { gsub(/[ :]/, ""); printf "%s", $0 }
		END { if (on) print "" }' | sed 's/^00//'
}
secret_hex "$MASTER_HEX"
secret_text "$ADMIN"

# ---- the process ----------------------------------------------------------
check "skrd: no core dumps (RLIMIT_CORE 0)" \
	grep -Eq '^Max core file size +0 +0 ' "/proc/$SKRD_PID/limits"
check "skrd: the master key's page is locked in memory" \
	bash -c "grep -E '^VmLck:' /proc/$SKRD_PID/status | awk '\$2 > 0 {ok=1} END {exit !ok}'"
check "skrd: locked pages are left out of core dumps" \
	bash -c "grep -E '^VmFlags:.* lo .*dd|^VmFlags:.* dd .*lo' /proc/$SKRD_PID/smaps | grep -q ."

# ---- keys whose bytes the test knows ---------------------------------------
head -c 32 /dev/urandom >"$T/oct"
secret_hex "$(xxd -p -c 100 "$T/oct")"
ctl key import imp-oct --oct "$T/oct" --exportable --policy "$T/policy.json"
expect_rc 0 "import an oct key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
for k in rsa ec; do
	ctl key import "imp-$k" --pem "$T/$k.pem" --exportable --policy "$T/policy.json"
	expect_rc 0 "import an $k key"
	private_hex "$T/$k.pem" >>"$SECRETS"
done
# Generated keys: their bytes are learnt by releasing them below.
ctl key create gen-oct --kty oct --size 256 --exportable --policy "$T/policy.json"
expect_rc 0 "create an oct key"
ctl key create gen-ec --kty EC --crv P-384 --exportable --policy "$T/policy.json"
expect_rc 0 "create an EC key"
ctl key rotate gen-oct
expect_rc 0 "rotate it"
ctl key create plain --kty EC --crv P-256
expect_rc 0 "create a non-exportable key"

# ---- releases ---------------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok" 2>/dev/null
"$TA" token --dir "$TAD" --tee tdx --wrapping-key "$T/tee.pem" >"$T/tdx.tok" 2>/dev/null
for k in imp-oct imp-rsa imp-ec gen-oct gen-ec; do
	ctl release "$k" --token "$T/cvm.tok" --wrapping-key "$T/tee.pem" --out "$T/rel-$k"
	expect_rc 0 "release $k"
done
check "the released oct key is the imported one" cmp -s "$T/rel-imp-oct" "$T/oct"
secret_hex "$(xxd -p -c 100 "$T/rel-gen-oct")"
private_hex "$T/rel-gen-ec" >>"$SECRETS"
ctl release imp-oct --token "$T/tdx.tok" --wrapping-key "$T/tee.pem" --out "$T/denied"
expect_rc 3 "a denied release"

# ---- bearer tokens: a second token, used, revoked, used again ------------
ctl --json token create --role reader --name second
expect_rc 0 "create a second bearer token"
SECOND=$(jq -r .token <<<"$OUT")
TID=$(jq -r .id <<<"$OUT")
secret_text "$SECOND"
AUTH=$SECOND
api GET /keys
expect_status 200 "the second token works"
AUTH=$ADMIN
ctl token revoke "$TID"
expect_rc 0 "revoke it"
AUTH=$SECOND
api GET /keys
expect_status 401 "the revoked token is refused"
check_not "the refusal does not echo the token" grep -qF "${SECOND:20}" <<<"$BODY"
# A wrong token of the right shape and a garbage one.
FORGED="skr_${TID}_$(head -c 32 /dev/urandom | b64url)"
secret_text "$FORGED"
AUTH=$FORGED
api GET /keys
expect_status 401 "a forged token is refused"
AUTH="$ADMIN$ADMIN"
api GET /keys
expect_status 401 "a doubled token is refused"
AUTH=$ADMIN

# ---- hostile bodies carrying key material ----------------------------------
RESPONSES=$T/responses
: >"$RESPONSES"
keep() { printf '%s\n' "$BODY" >>"$RESPONSES"; }
K=$(b64url <"$T/oct")
api PUT /keys/bad "{\"key\":{\"kty\":\"oct\",\"k\":\"$K\",\"extra\":1},\"bogus\":true}"
keep
check "import with an unknown member is answered" test "$STATUS" != 000
api PUT /keys/bad "{\"key\":{\"kty\":\"oct\",\"k\":\"$K$K\"}}"
keep
check "import with a bad key size is refused" test "${STATUS:0:1}" = 4
api PUT /keys/imp-oct "{\"key\":{\"kty\":\"oct\",\"k\":\"$K\"}}"
keep
api PUT /keys/bad "{\"key\":{\"kty\":\"oct\",\"k\":\"$K\"},\"attributes\":{\"exportable\":true}}"
keep
check "exportable import without policy is refused" test "$STATUS" = 400
api POST /keys/imp-oct/release "{\"target\":\"$(cat "$T/cvm.tok" | cut -d. -f1-2).$K\"}"
keep
check "release with a forged signature is refused" test "${STATUS:0:1}" = 4
api POST /keys/imp-oct/release "{\"target\":\"$ADMIN\"}"
keep
check "a bearer token as attestation token is refused" test "${STATUS:0:1}" = 4
api POST /keys/restore "{\"value\":\"$K$K$K\"}"
keep
check "restore of garbage is refused" test "$STATUS" = 400
ctl key backup imp-oct --out -
expect_rc 0 "backup"
printf '%s\n' "$OUT" >>"$RESPONSES"
api GET /admin/audit
keep
expect_status 200 "the audit log reads"
ctl --json audit list
printf '%s\n' "$OUT" >>"$RESPONSES"
api GET /keys/imp-oct
keep
api GET /keys/imp-rsa
keep

skr_stop

# ---- the scan ---------------------------------------------------------------
# Each secret in every encoding a file could hold it in: raw bytes, hex in
# either case, base64 and base64url (unpadded, at any of the three
# alignments a secret can have inside a longer encoded string).
cat >"$T/scan.py" <<'EOF'
import base64, os, sys
secrets = [bytes.fromhex(l.strip()) for l in open(sys.argv[1]) if len(l.strip()) >= 32]
def forms(s):
    out = {s, s.hex().encode(), s.hex().upper().encode()}
    for pad in range(3):
        b = base64.b64encode(b'\0' * pad + s)[4 * ((pad + 2) // 3):]
        core = b[:max(0, len(b) - 4)]
        for c in (core, core.replace(b'+', b'-').replace(b'/', b'_')):
            if len(c) >= 16:
                out.add(c)
    return out
patterns = [(i, f) for i, s in enumerate(secrets) for f in forms(s)]
found = 0
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    for i, f in patterns:
        if f in data:
            print(f'{path}: secret #{i} ({len(secrets[i])} bytes) found')
            found += 1
            break
print(f'{len(secrets)} secrets, {len(sys.argv) - 2} files, {found} findings')
sys.exit(1 if found else 0)
EOF
check "at least ten secrets to look for" test "$(grep -c . "$SECRETS")" -ge 10
# Sanity: the scanner finds what it is meant to find.
check "the scan finds a secret planted in a file" bash -c \
	"printf 'x%sy' '$(b64url <"$T/oct")' >$T/planted; ! python3 $T/scan.py $SECRETS $T/planted"
check "the scan finds the master key in its own file" bash -c \
	"! python3 $T/scan.py $SECRETS $D/master.key"
DATA_FILES=$(find "$D" -type f ! -name master.key)
check "data directory (every file but master.key) holds no secret" \
	python3 "$T/scan.py" "$SECRETS" $DATA_FILES
check "skrd's log holds no secret" python3 "$T/scan.py" "$SECRETS" "$T/skrd.log"
check "response bodies and audit records hold no secret" \
	python3 "$T/scan.py" "$SECRETS" "$RESPONSES"
python3 "$T/scan.py" "$SECRETS" $DATA_FILES "$T/skrd.log" "$RESPONSES" | tail -5
finish
