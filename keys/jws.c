#include "jws.h"
