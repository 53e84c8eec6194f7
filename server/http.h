#ifndef SKR_SERVER_HTTP_H
#define SKR_SERVER_HTTP_H
#endif
