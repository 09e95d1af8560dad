/* test_hosts - the hosts file parser and inet_protocols families. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include "core/net.h"
#include "deliver/hosts.h"

static const char *text =
	"# comment line relay.example\n"
	"127.0.0.1\tlocalhost\n"
	"192.0.2.10   relay.example  relay   # trailing comment\n"
	"2001:db8::10 relay.example\n"
	"192.0.2.10   RELAY.EXAMPLE\n" /* duplicate address */
	"not-an-addr  relay.example\n"
	"fe80::1%eth0 relay.example\n"
	"192.0.2.11 other.example relay.example\r\n"
	"192.0.2.12 relay.example.org\n"
	"192.0.2.13"; /* no name, no newline */

static const char *fmt(const struct net_addr *a)
{
	static char s[INET6_ADDRSTRLEN];

	if (a->sa.ss_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)&a->sa)->sin_addr, s,
			  sizeof(s));
	else
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)&a->sa)->sin6_addr, s,
			  sizeof(s));
	return s;
}

static void test_find(void **state)
{
	struct net_addr a[HOSTS_ADDR_MAX];
	size_t n;

	(void)state;
	n = hosts_find(text, strlen(text), "relay.example",
		       HOSTS_INET4 | HOSTS_INET6, a, HOSTS_ADDR_MAX);
	assert_int_equal(n, 3);
	assert_string_equal(fmt(&a[0]), "192.0.2.10");
	assert_string_equal(fmt(&a[1]), "2001:db8::10");
	assert_string_equal(fmt(&a[2]), "192.0.2.11");
	n = hosts_find(text, strlen(text), "Relay.Example.", HOSTS_INET6, a,
		       HOSTS_ADDR_MAX);
	assert_int_equal(n, 1);
	assert_string_equal(fmt(&a[0]), "2001:db8::10");
	/* An alias; max bounds the result. */
	n = hosts_find(text, strlen(text), "relay", HOSTS_INET4, a, 1);
	assert_int_equal(n, 1);
	assert_string_equal(fmt(&a[0]), "192.0.2.10");
	n = hosts_find(text, strlen(text), "relay.example", HOSTS_INET4, a, 1);
	assert_int_equal(n, 1);
	/* Not found: a comment, a suffix, a prefix. */
	assert_int_equal(hosts_find(text, strlen(text), "comment", 3, a, 4), 0);
	assert_int_equal(hosts_find(text, strlen(text), "example", 3, a, 4), 0);
	assert_int_equal(hosts_find(text, strlen(text), "relay.exam", 3, a, 4),
			 0);
	/* Length is honoured: the last line is cut before its name. */
	assert_int_equal(hosts_find(text, strlen("# comment line relay.ex"),
				    "relay.ex", 3, a, 4),
			 0);
}

static void test_long_line(void **state)
{
	struct buf b;
	struct net_addr a[2];

	(void)state;
	buf_init(&b, 3 * HOSTS_LINE_MAX);
	buf_puts(&b, "192.0.2.1 long.example");
	while (buf_len(&b) < HOSTS_LINE_MAX + 1) /* boundary: MAX + 1 */
		buf_putc(&b, ' ');
	buf_puts(&b, "\n192.0.2.2 long.example\n");
	assert_int_equal(
		hosts_find(buf_str(&b), buf_len(&b), "long.example", 3, a, 2),
		1);
	assert_string_equal(fmt(&a[0]), "192.0.2.2");
	buf_free(&b);
}

static void test_addr_parse(void **state)
{
	struct net_addr a;

	(void)state;
	assert_int_equal(hosts_addr_parse("192.0.2.1", 9, &a), 0);
	assert_int_equal(a.sa.ss_family, AF_INET);
	assert_int_equal(hosts_addr_parse("ipv6:::1", 8, &a), 0);
	assert_int_equal(a.sa.ss_family, AF_INET6);
	assert_int_equal(hosts_addr_parse("IPv6:2001:db8::1", 16, &a), 0);
	assert_int_equal(hosts_addr_parse("ipv6:1.2.3.4", 12, &a), -1);
	assert_int_equal(hosts_addr_parse("192.0.2.256", 11, &a), -1);
	assert_int_equal(hosts_addr_parse("host.example", 12, &a), -1);
	assert_int_equal(hosts_addr_parse("", 0, &a), -1);
	assert_int_equal(hosts_addr_parse("1.2.3.4\0", 8, &a), -1);
}

static void test_families_and_file(void **state)
{
	struct net_addr a[4];

	(void)state;
	assert_int_equal(hosts_families("all"), HOSTS_INET4 | HOSTS_INET6);
	assert_int_equal(hosts_families("ipv4"), HOSTS_INET4);
	assert_int_equal(hosts_families("IPv6"), HOSTS_INET6);
	assert_int_equal(hosts_families("ipv4, ipv6"),
			 HOSTS_INET4 | HOSTS_INET6);
	assert_int_equal(hosts_families(""), HOSTS_INET4 | HOSTS_INET6);
	assert_int_equal(hosts_lookup(test_write_file("hosts", text),
				      "other.example", HOSTS_INET4, a, 4),
			 1);
	assert_int_equal(hosts_lookup("/nonexistent/hosts", "x", 3, a, 4),
			 -ENOENT);
}

static struct net_addr addr(const char *s)
{
	struct net_addr a;

	assert_int_equal(hosts_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static void test_find_name(void **state)
{
	char name[64];
	struct net_addr a;

	(void)state;
	a = addr("192.0.2.10");
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name,
					 sizeof(name)),
			 13);
	assert_string_equal(name, "relay.example"); /* first line wins */
	a = addr("2001:db8::10");
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name,
					 sizeof(name)),
			 13);
	a = addr("192.0.2.11"); /* CRLF line: the CR is a blank */
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name,
					 sizeof(name)),
			 13);
	assert_string_equal(name, "other.example");
	/* no name on the line, not present, a scoped address */
	a = addr("192.0.2.13");
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name,
					 sizeof(name)),
			 0);
	a = addr("192.0.2.99");
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name,
					 sizeof(name)),
			 0);
	a = addr("fe80::1");
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name,
					 sizeof(name)),
			 0);
	/* a name that does not fit is no answer, not a cut one */
	a = addr("192.0.2.10");
	assert_int_equal(hosts_find_name(text, strlen(text), &a, name, 13), 0);
	/* the file, kept in memory and read again when it changes */
	struct hosts_file h;
	const char *t;
	size_t tl;
	const char *path = test_write_file("hosts", text);

	hosts_file_init(&h, path);
	assert_int_equal(hosts_file_text(&h, &t, &tl), 0);
	a = addr("127.0.0.1");
	assert_int_equal(hosts_find_name(t, tl, &a, name, sizeof(name)), 9);
	assert_string_equal(name, "localhost");
	test_write_file("hosts", "127.0.0.1 other.localdomain\n");
	assert_int_equal(hosts_file_text(&h, &t, &tl), 0);
	assert_int_equal(hosts_find_name(t, tl, &a, name, sizeof(name)), 17);
	assert_string_equal(name, "other.localdomain");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(hosts_file_text(&h, &t, &tl), -ENOENT);
	hosts_file_free(&h);
}

static const char *ptr(const char *name)
{
	static char s[INET6_ADDRSTRLEN];
	struct net_addr a;

	if (hosts_ptr_addr(name, strlen(name), &a) < 0)
		return "-";
	snprintf(s, sizeof(s), "%s", fmt(&a));
	return s;
}

static void test_ptr_addr(void **state)
{
	(void)state;
	assert_string_equal(ptr("1.0.0.127.in-addr.arpa"), "127.0.0.1");
	assert_string_equal(ptr("10.2.0.192.IN-ADDR.ARPA."), "192.0.2.10");
	assert_string_equal(ptr("255.255.255.255.in-addr.arpa"),
			    "255.255.255.255");
	assert_string_equal(
		ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		    "0.0.2.ip6.arpa"),
		"2001:db8::1");
	assert_string_equal(
		ptr("F.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.IP6.ARPA."),
		"::f");
	/* partial, too long, bad labels, other names */
	assert_string_equal(ptr("2.0.192.in-addr.arpa"), "-");
	assert_string_equal(ptr("1.10.2.0.192.in-addr.arpa"), "-");
	assert_string_equal(ptr("256.2.0.192.in-addr.arpa"), "-");
	assert_string_equal(ptr("01.2.0.192.in-addr.arpa"), "-");
	assert_string_equal(ptr("1..0.192.in-addr.arpa"), "-");
	assert_string_equal(ptr("a.2.0.192.in-addr.arpa"), "-");
	assert_string_equal(ptr(".in-addr.arpa"), "-");
	assert_string_equal(ptr("in-addr.arpa"), "-");
	assert_string_equal(ptr("1.0.0.127.in-addr.arpa.example"), "-");
	assert_string_equal(ptr("1.0.ip6.arpa"), "-");
	assert_string_equal(
		ptr("g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		    "0.0.2.ip6.arpa"),
		"-");
	assert_string_equal(
		ptr("10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		    "0.0.2.ip6.arpa"),
		"-");
	assert_string_equal(ptr(""), "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_families_and_file),
		cmocka_unit_test(test_find_name),
		cmocka_unit_test(test_ptr_addr),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	test_cleanup_tmpdir();
	return rc;
}
