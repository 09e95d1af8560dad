/* test_endpoint - master.cf inet service names: the parser's accepted and
 * refused forms, and resolution against inet_interfaces/inet_protocols. */
#include "testutil.h"

#include <string.h>

#include "core/buf.h"
#include "master/endpoint.h"

static int parse(const char *s, struct endpoint *ep)
{
	return endpoint_parse(s, strlen(s), ep);
}

static void test_parse_forms(void **state)
{
	struct endpoint ep;

	(void)state;
	assert_int_equal(parse("smtp", &ep), 0);
	assert_int_equal(ep.port, 25);
	assert_string_equal(ep.host, "");
	assert_int_equal(parse("2525", &ep), 0);
	assert_int_equal(ep.port, 2525);
	assert_int_equal(parse("127.0.0.1:2525", &ep), 0);
	assert_string_equal(ep.host, "127.0.0.1");
	assert_int_equal(ep.port, 2525);
	assert_int_equal(parse("[::1]:25", &ep), 0);
	assert_string_equal(ep.host, "::1");
	assert_int_equal(ep.bracketed, 1);
	assert_int_equal(parse("*:submission", &ep), 0);
	assert_string_equal(ep.host, "");
	assert_int_equal(ep.port, 587);
	assert_int_equal(parse("localhost:smtps", &ep), 0);
	assert_string_equal(ep.host, "localhost");
	assert_int_equal(ep.port, 465);
	assert_int_equal(parse("SMTP", &ep), 0);
	assert_int_equal(ep.port, 25);
	/* Explicit lengths: the parser stops where it is told. */
	assert_int_equal(endpoint_parse("2525junk", 4, &ep), 0);
	assert_int_equal(ep.port, 2525);
}

static void test_parse_refused(void **state)
{
	static const struct {
		const char *in;
		int err;
	} bad[] = {
		{"", ENDPOINT_ERR_SYNTAX},
		{"[::1]", ENDPOINT_ERR_SYNTAX},
		{"[::1]25", ENDPOINT_ERR_SYNTAX},
		{"[]:25", ENDPOINT_ERR_SYNTAX},
		{"::1:25", ENDPOINT_ERR_SYNTAX},
		{"0", ENDPOINT_ERR_PORT},
		{"65536", ENDPOINT_ERR_PORT},
		{"127.0.0.1:", ENDPOINT_ERR_PORT},
		{"nosuchservice", ENDPOINT_ERR_PORT},
		{"12a", ENDPOINT_ERR_PORT},
		{"host name:25", ENDPOINT_ERR_HOST},
		{"a/b:25", ENDPOINT_ERR_HOST},
		{":25", ENDPOINT_ERR_HOST},
	};
	struct endpoint ep;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i].in, &ep);

		if (rc != bad[i].err)
			fail_msg("\"%s\": %d, want %d", bad[i].in, rc,
				 bad[i].err);
		assert_non_null(endpoint_strerror(rc));
	}
}

static void resolve(const char *name, const char *ifaces, const char *protos,
		    const char *want)
{
	struct endpoint ep;
	struct net_addr a[ENDPOINT_ADDR_MAX];
	const char *bad;
	struct buf got;
	int n;

	buf_init(&got, 1024);
	assert_int_equal(parse(name, &ep), 0);
	n = endpoint_resolve(&ep, ifaces, protos, a, ENDPOINT_ADDR_MAX, &bad);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		if (i)
			buf_puts(&got, " ");
		net_addr_format(&a[i], &got);
	}
	assert_string_equal(buf_str(&got), want);
	buf_free(&got);
}

static void test_resolve(void **state)
{
	struct endpoint ep;
	struct net_addr a[ENDPOINT_ADDR_MAX];
	const char *bad;

	(void)state;
	resolve("smtp", "all", "all", "0.0.0.0:25 [::]:25");
	resolve("smtp", "all", "ipv4", "0.0.0.0:25");
	resolve("2525", "loopback-only", "all", "127.0.0.1:2525 [::1]:2525");
	resolve("2525", "127.0.0.2, [::1]", "all", "127.0.0.2:2525 [::1]:2525");
	resolve("127.0.0.1:2525", "all", "all", "127.0.0.1:2525");
	resolve("[::1]:25", "all", "all", "[::1]:25");
	/* A name from /etc/hosts (localhost is in every hosts file). */
	assert_int_equal(parse("localhost:2525", &ep), 0);
	assert_true(endpoint_resolve(&ep, "all", "ipv4", a, ENDPOINT_ADDR_MAX,
				     &bad) >= 1);
	/* An address of a family inet_protocols leaves out. */
	assert_int_equal(parse("[::1]:25", &ep), 0);
	assert_true(endpoint_resolve(&ep, "all", "ipv4", a, ENDPOINT_ADDR_MAX,
				     &bad) < 0);
	assert_string_equal(bad, "::1");
	/* A name nobody knows. */
	assert_int_equal(parse("no-such-host.invalid:25", &ep), 0);
	assert_true(endpoint_resolve(&ep, "all", "ipv4", a, ENDPOINT_ADDR_MAX,
				     &bad) < 0);
	assert_string_equal(bad, "no-such-host.invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
