#include "api_keys.h"
