/*
 * What of the store file a reader needs without the store (docs/store.md):
 * its name in the data directory and the schema versions this build knows.
 * Kept apart from store.h so that the offline audit verifier (chain.h),
 * which reads the file with LMDB alone, links nothing of the sealed store.
 */
#ifndef SKR_SERVER_STORE_STOREFILE_H
#define SKR_SERVER_STORE_STOREFILE_H

#define SKR_STORE_SCHEMA_VERSION 2
/* The oldest schema skr_store_open still takes; it migrates it in place. */
#define SKR_STORE_SCHEMA_OLDEST 1
#define SKR_STORE_FILE "skr.mdb"                       /* inside dir */

#endif
