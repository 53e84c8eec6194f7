/* skrd --dev: a complete single-process demonstration setup. */
#include <stdio.h>

#include "dev.h"

int
skrd_dev_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "skrd: --dev is not available yet\n");
	return 1;
}
