#ifndef SKR_SERVER_PKI_H
#define SKR_SERVER_PKI_H
#endif
