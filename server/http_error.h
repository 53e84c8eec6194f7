/*
 * The one mapping from skr_err to an HTTP status and a Key Vault error
 * "code" (declared in request.h: skr_err_http_status, skr_err_kv_code).
 * SKR_HTTP_ERROR_UNMAPPED counts codes the table forgets; a unit test keeps
 * it at zero.
 */
#ifndef SKR_SERVER_HTTP_ERROR_H
#define SKR_SERVER_HTTP_ERROR_H

/* Number of SKR_ERR_* codes without an entry in the table. */
int skr_http_error_unmapped(void);

#endif
