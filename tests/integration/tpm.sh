# A software TPM (swtpm) for the integration tests: source it after lib.sh.
#
#   tpm_start            swtpm on a free loopback port pair, its state in
#                        $T/tpm; exports TPM2TOOLS_TCTI and SKR_TCTI and sets
#                        TPM_PORT (the control channel is TPM_PORT + 1)
#   tpm_reset            a power cycle and TPM2_Startup(CLEAR), as a reboot
#   make_tpm_key OUT.pem the attestation library's wrapping key, made with
#                        tpm2-tools from the template of docs/libskr.md ("The
#                        wrapping key in a TPM"), not by skr, so that the
#                        template libskr uses is checked independently
#   spki PEM             the SubjectPublicKeyInfo of a public key, in hex
for tool in swtpm swtpm_ioctl tpm2_createprimary python3; do
	command -v "$tool" >/dev/null ||
		{ failed "$tool is missing (scripts/install-deps.sh installs it)"; finish; }
done

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

tpm_reset() {
	swtpm_ioctl --tcp 127.0.0.1:$((TPM_PORT + 1)) -i >/dev/null &&
		tpm2_startup -c >/dev/null 2>&1
}

# A trial session gives PolicyPCR over the SHA-256 PCRs 0-7; CreatePrimary
# in the NULL hierarchy, RSA-2048, no scheme or symmetric algorithm,
# decrypt|fixedtpm|fixedparent|sensitivedataorigin|noda (no userwithauth),
# unique 256 zero bytes.  $T/primary.txt keeps tpm2_createprimary's account.
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

spki() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | od -An -tx1 -v | tr -d ' \n'; }
