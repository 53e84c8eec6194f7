#ifndef SKR_SERVER_AUTH_H
#define SKR_SERVER_AUTH_H
#endif
