/* test_mx - the pure parts of the next hop's address lookup
 * (deliver/mx.c): MX answers into a sorted exchanger list, the null MX,
 * loop detection, smtp_host_lookup and our own addresses; and a lookup
 * cancelled while it waits (for a DNS server on loopback that never
 * answers, or for the hosts file's answer): no callback, nothing left
 * behind (ASan). The lookups themselves run against a real DNS server in
 * tests/integration/test_dns.py. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "core/loop.h"
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

/* ---- smtp_randomize_addresses ---- */

static void test_order(void **state)
{
	struct mx_target t[3];
	int first[2] = {0, 0};

	(void)state;
	for (int i = 0; i < 200; i++) {
		target(&t[0], "192.0.2.1", 10);
		target(&t[1], "192.0.2.2", 10);
		target(&t[2], "192.0.2.3", 20);
		mx_order(t, 3, 0); /* off: as it is */
		assert_int_equal(t[0].addr.sa.ss_family, AF_INET);
		assert_true(has(&t[0].addr, 1, "192.0.2.1"));
		assert_true(has(&t[1].addr, 1, "192.0.2.2"));
		assert_true(has(&t[2].addr, 1, "192.0.2.3"));
		mx_order(t, 3, 1); /* on: the two of preference 10 shuffled */
		first[has(&t[0].addr, 1, "192.0.2.2")]++;
		assert_int_equal(t[0].pref, 10);
		assert_int_equal(t[1].pref, 10);
		assert_true(has(&t[2].addr, 1, "192.0.2.3"));
	}
	/* Both orders came up (each misses 200 times with p = 2^-200). */
	assert_true(first[0] > 0 && first[1] > 0);
}

struct got {
	int done;
	struct mx_result res;
};

static void got_result(const struct mx_result *res, void *arg)
{
	struct got *g = arg;

	g->done++;
	g->res = *res;
}

/* Through a whole lookup: a host with two addresses (the hosts file). */
static void test_randomize_lookup(void **state)
{
	struct loop *lp = loop_new();
	struct mx_request req;
	int first[2] = {0, 0};
	const char *hosts = test_write_file(
		"hosts2", "127.0.0.7 two.example.test\n"
			  "127.0.0.8 two.example.test\n");

	(void)state;
	memset(&req, 0, sizeof(req));
	req.host = "two.example.test";
	req.literal = 1;
	req.families = HOSTS_INET4;
	req.lookup = MX_LOOKUP_NATIVE;
	req.hosts = hosts;
	for (int randomize = 0; randomize < 2; randomize++) {
		req.randomize = randomize;
		for (int i = 0; i < 200; i++) {
			struct got g = {0};

			(void)mx_lookup_start(lp, NULL, &req, got_result, &g);
			while (!g.done)
				loop_run_once(lp, -1);
			assert_int_equal(g.done, 1);
			assert_int_equal(g.res.status, DELIVER_SENT);
			assert_int_equal(g.res.n, 2);
			if (!randomize)
				assert_true(has(&g.res.t[0].addr, 1,
						"127.0.0.7"));
			else
				first[has(&g.res.t[0].addr, 1,
					  "127.0.0.8")]++;
		}
	}
	assert_true(first[0] > 0 && first[1] > 0);
	loop_free(lp);
}

/* ---- lookups cancelled while they wait ---- */

static void never_called(const struct mx_result *res, void *arg)
{
	(void)res;
	(*(int *)arg)++;
}

/* run_for - the loop for about ms milliseconds (the callbacks that are
 * due run; none is expected). */
static void run_for(struct loop *lp, uint64_t ms)
{
	uint64_t t0 = loop_clock_ms();

	while (loop_clock_ms() - t0 < ms)
		loop_run_once(lp, 50);
}

static void test_cancel(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct loop *lp = loop_new();
	struct dns_resolver *r;
	struct dns_conf c;
	struct mx_request req;
	struct mx_lookup *l;
	struct pollfd pfd;
	uint8_t buf[512];
	int calls = 0, silent, fds;
	const char *hosts = test_write_file(
		"hosts", "127.0.0.7 h.example.test\n::7 h.example.test\n");

	(void)state;
	/* A DNS server on loopback that never answers: a UDP socket. */
	silent = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(silent >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(silent, (struct sockaddr *)&sa, &sl), 0);
	dns_conf_parse("", 0, &c); /* 127.0.0.1:53, then our port */
	((struct sockaddr_in *)&c.server[0].sa)->sin_port = sa.sin_port;
	c.timeout = 1;
	c.attempts = 1;
	fds = test_fd_count();
	r = dns_resolver_new(lp, &c, hosts);

	/* Waiting for the MX answer. */
	memset(&req, 0, sizeof(req));
	req.host = "example.test";
	req.families = HOSTS_INET4 | HOSTS_INET6;
	req.lookup = MX_LOOKUP_DNS;
	req.mx_enabled = 1;
	l = mx_lookup_start(lp, r, &req, never_called, &calls);
	pfd.fd = silent;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 10000), 1); /* the query is out */
	assert_true(recv(silent, buf, sizeof(buf), 0) > DNS_HEADER_LEN);
	loop_run_once(lp, 0);
	mx_lookup_cancel(l);
	assert_int_equal(test_fd_count(), fds); /* the query's socket is closed */
	run_for(lp, 1500); /* past the resolver's timeout */
	assert_int_equal(calls, 0);

	/* Waiting for the A and AAAA answers (from the resolver's hosts
	 * file, delivered from the loop): cancelled before they come. */
	req.host = "h.example.test";
	req.literal = 1;
	l = mx_lookup_start(lp, r, &req, never_called, &calls);
	mx_lookup_cancel(l);
	run_for(lp, 100);
	assert_int_equal(calls, 0);

	/* Answered from the hosts file ("native"), reported from the loop:
	 * cancelled before. */
	req.lookup = MX_LOOKUP_NATIVE;
	req.hosts = hosts;
	l = mx_lookup_start(lp, NULL, &req, never_called, &calls);
	mx_lookup_cancel(l);
	/* An address literal: the same. */
	req.host = "192.0.2.1";
	l = mx_lookup_start(lp, NULL, &req, never_called, &calls);
	mx_lookup_cancel(l);
	run_for(lp, 100);
	assert_int_equal(calls, 0);
	/* Only the MX question went to the network (A and AAAA came from
	 * the hosts file); what was cancelled left nothing (ASan). */
	assert_int_equal(dns_resolver_stats(r)->udp_sent, 1);
	dns_resolver_free(r);
	loop_free(lp);
	close(silent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_sorted),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_cut_self),
		cmocka_unit_test(test_lookup_flags),
		cmocka_unit_test(test_self_addrs),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_randomize_lookup),
		cmocka_unit_test(test_cancel),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	test_cleanup_tmpdir();
	return rc;
}
