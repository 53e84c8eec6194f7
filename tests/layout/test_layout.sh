#!/usr/bin/env bash
# The boundaries the build enforces (README, "Layout"), checked on the built
# tree: a library's compile command cannot reach the headers of a layer it
# does not link, skrctl carries no HTTP server, and nothing but the
# dev-mode library and the test authority's own program can mint tokens.
set -uo pipefail
: "${BUILD:?BUILD must name the build directory}"
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*" >&2; }
T=$(mktemp -d /tmp/skr-layout-XXXXXX)
trap 'rm -rf "$T"' EXIT

# The compile command meson used for the first source of an archive, with
# the source swapped for a probe that includes HEADER.  Exit status of the
# compiler: 0 when the header is visible to that library.
probe() {
	local archive=$1 header=$2
	printf '#include "%s"\nint skr_layout_probe;\n' "$header" >"$T/probe.c"
	python3 - "$BUILD/compile_commands.json" "$archive" "$T/probe.c" \
	    >"$T/cmd" <<'PY' || return 2
import json, shlex, sys
db, archive, probe = sys.argv[1:]
for c in json.load(open(db)):
    if ("/" + archive + ".a.p/") in "/" + c["output"]:
        args = shlex.split(c["command"])
        out = args.index("-o")
        del args[out:out + 2]
        args = [a for a in args if a not in ("-c", "-MD") and a != c["file"]]
        i = 0
        while i < len(args):
            if args[i] in ("-MQ", "-MF"):
                del args[i:i + 2]
            else:
                i += 1
        print(shlex.join(args + ["-fsyntax-only", probe]))
        break
else:
    sys.exit(1)
PY
	(cd "$BUILD" && eval "$(cat "$T/cmd")") >/dev/null 2>&1
}

visible() {
	probe "$1" "$2"
	case $? in
	0) pass "$3" ;;
	2) fail "$3: no compile command for $1" ;;
	*) fail "$3" ;;
	esac
}
hidden() {
	probe "$1" "$2"
	case $? in
	0) fail "$3" ;;
	2) fail "$3: no compile command for $1" ;;
	*) pass "$3" ;;
	esac
}

# The probe itself works: a library sees its own headers.
visible server/store/libskrstore store.h "the store sees store.h"
visible server/attest/libskrattest token.h "attest sees token.h"
hidden server/attest/libskrattest store.h "attest cannot include store.h"
hidden server/attest/libskrattest masterkey.h \
    "attest cannot include masterkey.h"
hidden keys/libskrkeys store.h "keys/ cannot include store.h"
hidden keys/libskrkeys token.h "keys/ cannot include attest headers"
hidden server/store/libskrstore request.h \
    "the store cannot include the HTTP request model"
hidden server/store/libskrstore http.h "the store cannot include http.h"
hidden server/testauth/libskrtestauth server.h \
    "the test authority cannot include skrd's server.h"
hidden server/testauth/libskrtestauth store.h \
    "the test authority cannot include store.h"

# Symbols.  nm lists what an object defines (T, D, B...) and what it needs
# (U); a boundary holds when neither appears where it must not.
syms() { nm "$1" 2>/dev/null | awk '{print $NF}'; }
none() {
	local file=$1 pat=$2 desc=$3 n
	if [ ! -e "$file" ]; then
		fail "$desc: $file missing"
		return
	fi
	n=$(syms "$file" | grep -cE "$pat")
	if [ "$n" = 0 ]; then pass "$desc"; else fail "$desc ($n symbols)"; fi
}
some() {
	local file=$1 pat=$2 desc=$3
	if syms "$file" | grep -qE "$pat"; then pass "$desc"; else fail "$desc"; fi
}

none "$BUILD/client/skrctl" '^h2o_' "skrctl has no h2o symbol"
none "$BUILD/client/skrctl" '^skr_(http|dispatch|route)_' \
    "skrctl has no HTTP server symbol"
none "$BUILD/client/skrctl" '^skr_store_' "skrctl links no sealed store"
none "$BUILD/client/skrctl" '^skr_testauth_' "skrctl cannot mint tokens"
none "$BUILD/server/libskrserver.a" '^skr_testauth_' \
    "skrd's serving library cannot mint tokens"
some "$BUILD/server/libskrdev.a" '^skr_testauth_mint' \
    "the dev-mode library is where skrd mints (the check can fail)"
none "$BUILD/server/testauth/skr-test-authority" '^skr_(store|dispatch)_' \
    "skr-test-authority links no store and no skrd dispatcher"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
