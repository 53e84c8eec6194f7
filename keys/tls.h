/*
 * The TLS cipher suites skr speaks, as a server (skrd, skr-test-authority)
 * and as a client (libskr, skrd's key-set fetches): AEAD only.  TLS 1.3
 * suites are all AEAD; for TLS 1.2, ECDHE key exchange with AES-GCM or
 * ChaCha20-Poly1305 (RFC 5289, RFC 7905), never CBC with an HMAC.
 * docs/skrd.md, "TLS".  OpenSSL cipher-list syntax; static strings.
 */
#ifndef SKR_KEYS_TLS_H
#define SKR_KEYS_TLS_H

#define SKR_TLS12_CIPHERS                                               \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"    \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"    \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define SKR_TLS13_CIPHERS                                               \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"          \
	"TLS_AES_128_GCM_SHA256"

#endif
