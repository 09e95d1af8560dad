/* test_mem - the allocation wrapper and its fault-injection hook. */
#include "testutil.h"

#include "core/mem.h"

static jmp_buf oom_env;
static size_t oom_size;
static int oom_calls;

static void oom_jump(size_t n)
{
	oom_size = n;
	oom_calls++;
	longjmp(oom_env, 1);
}

static int setup(void **state)
{
	(void)state;
	oom_calls = 0;
	oom_size = 0;
	mem_fail_after(0);
	mem_set_oom_handler(oom_jump);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mem_fail_after(0);
	mem_set_oom_handler(NULL);
	log_set_sink(NULL, NULL);
	log_set_fatal_hook(NULL);
	return 0;
}

static void test_basics(void **state)
{
	char *p, *q;
	unsigned char *z;

	(void)state;
	p = mem_alloc(0);
	assert_non_null(p);
	mem_free(p);
	z = mem_zalloc(100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(z[i], 0);
	z = mem_realloc(z, 10000);
	assert_int_equal(z[99], 0); /* contents kept */
	z = mem_realloc(z, 0);
	assert_non_null(z);
	mem_free(z);
	mem_free(NULL);

	p = mem_strdup("hello");
	assert_string_equal(p, "hello");
	q = mem_strndup(p, 3);
	assert_string_equal(q, "hel");
	mem_free(q);
	q = mem_strndup(p, 100); /* n past the end: stops at the NUL */
	assert_string_equal(q, "hello");
	mem_free(q);
	q = mem_memdup("a\0b", 3);
	assert_memory_equal(q, "a\0b", 3);
	mem_free(q);
	q = mem_memdup(NULL, 0);
	assert_non_null(q);
	mem_free(q);
	mem_free(p);
}

static void test_fail_first(void **state)
{
	void *volatile p = NULL;

	(void)state;
	mem_fail_after(1);
	if (setjmp(oom_env) == 0) {
		p = mem_alloc(123);
		fail_msg("allocation did not fail");
	}
	assert_null(p);
	assert_int_equal(oom_calls, 1);
	assert_int_equal(oom_size, 123);
	/* The hook fires once, then allocations work again. */
	p = mem_alloc(10);
	mem_free(p);
	assert_int_equal(oom_calls, 1);
}

static void test_fail_nth(void **state)
{
	void *volatile a = NULL;
	void *volatile b = NULL;
	void *volatile c = NULL;

	(void)state;
	mem_fail_after(3);
	if (setjmp(oom_env) == 0) {
		a = mem_alloc(1);
		b = mem_strdup("x");
		c = mem_zalloc(77);
		fail_msg("third allocation did not fail");
	}
	assert_non_null(a);
	assert_non_null(b);
	assert_null(c);
	assert_int_equal(oom_size, 77);
	mem_free(a);
	mem_free(b);

	/* 0 disables a countdown in progress. */
	mem_fail_after(2);
	mem_fail_after(0);
	for (int i = 0; i < 10; i++)
		mem_free(mem_alloc(8));
	assert_int_equal(oom_calls, 1);
}

static void test_realloc_failure_keeps_block(void **state)
{
	char *volatile p = mem_strdup("keep me");
	char *volatile q = NULL;

	(void)state;
	mem_fail_after(1);
	if (setjmp(oom_env) == 0) {
		q = mem_realloc(p, 1 << 20);
		fail_msg("realloc did not fail");
	}
	assert_null(q);
	assert_int_equal(oom_size, 1 << 20);
	assert_string_equal(p, "keep me"); /* still valid, still ours */
	mem_free(p);
}

/* Without a handler that jumps, out of memory is fatal and logged. */
static jmp_buf fatal_env;

static void oom_return(size_t n)
{
	oom_size = n;
}
static void fatal_jump(void)
{
	longjmp(fatal_env, 1);
}

static void test_oom_is_fatal(void **state)
{
	(void)state;
	mem_set_oom_handler(oom_return);
	log_set_fatal_hook(fatal_jump);
	test_log_capture();
	mem_fail_after(1);
	if (setjmp(fatal_env) == 0) {
		mem_alloc(4242);
		fail_msg("allocation did not fail");
	}
	assert_int_equal(oom_size, 4242);
	assert_string_equal(buf_str(&test_log_lines),
			    "fatal: out of memory allocating 4242 bytes\n");
}

/* SQLite-style sweep: fail allocation 1, 2, 3... of a buffer that grows,
 * until a run completes. Every failure leaves a valid, freeable buffer. */
static void test_sweep_buf_growth(void **state)
{
	volatile int completed = 0;
	volatile unsigned long n;
	/* Static: its fields change between setjmp() and longjmp(). */
	static struct buf b;

	(void)state;
	for (n = 1; !completed && n < 100; n++) {
		volatile int appended = 0;

		memset(&b, 0, sizeof(b));

		mem_fail_after(n);
		if (setjmp(oom_env) == 0) {
			buf_init(&b, 1 << 20);
			for (; appended < 2000; appended++)
				buf_printf(&b, "line %04d\n", appended);
			completed = 1;
			mem_fail_after(0);
		}
		if (b.data != NULL) {
			/* What is there is a whole prefix, NUL-terminated. */
			assert_int_equal(buf_len(&b), (size_t)appended * 10);
			assert_int_equal(buf_str(&b)[buf_len(&b)], 0);
			buf_free(&b);
		} else {
			assert_int_equal(n, 1);
		}
	}
	assert_true(completed);
	assert_true(n > 5); /* growth took several allocations */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fail_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_realloc_failure_keeps_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_is_fatal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sweep_buf_growth, setup,
						teardown),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	buf_free(&test_log_lines);
	return r;
}
