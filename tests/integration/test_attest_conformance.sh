#!/usr/bin/env bash
# Integration: the real SEV-SNP evidence of ../shared/conformance/snp (see
# its README: AMD-signed reports, VCEKs, a VLEK, AMD's roots, Azure vTPM
# evidence) decided as listed there, offline through `skrctl attest` and
# through skrd's attestation endpoint (POST /attest/SevSnpVm), whose token
# must carry the expected claims.  skrd trusts AMD through its built-in
# pins; the requests carry AMD's ASK and ARK.  The Azure evidence quotes
# fixed nonces, so it goes through skrctl only: skrd's route takes a nonce
# of its own (test_attest.sh covers that route).
. "$SKR_TESTS_DIR/lib.sh"
CONF=${CONFORMANCE_DIR:-}/snp
[ -f "$CONF/README.md" ] || skip "no conformance evidence in $CONF"

b64p() { base64 -w0 | tr '+/' '-_'; }
b64d() { tr -- '-_' '+/' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d; }
ROOTS=$CONF/roots/milan_ask_ark_asvk.pem
AT=2025-06-01

# certs DER -> the VCEK or VLEK (DER) followed by AMD's Milan chain (PEM).
certs() { cat "$1" "$ROOTS" >"$T/$(basename "$1").certs"; echo "$T/$(basename "$1").certs"; }
xxd -r -p "$CONF/virtee-report-milan.hex" >"$T/virtee-report.bin"

# request REPORT CERTS [RUNTIME]: the sidecar's request body.
request() {
	local inner rt=
	inner=$(printf '{"SnpReport":"%s","VcekCertChain":"%s"}' "$(b64p <"$1")" "$(b64p <"$2")" | b64p)
	[ -n "${3:-}" ] && rt=$(printf ',"runtimeData":{"data":"%s","dataType":"JSON"}' "$(b64p <"$3")")
	printf '{"report":"%s"%s,"nonce":1}' "$inner" "$rt" >"$T/req.json"
}

# The README's expected values for a valid case, against claims JSON.
expect_claims() { # DESC CLAIMS VMPL SVN BL TEE SNP UC MEASUREMENT REPORTDATA CHIP16
	check "$1: as listed" jq -e --argjson vmpl "$3" --argjson svn "$4" \
		--argjson bl "$5" --argjson tee "$6" --argjson snp "$7" --argjson uc "$8" \
		--arg m "$9" --arg rd "${10}" --arg chip "${11}" '
		.["x-ms-attestation-type"] == "sevsnpvm" and
		.["x-ms-sevsnpvm-vmpl"] == $vmpl and .["x-ms-sevsnpvm-guestsvn"] == $svn and
		.["x-ms-sevsnpvm-bootloader-svn"] == $bl and .["x-ms-sevsnpvm-tee-svn"] == $tee and
		.["x-ms-sevsnpvm-snpfw-svn"] == $snp and .["x-ms-sevsnpvm-microcode-svn"] == $uc and
		.["x-ms-sevsnpvm-launchmeasurement"] == $m and
		.["x-ms-sevsnpvm-reportdata"] == $rd and
		(.["x-ms-sevsnpvm-chipid"] | startswith($chip)) and
		.["x-ms-sevsnpvm-is-debuggable"] == false and
		.["x-ms-sevsnpvm-smt-allowed"] == true and
		.["x-ms-sevsnpvm-migration-allowed"] == false' <<<"$2"
}

M1=a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c
RD1=ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2$(printf '0%.0s' $(seq 64))
MV=8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0
RDV=819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca
MX=7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f
RDX=d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd

VCEK=$(certs "$CONF/test-vcek.der")
LEGACY=$(certs "$CONF/test-vcek-invalid-legacy.der")
VLEK=$(certs "$CONF/test-vlek.der")
VIRTEE=$(certs "$CONF/virtee-vcek-milan.der")
printf '{"keys":[]}' >"$T/other-runtime.json"

# ---- offline: skrctl attest snp ---------------------------------------------
snp() { ctl attest snp --json "$@"; }
snp --report "$CONF/test-report.bin" --certs "$VCEK" --at "$AT"
expect_rc 0 "skrctl: test-report + test-vcek valid"
check "skrctl: version 2, Milan, VCEK" jq -e '.version == 2 and .product == "Milan" and .signer == "VCEK"' <<<"$OUT"
expect_claims "skrctl: test-report" "$(jq .claims <<<"$OUT")" 0 4 3 0 8 115 "$M1" "$RD1" c38427a30d4c7af9
snp --report "$CONF/test-report.bin" --certs "$VCEK"
expect_rc 0 "skrctl: test-report valid now too"
snp --report "$CONF/test-report.measurement-bitflip.bin" --certs "$VCEK" --at "$AT"
expect_rc 3 "skrctl: the bit-flipped report is refused"
check "skrctl: for its signature" jq -e '.error.id == "SKR.SNP.SIGNATURE"' <<<"$OUT"
snp --report "$CONF/test-report.bin" --certs "$LEGACY" --at "$AT"
expect_rc 3 "skrctl: the rewritten legacy VCEK is refused"
check "skrctl: for its chain" jq -e '.error.id == "SKR.SNP.CHAIN"' <<<"$OUT"
snp --report "$CONF/test-vlek-report.bin" --certs "$VLEK" --at "$AT"
expect_rc 0 "skrctl: the VLEK report valid at $AT"
check "skrctl: version 3, signed by the VLEK" jq -e '.version == 3 and .signer == "VLEK"' <<<"$OUT"
expect_claims "skrctl: VLEK report" "$(jq .claims <<<"$OUT")" 1 0 4 0 24 217 "$MV" "$RDV" 0000000000000000
snp --report "$CONF/test-vlek-report.bin" --certs "$VLEK"
expect_rc 3 "skrctl: the VLEK report refused now"
check "skrctl: the VLEK expired" jq -e '.error.id == "SKR.SNP.EXPIRED"' <<<"$OUT"
snp --report "$CONF/virtee-report-milan.hex" --certs "$VIRTEE" --at "$AT"
expect_rc 0 "skrctl: the virtee report (hex) valid"
expect_claims "skrctl: virtee report" "$(jq .claims <<<"$OUT")" 0 0 3 0 8 115 "$MX" "$RDX" d49554ec717f4e5b
snp --report "$CONF/test-report.bin" --certs "$VCEK" --runtime-data "$CONF/test-report.runtime.json" --json-runtime
expect_rc 0 "skrctl: test-report binds its runtime JSON"
check "skrctl: x-ms-runtime is that JSON" cmp -s <(jq -cS '.claims["x-ms-runtime"]' <<<"$OUT") <(jq -cS . "$CONF/test-report.runtime.json")
snp --report "$CONF/test-report.bin" --certs "$VCEK" --runtime-data "$T/other-runtime.json"
expect_rc 3 "skrctl: other runtime data is refused"
check "skrctl: as not bound" jq -e '.error.id == "SKR.SNP.BINDING"' <<<"$OUT"
snp --report "$CONF/test-report.bin" --certs "$CONF/test-vcek.der"
expect_rc 3 "skrctl: the pins alone, without AMD's ASK and ARK, build no chain"

# ---- offline: skrctl attest azure --------------------------------------------
az() { ctl attest azure --json --certs "$ROOTS" "$@"; }
az --evidence "$CONF/azure/evidence-v1.json" --nonce challenge --at "$AT"
expect_rc 0 "skrctl: Azure evidence v1 valid with nonce \"challenge\""
check "skrctl: v1 as listed" jq -e '.claims as $c | $c["x-ms-attestation-type"] == "azurevm" and
	($c["x-ms-isolation-tee"]["x-ms-sevsnpvm-launchmeasurement"] | startswith("6a063be9dd79f637")) and
	$c["x-ms-isolation-tee"]["x-ms-sevsnpvm-guestsvn"] == 10 and
	$c["x-ms-isolation-tee"]["x-ms-sevsnpvm-bootloader-svn"] == 4 and
	$c["x-ms-isolation-tee"]["x-ms-sevsnpvm-snpfw-svn"] == 24 and
	$c["x-ms-isolation-tee"]["x-ms-sevsnpvm-microcode-svn"] == 219 and
	($c["x-ms-isolation-tee"]["x-ms-runtime"].keys | map(.kid) | sort) == ["HCLAkPub", "HCLEkPub"] and
	$c["x-ms-isolation-tee"]["x-ms-runtime"]["vm-configuration"]["secure-boot"] == true and
	$c["x-ms-azurevm-pcrs"]["0"] == "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced"' <<<"$OUT"
N2=982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef
az --evidence "$CONF/azure/evidence-v2.json" --nonce-hex "$N2" --at "$AT"
expect_rc 0 "skrctl: Azure evidence v2 valid with its nonce"
check "skrctl: v2 as listed" jq -e '.claims["x-ms-isolation-tee"] as $t |
	($t["x-ms-sevsnpvm-launchmeasurement"] | startswith("5b0ce64ad1c1f637")) and $t["x-ms-sevsnpvm-guestsvn"] == 12' <<<"$OUT"
for v in 1 2; do
	az --evidence "$CONF/azure/evidence-v$v.json" --nonce another --at "$AT"
	expect_rc 3 "skrctl: Azure evidence v$v refused with another nonce"
	check "skrctl: v$v for its quote nonce" jq -e '.error.id == "SKR.SNP.NONCE"' <<<"$OUT"
done

# ---- skrd: POST /attest/SevSnpVm ------------------------------------------------
skr_init || finish
skr_start || finish
AUTH=
attest_case() { # DESC REPORT CERTS RUNTIME STATUS [ID]
	request "$2" "$3" "$4"
	api POST "/attest/SevSnpVm?api-version=2022-08-01" "@$T/req.json"
	if [ "$5" = 200 ]; then
		expect_status 200 "skrd: $1"
		CLAIMS=$(jq -r .token <<<"$BODY" | cut -d. -f2 | b64d)
	else
		expect_error "$5" "$6" "skrd: $1"
	fi
}
attest_case "test-report + test-vcek valid" "$CONF/test-report.bin" "$VCEK" "" 200
expect_claims "skrd: test-report" "$CLAIMS" 0 4 3 0 8 115 "$M1" "$RD1" c38427a30d4c7af9
check "skrd: no x-ms-runtime without runtime data" jq -e 'has("x-ms-runtime") | not' <<<"$CLAIMS"
attest_case "the bit-flipped report refused" "$CONF/test-report.measurement-bitflip.bin" "$VCEK" "" 403 SKR.SNP.SIGNATURE
attest_case "the rewritten legacy VCEK refused" "$CONF/test-report.bin" "$LEGACY" "" 403 SKR.SNP.CHAIN
attest_case "the VLEK report refused now" "$CONF/test-vlek-report.bin" "$VLEK" "" 403 SKR.SNP.EXPIRED
attest_case "the virtee report valid" "$T/virtee-report.bin" "$VIRTEE" "" 200
expect_claims "skrd: virtee report" "$CLAIMS" 0 0 3 0 8 115 "$MX" "$RDX" d49554ec717f4e5b
attest_case "test-report binds its runtime JSON" "$CONF/test-report.bin" "$VCEK" "$CONF/test-report.runtime.json" 200
check "skrd: x-ms-runtime is that JSON" cmp -s <(jq -cS '.["x-ms-runtime"]' <<<"$CLAIMS") <(jq -cS . "$CONF/test-report.runtime.json")
attest_case "other runtime data refused" "$CONF/test-report.bin" "$VCEK" "$T/other-runtime.json" 403 SKR.SNP.BINDING
# The token releases: its x-ms-runtime.keys names HCLAkPub, an RSA key
# with key_ops encrypt; the release is wrapped to it (nobody here holds
# its private key, so only the signed answer is checked).
AUTH=$ADMIN
printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-sevsnpvm-launchmeasurement","equals":"%s"}]}]}' \
	"$SKR_ADDR" "$M1" >"$T/policy.json"
head -c 32 /dev/urandom >"$T/k-oct"
ctl key import real --oct "$T/k-oct" --exportable --policy "$T/policy.json"
expect_rc 0 "import a key for test-report's measurement"
request "$CONF/test-report.bin" "$VCEK" "$CONF/test-report.runtime.json"
AUTH= api POST /attest/SevSnpVm "@$T/req.json"
TOK=$(jq -r .token <<<"$BODY")
api POST /keys/real/release "{\"target\":\"$TOK\"}"
expect_status 200 "skrd releases to its own token of the real report"
HSM=$(jq -r '.value | split(".")[1]' <<<"$BODY" | b64d | jq -r .response.key.key.key_hsm)
check "wrapped to HCLAkPub" jq -e '.header.kid == "HCLAkPub"' < <(b64d <<<"$HSM")
skr_stop

# With a test clock, skrd verifies the VLEK report at $AT.
if skrd_has_test_clock; then
	SKR_TEST_NOW=$(date -u -d "$AT" +%s) skr_start || finish
	AUTH=
	attest_case "the VLEK report valid at $AT" "$CONF/test-vlek-report.bin" "$VLEK" "" 200
	expect_claims "skrd: VLEK report" "$CLAIMS" 1 0 4 0 24 217 "$MV" "$RDV" 0000000000000000
	skr_stop
fi
finish
