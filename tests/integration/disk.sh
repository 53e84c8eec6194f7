# The example disk-key units (examples/skr-disk-key.service,
# skr-disk-key-file.service) for the disk tests: source it after lib.sh.
#
#   EXAMPLES               the examples folder
#   unit_line UNIT KEY     the value of UNIT's one KEY= line (false unless
#                          there is exactly one)
#   unit_run UNIT ENV...   what UNIT's ExecStart runs, "skr-disk-key open
#                          MODE", as examples/skr-disk-key check MODE with
#                          the environment ENV (VAR=VALUE...): the same
#                          release, with cryptsetup testing the key on the
#                          volume instead of mapping it (the tests have no
#                          device mapper to spare); sets RC, ERR, and OUT
#                          (its standard output, which must stay empty)
EXAMPLES=$SKR_TESTS_DIR/../../examples
for tool in cryptsetup openssl; do
	command -v "$tool" >/dev/null ||
		{ failed "$tool is missing (scripts/install-deps.sh installs it)"; finish; }
done

unit_line() {
	[ "$(grep -c "^$2=" "$1")" = 1 ] && sed -n "s/^$2=//p" "$1"
}

unit_run() {
	local unit=$1 line
	local -a words
	shift
	RC=255
	OUT=
	if ! line=$(unit_line "$unit" ExecStart); then
		ERR="$unit: not one ExecStart="
		return
	fi
	read -ra words <<<"$line"
	if [ "${#words[@]}" != 3 ] || [ "${words[0]##*/}" != skr-disk-key ] ||
		[ "${words[1]}" != open ]; then
		ERR="$unit: ExecStart=$line is not skr-disk-key open MODE"
		return
	fi
	RC=0
	env "$@" "$EXAMPLES/skr-disk-key" check "${words[2]}" >"$T/unit.out" \
		2>"$T/unit.err" || RC=$?
	OUT=$(cat "$T/unit.out")
	ERR=$(cat "$T/unit.err")
}
