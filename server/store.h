#ifndef SKR_SERVER_STORE_H
#define SKR_SERVER_STORE_H
#endif
