#ifndef SKR_SERVER_TOKEN_H
#define SKR_SERVER_TOKEN_H
#endif
