/* Unit tests: sealing for storage (AES-256-GCM with bound associated data). */
#include <string.h>

#include <openssl/err.h>

#include "check.h"
#include "random.h"
#include "seal.h"

int
main(void)
{
	uint8_t key[SKR_SEAL_KEY_LEN], key2[SKR_SEAL_KEY_LEN];
	static const char aad[] = "skr/v1/disk-key/0123456789abcdef";
	static const char pt[] = "the key material";
	skr_buf blob = SKR_BUF_INIT, blob2 = SKR_BUF_INIT;
	skr_buf out = SKR_BUF_INIT_SECRET;

	CHECK_OK(skr_random(key, sizeof(key)));
	CHECK_OK(skr_random(key2, sizeof(key2)));
	CHECK_OK(skr_seal(key, (const uint8_t *)aad, strlen(aad),
	    (const uint8_t *)pt, strlen(pt), &blob));
	CHECK(blob.len == strlen(pt) + SKR_SEAL_OVERHEAD);
	CHECK(blob.data[0] == 0x01);
	CHECK(memmem(blob.data, blob.len, pt, strlen(pt)) == NULL);
	CHECK_OK(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
	    blob.data, blob.len, &out));
	CHECK_MEM(out.data, out.len, pt, strlen(pt));

	/* Two seals of the same input differ (fresh nonce). */
	CHECK_OK(skr_seal(key, (const uint8_t *)aad, strlen(aad),
	    (const uint8_t *)pt, strlen(pt), &blob2));
	CHECK(blob2.len == blob.len && memcmp(blob.data, blob2.data,
	    blob.len) != 0);

	/* Every flipped byte after the format byte fails authentication. */
	for (size_t i = 1; i < blob.len; i++) {
		skr_buf_reset(&out);
		blob.data[i] ^= 0x01;
		CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
		    blob.data, blob.len, &out), SKR_ERR_SEAL_OPEN);
		CHECK(out.len == 0);
		blob.data[i] ^= 0x01;
	}
	/* Unknown format. */
	blob.data[0] = 0x02;
	CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
	    blob.data, blob.len, &out), SKR_ERR_SEAL_FORMAT);
	blob.data[0] = 0x01;
	/* Wrong key, wrong or missing associated data (moved to another
	 * version), truncated and extended blobs. */
	CHECK_ERR(skr_seal_open(key2, (const uint8_t *)aad, strlen(aad),
	    blob.data, blob.len, &out), SKR_ERR_SEAL_OPEN);
	CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad) - 1,
	    blob.data, blob.len, &out), SKR_ERR_SEAL_OPEN);
	CHECK_ERR(skr_seal_open(key, NULL, 0, blob.data, blob.len, &out),
	    SKR_ERR_SEAL_OPEN);
	CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
	    blob.data, blob.len - 1, &out), SKR_ERR_SEAL_OPEN);
	CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
	    blob.data, SKR_SEAL_OVERHEAD - 1, &out), SKR_ERR_SEAL_OPEN);
	skr_buf_append_byte(&blob, 0);
	CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
	    blob.data, blob.len, &out), SKR_ERR_SEAL_OPEN);
	CHECK(out.len == 0);

	/* Every other format byte is unknown, whatever the rest says. */
	for (unsigned f = 0; f < 256; f++) {
		if (f == 0x01)
			continue;
		blob.data[0] = (uint8_t)f;
		CHECK_ERR(skr_seal_open(key, (const uint8_t *)aad, strlen(aad),
		    blob.data, blob.len - 1, &out), SKR_ERR_SEAL_FORMAT);
	}
	blob.data[0] = 0x01;
	CHECK(out.len == 0);
	CHECK(ERR_peek_error() == 0);

	/* Appending after existing bytes, both ways, and a large blob. */
	{
		static uint8_t big[100000];
		skr_buf b = SKR_BUF_INIT, o = SKR_BUF_INIT_SECRET;

		CHECK_OK(skr_random(big, sizeof(big)));
		skr_buf_append_str(&b, "hdr");
		skr_buf_append_str(&o, "pre");
		CHECK_OK(skr_seal(key, big, 7, big, sizeof(big), &b));
		CHECK(b.len == 3 + sizeof(big) + SKR_SEAL_OVERHEAD);
		CHECK_OK(skr_seal_open(key, big, 7, b.data + 3, b.len - 3, &o));
		CHECK(o.len == 3 + sizeof(big) && memcmp(o.data, "pre", 3) == 0
		    && memcmp(o.data + 3, big, sizeof(big)) == 0);
		/* A failed open leaves the existing bytes alone. */
		b.data[b.len / 2] ^= 1;
		CHECK_ERR(skr_seal_open(key, big, 7, b.data + 3, b.len - 3, &o),
		    SKR_ERR_SEAL_OPEN);
		CHECK(o.len == 3 + sizeof(big) && o.data[o.len] == '\0');
		skr_buf_free(&b);
		skr_buf_free(&o);
	}

	/* No key, no blob, a length with no associated data. */
	CHECK_ERR(skr_seal(NULL, NULL, 0, (const uint8_t *)pt, 1, &blob2),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_seal(key, NULL, 3, (const uint8_t *)pt, 1, &blob2),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_seal_open(key, NULL, 0, NULL, 40, &out), SKR_ERR_INVAL);

	/* Empty plaintext still authenticates. */
	skr_buf_reset(&blob);
	CHECK_OK(skr_seal(key, NULL, 0, NULL, 0, &blob));
	CHECK_OK(skr_seal_open(key, NULL, 0, blob.data, blob.len, &out));
	CHECK(out.len == 0);
	blob.data[blob.len - 1] ^= 0x80;
	CHECK_ERR(skr_seal_open(key, NULL, 0, blob.data, blob.len, &out),
	    SKR_ERR_SEAL_OPEN);
	CHECK(ERR_peek_error() == 0);

	skr_buf_free(&blob);
	skr_buf_free(&blob2);
	skr_buf_free(&out);
	return check_done();
}
