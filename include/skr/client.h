/* libskr: the skr client library. (Being written; see README.) */
#ifndef SKR_CLIENT_H
#define SKR_CLIENT_H
#include "skr/error.h"
#endif
