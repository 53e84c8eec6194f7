#include "token.h"
