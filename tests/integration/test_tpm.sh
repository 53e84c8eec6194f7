#!/usr/bin/env bash
# Integration: libskr's TPM unwrapper against a software TPM (swtpm) and a
# real skrd.  The wrapping key is made by tpm2-tools from the template of
# docs/libskr.md ("The wrapping key in a TPM"), not by skr, so that the
# template libskr makes the key from is checked independently; the test
# authority's token names that key; RSA, EC and oct keys are released with
# each enc and must be the bytes imported.  Refusals: a token for another
# key, PCRs extended and a TPM reset after the token (both before anything
# is sent), both again between the check and the release, and a ciphertext
# the TPM does not open.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
E2E=${TPM_E2E:?TPM_E2E must name the tpm_e2e program}
for tool in swtpm swtpm_ioctl tpm2_createprimary python3; do
	command -v "$tool" >/dev/null ||
		{ failed "$tool is missing (scripts/install-deps.sh installs it)"; finish; }
done

# ---- the TPM ---------------------------------------------------------------
# Two free loopback ports in a row: the TPM's and its control channel.
free_port_pair() {
	python3 - <<'EOF'
import socket
for _ in range(200):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    finally:
        a.close()
        b.close()
    print(p)
    break
EOF
}

TPM_PID=
tpm_start() {
	local _
	mkdir -p "$T/tpm"
	TPM_PORT=$(free_port_pair)
	[ -n "$TPM_PORT" ] || { failed "no free port pair for swtpm"; return 1; }
	swtpm socket --tpm2 \
		--server type=tcp,port="$TPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((TPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear \
		--tpmstate dir="$T/tpm" 2>"$T/swtpm.log" &
	TPM_PID=$!
	skr_track "$TPM_PID"
	export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$TPM_PORT"
	export SKR_TCTI=$TPM2TOOLS_TCTI
	for _ in $(seq 200); do
		tpm2_getcap properties-fixed >/dev/null 2>&1 && return 0
		kill -0 "$TPM_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/swtpm.log" >&2
	failed "swtpm start"
	return 1
}

# A TPM reset, as a reboot does: power cycle, then TPM2_Startup(CLEAR).
tpm_reset() {
	swtpm_ioctl --tcp 127.0.0.1:$((TPM_PORT + 1)) -i >/dev/null &&
		tpm2_startup -c >/dev/null 2>&1
}

# make_tpm_key OUT.pem: the attestation library's key, made with tpm2-tools:
# a trial session gives PolicyPCR over the SHA-256 PCRs 0-7; CreatePrimary
# in the NULL hierarchy, RSA-2048, no scheme or symmetric algorithm,
# decrypt|fixedtpm|fixedparent|sensitivedataorigin|noda (no userwithauth),
# unique 256 zero bytes.
make_tpm_key() {
	tpm2_startauthsession -S "$T/trial.ctx" &&
		tpm2_policypcr -S "$T/trial.ctx" -l sha256:0,1,2,3,4,5,6,7 \
			-L "$T/policy.dat" >/dev/null &&
		tpm2_flushcontext "$T/trial.ctx" &&
		head -c 256 /dev/zero | tpm2_createprimary -C n -g sha256 \
			-G rsa2048:null:null \
			-a 'decrypt|fixedtpm|fixedparent|sensitivedataorigin|noda' \
			-L "$T/policy.dat" -u - -c "$T/primary.ctx" >"$T/primary.txt" &&
		tpm2_readpublic -c "$T/primary.ctx" -f pem -o "$1" >/dev/null &&
		tpm2_flushcontext -t
}

tpm_start || finish
check "tpm2-tools makes the attestation key" make_tpm_key "$T/tpmkey.pem"
check "its template has no userwithauth" \
	grep -q 'value: fixedtpm|fixedparent|sensitivedataorigin|noda|decrypt$' "$T/primary.txt"

spki() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | od -An -tx1 -v | tr -d ' \n'; }

# ---- the public key --------------------------------------------------------
"$E2E" pubkey pem >"$T/skr.pem" 2>"$T/e2e.err"
if [ -s "$T/skr.pem" ] && [ "$(spki "$T/skr.pem")" = "$(spki "$T/tpmkey.pem")" ]; then
	pass "libskr makes the same key (PEM)"
else
	failed "skr_tpm_pubkey PEM differs from tpm2-tools' key: $(cat "$T/e2e.err")"
fi
"$E2E" pubkey jwk >"$T/skr.jwk" 2>"$T/e2e.err"
N_TOOLS=$(openssl rsa -pubin -in "$T/tpmkey.pem" -noout -modulus | cut -d= -f2)
N_JWK=$(jq -r .n "$T/skr.jwk" | tr -- '-_' '+/' | sed 's/$/==/' | base64 -d 2>/dev/null |
	od -An -tx1 -v | tr -d ' \n' | tr a-f A-F)
check "the JWK has the same modulus" test "$N_JWK" = "$N_TOOLS"
check "the JWK names it as the attestation token does" \
	jq -e '.kid == "TpmEphemeralEncryptionKey" and .e == "AQAB" and .key_ops == ["encrypt"] and .kty == "RSA"' "$T/skr.jwk"

# ---- skrd and keys ---------------------------------------------------------
skr_init || finish
ta_start || finish
skr_start --config "$T/skrd.conf" || finish
export SKR_TOKEN=$ADMIN

printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/cvm.json"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k-rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k-ec.pem" 2>/dev/null
head -c 32 /dev/urandom >"$T/k-oct"
# What a release gives for RSA and EC: PKCS#8 DER.
openssl pkcs8 -topk8 -nocrypt -in "$T/k-rsa.pem" -outform DER -out "$T/k-rsa.der"
openssl pkcs8 -topk8 -nocrypt -in "$T/k-ec.pem" -outform DER -out "$T/k-ec.der"
ctl key import tpm-rsa --pem "$T/k-rsa.pem" --exportable --policy "$T/cvm.json"
expect_rc 0 "import an RSA key"
ctl key import tpm-ec --pem "$T/k-ec.pem" --exportable --policy "$T/cvm.json"
expect_rc 0 "import an EC key"
ctl key import tpm-oct --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "import an oct key"
ctl key import tpm-refuse --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "import a key only refusals ask for"

"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tpmkey.pem" >"$T/tpm.tok"
"$TA" token --dir "$TAD" --tee sevsnp >"$T/nokey.tok"

# ---- releases --------------------------------------------------------------
for kty in rsa ec oct; do
	want=$T/k-$kty.der
	[ "$kty" = oct ] && want=$T/k-oct
	for enc in CKM_RSA_AES_KEY_WRAP RSA_AES_KEY_WRAP_256 RSA_AES_KEY_WRAP_384; do
		if "$E2E" release "tpm-$kty" "$T/tpm.tok" "$enc" >"$T/out" 2>"$T/e2e.err" &&
			cmp -s "$T/out" "$want"; then
			pass "release $kty with $enc, unwrapped in the TPM: the imported bytes"
		else
			failed "release $kty with $enc: $(cat "$T/e2e.err")"
		fi
	done
done
# No enc: the default, SHA-1 OAEP.
if "$E2E" release tpm-oct "$T/tpm.tok" >"$T/out" 2>"$T/e2e.err" && cmp -s "$T/out" "$T/k-oct"; then
	pass "release with the default enc"
else
	failed "release with the default enc: $(cat "$T/e2e.err")"
fi

# The shipped example does the same.
if SKR_ENC=RSA_AES_KEY_WRAP_256 "${RELEASE_KEY_TPM:?}" tpm-rsa "$T/tpm.tok" >"$T/out" 2>"$T/ex.err" &&
	cmp -s "$T/out" "$T/k-rsa.der"; then
	pass "examples/release_key_tpm.c releases the key"
else
	failed "release_key_tpm: $(cat "$T/ex.err")"
fi
if "$RELEASE_KEY_TPM" tpm-rsa "$T/nokey.tok" >"$T/out" 2>"$T/ex.err"; then
	failed "release_key_tpm with a token that names no key"
else
	check "release_key_tpm refuses a token that names no key, with nothing out" test ! -s "$T/out"
fi

# ---- refusals --------------------------------------------------------------

releases() { # the release attempts skrd recorded for tpm-refuse
	api GET "/admin/audit?key=tpm-refuse&event=key.release"
	jq '.value | length' <<<"$BODY"
}
# expect_refusal ID DESC ARGS...: tpm_e2e fails with ID and writes nothing
expect_refusal() {
	local id=$1 desc=$2
	shift 2
	"$E2E" expect "$id" "$@" >"$T/out" 2>"$T/e2e.err"
	local rc=$?
	cat "$T/e2e.err" >>"$T/refusals.err"
	if [ "$rc" = 0 ] && [ ! -s "$T/out" ]; then
		pass "$desc"
	else
		failed "$desc: $(cat "$T/e2e.err") ($(wc -c <"$T/out") bytes out)"
	fi
}
BEFORE=$(releases)

# What the TPM cannot decrypt is UNWRAP, whatever the TPM's reason.
for md in SHA1 SHA256 SHA384; do
	expect_refusal SKR.WRAP.UNWRAP_FAILED "the TPM does not decrypt garbage ($md): SKR.WRAP.UNWRAP_FAILED" \
		garbage "$T/tpm.tok" "$md"
done

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.pem" 2>/dev/null
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/other.pem" >"$T/other.tok"
expect_refusal SKR.TPM.KEY_MISMATCH "a token naming another key is refused" \
	release tpm-refuse "$T/other.tok"
expect_refusal SKR.WRAPKEY.MISSING "a token naming no key is refused" \
	release tpm-refuse "$T/nokey.tok"
check "the message names the cause" grep -q "another TPM, or this TPM was reset or its PCRs 0-7 changed" \
	<("$E2E" release tpm-refuse "$T/other.tok" 2>&1)

# PCRs extended after the token was made: the key the TPM makes now is
# another one, which is caught before the request.
check "extend PCR 7" tpm2_pcrextend 7:sha256=$(printf %064d 7)
expect_refusal SKR.TPM.KEY_MISMATCH "a PCR extended after the token: refused" \
	release tpm-refuse "$T/tpm.tok"

# A TPM reset (a reboot) after the token: a new NULL seed, a new key.
check "make the key again for the new PCRs" make_tpm_key "$T/tpmkey2.pem"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tpmkey2.pem" >"$T/tpm2.tok"
check "a TPM reset" tpm_reset
check "it gives another key" test "$(spki "$T/tpmkey2.pem")" != "$(spki "$T/tpmkey.pem")"
expect_refusal SKR.TPM.KEY_MISMATCH "a TPM reset after the token: refused" \
	release tpm-refuse "$T/tpm2.tok"
check "nothing of these reached skrd" test "$(releases)" = "$BEFORE"

# The same between the check and the release: the key's policy is refused
# in the TPM; a reset is seen when the key is made again.
check "the key after the reset" make_tpm_key "$T/tpmkey3.pem"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tpmkey3.pem" >"$T/tpm3.tok"
if "$E2E" release tpm-oct "$T/tpm3.tok" >"$T/out" 2>"$T/e2e.err" && cmp -s "$T/out" "$T/k-oct"; then
	pass "a fresh token after the reset releases"
else
	failed "release after the reset: $(cat "$T/e2e.err")"
fi
expect_refusal SKR.TPM.POLICY "PCRs extended between the check and the release: the TPM refuses" \
	release tpm-refuse "$T/tpm3.tok" RSA_AES_KEY_WRAP_256 \
	"tpm2_pcrextend 0:sha256=$(printf %064d 1)"
check "the key after the extension" make_tpm_key "$T/tpmkey4.pem"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tpmkey4.pem" >"$T/tpm4.tok"
expect_refusal SKR.TPM.KEY_MISMATCH "a TPM reset between the check and the release: refused" \
	release tpm-refuse "$T/tpm4.tok" "" \
	"swtpm_ioctl --tcp 127.0.0.1:$((TPM_PORT + 1)) -i >/dev/null && tpm2_startup -c 2>/dev/null"

# No TPM there.
SKR_TCTI="swtpm:host=127.0.0.1,port=$(free_port_pair)" \
	expect_refusal SKR.TPM.UNAVAILABLE "no TPM at the TCTI: SKR.TPM.UNAVAILABLE" \
	pubkey pem
# The TSS logs "WARNING:esys:..." and "ERROR:tcti:..." lines by itself;
# through libskr it stays quiet.
check "the refusals printed nothing of the TSS's own" \
	sh -c "! grep -q '^WARNING:\|^ERROR:' '$T/refusals.err'"
check "and their messages say what failed" \
	grep -q 'SKR.TPM.UNAVAILABLE: cannot open TCTI' "$T/refusals.err"

skr_stop
finish
