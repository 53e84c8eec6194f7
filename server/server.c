#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authority.h"
#include "issuer.h"
#include "kds.h"
#include "opcache.h"
#include "ratelimit.h"
#include "release.h"
#include "snp_trust.h"
#include "store.h"

#ifdef SKR_TEST_CLOCK
/* A signed decimal from the environment, or 0 when unset or malformed. */
static int
env_seconds(const char *name, int64_t *out)
{
	const char *s = getenv(name);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	*out = v;
	return 1;
}
#endif

int64_t
skr_server_test_clock_offset(void)
{
#ifdef SKR_TEST_CLOCK
	int64_t v;

	/* SKR_TEST_NOW pins "now" (unix seconds) at start; the clock then
	 * runs on from there.  SKR_TEST_CLOCK_OFFSET shifts it. */
	if (env_seconds("SKR_TEST_NOW", &v))
		return v - (int64_t)time(NULL);
	if (env_seconds("SKR_TEST_CLOCK_OFFSET", &v))
		return v;
#endif
	return 0;
}

int
skr_server_has_test_clock(void)
{
#ifdef SKR_TEST_CLOCK
	return 1;
#else
	return 0;
#endif
}

void
skr_server_init(skr_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->sign_alg = SKR_ALG_RS256;
	srv->token_skew = 60;
	srv->nonce_ttl = 300;
	srv->retention = 90 * 86400;
	srv->purge_interval = 60;
	srv->deny_detail = SKR_DENY_NAMES;
	srv->auth_fail_limit = 10;
	srv->auth_fail_window = 60;
	srv->release_limit = 300;
	srv->release_window = 60;
	srv->ratelimit_ipv6_prefix = 64;
	srv->clock_offset = skr_server_test_clock_offset();
}

void
skr_server_clear(skr_server *srv)
{
	skr_authorities_free(srv->authorities);
	skr_store_close(srv->store);
	skr_opcache_forget(srv->sign_key);
	EVP_PKEY_free(srv->sign_key);
	json_decref(srv->sign_header);
	skr_ratelimit_free(srv->auth_limit);
	skr_ratelimit_free(srv->release_limiter);
	skr_ratelimit_free(srv->nonce_limiter);
	skr_release_state_free(srv->release_state);
	srv->release_state = NULL;
	skr_issuer_free(srv->issuer);
	skr_snp_trust_free(srv->snp_trust);
	skr_kds_free(srv->kds);
	skr_ratelimit_free(srv->attest_limiter);
	srv->issuer = NULL;
	srv->snp_trust = NULL;
	srv->kds = NULL;
	srv->attest_limiter = NULL;
	srv->authorities = NULL;
	srv->store = NULL;
	srv->sign_key = NULL;
	srv->sign_header = NULL;
	srv->auth_limit = NULL;
	srv->release_limiter = NULL;
	srv->nonce_limiter = NULL;
}

int64_t
skr_server_now(const skr_server *srv)
{
#ifdef SKR_TEST_CLOCK
	/* Test builds only (meson -Dtest_clock=true): lets integration tests
	 * evaluate real, long-expired attestation tokens inside their
	 * validity window.  Production builds ignore clock_offset. */
	return (int64_t)time(NULL) + srv->clock_offset;
#else
	(void)srv;
	return (int64_t)time(NULL);
#endif
}

int
skr_server_authorities_ready(const skr_server *srv)
{
	struct skr_authorities *auths = skr_server_authorities(srv);

	if (auths == NULL || skr_authorities_count(auths) == 0)
		return 1;
	return skr_authorities_ready(auths);
}
