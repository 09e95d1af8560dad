/* test_net - address strings and non-blocking sockets on loopback. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "core/loop.h"
#include "core/net.h"

#define WAIT_MS 2000

static int parse(struct net_addr *a, const char *s)
{
	return net_addr_parse(a, s, strlen(s));
}

static void check_format(const struct net_addr *a, const char *want)
{
	struct buf b;
	int r, same;

	buf_init(&b, 128);
	r = net_addr_format(a, &b);
	same = strcmp(buf_str(&b), want) == 0;
	if (!same)
		print_error("formatted \"%s\", want \"%s\"\n", buf_str(&b),
			    want);
	buf_free(&b);
	assert_int_equal(r, 0);
	assert_true(same);
}

static void test_parse_good(void **state)
{
	static const struct {
		const char *in;
		int family;
		int port;
		const char *out;
	} cases[] = {
		{"127.0.0.1:25", AF_INET, 25, "127.0.0.1:25"},
		{"0.0.0.0:0", AF_INET, 0, "0.0.0.0:0"},
		{"255.255.255.255:65535", AF_INET, 65535,
		 "255.255.255.255:65535"},
		{"*:2525", AF_INET, 2525, "0.0.0.0:2525"},
		{"587", AF_INET, 587, "0.0.0.0:587"},
		{"00025", AF_INET, 25, "0.0.0.0:25"},
		{"[::1]:587", AF_INET6, 587, "[::1]:587"},
		{"[::]:0", AF_INET6, 0, "[::]:0"},
		{"[2001:DB8::1]:10025", AF_INET6, 10025, "[2001:db8::1]:10025"},
		{"[::ffff:192.0.2.1]:25", AF_INET6, 25,
		 "[::ffff:192.0.2.1]:25"},
		{"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535",
		 AF_INET6, 65535,
		 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_addr a;

		assert_int_equal(parse(&a, cases[i].in), 0);
		assert_int_equal(a.sa.ss_family, cases[i].family);
		assert_int_equal(net_addr_port(&a), cases[i].port);
		assert_int_equal(a.len, cases[i].family == AF_INET
						? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6));
		check_format(&a, cases[i].out);
		assert_true(strlen(cases[i].out) < NET_ADDR_STRLEN);
	}
}

static void test_parse_explicit_length(void **state)
{
	/* Not NUL-terminated where the address ends: only n bytes count. */
	const char text[] = "127.0.0.1:2525junk";
	struct net_addr a;

	(void)state;
	assert_int_equal(net_addr_parse(&a, text, 14), 0);
	assert_int_equal(net_addr_port(&a), 2525);
	assert_int_equal(net_addr_parse(&a, text, 12), 0);
	assert_int_equal(net_addr_port(&a), 25);
	assert_int_equal(net_addr_parse(&a, text, 15), NET_ADDR_ERR_PORT);
	assert_int_equal(net_addr_parse(&a, "[::1]:25", 5), NET_ADDR_ERR_PORT);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		{"", NET_ADDR_ERR_SYNTAX},
		{"::1:25", NET_ADDR_ERR_SYNTAX}, /* IPv6 needs brackets */
		{"1.2.3.4:25:26", NET_ADDR_ERR_SYNTAX},
		{"[::1]25", NET_ADDR_ERR_SYNTAX},
		{"[::1:25", NET_ADDR_ERR_SYNTAX},
		{"[::1]]:25", NET_ADDR_ERR_SYNTAX},
		{":25", NET_ADDR_ERR_HOST},
		{"localhost:25", NET_ADDR_ERR_HOST}, /* names: caller's job */
		{"256.1.1.1:25", NET_ADDR_ERR_HOST},
		{"1.2.3:25", NET_ADDR_ERR_HOST},
		{"1.2.3.4.5:25", NET_ADDR_ERR_HOST},
		{" 1.2.3.4:25", NET_ADDR_ERR_HOST},
		{"**:25", NET_ADDR_ERR_HOST},
		{"[]:25", NET_ADDR_ERR_HOST},
		{"[1.2.3.4]:25", NET_ADDR_ERR_HOST},
		{"[fe80::1%eth0]:25", NET_ADDR_ERR_HOST},
		{"[:::1]:25", NET_ADDR_ERR_HOST},
		{"[1:2:3:4:5:6:7:8:9]:25", NET_ADDR_ERR_HOST},
		{"[0000:0000:0000:0000:0000:0000:0000:0000:0]:25",
		 NET_ADDR_ERR_HOST},            /* longer than any IPv6 */
		{"1.2.3.4", NET_ADDR_ERR_PORT}, /* read as a port */
		{"1.2.3.4:", NET_ADDR_ERR_PORT},
		{"1.2.3.4:65536", NET_ADDR_ERR_PORT},
		{"1.2.3.4:99999", NET_ADDR_ERR_PORT},
		{"1.2.3.4:000025", NET_ADDR_ERR_PORT},
		{"1.2.3.4:-1", NET_ADDR_ERR_PORT},
		{"1.2.3.4:+25", NET_ADDR_ERR_PORT},
		{"1.2.3.4:25 ", NET_ADDR_ERR_PORT},
		{"1.2.3.4:smtp",
		 NET_ADDR_ERR_PORT}, /* services: caller's job */
		{"smtp", NET_ADDR_ERR_PORT},
		{"[::1]", NET_ADDR_ERR_PORT},
		{"[::1]:", NET_ADDR_ERR_PORT},
	};
	struct net_addr a, before;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = before;
		if (parse(&a, cases[i].in) != cases[i].err)
			fail_msg("\"%s\": got %d, want %d", cases[i].in,
				 parse(&a, cases[i].in), cases[i].err);
		/* The output is untouched on error. */
		assert_memory_equal(&a, &before, sizeof(a));
	}
	/* A NUL inside the given length is not text. */
	assert_int_equal(net_addr_parse(&a, "1.2.3.4\0:25", 11),
			 NET_ADDR_ERR_SYNTAX);
	assert_int_equal(net_addr_parse(&a, "25\0", 3), NET_ADDR_ERR_SYNTAX);

	assert_string_equal(net_addr_strerror(NET_ADDR_ERR_PORT),
			    "port is not a number from 0 to 65535");
	assert_non_null(net_addr_strerror(NET_ADDR_ERR_SYNTAX));
	assert_non_null(net_addr_strerror(NET_ADDR_ERR_HOST));
	assert_string_equal(net_addr_strerror(42), "unknown address error");
}

static void test_format_errors(void **state)
{
	struct net_addr a;
	struct buf b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sa.ss_family = AF_UNIX;
	buf_init(&b, 10);
	assert_int_equal(net_addr_format(&a, &b), -EAFNOSUPPORT);
	assert_int_equal(net_addr_port(&a), -EAFNOSUPPORT);
	/* A buffer too small for the text keeps its sticky error. */
	assert_int_equal(parse(&a, "[2001:db8::1]:25"), 0);
	assert_int_equal(net_addr_format(&a, &b), BUF_ERR_FULL);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_error(&b), BUF_ERR_FULL);
	buf_free(&b);
}

static void test_fd_flags(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_false(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(net_set_nonblock(p[0]), 0);
	assert_int_equal(net_set_cloexec(p[0]), 0);
	assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
	close(p[0]);
	close(p[1]);
	assert_int_equal(net_set_nonblock(p[0]), -EBADF);
	assert_int_equal(net_set_cloexec(p[0]), -EBADF);
}

/* One connection driven through the loop, as a daemon would: the listener
 * accepts when readable, the client waits for writable under a deadline. */
struct conn {
	int lfd;
	int server_fd;
	int client_fd;
	int connect_result;
	int connected;
	int timed_out;
	struct net_addr peer;
};

static void on_listen(struct loop *lp, int fd, int ready, void *arg)
{
	struct conn *c = arg;

	(void)ready;
	assert_int_equal(net_accept(fd, &c->server_fd, &c->peer), 0);
	assert_true(fcntl(c->server_fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(c->server_fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(net_accept(fd, &c->server_fd, NULL) == -EAGAIN, 1);
	loop_fd_del(lp, fd, LOOP_ALL);
}

static void on_connected(struct loop *lp, int fd, int ready, void *arg)
{
	struct conn *c = arg;

	(void)ready;
	c->connect_result = net_connect_result(fd);
	c->connected = 1;
	loop_fd_del(lp, fd, LOOP_ALL);
}

static void on_timeout(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct conn *c = arg;

	(void)lp;
	(void)t;
	c->timed_out = 1;
}

static void run_connection(struct loop *lp, struct conn *c,
			   const struct net_addr *to)
{
	struct loop_timer deadline;
	int r;

	loop_timer_init(&deadline, on_timeout, c);
	loop_timer_set(lp, &deadline, WAIT_MS);
	if (c->lfd >= 0)
		assert_int_equal(
			loop_fd_add(lp, c->lfd, LOOP_READABLE, on_listen, c),
			0);
	r = net_connect(to, &c->client_fd);
	if (r < 0) { /* refused at once: allowed on loopback */
		c->connect_result = r;
		loop_timer_cancel(lp, &deadline);
		return;
	}
	assert_true(fcntl(c->client_fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(c->client_fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(
		loop_fd_add(lp, c->client_fd, LOOP_WRITABLE, on_connected, c),
		0);
	while (!c->timed_out &&
	       (!c->connected || (c->lfd >= 0 && c->server_fd < 0)))
		assert_true(loop_run_once(lp, -1) >= 0);
	assert_false(c->timed_out);
	loop_timer_cancel(lp, &deadline);
}

static void check_loopback(const char *spec, int family)
{
	struct loop *lp = loop_new();
	struct conn c = {.server_fd = -1, .client_fd = -1};
	struct net_addr a, bound, local, peer;
	char byte = 0;
	int r;

	assert_int_equal(parse(&a, spec), 0);
	r = net_listen(&a, 16, &c.lfd);
	if (family == AF_INET6 && (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)) {
		loop_free(lp);
		skip(); /* no IPv6 on this machine */
	}
	assert_int_equal(r, 0);
	assert_int_equal(net_local_addr(c.lfd, &bound), 0);
	assert_int_equal(bound.sa.ss_family, family);
	assert_true(net_addr_port(&bound) > 0);
	if (family == AF_INET6) {
		int v6only = 0;
		socklen_t len = sizeof(v6only);

		assert_int_equal(getsockopt(c.lfd, IPPROTO_IPV6, IPV6_V6ONLY,
					    &v6only, &len),
				 0);
		assert_int_equal(v6only, 1);
	}

	/* Nothing waiting yet. */
	assert_int_equal(net_accept(c.lfd, &c.server_fd, NULL), -EAGAIN);

	run_connection(lp, &c, &bound);
	assert_int_equal(c.connect_result, 0);
	assert_true(c.server_fd >= 0);

	/* Each side sees the other's address. */
	assert_int_equal(net_local_addr(c.client_fd, &local), 0);
	assert_int_equal(net_peer_addr(c.server_fd, &peer), 0);
	assert_int_equal(net_addr_port(&local), net_addr_port(&peer));
	assert_int_equal(net_addr_port(&c.peer), net_addr_port(&peer));
	assert_int_equal(net_peer_addr(c.client_fd, &peer), 0);
	assert_int_equal(net_addr_port(&peer), net_addr_port(&bound));

	assert_int_equal(write(c.client_fd, "!", 1), 1);
	for (int i = 0; i < 100 && read(c.server_fd, &byte, 1) != 1; i++)
		usleep(1000);
	assert_int_equal(byte, '!');

	close(c.client_fd);
	close(c.server_fd);
	close(c.lfd);
	loop_free(lp);
}

static void test_loopback_ipv4(void **state)
{
	(void)state;
	check_loopback("127.0.0.1:0", AF_INET);
}

static void test_loopback_ipv6(void **state)
{
	(void)state;
	check_loopback("[::1]:0", AF_INET6);
}

static void test_connect_refused(void **state)
{
	struct loop *lp = loop_new();
	struct conn c = {.lfd = -1, .server_fd = -1, .client_fd = -1};
	struct net_addr a, bound;
	int fd;

	(void)state;
	/* A port that was free a moment ago: listen, learn it, close. */
	assert_int_equal(parse(&a, "127.0.0.1:0"), 0);
	assert_int_equal(net_listen(&a, 1, &fd), 0);
	assert_int_equal(net_local_addr(fd, &bound), 0);
	close(fd);

	run_connection(lp, &c, &bound);
	assert_int_equal(c.connect_result, -ECONNREFUSED);
	if (c.client_fd >= 0)
		close(c.client_fd);
	loop_free(lp);
}

static void test_listen_errors(void **state)
{
	struct net_addr a, bound;
	int fd, fd2;

	(void)state;
	/* The same port twice: the second bind fails and leaks nothing. */
	assert_int_equal(parse(&a, "127.0.0.1:0"), 0);
	assert_int_equal(net_listen(&a, 4, &fd), 0);
	assert_int_equal(net_local_addr(fd, &bound), 0);
	fd2 = -1;
	assert_int_equal(net_listen(&bound, 4, &fd2), -EADDRINUSE);
	assert_int_equal(fd2, -1);
	close(fd);

	/* An address this machine does not have. */
	assert_int_equal(parse(&a, "192.0.2.1:0"), 0);
	assert_int_equal(net_listen(&a, 4, &fd), -EADDRNOTAVAIL);

	assert_int_equal(net_accept(-1, &fd, NULL), -EBADF);
	assert_int_equal(net_local_addr(-1, &a), -EBADF);
	assert_int_equal(net_peer_addr(-1, &a), -EBADF);
	assert_int_equal(net_connect_result(-1), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_explicit_length),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_fd_flags),
		cmocka_unit_test(test_loopback_ipv4),
		cmocka_unit_test(test_loopback_ipv6),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_listen_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
