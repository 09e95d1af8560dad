/* test_mx - the pure parts of the next hop's address lookup
 * (deliver/mx.c): MX answers into a sorted exchanger list, the null MX,
 * loop detection, smtp_host_lookup and our own addresses. The lookups
 * themselves run against a real DNS server in
 * tests/integration/test_dns.py. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "deliver/hosts.h"
#include "deliver/mx.h"

/* add_mx - an MX record into a hand-made answer. */
static void add_mx(struct dns_answer *a, unsigned pref, const char *name)
{
	struct dns_rr *rr = &a->rr[a->n++];
	size_t len = strlen(name);

	rr->type = DNS_T_MX;
	rr->pref = (uint16_t)pref;
	rr->off = (uint32_t)a->pool_len;
	rr->len = (uint32_t)len;
	memcpy(a->pool + a->pool_len, name, len + 1);
	a->pool_len += len + 1;
}

static void test_names_sorted(void **state)
{
	static struct dns_answer a;
	struct mx_name out[MX_NAMES_MAX];
	/* Equal preferences in the order of these keys. */
	unsigned rnd[] = {5, 9, 1, 7, 3};

	(void)state;
	memset(&a, 0, sizeof(a));
	add_mx(&a, 20, "b.example.");
	add_mx(&a, 10, "a.example");
	add_mx(&a, 20, "c.example");
	add_mx(&a, 30, "A.EXAMPLE"); /* the same exchanger: the better pref */
	add_mx(&a, 20, "d.example");
	assert_int_equal(mx_names_from_answer(&a, rnd, out, MX_NAMES_MAX), 4);
	assert_string_equal(out[0].name, "a.example");
	assert_int_equal(out[0].pref, 10);
	assert_string_equal(out[1].name, "c.example"); /* key 1 */
	assert_string_equal(out[2].name, "d.example"); /* key 3 */
	assert_string_equal(out[3].name, "b.example"); /* key 5, no dot */
	/* Without keys: as received. */
	assert_int_equal(mx_names_from_answer(&a, NULL, out, MX_NAMES_MAX), 4);
	assert_string_equal(out[1].name, "b.example");
	/* Bounded by max. */
	assert_int_equal(mx_names_from_answer(&a, NULL, out, 2), 2);
}

static void test_null_mx(void **state)
{
	static struct dns_answer a;
	struct mx_name out[MX_NAMES_MAX];

	(void)state;
	memset(&a, 0, sizeof(a));
	add_mx(&a, 0, ".");
	assert_int_equal(mx_names_from_answer(&a, NULL, out, MX_NAMES_MAX), -1);
	memset(&a, 0, sizeof(a));
	add_mx(&a, 0, ""); /* the root as the parser hands it over */
	assert_int_equal(mx_names_from_answer(&a, NULL, out, MX_NAMES_MAX), -1);
	/* RFC 7505 3: a "." among others still means no mail. */
	memset(&a, 0, sizeof(a));
	add_mx(&a, 10, "mx.example");
	add_mx(&a, 0, ".");
	assert_int_equal(mx_names_from_answer(&a, NULL, out, MX_NAMES_MAX), -1);
}

static void target(struct mx_target *t, const char *addr, unsigned pref)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(hosts_addr_parse(addr, strlen(addr), &t->addr), 0);
	t->pref = pref;
}

static void test_cut_self(void **state)
{
	struct mx_target t[4];
	struct net_addr self[2];
	size_t n;

	(void)state;
	assert_int_equal(hosts_addr_parse("192.0.2.1", 9, &self[0]), 0);
	assert_int_equal(hosts_addr_parse("2001:db8::1", 11, &self[1]), 0);
	target(&t[0], "198.51.100.1", 10);
	target(&t[1], "198.51.100.2", 20);
	target(&t[2], "192.0.2.1", 20); /* we are a pref-20 backup */
	target(&t[3], "198.51.100.3", 30);
	n = 4;
	assert_int_equal(mx_cut_self(t, &n, self, 2), 1);
	assert_int_equal(n, 1); /* only the better exchanger is left */
	/* We are the best: nothing left. */
	target(&t[0], "2001:db8::1", 10);
	n = 4;
	assert_int_equal(mx_cut_self(t, &n, self, 2), 1);
	assert_int_equal(n, 0);
	/* Not among them. */
	target(&t[0], "198.51.100.1", 10);
	target(&t[2], "198.51.100.9", 20);
	n = 4;
	assert_int_equal(mx_cut_self(t, &n, self, 2), 0);
	assert_int_equal(n, 4);
}

static void test_lookup_flags(void **state)
{
	struct mx_request r;

	(void)state;
	mx_lookup_flags("dns", &r);
	assert_int_equal(r.lookup, MX_LOOKUP_DNS);
	mx_lookup_flags("native", &r);
	assert_int_equal(r.lookup, MX_LOOKUP_NATIVE);
	assert_int_equal(r.native_first, 1);
	mx_lookup_flags("dns, native", &r);
	assert_int_equal(r.lookup, MX_LOOKUP_DNS | MX_LOOKUP_NATIVE);
	assert_int_equal(r.native_first, 0);
	mx_lookup_flags("native,dns", &r);
	assert_int_equal(r.native_first, 1);
	mx_lookup_flags("", &r);
	assert_int_equal(r.lookup, MX_LOOKUP_DNS);
	mx_lookup_flags("nis", &r);
	assert_int_equal(r.lookup, MX_LOOKUP_DNS);
}

static int has(const struct net_addr *a, size_t n, const char *want)
{
	struct net_addr w;

	assert_int_equal(hosts_addr_parse(want, strlen(want), &w), 0);
	for (size_t i = 0; i < n; i++)
		if (a[i].sa.ss_family == w.sa.ss_family &&
		    memcmp(&a[i].sa, &w.sa, w.len) == 0)
			return 1;
	return 0;
}

static void test_self_addrs(void **state)
{
	struct net_addr a[MX_SELF_MAX];
	size_t n;

	(void)state;
	n = mx_self_addrs("127.0.0.1, [::1]", "192.0.2.7 mx.example", a,
			  MX_SELF_MAX);
	assert_int_equal(n, 3); /* the name is not an address: skipped */
	assert_true(has(a, n, "127.0.0.1"));
	assert_true(has(a, n, "::1"));
	assert_true(has(a, n, "192.0.2.7"));
	n = mx_self_addrs("loopback-only", "", a, MX_SELF_MAX);
	assert_int_equal(n, 2);
	/* "all": every interface, loopback included. */
	n = mx_self_addrs("all", "", a, MX_SELF_MAX);
	assert_true(n >= 1);
	assert_true(has(a, n, "127.0.0.1"));
	/* Bounded. */
	assert_int_equal(mx_self_addrs("127.0.0.1 127.0.0.2 127.0.0.3", "", a,
				       2),
			 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_sorted),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_cut_self),
		cmocka_unit_test(test_lookup_flags),
		cmocka_unit_test(test_self_addrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
