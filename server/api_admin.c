#include "api_admin.h"
