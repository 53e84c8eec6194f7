/*
 * Key Vault JSON shapes built from store records: the key bundle (public
 * JWK, attributes, tags, release policy), the deleted-key bundle and list
 * items.  Used by the key-management handlers and by release, whose signed
 * response carries the same bundle.
 */
#ifndef SKR_SERVER_BUNDLE_H
#define SKR_SERVER_BUNDLE_H

#include <jansson.h>

#include "server.h"
#include "store.h"

/* What attributes.recoveryLevel says of every key (soft delete and purge;
 * release.c writes the same bundle directly). */
#define SKR_BUNDLE_RECOVERY_LEVEL "Recoverable+Purgeable"

/* {"key": {...}, "attributes": {...}, "tags": {...}, "release_policy":
 * {...}} for vi.  New reference, NULL on allocation failure. */
json_t *skr_bundle_key(const skr_server *srv, const skr_version_info *vi);

/* The key bundle plus recoveryId, deletedDate, scheduledPurgeDate. */
json_t *skr_bundle_deleted(const skr_server *srv, const skr_version_info *vi);

/* A list item: {"kid", "attributes", "tags"} (versions: kid with version;
 * keys: kid without, as Key Vault lists them). */
json_t *skr_bundle_item(const skr_server *srv, const skr_version_info *vi,
    int with_version);

/* The attributes object alone. */
json_t *skr_bundle_attributes(const skr_version_info *vi);

#endif
