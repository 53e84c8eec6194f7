#ifndef SKR_SERVER_AUDIT_H
#define SKR_SERVER_AUDIT_H
#endif
