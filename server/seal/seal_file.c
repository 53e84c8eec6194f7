/*
 * The file seal: the keyring as it is, in a file of mode 0600 beside the
 * store (docs/sealing.md).  It protects nothing against whoever can read
 * the data directory; it is for development and skrd --dev.
 */
#include "seal_kinds.h"

#include "skr/error.h"

static int
file_wrap(void *ctx, const uint8_t *pt, size_t n, skr_buf *blob)
{
	(void)ctx;
	return skr_buf_append(blob, pt, n);
}

static int
file_unwrap(void *ctx, const uint8_t *blob, size_t n, skr_buf *pt)
{
	(void)ctx;
	return skr_buf_append(pt, blob, n);
}

static void
file_free(void *ctx)
{
	(void)ctx;
}

static const skr_seal_ops file_ops = {
	.name = "file",
	.wrap = file_wrap,
	.unwrap = file_unwrap,
	.free = file_free,
};

/* The ops need no state; a non-NULL context marks the seal as open. */
static int file_ctx;

static int
file_create(const skr_seal_opts *o, json_t *settings, void **ctx,
    skr_seal_shares *shares)
{
	(void)o;
	(void)settings;
	(void)shares;
	*ctx = &file_ctx;
	return SKR_OK;
}

static int
file_open(const json_t *settings, const skr_seal_opts *o, void **ctx)
{
	(void)settings;
	(void)o;
	*ctx = &file_ctx;
	return SKR_OK;
}

static int
file_same(const json_t *settings, const skr_seal_opts *o)
{
	(void)settings;
	(void)o;
	return 1;
}

const skr_seal_kind skr__seal_file = {
	.name = "file",
	.ops = &file_ops,
	.create = file_create,
	.open = file_open,
	.same = file_same,
};
