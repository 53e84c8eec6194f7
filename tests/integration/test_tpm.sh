#!/usr/bin/env bash
# Integration: libskr's TPM unwrapper against a software TPM (swtpm) and a
# real skrd, through the library (tpm_e2e) and through `skrctl release
# --tpm` and `skrctl tpm pubkey`.  The wrapping key is made by tpm2-tools
# from the template of docs/libskr.md ("The wrapping key in a TPM"), not by
# skr, so that the template libskr makes the key from is checked
# independently; the test authority's token names that key; RSA, EC and oct
# keys are released with each enc and must be the bytes imported.
# Refusals: a token for another key, PCRs extended and a TPM reset after the
# token (both before anything is sent), both again between the check and
# the release, and a ciphertext the TPM does not open; through skrctl each
# is exit 1 with the error's id and leaves no file and an existing one as it
# was.  SKR_TCTI and --tcti choose the TPM.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
E2E=${TPM_E2E:?TPM_E2E must name the tpm_e2e program}
. "$SKR_TESTS_DIR/tpm.sh"

tpm_start || finish
check "tpm2-tools makes the attestation key" make_tpm_key "$T/tpmkey.pem"
check "its template has no userwithauth" \
	grep -q 'value: fixedtpm|fixedparent|sensitivedataorigin|noda|decrypt$' "$T/primary.txt"

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

# skrctl tpm pubkey: what tpm2_readpublic gives, as PEM and as the JWK.
ctl tpm pubkey --pem
expect_rc 0 "skrctl tpm pubkey --pem"
printf '%s\n' "$OUT" >"$T/ctl.pem"
check "  ... is tpm2_readpublic's PEM" cmp -s "$T/ctl.pem" "$T/tpmkey.pem"
ctl tpm pubkey
check "  ... and PEM is the default" test "$RC:$OUT" = "0:$(cat "$T/tpmkey.pem")"
ctl tpm pubkey --jwk
expect_rc 0 "skrctl tpm pubkey --jwk"
N_CTL=$(jq -r .n <<<"$OUT" | tr -- '-_' '+/' | sed 's/$/==/' | base64 -d 2>/dev/null |
	od -An -tx1 -v | tr -d ' \n' | tr a-f A-F)
check "  ... has tpm2_readpublic's modulus" test "$N_CTL" = "$N_TOOLS"
check "  ... and names it as the token does" jq -e \
	'.kid == "TpmEphemeralEncryptionKey" and .e == "AQAB" and .key_ops == ["encrypt"] and .kty == "RSA"' <<<"$OUT"
ctl tpm pubkey --pem --jwk
expect_rc 2 "--pem and --jwk: a usage error"
ctl tpm pubkey --addr https://127.0.0.1:1
expect_rc 2 "tpm pubkey takes no server options"

# The TPM: --tcti, else SKR_TCTI, else device:/dev/tpmrm0.
DEAD="swtpm:host=127.0.0.1,port=$(free_port_pair)"
SKR_TCTI= ctl tpm pubkey --tcti "$TPM2TOOLS_TCTI"
check "--tcti names the TPM" test "$RC:$OUT" = "0:$(cat "$T/tpmkey.pem")"
SKR_TCTI=$DEAD ctl tpm pubkey --tcti "$TPM2TOOLS_TCTI"
check "  ... over SKR_TCTI" test "$RC:$OUT" = "0:$(cat "$T/tpmkey.pem")"
SKR_TCTI=$DEAD ctl tpm pubkey
expect_rc 1 "SKR_TCTI names the TPM: one that is not there is exit 1"
check "  ... SKR.TPM.UNAVAILABLE, naming the TCTI" \
	grep -q "^skrctl: SKR.TPM.UNAVAILABLE: .*$DEAD" <<<"$ERR"
check "  ... and saying how to name another" grep -q "SKR_TCTI" <<<"$ERR"
check "  ... and nothing on standard output" test -z "$OUT"
check "  ... and no line of the TSS's own" sh -c "! grep -q '^WARNING:\|^ERROR:' '$T/ctl.err'"
if [ -e /dev/tpmrm0 ]; then
	echo "ok - # the default TCTI not checked: this machine has /dev/tpmrm0"
else
	SKR_TCTI= ctl tpm pubkey
	check "without either, device:/dev/tpmrm0" test "$RC" = 1
	check "  ... named in the error" grep -q "SKR.TPM.UNAVAILABLE: .*device:/dev/tpmrm0" <<<"$ERR"
fi

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

# skrctl release --tpm: PEM (PKCS#8) for RSA and EC, raw bytes for oct.
pem_der() { sed '/^-----/d' "$1" | base64 -d; }
for kty in rsa ec oct; do
	want=$T/k-$kty.der
	[ "$kty" = oct ] && want=$T/k-oct
	for enc in CKM_RSA_AES_KEY_WRAP RSA_AES_KEY_WRAP_256 RSA_AES_KEY_WRAP_384; do
		out=$T/ctl-$kty-$enc
		ctl release "tpm-$kty" --token "$T/tpm.tok" --tpm --enc "$enc" --out "$out"
		if [ "$RC" = 0 ] && { if [ "$kty" = oct ]; then cmp -s "$out" "$want"; else
			head -1 "$out" | grep -q '^-----BEGIN PRIVATE KEY-----$' &&
				cmp -s <(pem_der "$out") "$want"; fi; }; then
			pass "skrctl release --tpm $kty with $enc: the imported bytes"
		else
			failed "skrctl release --tpm $kty with $enc: exit $RC: $ERR"
		fi
	done
done
check "the released key file is 0600" test "$(stat -c %a "$T/ctl-oct-CKM_RSA_AES_KEY_WRAP")" = 600
RC=0
SKR_TOKEN= "$SKRCTL" release tpm-oct --token "$T/tpm.tok" --tpm --out - >"$T/stdout.key" 2>"$T/ctl.err" || RC=$?
ERR=$(cat "$T/ctl.err")
expect_rc 0 "skrctl release --tpm --out -, the default enc, no bearer token"
check "  ... the key on standard output" cmp -s "$T/stdout.key" "$T/k-oct"
SKR_TCTI=$DEAD ctl release tpm-oct --token "$T/tpm.tok" --tpm --tcti "$TPM2TOOLS_TCTI" --json --out "$T/tcti.key"
check "release --tcti over SKR_TCTI" test "$RC:$(jq -r .kty <<<"$OUT")" = 0:oct
check "  ... the key" cmp -s "$T/tcti.key" "$T/k-oct"

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

# ctl_refused RC ID DESC ARGS...: skrctl release --tpm ARGS exits RC with
# "skrctl: ID: ...", once to a new file, which must not appear, once
# --force over an existing one, which must stay as it was; no temporary
# file is left beside either.
echo "the key of an earlier boot" >"$T/kept"
cp "$T/kept" "$T/kept.orig"
ctl_refused() {
	local rc=$1 id=$2 desc=$3 out=$T/refused
	shift 3
	rm -f "$out"
	ctl release "$@" --tpm --out "$out"
	if [ "$RC" = "$rc" ] && grep -q "^skrctl: $id: " <<<"$ERR" && [ ! -e "$out" ]; then
		pass "$desc: exit $rc, $id, no file"
	else
		failed "$desc: exit $RC (want $rc), $ERR, file: $([ -e "$out" ] && echo yes || echo no)"
	fi
	cat "$T/ctl.err" >>"$T/refusals.err"
	ctl release "$@" --tpm --out "$T/kept" --force
	if [ "$RC" = "$rc" ] && cmp -s "$T/kept" "$T/kept.orig"; then
		pass "$desc: --force leaves the existing file as it was"
	else
		failed "$desc --force: exit $RC (want $rc), file $(cat "$T/kept")"
	fi
	check "$desc: no temporary file left" test -z "$(find "$T" -maxdepth 1 \( -name '.refused.*' -o -name '.kept.*' \))"
}
ctl_refused 1 SKR.TPM.KEY_MISMATCH "skrctl: a token naming another key" \
	tpm-refuse --token "$T/other.tok"
check "  ... says why and what to do" bash -c "grep -q 'another TPM, or this TPM was reset or its PCRs 0-7 changed' '$T/ctl.err' &&
	grep -q 'get a new attestation token.*skrctl tpm pubkey' '$T/ctl.err'"
ctl_refused 3 SKR.WRAPKEY.MISSING "skrctl: a token naming no key is refused as skrd would" \
	tpm-refuse --token "$T/nokey.tok"
SKR_TCTI=$DEAD ctl_refused 1 SKR.TPM.UNAVAILABLE "skrctl: no TPM at SKR_TCTI" \
	tpm-refuse --token "$T/tpm.tok"

# PCRs extended after the token was made: the key the TPM makes now is
# another one, which is caught before the request.
check "extend PCR 7" tpm2_pcrextend 7:sha256=$(printf %064d 7)
expect_refusal SKR.TPM.KEY_MISMATCH "a PCR extended after the token: refused" \
	release tpm-refuse "$T/tpm.tok"
ctl_refused 1 SKR.TPM.KEY_MISMATCH "skrctl: a PCR extended after the token" \
	tpm-refuse --token "$T/tpm.tok" --enc RSA_AES_KEY_WRAP_256

# A TPM reset (a reboot) after the token: a new NULL seed, a new key.
check "make the key again for the new PCRs" make_tpm_key "$T/tpmkey2.pem"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tpmkey2.pem" >"$T/tpm2.tok"
check "a TPM reset" tpm_reset
check "it gives another key" test "$(spki "$T/tpmkey2.pem")" != "$(spki "$T/tpmkey.pem")"
expect_refusal SKR.TPM.KEY_MISMATCH "a TPM reset after the token: refused" \
	release tpm-refuse "$T/tpm2.tok"
ctl_refused 1 SKR.TPM.KEY_MISMATCH "skrctl: a TPM reset after the token" \
	tpm-refuse --token "$T/tpm2.tok"
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
