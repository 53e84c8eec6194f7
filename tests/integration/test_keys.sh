#!/usr/bin/env bash
# Integration: key management and admin auth through the real skrd over TLS
# (docs/api.md): every route's success path, Key Vault's rules,
# bad input refused with stable ids and nothing stored changed, every auth
# failure, persistence across a restart, and no key bytes in the data
# directory.
. "$SKR_TESTS_DIR/lib.sh"

skr_init || finish
skr_start || finish

POLICY='{"version":"1.0.0","anyOf":[{"authority":"https://a.test","allOf":[{"claim":"x","equals":"y"}]}]}'
PDATA=$(printf '%s' "$POLICY" | b64url)

# ---- serving basics -------------------------------------------------------
api GET /healthz
expect_status 200 "healthz"
api GET /readyz
expect_status 200 "readyz with the store open"
check "HTTP/2 is negotiated" bash -c "curl -s -o /dev/null -w '%{http_version}' --http2 --cacert $D/ca.pem $SKR_ADDR/healthz | grep -q '^2'"
check "HTTP/1.1 works" bash -c "curl -s -o /dev/null -w '%{http_version}' --http1.1 --cacert $D/ca.pem $SKR_ADDR/healthz | grep -q '^1.1'"
check "TLS 1.1 is refused" bash -c "! curl -s --tls-max 1.1 --cacert $D/ca.pem $SKR_ADDR/healthz"
check "an unknown CA is refused by the client" bash -c "! curl -s --cacert /etc/ssl/certs/ca-certificates.crt $SKR_ADDR/healthz"
api GET /no/such/route
expect_error 404 SKR.REQUEST.NOT_FOUND "unknown route: 404 with the error shape"
api PUT /nonce
expect_error 405 SKR.REQUEST.METHOD "wrong method: 405"

# ---- auth failures --------------------------------------------------------
AUTH=
api GET /keys
expect_error 401 SKR.AUTH.MISSING "no bearer token: 401"
check "401 carries the Key Vault challenge" bash -c "curl -s -D - -o /dev/null --cacert $D/ca.pem $SKR_ADDR/keys | grep -qi '^www-authenticate: Bearer authorization=\"$SKR_ADDR\", resource=\"$SKR_ADDR\"'"
api POST /keys/k1/release
expect_error 401 SKR.AUTH.MISSING "bodiless credential-less release gets the challenge"
AUTH="not-a-token"
api GET /keys
expect_error 401 SKR.AUTH.INVALID "malformed bearer token: 401"
AUTH="skr_00000000000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
api GET /keys
expect_error 401 SKR.AUTH.INVALID "unknown bearer token: 401"
AUTH=$ADMIN

# Tokens with roles, scopes, expiry, revocation.
api POST /admin/tokens '{"name":"reader","roles":["reader"]}'
expect_status 200 "admin creates a reader token"
READER=$(jq -r .token <<<"$BODY")
READER_ID=$(jq -r .id <<<"$BODY")
api POST /admin/tokens '{"name":"ops","roles":["operator"],"prefixes":["team-a-"]}'
OPS=$(jq -r .token <<<"$BODY")
api POST /admin/tokens '{"roles":["operator"],"expires":1}'
expect_error 400 SKR.REQUEST.INVALID "a token already expired is refused at creation"
api POST /admin/tokens '{"roles":["superuser"]}'
expect_error 400 SKR.REQUEST.INVALID "unknown role refused"
api GET /admin/tokens
expect_status 200 "token list"
check "token list never shows secrets" bash -c "! grep -q 'skr_' <<<'$BODY' || ! grep -q '\"token\"' <<<'$BODY'"

# ---- create / get / list --------------------------------------------------
api POST /keys/team-a-disk/create "{\"kty\":\"oct-HSM\",\"key_size\":256,\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$PDATA\"},\"tags\":{\"env\":\"test\"}}"
expect_status 200 "create an exportable oct key with a policy"
expect_json .key.kty oct-HSM "kty reported as oct-HSM"
expect_json '.key.k' null "no private material in the bundle"
expect_json .attributes.exportable true "exportable attribute"
expect_json .release_policy.data "$PDATA" "policy echoed"
expect_json .tags.env test "tags stored"
V1=$(jq -r .key.kid <<<"$BODY" | sed 's|.*/||')
check "version id is 32 lowercase hex" bash -c "[[ $V1 =~ ^[0-9a-f]{32}$ ]]"

api POST /keys/rsa1/create '{"kty":"RSA","key_size":2048}'
expect_status 200 "create a non-exportable RSA key"
expect_json '.key.d' null "no RSA private exponent in the bundle"
expect_json '.key.e' AQAB "public exponent"
api POST /keys/ec1/create '{"kty":"EC","crv":"P-384"}'
expect_json .key.crv P-384 "EC P-384 key"

# Key Vault's rules.
api POST /keys/x/create '{"kty":"oct","attributes":{"exportable":true}}'
expect_error 400 SKR.KEY.POLICY_REQUIRED "exportable without a policy"
api POST /keys/x/create "{\"kty\":\"oct\",\"release_policy\":{\"data\":\"$PDATA\"}}"
expect_error 400 SKR.KEY.POLICY_FORBIDDEN "non-exportable with a policy"
api PATCH /keys/team-a-disk '{"attributes":{"exportable":false}}'
expect_error 400 SKR.KEY.EXPORTABLE_FIXED "exportable cannot change"

# Bad input, each a 4xx with a stable id.
api POST /keys/x/create '{"kty":"oct"'
expect_error 400 SKR.JSON.MALFORMED "malformed JSON"
api POST /keys/x/create '{"kty":"oct","kty":"RSA"}'
expect_error 400 SKR.JSON.DUPLICATE "duplicate members"
api POST /keys/x/create '{"kty":"DES"}'
expect_error 400 SKR.JWK.UNSUPPORTED "unknown kty"
api POST /keys/x/create '{"kty":"RSA","key_size":1024}'
expect_error 400 SKR.JWK.UNSUPPORTED "RSA 1024 refused"
api POST /keys/x/create '{"kty":"EC","crv":"P-192"}'
expect_error 400 SKR.JWK.UNSUPPORTED "unknown curve"
api POST /keys/x/create '{"kty":"oct","key_size":"256"}'
expect_error 400 SKR.REQUEST.INVALID "wrong type for key_size"
api POST /keys/x/create '{"kty":"oct","attributes":{"enabled":"yes"}}'
expect_error 400 SKR.REQUEST.INVALID "wrong type in attributes"
api POST /keys/x/create '{"kty":"oct","attributes":{"colour":"red"}}'
expect_error 400 SKR.REQUEST.INVALID "unknown attribute"
api POST /keys/x/create '{"kty":"oct","tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16"}}'
expect_error 400 SKR.REQUEST.INVALID "more than 15 tags"
api POST /keys/bad_name/create '{"kty":"oct"}'
expect_error 400 SKR.KEY.NAME "name outside the alphabet"
api POST "/keys/$(printf 'a%.0s' $(seq 128))/create" '{"kty":"oct"}'
expect_error 400 SKR.KEY.NAME "name too long"
api POST /keys/x/create '{"kty":"oct"}' text/plain
expect_error 415 SKR.REQUEST.CONTENT_TYPE "wrong content type"
api POST /keys/x/create "{\"kty\":\"oct\",\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$(printf '{"version":"9"}' | b64url)\"}}"
expect_error 400 SKR.POLICY.INVALID "invalid policy refused at set time"
{ printf '{"kty":"oct","tags":{"a":"'; head -c 1100000 /dev/zero | tr '\0' 'a'; printf '"}}'; } >"$T/big.json"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$D/ca.pem" -H "Authorization: Bearer $AUTH" -H 'Content-Type: application/json' --data-binary @"$T/big.json" "$SKR_ADDR/keys/x/create")
BODY=$(cat "$T/body")
expect_error 413 SKR.REQUEST.TOO_LARGE "body over the limit: 413 with the error shape"
api GET /keys/x
expect_error 404 SKR.KEY.NOT_FOUND "nothing was stored by the refused requests"
api GET /keys
expect_status 200 "list keys"
expect_json '.value | length' 3 "exactly the three created keys"

# Roles and scopes.
AUTH=$READER
api GET /keys/rsa1
expect_status 200 "reader may read"
api POST /keys/r2/create '{"kty":"oct"}'
expect_error 403 SKR.AUTH.FORBIDDEN "reader may not create"
api GET /admin/tokens
expect_error 403 SKR.AUTH.FORBIDDEN "reader may not manage tokens"
AUTH=$OPS
api POST /keys/team-a-other/create '{"kty":"oct"}'
expect_status 200 "operator creates inside its prefix"
api POST /keys/team-b-x/create '{"kty":"oct"}'
expect_error 403 SKR.AUTH.FORBIDDEN "operator outside its prefix"
api GET /keys
expect_json '[.value[].kid | test("/keys/team-a-")] | all' true "listing filtered to the scope"
api POST /admin/tokens '{"roles":["admin"]}'
expect_error 403 SKR.AUTH.FORBIDDEN "operator may not create tokens"
AUTH=$ADMIN
api DELETE "/admin/tokens/$READER_ID"
expect_status 200 "revoke the reader token"
AUTH=$READER
api GET /keys
expect_error 401 SKR.AUTH.REVOKED "revoked token refused"
AUTH=$ADMIN

# ---- update, versions, rotate ----------------------------------------------
api PATCH /keys/rsa1 '{"attributes":{"enabled":false},"tags":{"owner":"ops"}}'
expect_json .attributes.enabled false "disable through PATCH"
expect_json .tags.owner ops "tags replaced"
api POST /keys/rsa1/rotate
expect_status 200 "rotate"
expect_json .key.kty RSA-HSM "rotated version keeps the type"
V2=$(jq -r .key.kid <<<"$BODY" | sed 's|.*/||')
api GET /keys/rsa1/versions?maxresults=1
expect_json '.value | length' 1 "versions paged by maxresults"
NEXT=$(jq -r .nextLink <<<"$BODY")
check "nextLink points back to this server" bash -c "[[ '$NEXT' == $SKR_ADDR/* ]]"
api GET "${NEXT#"$SKR_ADDR"}"
expect_json '.value | length' 1 "second page"
expect_json .nextLink null "no third page"
api GET "/keys/rsa1/versions?maxresults=26"
expect_error 400 SKR.REQUEST.INVALID "maxresults over 25 refused"
api GET "/keys/rsa1/versions?\$skiptoken=forged"
expect_error 400 SKR.REQUEST.INVALID "forged continuation marker refused"
api GET "/keys/rsa1/$V2"
expect_status 200 "get by version"
api GET /keys/rsa1/0123456789abcdef0123456789abcdef
expect_error 404 SKR.KEY.VERSION_NOT_FOUND "unknown version"
api GET /keys/rsa1/versions
RSA_V1=$(jq -r '.value[0].kid' <<<"$BODY" | sed 's|.*/||')
api PATCH "/keys/rsa1/$RSA_V1" '{"tags":{"v":"1"}}'
expect_status 200 "update one version by id"
expect_json '.key.kid | endswith("/'"$RSA_V1"'")' true "the version named is the one updated"
api GET /keys/rsa1
expect_json .tags.v null "the latest version is untouched"
api GET "/keys/rsa1/?api-version=7.4"
expect_status 200 "an empty version segment means the latest"

# Immutable policy.
api POST /keys/locked/create "{\"kty\":\"oct\",\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$PDATA\",\"immutable\":true}}"
expect_json .release_policy.immutable true "immutable policy set"
api PATCH /keys/locked "{\"release_policy\":{\"data\":\"$(printf '%s' "${POLICY/\"equals\":\"y\"/\"equals\":\"z\"}" | b64url)\"}}"
expect_error 403 SKR.KEY.POLICY_IMMUTABLE "immutable policy cannot change"

# ---- backup / restore, delete / recover / purge ----------------------------
api POST /keys/team-a-disk/backup
expect_status 200 "backup"
BACKUP=$(jq -r .value <<<"$BODY")
api DELETE /keys/team-a-disk
expect_status 200 "soft delete"
expect_json '.recoveryId | endswith("/deletedkeys/team-a-disk")' true "deleted bundle has recoveryId"
api GET /keys/team-a-disk
expect_error 404 SKR.KEY.NOT_FOUND "deleted key is gone from get"
api POST /keys/team-a-disk/create '{"kty":"oct"}'
expect_error 409 SKR.KEY.DELETED "a deleted name cannot be reused"
api GET /deletedkeys/team-a-disk
expect_status 200 "get deleted"
api GET /deletedkeys
expect_json '.value[0].recoveryId | endswith("/deletedkeys/team-a-disk")' true "deleted list items carry recoveryId"
expect_json '.value[0].scheduledPurgeDate > .value[0].deletedDate' true "and the purge date"
api POST /deletedkeys/team-a-disk/recover
expect_status 200 "recover"
api GET /keys/team-a-disk
expect_status 200 "recovered key is back"
api DELETE /keys/team-a-disk
api DELETE /deletedkeys/team-a-disk
expect_status 204 "purge"
api GET /deletedkeys/team-a-disk
expect_error 404 SKR.KEY.NOT_FOUND "purged key is gone"
TAMPERED=$(sed 's/^\(.\{40\}\)./\1A/' <<<"$BACKUP")
[ "$TAMPERED" = "$BACKUP" ] && TAMPERED=$(sed 's/^\(.\{40\}\)./\1B/' <<<"$BACKUP")
api POST /keys/restore "{\"value\":\"$TAMPERED\"}"
expect_error 400 SKR.BACKUP.INVALID "a tampered backup is refused"
api POST /keys/restore "{\"value\":\"$BACKUP\"}"
expect_status 200 "restore after purge"
expect_json .key.kid "$SKR_ADDR/keys/team-a-disk/$V1" "restored with its version"
api POST /keys/restore "{\"value\":\"$BACKUP\"}"
expect_error 409 SKR.KEY.CONFLICT "restore over an existing key refused"

# ---- import and the data directory ------------------------------------------
OCT_HEX=00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210
OCT_B64=$(printf '%s' "$OCT_HEX" | xxd -r -p | b64url)
api PUT /keys/imported-oct "{\"key\":{\"kty\":\"oct\",\"k\":\"$OCT_B64\"},\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$PDATA\"}}"
expect_status 200 "import an oct key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/imp.pem" 2>/dev/null
ctl key import imported-rsa --pem "$T/imp.pem"
expect_rc 0 "import an RSA key with skrctl"
D_HEX=$(openssl rsa -in "$T/imp.pem" -noout -text 2>/dev/null | awk '/^privateExponent:/{f=1;next} /^prime1:/{f=0} f' | tr -d ' :\n')
check "private exponent extracted for the scan" test "${#D_HEX}" -ge 500
api PUT /keys/bad-import '{"key":{"kty":"RSA","n":"AQAB","e":"AQAB"}}'
check "import without private part refused" test "$STATUS" = 400
skr_stop
# The raw key bytes never appear in the data directory (sealed at rest).
scan() {
	local hex=$1 f
	for f in "$D"/*; do
		if xxd -p "$f" | tr -d '\n' | grep -qi "$hex"; then return 1; fi
	done
	return 0
}
check "oct key bytes not in the data directory" scan "$OCT_HEX"
check "RSA private exponent not in the data directory" scan "${D_HEX:8:64}"
check "admin token not in the data directory" bash -c "! grep -rq '$ADMIN' '$D'"

# ---- persistence across a restart --------------------------------------------
skr_start
api GET /keys/imported-oct
expect_status 200 "keys survive a restart"
api GET /keys/rsa1/versions
expect_json '.value | length' 2 "both versions survive"
ctl key list
expect_rc 0 "skrctl key list"
check "skrctl lists the keys" grep -q imported-rsa <<<"$OUT"
ctl --json key show rsa1
check "skrctl --json key show" bash -c "jq -e '.key.kty == \"RSA-HSM\"' <<<'$OUT'"
ctl key show nosuchkey
expect_rc 1 "skrctl: unknown key is an error"
ctl key create
expect_rc 2 "skrctl: missing argument is a usage error"
ctl key create k --bogus
expect_rc 2 "skrctl: unknown flag is a usage error"
ctl audit verify
expect_rc 0 "audit chain verifies"
api GET "/admin/audit?key=rsa1"
expect_json '[.value[].event] | index("key.rotate") != null' true "rotation audited"

# ---- rotate keeps the policy the key has when the new version is written ----
# RSA-4096 generation takes a while, outside the write lock; a policy
# tightened meanwhile must survive the rotation (in either order).
TIGHT=$(printf '%s' "${POLICY/\"equals\":\"y\"/\"equals\":\"tight\"}" | b64url)
api POST /keys/slow-rsa/create "{\"kty\":\"RSA\",\"key_size\":4096,\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$PDATA\"}}"
expect_status 200 "an exportable RSA-4096 key"
curl -s -o "$T/rotate.out" --cacert "$D/ca.pem" -H "Authorization: Bearer $ADMIN" \
	-X POST "$SKR_ADDR/keys/slow-rsa/rotate?api-version=7.4" &
ROT=$!
sleep 0.2
api PATCH /keys/slow-rsa "{\"release_policy\":{\"data\":\"$TIGHT\"}}"
expect_status 200 "the policy is tightened while the key rotates"
wait "$ROT"
api GET /keys/slow-rsa/versions
expect_json '.value | length' 2 "the rotation made a second version"
api GET /keys/slow-rsa
expect_json .release_policy.data "$TIGHT" "the current version has the tightened policy"

# ---- scheduled purge: the test clock moves past the purge date ----------------
if skrd_has_test_clock; then
	api POST /keys/victim/create '{"kty":"oct"}'
	api POST /keys/swept/create '{"kty":"oct"}'
	api DELETE /keys/victim
	expect_status 200 "a key is soft-deleted (90 days' retention)"
	api DELETE /keys/swept
	expect_status 200 "and another"
	skr_stop

	# The sweep off: the next write purges.
	echo 'purge_interval = 0' >"$T/nosweep.conf"
	SKR_TEST_CLOCK_OFFSET=$((91 * 86400)) skr_start --config "$T/nosweep.conf" || finish
	sleep 1
	api GET "/admin/audit?event=key.purge"
	expect_json '[.value[] | select(.detail.by)] | length' 0 \
		"with purge_interval = 0 nothing is purged on schedule before a write"
	api PATCH /keys/imported-oct '{"tags":{"after":"purge-date"}}'
	expect_status 200 "a write after its purge date"
	api GET "/admin/audit?event=key.purge"
	expect_json '[.value[] | select(.detail.by == "write")] | length' 2 \
		"... purged both due keys"
	api GET "/admin/audit?key=victim"
	expect_json '[.value[] | select(.event == "key.purge" and .outcome == "ok" and .detail.by == "write")] | length' 1 \
		"the scheduled purge has an audit record naming the key"
	ctl audit verify
	expect_rc 0 "audit chain verifies after the scheduled purge"
	skr_stop

	# The sweep: a store that sees no write still purges on the date.
	SKR_TEST_CLOCK_OFFSET=$((10 * 86400)) skr_start || finish
	api POST /keys/victim/create '{"kty":"oct"}'
	expect_status 200 "the purged name is free again"
	api DELETE /keys/victim
	api GET /deletedkeys/victim
	expect_status 200 "soft-deleted again"
	skr_stop
	SKR_TEST_CLOCK_OFFSET=$((101 * 86400)) skr_start || finish
	for _ in $(seq 100); do
		api GET "/admin/audit?key=victim&event=key.purge"
		[ "$(jq '.value | length' <<<"$BODY")" = 2 ] && break
		sleep 0.1
	done
	expect_json '[.value[] | select(.detail.by == "sweep")] | length' 1 \
		"the sweep purged the key without any write"
	expect_json '[.value[] | select(.detail.by == "sweep") | has("peer")] | .[0]' false \
		"... and its record names no peer"
	api GET /deletedkeys
	expect_json '.value | length' 0 "nothing deleted is left"
	ctl audit verify
	expect_rc 0 "audit chain verifies after the sweep"

	# A key past its purge date is gone for writes as for reads, however
	# many keys fall due before it (a write purges a few at a time):
	# recover does not bring it back.
	for i in $(seq 9); do
		api POST "/keys/early-$i/create" '{"kty":"oct"}'
		api DELETE "/keys/early-$i"
	done
	api POST /keys/late/create '{"kty":"oct"}'
	api DELETE /keys/late
	expect_status 200 "ten keys soft-deleted, late last"
	skr_stop
	SKR_TEST_CLOCK_OFFSET=$((192 * 86400)) skr_start --config "$T/nosweep.conf" || finish
	api GET /deletedkeys/late
	expect_error 404 SKR.KEY.NOT_FOUND "a key past its purge date reads as gone"
	api POST /deletedkeys/late/recover
	expect_error 404 SKR.KEY.NOT_FOUND "... and recover does not bring it back"
	api GET /keys/late
	expect_status 404 "... it is not a key again"
	api POST /keys/late/create '{"kty":"oct"}'
	expect_status 200 "its name is free"
	api GET "/admin/audit?key=late&event=key.purge"
	expect_json '[.value[] | select(.detail.by == "write")] | length' 1 \
		"... the write that found it due purged it, on the record"
	ctl audit verify
	expect_rc 0 "audit chain verifies"
fi
skr_stop
finish
