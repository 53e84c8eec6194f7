#include "jwks.h"
