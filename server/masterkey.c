#include "masterkey.h"
