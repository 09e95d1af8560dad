/* test_buf - the bounded byte buffer: limits, sticky errors, binary data. */
#include "testutil.h"

static void test_init_empty(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_non_null(buf_str(&b));
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
	assert_null(b.data);
	/* Re-initialising after buf_free() works. */
	buf_init(&b, 5);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	buf_free(&b);
}

/* Boundary: exactly max fits; one more byte fails and stores nothing. */
static void test_append_past_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	assert_int_equal(buf_len(&b), 10);
	assert_int_equal(buf_putc(&b, 'x'), BUF_ERR_FULL);
	assert_int_equal(buf_len(&b), 10);
	assert_string_equal(buf_str(&b), "0123456789");
	assert_int_equal(buf_error(&b), BUF_ERR_FULL);
	/* Nothing appended: still fine, and the error stays. */
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(buf_error(&b), BUF_ERR_FULL);
	buf_free(&b);

	/* An append that would cross max stores none of itself. */
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123"), 0);
	assert_int_equal(buf_puts(&b, "4567890"), BUF_ERR_FULL);
	assert_string_equal(buf_str(&b), "0123");
	buf_free(&b);
}

static void test_error_sticky(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_puts(&b, "abcdef"), BUF_ERR_FULL);
	/* A later append that fits succeeds; the error is still reported. */
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_string_equal(buf_str(&b), "ab");
	assert_int_equal(buf_error(&b), BUF_ERR_FULL);
	buf_clear_error(&b);
	assert_int_equal(buf_error(&b), 0);
	assert_string_equal(buf_str(&b), "ab");

	assert_int_equal(buf_printf(&b, "%d", 12345), BUF_ERR_FULL);
	assert_int_equal(buf_error(&b), BUF_ERR_FULL);
	/* buf_set() starts over: reset clears the error, then appends. */
	assert_int_equal(buf_sets(&b, "wxyz"), 0);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(buf_sets(&b, "vwxyz"), BUF_ERR_FULL);
	assert_int_equal(buf_len(&b), 0);
	buf_reset(&b);
	assert_int_equal(buf_error(&b), 0);
	buf_free(&b);
}

static void test_zero_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_putc(&b, 'a'), BUF_ERR_FULL);
	assert_int_equal(buf_printf(&b, "%s", "a"), BUF_ERR_FULL);
	/* An empty printf appends nothing, so it fits. */
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(buf_error(&b), BUF_ERR_FULL);
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_printf_growth(void **state)
{
	struct buf b;
	char big[5000];

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	buf_init(&b, 1 << 16);
	assert_int_equal(buf_printf(&b, "%s=%d;", "a", 1), 0);
	assert_string_equal(buf_str(&b), "a=1;");
	/* Far past the initial allocation, in one call and then many. */
	assert_int_equal(buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(buf_len(&b), 4 + 2 + strlen(big));
	assert_int_equal(buf_str(&b)[buf_len(&b)], 0);
	assert_int_equal(buf_str(&b)[buf_len(&b) - 1], ']');
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%04d", i), 0);
	assert_int_equal(buf_len(&b), 4 + 2 + strlen(big) + 4000);
	assert_memory_equal(buf_str(&b) + buf_len(&b) - 4, "0999", 4);
	assert_true(b.cap <= b.max + 1);
	buf_free(&b);
}

static void test_printf_limits(void **state)
{
	struct buf b;

	(void)state;
	/* Text that fits the allocation but not max: refused, unchanged. */
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(buf_printf(&b, "%s", "0123456789"), BUF_ERR_FULL);
	assert_string_equal(buf_str(&b), "ab");
	assert_int_equal(buf_len(&b), 2);
	/* Exactly up to max. */
	buf_clear_error(&b);
	assert_int_equal(buf_printf(&b, "%08d", 7), 0);
	assert_string_equal(buf_str(&b), "ab00000007");
	assert_int_equal(buf_printf(&b, "%s", "x"), BUF_ERR_FULL);
	assert_string_equal(buf_str(&b), "ab00000007");
	buf_free(&b);

	/* Text beyond the allocation and beyond max: refused, unchanged. */
	buf_init(&b, 100);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	assert_int_equal(buf_printf(&b, "%200s", "x"), BUF_ERR_FULL);
	assert_string_equal(buf_str(&b), "keep");
	buf_free(&b);
}

static void test_consume(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	buf_puts(&b, "HELO a\r\nMAIL b\r\n");
	buf_consume(&b, 8);
	assert_string_equal(buf_str(&b), "MAIL b\r\n");
	assert_int_equal(buf_len(&b), 8);
	buf_consume(&b, 0);
	assert_int_equal(buf_len(&b), 8);
	buf_consume(&b, 8);
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(buf_str(&b), "");
	buf_puts(&b, "xy");
	buf_consume(&b, 100); /* more than held: empties */
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_binary(void **state)
{
	static const char bin[] = {'a', 0, 'b', 0, (char)0xff, '\n'};
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, bin, sizeof(bin)), 0);
	assert_int_equal(buf_putc(&b, 0), 0);
	assert_int_equal(buf_len(&b), sizeof(bin) + 1);
	assert_memory_equal(buf_str(&b), bin, sizeof(bin));
	assert_int_equal(buf_str(&b)[sizeof(bin)], 0);
	assert_int_equal(buf_str(&b)[sizeof(bin) + 1], 0); /* terminator */
	buf_consume(&b, 2);
	assert_int_equal(buf_len(&b), sizeof(bin) - 1);
	assert_memory_equal(buf_str(&b), bin + 2, sizeof(bin) - 2);
	assert_int_equal(buf_set(&b, bin, 3), 0);
	assert_int_equal(buf_len(&b), 3);
	assert_memory_equal(buf_str(&b), "a\0b", 3);
	buf_free(&b);
}

static void test_reset_truncate(void **state)
{
	struct buf b;
	size_t cap;

	(void)state;
	buf_init(&b, 1000);
	for (int i = 0; i < 50; i++)
		buf_puts(&b, "0123456789");
	cap = b.cap;
	buf_truncate(&b, 5);
	assert_string_equal(buf_str(&b), "01234");
	buf_truncate(&b, 50); /* longer than held: no change */
	assert_int_equal(buf_len(&b), 5);
	buf_reset(&b);
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(b.cap, cap); /* memory kept */
	buf_free(&b);
}

static void test_new_destroy(void **state)
{
	struct buf *b = buf_new(BUF_MAX_DEFAULT);

	(void)state;
	assert_int_equal(buf_printf(b, "%s %u", "x", 7u), 0);
	assert_string_equal(buf_str(b), "x 7");
	buf_destroy(b);
	buf_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_append_past_max),
		cmocka_unit_test(test_error_sticky),
		cmocka_unit_test(test_zero_max),
		cmocka_unit_test(test_printf_growth),
		cmocka_unit_test(test_printf_limits),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_reset_truncate),
		cmocka_unit_test(test_new_destroy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
