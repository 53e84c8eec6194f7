/*
 * libFuzzer target: skrd's configuration file parser (server/config.c).
 * A parse that fails must say why, with a line number when it has one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "skr/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_buf why = SKR_BUF_INIT;
	skr_config c;
	int r;

	skr_config_init(&c);
	r = skr_config_parse((const char *)data, size, &c, &why);
	if (r != SKR_OK && r != SKR_ERR_NOMEM && why.len == 0)
		abort();
	if (r == SKR_OK)
		for (size_t i = 0; i < c.nauthorities; i++)
			if (c.authorities[i].issuer == NULL ||
			    c.authorities[i].source == NULL)
				abort();
	skr_config_clear(&c);
	skr_buf_free(&why);
	return 0;
}
