/* test_dns_resolv - the stub resolver against a real DNS server.
 *
 * The test moves into its own network namespace (unshare(CLONE_NEWNET), so
 * it needs root; a private loopback where port 53 on any 127.0.0.x is free)
 * and starts Debian's nsd there on 127.0.0.53:53, serving test.example:
 * MX with preferences, A/AAAA, TXT, a CNAME chain, a null MX (RFC 7505), a
 * TXT bigger than 512 bytes (EDNS0 carries it over UDP) and one bigger than
 * the EDNS0 size (TC=1 forces TCP). 127.0.0.9:53 is a UDP socket the test
 * holds and never reads: a server that never answers. nsd is stopped by its
 * PID at the end. Without nsd, or without root, the tests are skipped. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>


#include "core/loop.h"
#include "dns/packet.h"
#include "dns/resolv.h"

static pid_t nsd_pid = -1;
static int silent_fd = -1;
static int have_server;
static struct loop *lp;

/* ---- the server ---- */

static void lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static void write_zone(void)
{
	struct buf z;
	char s250[251];

	memset(s250, 'x', 250);
	s250[250] = 0;
	buf_init(&z, 64 * 1024);
	buf_puts(&z, "$ORIGIN test.example.\n$TTL 300\n"
		     "@ IN SOA ns.test.example. host.test.example. "
		     "1 3600 600 86400 60\n"
		     "@ IN NS ns\n"
		     "ns IN A 127.0.0.53\n"
		     "@ IN MX 20 mx2\n"
		     "@ IN MX 10 mx1\n"
		     "mx1 IN A 127.0.0.11\n"
		     "mx1 IN AAAA ::1\n"
		     "mx2 IN A 127.0.0.12\n"
		     "mx2 IN A 127.0.0.22\n"
		     "@ IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n"
		     "nullmx IN MX 0 .\n"
		     "c1 IN CNAME c2\n"
		     "c2 IN CNAME c3\n"
		     "c3 IN A 127.0.0.13\n"
		     "short 1 IN A 127.0.0.14\n"
		     "zero 0 IN A 127.0.0.15\n"
		     "x IN CNAME t.other.example.\n"
		     "dangling IN CNAME nowhere.other.example.\n");
	/* mid: about 760 bytes (over 512, under the EDNS0 size) */
	buf_printf(&z, "mid IN TXT \"%s\" \"%s\" \"%s\"\n", s250, s250, s250);
	/* big: about 1520 bytes (over DNS_EDNS_UDP_SIZE): TC, then TCP */
	buf_printf(&z, "big IN TXT \"%s\" \"%s\" \"%s\" \"%s\" \"%s\" \"%s\"\n",
		   s250, s250, s250, s250, s250, s250);
	test_write_file("test.zone", buf_str(&z));
	buf_free(&z);
	test_write_file("other.zone",
			"$ORIGIN other.example.\n$TTL 300\n"
			"@ IN SOA ns.test.example. host.test.example. "
			"1 3600 600 86400 60\n"
			"@ IN NS ns.test.example.\n"
			"t IN A 127.0.0.31\n");
}

/* A blocking probe: does the server answer yet? */
static int probe(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct timeval tv = {0, 100 * 1000};
	uint8_t q[DNS_QUERY_MAX], a[512];
	size_t len;
	int s, ok;

	inet_pton(AF_INET, "127.0.0.53", &sa.sin_addr);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	dns_query_format(q, sizeof(q), 1, "test.example", DNS_T_SOA, 0, &len);
	sendto(s, q, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	ok = recv(s, a, sizeof(a), 0) > 0;
	close(s);
	return ok;
}

static int setup(void **state)
{
	char conf[2048];
	const char *dir = test_tmpdir();
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};

	(void)state;
	lp = loop_new();
	if (geteuid() != 0 || access("/usr/sbin/nsd", X_OK) != 0) {
		fprintf(stderr, "test_dns_resolv: needs root and nsd "
				"(apt-get install nsd): skipped\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "unshare: %s: skipped\n", strerror(errno));
		return 0;
	}
	lo_up();
	write_zone();
	snprintf(conf, sizeof(conf),
		 "server:\n  ip-address: 127.0.0.53\n  ip-address: ::1\n  "
		 "port: 53\n"
		 "  username: \"\"\n  chroot: \"\"\n  database: \"\"\n"
		 "  zonelistfile: %s/zone.list\n  xfrdfile: %s/xfrd.state\n"
		 "  pidfile: %s/nsd.pid\n  zonesdir: %s\n"
		 "  logfile: %s/nsd.log\n  verbosity: 0\n"
		 "remote-control:\n  control-enable: no\n"
		 "zone:\n  name: test.example\n  zonefile: %s/test.zone\n"
		 "zone:\n  name: other.example\n  zonefile: %s/other.zone\n",
		 dir, dir, dir, dir, dir, dir, dir);
	test_write_file("nsd.conf", conf);
	nsd_pid = fork();
	assert_true(nsd_pid >= 0);
	if (nsd_pid == 0) {
		char path[512];

		snprintf(path, sizeof(path), "%s/nsd.conf", dir);
		execl("/usr/sbin/nsd", "nsd", "-d", "-c", path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !have_server; i++)
		have_server = probe();
	assert_true(have_server);
	/* The silent server. */
	silent_fd = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, "127.0.0.9", &sa.sin_addr);
	assert_int_equal(bind(silent_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (nsd_pid > 0) {
		kill(nsd_pid, SIGTERM);
		waitpid(nsd_pid, NULL, 0);
	}
	if (silent_fd >= 0)
		close(silent_fd);
	loop_free(lp);
	test_cleanup_tmpdir();
	return 0;
}

/* ---- running queries ---- */

struct result {
	int done, status;
	struct dns_answer ans;
};

static void done(int status, const struct dns_answer *ans, void *arg)
{
	struct result *res = arg;

	res->done++;
	res->status = status;
	if (ans)
		res->ans = *ans;
}

static struct result *ask(struct dns_resolver *r, const char *name,
			  uint16_t type)
{
	static struct result res;

	memset(&res, 0, sizeof(res));
	dns_query(r, name, type, done, &res);
	while (!res.done)
		loop_run_once(lp, -1);
	assert_int_equal(res.done, 1);
	return &res;
}

static struct dns_resolver *resolver(const char *resolv_conf)
{
	struct dns_conf c;

	dns_conf_parse(resolv_conf, strlen(resolv_conf), &c);
	return dns_resolver_new(
		lp, &c,
		test_write_file("hosts", "127.0.0.77 hostsonly.test.example\n"
					 "::7 hostsonly.test.example\n"));
}

static const char *ip(const struct dns_rr *rr)
{
	static char s[INET6_ADDRSTRLEN];

	inet_ntop(rr->type == DNS_T_A ? AF_INET : AF_INET6, rr->addr, s,
		  sizeof(s));
	return s;
}

#define NEED_SERVER()                                                          \
	do {                                                                   \
		if (!have_server)                                              \
			skip();                                                \
	} while (0)

/* ---- tests ---- */

static void test_conf_parse(void **state)
{
	struct dns_conf c;
	const char *t = "# comment\n"
			"search example.org\n"
			"nameserver 192.0.2.1 # trailing\n"
			"nameserver not-an-address\n"
			"nameserver 2001:db8::53\r\n"
			"  nameserver\t192.0.2.3\n"
			"nameserver 192.0.2.4\n" /* a fourth: ignored */
			"options ndots:3 timeout:99 attempts:0 rotate\n";
	char s[INET6_ADDRSTRLEN];

	(void)state;
	dns_conf_parse(t, strlen(t), &c);
	assert_int_equal(c.nserver, 3);
	assert_int_equal(c.server[1].sa.ss_family, AF_INET6);
	assert_int_equal(net_addr_port(&c.server[1]), 53);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&c.server[2].sa)->sin_addr,
		  s, sizeof(s));
	assert_string_equal(s, "192.0.2.3");
	assert_int_equal(c.timeout, DNS_TIMEOUT_MAX);
	assert_int_equal(c.attempts, 1);
	assert_int_equal(c.ndots, 3);
	/* Empty: 127.0.0.1 and the defaults; a missing file the same. */
	dns_conf_parse("", 0, &c);
	assert_int_equal(c.nserver, 1);
	assert_int_equal(c.timeout, DNS_TIMEOUT_DEFAULT);
	assert_int_equal(c.attempts, DNS_ATTEMPTS_DEFAULT);
	assert_int_equal(dns_conf_load("/nonexistent/resolv.conf", &c), 0);
	assert_int_equal(c.nserver, 1);
	assert_int_equal(net_addr_port(&c.server[0]), 53);
}

static void test_records(void **state)
{
	struct dns_resolver *r;
	const struct dns_stats *st;
	struct result *res;

	(void)state;
	NEED_SERVER();
	r = resolver("nameserver 127.0.0.53\n");
	st = dns_resolver_stats(r);
	res = ask(r, "test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct dns_rr *rr = &res->ans.rr[i];

		if (rr->pref == 10)
			assert_string_equal(dns_rr_text(&res->ans, rr),
					    "mx1.test.example");
		else
			assert_string_equal(dns_rr_text(&res->ans, rr),
					    "mx2.test.example");
	}
	assert_int_equal(res->ans.ttl, 300);
	assert_int_equal(res->ans.aa, 1);
	res = ask(r, "MX2.test.example.", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.n, 2);
	res = ask(r, "mx1.test.example", DNS_T_AAAA);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "::1");
	res = ask(r, "test.example", DNS_T_TXT);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(dns_rr_text(&res->ans, &res->ans.rr[0]),
			    "v=spf1 ip4:127.0.0.0/8 -all");
	/* CNAME chain c1 -> c2 -> c3 A, inside one answer. */
	res = ask(r, "c1.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.n, 1);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.13");
	assert_string_equal(res->ans.pool + res->ans.cname_off,
			    "c3.test.example");
	/* A CNAME into another zone nsd serves (nsd follows it itself); a
	 * dangling one ends NXDOMAIN. */
	res = ask(r, "x.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.31");
	assert_string_equal(res->ans.pool + res->ans.cname_off,
			    "t.other.example");
	res = ask(r, "dangling.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_NOTFOUND);
	assert_int_equal(st->cname_restarts, 0);
	/* Null MX (RFC 7505): one MX, preference 0, exchange ".". */
	res = ask(r, "nullmx.test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.n, 1);
	assert_int_equal(res->ans.rr[0].pref, 0);
	assert_string_equal(dns_rr_text(&res->ans, &res->ans.rr[0]), ".");
	/* NXDOMAIN and NODATA with the SOA minimum as negative TTL. */
	res = ask(r, "nx.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_NOTFOUND);
	assert_int_equal(res->ans.neg_ttl, 60);
	res = ask(r, "mx1.test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_NODATA);
	assert_int_equal(res->ans.neg_ttl, 60);
	/* Over 512 bytes: EDNS0 brings it over UDP. */
	res = ask(r, "mid.test.example", DNS_T_TXT);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.rr[0].len, 750);
	assert_int_equal(st->tcp_sent, 0);
	/* Over the EDNS0 size: TC=1, then TCP. */
	res = ask(r, "big.test.example", DNS_T_TXT);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.rr[0].len, 1500);
	assert_int_equal(st->tcp_sent, 1);
	assert_int_equal(st->cache_hits, 0);
	assert_int_equal(st->udp_sent, 12);
	assert_int_equal(st->timeouts, 0);
	assert_int_equal(st->tempfails, 0);
	dns_resolver_free(r);
	/* The server over IPv6. */
	r = resolver("nameserver ::1\n");
	res = ask(r, "mx1.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.11");
	st = dns_resolver_stats(r);
	assert_int_equal(st->udp_sent, 1);
	/* A name that cannot be asked. */
	res = ask(r, "a..b", DNS_T_A);
	assert_int_equal(res->status, DNS_BADNAME);
	assert_int_equal(st->udp_sent, 1);
	dns_resolver_free(r);
}

static void test_cache(void **state)
{
	struct dns_resolver *r;
	const struct dns_stats *st;
	struct result *res;
	uint64_t sent;

	(void)state;
	NEED_SERVER();
	r = resolver("nameserver 127.0.0.53\n");
	st = dns_resolver_stats(r);
	res = ask(r, "test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_OK);
	sent = st->udp_sent;
	assert_int_equal(st->cache_misses, 1);
	/* The second query is answered from the cache, no packet. */
	res = ask(r, "Test.Example.", DNS_T_MX);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.n, 2);
	assert_true(res->ans.ttl <= 300 && res->ans.ttl >= 298);
	assert_int_equal(st->cache_hits, 1);
	assert_int_equal(st->udp_sent, sent);
	/* Another type of the same name is not the same entry. */
	res = ask(r, "test.example", DNS_T_TXT);
	assert_int_equal(st->cache_misses, 2);
	assert_int_equal(st->udp_sent, sent + 1);
	/* Negative caching: NXDOMAIN and NODATA, from the cache. */
	res = ask(r, "nx.test.example", DNS_T_A);
	res = ask(r, "nx.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_NOTFOUND);
	res = ask(r, "mx2.test.example", DNS_T_TXT);
	res = ask(r, "mx2.test.example", DNS_T_TXT);
	assert_int_equal(res->status, DNS_NODATA);
	assert_int_equal(st->cache_hits, 3);
	assert_int_equal(st->udp_sent, sent + 3);
	/* Expiry: a 1-second TTL is served once, then asked again after it
	 * ran out; flush empties the cache. */
	res = ask(r, "short.test.example", DNS_T_A);
	assert_int_equal(res->ans.ttl, 1);
	res = ask(r, "short.test.example", DNS_T_A);
	assert_true(res->ans.ttl <= 1);
	assert_int_equal(st->cache_hits, 4);
	usleep(1100 * 1000);
	res = ask(r, "short.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(st->cache_hits, 4);
	assert_int_equal(st->udp_sent, sent + 5);
	assert_true(st->cache_entries > 0);
	dns_cache_flush(r);
	assert_int_equal(st->cache_entries, 0);
	res = ask(r, "test.example", DNS_T_MX);
	assert_int_equal(st->cache_hits, 4);
	assert_int_equal(st->udp_sent, sent + 6);
	dns_resolver_free(r);
}

static void test_hosts_first(void **state)
{
	struct dns_resolver *r;
	const struct dns_stats *st;
	struct result *res;

	(void)state;
	NEED_SERVER();
	r = resolver("nameserver 127.0.0.53\n");
	st = dns_resolver_stats(r);
	res = ask(r, "hostsonly.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.77");
	res = ask(r, "HOSTSONLY.test.example", DNS_T_AAAA);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "::7");
	assert_int_equal(st->hosts_hits, 2);
	assert_int_equal(st->udp_sent, 0);
	/* PTR of a listed address: the name of its first line. */
	res = ask(r, "77.0.0.127.in-addr.arpa", DNS_T_PTR);
	assert_int_equal(res->status, DNS_OK);
	assert_int_equal(res->ans.n, 1);
	assert_int_equal(res->ans.rr[0].type, DNS_T_PTR);
	assert_string_equal(dns_rr_text(&res->ans, &res->ans.rr[0]),
			    "hostsonly.test.example");
	res = ask(r,
		  "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		  "0.0.0.ip6.arpa",
		  DNS_T_PTR);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(dns_rr_text(&res->ans, &res->ans.rr[0]),
			    "hostsonly.test.example");
	assert_int_equal(st->hosts_hits, 4);
	assert_int_equal(st->udp_sent, 0);
	/* Not in hosts: DNS says NXDOMAIN; MX never looks at hosts. */
	res = ask(r, "hostsonly.test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_NOTFOUND);
	assert_int_equal(st->udp_sent, 1);
	dns_resolver_free(r);
}

static void test_silent_server(void **state)
{
	struct dns_resolver *r;
	const struct dns_stats *st;
	struct result *res;
	uint64_t t0;

	(void)state;
	NEED_SERVER();
	/* Never answers: a temporary error after timeout x attempts. */
	r = resolver("nameserver 127.0.0.9\noptions timeout:1 attempts:2\n");
	st = dns_resolver_stats(r);
	t0 = loop_clock_ms();
	res = ask(r, "test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_TEMPFAIL);
	assert_true(loop_clock_ms() - t0 >= 2000);
	assert_int_equal(st->timeouts, 2);
	assert_int_equal(st->udp_sent, 2);
	assert_int_equal(st->tempfails, 1);
	/* The failure is not cached. */
	res = ask(r, "test.example", DNS_T_MX);
	assert_int_equal(res->status, DNS_TEMPFAIL);
	assert_int_equal(st->cache_hits, 0);
	dns_resolver_free(r);
	/* Silent first, then nobody on the port (refused at once), then the
	 * real one: the retry goes over the servers. */
	r = resolver("nameserver 127.0.0.9\nnameserver 127.0.0.10\n"
		     "nameserver 127.0.0.53\noptions timeout:1 attempts:1\n");
	st = dns_resolver_stats(r);
	res = ask(r, "c1.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.13");
	assert_int_equal(st->udp_sent, 3);
	assert_int_equal(st->timeouts, 1);
	dns_resolver_free(r);
}

static void test_cancel(void **state)
{
	struct dns_resolver *r;
	struct result res;
	struct dns_query *q;
	uint64_t t0;

	(void)state;
	NEED_SERVER();
	r = resolver("nameserver 127.0.0.9\noptions timeout:1 attempts:1\n");
	memset(&res, 0, sizeof(res));
	q = dns_query(r, "test.example", DNS_T_A, done, &res);
	t0 = loop_clock_ms();
	loop_run_once(lp, 100);
	dns_query_cancel(q);
	while (loop_clock_ms() - t0 < 1300)
		loop_run_once(lp, 200);
	assert_int_equal(res.done, 0);
	/* A cache hit cancelled before delivery; pending ones at free. */
	dns_query_cancel(
		dns_query(r, "hostsonly.test.example", DNS_T_A, done, &res));
	(void)dns_query(r, "test.example", DNS_T_MX, done, &res);
	loop_run_once(lp, 0);
	assert_int_equal(res.done, 0);
	dns_resolver_free(r);
}

/* Many queries at once on one loop, each with its own ID and port. */
static void test_concurrent(void **state)
{
	static struct result res[20];
	static const char *names[] = {"test.example", "mx1.test.example",
				      "mx2.test.example", "c1.test.example",
				      "nx.test.example"};
	struct dns_resolver *r;
	int left, fds;

	(void)state;
	NEED_SERVER();
	fds = test_fd_count();
	r = resolver("nameserver 127.0.0.53\n");
	memset(res, 0, sizeof(res));
	for (int i = 0; i < 20; i++)
		dns_query(r, names[i % 5], DNS_T_A, done, &res[i]);
	do {
		loop_run_once(lp, -1);
		left = 0;
		for (int i = 0; i < 20; i++)
			left += res[i].done == 0;
	} while (left);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(res[i].done, 1);
		if (i % 5 == 0)
			assert_int_equal(res[i].status, DNS_NODATA);
		else if (i % 5 == 4)
			assert_int_equal(res[i].status, DNS_NOTFOUND);
		else
			assert_int_equal(res[i].status, DNS_OK);
	}
	/* Five questions on the wire; the other fifteen waited for them. */
	assert_int_equal(dns_resolver_stats(r)->udp_sent, 5);
	assert_int_equal(dns_resolver_stats(r)->coalesced, 15);
	assert_int_equal(test_fd_count(), fds); /* every socket closed */
	/* The one on the wire is cancelled: a waiting one asks instead. */
	dns_cache_flush(r);
	memset(res, 0, sizeof(res));
	{
		struct dns_query *first =
			dns_query(r, "mx2.test.example", DNS_T_A, done, &res[0]);

		dns_query(r, "mx2.test.example", DNS_T_A, done, &res[1]);
		dns_query(r, "MX2.test.example", DNS_T_A, done, &res[2]);
		dns_query_cancel(first);
	}
	do {
		loop_run_once(lp, -1);
	} while (res[1].done == 0 || res[2].done == 0);
	assert_int_equal(res[0].done, 0);
	assert_int_equal(res[1].status, DNS_OK);
	assert_int_equal(res[2].status, DNS_OK);
	assert_int_equal(dns_resolver_stats(r)->udp_sent, 7);
	/* Free with queries in flight closes theirs too. */
	for (int i = 0; i < 5; i++)
		dns_query(r, "big.test.example", DNS_T_TXT, done, &res[0]);
	loop_run_once(lp, 50);
	dns_resolver_free(r);
	assert_int_equal(test_fd_count(), fds);
}

/* ask_twins - n queries of one question at once; runs the loop until
 * every one not cancelled (cancel: index of one to cancel before the loop
 * runs, or -1) has its callback. */
static void ask_twins(struct dns_resolver *r, const char *name,
		      struct result *res, int n, int cancel)
{
	struct dns_query *q[8];
	int left;

	assert_true(n <= 8);
	memset(res, 0, (size_t)n * sizeof(*res));
	for (int i = 0; i < n; i++)
		q[i] = dns_query(r, name, DNS_T_A, done, &res[i]);
	if (cancel >= 0)
		dns_query_cancel(q[cancel]);
	do {
		loop_run_once(lp, -1);
		left = 0;
		for (int i = 0; i < n; i++)
			left += i != cancel && res[i].done == 0;
	} while (left);
}

/* Questions in flight asked once, even when the answer is not cached; a
 * waiting query cancelled, the one on the network cancelled, and all of
 * them on a server that never answers. */
static void test_twins(void **state)
{
	static struct result res[5];
	struct dns_resolver *r;
	const struct dns_stats *st;

	(void)state;
	NEED_SERVER();
	r = resolver("nameserver 127.0.0.53\n");
	st = dns_resolver_stats(r);
	/* TTL 0: not cached, yet five queries are one on the wire. */
	ask_twins(r, "zero.test.example", res, 5, -1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(res[i].done, 1);
		assert_int_equal(res[i].status, DNS_OK);
		assert_int_equal(res[i].ans.ttl, 0);
		assert_string_equal(ip(&res[i].ans.rr[0]), "127.0.0.15");
	}
	assert_int_equal(st->udp_sent, 1);
	assert_int_equal(st->coalesced, 4);
	assert_int_equal(st->cache_entries, 0);
	/* A waiting query cancelled: never called; the others are, and the
	 * question is still asked once. */
	ask_twins(r, "zero.test.example", res, 4, 2);
	assert_int_equal(res[2].done, 0);
	for (int i = 0; i < 4; i++)
		if (i != 2) {
			assert_int_equal(res[i].done, 1);
			assert_int_equal(res[i].status, DNS_OK);
		}
	assert_int_equal(st->udp_sent, 2);
	/* The one on the network cancelled: a waiting one asks instead,
	 * once for the rest. */
	ask_twins(r, "zero.test.example", res, 4, 0);
	assert_int_equal(res[0].done, 0);
	for (int i = 1; i < 4; i++) {
		assert_int_equal(res[i].done, 1);
		assert_int_equal(res[i].status, DNS_OK);
	}
	assert_int_equal(st->udp_sent, 4);
	/* Let the cancelled one's datagram come and go: nothing more. */
	loop_run_once(lp, 100);
	assert_int_equal(res[0].done, 0);
	dns_resolver_free(r);
	/* A server that never answers: every waiting query gets the
	 * temporary failure after the one query's timeout. */
	r = resolver("nameserver 127.0.0.9\noptions timeout:1 attempts:1\n");
	st = dns_resolver_stats(r);
	ask_twins(r, "test.example", res, 5, -1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(res[i].done, 1);
		assert_int_equal(res[i].status, DNS_TEMPFAIL);
	}
	assert_int_equal(st->udp_sent, 1);
	assert_int_equal(st->timeouts, 1);
	assert_int_equal(st->tempfails, 5);
	dns_resolver_free(r);
}

/* The cache holds at most DNS_CACHE_MAX entries. */
static void test_cache_bound(void **state)
{
	struct dns_resolver *r;
	const struct dns_stats *st;
	struct result *res;
	char name[64];

	(void)state;
	NEED_SERVER();
	r = resolver("nameserver 127.0.0.53\n");
	st = dns_resolver_stats(r);
	for (int i = 0; i < DNS_CACHE_MAX + 50; i++) {
		snprintf(name, sizeof(name), "n%d.test.example", i);
		res = ask(r, name, DNS_T_A);
		assert_int_equal(res->status, DNS_NOTFOUND);
		assert_true(st->cache_entries <= DNS_CACHE_MAX);
	}
	assert_int_equal(st->cache_entries, DNS_CACHE_MAX);
	assert_int_equal(st->cache_misses, DNS_CACHE_MAX + 50);
	res = ask(r, name, DNS_T_A); /* the newest is kept */
	assert_int_equal(res->status, DNS_NOTFOUND);
	assert_int_equal(st->cache_hits, 1);
	dns_resolver_free(r);
}

/* A hostile server on 127.0.0.20: it answers every query first with a
 * wrong ID, then with another question, then (mode 0) with the real answer
 * 127.0.0.21 or (mode 1) with SERVFAIL. */
static int hostile_fd = -1, hostile_mode;
static uint16_t seen_port[16], seen_id[16];
static size_t nseen;

static void hostile_reply(const uint8_t *q, size_t qlen, uint16_t id_xor,
			  int other_name, int rcode, struct sockaddr_in *to)
{
	uint8_t b[600];
	size_t n = DNS_HEADER_LEN;
	static const uint8_t rr[] = {0xc0, 12, 0, 1, 0,   1, 0, 0,
				     0,    60, 0, 4, 127, 0, 0, 21};

	while (n < qlen && q[n] != 0)
		n += 1 + q[n];
	n += 1 + 4; /* root, type, class */
	assert_true(n <= qlen && n + sizeof(rr) <= sizeof(b));
	memcpy(b, q, n);
	b[0] ^= (uint8_t)(id_xor >> 8);
	b[1] ^= (uint8_t)id_xor;
	b[2] = 0x81;
	b[3] = (uint8_t)(0x80 | rcode);
	memset(b + 6, 0, 6);
	if (other_name)
		b[13] = b[13] == 'z' ? 'y' : 'z';
	if (rcode == 0 && memcmp(q + 13, "alias", 5) == 0) {
		static const uint8_t cname[] = {
			0xc0, 12,  0,   5,   0,   1,   0,   0,   0,   60,  0,
			21,   6,   't', 'a', 'r', 'g', 'e', 't', 4,   't', 'e',
			's',  't', 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

		b[7] = 1;
		memcpy(b + n, cname, sizeof(cname));
		n += sizeof(cname);
	} else if (rcode == 0) {
		b[7] = 1;
		memcpy(b + n, rr, sizeof(rr));
		n += sizeof(rr);
	}
	sendto(hostile_fd, b, n, 0, (struct sockaddr *)to, sizeof(*to));
}

static void hostile_event(struct loop *l, int fd, int ready, void *arg)
{
	uint8_t q[600];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)l;
	(void)ready;
	(void)arg;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < DNS_HEADER_LEN)
		return;
	if (nseen < 16) {
		seen_port[nseen] = ntohs(from.sin_port);
		seen_id[nseen++] = (uint16_t)(q[0] << 8 | q[1]);
	}
	hostile_reply(q, (size_t)n, 0x5555, 0, 0, &from);
	hostile_reply(q, (size_t)n, 0, 1, 0, &from);
	hostile_reply(q, (size_t)n, 0, 0, hostile_mode ? DNS_R_SERVFAIL : 0,
		      &from);
}

static void test_hostile(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct dns_resolver *r;
	const struct dns_stats *st;
	struct result *res;

	(void)state;
	NEED_SERVER();
	hostile_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	inet_pton(AF_INET, "127.0.0.20", &sa.sin_addr);
	assert_int_equal(bind(hostile_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(
		loop_fd_add(lp, hostile_fd, LOOP_READABLE, hostile_event, NULL),
		0);
	r = resolver("nameserver 127.0.0.20\nnameserver 127.0.0.53\n");
	st = dns_resolver_stats(r);
	/* Wrong ID and wrong question are ignored, the real one taken. */
	hostile_mode = 0;
	res = ask(r, "spoof.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.21");
	assert_int_equal(st->ignored, 2);
	assert_int_equal(st->udp_sent, 1);
	/* A CNAME alone (no target records, no SOA): the target is asked. */
	res = ask(r, "alias.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.21");
	assert_string_equal(res->ans.pool + res->ans.cname_off,
			    "target.test.example");
	assert_int_equal(st->cname_restarts, 1);
	assert_int_equal(st->udp_sent, 3);
	assert_int_equal(st->ignored, 6);
	/* SERVFAIL: the next server (nsd) answers. */
	hostile_mode = 1;
	res = ask(r, "c1.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_OK);
	assert_string_equal(ip(&res->ans.rr[0]), "127.0.0.13");
	assert_int_equal(st->udp_sent, 5);
	assert_int_equal(st->ignored, 8);
	dns_resolver_free(r);
	/* SERVFAIL from the only server, every attempt: temporary. */
	r = resolver("nameserver 127.0.0.20\noptions attempts:5\n");
	st = dns_resolver_stats(r);
	res = ask(r, "c1.test.example", DNS_T_A);
	assert_int_equal(res->status, DNS_TEMPFAIL);
	assert_int_equal(st->udp_sent, 5);
	assert_int_equal(st->timeouts, 0);
	dns_resolver_free(r);
	/* Every try (1 + 2 + 1 + 5) came from another source port, with a
	 * fresh ID. */
	assert_int_equal(nseen, 9);
	for (size_t i = 0; i < nseen; i++)
		for (size_t j = i + 1; j < nseen; j++)
			assert_int_not_equal(seen_port[i], seen_port[j]);
	{
		size_t same = 0;

		for (size_t i = 1; i < nseen; i++)
			same += seen_id[i] == seen_id[0];
		assert_true(same < nseen - 1);
	}
	loop_fd_del(lp, hostile_fd, LOOP_ALL);
	close(hostile_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_parse),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_hosts_first),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_cache_bound),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
