/* The message table behind skr_strerror() and skr_err_id(). */
#include "skr/error.h"

#define SKR__ERR_TEXT(name, id, text) [SKR_ERR_##name - SKR__ERR_FIRST] = text,
#define SKR__ERR_ID(name, id, text) [SKR_ERR_##name - SKR__ERR_FIRST] = id,

static const char *const err_text[] = { SKR_ERRNO_MAP(SKR__ERR_TEXT) };
static const char *const err_ids[] = { SKR_ERRNO_MAP(SKR__ERR_ID) };

const char *
skr_strerror(int err)
{
	if (err == SKR_OK)
		return "success";
	if (err <= SKR__ERR_FIRST || err >= SKR__ERR_LAST)
		return "unknown error";
	return err_text[err - SKR__ERR_FIRST];
}

const char *
skr_err_id(int err)
{
	if (err == SKR_OK)
		return "SKR.OK";
	if (err <= SKR__ERR_FIRST || err >= SKR__ERR_LAST)
		return "SKR.UNKNOWN";
	return err_ids[err - SKR__ERR_FIRST];
}
