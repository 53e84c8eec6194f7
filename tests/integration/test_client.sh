#!/usr/bin/env bash
# Integration: libskr against the real skrd over TLS -- every admin route,
# paging, roles, server errors, release (private key and OAEP callback,
# server nonce, many threads on one client), TLS trust (wrong CA, pins),
# release-signing trust, server down -- and a program built against the
# INSTALLED library through pkg-config.
. "$SKR_TESTS_DIR/lib.sh"
TA=${SKR_TEST_AUTHORITY:?}
E2E=${CLIENT_E2E:?CLIENT_E2E must name the client_e2e program}

skr_init || finish

ta_start || finish
skr_start --config "$T/skrd.conf" || finish
export SKR_TOKEN=$ADMIN

e2e() { # e2e DESC ARGS...: pass if the driver passes
	local desc=$1
	shift
	if "$E2E" "$@" >"$T/e2e.out" 2>"$T/e2e.err"; then pass "$desc"; else
		failed "$desc: $(tail -5 "$T/e2e.err")"
	fi
}

# ---- admin routes ----------------------------------------------------------
e2e "library: every admin route, paging, roles and server errors" admin "$ISS"

# ---- release ---------------------------------------------------------------
printf '{"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/cvm.json"
printf '{"version":"1.0.0","requireServerNonce":true,"anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}' \
	"$ISS" >"$T/cvm-nonce.json"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tee.pem" 2>/dev/null
head -c 32 /dev/urandom >"$T/k-oct"
ctl key import lib-oct --oct "$T/k-oct" --exportable --policy "$T/cvm.json"
expect_rc 0 "import an exportable oct key"
ctl key import lib-sn --oct "$T/k-oct" --exportable --policy "$T/cvm-nonce.json"
expect_rc 0 "import a key that needs a server nonce"
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" >"$T/cvm.tok"
"$TA" token --dir "$TAD" --tee tdx --wrapping-key "$T/tee.pem" >"$T/tdx.tok"

e2e "library: release with the private key and with an OAEP callback" \
	release lib-oct "$T/cvm.tok" "$T/tee.pem"
check "library: released bytes are the imported key" \
	test "$(head -1 "$T/e2e.out")" = "$(od -An -tx1 -v "$T/k-oct" | tr -d ' \n')"
e2e "library: eight threads release through one client" \
	threads lib-oct "$T/cvm.tok" "$T/tee.pem" 8
e2e "library: a denied release is SKR.POLICY.DENIED" \
	expect SKR.POLICY.DENIED release lib-oct "$T/tdx.tok" "$T/tee.pem"

N=$("$SKRCTL" nonce 2>/dev/null)
"$TA" token --dir "$TAD" --tee sevsnp --wrapping-key "$T/tee.pem" --nonce "$N" >"$T/sn.tok"
e2e "library: release against a server nonce" \
	release lib-sn "$T/sn.tok" "$T/tee.pem" "$N"
e2e "library: that nonce does not work twice" \
	expect SKR.NONCE.REUSED release lib-sn "$T/sn.tok" "$T/tee.pem" "$N"
e2e "library: the request nonce must be the token's" \
	expect SKR.NONCE.MISMATCH release lib-oct "$T/sn.tok" "$T/tee.pem" other-nonce

# Release-signing trust: the exact certificate, or the CA; nothing else.
SKR_SIGNING_CERT=$D/release-signing.pem e2e "library: pinned release-signing certificate" \
	release lib-oct "$T/cvm.tok" "$T/tee.pem"
SKR_SIGNING_CERT=$D/ca.pem e2e "library: another pinned certificate refuses the response" \
	expect SKR.CLIENT.RESPONSE_SIGNATURE release lib-oct "$T/cvm.tok" "$T/tee.pem"
SKR_SIGNING_CA=$TAD/ca.pem e2e "library: a signer not under the configured CA is refused" \
	expect SKR.CLIENT.RESPONSE_SIGNATURE release lib-oct "$T/cvm.tok" "$T/tee.pem"

# ---- TLS trust -------------------------------------------------------------
LEAF=$D/tls-cert.pem
FP=$(openssl x509 -in "$LEAF" -noout -fingerprint -sha256 | cut -d= -f2)
SPKI=$(openssl x509 -in "$LEAF" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
CAFP=$(openssl x509 -in "$D/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
SKR_CACERT=$TAD/ca.pem e2e "library: a server not under the CA is refused" \
	expect SKR.CLIENT.TLS list
SKR_CACERT= e2e "library: the system store does not know skrd's CA" \
	expect SKR.CLIENT.TLS list
SKR_CACERT= SKR_PIN=$FP e2e "library: certificate fingerprint pin alone" \
	expect SKR.OK list
SKR_CACERT= SKR_PIN="sha256//$SPKI" e2e "library: public key pin alone" \
	expect SKR.OK list
SKR_CACERT= SKR_PIN=$LEAF e2e "library: certificate file pin alone" \
	expect SKR.OK list
SKR_PIN="sha256//$SPKI" e2e "library: CA and pin together" expect SKR.OK list
SKR_CACERT= SKR_PIN=$CAFP e2e "library: a pin that does not match is refused" \
	expect SKR.CLIENT.TLS list
SKR_PIN=$CAFP e2e "library: CA good, pin wrong: refused" expect SKR.CLIENT.TLS list

# ---- installed library -----------------------------------------------------
if command -v pkg-config >/dev/null && command -v cc >/dev/null; then
	DEST=$T/dest
	if meson install -C "$SKR_BUILD_DIR" --no-rebuild --destdir "$DEST" \
		>"$T/install.log" 2>&1; then
		pass "meson install into a staging directory"
	else
		failed "meson install: $(tail -5 "$T/install.log")"
	fi
	PC=$(find "$DEST" -name skr.pc | head -1)
	check "skr.pc installed" test -n "$PC"
	check "skr/client.h installed" test -n "$(find "$DEST" -path '*include/skr/client.h')"
	check "skr/error.h installed" test -n "$(find "$DEST" -path '*include/skr/error.h')"
	export PKG_CONFIG_PATH=$(dirname "$PC")
	# The .pc names the final prefix; point it into the staging tree.
	PCF=(--define-variable=prefix="$DEST$(pkg-config --variable=prefix skr)")
	LIBDIR=$(pkg-config "${PCF[@]}" --variable=libdir skr)
	# A sanitizer build installs an instrumented library: programs
	# linking it need the same runtime.
	SAN=
	if nm -D --undefined-only "$LIBDIR/libskr.so" 2>/dev/null | grep __asan_ >/dev/null; then
		SAN="-fsanitize=address,undefined"
	elif nm -D --undefined-only "$LIBDIR/libskr.so" 2>/dev/null | grep __tsan_ >/dev/null; then
		SAN="-fsanitize=thread"
	fi
	cat >"$T/smoke.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <skr/client.h>

int
main(void)
{
	skr_client_opts o;
	skr_client *c = NULL;

	skr_client_opts_init(&o);
	o.url = "https://127.0.0.1:1";
	if (skr_client_new(&o, &c) != SKR_OK)
		return 1;
	skr_client_free(c);
	o.url = "http://plain";
	if (skr_client_new(&o, &c) != SKR_ERR_INVAL)
		return 1;
	puts(skr_strerror(SKR_ERR_POLICY_DENIED));
	return strcmp(skr_err_id(SKR_ERR_TLS), "SKR.CLIENT.TLS") != 0;
}
EOF
	# shellcheck disable=SC2046
	if cc $SAN -Wall -Werror -o "$T/smoke" "$T/smoke.c" \
		$(pkg-config "${PCF[@]}" --cflags --libs skr) 2>"$T/cc.err"; then
		pass "a program builds against the installed libskr (pkg-config)"
	else
		failed "cc smoke.c: $(head -5 "$T/cc.err")"
	fi
	check "it runs: skr_client_new and skr_strerror" \
		env LD_LIBRARY_PATH="$LIBDIR" "$T/smoke"
	check "it uses the installed shared library" \
		sh -c "LD_LIBRARY_PATH='$LIBDIR' ldd '$T/smoke' | grep -q '$LIBDIR/libskr.so'"
	# shellcheck disable=SC2046
	# libskr.a must carry everything of skr's own; the system libraries
	# it needs are linked as the system has them.
	if cc $SAN -o "$T/smoke-static" "$T/smoke.c" $(pkg-config "${PCF[@]}" --cflags skr) \
		"$LIBDIR/libskr.a" $(pkg-config --libs $(pkg-config "${PCF[@]}" --print-requires-private skr)) \
		-lpthread 2>"$T/cc.err"; then
		pass "and against the installed static library"
	else
		failed "static link: $(head -5 "$T/cc.err")"
	fi
	check "the static build runs" "$T/smoke-static"
	check "the shared library exports only the public API" \
		sh -c "! nm -D --defined-only '$LIBDIR/libskr.so' | awk '{print \$3}' |
			sed 's/@.*//' | grep -v -e '^skr_client_' -e '^skr_released_key_' -e '^skr_tpm_' \
			-e '^skr_free$' -e '^skr_strerror$' -e '^skr_err_id$' -e '^SKR_0$' |
			grep ."

	# The shipped example, built the same way, releases a key.
	# shellcheck disable=SC2046
	if cc $SAN -Wall -Werror -o "$T/release_key" "$SKR_TESTS_DIR/../../examples/release_key.c" \
		$(pkg-config "${PCF[@]}" --cflags --libs skr) -lcrypto 2>"$T/cc.err"; then
		pass "examples/release_key.c builds against the installed library"
	else
		failed "cc release_key.c: $(head -5 "$T/cc.err")"
	fi
	if LD_LIBRARY_PATH=$LIBDIR "$T/release_key" lib-oct "$T/cvm.tok" "$T/tee.pem" \
		>"$T/ex.key" 2>"$T/ex.err" && cmp -s "$T/ex.key" "$T/k-oct"; then
		pass "the installed library releases the key"
	else
		failed "release through the installed library: $(cat "$T/ex.err")"
	fi
else
	echo "# skipped the installed-library checks: no pkg-config or cc"
fi

# ---- server down -----------------------------------------------------------
skr_stop
e2e "library: server down is SKR.CLIENT.TRANSPORT" expect SKR.CLIENT.TRANSPORT list

finish
