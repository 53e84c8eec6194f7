#include "http_error.h"
