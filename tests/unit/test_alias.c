/* test_alias - alias list parsing and expansion through real tables. */
#include "testutil.h"

#include "conf/conf.h"
#include "deliver/alias.h"

struct items {
	struct buf b;
};

static int collect(void *arg, enum alias_kind kind, const char *p, size_t n)
{
	struct buf *b = arg;
	static const char k[] = "?ACFI";

	buf_printf(b, "%c[%.*s]", k[kind], (int)n, p);
	return 0;
}

static const char *parse(const char *s, int inc, int *rc)
{
	static struct buf b;

	if (b.data == NULL)
		buf_init(&b, 1 << 16);
	buf_reset(&b);
	*rc = alias_parse_list(s, strlen(s), inc, collect, &b);
	return buf_str(&b);
}

static void test_parse(void **state)
{
	int rc;

	(void)state;
	assert_string_equal(parse("a, b@x ,  c", 0, &rc), "A[a]A[b@x]A[c]");
	assert_int_equal(rc, 0);
	assert_string_equal(
		parse("|\"/bin/cat\" ,/var/log/m, :include:/etc/l ,<d@y>", 0,
		      &rc),
		"C[\"/bin/cat\"]F[/var/log/m]I[/etc/l]A[d@y]");
	assert_string_equal(parse("\"|cmd a, b\", e", 0, &rc),
			    "C[cmd a, b]A[e]");
	assert_string_equal(parse("\"open", 0, &rc), "");
	assert_int_equal(rc, ALIAS_ERR_SYNTAX);
	/* :include: syntax: comments at line start only, lines and commas. */
	assert_string_equal(parse("# list\n a\n  # also\nb, c # not a comment\n"
				  "\r\n,,\n:INCLUDE: /x\n",
				  1, &rc),
			    "A[a]A[b]A[c # not a comment]I[/x]");
	assert_string_equal(parse("# x\n", 0, &rc), "A[# x]");
	assert_string_equal(parse("", 1, &rc), "");
	{
		char big[ALIAS_TARGET_MAX + 10];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		parse(big, 0, &rc);
		assert_int_equal(rc, ALIAS_ERR_LIMIT);
	}
}

static const char *show(struct alias_table *t, const char *name)
{
	static struct buf b;
	struct alias_expansion x = {0};
	size_t i;

	if (b.data == NULL)
		buf_init(&b, 1 << 16);
	buf_reset(&b);
	alias_expand(t, name, "example.org, localhost", &x);
	for (i = 0; i < x.n; i++) {
		struct alias_result *r = &x.r[i];
		if (r->kind == ALIAS_R_MAILBOX)
			buf_printf(&b, "mbox:%s;", r->addr);
		else if (r->kind == ALIAS_R_FORWARD)
			buf_printf(&b, "fwd:%s;", r->addr);
		else
			buf_printf(&b, "fail:%s:%d:%s:%s;", r->addr, r->st,
				   r->dsn, r->text);
	}
	alias_expansion_free(&x);
	return buf_str(&b);
}

static void test_expand(void **state)
{
	struct alias_table *t;
	struct buf err;
	char spec[512], inc[256], inc2[256];

	(void)state;
	buf_init(&err, 4096);
	snprintf(inc, sizeof(inc), "%s/list.inc", test_tmpdir());
	snprintf(inc2, sizeof(inc2), "%s/nested.inc", test_tmpdir());
	test_write_file("list.inc",
			"# the list\ncarol\ndave@example.org, "
			"ext@remote.example\n:include:nested.inc\n");
	test_write_file("nested.inc", "erin\n|/bin/true\n");
	{
		struct buf a;
		buf_init(&a, 8192);
		buf_printf(&a,
			   "root admin\n"
			   "admin alice, Bob@Example.ORG\n"
			   "bob bob, backup\n"
			   "staff :include:%s\n"
			   "loop1 loop2\n"
			   "loop2 loop1, zed\n"
			   "cmd |/usr/bin/procmail\n"
			   "file /tmp/x\n"
			   "badinc :include:/nonexistent/file\n"
			   "Mixed MIXED@LOCALHOST\n",
			   inc);
		test_write_file("aliases", buf_str(&a));
		buf_free(&a);
	}
	/* The nested include path relative to nothing: use the absolute. */
	{
		struct buf l;
		buf_init(&l, 4096);
		buf_printf(&l,
			   "# the list\ncarol\ndave@example.org, "
			   "ext@remote.example\n:include:%s\n",
			   inc2);
		test_write_file("list.inc", buf_str(&l));
		buf_free(&l);
	}
	snprintf(spec, sizeof(spec), "texthash:%s/aliases", test_tmpdir());
	assert_int_equal(alias_open(spec, &t, &err), 0);
	conf_set("allow_mail_to_commands", "alias, forward");
	conf_set("allow_mail_to_files", "forward");

	assert_string_equal(show(t, "nobody-here"), "mbox:nobody-here;");
	/* Nesting, domain forms, case. */
	assert_string_equal(show(t, "ROOT"),
			    "mbox:alice;mbox:bob;mbox:backup;");
	/* postmaster/abuse default to root. */
	assert_string_equal(show(t, "postmaster"),
			    "mbox:alice;mbox:bob;mbox:backup;");
	assert_string_equal(show(t, "abuse"),
			    "mbox:alice;mbox:bob;mbox:backup;");
	/* Includes, nested includes; commands from include files are not
	 * allowed by the default (alias, forward). */
	assert_string_equal(show(t, "staff"),
			    "mbox:carol;mbox:dave;fwd:ext@remote.example;"
			    "mbox:erin;fail:|/bin/true:5:5.7.1:mail to "
			    "command is restricted;");
	/* A loop ends at the mailbox of the name seen twice. */
	assert_string_equal(show(t, "loop1"), "mbox:loop1;mbox:zed;");
	assert_string_equal(show(t, "mixed"), "mbox:mixed;");
	/* Commands allowed in aliases but not implemented: defer. Files
	 * not allowed in aliases here: bounce. */
	assert_string_equal(show(t, "cmd"),
			    "fail:|/usr/bin/procmail:4:4.3.0:mail to command "
			    "is not supported by mailgw;");
	assert_string_equal(show(t, "file"),
			    "fail:/tmp/x:5:5.7.1:mail to file is restricted;");
	conf_set("allow_mail_to_commands", "");
	assert_string_equal(show(t, "cmd"),
			    "fail:|/usr/bin/procmail:5:5.7.1:mail to command "
			    "is restricted;");
	assert_non_null(strstr(show(t, "badinc"),
			       "fail:/nonexistent/file:5:5.3.5:cannot open "
			       "include file /nonexistent/file: No such file"));
	alias_close(t);

	/* Without tables: postmaster still exists, as root. */
	assert_int_equal(alias_open("", &t, &err), 0);
	assert_string_equal(show(t, "postmaster"), "mbox:root;");
	alias_close(t);
	/* A missing table is an open error. */
	buf_reset(&err);
	assert_int_equal(alias_open("lmdb:/nonexistent/aliases", &t, &err), -1);
	assert_true(err.len > 0);
	buf_free(&err);
}

static void test_limits(void **state)
{
	struct alias_table *t;
	struct buf a, err;
	char spec[512];
	const char *s;
	int i;

	(void)state;
	buf_init(&a, 1 << 20);
	buf_init(&err, 4096);
	/* A chain deeper than ALIAS_DEPTH_MAX. */
	for (i = 0; i < ALIAS_DEPTH_MAX + 5; i++)
		buf_printf(&a, "c%d c%d\n", i, i + 1);
	/* One alias with more results than ALIAS_RESULTS_MAX. */
	buf_puts(&a, "wide ");
	for (i = 0; i < ALIAS_RESULTS_MAX + 5; i++)
		buf_printf(&a, "%su%d", i ? "," : "", i);
	buf_putc(&a, '\n');
	test_write_file("deep", buf_str(&a));
	snprintf(spec, sizeof(spec), "texthash:%s/deep", test_tmpdir());
	assert_int_equal(alias_open(spec, &t, &err), 0);
	s = show(t, "c0");
	assert_non_null(strstr(s, "5.4.6:mail forwarding loop"));
	s = show(t, "wide");
	assert_non_null(strstr(s, "5.3.0:alias expansion has too many"));
	alias_close(t);
	buf_free(&a);
	buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_limits),
	};
	int rc;

	test_write_file("main.cf", "myhostname = h.example.org\n");
	if (conf_load(test_tmpdir()) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_cleanup_tmpdir();
	return rc;
}
