/* test_conf - main.cf/master.cf parsers, expansion, editing, the parameter
 * table and the loaded configuration. Boundary cases are marked. */
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "conf/maincf.h"
#include "conf/mastercf.h"
#include "conf/params.h"
#include "core/mem.h"

/* ---- helpers ---- */

/* parse_all - every entry of text as "name=value@line;" (warnings as
 * "W@line;"); returns the last maincf_next() result. */
static int parse_all(const char *text, struct buf *out,
		     struct maincf_error *err)
{
	struct buf scratch;
	struct maincf_parser ps;
	struct maincf_entry e;
	int r;

	buf_init(&scratch, MAINCF_VALUE_MAX + 1);
	buf_reset(out);
	maincf_init(&ps, text, strlen(text), &scratch);
	while ((r = maincf_next(&ps, &e)) != MAINCF_END) {
		if (r < 0)
			break;
		if (r == MAINCF_WARNING) {
			buf_printf(out, "W@%u;", ps.err.line);
			continue;
		}
		buf_printf(out, "%.*s=%s@%u;", (int)e.name_len, e.name, e.value,
			   e.line);
	}
	if (err)
		*err = ps.err;
	buf_free(&scratch);
	return r;
}

/* A tiny table of values for expansion tests: "name=value" pairs. */
struct kv {
	const char *const *pairs;
	struct buf undefined;
};

static const char *kv_get(void *arg, const char *name, size_t len)
{
	struct kv *kv = arg;

	for (const char *const *p = kv->pairs; *p; p += 2)
		if (strlen(p[0]) == len && memcmp(p[0], name, len) == 0)
			return p[1];
	return NULL;
}

static void kv_undefined(void *arg, const char *name, size_t len)
{
	struct kv *kv = arg;

	buf_printf(&kv->undefined, "%.*s;", (int)len, name);
}

static int expand_with(const char *const *pairs, const char *text,
		       struct buf *out, struct maincf_error *err,
		       struct buf *undefined)
{
	struct kv kv = {pairs, {0}};
	struct maincf_lookup lk = {kv_get, kv_undefined, &kv};
	struct maincf_error e;
	int r;

	buf_init(&kv.undefined, 4096);
	buf_reset(out);
	r = maincf_expand(text, strlen(text), NULL, &lk, out, err ? err : &e);
	if (undefined)
		buf_sets(undefined, buf_str(&kv.undefined));
	buf_free(&kv.undefined);
	return r;
}

static const char *const vars[] = {
	"a",   "A", "b",        "$a-B", "empty", "",   "dollar",
	"$$x", "c", "${a}$(b)", "sp",   "x  y",  NULL,
};

/* ---- the parameter table ---- */

static void test_table_sorted_unique(void **state)
{
	(void)state;
	assert_true(conf_params_count >= 150);
	for (size_t i = 1; i < conf_params_count; i++)
		if (strcmp(conf_params[i - 1].name, conf_params[i].name) >= 0)
			fail_msg("not sorted at %s", conf_params[i].name);
	for (size_t i = 0; i < conf_params_count; i++) {
		const struct conf_param *p = &conf_params[i];

		assert_ptr_equal(conf_param_find(p->name), p);
		assert_true(maincf_name_valid(p->name, strlen(p->name)));
		assert_non_null(p->doc);
		assert_true(strlen(p->doc) > 5);
		assert_true((p->def == NULL) == !!(p->flags & CONF_F_COMPUTED));
		if (p->type == CONF_TIME)
			assert_non_null(strchr("smhdw", p->unit));
		if (p->type == CONF_ENUM)
			assert_non_null(p->choices);
	}
	assert_null(conf_param_find("no_such_parameter"));
	assert_null(conf_param_find(""));
}

/* Every default passes its own type check once expanded. */
static void test_table_defaults_valid(void **state)
{
	struct buf why;

	(void)state;
	buf_init(&why, 1024);
	for (size_t i = 0; i < conf_params_count; i++) {
		const struct conf_param *p = &conf_params[i];
		const char *v = conf_get(p->name);

		assert_non_null(v);
		buf_reset(&why);
		if (!(p->flags & CONF_F_RAW) &&
		    conf_value_check(p, v, NULL, &why) != 0)
			fail_msg("%s = %s: %s", p->name, v, buf_str(&why));
	}
	buf_free(&why);
}

static const char *default_get(void *arg, const char *name, size_t len)
{
	char tmp[MAINCF_NAME_MAX + 1];

	(void)arg;
	memcpy(tmp, name, len);
	tmp[len] = 0;
	return conf_get_default(tmp);
}

static void undefined_fail(void *arg, const char *name, size_t len)
{
	/* Obsolete names Postfix's defaults still refer to: empty. */
	if ((len == 14 && memcmp(name, "fallback_relay", len) == 0) ||
	    (len == 12 && memcmp(name, "virtual_maps", len) == 0))
		return;
	fail_msg("default of %s refers to unknown $%.*s", (const char *)arg,
		 (int)len, name);
}

/* Every plain $name in a default names a table parameter (conditionals
 * may test legacy names that mailgw does not know). */
static void test_table_refs_defined(void **state)
{
	struct buf out;
	struct maincf_error err;

	(void)state;
	buf_init(&out, MAINCF_EXPAND_MAX + 1);
	for (size_t i = 0; i < conf_params_count; i++) {
		const struct conf_param *p = &conf_params[i];
		struct maincf_lookup lk = {default_get, undefined_fail,
					   (void *)(uintptr_t)p->name};

		if (p->def == NULL || (p->flags & CONF_F_RAW))
			continue;
		buf_reset(&out);
		if (maincf_expand(p->def, strlen(p->def), p->name, &lk, &out,
				  &err) != 0)
			fail_msg("default of %s does not expand", p->name);
	}
	buf_free(&out);
}

/* Spot checks against Postfix 3.7 at compatibility_level 3.6. */
static void test_table_postfix_defaults(void **state)
{
	(void)state;
	assert_string_equal(conf_get_default("smtputf8_enable"), "yes");
	assert_string_equal(conf_get_default("append_dot_mydomain"), "no");
	assert_string_equal(conf_get_default("mynetworks_style"), "host");
	assert_string_equal(conf_get_default("relay_domains"), "");
	assert_string_equal(conf_get_default("smtpd_relay_restrictions"),
			    "permit_mynetworks, permit_sasl_authenticated, "
			    "defer_unauth_destination");
	assert_string_equal(conf_get_default("smtpd_timeout"), "300s");
	assert_string_equal(conf_get_default("message_size_limit"), "10240000");
	assert_string_equal(conf_get_default("queue_directory"),
			    "/var/spool/mailgw");
	assert_string_equal(conf_get_default("mail_owner"), "mailgw");
	assert_int_equal(conf_get_time("maximal_queue_lifetime"), 5 * 86400);
	assert_int_equal(conf_get_time("smtpd_timeout"), 300);
	assert_int_equal(conf_get_int("smtpd_hard_error_limit"), 20);
	assert_int_equal(conf_get_bool("smtpd_delay_reject"), 1);
	assert_int_equal(conf_param_find("maximal_queue_lifetime")->unit, 'd');
	assert_int_equal(conf_param_find("delay_warning_time")->unit, 'h');
}

static void test_parse_time(void **state)
{
	long v = -1;

	(void)state;
	assert_int_equal(conf_parse_time("0", 's', &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(conf_parse_time("10", 'm', &v), 0);
	assert_int_equal(v, 600);
	assert_int_equal(conf_parse_time("2h", 's', &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(conf_parse_time("1w", 's', &v), 0);
	assert_int_equal(v, 604800);
	assert_int_equal(conf_parse_time("3d", 's', &v), 0);
	assert_int_equal(v, 3 * 86400);
	assert_int_equal(conf_parse_time("", 's', &v), -1);
	assert_int_equal(conf_parse_time("s", 's', &v), -1);
	assert_int_equal(conf_parse_time("-1", 's', &v), -1);
	assert_int_equal(conf_parse_time("1x", 's', &v), -1);
	assert_int_equal(conf_parse_time("1hh", 's', &v), -1);
	assert_int_equal(conf_parse_time(" 1", 's', &v), -1);
	assert_int_equal(conf_parse_time("1 ", 's', &v), -1);
	/* Boundary: overflow in digits and in the unit multiplication. */
	assert_int_equal(conf_parse_time("99999999999999999999", 's', &v), -1);
	assert_int_equal(conf_parse_time("9223372036854775807", 's', &v), 0);
	assert_int_equal(v, LONG_MAX);
	assert_int_equal(conf_parse_time("9223372036854775807m", 's', &v), -1);
}

static void test_value_check(void **state)
{
	struct buf why;
	long n = 0;

	(void)state;
	buf_init(&why, 1024);
#define OK(name, v)                                                            \
	assert_int_equal(conf_value_check(conf_param_find(name), v, &n, &why), \
			 0)
#define BAD(name, v)                                                           \
	assert_int_equal(conf_value_check(conf_param_find(name), v, &n, &why), \
			 -1)
	OK("biff", "YES");
	assert_int_equal(n, 1);
	OK("biff", "no");
	assert_int_equal(n, 0);
	BAD("biff", "maybe");
	BAD("biff", "");
	OK("smtpd_recipient_limit", "1");
	BAD("smtpd_recipient_limit", "0"); /* boundary: min 1 */
	BAD("smtpd_recipient_limit", "1.5");
	BAD("smtpd_recipient_limit", "");
	OK("smtpd_tls_loglevel", "4");
	BAD("smtpd_tls_loglevel", "5"); /* boundary: max 4 */
	OK("unknown_local_recipient_reject_code", "450");
	BAD("unknown_local_recipient_reject_code", "399");
	OK("message_size_limit", "0");
	BAD("message_size_limit", "-1");
	BAD("message_size_limit", "10M");
	OK("smtpd_timeout", "5m");
	assert_int_equal(n, 300);
	BAD("smtpd_timeout", "0"); /* min 1 second */
	OK("maximal_queue_lifetime", "2");
	assert_int_equal(n, 2 * 86400);
	OK("mynetworks_style", "Subnet");
	BAD("mynetworks_style", "");
	BAD("mynetworks_style", "hosts");
	OK("smtpd_tls_security_level", ""); /* empty allowed */
	OK("smtp_tls_security_level", "dane");
	BAD("smtpd_tls_security_level", "dane");
	OK("transport_maps", "hash:/etc/mailgw/transport, "
			     "inline:{ a=b, { c = d e } }");
	BAD("transport_maps", "/etc/mailgw/transport");
	BAD("transport_maps", "hash:");
	BAD("transport_maps", "inline:{ a=b");
	OK("mydestination", "$myhostname, localhost");
	BAD("mydestination", "a }");
	OK("smtpd_banner", "anything { at all");
	buf_reset(&why);
	BAD("biff", "x");
	assert_string_equal(buf_str(&why), "expected yes or no");
#undef OK
#undef BAD
	buf_free(&why);
}

static void test_list_next(void **state)
{
	const char *cur = " a, b\t{c, d} inline:{ x=y, z }, ,", *tok;
	size_t len;

	(void)state;
	assert_int_equal(conf_list_next(&cur, &tok, &len), 1);
	assert_memory_equal(tok, "a", len);
	assert_int_equal(conf_list_next(&cur, &tok, &len), 1);
	assert_memory_equal(tok, "b", len);
	assert_int_equal(conf_list_next(&cur, &tok, &len), 1);
	assert_int_equal(len, 6);
	assert_memory_equal(tok, "{c, d}", len);
	assert_int_equal(conf_list_next(&cur, &tok, &len), 1);
	assert_int_equal(len, strlen("inline:{ x=y, z }"));
	assert_int_equal(conf_list_next(&cur, &tok, &len), 0);
	cur = "a}";
	assert_int_equal(conf_list_next(&cur, &tok, &len), -1);
	cur = "";
	assert_int_equal(conf_list_next(&cur, &tok, &len), 0);
}

static void test_transport_param(void **state)
{
	size_t k = 0;

	(void)state;
	assert_true(conf_transport_param("relay_destination_concurrency_limit",
					 &k));
	assert_int_equal(k, 5);
	assert_true(conf_transport_param("maildrop_time_limit", &k));
	assert_int_equal(k, 8);
	assert_false(conf_transport_param("_time_limit", &k));
	assert_false(conf_transport_param("myhostname", &k));
}

/* ---- main.cf parser ---- */

static void test_maincf_basic(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 16);
	assert_int_equal(parse_all("", &out, NULL), MAINCF_END);
	assert_string_equal(buf_str(&out), "");
	assert_int_equal(parse_all("# c\n\n  \t\n   # indented comment\n"
				   "a=1\nb = 2  \t\nc =\nd= x = y\n",
				   &out, NULL),
			 MAINCF_END);
	assert_string_equal(buf_str(&out), "a=1@5;b=2@6;c=@7;d=x = y@8;");
	/* No newline at the end; CRLF line ends. */
	assert_int_equal(parse_all("a = 1\r\nb = 2", &out, NULL), MAINCF_END);
	assert_string_equal(buf_str(&out), "a=1@1;b=2@2;");
	/* An inline '#' is part of the value, as in Postfix. */
	parse_all("a = x # not a comment\n", &out, NULL);
	assert_string_equal(buf_str(&out), "a=x # not a comment@1;");
	buf_free(&out);
}

/* Continuation lines are joined verbatim, as Postfix joins them; comments
 * and blank lines inside a logical line are skipped. */
static void test_maincf_continuation(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 16);
	parse_all("myorigin = a,\n   b\n# mid\n  c\n\n  d\nx = 1\n", &out,
		  NULL);
	assert_string_equal(buf_str(&out), "myorigin=a,   b  c  d@1;x=1@7;");
	/* The name may be followed by '=' on the next line. */
	parse_all("name\n = value\n", &out, NULL);
	assert_string_equal(buf_str(&out), "name=value@1;");
	/* A continuation line before any parameter: warning, skipped. */
	assert_int_equal(parse_all("  stray = 1\na = 2\n", &out, NULL),
			 MAINCF_END);
	assert_string_equal(buf_str(&out), "W@1;a=2@2;");
	buf_free(&out);
}

static void test_maincf_errors(void **state)
{
	struct buf out, msg;
	struct maincf_error err;

	(void)state;
	buf_init(&out, 1 << 16);
	buf_init(&msg, 1024);
	assert_int_equal(parse_all("a = 1\nfoo\n", &out, &err),
			 MAINCF_ERR_NOEQ);
	assert_int_equal(err.line, 2);
	maincf_error_format(&err, &msg);
	assert_string_equal(buf_str(&msg),
			    "missing '=' after attribute name: \"foo\"");
	assert_int_equal(parse_all("foo bar = x\n", &out, &err),
			 MAINCF_ERR_NOEQ);
	assert_int_equal(parse_all("a=1\n\n= x\n", &out, &err),
			 MAINCF_ERR_NONAME);
	assert_int_equal(err.line, 3);
	buf_reset(&msg);
	maincf_error_format(&err, &msg);
	assert_string_equal(buf_str(&msg), "missing attribute name: \"= x\"");
	assert_int_equal(parse_all("fo$o = x\n", &out, &err),
			 MAINCF_ERR_BADNAME);
	assert_int_equal(parse_all("a = b\0c\n", &out, &err), MAINCF_END);
	buf_free(&out);
	buf_free(&msg);
}

static void test_maincf_nul_and_limits(void **state)
{
	struct buf scratch, big;
	struct maincf_parser ps;
	struct maincf_entry e;
	const char nul[] = "a = 1\nb = x\0y\n";

	(void)state;
	buf_init(&scratch, MAINCF_VALUE_MAX + 1);
	maincf_init(&ps, nul, sizeof(nul) - 1, &scratch);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ENTRY);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ERR_NUL);
	assert_int_equal(ps.err.line, 2);
	/* Sticky. */
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ERR_NUL);

	/* Boundary: a physical line of exactly MAINCF_LINE_MAX, then +1. */
	buf_init(&big, 4 * MAINCF_VALUE_MAX);
	buf_puts(&big, "a = ");
	while (buf_len(&big) < MAINCF_LINE_MAX)
		buf_putc(&big, 'x');
	buf_putc(&big, '\n');
	maincf_init(&ps, buf_str(&big), buf_len(&big), &scratch);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ENTRY);
	assert_int_equal(e.value_len, MAINCF_LINE_MAX - 4);
	buf_truncate(&big, buf_len(&big) - 1);
	buf_puts(&big, "x\n");
	maincf_init(&ps, buf_str(&big), buf_len(&big), &scratch);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ERR_LINE);

	/* A logical line longer than MAINCF_VALUE_MAX. */
	buf_reset(&big);
	buf_puts(&big, "a = x\n");
	while (buf_len(&big) < MAINCF_VALUE_MAX + 4096)
		buf_puts(&big, " continuation continuation continuation\n");
	maincf_init(&ps, buf_str(&big), buf_len(&big), &scratch);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ERR_VALUE);

	/* Boundary: MAINCF_ENTRIES_MAX entries pass, one more fails. */
	buf_reset(&big);
	for (int i = 0; i < MAINCF_ENTRIES_MAX; i++)
		buf_puts(&big, "a=1\n");
	maincf_init(&ps, buf_str(&big), buf_len(&big), &scratch);
	for (int i = 0; i < MAINCF_ENTRIES_MAX; i++)
		assert_int_equal(maincf_next(&ps, &e), MAINCF_ENTRY);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_END);
	buf_puts(&big, "a=1\n");
	maincf_init(&ps, buf_str(&big), buf_len(&big), &scratch);
	for (int i = 0; i < MAINCF_ENTRIES_MAX; i++)
		assert_int_equal(maincf_next(&ps, &e), MAINCF_ENTRY);
	assert_int_equal(maincf_next(&ps, &e), MAINCF_ERR_ENTRIES);
	buf_free(&big);
	buf_free(&scratch);
}

static void test_name_valid(void **state)
{
	char longname[MAINCF_NAME_MAX + 2];

	(void)state;
	assert_true(maincf_name_valid("2bounce_notice_recipient", 24));
	assert_true(maincf_name_valid("scalemail-backend_time_limit", 28));
	assert_false(maincf_name_valid("", 0));
	assert_false(maincf_name_valid("a b", 3));
	assert_false(maincf_name_valid("a$", 2));
	memset(longname, 'a', sizeof(longname));
	assert_true(maincf_name_valid(longname, MAINCF_NAME_MAX));
	assert_false(maincf_name_valid(longname, MAINCF_NAME_MAX + 1));
}

/* ---- expansion ---- */

/* X - expand in with vars into out (undefined names into undef). */
#define X(in, want)                                                            \
	do {                                                                   \
		assert_int_equal(expand_with(vars, in, &out, NULL, &undef),    \
				 0);                                           \
		assert_string_equal(buf_str(&out), want);                      \
	} while (0)

static void test_expand_basic(void **state)
{
	struct buf out, undef;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&undef, 4096);
	X("", "");
	X("plain text", "plain text");
	X("$a", "A");
	X("${a}", "A");
	X("$(a)", "A");
	X("x$a.y", "xA.y");
	X("$b", "A-B");  /* recursive */
	X("$c", "AA-B"); /* recursive, mixed forms */
	X("$$", "$");    /* literal */
	X("$$a", "$a");
	X("$dollar", "$x"); /* $$ inside a referenced value */
	X("$sp", "x  y");
	X("[$nothere]", "[]"); /* undefined: empty */
	assert_string_equal(buf_str(&undef), "nothere;");
	X("${nothere}", "");
	assert_string_equal(buf_str(&undef), "nothere;");
	X("$a_b", ""); /* the name is a_b */
	X("${a}_b", "A_b");
	buf_free(&out);
	buf_free(&undef);
}

static void test_expand_conditional(void **state)
{
	struct buf out, undef;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&undef, 4096);
	X("${a?yes}", "yes");
	X("${empty?yes}", "");
	X("${nothere?yes}", "");
	X("${a:no}", "");
	X("${empty:no}", "no");
	X("${nothere:no}", "no");
	X("${a?$b}", "A-B"); /* text is expanded */
	X("${a?{braced}}", "braced");
	X("${a?{ trimmed }}", "trimmed");
	X("${empty:{braced}}", "braced");
	X("${a?{one}:{two}}", "one");
	X("${empty?{one}:{two}}", "two");
	X("${nothere?{one} : {two}}", "two");
	X("${a?{${b?{$c}:{x}}}:{y}}", "AA-B"); /* nested */
	X("${a?plain?x}", "plain?x");
	X("${a?; $a}", "; A");
	X("$(a?yes)", "yes");
	/* Conditionals test without looking: no undefined warning. */
	assert_string_equal(buf_str(&undef), "");
	/* The branch not taken is not expanded: its loop is no error. */
	{
		static const char *const loop[] = {"l", "${empty?$l}", NULL};

		assert_int_equal(expand_with(loop, "$l", &out, NULL, NULL), 0);
	}
	buf_free(&out);
	buf_free(&undef);
}

static void test_expand_errors(void **state)
{
	struct buf out, msg;
	struct maincf_error err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&msg, 1024);
	assert_int_equal(expand_with(vars, "${a", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "$(a", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "x$", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "$ x", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "${}", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "${my-name}", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "${a?{x}:y}", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(expand_with(vars, "${a?{x}junk}", &out, &err, NULL),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(
		expand_with(vars, "${a?{x}:{y}junk}", &out, &err, NULL),
		MAINCF_ERR_SYNTAX);
	maincf_error_format(&err, &msg);
	assert_non_null(strstr(buf_str(&msg), "macro syntax error"));
	buf_free(&out);
	buf_free(&msg);
}

static void test_expand_loops(void **state)
{
	static const char *const direct[] = {"a", "x$a", NULL};
	static const char *const indirect[] = {"a", "$b",        "b", "${c}",
					       "c", "${a?{$a}}", NULL};
	static const char *const diamond[] = {"a", "$b$b", "b", "$c$c",
					      "c", "z",    NULL};
	struct buf out, msg;
	struct maincf_error err;
	struct maincf_lookup lk;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&msg, 1024);
	assert_int_equal(expand_with(direct, "$a", &out, &err, NULL),
			 MAINCF_ERR_LOOP);
	assert_string_equal(err.name, "a");
	maincf_error_format(&err, &msg);
	assert_string_equal(buf_str(&msg),
			    "parameter expansion loop: $a refers to itself");
	assert_int_equal(expand_with(indirect, "$a", &out, &err, NULL),
			 MAINCF_ERR_LOOP);
	assert_string_equal(err.name, "a");
	/* Using a name twice side by side is no loop. */
	assert_int_equal(expand_with(diamond, "$a", &out, &err, NULL), 0);
	assert_string_equal(buf_str(&out), "zzzz");
	/* A value referring to its own parameter (self). */
	{
		struct kv kv = {vars, {0}};

		buf_init(&kv.undefined, 64);
		lk.get = kv_get;
		lk.undefined = NULL;
		lk.arg = &kv;
		buf_reset(&out);
		assert_int_equal(
			maincf_expand("$me more", 8, "me", &lk, &out, &err),
			MAINCF_ERR_LOOP);
		assert_string_equal(err.name, "me");
		buf_free(&kv.undefined);
	}
	buf_free(&out);
	buf_free(&msg);
}

/* Bounds: a chain deeper than MAINCF_EXPAND_DEPTH and exponential growth
 * stop with an error, not a hang or a crash. */
static void test_expand_bounds(void **state)
{
	const char *pairs[2 * 2 * MAINCF_EXPAND_DEPTH + 8];
	char names[2 * MAINCF_EXPAND_DEPTH][16],
		vals[2 * MAINCF_EXPAND_DEPTH][16];
	struct buf out;
	struct maincf_error err;
	int n = 0;

	(void)state;
	buf_init(&out, 1 << 22);
	for (int i = 0; i < 2 * MAINCF_EXPAND_DEPTH; i++) {
		snprintf(names[i], sizeof(names[i]), "v%d", i);
		snprintf(vals[i], sizeof(vals[i]), "$v%d", i + 1);
		pairs[n++] = names[i];
		pairs[n++] = vals[i];
	}
	pairs[n] = NULL;
	assert_int_equal(expand_with(pairs, "$v0", &out, &err, NULL),
			 MAINCF_ERR_DEPTH);
	/* Boundary: a chain just within the depth works. */
	assert_int_equal(expand_with(pairs, "$v110", &out, &err, NULL), 0);

	/* Doubling: 2^40 bytes if unbounded. */
	n = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		snprintf(vals[i], sizeof(vals[i]), "$d%d$d%d", i + 1, i + 1);
		pairs[n++] = names[i];
		pairs[n++] = vals[i];
	}
	pairs[n++] = "d40";
	pairs[n++] = "xxxxxxxxxxxxxxxx";
	pairs[n] = NULL;
	assert_int_equal(expand_with(pairs, "$d0", &out, &err, NULL),
			 MAINCF_ERR_SIZE);
	assert_true(buf_len(&out) <= MAINCF_EXPAND_MAX);
	buf_free(&out);
}

struct refs {
	struct buf names;
};

static void ref_cb(void *arg, const char *name, size_t len)
{
	struct refs *r = arg;

	buf_printf(&r->names, "%.*s;", (int)len, name);
}

static void test_refs(void **state)
{
	struct refs r;
	const char *t = "$a ${b?{$c}:{$(d)}} ${e:$f} $$g x";

	(void)state;
	buf_init(&r.names, 4096);
	assert_int_equal(maincf_refs(t, strlen(t), ref_cb, &r), 0);
	assert_string_equal(buf_str(&r.names), "a;b;c;d;e;f;");
	assert_int_equal(maincf_refs("${x", 3, ref_cb, &r), MAINCF_ERR_SYNTAX);
	buf_free(&r.names);
}

/* ---- editing (postconf -e/-X) ---- */

static void test_edit(void **state)
{
	const char *text = "compatibility_level = 3.6\n# top\nmyorigin = a,\n"
			   "   b\n# mid\n  c\n\n  d\nmyorigin = second\n"
			   "relayhost = x\n# end";
	struct maincf_edit_item set[] = {
		{"myorigin", "new"},
		{"mydomain", "example.com"},
		{"relayhost", "[x]:25"},
	};
	struct maincf_edit_item del[] = {{"relayhost", NULL},
					 {"nothere", NULL}};
	struct maincf_edit_item twice[] = {{"a", "1"}, {"a", "2"}};
	struct maincf_edit_item bad[] = {{"a b", "1"}};
	struct maincf_edit_item nl[] = {{"a", "1\nb = 2"}};
	struct maincf_error err;
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(maincf_edit(text, strlen(text), set, 3, &out, &err),
			 0);
	assert_string_equal(buf_str(&out),
			    "compatibility_level = 3.6\n# top\nmyorigin = new\n"
			    "# mid\n\nmyorigin = new\nrelayhost = [x]:25\n"
			    "# end\nmydomain = example.com\n");
	buf_reset(&out);
	assert_int_equal(maincf_edit(text, strlen(text), del, 2, &out, &err),
			 0);
	assert_null(strstr(buf_str(&out), "relayhost"));
	assert_non_null(strstr(buf_str(&out), "   b\n# mid\n  c\n\n  d\n"));
	buf_reset(&out);
	assert_int_equal(maincf_edit("", 0, twice, 2, &out, &err), 0);
	assert_string_equal(buf_str(&out), "a = 2\n");
	/* Every line setting a name is replaced, as Postfix does (postconf
	 * warns of them using maincf_count_sets). */
	assert_int_equal(maincf_count_sets(text, strlen(text), "myorigin"), 2);
	assert_int_equal(maincf_count_sets(text, strlen(text), "relayhost"), 1);
	assert_int_equal(maincf_count_sets(text, strlen(text), "my"), 0);
	assert_int_equal(maincf_count_sets(text, strlen(text), "b"), 0);
	buf_reset(&out);
	{
		const char *dup = "a = 1\nb = 2\na = 3\n  c\n";

		assert_int_equal(maincf_edit(dup, strlen(dup), twice, 2, &out,
					     &err), 0);
	}
	assert_string_equal(buf_str(&out), "a = 2\nb = 2\na = 2\n");
	buf_reset(&out);
	assert_int_equal(maincf_edit("", 0, bad, 1, &out, &err),
			 MAINCF_ERR_SYNTAX);
	assert_int_equal(maincf_edit("", 0, nl, 1, &out, &err),
			 MAINCF_ERR_SYNTAX);
	/* The output is a main.cf that parses to the intended values. */
	buf_reset(&out);
	maincf_edit(text, strlen(text), set, 3, &out, &err);
	{
		struct buf entries;

		buf_init(&entries, 4096);
		parse_all(buf_str(&out), &entries, NULL);
		assert_string_equal(buf_str(&entries),
				    "compatibility_level=3.6@1;myorigin=new@3;"
				    "myorigin=new@6;relayhost=[x]:25@7;"
				    "mydomain=example.com@9;");
		buf_free(&entries);
	}
	buf_free(&out);
}

/* ---- master.cf ---- */

static int master_all(const char *text, struct buf *out,
		      struct mastercf_error *err)
{
	struct buf scratch;
	struct mastercf_parser ps;
	struct mastercf_entry *e = mem_alloc(sizeof(*e));
	int r;

	buf_init(&scratch, MASTERCF_LOGICAL_MAX + 2);
	buf_reset(out);
	mastercf_init(&ps, text, strlen(text), &scratch);
	while ((r = mastercf_next(&ps, e)) != MASTERCF_END) {
		if (r < 0)
			break;
		if (r == MASTERCF_WARNING) {
			buf_printf(out, "W@%u\n", ps.err.line);
			continue;
		}
		mastercf_format(e, out);
		buf_printf(out, "@%u\n", e->line);
	}
	if (err)
		*err = ps.err;
	mem_free(e);
	buf_free(&scratch);
	return r;
}

static void test_mastercf_fields(void **state)
{
	struct buf scratch;
	struct mastercf_parser ps;
	struct mastercf_entry *e = mem_alloc(sizeof(*e));
	const char *text = "# comment\n  # indented comment\n\n"
			   "127.0.0.1:2525 inet n - y 60? 10 smtpd\n"
			   "  -o { smtpd_banner = hello world }  -o "
			   "smtpd_tls_security_level=may\n"
			   "   -osyslog_name=mailgw/$service_name { arg with  "
			   "spaces } -v\n";

	(void)state;
	buf_init(&scratch, MASTERCF_LOGICAL_MAX + 2);
	mastercf_init(&ps, text, strlen(text), &scratch);
	assert_int_equal(mastercf_next(&ps, e), MASTERCF_ENTRY);
	assert_int_equal(e->line, 4);
	assert_string_equal(e->field[MASTERCF_F_SERVICE], "127.0.0.1:2525");
	assert_int_equal(e->type, MASTERCF_INET);
	assert_int_equal(e->private_, 0);
	assert_int_equal(e->unpriv, -1);
	assert_int_equal(e->chroot, 1);
	assert_int_equal(e->wakeup, 60);
	assert_int_equal(e->wakeup_if_used, 1);
	assert_int_equal(e->maxproc, 10);
	assert_string_equal(e->field[MASTERCF_F_COMMAND], "smtpd");
	assert_int_equal(e->nargs, 5);
	assert_string_equal(e->args[0].name, "smtpd_banner");
	assert_string_equal(e->args[0].value, "hello world");
	assert_string_equal(e->args[1].name, "smtpd_tls_security_level");
	assert_string_equal(e->args[1].value, "may");
	assert_string_equal(e->args[2].name, "syslog_name");
	assert_string_equal(e->args[2].value, "mailgw/$service_name");
	assert_null(e->args[3].name);
	assert_string_equal(e->args[3].text, "arg with  spaces");
	assert_true(e->args[3].braced);
	assert_string_equal(e->args[4].text, "-v");
	assert_int_equal(mastercf_next(&ps, e), MASTERCF_END);
	mem_free(e);
	buf_free(&scratch);
}

/* The -M line layout matches Postfix 3.7's postconf -M byte for byte. */
static void test_mastercf_format(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(
		master_all("smtp      inet  n       -       y       -       -  "
			   "     smtpd\n"
			   "relay     unix  -       -       y       -       -  "
			   "     smtp\n"
			   "        -o syslog_name=postfix/$service_name\n"
			   "postlog   unix-dgram n  -       n       -       1  "
			   "     postlogd\n"
			   "scalemail-backend unix -       n       n       -   "
			   "    2       pipe\n"
			   "  flags=R user=scalemail "
			   "argv=/usr/lib/scalemail/bin/scalemail-store "
			   "${nexthop} ${user} ${extension}\n"
			   "127.0.0.1:2525 inet n - n - - smtpd -o { "
			   "smtpd_banner = hello world }\n"
			   "[::1]:25 inet n - n - 10 smtpd\n",
			   &out, NULL),
		MASTERCF_END);
	assert_string_equal(
		buf_str(&out),
		"smtp       inet  n       -       y       -       -       "
		"smtpd@1\n"
		"relay      unix  -       -       y       -       -       smtp "
		"-o syslog_name=postfix/$service_name@2\n"
		"postlog    unix-dgram n  -       n       -       1       "
		"postlogd@4\n"
		"scalemail-backend unix - n       n       -       2       pipe "
		"flags=R user=scalemail "
		"argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} "
		"${user} ${extension}@5\n"
		"127.0.0.1:2525 inet n    -       n       -       -       "
		"smtpd -o {smtpd_banner=hello world}@7\n"
		"[::1]:25   inet  n       -       n       -       10      "
		"smtpd@8\n");
	buf_free(&out);
}

static void test_mastercf_errors(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} cases[] = {
		{"x inet n - n - -\n", MASTERCF_ERR_FIELDS, "bad field count"},
		{"x foo n - n - - smtpd\n", MASTERCF_ERR_TYPE,
		 "invalid type field \"foo\""},
		{"x inet q - n - - smtpd\n", MASTERCF_ERR_FLAG, NULL},
		{"x inet n - n abc - smtpd\n", MASTERCF_ERR_WAKEUP,
		 "invalid wakeup field \"abc\""},
		{"x inet n - n -? - smtpd\n", MASTERCF_ERR_WAKEUP, NULL},
		{"x inet n - n - -5 smtpd\n", MASTERCF_ERR_MAXPROC,
		 "invalid process_limit field \"-5\""},
		{"x inet n - n - 1000001 smtpd\n", MASTERCF_ERR_MAXPROC, NULL},
		{"x inet n - n - - smtpd -o\n", MASTERCF_ERR_OPTION, NULL},
		{"x inet n - n - - smtpd -o foo\n", MASTERCF_ERR_OPTION, NULL},
		{"x inet n - n - - smtpd -o =foo\n", MASTERCF_ERR_OPTION, NULL},
		{"x inet n - n - - smtpd -o {foo = bar\n", MASTERCF_ERR_BRACE,
		 NULL},
		{"a:b:c inet n - n - - smtpd\n", MASTERCF_ERR_SERVICE, NULL},
		{"[::1 inet n - n - - smtpd\n", MASTERCF_ERR_SERVICE, NULL},
		{"[::1]:x/y inet n - n - - smtpd\n", MASTERCF_ERR_SERVICE,
		 NULL},
		{":25 inet n - n - - smtpd\n", MASTERCF_ERR_SERVICE, NULL},
		{"a/b unix n - n - - smtpd\n", MASTERCF_ERR_SERVICE, NULL},
	};
	struct buf out, msg;
	struct mastercf_error err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&msg, 1024);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = master_all(cases[i].text, &out, &err);

		if (r != cases[i].code)
			fail_msg("%s: got %d, want %d", cases[i].text, r,
				 cases[i].code);
		assert_int_equal(err.line, 1);
		buf_reset(&msg);
		mastercf_error_format(&err, &msg);
		if (cases[i].msg)
			assert_string_equal(buf_str(&msg), cases[i].msg);
	}
	/* Service names that are fine. */
	assert_int_equal(
		master_all("*:25 inet n - n - - smtpd\n"
			   "[::1]:submission inet n - n - - smtpd\n"
			   "smtps inet n - n - - smtpd\n"
			   "mail.example.com:2525 inet n - n - - smtpd\n"
			   "scalemail-backend unix - n n - 2 pipe\n",
			   &out, NULL),
		MASTERCF_END);
	/* A continuation line at the start: a warning, skipped. */
	assert_int_equal(master_all("  x inet n - n - - smtpd\n"
				    "y inet n - n - - smtpd\n",
				    &out, NULL),
			 MASTERCF_END);
	assert_non_null(strstr(buf_str(&out), "W@1\n"));
	assert_non_null(strstr(buf_str(&out), "@2\n"));
	buf_free(&out);
	buf_free(&msg);
}

/* ---- the loaded configuration ---- */

static const char *write_conf(const char *sub, const char *maincf,
			      const char *mastercf)
{
	static char dir[512];
	char path[600];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/%s", test_tmpdir(), sub);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(maincf, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/master.cf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(mastercf ? mastercf : "", f);
	fclose(f);
	return dir;
}

static void test_conf_load_values(void **state)
{
	const char *dir;

	(void)state;
	test_log_capture();
	dir = write_conf(
		"values",
		"myhostname = mail.example.com\n"
		"mydestination = $myhostname, ${mydomain}\n"
		"smtpd_banner = $myhostname ESMTP $mail_name\n"
		"smtpd_timeout = 5m\n"
		"message_size_limit = 1000\n"
		"biff = No\n"
		"mua_restrictions = permit_sasl_authenticated, reject\n"
		"smtpd_client_restrictions = $mua_restrictions\n"
		"default_rbl_reply = $rbl_code blocked\n",
		NULL);
	assert_int_equal(conf_load(dir), 0);
	assert_string_equal(buf_str(&test_log_lines), "");
	assert_string_equal(conf_dir(), dir);
	assert_string_equal(conf_get("mydomain"), "example.com");
	assert_string_equal(conf_get("mydestination"),
			    "mail.example.com, example.com");
	assert_string_equal(conf_get("smtpd_banner"),
			    "mail.example.com ESMTP mailgw");
	assert_string_equal(conf_get_raw("smtpd_banner"),
			    "$myhostname ESMTP $mail_name");
	assert_string_equal(conf_get("smtpd_client_restrictions"),
			    "permit_sasl_authenticated, reject");
	assert_string_equal(conf_get("default_rbl_reply"), "$rbl_code blocked");
	assert_string_equal(conf_get("config_directory"), dir);
	assert_int_equal(conf_get_time("smtpd_timeout"), 300);
	assert_int_equal(conf_get_int("message_size_limit"), 1000);
	assert_int_equal(conf_get_bool("biff"), 0);
	assert_string_equal(conf_get("mua_restrictions"),
			    "permit_sasl_authenticated, reject");
	assert_null(conf_get("no_such_thing"));

	/* conf_set overrides, and dependants follow. */
	conf_set("myhostname", "mx.other.example");
	assert_string_equal(conf_get("mydomain"), "other.example");
	assert_string_equal(conf_get("smtpd_banner"),
			    "mx.other.example ESMTP mailgw");
	conf_set("smtpd_timeout", "bogus");
	test_log_capture();
	assert_int_equal(conf_get_time("smtpd_timeout"), 300); /* default */
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "smtpd_timeout: bad value \"bogus\""));
	log_set_sink(NULL, NULL);
}

static void test_conf_load_warnings(void **state)
{
	const char *dir;
	const char *lines;

	(void)state;
	test_log_capture();
	dir = write_conf("warn",
			 "foo = bar\n"
			 "baz = $foo\n"
			 "qux = 1\n"
			 "relay_destination_concurrency_limit = 5\n"
			 "custom_destination_concurrency_limit = 5\n"
			 "other_time_limit = 5\n"
			 "biff = yes\n"
			 "biff = no\n"
			 "myorigin = $undefined_thing\n"
			 "  \n",
			 "custom unix - - n - - smtp\n"
			 "submission inet n - n - - smtpd "
			 "-o smtpd_client_restrictions=$mua_client\n");
	assert_int_equal(conf_load(dir), 0);
	lines = buf_str(&test_log_lines);
	/* foo is used by baz (Postfix: user-defined); baz and qux are not. */
	assert_null(strstr(lines, "unused parameter: foo="));
	assert_non_null(strstr(lines, "main.cf, line 2: unused parameter: "
				      "baz=$foo"));
	assert_non_null(strstr(lines, "main.cf, line 3: unused parameter: "
				      "qux=1"));
	/* Per-transport parameters of master.cf services are used. */
	assert_null(strstr(lines, "relay_destination"));
	assert_null(strstr(lines, "custom_destination"));
	assert_non_null(strstr(lines, "unused parameter: other_time_limit=5"));
	assert_non_null(strstr(lines, "main.cf, line 8: overriding earlier "
				      "entry: biff=yes"));
	assert_non_null(strstr(lines, "main.cf, line 9: undefined parameter: "
				      "undefined_thing"));
	assert_int_equal(conf_get_bool("biff"), 0);
	log_set_sink(NULL, NULL);
}

static void test_conf_load_errors(void **state)
{
	const char *dir;
	const char *lines;

	(void)state;
	dir = write_conf("good", "myorigin = good.example\n", NULL);
	assert_int_equal(conf_load(dir), 0);
	test_log_capture();
	dir = write_conf("bad",
			 "biff = maybe\n"
			 "smtpd_timeout = 10x\n"
			 "myorigin = ${x\n"
			 "a = $b\n"
			 "b = $a\n"
			 "mydomain = $a\n"
			 "transport_maps = /etc/transport\n",
			 NULL);
	assert_int_equal(conf_load(dir), -1);
	lines = buf_str(&test_log_lines);
	assert_non_null(strstr(lines, "error: "));
	assert_non_null(strstr(lines, "bad/main.cf, line 1: biff: bad value "
				      "\"maybe\": expected yes or no"));
	assert_non_null(strstr(lines, "line 2: smtpd_timeout: bad value"));
	assert_non_null(strstr(lines, "line 3: myorigin: macro syntax error"));
	assert_non_null(strstr(lines, "line 6: mydomain: parameter expansion "
				      "loop"));
	assert_non_null(strstr(lines, "line 7: transport_maps: bad value"));
	/* The old table is kept. */
	assert_string_equal(conf_get("myorigin"), "good.example");

	test_log_capture();
	dir = write_conf("syntax", "a = 1\nnot a line\n", NULL);
	assert_int_equal(conf_load(dir), -1);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "syntax/main.cf, line 2: missing '=' after "
			       "attribute name: \"not\""));
	assert_string_equal(conf_get("myorigin"), "good.example");

	/* Missing main.cf: defaults, unless required. */
	test_log_capture();
	assert_int_equal(conf_load("/nonexistent/mailgw-test"), 0);
	assert_string_equal(conf_get("myorigin"), conf_get("myhostname"));
	assert_int_equal(conf_load_flags("/nonexistent/mailgw-test",
					 CONF_MAIN_CF_REQUIRED),
			 -1);
	assert_non_null(strstr(buf_str(&test_log_lines), "open "));
	log_set_sink(NULL, NULL);
}

static void test_conf_settings_and_check(void **state)
{
	const struct conf_setting *s;
	const char *dir;
	size_t n;
	const char *text = "biff = nope\n";

	(void)state;
	test_log_capture();
	dir = write_conf("settings",
			 "zz = 1\nbiff = no\nused = x\n"
			 "myorigin = $used\n",
			 NULL);
	assert_int_equal(conf_load(dir), 0);
	s = conf_settings(&n);
	assert_int_equal(n, 5); /* with config_directory */
	assert_string_equal(s[0].name, "biff");
	assert_true(s[0].known);
	assert_int_equal(s[0].line, 2);
	assert_string_equal(s[1].name, "config_directory");
	assert_null(s[1].file);
	assert_string_equal(s[3].name, "used");
	assert_false(s[3].known);
	assert_true(s[3].used);
	assert_string_equal(s[4].name, "zz");
	assert_false(s[4].used);

	test_log_capture();
	assert_int_equal(conf_check_text(dir, "new.cf", text, strlen(text)),
			 -1);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "new.cf, line 1: biff: bad value"));
	/* Checking does not change what is loaded. */
	assert_int_equal(conf_get_bool("biff"), 0);
	log_set_sink(NULL, NULL);
}

static int count_service(const struct mastercf_entry *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static void test_conf_debian(void **state)
{
	char path[600];
	const char *dir;
	struct buf text;
	FILE *f;

	(void)state;
	buf_init(&text, CONF_FILE_MAX);
	if (conf_read_file("/usr/share/postfix/main.cf.debian", &text) != 0) {
		buf_free(&text);
		skip();
	}
	dir = write_conf("debian", buf_str(&text), NULL);
	if (conf_read_file("/usr/share/postfix/master.cf.dist", &text) == 0) {
		snprintf(path, sizeof(path), "%s/master.cf", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		fwrite(buf_str(&text), 1, buf_len(&text), f);
		fclose(f);
	}
	test_log_capture();
	assert_int_equal(conf_load(dir), 0);
	assert_null(strstr(buf_str(&test_log_lines), "error:"));
	assert_int_equal(conf_get_bool("biff"), 0);
	{
		int n = 0;

		assert_int_equal(conf_master_read(dir, count_service, &n), 0);
		assert_true(n > 20);
	}
	log_set_sink(NULL, NULL);
	buf_free(&text);
}

static void test_conf_master_read(void **state)
{
	const char *dir;
	int n = 0;

	(void)state;
	dir = write_conf("master", "",
			 "smtp inet n - y - - smtpd\n"
			 "pickup unix n - y 60 1 pickup\n");
	assert_int_equal(conf_master_read(dir, count_service, &n), 0);
	assert_int_equal(n, 2);
	test_log_capture();
	dir = write_conf("master-bad", "",
			 "smtp inet n - y - - smtpd\n"
			 "bad inet q - y - - smtpd\n");
	n = 0;
	assert_int_equal(conf_master_read(dir, count_service, &n), -1);
	assert_int_equal(n, 1);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "master-bad/master.cf, line 2: invalid"));
	log_set_sink(NULL, NULL);
}

static void test_mynetworks_styles(void **state)
{
	(void)state;
	conf_load("/nonexistent/mailgw-test");
	assert_non_null(strstr(conf_get("mynetworks"), "127.0.0.1/32"));
	conf_set("mynetworks_style", "subnet");
	assert_non_null(strstr(conf_get("mynetworks"), "127.0.0.0/8"));
	conf_set("mynetworks_style", "class");
	assert_non_null(strstr(conf_get("mynetworks"), "127.0.0.0/8"));
	conf_set("inet_protocols", "ipv6");
	assert_null(strstr(conf_get("mynetworks"), "127.0.0."));
	conf_set("mynetworks", "10.0.0.0/8");
	assert_string_equal(conf_get("mynetworks"), "10.0.0.0/8");
}

static int teardown_all(void **state)
{
	(void)state;
	test_cleanup_tmpdir();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted_unique),
		cmocka_unit_test(test_table_defaults_valid),
		cmocka_unit_test(test_table_refs_defined),
		cmocka_unit_test(test_table_postfix_defaults),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_value_check),
		cmocka_unit_test(test_list_next),
		cmocka_unit_test(test_transport_param),
		cmocka_unit_test(test_maincf_basic),
		cmocka_unit_test(test_maincf_continuation),
		cmocka_unit_test(test_maincf_errors),
		cmocka_unit_test(test_maincf_nul_and_limits),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_expand_basic),
		cmocka_unit_test(test_expand_conditional),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_expand_loops),
		cmocka_unit_test(test_expand_bounds),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_mastercf_fields),
		cmocka_unit_test(test_mastercf_format),
		cmocka_unit_test(test_mastercf_errors),
		cmocka_unit_test(test_conf_load_values),
		cmocka_unit_test(test_conf_load_warnings),
		cmocka_unit_test(test_conf_load_errors),
		cmocka_unit_test(test_conf_settings_and_check),
		cmocka_unit_test(test_conf_debian),
		cmocka_unit_test(test_conf_master_read),
		cmocka_unit_test(test_mynetworks_styles),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, teardown_all);
}
