#include "authority.h"
