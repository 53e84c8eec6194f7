/*
 * libFuzzer target: store.json (server/store/storecfg.h), the settings a
 * replica reads from its data directory.  What parses emits text that
 * parses to the same settings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skr/error.h"
#include "storecfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr__storecfg c, d;
	skr_store_etcd_opts o;
	skr_buf text = SKR_BUF_INIT;

	if (skr__storecfg_parse(data, size, &c) != SKR_OK) {
		if (c.endpoints != NULL || c.prefix != NULL)
			abort();
		return 0;
	}
	o = (skr_store_etcd_opts){ c.endpoints, c.prefix, c.cacert, c.cert,
		c.key, c.user, c.password_file };
	if (skr__storecfg_emit(&o, &text) != SKR_OK ||
	    skr__storecfg_parse(text.data, text.len, &d) != SKR_OK)
		abort();
	if (!same(c.endpoints, d.endpoints) || !same(c.prefix, d.prefix) ||
	    !same(c.cacert, d.cacert) || !same(c.cert, d.cert) ||
	    !same(c.key, d.key) || !same(c.user, d.user) ||
	    !same(c.password_file, d.password_file))
		abort();
	skr__storecfg_clear(&c);
	skr__storecfg_clear(&d);
	skr_buf_free(&text);
	return 0;
}
