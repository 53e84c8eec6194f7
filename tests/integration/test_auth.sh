#!/usr/bin/env bash
# Integration: admin authentication through the real skrd over TLS (docs/api.md,
# "Authentication"): the Key Vault challenge on every Key Vault route (HTTP/1.1
# and HTTP/2), every way a bearer token can be wrong, the role matrix,
# key-name scopes, failure throttling with Retry-After, the releaser setting,
# and tokens that stay revoked (and secrets that stay out of the data
# directory and the log) across a restart.
. "$SKR_TESTS_DIR/lib.sh"

skr_init || finish
CONF=$T/skrd.conf
cat >"$CONF" <<EOF
data = $D
auth_fail_limit = 4
auth_fail_window = 600
EOF
skr_start --config "$CONF" || finish

POLICY='{"version":"1.0.0","anyOf":[{"authority":"https://a.test","allOf":[{"claim":"x","equals":"y"}]}]}'
PDATA=$(printf '%s' "$POLICY" | b64url)

# ---- the challenge ------------------------------------------------------------
WANT="Bearer authorization=\"$SKR_ADDR\", resource=\"$SKR_ADDR\""
AUTH=
for route in "POST /keys/k/create" "PUT /keys/k" "GET /keys" "GET /keys/k" \
	"GET /keys/k/versions" "PATCH /keys/k" "POST /keys/k/rotate" \
	"DELETE /keys/k" "GET /deletedkeys" "GET /deletedkeys/k" \
	"POST /deletedkeys/k/recover" "DELETE /deletedkeys/k" \
	"POST /keys/k/backup" "POST /keys/restore" "POST /keys/k/release" \
	"POST /keys/k//release" "POST /keys/k/0123456789abcdef0123456789abcdef/release"; do
	set -- $route
	API_CURL=(-D "$T/headers")
	api "$1" "$2"
	API_CURL=()
	expect_error 401 SKR.AUTH.MISSING "challenge: $route"
	check "challenge header: $route" bash -c \
		"tr -d '\r' <'$T/headers' | grep -qixF 'www-authenticate: $WANT'"
done
check "the challenge over HTTP/2 too" bash -c \
	"curl -s --http2 -D - -o /dev/null --cacert '$D/ca.pem' -X POST '$SKR_ADDR/keys/k//release' | tr -d '\r' | grep -qixF 'www-authenticate: $WANT'"
check "admin routes challenge too" bash -c \
	"curl -s -D - -o /dev/null --cacert '$D/ca.pem' '$SKR_ADDR/admin/tokens' | tr -d '\r' | grep -qi '^www-authenticate: Bearer '"
# Release with a body and no token is the release handler's to judge.
api POST /keys/k/release '{"target":"x.y.z"}'
check "release with a body needs no bearer token" test "$STATUS" != 401
check_not "no challenge on a release with a body" bash -c \
	"curl -s -D - -o /dev/null --cacert '$D/ca.pem' -H 'Content-Type: application/json' --data-binary '{\"target\":\"x\"}' '$SKR_ADDR/keys/k/release' | grep -qi '^www-authenticate'"
# Nor does it judge a token it does not need: a Key Vault client answers the
# challenge with a token of its own identity provider.
AUTH="eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCJ9.c2ln"
for i in 1 2 3 4 5 6; do api POST /keys/k/release '{"target":"x.y.z"}'; done
check "a foreign bearer token on release is ignored, never throttled" \
	bash -c "[ '$STATUS' != 401 ] && [ '$STATUS' != 429 ]"
api GET /nonce
expect_status 200 "the nonce route needs no token"
api GET /healthz
expect_status 200 "healthz needs no token"

# ---- wrong credentials (each from its own address would be nicer; one peer
# here, so the throttle is exercised below after exactly these failures) ----
AUTH=$ADMIN
API_CURL=(-H "Authorization: Basic dXNlcjpwYXNz")
AUTH=
api GET /keys
expect_error 401 SKR.AUTH.INVALID "Basic credentials are not a bearer token"
API_CURL=()
AUTH="not-a-token"
api GET /keys
expect_error 401 SKR.AUTH.INVALID "malformed bearer token"
AUTH="skr_00000000000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
api GET /keys
expect_error 401 SKR.AUTH.INVALID "unknown bearer token"
AUTH="${ADMIN%?}$([ "${ADMIN: -1}" = A ] && echo B || echo A)"
api GET /keys
expect_error 401 SKR.AUTH.INVALID "the admin token with one character changed"
# The fifth failure in the window: throttled, with Retry-After.
api GET /keys
expect_error 429 SKR.RATE_LIMITED "past auth_fail_limit the peer is throttled"
check "429 carries Retry-After" bash -c \
	"curl -s -D - -o /dev/null --cacert '$D/ca.pem' -H 'Authorization: Bearer $AUTH' '$SKR_ADDR/keys' | tr -d '\r' | grep -qiE '^retry-after: [0-9]+$'"
AUTH=$ADMIN
api GET /keys
expect_error 429 SKR.RATE_LIMITED "even a good token waits while throttled"
# The table forgets on restart; the throttle is per process.
skr_stop
skr_start || finish
api GET /keys
expect_status 200 "the admin token works"

# ---- tokens of every role -----------------------------------------------------
mktoken() { # mktoken NAME ROLES_JSON [PREFIXES_JSON] -> $TOKEN, $TOKEN_ID
	local body="{\"name\":\"$1\",\"roles\":$2"
	[ -n "${3-}" ] && body="$body,\"prefixes\":$3"
	AUTH=$ADMIN api POST /admin/tokens "$body}"
	TOKEN=$(jq -r .token <<<"$BODY")
	TOKEN_ID=$(jq -r .id <<<"$BODY")
}
AUTH=$ADMIN
mktoken oper '["operator"]'; OPER=$TOKEN
mktoken reader '["reader"]'; READER=$TOKEN; READER_ID=$TOKEN_ID
mktoken auditor '["auditor"]'; AUDITOR=$TOKEN
mktoken releaser '["releaser"]'; RELEASER=$TOKEN
mktoken scoped '["operator"]' '["team-a-"]'; SCOPED=$TOKEN
mktoken scoped-admin '["admin"]' '["team-a-"]'; SCOPED_ADMIN=$TOKEN
check "token secrets have the documented form" bash -c "[[ '$OPER' =~ ^skr_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$ ]]"
AUTH=$ADMIN
api POST /keys/shared/create "{\"kty\":\"oct\",\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$PDATA\"}}"
expect_status 200 "admin creates a key"

# role: method path body -> status
matrix() {
	local who=$1 tok=$2 want=$3 method=$4 path=$5 body=${6-}
	AUTH=$tok api "$method" "$path" "$body"
	if [ "$STATUS" = "$want" ]; then pass "$who: $method $path -> $want"; else
		failed "$who: $method $path: status $STATUS, want $want: $BODY"
	fi
}
matrix reader "$READER" 200 GET /keys
matrix reader "$READER" 200 GET /keys/shared
matrix reader "$READER" 200 GET /keys/shared/versions
matrix reader "$READER" 200 GET /deletedkeys
matrix reader "$READER" 403 POST /keys/r/create '{"kty":"oct"}'
matrix reader "$READER" 403 PATCH /keys/shared '{"tags":{}}'
matrix reader "$READER" 403 DELETE /keys/shared
matrix reader "$READER" 403 POST /keys/shared/backup
matrix reader "$READER" 403 GET /admin/tokens
matrix reader "$READER" 403 GET /admin/audit
matrix oper "$OPER" 200 POST /keys/o1/create '{"kty":"oct"}'
matrix oper "$OPER" 200 PATCH /keys/o1 '{"tags":{"a":"b"}}'
matrix oper "$OPER" 200 POST /keys/o1/backup
matrix oper "$OPER" 200 DELETE /keys/o1
matrix oper "$OPER" 200 POST /deletedkeys/o1/recover
matrix oper "$OPER" 403 GET /admin/tokens
matrix oper "$OPER" 403 POST /admin/tokens '{"roles":["admin"]}'
matrix oper "$OPER" 403 GET /admin/audit
matrix auditor "$AUDITOR" 200 GET /admin/audit
matrix auditor "$AUDITOR" 200 GET /admin/audit/verify
matrix auditor "$AUDITOR" 403 GET /keys
matrix auditor "$AUDITOR" 403 GET /admin/tokens
matrix releaser "$RELEASER" 403 GET /keys/shared
matrix releaser "$RELEASER" 403 POST /keys/r/create '{"kty":"oct"}'
matrix scoped "$SCOPED" 200 POST /keys/team-a-k/create '{"kty":"oct"}'
matrix scoped "$SCOPED" 200 GET /keys/TEAM-A-k
matrix scoped "$SCOPED" 403 GET /keys/shared
matrix scoped "$SCOPED" 403 POST /keys/team-b-k/create '{"kty":"oct"}'
matrix scoped "$SCOPED" 403 DELETE /keys/shared
# A scoped admin is an admin of its keys only: it may not mint itself an
# unscoped token, revoke others' or read the whole audit log.
matrix scoped-admin "$SCOPED_ADMIN" 200 POST /keys/team-a-adm/create '{"kty":"oct"}'
matrix scoped-admin "$SCOPED_ADMIN" 403 POST /keys/other2/create '{"kty":"oct"}'
matrix scoped-admin "$SCOPED_ADMIN" 403 POST /admin/tokens '{"roles":["admin"]}'
check "... with a message that says why" grep -q "scoped to key-name prefixes" <<<"$BODY"
matrix scoped-admin "$SCOPED_ADMIN" 403 GET /admin/tokens
matrix scoped-admin "$SCOPED_ADMIN" 403 DELETE "/admin/tokens/$READER_ID"
matrix scoped-admin "$SCOPED_ADMIN" 403 GET /admin/audit
AUTH=$SCOPED api GET /keys
expect_json '[.value[].kid | test("/keys/team-a-")] | all' true "a scoped list shows only its keys"
expect_json '.value | length' 2 "and all of them (team-a-k, team-a-adm)"
AUTH=$ADMIN api POST /keys/shared/backup
SHARED_BACKUP=$(jq -r .value <<<"$BODY")
AUTH=$ADMIN api DELETE /keys/shared
AUTH=$ADMIN api DELETE /deletedkeys/shared
matrix scoped "$SCOPED" 403 POST /keys/restore "{\"value\":\"$SHARED_BACKUP\"}"
matrix admin "$ADMIN" 200 POST /keys/restore "{\"value\":\"$SHARED_BACKUP\"}"

# The token list never shows a secret; a revoked token is refused at once.
AUTH=$ADMIN api GET /admin/tokens
check "token list holds no secret" bash -c "! grep -qF -e '$READER' -e '$OPER' -e '$ADMIN' <<<'$BODY'"
expect_json '[.value[] | has("token")] | any' false "no token member in the list"
AUTH=$ADMIN api DELETE "/admin/tokens/$READER_ID"
expect_status 200 "revoke the reader token"
AUTH=$READER api GET /keys
expect_error 401 SKR.AUTH.REVOKED "a revoked token is refused"
AUTH=$ADMIN api DELETE /admin/tokens/0123456789abcdef0123456789abcdef
expect_error 404 SKR.REQUEST.NOT_FOUND "revoking an unknown token id"
AUTH=$ADMIN api POST /admin/tokens '{"roles":["reader"]}' text/plain
expect_error 415 SKR.REQUEST.CONTENT_TYPE "token create wants JSON"
AUTH=$ADMIN api POST /admin/tokens '{"roles":["reader"],"roles":["admin"]}'
expect_error 400 SKR.JSON.DUPLICATE "token create: duplicate members refused"

# ---- expiry (needs a skrd whose clock tests may move) --------------------------
NOW=$(date +%s)
AUTH=$ADMIN api POST /admin/tokens "{\"name\":\"short\",\"roles\":[\"reader\"],\"expires\":$((NOW + 3600))}"
SHORT=$(jq -r .token <<<"$BODY")
AUTH=$SHORT api GET /keys
expect_status 200 "a token before its expiry works"

# ---- release requires a releaser when configured ----------------------------
skr_stop
cat >>"$CONF" <<EOF
require_releaser = true
EOF
if skrd_has_test_clock; then
	SKR_TEST_CLOCK_OFFSET=7200 skr_start --config "$CONF" || finish
	AUTH=$SHORT api GET /keys
	expect_error 401 SKR.AUTH.EXPIRED "a token past its expiry is refused"
else
	skr_start --config "$CONF" || finish
	echo "# skrd built without -Dtest_clock: expiry over HTTP not checked"
fi
AUTH=
api POST /keys/shared/release '{"target":"x.y.z"}'
expect_error 401 SKR.AUTH.MISSING "require_releaser: a release needs a token"
AUTH=$OPER api POST /keys/shared/release '{"target":"x.y.z"}'
expect_error 403 SKR.AUTH.FORBIDDEN "require_releaser: operator is not a releaser"
AUTH=$RELEASER api POST /keys/shared/release '{"target":"x.y.z"}'
check "require_releaser: the releaser gets past authentication" \
	bash -c "[ '$STATUS' != 401 ] && ! grep -q SKR.AUTH <<<'$BODY'"

# ---- persistence and secrets at rest ------------------------------------------
AUTH=$READER api GET /keys
expect_error 401 SKR.AUTH.REVOKED "a revoked token stays revoked after a restart"
AUTH=$OPER api GET /keys
expect_status 200 "other tokens survive the restart"
skr_stop
for secret in "$ADMIN" "$OPER" "$READER" "$SCOPED"; do
	check "no token secret in the data directory" bash -c "! grep -rqF '${secret#skr_*_}' '$D'"
	check "no token secret in the log" bash -c "! grep -qF '${secret#skr_*_}' '$T/skrd.log'"
done
AUTH=$ADMIN
skr_start --config "$CONF" || finish
ctl audit verify
expect_rc 0 "audit chain verifies"
api GET "/admin/audit?event=token.revoke"
expect_json '.value | length' 1 "the revocation is audited"
expect_json ".value[0].detail.id" "$READER_ID" "with the token id"
skr_stop
finish
