#include "skr/client.h"
