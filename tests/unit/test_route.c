/* test_route - next hops as Postfix's trivial-rewrite resolves them, with
 * real tables (texthash, lmdb, regexp) through dict_open(). */
#include "testutil.h"

#include "conf/conf.h"
#include "deliver/deliver.h"
#include "dict/dict.h"

static char dir[256];

static void set_table(const char *param, const char *type, const char *file)
{
	char v[400];

	snprintf(v, sizeof(v), "%s:%s/%s", type, dir, file);
	conf_set(param, v);
}

/* route - route rcpt; the result as "transport host port literal text". */
static const char *route(const char *rcpt)
{
	static char out[1024];
	struct route r;

	if (route_rcpt(rcpt, strlen(rcpt), &r) < 0)
		return "ERROR";
	snprintf(out, sizeof(out), "%s [%s] %u %d [%s]", r.tp->name, r.host,
		 r.port, r.literal, r.text);
	return out;
}

static int setup(void **state)
{
	(void)state;
	test_write_file("main.cf", "myhostname = mx.example.net\n"
				   "mydomain = example.net\n"
				   "relay_domains = relay.example\n"
				   "relayhost = [smarthost.example]:2525\n"
				   "recipient_delimiter = +\n");
	test_write_file("master.cf", "smtp unix - - n - - smtp\n"
				     "relay unix - - n - - smtp\n");
	assert_int_equal(conf_load(dir), 0);
	assert_int_equal(transport_load(), 0);
	return 0;
}

static void test_address_classes(void **state)
{
	(void)state;
	/* default class: relayhost. */
	assert_string_equal(route("user@other.example"),
			    "smtp [smarthost.example] 2525 1 []");
	assert_string_equal(route("User@Other.Example."),
			    "smtp [smarthost.example] 2525 1 []");
	/* relay_domains, subdomains too (parent_domain_matches_subdomains). */
	assert_string_equal(route("user@relay.example"),
			    "relay [smarthost.example] 2525 1 []");
	assert_string_equal(route("user@a.b.relay.example"),
			    "relay [smarthost.example] 2525 1 []");
	assert_string_equal(route("user@xrelay.example"),
			    "smtp [smarthost.example] 2525 1 []");
	/* mydestination: local_transport and its nexthop; no subdomains. */
	assert_string_equal(route("user@mx.example.net"),
			    "local [mx.example.net] 0 0 []");
	assert_string_equal(route("user@localhost"),
			    "local [mx.example.net] 0 0 []");
	assert_string_equal(route("user"), "local [mx.example.net] 0 0 []");
	assert_string_equal(route("user@sub.mx.example.net"),
			    "smtp [smarthost.example] 2525 1 []");

	/* No relayhost: the recipient domain, MX lookup (literal 0). */
	conf_set("relayhost", "");
	assert_string_equal(route("user@other.example"),
			    "smtp [other.example] 0 0 []");
	assert_string_equal(route("user@a.relay.example"),
			    "relay [a.relay.example] 0 0 []");
	/* A domain literal is its own next hop. */
	assert_string_equal(route("user@[192.0.2.9]"),
			    "smtp [192.0.2.9] 0 1 []");
	assert_string_equal(route("user@[IPv6:2001:db8::1]"),
			    "smtp [ipv6:2001:db8::1] 0 1 []");

	/* The nexthop in relay_transport/default_transport wins. */
	conf_set("default_transport", "smtp:[10.1.1.1]:26");
	conf_set("relay_transport", "relay:inside.example:smtp");
	assert_string_equal(route("user@other.example"),
			    "smtp [10.1.1.1] 26 1 []");
	assert_string_equal(route("user@relay.example"),
			    "relay [inside.example] 25 0 []");
	conf_set("relayhost", "[smarthost.example]:2525");
	assert_string_equal(route("user@other.example"),
			    "smtp [10.1.1.1] 26 1 []");

	/* Negation and tables in the match lists. */
	test_write_file("relaydom", "tab.example OK\n");
	{
		char v[400];

		snprintf(v, sizeof(v),
			 "!no.relay.example relay.example texthash:%s/relaydom",
			 dir);
		conf_set("relay_domains", v);
	}
	conf_set("relay_transport", "relay");
	conf_set("default_transport", "smtp");
	assert_string_equal(route("u@no.relay.example"),
			    "smtp [smarthost.example] 2525 1 []");
	assert_string_equal(route("u@x.tab.example"),
			    "relay [smarthost.example] 2525 1 []");
	conf_set("parent_domain_matches_subdomains", "");
	assert_string_equal(route("u@x.tab.example"),
			    "smtp [smarthost.example] 2525 1 []");
	assert_string_equal(route("u@x.relay.example"),
			    "smtp [smarthost.example] 2525 1 []");
	conf_set("relay_domains", ".relay.example");
	assert_string_equal(route("u@x.relay.example"),
			    "relay [smarthost.example] 2525 1 []");
	assert_string_equal(route("u@relay.example"),
			    "smtp [smarthost.example] 2525 1 []");
	/* A table that cannot be opened fails the lookup. */
	conf_set("relay_domains", "texthash:/nonexistent/relay");
	test_log_capture();
	assert_string_equal(route("u@relay.example"), "ERROR");
	log_set_sink(NULL, NULL);
}

static const char *transport_text =
	"bob@full.example     error:5.1.1 bob is gone\n"
	"full.example         discard:silently dropped\n"
	"special.example      smtp:[192.0.2.1]:2526\n"
	".parent.example      relay:\n"
	"nohop.example        :[10.9.9.9]\n"
	"v6.example           smtp:[::1]:2527\n"
	"svc.example          smtp:mail.svc.example:submission\n"
	"held.example         hold\n"
	"bad.example          smtp:[broken\n"
	"badport.example      smtp:[192.0.2.1]:99999\n"
	"colons.example       smtp:a:b:c\n"
	"ghost.example        nosuch:\n";

static void test_transport_maps_texthash(void **state)
{
	(void)state;
	conf_set("parent_domain_matches_subdomains", "relay_domains");
	conf_set("relay_domains", "relay.example");
	test_write_file("transport", transport_text);
	set_table("transport_maps", "texthash", "transport");

	/* Full address, then without the extension, then the domain. */
	assert_string_equal(route("bob@full.example"),
			    "error [] 0 0 [5.1.1 bob is gone]");
	assert_string_equal(route("BOB+news@full.example"),
			    "error [] 0 0 [5.1.1 bob is gone]");
	assert_string_equal(route("alice@full.example"),
			    "discard [] 0 0 [silently dropped]");
	assert_string_equal(route("u@special.example"),
			    "smtp [192.0.2.1] 2526 1 []");
	/* ".parent" matches subdomains only; empty nexthop inherits. */
	assert_string_equal(route("u@a.b.parent.example"),
			    "relay [smarthost.example] 2525 1 []");
	assert_string_equal(route("u@parent.example"),
			    "smtp [smarthost.example] 2525 1 []");
	/* Empty transport inherits the class transport. */
	assert_string_equal(route("u@nohop.example"), "smtp [10.9.9.9] 0 1 []");
	assert_string_equal(route("u@v6.example"), "smtp [::1] 2527 1 []");
	assert_string_equal(route("u@svc.example"),
			    "smtp [mail.svc.example] 587 0 []");
	assert_string_equal(route("u@held.example"), "hold [] 0 0 []");
	/* Bad next hops and unknown transports fail (the caller defers). */
	test_log_capture();
	assert_string_equal(route("u@bad.example"), "ERROR");
	assert_string_equal(route("u@badport.example"), "ERROR");
	assert_string_equal(route("u@colons.example"), "ERROR");
	assert_string_equal(route("u@ghost.example"), "ERROR");
	log_set_sink(NULL, NULL);
	assert_non_null(
		strstr(buf_str(&test_log_lines), "mail transport \"nosuch\""));
	/* Not in the table: the class default. */
	assert_string_equal(route("u@elsewhere.example"),
			    "smtp [smarthost.example] 2525 1 []");

	/* Parent style: "parent.example" matches its subdomains too. */
	conf_set("parent_domain_matches_subdomains", "transport_maps");
	test_write_file("transport2", "parent.example relay:[10.0.0.2]\n"
				      "* smtp:[fallback.example]:2600\n");
	set_table("transport_maps", "texthash", "transport2");
	assert_string_equal(route("u@x.parent.example"),
			    "relay [10.0.0.2] 0 1 []");
	assert_string_equal(route("u@parent.example"),
			    "relay [10.0.0.2] 0 1 []");
	/* "*" catches the rest, even mydestination. */
	assert_string_equal(route("u@mx.example.net"),
			    "smtp [fallback.example] 2600 1 []");
	conf_set("parent_domain_matches_subdomains", "relay_domains");

	/* A table that does not exist: lookup failure. */
	conf_set("transport_maps", "texthash:/nonexistent/transport");
	test_log_capture();
	assert_string_equal(route("u@special.example"), "ERROR");
	log_set_sink(NULL, NULL);
}

static void test_transport_maps_lmdb_regexp(void **state)
{
	struct dict *d;
	struct buf err;
	char spec[400], v[800];

	(void)state;
	buf_init(&err, 1024);
	snprintf(spec, sizeof(spec), "lmdb:%s/tmap", dir);
	assert_int_equal(
		dict_open(spec,
			  DICT_FLAG_WRITE | DICT_FLAG_TRUNC | DICT_FLAG_FOLD,
			  &d, &err),
		DICT_OK);
	assert_int_equal(dict_set(d, "lmdb.example", "smtp:[10.0.0.1]:25"),
			 DICT_OK);
	assert_int_equal(dict_set(d, "regex2.example", "smtp:[10.0.0.3]"),
			 DICT_OK);
	assert_int_equal(dict_close(d, &err), DICT_OK);
	buf_free(&err);
	test_write_file("tmap.re",
			"/^re-.*@regex\\.example$/ hold:\n"
			"/^regex2\\.example$/ error:never for domains\n"
			"/^x@regex2\\.example$/ discard:full match\n");
	snprintf(v, sizeof(v), "regexp:%s/tmap.re, lmdb:%s/tmap", dir, dir);
	conf_set("transport_maps", v);

	assert_string_equal(route("u@lmdb.example"), "smtp [10.0.0.1] 25 1 []");
	assert_string_equal(route("re-x@regex.example"), "hold [] 0 0 []");
	assert_string_equal(route("RE-X@Regex.Example"), "hold [] 0 0 []");
	/* Pattern tables see only full addresses. */
	assert_string_equal(route("u@regex2.example"),
			    "smtp [10.0.0.3] 0 1 []");
	/* Key-major order: the full address before any domain key. */
	assert_string_equal(route("x@regex2.example"),
			    "discard [] 0 0 [full match]");
	assert_string_equal(route("u@regex.example"),
			    "smtp [smarthost.example] 2525 1 []");
}

/* LMTP next hops (Postfix lmtp(8)): unix:/path, inet:host:port,
 * [host]:port, host:port; never an MX lookup (literal 1). */
static void test_lmtp_nexthops(void **state)
{
	struct route a, b;

	(void)state;
	conf_set("relayhost", "[smarthost.example]:2525");
	test_write_file("transport_lmtp",
			"sock.example lmtp:unix:/run/dovecot/lmtp\n"
			"rel.example lmtp:unix:private/dovecot-lmtp\n"
			"inet.example lmtp:inet:127.0.0.1:2424\n"
			"inetb.example lmtp:inet:[::1]:2425\n"
			"host.example lmtp:store.example:2426\n"
			"brk.example lmtp:[store.example]:lmtp\n"
			"bare.example lmtp:store.example\n"
			"nohop.example lmtp:\n"
			"empty.example lmtp:unix:\n"
			"bad.example lmtp:inet:[::1\n"
			"store.example store:unix:/run/store.sock\n");
	set_table("transport_maps", "texthash", "transport_lmtp");
	assert_string_equal(route("u@sock.example"),
			    "lmtp [/run/dovecot/lmtp] 0 1 []");
	assert_int_equal(route_rcpt("u@sock.example", 14, &a), 0);
	assert_int_equal(a.unix_path, 1);
	assert_int_equal(a.tp->kind, TRANSPORT_LMTP);
	assert_string_equal(route("u@rel.example"),
			    "lmtp [private/dovecot-lmtp] 0 1 []");
	assert_string_equal(route("u@inet.example"),
			    "lmtp [127.0.0.1] 2424 1 []");
	assert_int_equal(route_rcpt("u@inet.example", 14, &b), 0);
	assert_int_equal(b.unix_path, 0);
	assert_string_equal(route("u@inetb.example"), "lmtp [::1] 2425 1 []");
	assert_string_equal(route("u@host.example"),
			    "lmtp [store.example] 2426 1 []");
	assert_string_equal(route("u@brk.example"),
			    "lmtp [store.example] 24 1 []");
	/* Port 0: the client uses lmtp_tcp_port. */
	assert_string_equal(route("u@bare.example"),
			    "lmtp [store.example] 0 1 []");
	/* An empty nexthop keeps the class default (the relayhost). */
	assert_string_equal(route("u@nohop.example"),
			    "lmtp [smarthost.example] 2525 1 []");
	test_log_capture();
	assert_string_equal(route("u@empty.example"), "ERROR");
	assert_string_equal(route("u@bad.example"), "ERROR");
	/* A master.cf lmtp service under another name. */
	assert_string_equal(route("u@store.example"), "ERROR");
	log_set_sink(NULL, NULL);
	test_write_file("master.cf", "smtp unix - - n - - smtp\n"
				     "relay unix - - n - - smtp\n"
				     "store unix - - n - 4 lmtp\n"
				     "  -o lmtp_lhlo_timeout=7s\n");
	assert_int_equal(transport_load(), 0);
	assert_string_equal(route("u@store.example"),
			    "store [/run/store.sock] 0 1 []");
	assert_int_equal(route_rcpt("u@store.example", 15, &b), 0);
	assert_int_equal(b.tp->kind, TRANSPORT_LMTP);
	assert_int_equal(b.tp->maxproc, 4);
	assert_int_equal(transport_get_time(b.tp, "lmtp_lhlo_timeout"), 7);
	/* Same path, other transport: not the same route. */
	assert_int_equal(route_rcpt("u@sock.example", 14, &a), 0);
	assert_false(route_same(&a, &b));
	assert_int_equal(route_rcpt("v@sock.example", 14, &b), 0);
	assert_true(route_same(&a, &b));
	conf_set("transport_maps", "");
}

/* A content filter takes the message whatever the recipient's class;
 * without a next hop it goes to $myhostname (Postfix's qmgr). */
static void test_filter(void **state)
{
	struct route r;

	(void)state;
	assert_int_equal(route_filter("relay:[127.0.0.1]:10025", 23, &r), 0);
	assert_string_equal(r.tp->name, "relay");
	assert_string_equal(r.host, "127.0.0.1");
	assert_int_equal(r.port, 10025);
	assert_int_equal(r.literal, 1);
	assert_int_equal(route_filter("smtp:", 5, &r), 0);
	assert_string_equal(r.tp->name, "smtp");
	assert_string_equal(r.host, "mx.example.net");
	assert_int_equal(r.literal, 0);
	assert_int_equal(route_filter("nosuch:[127.0.0.1]", 18, &r), -1);
	assert_null(r.tp);
	assert_int_equal(route_filter(":[127.0.0.1]", 12, &r), -1);
	assert_int_equal(route_filter("", 0, &r), -1);
}

static void test_route_same(void **state)
{
	struct route a, b;

	(void)state;
	conf_set("transport_maps", "");
	assert_int_equal(route_rcpt("a@x.example", 11, &a), 0);
	assert_int_equal(route_rcpt("b@y.example", 11, &b), 0);
	assert_true(route_same(&a, &b)); /* both via the relayhost */
	conf_set("relayhost", "");
	assert_int_equal(route_rcpt("a@x.example", 11, &a), 0);
	assert_int_equal(route_rcpt("b@y.example", 11, &b), 0);
	assert_false(route_same(&a, &b));
	assert_int_equal(route_rcpt("b@X.example", 11, &b), 0);
	assert_true(route_same(&a, &b));
	/* Boundaries: empty, NUL inside, too long. */
	test_log_capture();
	assert_int_equal(route_rcpt("", 0, &a), -1);
	assert_int_equal(route_rcpt("a\0b@x", 5, &a), -1);
	log_set_sink(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_classes),
		cmocka_unit_test(test_transport_maps_texthash),
		cmocka_unit_test(test_transport_maps_lmdb_regexp),
		cmocka_unit_test(test_lmtp_nexthops),
		cmocka_unit_test(test_route_same),
		cmocka_unit_test(test_filter),
	};
	int rc;

	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	rc = cmocka_run_group_tests(tests, setup, NULL);
	test_cleanup_tmpdir();
	return rc;
}
