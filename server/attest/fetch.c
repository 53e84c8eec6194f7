#include "fetch.h"

#include <pthread.h>

#include <curl/curl.h>

#include "skr/error.h"
#include "tls.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
	skr_buf *buf;
	int overflow;
};

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if (skr_buf_append(s->buf, p, n) != SKR_OK) {
		s->overflow = 1;
		return 0;
	}
	return n;
}

static int
progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	const skr_fetch_opts *o = ctx;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return o->stop(o->stop_arg) ? 1 : 0;
}

int
skr_fetch_https(const char *url, const skr_fetch_opts *o, skr_buf *out,
    long *status, skr_buf *why)
{
	skr_buf body = SKR_BUF_INIT;
	struct sink s = { &body, 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURL *c;
	CURLcode cr;
	int r = o->err;

	pthread_once(&curl_once, curl_init_once);
	skr_buf_reset(out);
	if (status != NULL)
		*status = 0;
	skr_buf_init(&body, o->max);
	if ((c = curl_easy_init()) == NULL)
		return SKR_ERR_NOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, SKR_TLS12_CIPHERS);
	curl_easy_setopt(c, CURLOPT_TLS13_CIPHERS, SKR_TLS13_CIPHERS);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "skrd");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (o->stop != NULL) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, o);
	}
	if (o->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	cr = curl_easy_perform(c);
	if (s.overflow || cr == CURLE_FILESIZE_EXCEEDED) {
		skr_buf_appendf(why, "%s: larger than %zu bytes", url, o->max);
		goto out;
	}
	if (cr != CURLE_OK) {
		skr_buf_appendf(why, "%s: %s", url,
		    errbuf[0] ? errbuf : curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (status != NULL)
		*status = code;
	if (code != 200) {
		skr_buf_appendf(why, "%s: HTTP status %ld", url, code);
		goto out;
	}
	r = skr_buf_append(out, body.data, body.len);
out:
	curl_easy_cleanup(c);
	skr_buf_free(&body);
	return r;
}
