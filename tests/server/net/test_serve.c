/*
 * server/net/serve.c, the serving layer of skrd and skr-test-authority,
 * over plain HTTP on loopback: requests reach on_req on the loops,
 * connections are counted and capped, SIGHUP reaches the hook and serving
 * goes on, and SIGTERM drains -- held work still answers -- before run
 * returns.  Accepted connections have Nagle's algorithm off.  Work posted
 * to a loop from another thread runs when the loop's handler asks for it
 * (skr_net_loop_run_posted), before the handler returns.  Sockets that
 * cannot listen are refused.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "net.h"
#include "serve.h"

static atomic_int conns_open, conns_total, hups, terms, ready_calls;
static atomic_int slow_started;
static skr_net_server *srv;
static int run_result = -1;

struct slow {
	uv_timer_t timer;
	h2o_req_t *req;
	skr_net_loop *loop;
};

static void
answer(h2o_req_t *req, const char *text)
{
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_send_inline(req, text, strlen(text));
}

static void
slow_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Held work finishing on the loop after on_req returned. */
static void
slow_done(uv_timer_t *t)
{
	struct slow *sl = t->data;

	answer(sl->req, "slow");
	skr_net_loop_release(sl->loop);
	t->data = sl;
	uv_close((uv_handle_t *)t, slow_closed);
}

/* Work another thread posts to the loop while a handler runs. */
struct posted {
	skr_net_post post;
	h2o_req_t *req;
	skr_net_loop *loop;
	int in_handler;         /* the handler has not returned yet */
	int ran;
};

static void
posted_fn(skr_net_post *p)
{
	struct posted *x = (struct posted *)(void *)p;

	x->ran = 1;
	if (x->in_handler)
		return;
	/* Only at the loop's own wake-up. */
	answer(x->req, "late");
	skr_net_loop_release(x->loop);
	free(x);
}

static void *
poster(void *arg)
{
	struct posted *x = arg;

	skr_net_loop_post(x->loop, &x->post);
	return NULL;
}

/* /posted: a post made from another thread (queued before the handler
 * goes on) runs within skr_net_loop_run_posted: the answer says
 * "early"; had it waited for the loop's wake-up, "late". */
static int
posted_req(skr_net_loop *loop, h2o_req_t *req)
{
	struct posted *x;
	pthread_t t;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->post.fn = posted_fn;
	x->req = req;
	x->loop = loop;
	x->in_handler = 1;
	skr_net_loop_hold(loop);
	/* Nothing posted: nothing runs. */
	skr_net_loop_run_posted(loop);
	if (pthread_create(&t, NULL, poster, x) != 0) {
		skr_net_loop_release(loop);
		free(x);
		return -1;
	}
	pthread_join(t, NULL);
	skr_net_loop_run_posted(loop);
	x->in_handler = 0;
	if (x->ran) {
		answer(req, "early");
		skr_net_loop_release(loop);
		free(x);
	}
	return 0;
}

static int
on_req(void *arg, skr_net_loop *loop, h2o_req_t *req)
{
	struct slow *sl;

	(void)arg;
	skr_net_loop_progress(loop, req);
	if (req->path.len == 7 && memcmp(req->path.base, "/posted", 7) == 0)
		return posted_req(loop, req);
	if (req->path.len == 5 && memcmp(req->path.base, "/slow", 5) == 0) {
		if ((sl = calloc(1, sizeof(*sl))) == NULL)
			return -1;
		sl->req = req;
		sl->loop = loop;
		skr_net_loop_hold(loop);
		uv_timer_init(skr_net_loop_uv(loop), &sl->timer);
		sl->timer.data = sl;
		uv_timer_start(&sl->timer, slow_done, 500, 0);
		atomic_store(&slow_started, 1);
		return 0;
	}
	answer(req, "hello");
	return 0;
}

static void
on_conn(void *arg, int delta)
{
	(void)arg;
	atomic_fetch_add(&conns_open, delta);
	if (delta > 0)
		atomic_fetch_add(&conns_total, 1);
}

static void
on_signal(void *arg, int signum)
{
	(void)arg;
	if (signum == SIGHUP)
		atomic_fetch_add(&hups, 1);
	else
		atomic_fetch_add(&terms, 1);
}

static void
on_ready(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ready_calls, 1);
}

static void *
runner(void *arg)
{
	(void)arg;
	run_result = skr_net_server_run(srv, on_ready, NULL);
	return NULL;
}

static int
dial(int port)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(0x7f000001);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send a request for path on fd (NULL: one was sent already); read the
 * answer (until EOF when close_after). */
static void
exchange(int fd, const char *path, int close_after, char *out, size_t len)
{
	char req[256];
	size_t got = 0;
	ssize_t n;

	out[0] = '\0';
	if (path != NULL) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
		    "%s\r\n", path, close_after ? "Connection: close\r\n" : "");
		if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
			return;
	}
	while (got + 1 < len && (n = read(fd, out + got, len - got - 1)) > 0) {
		got += (size_t)n;
		out[got] = '\0';
		/* Keep-alive: the small body is in once it is there. */
		if (!close_after && strstr(out, "\r\n\r\n") != NULL &&
		    (strstr(out, "hello") != NULL || strstr(out, "slow")))
			break;
	}
}

/* TCP_NODELAY of the server's end of the connection dialled as fd (the
 * server runs in this process, so its socket is one of ours); -1 if it is
 * not found. */
static int
server_nodelay(int fd)
{
	struct sockaddr_in mine, other;
	socklen_t len;
	int i, v;

	len = sizeof(mine);
	if (getsockname(fd, (struct sockaddr *)&mine, &len) != 0)
		return -1;
	for (i = 3; i < 1024; i++) {
		len = sizeof(other);
		if (i == fd || getpeername(i, (struct sockaddr *)&other,
		    &len) != 0 || len != sizeof(other) ||
		    other.sin_family != AF_INET ||
		    other.sin_port != mine.sin_port ||
		    other.sin_addr.s_addr != mine.sin_addr.s_addr)
			continue;
		len = sizeof(v);
		if (getsockopt(i, IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0)
			return -1;
		return v != 0;
	}
	return -1;
}

static void
wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 1000 && atomic_load(v) != want; i++)
		usleep(10000);
}

static void
test_refused(void)
{
	skr_net_serve_opts o;
	skr_net_server *s = (skr_net_server *)1;

	memset(&o, 0, sizeof(o));
	CHECK_OK(skr_net_resolve_listen("127.0.0.1:0", &o.addr));
	o.server_name = "skr-test";
	CHECK_ERR(skr_net_server_open(&o, &s), SKR_ERR_INVAL);
	CHECK(s == NULL);
	/* An address this machine does not have. */
	o.on_req = on_req;
	CHECK_OK(skr_net_resolve_listen("192.0.2.1:0", &o.addr));
	errno = 0;
	CHECK_ERR(skr_net_server_open(&o, &s), SKR_ERR_CONFIG);
	CHECK(errno == EADDRNOTAVAIL);
	CHECK(s == NULL);
}

int
main(void)
{
	skr_net_serve_opts o;
	pthread_t t;
	char buf[4096];
	int port, a, b, c, d;

	test_refused();

	memset(&o, 0, sizeof(o));
	CHECK_OK(skr_net_resolve_listen("127.0.0.1:0", &o.addr));
	o.threads = 2;
	o.server_name = "skr-test";
	o.max_connections = 2;
	o.shutdown_ms = 5000;
	o.on_req = on_req;
	o.on_conn = on_conn;
	o.on_signal = on_signal;
	CHECK_OK(skr_net_server_open(&o, &srv));
	if (srv == NULL)
		return check_done();
	port = skr_net_server_addr(srv)->port;
	CHECK(port > 0);
	CHECK(skr_net_server_nloops(srv) == 2);
	CHECK(pthread_create(&t, NULL, runner, NULL) == 0);
	wait_for(&ready_calls, 1);
	CHECK(atomic_load(&ready_calls) == 1);

	/* A request, answered by on_req, with the server's name. */
	a = dial(port);
	CHECK(a >= 0);
	exchange(a, "/hello", 1, buf, sizeof(buf));
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(buf, "hello") != NULL);
	CHECK(strcasestr(buf, "server: skr-test\r\n") != NULL);
	close(a);
	wait_for(&conns_open, 0);
	CHECK(atomic_load(&conns_open) == 0);
	CHECK(atomic_load(&conns_total) == 1);

	/* Two connections held: the third is closed unanswered. */
	a = dial(port);
	b = dial(port);
	exchange(a, "/hello", 0, buf, sizeof(buf));
	CHECK(strstr(buf, "hello") != NULL);
	exchange(b, "/hello", 0, buf, sizeof(buf));
	CHECK(strstr(buf, "hello") != NULL);
	CHECK(atomic_load(&conns_open) == 2);
	/* Responses leave at once: no wait for the client's delayed
	 * acknowledgement of an earlier write.  (The client's own end keeps
	 * the default, so the check tells the two apart.) */
	CHECK(server_nodelay(a) == 1);
	CHECK(server_nodelay(b) == 1);
	{
		int v = -1;
		socklen_t vl = sizeof(v);

		CHECK(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0);
		CHECK(v == 0);
	}
	c = dial(port);
	exchange(c, "/hello", 1, buf, sizeof(buf));
	CHECK(buf[0] == '\0');
	close(c);
	close(b);
	close(a);
	wait_for(&conns_open, 0);
	CHECK(atomic_load(&conns_open) == 0);

	/* Posted work run when the handler asks, not at the next wake-up. */
	d = dial(port);
	exchange(d, "/posted", 1, buf, sizeof(buf));
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(buf, "early") != NULL);
	close(d);
	wait_for(&conns_open, 0);

	/* SIGHUP reaches the hook; serving goes on. */
	kill(getpid(), SIGHUP);
	wait_for(&hups, 1);
	CHECK(atomic_load(&hups) == 1);
	d = dial(port);
	exchange(d, "/hello", 1, buf, sizeof(buf));
	CHECK(strstr(buf, "hello") != NULL);
	close(d);

	/* SIGTERM while work is held: it still answers, then run
	 * returns. */
	d = dial(port);
	CHECK(write(d, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 31) == 31);
	wait_for(&slow_started, 1);
	CHECK(atomic_load(&slow_started) == 1);
	kill(getpid(), SIGTERM);
	exchange(d, NULL, 1, buf, sizeof(buf));
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(buf, "slow") != NULL);
	close(d);
	pthread_join(t, NULL);
	CHECK_OK(run_result);
	CHECK(atomic_load(&terms) == 1);
	CHECK(atomic_load(&conns_open) == 0);
	/* Nothing listens any more. */
	CHECK(dial(port) < 0);
	skr_net_server_free(srv);
	return check_done();
}
