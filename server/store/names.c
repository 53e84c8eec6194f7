/*
 * Key names and version ids (docs/store.md, "Names"): their syntax, the
 * case folding that makes names case-insensitive as in Key Vault, and new
 * version ids.  Pure functions: nothing here touches LMDB, so the backup
 * codec can use them too.
 */
#include "store_priv.h"

#include "encoding.h"
#include "random.h"

int
skr_key_name_check(const char *name)
{
	size_t i;

	if (name == NULL)
		return SKR_ERR_KEY_NAME;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (i >= SKR_KEY_NAME_MAX)
			return SKR_ERR_KEY_NAME;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return SKR_ERR_KEY_NAME;
	}
	return i == 0 ? SKR_ERR_KEY_NAME : SKR_OK;
}

/* Key Vault names are case-insensitive: the store keys by the lowercase
 * form and keeps the given spelling in the record. */
int
skr__name_fold(const char *name, char out[SKR_KEY_NAME_MAX + 1])
{
	size_t i;
	int r;

	if ((r = skr_key_name_check(name)) != SKR_OK)
		return r;
	for (i = 0; name[i] != '\0'; i++)
		out[i] = (name[i] >= 'A' && name[i] <= 'Z') ?
		    (char)(name[i] - 'A' + 'a') : name[i];
	out[i] = '\0';
	return SKR_OK;
}

int
skr_version_check(const char *v)
{
	size_t i;

	if (v == NULL)
		return SKR_ERR_VERSION_NOT_FOUND;
	for (i = 0; v[i] != '\0'; i++) {
		char c = v[i];
		if (i >= SKR_VERSION_LEN)
			return SKR_ERR_VERSION_NOT_FOUND;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return SKR_ERR_VERSION_NOT_FOUND;
	}
	return i == SKR_VERSION_LEN ? SKR_OK : SKR_ERR_VERSION_NOT_FOUND;
}

void
skr__version_fold(const char *v, char out[SKR_VERSION_LEN + 1])
{
	size_t i;

	for (i = 0; i < SKR_VERSION_LEN; i++)
		out[i] = (v[i] >= 'A' && v[i] <= 'F') ?
		    (char)(v[i] - 'A' + 'a') : v[i];
	out[SKR_VERSION_LEN] = '\0';
}

int
skr_version_generate(char out[SKR_VERSION_LEN + 1])
{
	uint8_t rnd[SKR_VERSION_LEN / 2];
	int r;

	if ((r = skr_random(rnd, sizeof(rnd))) != SKR_OK)
		return r;
	skr_hex_text(out, rnd, sizeof(rnd));
	return SKR_OK;
}
