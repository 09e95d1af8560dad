/* test_dict - every table type, the pure parsers, their messages. */
#include "testutil.h"

#include <sys/stat.h>

#include "dict/dict.h"
#include "dict/dict_cidr.h"
#include "dict/dict_regexp.h"
#include "dict/dict_text.h"

/* lookup - value of key in spec (opened with flags), or NULL */
static char result[4096];

static const char *lookup_flags(const char *spec, int flags, const char *key)
{
	struct dict *d;
	struct buf err;
	const char *v;
	int rc;

	buf_init(&err, 4096);
	rc = dict_open(spec, flags, &d, &err);
	if (rc != DICT_OK)
		fail_msg("open %s: %s", spec, buf_str(&err));
	buf_free(&err);
	rc = dict_get(d, key, &v);
	assert_true(rc == DICT_OK || rc == DICT_NOTFOUND);
	if (rc == DICT_OK)
		snprintf(result, sizeof(result), "%s", v);
	dict_discard(d);
	return rc == DICT_OK ? result : NULL;
}

static const char *lookup(const char *spec, const char *key)
{
	return lookup_flags(spec, DICT_FLAG_FOLD | DICT_FLAG_QUIET, key);
}

static char spec_buf[512];

static const char *spec_of(const char *type, const char *path)
{
	snprintf(spec_buf, sizeof(spec_buf), "%s:%s", type, path);
	return spec_buf;
}

/* re_messages - what dict_re_parse reports for text */
static struct buf msgs;

static const char *re_messages(int posix, const char *text)
{
	struct dict_re t;
	struct dict_diag g;

	dict_diag_init(&g);
	dict_re_parse(&t, posix, "/t", text, strlen(text), &g);
	if (msgs.data == NULL)
		buf_init(&msgs, 1 << 16);
	buf_set(&msgs, buf_str(&g.text), buf_len(&g.text));
	dict_re_free(&t);
	dict_diag_free(&g);
	return buf_str(&msgs);
}

/* re_lookup - match key against a table given as text */
static const char *re_lookup(int posix, const char *text, const char *key)
{
	struct dict_re t;
	struct dict_diag g;
	struct buf out;
	int rc;

	dict_diag_init(&g);
	buf_init(&out, 4096);
	dict_re_parse(&t, posix, "/t", text, strlen(text), &g);
	rc = dict_re_match(&t, key, strlen(key), &out);
	assert_true(rc >= 0);
	if (rc)
		snprintf(result, sizeof(result), "%s", buf_str(&out));
	buf_free(&out);
	dict_re_free(&t);
	dict_diag_free(&g);
	return rc ? result : NULL;
}

static const char *cidr_lookup(const char *text, const char *key)
{
	struct dict_cidr t;
	struct dict_diag g;
	const char *v;

	dict_diag_init(&g);
	dict_cidr_parse(&t, "/c", text, strlen(text), &g);
	v = dict_cidr_match(&t, key);
	if (v)
		snprintf(result, sizeof(result), "%s", v);
	dict_cidr_free(&t);
	dict_diag_free(&g);
	return v ? result : NULL;
}

static const char *cidr_messages(const char *text)
{
	struct dict_cidr t;
	struct dict_diag g;

	dict_diag_init(&g);
	dict_cidr_parse(&t, "/c", text, strlen(text), &g);
	if (msgs.data == NULL)
		buf_init(&msgs, 1 << 16);
	buf_set(&msgs, buf_str(&g.text), buf_len(&g.text));
	dict_cidr_free(&t);
	dict_diag_free(&g);
	return buf_str(&msgs);
}

#define assert_lookup(v, expect)                                             \
	do {                                                                 \
		const char *got_ = (v);                                      \
		if ((expect) == NULL)                                        \
			assert_null(got_);                                   \
		else {                                                       \
			assert_non_null(got_);                               \
			assert_string_equal(got_, (expect));                 \
		}                                                            \
	} while (0)

/* ---- text parsers ---- */

static void test_logical_lines(void **state)
{
	const char *text = "  lead\n# c\na 1\n\t\n  # in\n  2\n\nb\r\n c\r\n";
	struct dict_lines r;
	struct dict_diag g;
	struct buf line;
	int n;

	(void)state;
	dict_diag_init(&g);
	buf_init(&line, DICT_LINE_MAX);
	dict_lines_init(&r, "/f", text, strlen(text));
	assert_int_equal(dict_lines_next(&r, &line, &n, &g), 1);
	assert_string_equal(buf_str(&line), "a 1  2");
	assert_int_equal(n, 3);
	assert_int_equal(dict_lines_next(&r, &line, &n, &g), 1);
	assert_string_equal(buf_str(&line), "b c");
	assert_int_equal(n, 8);
	assert_int_equal(dict_lines_next(&r, &line, &n, &g), 0);
	assert_string_equal(buf_str(&g.text), "/f: logical line must not "
			    "start with whitespace: \"  lead\"\n");
	buf_free(&line);
	dict_diag_free(&g);
}

static void test_text_split(void **state)
{
	char a[] = "key  value with  spaces \t";
	char b[] = "lonely";
	char *k, *v;

	(void)state;
	assert_int_equal(dict_text_split(a, &k, &v), 0);
	assert_string_equal(k, "key");
	assert_string_equal(v, "value with  spaces");
	assert_int_equal(dict_text_split(b, &k, &v), -1);
}

static void test_alias_split(void **state)
{
	struct buf k, v;
	static const char *const cases[][3] = {
		{"root: admin, \"b c\"", "root", "admin, \"b c\""},
		{"a: x,y", "a", "x, y"},
		{"b: x   y", "b", "x y"},
		{"c: x (comment) , y", "c", "x (comment), y"},
		{"d: |/bin/cmd arg", "d", "|/bin/cmd arg"},
		{"e: :include:/etc/file", "e", ":include:/etc/file"},
		{"g: <x@y>,  z@w", "g", "<x@y>, z@w"},
		{"h:x", "h", "x"},
		{"\"q r\": s", "q r", "s"},
		{"i : j", "i", "j"},
		{"k: a\\,b", "k", "\"a,b\""},
		{"l: Name <a@b>", "l", "Name <a@b>"},
	};

	(void)state;
	buf_init(&k, 4096);
	buf_init(&v, 4096);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dict_alias_split(cases[i][0], &k, &v), 0);
		assert_string_equal(buf_str(&k), cases[i][1]);
		assert_string_equal(buf_str(&v), cases[i][2]);
	}
	assert_int_equal(dict_alias_split("j:", &k, &v), -1);
	assert_int_equal(dict_alias_split("no colon", &k, &v), -1);
	assert_int_equal(dict_alias_split(": x", &k, &v), -1);
	buf_free(&k);
	buf_free(&v);
}

static void test_template(void **state)
{
	struct dict_tmpl t;
	struct dict_diag g;
	struct buf out;
	const char *subject = "abc";
	size_t ov[] = {0, 3, 0, 1, (size_t)-1, (size_t)-1, 2, 3};

	(void)state;
	dict_diag_init(&g);
	buf_init(&out, 4096);
	assert_int_equal(dict_tmpl_check("$1-${3}$(1)$$x", &t, "pcre map /t",
					 1, &g), 0);
	assert_int_equal(t.max_index, 3);
	assert_int_equal(dict_tmpl_expand("$1-$2-${3}$(1)$$x}", subject, ov, 4,
					  &out), 0);
	assert_string_equal(buf_str(&out), "a--ca$x}");
	assert_int_equal(g.count, 0);
	assert_int_equal(dict_tmpl_check("$x", &t, "pcre map /t", 2, &g), -1);
	assert_int_equal(dict_tmpl_check("${1", &t, "pcre map /t", 3, &g), -1);
	assert_int_equal(dict_tmpl_check("$ a", &t, "pcre map /t", 4, &g), -1);
	assert_int_equal(dict_tmpl_check("$0", &t, "regexp map /t", 5, &g), -1);
	assert_string_equal(buf_str(&g.text),
		"pcre map /t, line 2: non-numeric replacement index \"x\"\n"
		"pcre map /t, line 2: bad replacement syntax: skipping this rule\n"
		"truncated macro reference: \"${1\"\n"
		"pcre map /t, line 3: bad replacement syntax: skipping this rule\n"
		"empty macro name: \"$ a\"\n"
		"pcre map /t, line 4: bad replacement syntax: skipping this rule\n"
		"regexp map /t, line 5: out-of-range replacement index \"0\"\n"
		"regexp map /t, line 5: bad replacement syntax: skipping this rule\n");
	buf_free(&out);
	dict_diag_free(&g);
}

/* ---- regexp and pcre ---- */

static void test_pcre_rules(void **state)
{
	const char *t = "/^(a)(b)?c$/ got $1-$2-${1}x$$\n"
			"if /^x/\n/y/ inside\nendif\n"
			"!/foo/ notfoo\n";

	(void)state;
	assert_lookup(re_lookup(0, t, "abc"), "got a-b-ax$");
	assert_lookup(re_lookup(0, t, "ABC"), "got A-B-Ax$");
	assert_lookup(re_lookup(0, t, "ac"), "got a--ax$");
	assert_lookup(re_lookup(0, t, "xy"), "inside");
	assert_lookup(re_lookup(0, t, "xfoo"), NULL);
	assert_lookup(re_lookup(0, t, "zz"), "notfoo");
	assert_lookup(re_lookup(0, "/abc/i x\n", "ABC"), NULL);
	assert_lookup(re_lookup(0, "/abc/i x\n", "abc"), "x");
	assert_lookup(re_lookup(0, "/b/A y\n", "ab"), NULL);
	assert_lookup(re_lookup(0, "/(a+)/U [$1]\n", "aaa"), "[a]");
	assert_lookup(re_lookup(0, "/a b/x y\n", "ab"), "y");
	assert_lookup(re_lookup(0, "|a/b| x\n", "a/b"), "x");
	assert_lookup(re_lookup(0, "/a\\/b/ x\n", "a/b"), "x");
	assert_lookup(re_lookup(0, "/a/ first\n/a/ second\n", "a"), "first");
	assert_lookup(re_lookup(0, "/a/ x\n  cont\n", "a"), "x  cont");
	assert_lookup(re_lookup(0, "// y\n", "a"), "y");
	assert_lookup(re_lookup(0, "/\\d+/ y\n", "12"), "y");
	assert_lookup(re_lookup(0, "/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/ $10\n",
				"abcdefghij"), "j");
}

static void test_if_endif_nesting(void **state)
{
	const char *t = "if /a/\nif /b/\n/c/ abc\nendif\n/d/ ad\nendif\n"
			"/./ any\n";
	const char *neg = "if !/a/\n/b/ notab\nendif\n";

	(void)state;
	for (int posix = 0; posix < 2; posix++) {
		assert_lookup(re_lookup(posix, t, "abc"), "abc");
		assert_lookup(re_lookup(posix, t, "ad"), "ad");
		assert_lookup(re_lookup(posix, t, "bc"), "any");
		assert_lookup(re_lookup(posix, t, "abd"), "ad");
		assert_lookup(re_lookup(posix, neg, "b"), "notab");
		assert_lookup(re_lookup(posix, neg, "ab"), NULL);
		/* an IF without ENDIF extends to the end */
		assert_lookup(re_lookup(posix, "if /a/\n/b/ y\n", "b"), NULL);
		assert_lookup(re_lookup(posix, "if /a/\n/b/ y\n", "ab"), "y");
		assert_lookup(re_lookup(posix, "IF /a/\n/a/ y\nENDIF\n", "a"),
			      "y");
	}
}

static void test_re_messages(void **state)
{
	static const struct {
		int posix;
		const char *table, *msg;
	} cases[] = {
		{0, "/a/ x\nif /b/\n/c/ y\n",
		 "pcre map /t, line 2: IF has no matching ENDIF"},
		{1, "/a/ x\nendif\n",
		 "regexp map /t, line 2: ignoring ENDIF without matching IF"},
		{0, "/a(/ x\n", "pcre map /t, line 1: error in regex at offset "
		 "2: missing closing parenthesis"},
		{1, "\n\n/a(/ x\n", "regexp map /t, line 3: Unmatched ( or \\("},
		{0, "/a/q x\n", "pcre map /t, line 1: unknown regexp option "
		 "\"q\": skipping this rule"},
		{1, "/a/s x\n", "regexp map /t, line 1: unknown regexp option "
		 "\"s\": skipping this rule"},
		{0, "abc x\n", "pcre map /t, line 1: ignoring unrecognized "
		 "request"},
		{0, "/a/ $3\n", "pcre map /t, line 1: out of range replacement "
		 "index \"3\": skipping this rule"},
		{1, "!/(a)/ $1\n", "regexp map /t, line 1: $number found in "
		 "negative match replacement text: skipping this rule"},
		{0, "/a\n", "pcre map /t, line 1: no closing regexp delimiter "
		 "\"/\": ignoring this rule"},
		{1, "/a\n", "regexp map /t, line 1: no closing regexp "
		 "delimiter \"/\": skipping this rule"},
		{0, "/a/\n", "pcre map /t, line 1: no replacement text: using "
		 "empty string"},
		{0, "if\n", "pcre map /t, line 1: no regexp: skipping this "
		 "rule"},
		{0, "/a/X y\n", "pcre map /t, line 1: ignoring obsolete regexp "
		 "option \"X\""},
	};
	char expect[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(expect, sizeof(expect), "%s\n", cases[i].msg);
		assert_string_equal(re_messages(cases[i].posix,
						cases[i].table), expect);
	}
	/* a broken rule is skipped, the others still work */
	assert_lookup(re_lookup(0, "/(/ z\n/a/ y\n", "a"), "y");
}

static void test_posix_translation(void **state)
{
	static const struct {
		const char *table, *key, *expect;
	} cases[] = {
		{"/[\\.]/ y", "\\", "y"},
		{"/[\\.]/ y", "a", NULL},
		{"/a{,2}b/ y", "b", "y"},
		{"/a)/ y", "a)", "y"},
		{"/(a|ab)(c|bcd)/ [$1][$2]", "abcd", "[a][bcd]"},
		{"/\\(a\\)/x [$1]", "(a)", "[a]"},
		{"/a+/x y", "a+", "y"},
		{"/a+/x y", "a", NULL},
		{"/\\<ab\\>/ y", "x ab y", "y"},
		{"/\\<ab\\>/ y", "xab", NULL},
		{"/\\w\\s\\W/ y", "a .", "y"},
		{"/[[:alpha:]]+$/ y", "abc", "y"},
		{"/[[.a.]]/ y", "a", "y"},
		{"/a**/ y", "a", "y"},
		{"/a*?b/ y", "aab", "y"},
		{"/(a)\\1/ y", "aa", "y"},
		{"/a{2}{3}/ y", "aaaaaa", "y"},
		{"/x^a/ y", "x^a", NULL},
		{"/\\Qa/ y", "Qa", "y"},
		{"/^a.b$/ y", "a\nb", "y"},
		{"/^a.b$/m y", "a\nb", NULL},
		{"/*a/x y", "*a", "y"},
		{"/a\\{2\\}/x y", "aa", "y"},
		{"/a|b/x y", "a|b", "y"},
		{"/a\\|b/x y", "b", "y"},
		{"/x$y/x y", "x$y", "y"},
		{"/ab$/ y", "ab\n", NULL},
	};
	static const struct {
		const char *table, *msg;
	} errors[] = {
		{"/a{x/ y", "Unmatched \\{"},
		{"/(?:a)/ y", "Invalid preceding regular expression"},
		{"/*a/ y", "Invalid preceding regular expression"},
		{"/a|*b/ y", "Invalid preceding regular expression"},
		{"/^*/ y", "Invalid preceding regular expression"},
		{"/[a/ y", "Unmatched [, [^, [:, [., or [="},
		{"/[z-a]/ y", "Invalid range end"},
		{"/\\1/ y", "Invalid back reference"},
		{"/a{1,2/ y", "Unmatched \\{"},
		{"/a{3,2}/ y", "Invalid content of \\{\\}"},
		{"/[[:foo:]]/ y", "Invalid character class name"},
		{"/a{99999}/ y", "Regular expression too big"},
		{"/a\\)/x y", "Unmatched ) or \\)"},
		{"/(a/ y", "Unmatched ( or \\("},
	};
	char line[256], expect[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "%s\n", cases[i].table);
		assert_lookup(re_lookup(1, line, cases[i].key),
			      cases[i].expect);
	}
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		snprintf(line, sizeof(line), "%s\n", errors[i].table);
		snprintf(expect, sizeof(expect), "regexp map /t, line 1: %s\n",
			 errors[i].msg);
		assert_string_equal(re_messages(1, line), expect);
	}
}

/* ---- cidr ---- */

static void test_cidr(void **state)
{
	const char *t = "2001:db8::/32 v6\n[2001:db9::]/32 v6b\n"
			"::ffff:1.2.3.4 mapped\n1.2.3.4 v4\n"
			"192.168.0.0/16 lan\n::/0 any6\n0.0.0.0/0 any4\n";

	(void)state;
	assert_lookup(cidr_lookup(t, "2001:db8::1"), "v6");
	assert_lookup(cidr_lookup(t, "2001:DB8::1"), "v6");
	assert_lookup(cidr_lookup(t, "[2001:db8::1]"), NULL);
	assert_lookup(cidr_lookup(t, "2001:db9::5"), "v6b");
	assert_lookup(cidr_lookup(t, "::ffff:1.2.3.4"), "mapped");
	assert_lookup(cidr_lookup(t, "1.2.3.4"), "v4");
	assert_lookup(cidr_lookup(t, "192.168.255.255"), "lan");
	assert_lookup(cidr_lookup(t, "192.169.0.0"), "any4");
	assert_lookup(cidr_lookup(t, "::1"), "any6");
	assert_lookup(cidr_lookup(t, "foo"), NULL);
	assert_lookup(cidr_lookup(t, "1.2.3"), NULL);
	assert_lookup(cidr_lookup(t, "01.2.3.4"), NULL);
	assert_lookup(cidr_lookup(t, ""), NULL);
	/* edges: /0, /32, /128, odd lengths */
	assert_lookup(cidr_lookup("10.0.0.0/9 a\n", "10.127.255.255"), "a");
	assert_lookup(cidr_lookup("10.0.0.0/9 a\n", "10.128.0.0"), NULL);
	assert_lookup(cidr_lookup("2001:db8::1/128 h\n", "2001:db8::1"), "h");
	assert_lookup(cidr_lookup("2001:db8::/127 h\n", "2001:db8::1"), "h");
	assert_lookup(cidr_lookup("2001:db8::/127 h\n", "2001:db8::2"), NULL);
	assert_lookup(cidr_lookup("[1.2.3.0/24] x\n", "1.2.3.9"), "x");
	assert_lookup(cidr_lookup("1.2.3.4/024 x\n", "1.2.3.4"), NULL);
	assert_lookup(cidr_lookup("1.2.3.0/024 x\n", "1.2.3.4"), "x");
	/* negation, if/endif */
	assert_lookup(cidr_lookup("!1.2.3.0/24 neg\n", "1.2.3.4"), NULL);
	assert_lookup(cidr_lookup("!1.2.3.0/24 neg\n", "9.9.9.9"), "neg");
	assert_lookup(cidr_lookup("!1.2.3.0/24 neg\n", "::1"), NULL);
	assert_lookup(cidr_lookup("if !1.2.3.0/24\n::/0 x\nendif\n", "::1"),
		      NULL);
	assert_lookup(cidr_lookup("! 1.2.3.4 x\n", "9.9.9.9"), "x");
	assert_lookup(cidr_lookup("!!1.2.3.4 x\n", "1.2.3.4"), "x");
	assert_lookup(cidr_lookup("if 1.2.3.0/24\n1.2.3.4 in\nendif\n",
				  "1.2.3.4"), "in");
	assert_lookup(cidr_lookup("IF !1.2.3.0/24\n0.0.0.0/0 out\nENDIF\n",
				  "9.9.9.9"), "out");
	assert_lookup(cidr_lookup("if 10.0.0.0/8\nif 10.1.0.0/16\n0.0.0.0/0 a"
				  "\nendif\n0.0.0.0/0 b\nendif\n0.0.0.0/0 c\n",
				  "10.2.0.1"), "b");
	assert_lookup(cidr_lookup("if 10.0.0.0/8\nif 10.1.0.0/16\n0.0.0.0/0 a"
				  "\nendif\n0.0.0.0/0 b\nendif\n0.0.0.0/0 c\n",
				  "10.1.0.1"), "a");
	assert_lookup(cidr_lookup("if 10.0.0.0/8\nif 10.1.0.0/16\n0.0.0.0/0 a"
				  "\nendif\n0.0.0.0/0 b\nendif\n0.0.0.0/0 c\n",
				  "11.0.0.1"), "c");
	assert_lookup(cidr_lookup("1.2.3.4 x # c\n", "1.2.3.4"), "x # c");
	assert_lookup(cidr_lookup("1.2.3.4 a\n  b\n", "1.2.3.4"), "a  b");
}

static void test_cidr_messages(void **state)
{
	static const struct {
		const char *table, *msg;
	} cases[] = {
		{"1.2.3.4/24 x", "line 1: non-null host address bits in "
		 "\"1.2.3.4/24\", perhaps you should use \"1.2.3.0/24\" "
		 "instead: skipping this rule"},
		{"2001:db8::1/32 x", "line 1: non-null host address bits in "
		 "\"2001:db8::1/32\", perhaps you should use "
		 "\"2001:db8::/32\" instead: skipping this rule"},
		{"1.2.3.0/33 x", "line 1: bad mask length in \"1.2.3.0/33\": "
		 "skipping this rule"},
		{"::1/129 x", "line 1: bad mask length in \"::1/129\": "
		 "skipping this rule"},
		{"1.2.3.0/24", "line 1: no lookup result: skipping this rule"},
		{"foo x", "line 1: bad address pattern: \"foo\": skipping "
		 "this rule"},
		{"foo/24 x", "line 1: bad network value in \"foo/24\": "
		 "skipping this rule"},
		{"foo/33 x", "line 1: bad mask length in \"foo/33\": "
		 "skipping this rule"},
		{"1.2.3.4/ x", "line 1: bad mask value in \"1.2.3.4/\": "
		 "skipping this rule"},
		{"1.2.3.4/-1 x", "line 1: bad mask value in \"1.2.3.4/-1\": "
		 "skipping this rule"},
		{"[1.2.3.4 x", "line 1: missing ']' character after "
		 "\"[1.2.3.4\": skipping this rule"},
		{"[1.2.3.4]x y", "line 1: garbage after \"[1.2.3.4]\": "
		 "skipping this rule"},
		{"[1.2.3.4]/24 x", "line 1: non-null host address bits in "
		 "\"1.2.3.4/24\", perhaps you should use \"1.2.3.0/24\" "
		 "instead: skipping this rule"},
		{"endif", "line 1: ENDIF without IF: skipping this rule"},
		{"endif foo", "line 1: garbage after ENDIF: skipping this "
		 "rule"},
		{"if", "line 1: no address pattern: skipping this rule"},
		{"!", "line 1: no address pattern: skipping this rule"},
		{"1.2.3.4/99999999999 x", "line 1: bad mask length in "
		 "\"1.2.3.4/99999999999\": skipping this rule"},
		{"if 1.2.3.0/24 extra", "line 1: bad mask value in "
		 "\"1.2.3.0/24 extra\": skipping this rule"},
		{"\n\nif 1.2.3.0/24\n1.2.3.4 in", "line 3: IF has no matching "
		 "ENDIF"},
	};
	char line[512], expect[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "%s\n", cases[i].table);
		snprintf(expect, sizeof(expect), "cidr map /c, %s\n",
			 cases[i].msg);
		assert_string_equal(cidr_messages(line), expect);
	}
}

/* ---- the dict interface ---- */

static void test_static_inline_unix(void **state)
{
	struct dict *d;
	struct buf err;
	const char *k, *v;

	(void)state;
	assert_lookup(lookup("static:foo", "anything"), "foo");
	assert_lookup(lookup("static:{ a b }", "x"), "a b");
	assert_lookup(lookup("inline:{a=1, { b = x y }, C=3 }", "b"), "x y");
	assert_lookup(lookup("inline:{a=1, { b = x y }, C=3 }", "c"), "3");
	assert_lookup(lookup("inline:{a=1, { b = x y }, C=3 }", "C"), "3");
	assert_lookup(lookup_flags("inline:{a=1, C=3 }", 0, "C"), "3");
	assert_lookup(lookup_flags("inline:{a=1, C=3 }", 0, "c"), NULL);
	assert_lookup(lookup("inline:{a=1}", "zz"), NULL);
	assert_non_null(lookup("unix:passwd.byname", "ROOT"));
	assert_non_null(lookup("unix:passwd.byname", "root"));
	assert_true(strncmp(result, "root:", 5) == 0);
	assert_lookup(lookup("unix:passwd.byname", "no-such-user-x"), NULL);

	buf_init(&err, 4096);
	assert_int_equal(dict_open("inline:{a=1, b}", 0, &d, &err), DICT_ERR);
	assert_string_equal(buf_str(&err), "missing '=' after attribute name: "
			    "\"inline:{a=1, b}\"; need \"inline:{name="
			    "value...}\"");
	buf_reset(&err);
	assert_int_equal(dict_open("inline:a=1", 0, &d, &err), DICT_ERR);
	buf_reset(&err);
	assert_int_equal(dict_open("nosuch:x", 0, &d, &err), DICT_ERR);
	assert_string_equal(buf_str(&err),
			    "unsupported dictionary type: nosuch");
	buf_reset(&err);
	assert_int_equal(dict_open("plain", 0, &d, &err), DICT_ERR);
	buf_reset(&err);
	assert_int_equal(dict_open("pcre:/x", DICT_FLAG_WRITE, &d, &err),
			 DICT_ERR);
	buf_reset(&err);
	assert_int_equal(dict_open("unix:nope", 0, &d, &err), DICT_ERR);
	buf_reset(&err);
	assert_int_equal(dict_open("static:x", 0, &d, &err), DICT_OK);
	assert_int_equal(dict_next(d, DICT_SEQ_FIRST, &k, &v),
			 DICT_ERR_NOTSUP);
	assert_string_equal(dict_error(d), "table static:x: sequence "
			    "operation is not supported");
	assert_int_equal(dict_set(d, "a", "b"), DICT_ERR_NOTSUP);
	dict_discard(d);
	buf_free(&err);
}

static void test_texthash(void **state)
{
	const char *path = test_write_file("th", "Foo   bar baz\nfoo dup\n# c\n"
					   "key\n\nx\ty\n  cont\n");
	struct dict *d;
	struct buf err;
	const char *k, *v;
	int n = 0;

	(void)state;
	assert_lookup(lookup(spec_of("texthash", path), "FOO"), "bar baz");
	assert_lookup(lookup(spec_of("texthash", path), "x"), "y  cont");
	assert_lookup(lookup(spec_of("texthash", path), "key"), NULL);
	assert_lookup(lookup_flags(spec_of("texthash", path), DICT_FLAG_QUIET,
				   "foo"), "dup");
	test_log_capture();
	assert_lookup(lookup_flags(spec_of("texthash", path), DICT_FLAG_FOLD,
				   "foo"), "bar baz");
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "th, line 2: duplicate entry: \"foo\""));
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "th, line 4: expected format: key whitespace "
			       "value -- ignoring this line"));
	buf_init(&err, 4096);
	assert_int_equal(dict_open(spec_of("texthash", path),
				   DICT_FLAG_FOLD | DICT_FLAG_STRICT, &d,
				   &err), DICT_ERR);
	assert_non_null(strstr(buf_str(&err), "line 2: duplicate entry"));
	assert_int_equal(dict_open(spec_of("texthash", path),
				   DICT_FLAG_FOLD | DICT_FLAG_QUIET, &d, &err),
			 DICT_OK);
	for (int rc = dict_next(d, DICT_SEQ_FIRST, &k, &v); rc == DICT_OK;
	     rc = dict_next(d, DICT_SEQ_NEXT, &k, &v))
		n++;
	assert_int_equal(n, 2);
	dict_discard(d);
	buf_reset(&err);
	assert_int_equal(dict_open("texthash:/nonexistent/x", 0, &d, &err),
			 DICT_ERR);
	assert_string_equal(buf_str(&err), "open /nonexistent/x: No such file "
			    "or directory");
	buf_free(&err);
}

static void test_regexp_pcre_files(void **state)
{
	const char *path = test_write_file("re", "/^(.*)@example\\.com$/ "
					   "local $1\n/(/ broken\n");
	struct dict *d;
	struct buf err;

	(void)state;
	assert_lookup(lookup(spec_of("pcre", path), "Joe@Example.COM"),
		      "local Joe");
	assert_lookup(lookup(spec_of("regexp", path), "Joe@Example.COM"),
		      "local Joe");
	test_log_capture();
	assert_lookup(lookup_flags(spec_of("pcre", path), DICT_FLAG_FOLD,
				   "x"), NULL);
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines), "warning: pcre map "));
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "re, line 2: error in regex at offset 1: "
			       "missing closing parenthesis"));
	buf_init(&err, 4096);
	assert_int_equal(dict_open(spec_of("regexp", path), DICT_FLAG_STRICT,
				   &d, &err), DICT_ERR);
	assert_non_null(strstr(buf_str(&err), "regexp map "));
	assert_non_null(strstr(buf_str(&err), "re, line 2: Unmatched ( or"));
	buf_free(&err);
}

/* build - an lmdb table from pairs */
static void build(const char *spec, int flags, const char *const *kv)
{
	struct dict *d;
	struct buf err;

	buf_init(&err, 4096);
	if (dict_open(spec, flags | DICT_FLAG_WRITE | DICT_FLAG_TRUNC, &d,
		      &err) != DICT_OK)
		fail_msg("%s", buf_str(&err));
	for (; kv[0]; kv += 2)
		assert_true(dict_set(d, kv[0], kv[1]) >= 0);
	assert_int_equal(dict_close(d, &err), DICT_OK);
	buf_free(&err);
}

static void test_lmdb(void **state)
{
	static const char *const v1[] = {"Foo", "bar", "x", "1", NULL};
	char base[256], spec[300], file[300];
	struct dict *d, *w;
	struct buf err;
	const char *k, *v;
	struct stat st;
	int n = 0;

	(void)state;
	snprintf(base, sizeof(base), "%s/tbl", test_tmpdir());
	snprintf(spec, sizeof(spec), "lmdb:%s", base);
	snprintf(file, sizeof(file), "%s.lmdb", base);
	build(spec, DICT_FLAG_FOLD, v1);
	assert_int_equal(stat(file, &st), 0);
	assert_lookup(lookup(spec, "FOO"), "bar");
	snprintf(spec, sizeof(spec), "hash:%s", base);
	assert_lookup(lookup(spec, "foo"), "bar");
	snprintf(spec, sizeof(spec), "btree:%s", base);
	assert_lookup(lookup_flags(spec, 0, "FOO"), NULL);
	snprintf(spec, sizeof(spec), "lmdb:%s", base);

	/* A reader open across a rebuild sees the new contents. */
	buf_init(&err, 4096);
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD, &d, &err), DICT_OK);
	assert_int_equal(dict_get(d, "foo", &v), DICT_OK);
	assert_string_equal(v, "bar");
	{
		static const char *const v2[] = {"foo", "new", "y", "2", NULL};

		build(spec, DICT_FLAG_FOLD, v2);
	}
	assert_int_equal(dict_get(d, "foo", &v), DICT_OK);
	assert_string_equal(v, "new");
	assert_int_equal(dict_get(d, "x", &v), DICT_NOTFOUND);
	for (int rc = dict_next(d, DICT_SEQ_FIRST, &k, &v); rc == DICT_OK;
	     rc = dict_next(d, DICT_SEQ_NEXT, &k, &v))
		n++;
	assert_int_equal(n, 2);

	/* Updates: copy, change, rename; duplicates kept unless REPLACE. */
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD | DICT_FLAG_WRITE, &w,
				   &err), DICT_OK);
	assert_int_equal(dict_set(w, "FOO", "other"), DICT_EXISTS);
	assert_int_equal(dict_set(w, "z", "3"), DICT_OK);
	assert_int_equal(dict_del(w, "y"), DICT_OK);
	assert_int_equal(dict_del(w, "y"), DICT_NOTFOUND);
	assert_int_equal(dict_get(w, "z", &v), DICT_OK);
	/* not visible to the reader before the commit */
	assert_int_equal(dict_get(d, "z", &v), DICT_NOTFOUND);
	assert_int_equal(dict_close(w, &err), DICT_OK);
	assert_int_equal(dict_get(d, "z", &v), DICT_OK);
	assert_string_equal(v, "3");
	assert_int_equal(dict_get(d, "y", &v), DICT_NOTFOUND);
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD | DICT_FLAG_WRITE |
					   DICT_FLAG_DUP_REPLACE, &w, &err),
			 DICT_OK);
	assert_int_equal(dict_set(w, "foo", "replaced"), DICT_OK);
	dict_discard(w); /* nothing replaced */
	assert_int_equal(dict_get(d, "foo", &v), DICT_OK);
	assert_string_equal(v, "new");
	dict_discard(d);

	/* Postalias-style NUL-terminated entries are found either way. */
	{
		static const char *const v3[] = {"root", "admin", NULL};

		build(spec, DICT_FLAG_FOLD | DICT_FLAG_NUL, v3);
	}
	assert_lookup(lookup(spec, "root"), "admin");
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD, &d, &err), DICT_OK);
	assert_int_equal(dict_next(d, DICT_SEQ_FIRST, &k, &v), DICT_OK);
	assert_string_equal(k, "root");
	assert_string_equal(v, "admin");
	dict_discard(d);

	buf_reset(&err);
	snprintf(spec, sizeof(spec), "lmdb:%s/missing", test_tmpdir());
	assert_int_equal(dict_open(spec, 0, &d, &err), DICT_ERR);
	assert_non_null(strstr(buf_str(&err), "open database "));
	assert_non_null(strstr(buf_str(&err),
			       "missing.lmdb: No such file or directory"));
	buf_free(&err);
}

/* A rebuild in the middle of a walk: the walk finishes over the table it
 * started on, lookups in between already see the new one, and the next
 * walk starts on the new one. */
static void test_lmdb_rebuild_mid_walk(void **state)
{
	static const char *const v1[] = {"a", "1", "b", "2", "c", "3",
					  "d", "4", NULL};
	static const char *const v2[] = {"p", "new", "q", "new", NULL};
	char spec[300];
	struct dict *d;
	struct buf err, seen;
	const char *k, *v;
	int rc, n = 0;

	(void)state;
	snprintf(spec, sizeof(spec), "lmdb:%s/walk", test_tmpdir());
	build(spec, DICT_FLAG_FOLD, v1);
	buf_init(&err, 4096);
	buf_init(&seen, 4096);
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD, &d, &err), DICT_OK);
	assert_int_equal(dict_next(d, DICT_SEQ_FIRST, &k, &v), DICT_OK);
	buf_printf(&seen, "%s=%s ", k, v);
	n++;
	for (int round = 0; round < 2; round++) {
		build(spec, DICT_FLAG_FOLD, round ? v1 : v2);
		assert_int_equal(dict_get(d, "p", &v),
				 round ? DICT_NOTFOUND : DICT_OK);
		assert_int_equal(dict_get(d, "a", &v),
				 round ? DICT_OK : DICT_NOTFOUND);
		assert_int_equal(dict_next(d, DICT_SEQ_NEXT, &k, &v), DICT_OK);
		buf_printf(&seen, "%s=%s ", k, v);
		n++;
	}
	while ((rc = dict_next(d, DICT_SEQ_NEXT, &k, &v)) == DICT_OK) {
		buf_printf(&seen, "%s=%s ", k, v);
		n++;
	}
	assert_int_equal(rc, DICT_NOTFOUND);
	assert_int_equal(n, 4);
	assert_string_equal(buf_str(&seen), "a=1 b=2 c=3 d=4 ");
	/* The next walk is over the table as it is now. */
	build(spec, DICT_FLAG_FOLD, v2);
	buf_reset(&seen);
	for (rc = dict_next(d, DICT_SEQ_FIRST, &k, &v); rc == DICT_OK;
	     rc = dict_next(d, DICT_SEQ_NEXT, &k, &v))
		buf_printf(&seen, "%s=%s ", k, v);
	assert_string_equal(buf_str(&seen), "p=new q=new ");
	dict_discard(d);
	buf_free(&seen);
	buf_free(&err);
}

/* Keys the dict itself handed out (a dict_next key, a dict_get value) may
 * be passed back as the next key: the op must not see them change under
 * it (fold copy, result buffer reset and regrown during substitution). */
static void test_key_from_own_buffers(void **state)
{
	static const char *const kv[] = {"alpha", "one", "beta", "two", NULL};
	char spec[300], long_local[600];
	const char *path, *k, *v;
	struct dict *d;
	struct buf err;
	int n = 0;

	(void)state;
	buf_init(&err, 4096);
	snprintf(spec, sizeof(spec), "lmdb:%s/own", test_tmpdir());
	build(spec, DICT_FLAG_FOLD, kv);
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD, &d, &err), DICT_OK);
	for (int rc = dict_next(d, DICT_SEQ_FIRST, &k, &v); rc == DICT_OK;
	     rc = dict_next(d, DICT_SEQ_NEXT, &k, &v)) {
		char want[64];

		snprintf(want, sizeof(want), "%s", v);
		assert_int_equal(dict_get(d, k, &v), DICT_OK);
		assert_string_equal(v, want);
		n++;
	}
	assert_int_equal(n, 2);
	dict_discard(d);

	/* A result fed back through a rewriting pattern table: $1 comes from
	 * the old result while the new one is built in the same buffer, which
	 * has to grow (the input is longer than its first allocation). */
	path = test_write_file("chain", "/^(.*)@old\\.example$/ $1@mid.example\n"
				       "/^(.*)@mid\\.example$/ $1$1@new.example\n");
	snprintf(spec, sizeof(spec), "pcre:%s", path);
	assert_int_equal(dict_open(spec, DICT_FLAG_FOLD, &d, &err), DICT_OK);
	memset(long_local, 'u', 300);
	snprintf(long_local + 300, sizeof(long_local) - 300, "@old.example");
	assert_int_equal(dict_get(d, long_local, &v), DICT_OK);
	assert_int_equal(strlen(v), 300 + strlen("@mid.example"));
	assert_int_equal(dict_get(d, v, &v), DICT_OK);
	assert_int_equal(strlen(v), 600 + strlen("@new.example"));
	assert_true(strspn(v, "u") == 600);
	assert_string_equal(v + 600, "@new.example");
	dict_discard(d);
	buf_free(&err);
}

/* Rule arrays grow while IF blocks are open: the block ends recorded after
 * many reallocations still point at the right rules (indexes, not
 * pointers), and nothing leaks (ASan). */
static void test_rule_growth(void **state)
{
	struct buf cidr, re;

	(void)state;
	buf_init(&cidr, 1 << 20);
	buf_init(&re, 1 << 20);
	buf_puts(&cidr, "if 10.0.0.0/8\nif 10.1.0.0/16\n");
	buf_puts(&re, "if /^a/\nif /^ab/\n");
	for (int i = 0; i < 300; i++) {
		buf_printf(&cidr, "10.1.%d.0/24 in%d\n", i % 256, i);
		buf_printf(&re, "/^abx%dy$/ in%d\n", i, i);
	}
	buf_puts(&cidr, "endif\n10.2.0.0/16 mid\nendif\n0.0.0.0/0 out\n");
	buf_puts(&re, "endif\n/^ac/ mid\nendif\n/./ out\n");
	assert_lookup(cidr_lookup(buf_str(&cidr), "10.1.3.9"), "in3");
	assert_lookup(cidr_lookup(buf_str(&cidr), "10.1.255.1"), "in255");
	assert_lookup(cidr_lookup(buf_str(&cidr), "10.2.0.1"), "mid");
	assert_lookup(cidr_lookup(buf_str(&cidr), "11.0.0.1"), "out");
	for (int posix = 0; posix < 2; posix++) {
		assert_lookup(re_lookup(posix, buf_str(&re), "abx299y"),
			      "in299");
		assert_lookup(re_lookup(posix, buf_str(&re), "acq"), "mid");
		assert_lookup(re_lookup(posix, buf_str(&re), "zz"), "out");
		assert_lookup(re_lookup(posix, buf_str(&re), "abz"), "out");
	}
	buf_free(&cidr);
	buf_free(&re);
}

static void test_key_limits(void **state)
{
	char *big = malloc(DICT_KEY_MAX + 2);
	struct dict *d;
	struct buf err;
	const char *v;

	(void)state;
	memset(big, 'a', DICT_KEY_MAX + 1);
	big[DICT_KEY_MAX + 1] = 0;
	buf_init(&err, 4096);
	assert_int_equal(dict_open("static:x", 0, &d, &err), DICT_OK);
	assert_int_equal(dict_get(d, big, &v), DICT_ERR);
	dict_discard(d);
	buf_free(&err);
	free(big);
}

static int teardown(void **state)
{
	(void)state;
	buf_free(&msgs);
	if (test_log_lines.data)
		buf_free(&test_log_lines);
	test_cleanup_tmpdir();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logical_lines),
		cmocka_unit_test(test_text_split),
		cmocka_unit_test(test_alias_split),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_pcre_rules),
		cmocka_unit_test(test_if_endif_nesting),
		cmocka_unit_test(test_re_messages),
		cmocka_unit_test(test_posix_translation),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_cidr_messages),
		cmocka_unit_test(test_static_inline_unix),
		cmocka_unit_test(test_texthash),
		cmocka_unit_test(test_regexp_pcre_files),
		cmocka_unit_test(test_lmdb),
		cmocka_unit_test(test_lmdb_rebuild_mid_walk),
		cmocka_unit_test(test_key_from_own_buffers),
		cmocka_unit_test(test_rule_growth),
		cmocka_unit_test(test_key_limits),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
