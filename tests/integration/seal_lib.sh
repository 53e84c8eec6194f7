# Helpers for the seal tests (docs/sealing.md); source after lib.sh.
#
#   hsm_init DIR LABEL [PIN]  a SoftHSM2 token store in DIR with one token
#                           LABEL (user PIN PIN, 1234 by default);
#                           exports SOFTHSM2_CONF
#   tpm_start NAME          a swtpm on a free port pair, state in $T/NAME;
#                           sets TPM_PID_<NAME>, TCTI_<NAME>
#   tpm_stop NAME
#   rel_setup               the test authority, a release policy, a TEE
#                           key and a token; $T/skrd.conf trusts it
#   keys_make               three exportable keys (RSA, EC, oct) imported
#                           from files kept in $T/k-*
#   keys_same DESC          every key releases the bytes it was imported
#                           with
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
for tool in softhsm2-util swtpm swtpm_ioctl tpm2_pcrextend python3; do
	command -v "$tool" >/dev/null ||
		{ failed "$tool is missing (scripts/install-deps.sh installs it)"; finish; }
done
[ -r "$SOFTHSM_MODULE" ] ||
	{ failed "$SOFTHSM_MODULE is missing (scripts/install-deps.sh installs softhsm2)"; finish; }

hsm_init() {
	local dir=$1 label=$2 pin=${3:-1234}
	mkdir -p "$dir/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$dir" >"$dir/softhsm2.conf"
	export SOFTHSM2_CONF=$dir/softhsm2.conf
	softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin 5678 >/dev/null
}

tpm_start() {
	local name=$1 port pid _
	mkdir -p "$T/$name"
	port=$(free_port_pair)
	[ -n "$port" ] || { failed "no free port pair for swtpm"; return 1; }
	swtpm socket --tpm2 \
		--server type=tcp,port="$port",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear \
		--tpmstate dir="$T/$name" 2>"$T/$name.log" &
	pid=$!
	skr_track "$pid"
	eval "TPM_PID_$name=$pid TCTI_$name=swtpm:host=127.0.0.1,port=$port"
	for _ in $(seq 200); do
		TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port" \
			tpm2_getcap properties-fixed >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	failed "swtpm start"
	return 1
}

tpm_stop() {
	local pid
	eval "pid=\${TPM_PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "TPM_PID_$1="
}

rel_setup() {
	ta_start || return 1
	printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
		"$ISS" >"$T/policy.json"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
	"$SKR_TEST_AUTHORITY" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" \
		>"$T/cvm.tok" 2>>"$T/ta.err"
	test -s "$T/cvm.tok" || { failed "mint a token"; return 1; }
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k-rsa.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k-ec.pem" 2>/dev/null
	head -c 32 /dev/urandom >"$T/k-oct"
}

keys_make() {
	ctl key import k-rsa --pem "$T/k-rsa.pem" --exportable --policy "$T/policy.json"
	expect_rc 0 "import an RSA key"
	ctl key import k-ec --pem "$T/k-ec.pem" --exportable --policy "$T/policy.json"
	expect_rc 0 "import an EC key"
	ctl key import k-oct --oct "$T/k-oct" --exportable --policy "$T/policy.json"
	expect_rc 0 "import an oct key"
}

# release_one NAME OUT: a release through skrctl; true on success.
release_one() {
	rm -f "$2"
	SKR_TOKEN=$AUTH "$SKRCTL" release "$1" --token "$T/cvm.tok" \
		--wrapping-key "$T/tee.pem" --out "$2" >/dev/null 2>"$T/rel.err"
}

keys_same() {
	local ok=1 k
	for k in rsa ec; do
		release_one "k-$k" "$T/out-$k" && cmp -s \
			<(openssl pkey -in "$T/out-$k" -outform DER 2>/dev/null) \
			<(openssl pkey -in "$T/k-$k.pem" -outform DER 2>/dev/null) || ok=0
	done
	release_one k-oct "$T/out-oct" && cmp -s "$T/out-oct" "$T/k-oct" || ok=0
	if [ "$ok" = 1 ]; then pass "$1"; else failed "$1: $(cat "$T/rel.err")"; fi
}

# init_seal ARGS...: skrd init with a seal; the admin token (the last line
# of standard output) in $ADMIN, the shares in $T/shares.
init_seal() {
	rm -rf "$D"
	"$SKRD" init --data "$D" "$@" >"$T/init.out" 2>"$T/init.err" ||
		{ cat "$T/init.err" >&2; failed "skrd init $*"; return 1; }
	ADMIN=$(tail -1 "$T/init.out")
	AUTH=$ADMIN
	SKR_TOKEN=$ADMIN
	SKR_CACERT=$D/ca.pem
	export SKR_TOKEN SKR_CACERT
	grep '^share ' "$T/init.out" >"$T/shares" || :
}

# share I: the text of share I of $T/shares.
share() { sed -n "s|^share $1/[0-9]*: ||p" "$T/shares"; }

# serve_fails DESC PATTERN [ARGS...]: skrd serve exits non-zero at once,
# with one line on standard error that matches PATTERN.
serve_fails() {
	local desc=$1 pat=$2 rc=0 n
	shift 2
	timeout 60 "$SKRD" serve --data "$D" --listen 127.0.0.1:0 --config "$T/skrd.conf" "$@" \
		>"$T/fail.out" 2>"$T/fail.err" || rc=$?
	n=$(grep -vc '^{' "$T/fail.err")
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$n" = 1 ] && grep -q "$pat" "$T/fail.err" &&
		! grep -q 'listening on' "$T/fail.err"; then
		pass "$desc"
	else
		failed "$desc: exit $rc, stderr: $(cat "$T/fail.err")"
	fi
}
