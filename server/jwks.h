#ifndef SKR_SERVER_JWKS_H
#define SKR_SERVER_JWKS_H
#endif
