#!/usr/bin/env bash
# Integration: crash safety.
#
# 1. Kills: three clients run a storm of key creations, rotations and
#    deletions while skrd is killed with SIGKILL at a random moment, many
#    times over.  After every restart, and in full at the end: every
#    acknowledged operation is there, every stored version opens and
#    releases, nothing that was never acknowledged half-exists (a listed
#    version that does not open, a key no client ever asked for), and the
#    audit chain verifies.
# 2. A full disk: on a small tmpfs filled up by another writer (when this
#    machine lets us mount one), and with a store whose LMDB map is small
#    (everywhere), key writes fail with 507 SKR.STORE.FULL, nothing stored
#    is damaged, and skrd goes on serving reads and releases, also after a
#    restart while full.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
ITERATIONS=${CRASH_ITERATIONS:-20}
WORKERS=3

skr_init || finish

# ---- the test authority (key set as a file, tokens minted offline) -------
ta_offline || finish
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok" 2>/dev/null
check "minted a token" test -s "$T/cvm.tok"
TOKEN=$(cat "$T/cvm.tok")
config() { # config FILE [extra settings...]
	local f=$1
	shift
	{
		printf '%s\n' "release_limit = 0" "$@"
		printf '[authority]\nissuer = %s\nsource = %s\n' "$ISS" "$T/jwks.json"
	} >"$f"
}
config "$T/skrd.conf"
PDATA=$(printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' "$ISS" | b64url)
CREATE_BODY="{\"kty\":\"oct-HSM\",\"key_size\":256,\"attributes\":{\"exportable\":true},\"release_policy\":{\"data\":\"$PDATA\"}}"

# curl for the storm workers: each has its own files, the harness's api()
# shares one.  Prints the status; the body goes to $3.
wcurl() { # METHOD PATH BODYFILE [DATA]
	local args=(-s -o "$3" -w '%{http_code}' --max-time 20 --cacert "$D/ca.pem"
		-X "$1" -H "Authorization: Bearer $ADMIN")
	[ -n "${4-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl "${args[@]}" "$SKR_ADDR$2" 2>/dev/null || echo 000
}

# A worker: a random sequence of create/rotate/delete on its own names,
# each attempt logged before it is made ("try") and after it is
# acknowledged ("ok", with the version).  It stops at the first answer
# that is not a 200 (the server is gone).
worker() { # WORKER ITERATION
	local w=$1 it=$2 ledger=$T/ledger-$1 out=$T/w$1.body n=0 live=() i name st ver op
	RANDOM=$BASHPID
	mapfile -t live < <(cat "$T/live-$w" 2>/dev/null)
	while :; do
		op=$((RANDOM % 10))
		if [ "${#live[@]}" = 0 ] || [ "$op" -lt 4 ]; then
			name=c$w-$it-$n
			n=$((n + 1))
			echo "try create $name" >>"$ledger"
			st=$(wcurl POST "/keys/$name/create" "$out" "$CREATE_BODY")
			[ "$st" = 200 ] || break
			ver=$(jq -r '.key.kid' "$out" | sed 's|.*/||')
			echo "ok create $name $ver" >>"$ledger"
			live+=("$name")
		elif [ "$op" -lt 8 ]; then
			name=${live[RANDOM % ${#live[@]}]}
			echo "try rotate $name" >>"$ledger"
			st=$(wcurl POST "/keys/$name/rotate" "$out")
			[ "$st" = 200 ] || break
			ver=$(jq -r '.key.kid' "$out" | sed 's|.*/||')
			echo "ok rotate $name $ver" >>"$ledger"
		else
			i=$((RANDOM % ${#live[@]}))
			name=${live[i]}
			echo "try delete $name" >>"$ledger"
			# Taken off the live list before the answer: an unanswered
			# delete may or may not have happened, the name is done.
			live=("${live[@]:0:i}" "${live[@]:i+1}")
			printf '%s\n' "${live[@]}" >"$T/live-$w"
			st=$(wcurl DELETE "/keys/$name" "$out")
			[ "$st" = 200 ] || break
			echo "ok delete $name" >>"$ledger"
		fi
		printf '%s\n' "${live[@]}" >"$T/live-$w"
	done
}

# Versions a quick check has released already (a full check does all).
: >"$T/verified"

# Releases one version: 200 means its sealed material opened and wrapped.
release_status() { # NAME VERSION
	local st
	st=$(curl -s -o "$T/rel.body" -w '%{http_code}' --cacert "$D/ca.pem" \
		-X POST -H 'Content-Type: application/json' \
		--data-binary "{\"target\":\"$TOKEN\"}" \
		"$SKR_ADDR/keys/$1/$2/release") || st=000
	echo "$st"
}

# Every version of every listed key (name version), following nextLink.
list_versions() {
	local path=/keys?maxresults=25 name vpath page
	while [ -n "$path" ] && [ "$path" != null ]; do
		api GET "$path"
		[ "$STATUS" = 200 ] || { echo "LIST-FAILED"; return; }
		page=$BODY
		for name in $(jq -r '.value[].kid | sub(".*/keys/"; "")' <<<"$page"); do
			vpath=/keys/$name/versions?maxresults=25
			while [ -n "$vpath" ] && [ "$vpath" != null ]; do
				api GET "$vpath"
				[ "$STATUS" = 200 ] || { echo "LIST-FAILED"; return; }
				jq -r --arg n "$name" '.value[].kid | sub(".*/"; "") | "\($n) \(.)"' <<<"$BODY"
				vpath=$(jq -r '.nextLink // empty | sub("^https://[^/]*"; "")' <<<"$BODY")
			done
		done
		path=$(jq -r '.nextLink // empty | sub("^https://[^/]*"; "")' <<<"$page")
	done
}

# The whole check of the store against the ledgers.  Quick mode releases
# the acknowledged versions not released before; full mode every version.
verify() { # quick|full
	local mode=$1 bad=0 name ver st
	cat "$T"/ledger-* 2>/dev/null >"$T/ledger"
	list_versions >"$T/listed"
	if grep -q LIST-FAILED "$T/listed"; then
		failed "listing keys and versions after a crash"
		return
	fi
	# Acknowledged creations and rotations of keys not deleted since
	# (acknowledged or not) are listed.
	awk '$1 == "try" && $2 == "delete" {gone[$3] = 1}
	    $1 == "ok" && ($2 == "create" || $2 == "rotate") {v[$3 " " $4] = $3}
	    END {for (k in v) if (!(v[k] in gone)) print k}' "$T/ledger" | sort >"$T/acked"
	if [ -n "$(comm -23 "$T/acked" <(sort "$T/listed"))" ]; then
		failed "acknowledged versions missing: $(comm -23 "$T/acked" <(sort "$T/listed") | head -3 | tr '\n' ' ')"
		bad=1
	fi
	# Acknowledged deletions are not listed (and are in deletedkeys).
	for name in $(awk '$1 == "ok" && $2 == "delete" {print $3}' "$T/ledger"); do
		if grep -q "^$name " "$T/listed"; then
			failed "deleted key $name is listed"
			bad=1
		fi
	done
	# Nothing a client never asked for; every listed version is whole.
	while read -r name ver; do
		if ! grep -q "^try create $name\$" "$T/ledger"; then
			failed "key $name exists but no client created it"
			bad=1
		fi
		if [ "$mode" = full ] || { grep -q "^ok [a-z]* $name $ver\$" "$T/ledger" &&
		    ! grep -qx "$name $ver" "$T/verified"; }; then
			st=$(release_status "$name" "$ver")
			if [ "$st" != 200 ]; then
				failed "version $name/$ver does not release: $st $(head -c 200 "$T/rel.body")"
				bad=1
			fi
			echo "$name $ver" >>"$T/verified"
		fi
	done <"$T/listed"
	api GET /admin/audit/verify
	if [ "$STATUS" != 200 ] || [ "$(jq -r .ok <<<"$BODY")" != true ]; then
		failed "audit chain after a crash: $BODY"
		bad=1
	fi
	[ "$bad" = 0 ] && pass "$mode check: $(wc -l <"$T/acked") acknowledged versions, $(wc -l <"$T/listed") listed, all whole"
}

# ---- 1. the SIGKILL storm -----------------------------------------------------
kills=0
for it in $(seq "$ITERATIONS"); do
	skr_start --config "$T/skrd.conf" || finish
	for w in $(seq "$WORKERS"); do worker "$w" "$it" & done
	# A random moment: 0.2 to 1.5 s into the storm.
	sleep "$((RANDOM % 14 / 10)).$((RANDOM % 10))"
	sleep 0.2
	kill -KILL "$SKRD_PID"
	wait "$SKRD_PID" 2>/dev/null
	SKRD_PID=
	kills=$((kills + 1))
	wait
	# Every fifth round, and the last, check the store in between.
	if [ $((it % 5)) = 0 ] || [ "$it" = "$ITERATIONS" ]; then
		skr_start --config "$T/skrd.conf" || finish
		verify quick
		skr_stop
	fi
done
check "$kills kills" test "$kills" = "$ITERATIONS"
acks=$(cat "$T"/ledger-* | grep -c '^ok ')
tries=$(cat "$T"/ledger-* | grep -c '^try ')
check "the storm made progress ($acks of $tries operations acknowledged)" test "$acks" -ge "$ITERATIONS"
skr_start --config "$T/skrd.conf" || finish
verify full
# The check itself can fail: a made-up acknowledgement is reported missing.
echo "ok create c1-0-0 0123456789abcdef0123456789abcdef" >>"$T/ledger-1"
p0=$PASSED f0=$FAILED
verify quick 2>/dev/null >/dev/null
f1=$FAILED
PASSED=$p0 FAILED=$f0
check "the check notices an acknowledged version that is missing" test "$f1" -gt "$f0"
sed -i '$d' "$T/ledger-1"
skr_stop
ctl audit verify --data "$D"
expect_rc 0 "offline audit chain check after $kills kills"

# ---- 2. a full disk ----------------------------------------------------------
# fill_phase NAME DATADIR CONFIG FILL-COMMAND: keys and releases before,
# the fill, then writes refused and reads and releases going on.
fill_phase() {
	local what=$1 data=$2 conf=$3 fill=$4 i st ok=0 full=0 keep_d=$D
	D=$data
	skr_start --config "$conf" || { D=$keep_d; return; }
	for i in 1 2 3; do
		api POST "/keys/pre-$i/create" "$CREATE_BODY"
		expect_status 200 "$what: create a key before the disk fills"
	done
	api POST /keys/pre-1/rotate
	expect_status 200 "$what: rotate it"
	st=$(release_status pre-1 "")
	check "$what: release before the fill" test "$st" = 200
	# Fill.
	eval "$fill"
	for i in $(seq 400); do
		api POST "/keys/fill-$i/create" "$CREATE_BODY"
		if [ "$STATUS" = 507 ]; then full=1; break; fi
		[ "$STATUS" = 200 ] || break
	done
	check "$what: key writes end with 507 once full" test "$full" = 1
	expect_error 507 SKR.STORE.FULL "$what: the refusal names SKR.STORE.FULL"
	api POST /keys/pre-2/rotate
	expect_error 507 SKR.STORE.FULL "$what: rotate refused while full"
	api PATCH /keys/pre-2 '{"tags":{"a":"b"}}'
	check "$what: update refused while full (5xx)" test "${STATUS:0:1}" = 5
	# Reads and releases go on.
	api GET /keys/pre-1
	expect_status 200 "$what: reads while full"
	api GET '/keys?maxresults=5'
	expect_status 200 "$what: lists while full"
	for i in $(seq 10); do
		st=$(release_status "pre-$((i % 3 + 1))" "")
		[ "$st" = 200 ] && ok=$((ok + 1))
	done
	check "$what: releases while full ($ok of 10)" test "$ok" = 10
	api GET /admin/audit/verify
	expect_json .ok true "$what: audit chain intact while full"
	skr_stop
	# A restart while full: opens, serves reads and releases.
	skr_start --config "$conf" || { D=$keep_d; return; }
	api GET /keys/pre-3
	expect_status 200 "$what: reads after a restart while full"
	st=$(release_status pre-3 "")
	check "$what: release after a restart while full" test "$st" = 200
	api POST /keys/after/create "$CREATE_BODY"
	expect_error 507 SKR.STORE.FULL "$what: still full after the restart"
	skr_stop
	D=$keep_d
}

# 2a. A small LMDB map (works anywhere).
MAPD=$T/mapfull
rm -rf "$MAPD"
"$SKRD" init --data "$MAPD" >"$T/map.admin" 2>/dev/null
check "init a store for the small map" test -s "$MAPD/skr.mdb"
config "$T/map.conf" "store_map_size = 524288"
ADMIN0=$ADMIN AUTH0=$AUTH
ADMIN=$(cat "$T/map.admin") AUTH=$ADMIN
fill_phase "small map" "$MAPD" "$T/map.conf" ":"
ADMIN=$ADMIN0 AUTH=$AUTH0

# 2b. A small tmpfs that another writer fills up, when mounting is allowed.
TMPFS=$T/tmpfs
mkdir -p "$TMPFS"
if mount -t tmpfs -o size=8m,mode=0700 tmpfs "$TMPFS" 2>/dev/null; then
	trap 'umount -l "$TMPFS" 2>/dev/null; skr_cleanup' EXIT
	"$SKRD" init --data "$TMPFS/data" >"$T/tmpfs.admin" 2>/dev/null
	check "init a store on an 8 MiB tmpfs" test -s "$TMPFS/data/skr.mdb"
	ADMIN=$(cat "$T/tmpfs.admin") AUTH=$ADMIN
	fill_phase "full tmpfs" "$TMPFS/data" "$T/skrd.conf" \
		"dd if=/dev/zero of=$TMPFS/filler bs=64k 2>/dev/null; df -k $TMPFS | tail -1 >&2"
	# Space again: writes work again.
	rm -f "$TMPFS/filler"
	D=$TMPFS/data
	skr_start --config "$T/skrd.conf" && {
		api POST /keys/again/create "$CREATE_BODY"
		expect_status 200 "full tmpfs: writes work again once there is space"
		skr_stop
	}
	D=$T/data
	umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS"
else
	echo "# tmpfs cannot be mounted here: the full disk is covered by the small map only"
fi
finish
