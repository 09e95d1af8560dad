/* test_restrict - the restriction engine's pure parts: access(5) results
 * (access.h), the DNSBL reply filter (restrict_ip_match), policy server
 * replies (policy_reply_parse), the anvil windows, and the flow through
 * restrict_eval(): warn_if_reject, classes, access lookup orders. */
#include "testutil.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "smtpd/access.h"
#include "smtpd/anvil.h"
#include "smtpd/policy.h"
#include "smtpd/restrict.h"

static void parse(const char *v, enum access_action want, int code,
		  const char *dsn, const char *text)
{
	struct access_result a;
	int rc = access_parse(v, strlen(v), &a);
	assert_int_equal(rc, want == ACCESS_BAD ? -1 : 0);
	assert_int_equal(a.action, want);
	if (want == ACCESS_BAD)
		return;
	assert_int_equal(a.code, code);
	if (dsn == NULL)
		assert_null(a.dsn);
	else {
		assert_non_null(a.dsn);
		assert_int_equal(a.dsn_len, strlen(dsn));
		assert_memory_equal(a.dsn, dsn, a.dsn_len);
	}
	assert_int_equal(a.text_len, strlen(text));
	assert_memory_equal(a.text, text, a.text_len);
}

static void test_access_parse(void **state)
{
	(void)state;
	parse("OK", ACCESS_OK, 0, NULL, "");
	parse("ok", ACCESS_OK, 0, NULL, "");
	parse("12345", ACCESS_OK, 0, NULL, ""); /* all digits: OK */
	parse("450", ACCESS_OK, 0, NULL, "");
	parse("REJECT", ACCESS_REJECT, 0, NULL, "");
	parse("REJECT Go away ", ACCESS_REJECT, 0, NULL, "Go away");
	parse("reject 5.7.9 Go away", ACCESS_REJECT, 0, "5.7.9", "Go away");
	parse("DEFER_IF_PERMIT Greylisted, see http://x/",
	      ACCESS_DEFER_IF_PERMIT, 0, NULL, "Greylisted, see http://x/");
	parse("550 5.7.23 SPF fail", ACCESS_CODE, 550, "5.7.23", "SPF fail");
	parse("450 try later", ACCESS_CODE, 450, NULL, "try later");
	/* a status of the other class is split off (the reply fixes it) */
	parse("450 5.7.1 x", ACCESS_CODE, 450, "5.7.1", "x");
	parse("250 fine", ACCESS_BAD, 0, NULL, "");
	parse("DUNNO", ACCESS_DUNNO, 0, NULL, "");
	parse("PREPEND X-Greylist: delayed", ACCESS_PREPEND, 0, NULL,
	      "X-Greylist: delayed");
	parse("PREPEND no colon", ACCESS_BAD, 0, NULL, "");
	parse("FILTER smtp:[127.0.0.1]:10025", ACCESS_FILTER, 0, NULL,
	      "smtp:[127.0.0.1]:10025");
	parse("FILTER nocolon", ACCESS_BAD, 0, NULL, "");
	parse("REDIRECT", ACCESS_BAD, 0, NULL, "");
	parse("BCC a@b", ACCESS_BCC, 0, NULL, "a@b");
	parse("HOLD", ACCESS_HOLD, 0, NULL, "");
	parse("permit_mynetworks, reject", ACCESS_RESTRICTIONS, 0, NULL,
	      "permit_mynetworks, reject");
	parse("", ACCESS_BAD, 0, NULL, "");
}

static void test_ip_match(void **state)
{
	(void)state;
	assert_int_equal(restrict_ip_match("127.0.0.2", "127.0.0.2"), 1);
	assert_int_equal(restrict_ip_match("127.0.0.2", "127.0.0.3"), 0);
	assert_int_equal(restrict_ip_match("127.0.0.[2..11]", "127.0.0.11"),
			 1);
	assert_int_equal(restrict_ip_match("127.0.0.[2..11]", "127.0.0.12"),
			 0);
	assert_int_equal(restrict_ip_match("127.0.[1;3].[2;4..6]",
					   "127.0.3.5"),
			 1);
	assert_int_equal(restrict_ip_match("127.0.[1;3].[2;4..6]",
					   "127.0.2.5"),
			 0);
	assert_int_equal(restrict_ip_match("127.0.0", "127.0.0.2"), -1);
	assert_int_equal(restrict_ip_match("127.0.0.[5..2]", "127.0.0.2"), -1);
	assert_int_equal(restrict_ip_match("127.0.0.256", "127.0.0.2"), -1);
}

static void test_policy_reply(void **state)
{
	(void)state;
	const char *a;
	size_t alen, used;
	const char *r1 = "x=1\naction=DEFER_IF_PERMIT Greylisted\n\nmore";
	assert_int_equal(policy_reply_parse(r1, strlen(r1), &a, &alen, &used),
			 1);
	assert_int_equal(used, strlen(r1) - 4);
	assert_int_equal(alen, strlen("DEFER_IF_PERMIT Greylisted"));
	assert_memory_equal(a, "DEFER_IF_PERMIT Greylisted", alen);
	assert_int_equal(policy_reply_parse(r1, 10, &a, &alen, &used), 0);
	const char *r2 = "action=OK\r\n\r\n";
	assert_int_equal(policy_reply_parse(r2, strlen(r2), &a, &alen, &used),
			 1);
	assert_int_equal(alen, 2);
	const char *r3 = "no equals sign\n\n";
	assert_int_equal(policy_reply_parse(r3, strlen(r3), &a, &alen, &used),
			 -1);
	const char *r4 = "other=1\n\n";
	assert_int_equal(policy_reply_parse(r4, strlen(r4), &a, &alen, &used),
			 1);
	assert_null(a);
}

static void test_anvil(void **state)
{
	(void)state;
	struct anvil *a = anvil_new(60000);
	assert_int_equal(anvil_hit(a, "1.2.3.4", ANVIL_MAIL, 1000), 1);
	assert_int_equal(anvil_hit(a, "1.2.3.4", ANVIL_MAIL, 2000), 2);
	assert_int_equal(anvil_hit(a, "1.2.3.4", ANVIL_RCPT, 2000), 1);
	assert_int_equal(anvil_peek(a, "1.2.3.5", ANVIL_MAIL, 2000), 0);
	assert_int_equal(anvil_peek(a, "1.2.3.4", ANVIL_MAIL, 60999), 2);
	/* the window started at 1000: at 61000 all rates start over */
	assert_int_equal(anvil_hit(a, "1.2.3.4", ANVIL_MAIL, 61000), 1);
	assert_int_equal(anvil_peek(a, "1.2.3.4", ANVIL_RCPT, 61000), 0);
	/* many clients: the table stays bounded, a known one keeps counting
	 * unless its slot was taken */
	for (int i = 0; i < 100000; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		anvil_hit(a, addr, ANVIL_CONN, 62000);
	}
	assert_true(anvil_hit(a, "1.2.3.4", ANVIL_MAIL, 62000) >= 1);
	anvil_free(a);
}

static enum restrict_result eval(struct restrict_cfg *c, int stage,
				 const char *sender, const char *rcpt,
				 struct buf *r)
{
	struct restrict_ctx x = {.client_addr = "192.0.2.1",
				 .client_name = "mail.client.example",
				 .helo = "mail.client.example",
				 .sender = sender,
				 .recipient = rcpt,
				 .cmd = "RCPT",
				 .protocol = "ESMTP"};
	buf_reset(r);
	return restrict_eval(c, stage, &x, r);
}

/* The status of the names looked up at connect (peer.h) decides the
 * code, as Postfix's reject_unknown_client and reject_unknown_reverse_name:
 * unknown_client_reject_code for permanent failures, 450 for temporary
 * ones. */
static void test_unknown_client(void **state)
{
	(void)state;
	static const struct {
		int name_status, reverse_status;
		const char *name, *reverse;
		const char *want_name, *want_rev; /* NULL: passes */
	} cases[] = {
		{2, 2, "mx.client.example", "mx.client.example", NULL, NULL},
		{6, 2, "unknown", "forged.example", "550 5.7.25", NULL},
		{4, 2, "unknown", "slow.example", "450 4.7.25", NULL},
		{5, 5, "unknown", "unknown", "550 5.7.25", "550 5.7.1"},
		{4, 4, "unknown", "unknown", "450 4.7.25", "450 4.7.1"},
		/* no status: from the names */
		{0, 0, "mx.client.example", "unknown", NULL, "550 5.7.1"},
	};
	struct buf r;
	buf_init(&r, 4096);
	for (int rev = 0; rev < 2; rev++) {
		char conf[256];
		snprintf(conf, sizeof(conf),
			 "unknown_client_reject_code = 550\n"
			 "smtpd_client_restrictions = %s\n",
			 rev ? "reject_unknown_reverse_client_hostname"
			     : "reject_unknown_client_hostname");
		test_write_file("main.cf", conf);
		assert_int_equal(conf_load(test_tmpdir()), 0);
		struct restrict_cfg *c = restrict_new();
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct restrict_ctx x = {
				.client_addr = "192.0.2.1",
				.client_name = cases[i].name,
				.reverse_name = cases[i].reverse,
				.name_status = cases[i].name_status,
				.reverse_status = cases[i].reverse_status,
				.cmd = "RCPT",
				.protocol = "ESMTP"};
			const char *want =
				rev ? cases[i].want_rev : cases[i].want_name;
			buf_reset(&r);
			enum restrict_result res =
				restrict_eval(c, RESTRICT_CLIENT, &x, &r);
			if (want == NULL) {
				assert_int_not_equal(res, RESTRICT_REJECT);
				continue;
			}
			assert_int_equal(res, RESTRICT_REJECT);
			assert_memory_equal(r.data, want, strlen(want));
			assert_non_null(strstr(
				buf_str(&r),
				rev ? "Client host rejected: cannot find your "
				      "reverse hostname, [192.0.2.1]"
				    : "Client host rejected: cannot find your "
				      "hostname, [192.0.2.1]"));
		}
		restrict_free(c);
	}
	buf_free(&r);
}

static void test_flow(void **state)
{
	(void)state;
	test_write_file(
		"main.cf",
		"mydestination = test.example\nrelay_domains = example.net\n"
		"local_recipient_maps =\n"
		"smtpd_restriction_classes = strict\n"
		"strict = reject_non_fqdn_sender, permit\n"
		"smtpd_client_restrictions = check_client_access "
		"inline:{ {192.0.2 = REJECT by prefix} }\n"
		"smtpd_helo_restrictions = check_helo_access "
		"inline:{ {client.example = 450 4.7.1 parent} }\n"
		"smtpd_sender_restrictions = warn_if_reject "
		"reject_non_fqdn_sender, check_sender_access "
		"inline:{ {<> = REJECT no bounces} }\n"
		"smtpd_recipient_restrictions = check_recipient_access "
		"inline:{ {a@example.net = strict}, {b@ = DUNNO}, "
		"{example.net = REJECT domain} }\n");
	assert_int_equal(conf_load(test_tmpdir()), 0);
	struct restrict_cfg *c = restrict_new();
	struct buf r;
	buf_init(&r, 4096);
	/* the client's address prefix, after its name and parent domains */
	assert_int_equal(eval(c, RESTRICT_CLIENT, "s@x.example", NULL, &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r),
			    "554 5.7.1 <mail.client.example[192.0.2.1]>: Client "
			    "host rejected: by prefix");
	/* a parent domain of the HELO name, a numeric result */
	assert_int_equal(eval(c, RESTRICT_HELO, "s@x.example", NULL, &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "450 4.7.1 <mail.client.example>: "
					 "Helo command rejected: parent");
	/* warn_if_reject: logged, not refused; the null sender's key */
	assert_int_equal(eval(c, RESTRICT_SENDER, "s@nodot", NULL, &r),
			 RESTRICT_DUNNO);
	assert_int_equal(eval(c, RESTRICT_SENDER, "", NULL, &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "554 5.7.1 <>: Sender address "
					 "rejected: no bounces");
	/* a restriction class as the result */
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@nodot", "a@example.net",
			      &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "504 5.5.2 <s@nodot>: Sender address "
					 "rejected: need fully-qualified "
					 "address");
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "a@example.net", &r),
			 RESTRICT_PERMIT);
	/* the domain comes before user@, and parents after it */
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "b@example.net", &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "554 5.7.1 <b@example.net>: "
					 "Recipient address rejected: domain");
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "c@deep.sub.example.net", &r),
			 RESTRICT_REJECT);
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "b@other.example", &r),
			 RESTRICT_DUNNO);
	buf_free(&r);
	restrict_free(c);
	/* reject_unlisted_recipient for mydestination: local_recipient_maps
	 * by address or local part; postmaster and MAILER-DAEMON always */
	test_write_file("main.cf",
			"mydestination = test.example\n"
			"local_recipient_maps = inline:{ {known = x}, "
			"{full@test.example = x} }\n");
	assert_int_equal(conf_load(test_tmpdir()), 0);
	c = restrict_new();
	buf_init(&r, 4096);
	struct restrict_ctx x = {.client_addr = "192.0.2.1",
				 .sender = "s@x.example",
				 .cmd = "RCPT"};
	x.recipient = "nobody@test.example";
	assert_int_equal(restrict_unlisted(c, &x, &r), RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "550 5.1.1 <nobody@test.example>: "
					 "Recipient address rejected: User "
					 "unknown in local recipient table");
	static const char *const ok[] = {"known@test.example",
					 "full@test.example",
					 "postmaster@test.example",
					 "MAILER-DAEMON@test.example",
					 "u@elsewhere.example"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		x.recipient = ok[i];
		assert_int_equal(restrict_unlisted(c, &x, &r), RESTRICT_DUNNO);
	}
	buf_free(&r);
	restrict_free(c);
}

/* recipient_delimiter (access(5) "EMAIL ADDRESS EXTENSION"):
 * user+foo@domain, user@domain, domain, user+foo@, user@; the recipient
 * maps as mail_addr_find(): user+foo@domain, user@domain, (local) user+foo,
 * user, then @domain. */
static void test_extension(void **state)
{
	(void)state;
	assert_int_equal(restrict_ext_cut("u+x", 3, "+", "double-bounce"), 1);
	assert_int_equal(restrict_ext_cut("u-x+y", 5, "+-", NULL), 1);
	assert_int_equal(restrict_ext_cut("+x", 2, "+", NULL), 2);
	assert_int_equal(restrict_ext_cut("u", 1, "+", NULL), 1);
	assert_int_equal(restrict_ext_cut("u+x", 3, "", NULL), 3);
	assert_int_equal(restrict_ext_cut("owner-list", 10, "-", NULL), 10);
	assert_int_equal(restrict_ext_cut("list-request", 12, "-", NULL), 12);
	assert_int_equal(restrict_ext_cut("a-b", 3, "-", NULL), 1);
	assert_int_equal(restrict_ext_cut("postmaster", 10, "s", NULL), 10);
	test_write_file(
		"main.cf",
		"mydestination = test.example\nrelay_domains = example.net\n"
		"recipient_delimiter = +\n"
		"local_recipient_maps = inline:{ {known = x} }\n"
		"relay_recipient_maps = inline:{ {r@example.net = x} }\n"
		"smtpd_recipient_restrictions = check_recipient_access "
		"inline:{ {a@example.net = REJECT base}, "
		"{a+ok@example.net = OK}, {b@ = REJECT user at}, "
		"{c+x@ = REJECT ext at}, {c@ = OK} }\n");
	assert_int_equal(conf_load(test_tmpdir()), 0);
	struct restrict_cfg *c = restrict_new();
	struct buf r;
	buf_init(&r, 4096);
	/* user+foo@domain first, then user@domain */
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "a+ok@example.net", &r),
			 RESTRICT_PERMIT);
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "a+other@example.net", &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "554 5.7.1 <a+other@example.net>: "
					 "Recipient address rejected: base");
	/* user@ when nothing else matched */
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "b+z@example.org", &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "554 5.7.1 <b+z@example.org>: "
					 "Recipient address rejected: user at");
	/* user+foo@ before user@ */
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "c+x@example.org", &r),
			 RESTRICT_REJECT);
	assert_int_equal(eval(c, RESTRICT_RECIPIENT, "s@x.example",
			      "c+y@example.org", &r),
			 RESTRICT_PERMIT);
	struct restrict_ctx x = {.client_addr = "192.0.2.1",
				 .sender = "s@x.example",
				 .cmd = "RCPT"};
	static const char *const ok[] = {"known+tag@test.example",
					 "r+tag@example.net", "r@example.net"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		x.recipient = ok[i];
		assert_int_equal(restrict_unlisted(c, &x, &r), RESTRICT_DUNNO);
	}
	x.recipient = "s+r@example.net";
	assert_int_equal(restrict_unlisted(c, &x, &r), RESTRICT_REJECT);
	buf_free(&r);
	restrict_free(c);
}

/* ---- waiting: a real policy server on loopback, the loop driving ---- */

static struct loop *lp;

static void resume(void *arg)
{
	int *n = arg;
	(*n)++;
	loop_stop(lp);
}

/* A policy server in a child: answers each request with the next of
 * actions[] (one connection, reused), then exits at EOF. */
static pid_t policy_server(int *port, const char *const *actions)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (void *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (void *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(l);
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int c = accept(l, NULL, NULL);
	char buf[8192];
	size_t have = 0;
	for (size_t k = 0; actions[k] != NULL;) {
		ssize_t n = read(c, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			_exit(0);
		have += (size_t)n;
		buf[have] = 0;
		char *end = strstr(buf, "\n\n");
		if (end == NULL)
			continue;
		size_t used = (size_t)(end + 2 - buf);
		memmove(buf, buf + used, have - used);
		have -= used;
		char out[512];
		int m = snprintf(out, sizeof(out), "action=%s\n\n", actions[k++]);
		if (write(c, out, (size_t)m) != m)
			_exit(1);
	}
	while (read(c, buf, sizeof(buf)) > 0) {
	}
	_exit(0);
}

static void test_async_policy(void **state)
{
	(void)state;
	static const char *const actions[] = {
		"DEFER_IF_PERMIT Greylisted", "PREPEND X-Test: yes", NULL};
	int port, resumed = 0;
	pid_t pid = policy_server(&port, actions);
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 "relay_domains = example.net\nlocal_recipient_maps =\n"
		 "smtpd_recipient_restrictions = sleep 1, "
		 "check_policy_service inet:127.0.0.1:%d\n",
		 port);
	test_write_file("main.cf", conf);
	assert_int_equal(conf_load(test_tmpdir()), 0);
	lp = loop_new();
	struct policy_pool *pol = policy_pool_new(lp);
	struct restrict_cfg *c = restrict_new();
	restrict_set_env(c, lp, NULL, pol);
	struct restrict_sess *rs = restrict_sess_new(c, resume, &resumed);
	struct restrict_ctx x = {.client_addr = "192.0.2.1",
				 .client_name = "unknown",
				 .helo = "h.example",
				 .sender = "s@x.example",
				 .recipient = "u@example.net",
				 .cmd = "RCPT",
				 .protocol = "ESMTP"};
	struct buf r;
	buf_init(&r, 4096);
	/* the sleep, then the policy server: each time the check waits and
	 * runs again after the resume callback */
	int rounds = 0;
	enum restrict_result res;
	while ((res = restrict_check(rs, RESTRICT_CMD_RCPT, &x, &r)) ==
	       RESTRICT_PENDING) {
		assert_true(++rounds <= 3);
		loop_run(lp);
	}
	assert_int_equal(rounds, 2);
	assert_int_equal(resumed, 2);
	assert_int_equal(res, RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "450 4.7.1 <u@example.net>: "
					 "Recipient address rejected: "
					 "Greylisted");
	/* the next request asks again (the sleep too), on the same
	 * connection; PREPEND is kept for the transaction */
	x.recipient = "v@example.net";
	rounds = 0;
	while ((res = restrict_check(rs, RESTRICT_CMD_RCPT, &x, &r)) ==
	       RESTRICT_PENDING) {
		assert_true(++rounds <= 3);
		loop_run(lp);
	}
	assert_int_equal(res, RESTRICT_DUNNO);
	assert_string_equal(buf_str(&restrict_actions(rs)->prepend),
			    "X-Test: yes\r\n");
	/* a session that goes away while it waits leaves nothing behind */
	x.recipient = "w@example.net";
	assert_int_equal(restrict_check(rs, RESTRICT_CMD_RCPT, &x, &r),
			 RESTRICT_PENDING);
	restrict_sess_free(rs);
	buf_free(&r);
	restrict_free(c);
	policy_pool_free(pol);
	loop_free(lp);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_parse),
		cmocka_unit_test(test_ip_match),
		cmocka_unit_test(test_policy_reply),
		cmocka_unit_test(test_anvil),
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_extension),
		cmocka_unit_test(test_unknown_client),
		cmocka_unit_test(test_async_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
