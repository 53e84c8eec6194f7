#!/usr/bin/env bash
# skrctl's one argument parser as main wires it to every command, without a
# server: the same rules for all commands ("--", --name=VALUE, --help and -h
# anywhere, server options before or after the command, another command's
# options refused), usage on standard output only when asked for.  Nothing
# listens on port 1: a command that got past its arguments exits 1 there,
# a usage error exits 2.
set -uo pipefail
: "${SKRCTL:?SKRCTL must name the skrctl binary}"
T=$(mktemp -d /tmp/skr-test-parse-XXXXXX)
trap 'rm -rf "$T"' EXIT
PASSED=0
FAILED=0
export SKR_ADDR=https://127.0.0.1:1 SKR_TOKEN=t
unset SKR_CACERT SKR_PIN SKR_SIGNING_CERT

want() { # want RC DESC ARGS...
	local want=$1 desc=$2 rc=0
	shift 2
	timeout 20 "$SKRCTL" "$@" >"$T/out" 2>"$T/err" || rc=$?
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
TRANSPORT="^skrctl: SKR.CLIENT.TRANSPORT: "

# Every command in the usage, the offline ones included.
want 0 "--help" --help
for c in "key create NAME" "key deleted \[NAME\]" "release NAME" "evaluate NAME" \
	"nonce" "status" "token create" "authority refresh ISSUER" "dev token" \
	"audit verify" "policy check FILE" "policy eval --token FILE"; do
	has out "^  $c" "... lists $c"
done
has out "^              \[--issuer URL\] \[--at UNIXTIME\] \[--skew SECONDS\] \[--json\]" \
	"... continuation lines aligned under the arguments"

# "--": what follows is positional (key names may start with a dash).
want 1 "key show -- NAME" key show -- k
has err "$TRANSPORT" "... got as far as the server"
want 1 "key show -- -h names a key -h" key show -- -h
has err "$TRANSPORT" "... not the usage"
want 2 "key show -- --version 3: too many names" key show -- --version 3
has err "^usage: skrctl key show NAME \[--version V\]" "... prints the usage"
want 1 "key show NAME --: nothing after it" key show k --
want 2 "-- before the command is no command" -- key list
has err 'unknown command "--"' "... says so"

# --name=VALUE, for values and for server options before the command.
want 1 "key show --version=3 NAME" key show --version=3 k
has err "$TRANSPORT" "... accepted"
want 1 "--addr=URL before the command" --addr=https://127.0.0.1:1 key list
has err "$TRANSPORT" "... accepted"
want 2 "a flag with a value" key list --json=1
has err "^skrctl: --json takes no value" "... refused"
empty out "... nothing on standard output"

# Another command's options are unknown here.
want 2 "release's --token on key list" key list --token x
has err "^skrctl: unknown option --token" "... names it"
has err "^usage: skrctl key list" "... and the usage of key list"
want 2 "key backup's --force on key show" key show k --force
want 2 "policy eval's --jwks on evaluate" evaluate k --token x --jwks y
want 2 "abbreviated options are not taken" key show k --vers 3

# Help: -h as --help, anywhere, even among errors; stdout, exit 0.
want 0 "-h after a command" key show -h
has out "^usage: skrctl key show NAME \[--version V\]" "... its usage on stdout"
empty err "... nothing on stderr"
want 0 "--help after an unknown option" key list --bogus --help
has out "^usage: skrctl key list" "... the usage"
want 0 "--help before the command" --json --help key list
has out "^usage: skrctl key list" "... of that command"
want 0 "a group -h" key -h
has out "^usage: skrctl key create" "... lists the group"
has out "^       skrctl key restore --in FILE|-" "... every command of it"
want 0 "a group help" token help
has out "^       skrctl token revoke ID" "... lists the group"
want 2 "an unknown group command, even with --help" key frob --help
has err 'unknown command "key frob"' "... names it"
want 0 "release --help" release --help
has out "^                      \[--version V\]" "... continuation aligned"

# Server options: before or after the command, the last one wins.
want 1 "server options before and after" --addr https://bad.invalid:1 key list --addr https://127.0.0.1:1
has err "$TRANSPORT.*127.0.0.1" "... the last --addr is used"
want 2 "--addr without a value at the end" key list --addr
has err "^skrctl: --addr needs a value" "... says so"
want 2 "--addr without a value before nothing" --addr
has err "no command" "... no command"

# Positionals and values as they come.
want 2 "too many positionals" key deleted a b c d e
has err "^usage: skrctl key deleted \[NAME\]" "... the usage"
want 2 "key deleted with two names" key deleted a b
has err "key deleted takes at most one NAME" "... its own words"
want 2 "token create: every --role kept, a bad --expires" token create --role a --role b --expires x
has err "^skrctl: --expires takes a UNIX time" "... checked after the roles"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
