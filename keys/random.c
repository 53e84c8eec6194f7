#include "random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include "skr/error.h"

int
skr_random(uint8_t *p, size_t n)
{
	int ok;

	if (n > INT32_MAX)
		return SKR_ERR_INVAL;
	if (n == 0)
		return SKR_OK;
	ERR_set_mark();
	ok = RAND_bytes(p, (int)n) == 1;
	ERR_pop_to_mark();
	return ok ? SKR_OK : SKR_ERR_CRYPTO;
}
