#include "jwk.h"
