/* test_str - string helpers: tokens, trimming, case, numbers, secrets. */
#include "testutil.h"

#include <limits.h>

#include "core/str.h"

static void test_token(void **state)
{
	char text[] = "  a, b,,c\t\n d  ";
	char *cur = text;

	(void)state;
	assert_string_equal(str_token(&cur, STR_LIST_SEP), "a");
	assert_string_equal(str_token(&cur, STR_LIST_SEP), "b");
	assert_string_equal(str_token(&cur, STR_LIST_SEP), "c");
	assert_string_equal(str_token(&cur, STR_LIST_SEP), "d");
	assert_null(str_token(&cur, STR_LIST_SEP));
	assert_null(str_token(&cur, STR_LIST_SEP)); /* stays at the end */

	char empty[] = "";
	char seps[] = " ,, ";
	cur = empty;
	assert_null(str_token(&cur, STR_LIST_SEP));
	cur = seps;
	assert_null(str_token(&cur, STR_LIST_SEP));
	cur = NULL;
	assert_null(str_token(&cur, STR_LIST_SEP));

	char one[] = "only";
	cur = one;
	assert_string_equal(str_token(&cur, ","), "only");
	assert_null(str_token(&cur, ","));
}

static void test_trim_lower(void **state)
{
	char a[] = " \t hello world \r\n";
	char b[] = "   ";
	char c[] = "x";
	char d[] = "MiXeD-Case.EXAMPLE\xc3\x89";

	(void)state;
	assert_string_equal(str_trim(a), "hello world");
	assert_string_equal(str_trim(b), "");
	assert_string_equal(str_trim(c), "x");
	/* ASCII only: non-ASCII bytes are left as they are. */
	assert_string_equal(str_lower(d), "mixed-case.example\xc3\x89");
}

static void test_case_compare(void **state)
{
	(void)state;
	assert_int_equal(str_casecmp("Example.COM", "example.com"), 0);
	assert_true(str_casecmp("a", "b") < 0);
	assert_true(str_casecmp("B", "a") > 0);
	assert_true(str_casecmp("ab", "a") > 0);
	assert_true(str_casecmp("", "a") < 0);
	assert_int_equal(str_casecmp("", ""), 0);
	assert_int_equal(str_ncasecmp("HELO x", "helo y", 4), 0);
	assert_true(str_ncasecmp("HELO x", "helo y", 6) != 0);
	assert_int_equal(str_ncasecmp("ab", "AB", 10), 0);
	assert_true(str_ncasecmp("a", "ab", 10) < 0);
	assert_int_equal(str_ncasecmp("x", "y", 0), 0);
	assert_true(str_has_prefix("smtpd_tls_cert", "smtpd_"));
	assert_false(str_has_prefix("smtp", "smtpd"));
	assert_true(str_has_prefix("any", ""));
}

static void test_to_long(void **state)
{
	static const char *bad[] = {
		"",
		" 1",
		"1 ",
		"1x",
		"x",
		"-",
		"+",
		"0x10",
		"1.5",
		"9223372036854775808",
		"-9223372036854775809",
		"99999999999999999999",
	};
	long v;

	(void)state;
	assert_int_equal(str_to_long("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_to_long("-42", &v), 0);
	assert_int_equal(v, -42);
	assert_int_equal(str_to_long("+7", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(str_to_long("010", &v), 0); /* decimal, not octal */
	assert_int_equal(v, 10);
	assert_int_equal(str_to_long("9223372036854775807", &v), 0);
	assert_true(v == LONG_MAX);
	assert_int_equal(str_to_long("-9223372036854775808", &v), 0);
	assert_true(v == LONG_MIN);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (str_to_long(bad[i], &v) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(v, 12345); /* untouched on error */
	}
	assert_int_equal(str_to_long(NULL, &v), -1);
}

static void test_secure_eq(void **state)
{
	(void)state;
	assert_true(str_secure_eq("secret", 6, "secret", 6));
	assert_false(str_secure_eq("secret", 6, "secreT", 6));
	assert_false(str_secure_eq("secret", 6, "secret!", 7));
	assert_false(str_secure_eq("secret", 6, "secre", 5));
	assert_true(str_secure_eq("", 0, "", 0));
	assert_true(str_secure_eq("a\0b", 3, "a\0b", 3));
	assert_false(str_secure_eq("a\0b", 3, "a\0c", 3));
	assert_false(str_secure_eq("x", 1, "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_trim_lower),
		cmocka_unit_test(test_case_compare),
		cmocka_unit_test(test_to_long),
		cmocka_unit_test(test_secure_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
