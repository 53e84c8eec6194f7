#include "bundle.h"

#include <stdio.h>
#include <string.h>

#include "encoding.h"
#include "jwk.h"


json_t *
skr_bundle_attributes(const skr_version_info *vi)
{
	json_t *a;

	a = json_pack("{s:b,s:I,s:I,s:s,s:i,s:b}", "enabled",
	    vi->attrs.enabled, "created", (json_int_t)vi->attrs.created,
	    "updated", (json_int_t)vi->attrs.updated, "recoveryLevel",
	    SKR_BUNDLE_RECOVERY_LEVEL, "recoverableDays", 90, "exportable",
	    vi->attrs.exportable);
	if (a == NULL)
		return NULL;
	if (vi->attrs.nbf != 0)
		json_object_set_new(a, "nbf", json_integer(vi->attrs.nbf));
	if (vi->attrs.exp != 0)
		json_object_set_new(a, "exp", json_integer(vi->attrs.exp));
	return a;
}

static json_t *
release_policy(const skr_version_info *vi)
{
	skr_buf b = SKR_BUF_INIT;
	json_t *p;

	if (vi->policy == NULL)
		return NULL;
	if (skr_b64url_encode(&b, (const uint8_t *)vi->policy,
	    vi->policy_len) != 0) {
		skr_buf_free(&b);
		return NULL;
	}
	p = json_pack("{s:s,s:s,s:b}", "contentType",
	    "application/json; charset=utf-8", "data", skr_buf_cstr(&b),
	    "immutable", vi->policy_immutable);
	skr_buf_free(&b);
	return p;
}

static json_t *
kid(const skr_server *srv, const skr_version_info *vi, int with_version)
{
	char buf[512];

	if (with_version)
		snprintf(buf, sizeof(buf), "%s/keys/%s/%s", srv->base_url,
		    vi->name, vi->version);
	else
		snprintf(buf, sizeof(buf), "%s/keys/%s", srv->base_url,
		    vi->name);
	return json_string(buf);
}

static json_t *
tags_of(const skr_version_info *vi)
{
	return vi->tags != NULL ? json_incref(vi->tags) : json_object();
}

json_t *
skr_bundle_key(const skr_server *srv, const skr_version_info *vi)
{
	json_t *b, *key, *pol;

	key = vi->public_jwk != NULL ? json_deep_copy(vi->public_jwk) :
	    json_object();
	if (key == NULL)
		return NULL;
	/* Key Vault reports HSM-protected types for every key it holds. */
	json_object_set_new(key, "kty", json_string(skr_kty_name(vi->kty, 1)));
	json_object_set_new(key, "kid", kid(srv, vi, 1));
	json_object_set(key, "key_ops", vi->key_ops != NULL ? vi->key_ops :
	    json_array());
	b = json_pack("{s:o,s:o,s:o}", "key", key, "attributes",
	    skr_bundle_attributes(vi), "tags", tags_of(vi));
	if (b != NULL && (pol = release_policy(vi)) != NULL)
		json_object_set_new(b, "release_policy", pol);
	return b;
}

json_t *
skr_bundle_deleted(const skr_server *srv, const skr_version_info *vi)
{
	json_t *b = skr_bundle_key(srv, vi);
	char buf[512];

	if (b == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/deletedkeys/%s", srv->base_url,
	    vi->name);
	json_object_set_new(b, "recoveryId", json_string(buf));
	json_object_set_new(b, "deletedDate", json_integer(vi->deleted_date));
	json_object_set_new(b, "scheduledPurgeDate",
	    json_integer(vi->scheduled_purge_date));
	return b;
}

json_t *
skr_bundle_item(const skr_server *srv, const skr_version_info *vi,
    int with_version)
{
	return json_pack("{s:o,s:o,s:o}", "kid", kid(srv, vi, with_version),
	    "attributes", skr_bundle_attributes(vi), "tags", tags_of(vi));
}
