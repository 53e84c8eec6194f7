#include "testauth.h"
