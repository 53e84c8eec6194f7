/*
 * The route table (docs/api.md).  skr_route_match() is declared in
 * request.h; this header exposes the table for tests and docs.
 */
#ifndef SKR_SERVER_ROUTES_H
#define SKR_SERVER_ROUTES_H

#include <stddef.h>

#include "request.h"

extern const skr_route skr_routes[];
extern const size_t skr_nroutes;

#endif
