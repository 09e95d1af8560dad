/* test_smtp_cmd - SMTP command framing, verbs, MAIL/RCPT paths and ESMTP
 * parameters, BDAT arguments, xtext, and the reply table. */
#include "testutil.h"

#include "smtpd/smtp_cmd.h"

#define ALL_EXT                                                                \
	(SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME |             \
	 SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN | SMTP_EXT_AUTH)

static int slice_is(struct smtp_slice s, const char *want)
{
	return s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0);
}

#define assert_slice(s, want)                                                  \
	do {                                                                   \
		if (!slice_is((s), (want)))                                    \
			print_error("got \"%.*s\", want \"%s\"\n", (int)(s).n, \
				    (s).p ? (s).p : "", (want));               \
		assert_true(slice_is((s), (want)));                            \
	} while (0)

/* ---- framing ---- */

static void test_line_basic(void **state)
{
	struct smtp_line_reader r;
	static const char in[] =
		"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\r\nDATA\nQUIT\r";
	size_t off = 0, len, used;

	(void)state;
	smtp_line_init(&r, SMTP_BARE_NORMALIZE, 0);
	assert_int_equal(r.max, SMTP_CMD_LINE_MAX);
	assert_int_equal(smtp_line_next(&r, in, sizeof(in) - 1, &len, &used),
			 SMTP_LINE_OK);
	assert_int_equal(len, 15);
	assert_int_equal(used, 17);
	off += used;
	assert_int_equal(
		smtp_line_next(&r, in + off, sizeof(in) - 1 - off, &len, &used),
		SMTP_LINE_OK);
	assert_memory_equal(in + off, "RCPT TO:<c@d>", len);
	assert_int_equal(len, 13); /* the extra CR is dropped */
	off += used;
	assert_int_equal(
		smtp_line_next(&r, in + off, sizeof(in) - 1 - off, &len, &used),
		SMTP_LINE_OK); /* bare LF ends it */
	assert_int_equal(len, 4);
	off += used;
	assert_int_equal(
		smtp_line_next(&r, in + off, sizeof(in) - 1 - off, &len, &used),
		SMTP_LINE_MORE);
	assert_int_equal(used, 0);

	/* reject: the line comes back with the error */
	smtp_line_init(&r, SMTP_BARE_REJECT, 0);
	assert_int_equal(smtp_line_next(&r, "NOOP\nQUIT\r\n", 11, &len, &used),
			 SMTP_CMD_ERR_BARE_LF);
	assert_int_equal(len, 4);
	assert_int_equal(used, 5);
	assert_int_equal(smtp_line_next(&r, "QUIT\r\n", 6, &len, &used),
			 SMTP_LINE_OK);
	/* no: bare LF still ends a command line, as in Postfix */
	smtp_line_init(&r, SMTP_BARE_NO, 0);
	assert_int_equal(smtp_line_next(&r, "NOOP\n", 5, &len, &used),
			 SMTP_LINE_OK);
	/* empty line */
	assert_int_equal(smtp_line_next(&r, "\r\n", 2, &len, &used),
			 SMTP_LINE_OK);
	assert_int_equal(len, 0);
}

/* A line of exactly max bytes passes; max + 1 is skipped whole and
 * reported once its end has arrived. */
static void test_line_limit(void **state)
{
	struct smtp_line_reader r;
	static char in[SMTP_CMD_LINE_MAX + 64];
	size_t len, used, max = SMTP_CMD_LINE_MAX;

	(void)state;
	smtp_line_init(&r, SMTP_BARE_NORMALIZE, 0);
	memset(in, 'a', sizeof(in));
	memcpy(in + max, "\r\n", 2);
	assert_int_equal(smtp_line_next(&r, in, max + 2, &len, &used),
			 SMTP_LINE_OK);
	assert_int_equal(len, max);
	/* max bytes and a CR: still waiting */
	assert_int_equal(smtp_line_next(&r, in, max + 1, &len, &used),
			 SMTP_LINE_MORE);
	assert_int_equal(used, 0);

	memset(in, 'a', sizeof(in));
	memcpy(in + max + 1, "\r\n", 2);
	assert_int_equal(smtp_line_next(&r, in, max + 3, &len, &used),
			 SMTP_CMD_ERR_TOO_LONG);
	assert_int_equal(used, max + 3);
	assert_int_equal(r.skipping, 0);

	/* streamed: the over-long part is discarded as it comes */
	memset(in, 'a', sizeof(in));
	assert_int_equal(smtp_line_next(&r, in, max + 2, &len, &used),
			 SMTP_LINE_MORE);
	assert_int_equal(used, max + 2);
	assert_int_equal(smtp_line_next(&r, in, 10, &len, &used),
			 SMTP_LINE_MORE);
	assert_int_equal(used, 10);
	assert_int_equal(smtp_line_next(&r, "xx\r\nNOOP\r\n", 10, &len, &used),
			 SMTP_CMD_ERR_TOO_LONG);
	assert_int_equal(used, 4);
	assert_int_equal(smtp_line_next(&r, "NOOP\r\n", 6, &len, &used),
			 SMTP_LINE_OK);
	assert_int_equal(len, 4);

	/* bounds */
	smtp_line_init(&r, SMTP_BARE_NORMALIZE, 1);
	assert_int_equal(r.max, SMTP_CMD_LINE_MAX_MIN);
	smtp_line_init(&r, SMTP_BARE_NORMALIZE, (size_t)1 << 30);
	assert_int_equal(r.max, SMTP_CMD_LINE_MAX_MAX);
}

/* ---- verbs ---- */

static void test_verbs(void **state)
{
	static const struct {
		const char *in;
		enum smtp_verb verb;
		const char *arg;
	} good[] = {
		{"EHLO client.example", SMTP_VERB_EHLO, "client.example"},
		{"ehlo [192.0.2.1]", SMTP_VERB_EHLO, "[192.0.2.1]"},
		{"HeLo x", SMTP_VERB_HELO, "x"},
		{"MAIL FROM:<a@b>", SMTP_VERB_MAIL, "FROM:<a@b>"},
		{"rcpt TO:<a@b>  NOTIFY=NEVER  ", SMTP_VERB_RCPT,
		 "TO:<a@b>  NOTIFY=NEVER"},
		{"DATA", SMTP_VERB_DATA, ""},
		{"data   ", SMTP_VERB_DATA, ""},
		{"BDAT 100 LAST", SMTP_VERB_BDAT, "100 LAST"},
		{"RSET", SMTP_VERB_RSET, ""},
		{"NOOP", SMTP_VERB_NOOP, ""},
		{"NOOP anything goes", SMTP_VERB_NOOP, "anything goes"},
		{"QUIT", SMTP_VERB_QUIT, ""},
		{"quit now", SMTP_VERB_QUIT, "now"},
		{"VRFY postmaster", SMTP_VERB_VRFY, "postmaster"},
		{"ETRN example.org", SMTP_VERB_ETRN, "example.org"},
		{"HELP", SMTP_VERB_HELP, ""},
		{"help mail", SMTP_VERB_HELP, "mail"},
		{"StartTLS", SMTP_VERB_STARTTLS, ""},
		{"AUTH PLAIN AGZvbwBiYXI=", SMTP_VERB_AUTH,
		 "PLAIN AGZvbwBiYXI="},
		{"  NOOP", SMTP_VERB_NOOP, ""},
		{"HELO\tx", SMTP_VERB_HELO, "x"},
	};
	static const struct {
		const char *in;
		size_t n; /* 0: strlen */
		int err;
		enum smtp_verb verb;
	} bad[] = {
		{"", 0, SMTP_CMD_ERR_EMPTY, SMTP_VERB_NONE},
		{"   \t", 0, SMTP_CMD_ERR_EMPTY, SMTP_VERB_NONE},
		{"FOO bar", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_VERB_NONE},
		{"MAILFROM:<a@b>", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_VERB_NONE},
		{"MAI", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_VERB_NONE},
		{"STARTTLSX", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_VERB_NONE},
		{"DATA x", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_DATA},
		{"RSET x", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_RSET},
		{"STARTTLS x", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_STARTTLS},
		{"EHLO", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_EHLO},
		{"EHLO   ", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_EHLO},
		{"MAIL", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_MAIL},
		{"BDAT", 0, SMTP_CMD_ERR_SYNTAX, SMTP_VERB_BDAT},
		{"NOOP\0x", 6, SMTP_CMD_ERR_BAD_CHAR, SMTP_VERB_NONE},
		{"NOOP a\rb", 0, SMTP_CMD_ERR_BAD_CHAR, SMTP_VERB_NONE},
		{"NOOP a\nb", 0, SMTP_CMD_ERR_BAD_CHAR, SMTP_VERB_NONE},
		{"NOOP\r", 0, SMTP_CMD_ERR_BAD_CHAR, SMTP_VERB_NONE},
	};
	struct smtp_cmd c;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = smtp_cmd_parse(&c, good[i].in, strlen(good[i].in), 0);

		if (r != 0)
			print_error("%s: %d\n", good[i].in, r);
		assert_int_equal(r, 0);
		assert_int_equal(c.verb, good[i].verb);
		assert_slice(c.arg, good[i].arg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = bad[i].n ? bad[i].n : strlen(bad[i].in);
		int r = smtp_cmd_parse(&c, bad[i].in, n, 0);

		if (r != bad[i].err)
			print_error("%s: %d\n", bad[i].in, r);
		assert_int_equal(r, bad[i].err);
		assert_int_equal(c.verb, bad[i].verb);
	}
	assert_int_equal(smtp_cmd_parse(&c, "FOO bar", 7, 0),
			 SMTP_CMD_ERR_UNKNOWN);
	assert_slice(c.name, "FOO");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_NONE), "");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "");
}

static void test_verb_limit(void **state)
{
	static char line[SMTP_CMD_LINE_MAX + 1];
	struct smtp_cmd c;

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	assert_int_equal(smtp_cmd_parse(&c, line, SMTP_CMD_LINE_MAX, 0), 0);
	assert_int_equal(smtp_cmd_parse(&c, line, SMTP_CMD_LINE_MAX + 1, 0),
			 SMTP_CMD_ERR_TOO_LONG);
	assert_int_equal(smtp_cmd_parse(&c, line, 512, 512), 0);
	assert_int_equal(smtp_cmd_parse(&c, line, 513, 512),
			 SMTP_CMD_ERR_TOO_LONG);
}

/* ---- MAIL ---- */

/* An argument, the extensions announced, the error and the parameter
 * blamed (out->bad). */
struct arg_case {
	const char *arg;
	unsigned ext;
	int err;
	const char *bad;
};

static void run_cases(const struct arg_case *cases, size_t count,
		      enum smtp_verb verb)
{
	for (size_t i = 0; i < count; i++) {
		struct smtp_cmd_opts o = {cases[i].ext, 0, 0};
		struct smtp_mail m;
		struct smtp_rcpt rc;
		const char *a = cases[i].arg;
		int r = verb == SMTP_VERB_MAIL
				? smtp_cmd_parse_mail(&m, a, strlen(a), &o)
				: smtp_cmd_parse_rcpt(&rc, a, strlen(a), &o);

		if (r != cases[i].err)
			print_error("%s: %d\n", a, r);
		assert_int_equal(r, cases[i].err);
		assert_slice(verb == SMTP_VERB_MAIL ? m.bad : rc.bad,
			     cases[i].bad);
	}
}

static int mail(struct smtp_mail *m, const char *arg, unsigned ext, int strict)
{
	struct smtp_cmd_opts o = {ext, strict, 0};

	return smtp_cmd_parse_mail(m, arg, strlen(arg), &o);
}

static void test_mail_paths(void **state)
{
	static const struct {
		const char *arg;
		const char *addr, *local, *domain;
		int bracketed, routed;
	} good[] = {
		{"FROM:<a@b.example>", "a@b.example", "a", "b.example", 1, 0},
		{"from:<>", "", "", "", 1, 0},
		{"FROM: <a@b>", "a@b", "a", "b", 1, 0},
		{"FROM:\t <a@b>", "a@b", "a", "b", 1, 0},
		{"FROM:<@r1.example,@r2.example:u@d.example>", "u@d.example",
		 "u", "d.example", 1, 1},
		{"FROM:<@r1:u@d>", "u@d", "u", "d", 1, 1},
		{"FROM:<\"john doe\"@example.com>", "\"john doe\"@example.com",
		 "\"john doe\"", "example.com", 1, 0},
		{"FROM:<\"a\\\"b\\\\c\"@x>", "\"a\\\"b\\\\c\"@x",
		 "\"a\\\"b\\\\c\"", "x", 1, 0},
		{"FROM:<\"\"@x>", "\"\"@x", "\"\"", "x", 1, 0},
		{"FROM:<u@[192.0.2.1]>", "u@[192.0.2.1]", "u", "[192.0.2.1]", 1,
		 0},
		{"FROM:<u@[0.0.0.0]>", "u@[0.0.0.0]", "u", "[0.0.0.0]", 1, 0},
		{"FROM:<u@[IPv6:2001:db8::1]>", "u@[IPv6:2001:db8::1]", "u",
		 "[IPv6:2001:db8::1]", 1, 0},
		{"FROM:<u@[ipv6:::ffff:1.2.3.4]>", "u@[ipv6:::ffff:1.2.3.4]",
		 "u", "[ipv6:::ffff:1.2.3.4]", 1, 0},
		{"FROM:<user>", "user", "user", "", 1, 0},
		{"FROM:<a.b-c+d=e!#$%&'*/?^_`{|}~@x-1.y2.Z>",
		 "a.b-c+d=e!#$%&'*/?^_`{|}~@x-1.y2.Z",
		 "a.b-c+d=e!#$%&'*/?^_`{|}~", "x-1.y2.Z", 1, 0},
		{"FROM:a@b", "a@b", "a", "b", 0, 0},
		{"FROM: a@b SIZE=1", "a@b", "a", "b", 0, 0},
		{"FROM:\"a b\"@c", "\"a b\"@c", "\"a b\"", "c", 0, 0},
		{"FROM:<1@2.3>", "1@2.3", "1", "2.3", 1, 0},
	};
	struct smtp_mail m;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = mail(&m, good[i].arg, ALL_EXT, 0);

		if (r != 0)
			print_error("%s: %d\n", good[i].arg, r);
		assert_int_equal(r, 0);
		assert_slice(m.path.addr, good[i].addr);
		assert_slice(m.path.local, good[i].local);
		assert_slice(m.path.domain, good[i].domain);
		assert_int_equal(m.path.bracketed, good[i].bracketed);
		assert_int_equal(m.path.routed, good[i].routed);
		assert_int_equal(m.path.utf8, 0);
	}
}

static void test_mail_bad_paths(void **state)
{
	static const char *const bad[] = {
		"FROM:<a@b",
		"FROM:<a@@b>",
		"FROM:<a@b.>",
		"FROM:<a@.b>",
		"FROM:<a@-b.com>",
		"FROM:<a@b-.com>",
		"FROM:<a@b_c.com>",
		"FROM:<.a@b>",
		"FROM:<a.@b>",
		"FROM:<a..b@c>",
		"FROM:<a b@c>",
		"FROM:<a@>",
		"FROM:<@b>",
		"FROM:<\"unterminated@c>",
		"FROM:<\"a\x01\"@b>",
		"FROM:<\"a\\\x01\"@b>",
		"FROM:<a(comment)@b>",
		"FROM:<a@[1.2.3]>",
		"FROM:<a@[1.2.3.256]>",
		"FROM:<a@[01.2.3.4]>",
		"FROM:<a@[1.2.3.4.5]>",
		"FROM:<a@[IPv6:zz]>",
		"FROM:<a@[IPv6:1.2.3.4]>",
		"FROM:<a@[IPv6:fe80::1%eth0]>",
		"FROM:<a@[tag:foo]>",
		"FROM:<a@[1.2.3.4>",
		"FROM:<a@[]>",
		"FROM:<a@b>x",
		"FROM:<a@b>SIZE=1",
		"FROM:<<a@b>>",
		"FROM:<@a:>",
		"FROM:<@a,b:u@c>",
		"FROM:<@a,@b u@c>",
		"FROM:<@a u@c>",
		"FROM:<@:u@c>",
		"FROM:<a@b>>",
		"FROM:Name <a@b>",
		"FROM:a@b>",
		"FROM:<>x",
		"FROM:<a@b c>",
	};
	struct smtp_mail m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = mail(&m, bad[i], ALL_EXT, 0);

		if (r != SMTP_CMD_ERR_SENDER)
			print_error("%s: %d\n", bad[i], r);
		assert_int_equal(r, SMTP_CMD_ERR_SENDER);
	}
	/* strict_rfc821_envelopes: brackets required */
	assert_int_equal(mail(&m, "FROM:a@b", ALL_EXT, 1), SMTP_CMD_ERR_SENDER);
	assert_int_equal(mail(&m, "FROM:<a@b>", ALL_EXT, 1), 0);
	/* not MAIL syntax at all */
	assert_int_equal(mail(&m, "FROM <a@b>", ALL_EXT, 0),
			 SMTP_CMD_ERR_SYNTAX);
	assert_int_equal(mail(&m, "TO:<a@b>", ALL_EXT, 0), SMTP_CMD_ERR_SYNTAX);
	assert_int_equal(mail(&m, "FROM:", ALL_EXT, 0), SMTP_CMD_ERR_SYNTAX);
	assert_int_equal(mail(&m, "FROM: ", ALL_EXT, 0), SMTP_CMD_ERR_SYNTAX);
	assert_int_equal(mail(&m, "FRO", ALL_EXT, 0), SMTP_CMD_ERR_SYNTAX);
}

/* Label 63 / 64, domain 255 / 256, address SMTP_ADDR_MAX / + 1. */
static void test_address_limits(void **state)
{
	static char arg[2048];
	struct smtp_mail m;
	size_t n;

	(void)state;
	/* a label of exactly SMTP_LABEL_MAX */
	n = (size_t)snprintf(arg, sizeof(arg), "FROM:<u@");
	memset(arg + n, 'l', SMTP_LABEL_MAX);
	memcpy(arg + n + SMTP_LABEL_MAX, ".x>", 4);
	assert_int_equal(mail(&m, arg, ALL_EXT, 0), 0);
	memset(arg + n, 'l', SMTP_LABEL_MAX + 1);
	memcpy(arg + n + SMTP_LABEL_MAX + 1, ".x>", 4);
	assert_int_equal(mail(&m, arg, ALL_EXT, 0), SMTP_CMD_ERR_SENDER);

	/* domain: labels "a." repeated, length exactly SMTP_DOMAIN_MAX */
	for (size_t len = SMTP_DOMAIN_MAX; len <= SMTP_DOMAIN_MAX + 1; len++) {
		size_t i;

		n = (size_t)snprintf(arg, sizeof(arg), "FROM:<u@");
		for (i = 0; i < len; i++)
			arg[n + i] = (i % 2) ? '.' : 'a';
		if (arg[n + len - 1] == '.')
			arg[n + len - 1] = 'b';
		memcpy(arg + n + len, ">", 2);
		assert_int_equal(mail(&m, arg, ALL_EXT, 0),
				 len <= SMTP_DOMAIN_MAX ? 0
							: SMTP_CMD_ERR_SENDER);
	}

	/* whole address: a long local part */
	for (size_t len = SMTP_ADDR_MAX; len <= SMTP_ADDR_MAX + 1; len++) {
		size_t local = len - 2; /* "@x" */

		n = (size_t)snprintf(arg, sizeof(arg), "FROM:<");
		memset(arg + n, 'p', local);
		memcpy(arg + n + local, "@x>", 4);
		assert_int_equal(mail(&m, arg, ALL_EXT, 0),
				 len <= SMTP_ADDR_MAX ? 0
						      : SMTP_CMD_ERR_SENDER);
	}
}

static void test_mail_params(void **state)
{
	struct smtp_mail m;

	(void)state;
	assert_int_equal(
		mail(&m, "FROM:<a@b> SIZE=1000 BODY=8BITMIME", ALL_EXT, 0), 0);
	assert_true(m.has_size);
	assert_true(m.size == 1000);
	assert_int_equal(m.body, SMTP_BODY_8BITMIME);
	assert_int_equal(m.ret, SMTP_RET_NONE);
	assert_null(m.envid.p);

	assert_int_equal(
		mail(&m, "FROM:<a@b>   body=7bit   size=0", ALL_EXT, 0), 0);
	assert_int_equal(m.body, SMTP_BODY_7BIT);
	assert_true(m.has_size && m.size == 0);
	assert_int_equal(mail(&m, "FROM:<a@b> BODY=BinaryMIME", ALL_EXT, 0), 0);
	assert_int_equal(m.body, SMTP_BODY_BINARYMIME);

	assert_int_equal(mail(&m,
			      "FROM:<> RET=HDRS ENVID=QQ+2B1 AUTH=<> SMTPUTF8",
			      ALL_EXT, 0),
			 0);
	assert_int_equal(m.path.addr.n, 0);
	assert_int_equal(m.ret, SMTP_RET_HDRS);
	assert_slice(m.envid, "QQ+2B1");
	assert_slice(m.auth, "<>");
	assert_int_equal(m.smtputf8, 1);
	assert_int_equal(
		mail(&m, "FROM:<a@b> ret=full AUTH=e+2Bx@y", ALL_EXT, 0), 0);
	assert_int_equal(m.ret, SMTP_RET_FULL);
	assert_slice(m.auth, "e+2Bx@y");

	/* SIZE at the top of its range */
	assert_int_equal(
		mail(&m, "FROM:<a@b> SIZE=9223372036854775807", ALL_EXT, 0), 0);
	assert_true(m.size == UINT64_C(9223372036854775807));
	assert_int_equal(
		mail(&m, "FROM:<a@b> SIZE=00000000000000000001", ALL_EXT, 0),
		0);
	assert_true(m.size == 1);
}

static void test_mail_param_errors(void **state)
{
	static const struct arg_case cases[] = {
		{"FROM:<a@b> SIZE=abc", ALL_EXT, SMTP_CMD_ERR_SIZE, "SIZE=abc"},
		{"FROM:<a@b> SIZE=", ALL_EXT, SMTP_CMD_ERR_SIZE, "SIZE="},
		{"FROM:<a@b> SIZE", ALL_EXT, SMTP_CMD_ERR_SIZE, "SIZE"},
		{"FROM:<a@b> SIZE=-1", ALL_EXT, SMTP_CMD_ERR_SIZE, "SIZE=-1"},
		{"FROM:<a@b> SIZE=1k", ALL_EXT, SMTP_CMD_ERR_SIZE, "SIZE=1k"},
		{"FROM:<a@b> SIZE=9223372036854775808", ALL_EXT,
		 SMTP_CMD_ERR_SIZE_RANGE, "SIZE=9223372036854775808"},
		{"FROM:<a@b> SIZE=999999999999999999999999", ALL_EXT,
		 SMTP_CMD_ERR_SIZE_RANGE, "SIZE=999999999999999999999999"},
		{"FROM:<a@b> SIZE=1 SIZE=2", ALL_EXT, SMTP_CMD_ERR_DUPLICATE,
		 "SIZE=2"},
		{"FROM:<a@b> BODY=9BIT", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "BODY=9BIT"},
		{"FROM:<a@b> BODY", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED, "BODY"},
		{"FROM:<a@b> BODY=BINARYMIME", SMTP_EXT_8BITMIME,
		 SMTP_CMD_ERR_UNSUPPORTED, "BODY=BINARYMIME"},
		{"FROM:<a@b> BODY=8BITMIME", SMTP_EXT_BINARYMIME,
		 SMTP_CMD_ERR_UNSUPPORTED, "BODY=8BITMIME"},
		{"FROM:<a@b> BODY=7BIT BODY=8BITMIME", ALL_EXT,
		 SMTP_CMD_ERR_DUPLICATE, "BODY=8BITMIME"},
		{"FROM:<a@b> SMTPUTF8=yes", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "SMTPUTF8=yes"},
		{"FROM:<a@b> SMTPUTF8 smtputf8", ALL_EXT,
		 SMTP_CMD_ERR_DUPLICATE, "smtputf8"},
		{"FROM:<a@b> RET=ALL", ALL_EXT, SMTP_CMD_ERR_RET, "RET=ALL"},
		{"FROM:<a@b> RET", ALL_EXT, SMTP_CMD_ERR_RET, "RET"},
		{"FROM:<a@b> RET=FULL RET=HDRS", ALL_EXT, SMTP_CMD_ERR_RET,
		 "RET=HDRS"},
		{"FROM:<a@b> ENVID=", ALL_EXT, SMTP_CMD_ERR_ENVID, "ENVID="},
		{"FROM:<a@b> ENVID=+2", ALL_EXT, SMTP_CMD_ERR_ENVID,
		 "ENVID=+2"},
		{"FROM:<a@b> ENVID=+2b", ALL_EXT, SMTP_CMD_ERR_ENVID,
		 "ENVID=+2b"},
		{"FROM:<a@b> ENVID=+0A", ALL_EXT, SMTP_CMD_ERR_ENVID,
		 "ENVID=+0A"},
		{"FROM:<a@b> ENVID=a=b", ALL_EXT, SMTP_CMD_ERR_ENVID,
		 "ENVID=a=b"},
		{"FROM:<a@b> ENVID=x ENVID=y", ALL_EXT, SMTP_CMD_ERR_ENVID,
		 "ENVID=y"},
		{"FROM:<a@b> ENVID=\xc3\xa9", ALL_EXT, SMTP_CMD_ERR_ENVID,
		 "ENVID=\xc3\xa9"},
		{"FROM:<a@b> AUTH=x AUTH=y", ALL_EXT, SMTP_CMD_ERR_AUTH_TWICE,
		 "AUTH=y"},
		{"FROM:<a@b> AUTH=", ALL_EXT, SMTP_CMD_ERR_AUTH, "AUTH="},
		{"FROM:<a@b> AUTH=a=b", ALL_EXT, SMTP_CMD_ERR_AUTH, "AUTH=a=b"},
		{"FROM:<a@b> AUTH=x", ALL_EXT & ~SMTP_EXT_AUTH,
		 SMTP_CMD_ERR_UNSUPPORTED, "AUTH=x"},
		{"FROM:<a@b> FOO=bar", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "FOO=bar"},
		{"FROM:<a@b> =x", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED, "=x"},
		{"FROM:<a@b> -X=1", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED, "-X=1"},
		{"FROM:<a@b> X_Y=1", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "X_Y=1"},
		{"FROM:<a@b> NOTIFY=NEVER", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "NOTIFY=NEVER"},
		{"FROM:<a@b> ENVID=a b", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "b"},
		/* after HELO: no extensions */
		{"FROM:<a@b> SIZE=10", 0, SMTP_CMD_ERR_UNSUPPORTED, "SIZE=10"},
		{"FROM:<a@b> BODY=8BITMIME", 0, SMTP_CMD_ERR_UNSUPPORTED,
		 "BODY=8BITMIME"},
		{"FROM:<a@b> SMTPUTF8", 0, SMTP_CMD_ERR_UNSUPPORTED,
		 "SMTPUTF8"},
		{"FROM:<a@b> RET=FULL", 0, SMTP_CMD_ERR_DSN_OFF, "RET=FULL"},
		{"FROM:<a@b> ENVID=x", 0, SMTP_CMD_ERR_DSN_OFF, "ENVID=x"},
		/* UTF-8 */
		{"FROM:<\xc3\xbc@x>", ALL_EXT, SMTP_CMD_ERR_NEED_UTF8, ""},
		{"FROM:<u@\xc3\xbc.example>", ALL_EXT, SMTP_CMD_ERR_NEED_UTF8,
		 ""},
		{"FROM:<\"\xc3\xbc\"@x>", ALL_EXT, SMTP_CMD_ERR_NEED_UTF8, ""},
		{"FROM:<\xc3(@x> SMTPUTF8", ALL_EXT, SMTP_CMD_ERR_SENDER, ""},
		{"FROM:<\xc3@x> SMTPUTF8", ALL_EXT, SMTP_CMD_ERR_BAD_UTF8, ""},
		{"FROM:<\xc0\xaf@x> SMTPUTF8", ALL_EXT, SMTP_CMD_ERR_BAD_UTF8,
		 ""},
		{"FROM:<\xed\xa0\x80@x> SMTPUTF8", ALL_EXT,
		 SMTP_CMD_ERR_BAD_UTF8, ""},
		{"FROM:<\xf4\x90\x80\x80@x> SMTPUTF8", ALL_EXT,
		 SMTP_CMD_ERR_BAD_UTF8, ""},
		{"FROM:<\xe2\x82@x> SMTPUTF8", ALL_EXT, SMTP_CMD_ERR_BAD_UTF8,
		 ""},
		{"FROM:<\xff@x> SMTPUTF8", ALL_EXT, SMTP_CMD_ERR_BAD_UTF8, ""},
		{"FROM:<\xc3\xbc@x> SMTPUTF8", ALL_EXT & ~SMTP_EXT_SMTPUTF8,
		 SMTP_CMD_ERR_UNSUPPORTED, "SMTPUTF8"},
	};
	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), SMTP_VERB_MAIL);
}

static void test_mail_utf8(void **state)
{
	static const char *const good[] = {
		"FROM:<\xc3\xbc@x> SMTPUTF8",
		"FROM:<u@b\xc3\xbc.example> SMTPUTF8",
		"FROM:<\"\xe2\x82\xac \"@x> SMTPUTF8",
		"FROM:<\xf0\x9f\x93\xa7@\xe4\xbe\x8b\xe3\x81\x88.jp> SMTPUTF8",
		"FROM:\xc3\xbc@x SMTPUTF8",
	};
	struct smtp_mail m;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = mail(&m, good[i], ALL_EXT, 0);

		if (r != 0)
			print_error("%s: %d\n", good[i], r);
		assert_int_equal(r, 0);
		assert_int_equal(m.path.utf8, 1);
		assert_int_equal(m.smtputf8, 1);
	}
	/* ENVID and AUTH stay ASCII xtext */
	assert_int_equal(
		mail(&m, "FROM:<a@b> SMTPUTF8 AUTH=\xc3\xbc", ALL_EXT, 0),
		SMTP_CMD_ERR_AUTH);
}

/* ---- RCPT ---- */

static int rcpt(struct smtp_rcpt *r, const char *arg, unsigned ext,
		int smtputf8)
{
	struct smtp_cmd_opts o = {ext, 0, smtputf8};

	return smtp_cmd_parse_rcpt(r, arg, strlen(arg), &o);
}

static void test_rcpt(void **state)
{
	struct smtp_rcpt r;

	(void)state;
	assert_int_equal(rcpt(&r, "TO:<c@d.example>", ALL_EXT, 0), 0);
	assert_slice(r.path.addr, "c@d.example");
	assert_int_equal(r.postmaster, 0);
	assert_int_equal(r.notify, 0);
	assert_null(r.orcpt_type.p);

	assert_int_equal(rcpt(&r, "TO:<postmaster>", ALL_EXT, 0), 0);
	assert_int_equal(r.postmaster, 1);
	assert_int_equal(rcpt(&r, "to:<PostMaster>", ALL_EXT, 0), 0);
	assert_int_equal(r.postmaster, 1);
	assert_int_equal(rcpt(&r, "TO:<postmaster@x>", ALL_EXT, 0), 0);
	assert_int_equal(r.postmaster, 0);
	assert_int_equal(rcpt(&r, "TO:<\"postmaster\">", ALL_EXT, 0), 0);
	assert_int_equal(r.postmaster, 0);
	assert_int_equal(rcpt(&r, "TO: <@r.example:u@d>", ALL_EXT, 0), 0);
	assert_slice(r.path.addr, "u@d");
	assert_int_equal(r.path.routed, 1);

	assert_int_equal(rcpt(&r,
			      "TO:<c@d> NOTIFY=success,FAILURE "
			      "ORCPT=rfc822;c+40d",
			      ALL_EXT, 0),
			 0);
	assert_int_equal(r.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
	assert_slice(r.orcpt_type, "rfc822");
	assert_slice(r.orcpt, "c+40d");
	assert_int_equal(rcpt(&r, "TO:<c@d> NOTIFY=NEVER", ALL_EXT, 0), 0);
	assert_int_equal(r.notify, SMTP_NOTIFY_NEVER);
	assert_int_equal(
		rcpt(&r, "TO:<c@d> NOTIFY=DELAY,SUCCESS,FAILURE", ALL_EXT, 0),
		0);
	assert_int_equal(r.notify, SMTP_NOTIFY_DELAY | SMTP_NOTIFY_SUCCESS |
					   SMTP_NOTIFY_FAILURE);

	/* UTF-8: the transaction's SMTPUTF8 decides */
	assert_int_equal(rcpt(&r, "TO:<\xc3\xbc@x>", ALL_EXT, 0),
			 SMTP_CMD_ERR_NEED_UTF8);
	assert_int_equal(rcpt(&r, "TO:<\xc3\xbc@x>", ALL_EXT, 1), 0);
	assert_int_equal(
		rcpt(&r, "TO:<\xc3\xbc@x> ORCPT=utf-8;\xc3\xbc@x", ALL_EXT, 1),
		0);
	assert_slice(r.orcpt_type, "utf-8");
	assert_int_equal(
		rcpt(&r, "TO:<u@x> ORCPT=utf-8;\xc3\xbc@x", ALL_EXT, 0),
		SMTP_CMD_ERR_ORCPT);
	assert_int_equal(rcpt(&r, "TO:<u@x> ORCPT=utf-8;\xc3@x", ALL_EXT, 1),
			 SMTP_CMD_ERR_ORCPT);
}

static void test_rcpt_errors(void **state)
{
	static const struct arg_case cases[] = {
		{"TO:<>", ALL_EXT, SMTP_CMD_ERR_RECIPIENT, ""},
		{"TO:<a@b", ALL_EXT, SMTP_CMD_ERR_RECIPIENT, ""},
		{"TO:<a@b.>", ALL_EXT, SMTP_CMD_ERR_RECIPIENT, ""},
		{"FROM:<a@b>", ALL_EXT, SMTP_CMD_ERR_SYNTAX, ""},
		{"TO:", ALL_EXT, SMTP_CMD_ERR_SYNTAX, ""},
		{"TO:<a@b> SIZE=1", ALL_EXT, SMTP_CMD_ERR_UNSUPPORTED,
		 "SIZE=1"},
		{"TO:<a@b> NOTIFY=", ALL_EXT, SMTP_CMD_ERR_NOTIFY, "NOTIFY="},
		{"TO:<a@b> NOTIFY", ALL_EXT, SMTP_CMD_ERR_NOTIFY, "NOTIFY"},
		{"TO:<a@b> NOTIFY=ALWAYS", ALL_EXT, SMTP_CMD_ERR_NOTIFY,
		 "NOTIFY=ALWAYS"},
		{"TO:<a@b> NOTIFY=NEVER,DELAY", ALL_EXT, SMTP_CMD_ERR_NOTIFY,
		 "NOTIFY=NEVER,DELAY"},
		{"TO:<a@b> NOTIFY=SUCCESS,,DELAY", ALL_EXT, SMTP_CMD_ERR_NOTIFY,
		 "NOTIFY=SUCCESS,,DELAY"},
		{"TO:<a@b> NOTIFY=SUCCESS,", ALL_EXT, SMTP_CMD_ERR_NOTIFY,
		 "NOTIFY=SUCCESS,"},
		{"TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", ALL_EXT,
		 SMTP_CMD_ERR_NOTIFY, "NOTIFY=NEVER"},
		{"TO:<a@b> ORCPT=rfc822", ALL_EXT, SMTP_CMD_ERR_ORCPT,
		 "ORCPT=rfc822"},
		{"TO:<a@b> ORCPT=;a@b", ALL_EXT, SMTP_CMD_ERR_ORCPT,
		 "ORCPT=;a@b"},
		{"TO:<a@b> ORCPT=rfc822;", ALL_EXT, SMTP_CMD_ERR_ORCPT,
		 "ORCPT=rfc822;"},
		{"TO:<a@b> ORCPT=rfc 822;a", ALL_EXT, SMTP_CMD_ERR_ORCPT,
		 "ORCPT=rfc"},
		{"TO:<a@b> ORCPT=rfc822;a+4", ALL_EXT, SMTP_CMD_ERR_ORCPT,
		 "ORCPT=rfc822;a+4"},
		{"TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;b", ALL_EXT,
		 SMTP_CMD_ERR_ORCPT, "ORCPT=rfc822;b"},
		{"TO:<a@b> NOTIFY=NEVER", SMTP_EXT_SIZE, SMTP_CMD_ERR_DSN_OFF,
		 "NOTIFY=NEVER"},
		{"TO:<a@b> ORCPT=rfc822;a", 0, SMTP_CMD_ERR_DSN_OFF,
		 "ORCPT=rfc822;a"},
	};
	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), SMTP_VERB_RCPT);
}

/* ORCPT of exactly SMTP_ORCPT_MAX and one more. */
static void test_dsn_limits(void **state)
{
	static char arg[1024];
	struct smtp_rcpt r;
	struct smtp_mail m;
	size_t n;

	(void)state;
	for (size_t len = SMTP_ORCPT_MAX; len <= SMTP_ORCPT_MAX + 1; len++) {
		n = (size_t)snprintf(arg, sizeof(arg),
				     "TO:<a@b> ORCPT=rfc822;");
		memset(arg + n, 'o', len - 7);
		arg[n + len - 7] = 0;
		assert_int_equal(rcpt(&r, arg, ALL_EXT, 0),
				 len <= SMTP_ORCPT_MAX ? 0
						       : SMTP_CMD_ERR_ORCPT);
	}
	for (size_t len = SMTP_ENVID_MAX; len <= SMTP_ENVID_MAX + 1; len++) {
		n = (size_t)snprintf(arg, sizeof(arg), "FROM:<a@b> ENVID=");
		memset(arg + n, 'e', len);
		arg[n + len] = 0;
		assert_int_equal(mail(&m, arg, ALL_EXT, 0),
				 len <= SMTP_ENVID_MAX ? 0
						       : SMTP_CMD_ERR_ENVID);
	}
}

/* ---- BDAT ---- */

static void test_bdat(void **state)
{
	static const struct {
		const char *arg;
		int err;
		uint64_t count;
		int last;
	} cases[] = {
		{"100", 0, 100, 0},
		{"100 LAST", 0, 100, 1},
		{"100   last", 0, 100, 1},
		{"0 LAST", 0, 0, 1},
		{"0", 0, 0, 0},
		{"9223372036854775807", 0, UINT64_C(9223372036854775807), 0},
		{"9223372036854775808", SMTP_CMD_ERR_SIZE_RANGE, 0, 0},
		{"12345678901234567890", SMTP_CMD_ERR_SIZE_RANGE, 0, 0},
		{"123456789012345678901", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"x", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"-1", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"+1", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"100LAST", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"100 LASTX", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"100 LAST x", SMTP_CMD_ERR_SYNTAX, 0, 0},
		{"100 FIRST", SMTP_CMD_ERR_SYNTAX, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t count = 7;
		int last = 7;
		int r = smtp_cmd_parse_bdat(&count, &last, cases[i].arg,
					    strlen(cases[i].arg));

		if (r != cases[i].err)
			print_error("%s: %d\n", cases[i].arg, r);
		assert_int_equal(r, cases[i].err);
		if (r == 0) {
			assert_true(count == cases[i].count);
			assert_int_equal(last, cases[i].last);
		}
	}
	assert_int_equal(
		smtp_cmd_reply(SMTP_CMD_ERR_SYNTAX, SMTP_VERB_BDAT)->code, 521);
}

/* ---- xtext ---- */

static void test_xtext(void **state)
{
	struct buf b;
	unsigned char all[256];

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(smtp_xtext_decode(&b, "a+2Bb+3D+20", 11), 0);
	assert_string_equal(buf_str(&b), "a+b= ");
	assert_int_equal(smtp_xtext_decode(NULL, "plain", 5), 0);
	assert_int_equal(smtp_xtext_decode(NULL, "", 0), 0);
	assert_int_equal(smtp_xtext_decode(NULL, "+2b", 3), SMTP_CMD_ERR_XTEXT);
	assert_int_equal(smtp_xtext_decode(NULL, "+4", 2), SMTP_CMD_ERR_XTEXT);
	assert_int_equal(smtp_xtext_decode(NULL, "+", 1), SMTP_CMD_ERR_XTEXT);
	assert_int_equal(smtp_xtext_decode(NULL, "a=b", 3), SMTP_CMD_ERR_XTEXT);
	assert_int_equal(smtp_xtext_decode(NULL, "a b", 3), SMTP_CMD_ERR_XTEXT);
	assert_int_equal(smtp_xtext_decode(NULL, "\xc3\xa9", 2),
			 SMTP_CMD_ERR_XTEXT);
	assert_int_equal(smtp_xtext_decode(NULL, "+GG", 3), SMTP_CMD_ERR_XTEXT);

	buf_reset(&b);
	assert_int_equal(smtp_xtext_encode(&b, "a+b=c d\x01\xc3\xa9~!", 12), 0);
	assert_string_equal(buf_str(&b), "a+2Bb+3Dc+20d+01+C3+A9~!");

	/* every byte round-trips */
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	buf_reset(&b);
	assert_int_equal(smtp_xtext_encode(&b, all, sizeof(all)), 0);
	{
		struct buf d;

		buf_init(&d, 4096);
		assert_int_equal(
			smtp_xtext_decode(&d, buf_str(&b), buf_len(&b)), 0);
		assert_int_equal(buf_len(&d), 256);
		assert_memory_equal(buf_str(&d), all, 256);
		/* a full output buffer is reported */
		buf_free(&d);
		buf_init(&d, 3);
		assert_int_equal(smtp_xtext_decode(&d, "abcd", 4),
				 BUF_ERR_FULL);
		buf_free(&d);
	}
	buf_free(&b);
	buf_init(&b, 2);
	assert_int_equal(smtp_xtext_encode(&b, "=", 1), BUF_ERR_FULL);
	buf_free(&b);
}

/* ---- replies ---- */

static void test_replies(void **state)
{
	struct buf b;
	const struct smtp_reply *r;

	(void)state;
	r = smtp_cmd_reply(SMTP_CMD_ERR_SENDER, SMTP_VERB_MAIL);
	assert_int_equal(r->code, 501);
	assert_string_equal(r->enh, "5.1.7");
	assert_string_equal(r->text, "Bad sender address syntax");
	r = smtp_cmd_reply(SMTP_CMD_ERR_RECIPIENT, SMTP_VERB_RCPT);
	assert_int_equal(r->code, 501);
	assert_string_equal(r->enh, "5.1.3");
	r = smtp_cmd_reply(SMTP_CMD_ERR_SYNTAX, SMTP_VERB_MAIL);
	assert_string_equal(r->text, "Syntax: MAIL FROM:<address>");
	r = smtp_cmd_reply(SMTP_CMD_ERR_SYNTAX, SMTP_VERB_RCPT);
	assert_string_equal(r->text, "Syntax: RCPT TO:<address>");
	r = smtp_cmd_reply(SMTP_CMD_ERR_NEED_UTF8, SMTP_VERB_RCPT);
	assert_int_equal(r->code, 553);
	assert_string_equal(r->enh, "5.6.7");
	r = smtp_cmd_reply(SMTP_CMD_ERR_UNKNOWN, SMTP_VERB_NONE);
	assert_int_equal(r->code, 502);
	r = smtp_cmd_reply(5, SMTP_VERB_NONE);
	assert_int_equal(r->code, 500);
	r = smtp_cmd_reply(-1000, SMTP_VERB_NONE);
	assert_int_equal(r->code, 500);

	/* every code has a reply whose enhanced class matches */
	for (int e = -1; e >= SMTP_CMD_ERR_LAST; e--) {
		for (int v = 0; v <= SMTP_VERB_COUNT; v++) {
			r = smtp_cmd_reply(e, (enum smtp_verb)v);
			assert_true(r->code >= 400 && r->code < 600);
			assert_non_null(r->text);
			assert_int_equal(r->enh[0], '0' + r->code / 100);
			assert_int_equal(r->enh[1], '.');
		}
	}

	buf_init(&b, 512);
	r = smtp_cmd_reply(SMTP_CMD_ERR_UNSUPPORTED, SMTP_VERB_MAIL);
	assert_int_equal(smtp_reply_format(&b, r, "FOO=b\x01r\xc3", 8), 0);
	assert_string_equal(buf_str(&b),
			    "555 5.5.4 Unsupported option: FOO=b?r?");
	buf_reset(&b);
	r = smtp_cmd_reply(SMTP_CMD_ERR_SENDER, SMTP_VERB_MAIL);
	assert_int_equal(smtp_reply_format(&b, r, "ignored", 7), 0);
	assert_string_equal(buf_str(&b), "501 5.1.7 Bad sender address syntax");
	{
		char big[300];

		memset(big, 'x', sizeof(big));
		buf_reset(&b);
		r = smtp_cmd_reply(SMTP_CMD_ERR_DUPLICATE, SMTP_VERB_MAIL);
		smtp_reply_format(&b, r, big, sizeof(big));
		assert_int_equal(buf_len(&b),
				 strlen("501 5.5.4 Error: duplicate option: ") +
					 SMTP_REPLY_DETAIL_MAX);
	}
	buf_free(&b);
}

/* A whole dialogue's worth of lines through framing, verb and argument. */
static void test_pipeline(void **state)
{
	static const char in[] = "EHLO c.example\r\n"
				 "MAIL FROM:<s@c.example> SIZE=10\r\n"
				 "RCPT TO:<r@d.example>\r\n"
				 "RCPT TO:<bad@>\r\n"
				 "DATA\r\n";
	static const int want[] = {0, 0, 0, SMTP_CMD_ERR_RECIPIENT, 0};
	struct smtp_line_reader lr;
	struct smtp_cmd_opts o = {ALL_EXT, 0, 0};
	size_t off = 0, len, used;
	int k = 0;

	(void)state;
	smtp_line_init(&lr, SMTP_BARE_NORMALIZE, 0);
	while (smtp_line_next(&lr, in + off, sizeof(in) - 1 - off, &len,
			      &used) == SMTP_LINE_OK) {
		struct smtp_cmd c;
		int r = smtp_cmd_parse(&c, in + off, len, 0);

		assert_int_equal(r, 0);
		if (c.verb == SMTP_VERB_MAIL) {
			struct smtp_mail m;

			r = smtp_cmd_parse_mail(&m, c.arg.p, c.arg.n, &o);
		} else if (c.verb == SMTP_VERB_RCPT) {
			struct smtp_rcpt rc;

			r = smtp_cmd_parse_rcpt(&rc, c.arg.p, c.arg.n, &o);
		}
		assert_int_equal(r, want[k]);
		k++;
		off += used;
	}
	assert_int_equal(k, 5);
	assert_int_equal(off, sizeof(in) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_basic),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_verb_limit),
		cmocka_unit_test(test_mail_paths),
		cmocka_unit_test(test_mail_bad_paths),
		cmocka_unit_test(test_address_limits),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_mail_param_errors),
		cmocka_unit_test(test_mail_utf8),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_rcpt_errors),
		cmocka_unit_test(test_dsn_limits),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_pipeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
