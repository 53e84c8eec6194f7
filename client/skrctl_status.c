/*
 * skrctl status: the server's liveness and readiness (docs/skrctl.1).
 */
#include <stdio.h>

#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

/* Exit 0 when ready, 1 otherwise. */
int
skrctl_status(struct skrctl_ctx *x)
{
	skr_result live, ready;
	int rl, rr;

	rl = skr_client_health(x->c, &live);
	rr = rl == SKR_OK ? skr_client_ready(x->c, &ready) : rl;
	if (rl != SKR_OK)
		return skrctl_out_fail(rl, &live);
	if (x->json)
		printf("{\"live\":true,\"ready\":%s}\n", rr == SKR_OK ?
		    "true" : "false");
	else
		printf("live   yes\nready  %s\n", rr == SKR_OK ? "yes" :
		    ready.message);
	return rr == SKR_OK ? SKRCTL_EXIT_OK : SKRCTL_EXIT_ERR;
}
