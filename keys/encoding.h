/*
 * Text encodings of bytes: base64url (RFC 4648 section 5, no padding, as JOSE
 * uses it), standard base64 (with padding) and hex.
 *
 * Decoders are strict: base64url refuses padding, the standard alphabet's
 * '+' and '/', whitespace and non-zero trailing bits; base64 requires correct
 * padding.  Encoders and decoders append to out and leave it unchanged on
 * error (apart from capacity).
 */
#ifndef SKR_KEYS_ENCODING_H
#define SKR_KEYS_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

int skr_b64url_encode(skr_buf *out, const uint8_t *p, size_t n);
int skr_b64url_decode(skr_buf *out, const char *s, size_t n);
int skr_b64_encode(skr_buf *out, const uint8_t *p, size_t n);
int skr_b64_decode(skr_buf *out, const char *s, size_t n);
/* upper != 0 for A-F. */
int skr_hex_encode(skr_buf *out, const uint8_t *p, size_t n, int upper);
/* Lowercase hex of n bytes into out, which holds 2 * n + 1 characters. */
void skr_hex_text(char *out, const uint8_t *p, size_t n);
/* The value of one hex digit (either case), or -1. */
int skr_hex_digit(char c);
/* Accepts either case; odd length or other characters are refused. */
int skr_hex_decode(skr_buf *out, const char *s, size_t n);

#endif
