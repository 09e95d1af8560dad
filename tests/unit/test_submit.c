/* test_submit - sendmail's pure parts: line ends (every split of the
 * input gives the same output), the "." line, header sections and fields,
 * RFC 5322 address lists. */
#include "testutil.h"

#include "queue/submit.h"

static struct buf norm_out;

/* Normalise in[0..n) pushed in pieces cut at a and b; returns the output
 * (static) and the bytes consumed. */
static const char *norm_split(const char *in, size_t n, int ignore_dots,
			      size_t a, size_t b, size_t *consumed)
{
	struct submit_norm s;
	size_t cuts[4] = {0, a, b, n}, used, total = 0;

	buf_free(&norm_out);
	buf_init(&norm_out, 4096);
	submit_norm_init(&s, ignore_dots);
	for (int i = 0; i < 3 && !s.done; i++) {
		size_t from = cuts[i], to = cuts[i + 1];

		assert_int_equal(submit_norm_push(&s, in + from, to - from,
						  &norm_out, &used),
				 0);
		total += used;
		if (!s.done)
			assert_int_equal(used, to - from);
	}
	assert_int_equal(submit_norm_finish(&s, &norm_out), 0);
	*consumed = total;
	return buf_str(&norm_out);
}

static void check_norm(const char *in, int ignore_dots, const char *want,
		       size_t want_used)
{
	size_t n = strlen(in), used;

	for (size_t a = 0; a <= n; a++)
		for (size_t b = a; b <= n; b++) {
			const char *got =
				norm_split(in, n, ignore_dots, a, b, &used);

			assert_string_equal(got, want);
			assert_int_equal(used, want_used);
		}
}

static void test_norm_line_ends(void **state)
{
	(void)state;
	check_norm("a\nb\r\nc\rd", 0, "a\r\nb\r\nc\r\nd\r\n", 8);
	check_norm("\r\r\n\n", 0, "\r\n\r\n\r\n", 4);
	check_norm("", 0, "", 0);
	check_norm("x\r", 0, "x\r\n", 2);
}

static void test_norm_dot(void **state)
{
	(void)state;
	/* "." alone ends the input; what follows is not read. */
	check_norm("a\n.\nb\n", 0, "a\r\n", 4);
	check_norm("a\r\n.\r\nb\n", 0, "a\r\n", 6);
	check_norm(".\n", 0, "", 2);
	check_norm("a\n.", 0, "a\r\n", 3); /* at EOF without a line end */
	/* Not alone: data, no unstuffing. */
	check_norm("..\n.x\n", 0, "..\r\n.x\r\n", 6);
	/* "." then a bare CR then more: the CR ended a "." data line. */
	check_norm(".\rx\n", 0, ".\r\nx\r\n", 4);
	/* -i: the dot is data. */
	check_norm("a\n.\nb", 1, "a\r\n.\r\nb\r\n", 5);
}

static void test_norm_full_buffer(void **state)
{
	struct submit_norm s;
	struct buf out;
	size_t used;

	(void)state;
	buf_init(&out, 5);
	submit_norm_init(&s, 0);
	/* "abc\n" needs 5 bytes; "d" does not fit: consumed stops before. */
	assert_int_equal(submit_norm_push(&s, "abc\nd", 5, &out, &used),
			 BUF_ERR_FULL);
	assert_int_equal(used, 4);
	assert_int_equal(buf_len(&out), 5);
	buf_reset(&out);
	assert_int_equal(submit_norm_push(&s, "d", 1, &out, &used), 0);
	assert_int_equal(used, 1);
	assert_int_equal(submit_norm_finish(&s, &out), 0);
	assert_string_equal(buf_str(&out), "d\r\n");
	buf_free(&out);
}

static void test_header_len(void **state)
{
	static const char h[] = "Subject: a\r\n b\r\nTo : x\r\n\r\nbody\r\n";
	int complete;

	(void)state;
	assert_int_equal(submit_header_len(h, strlen(h), &complete), 24);
	assert_int_equal(complete, 1);
	/* No line end yet: not complete. */
	assert_int_equal(submit_header_len(h, 10, &complete), 0);
	assert_int_equal(complete, 0);
	/* A body line without the empty line ends the header too. */
	assert_int_equal(
		submit_header_len("A: b\r\nnot a header\r\n", 20, &complete),
		6);
	assert_int_equal(complete, 1);
	/* A continuation line first is body. */
	assert_int_equal(submit_header_len(" x\r\n", 4, &complete), 0);
	assert_int_equal(complete, 1);
	assert_int_equal(submit_header_len(": x\r\n", 5, &complete), 0);
	assert_int_equal(complete, 1);
}

static void test_header_next(void **state)
{
	static const char h[] = "Subject: a\r\n b\r\nTo : x\r\nBcc:\r\n";
	struct submit_header f;
	size_t off = 0, n = strlen(h);

	(void)state;
	assert_int_equal(submit_header_next(h, n, &off, &f), 1);
	assert_true(submit_header_is(&f, "subject"));
	assert_int_equal(f.value_len, 6);
	assert_memory_equal(f.value, " a\r\n b", 6);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.end, 16);
	assert_int_equal(submit_header_next(h, n, &off, &f), 1);
	assert_true(submit_header_is(&f, "TO"));
	assert_false(submit_header_is(&f, "T"));
	assert_memory_equal(f.value, " x", 2);
	assert_int_equal(submit_header_next(h, n, &off, &f), 1);
	assert_true(submit_header_is(&f, "bcc"));
	assert_int_equal(f.value_len, 0);
	assert_int_equal(submit_header_next(h, n, &off, &f), 0);
}

struct got {
	char addr[16][SUBMIT_ADDR_MAX + 1];
	int n;
};

static int collect(const char *addr, size_t len, void *arg)
{
	struct got *g = arg;

	assert_int_equal(strlen(addr), len);
	assert_true(g->n < 16);
	snprintf(g->addr[g->n++], sizeof(g->addr[0]), "%s", addr);
	return 0;
}

static int list(const char *s, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return submit_addr_list(s, strlen(s), collect, g);
}

static void test_addr_list(void **state)
{
	struct got g;

	(void)state;
	assert_int_equal(list("a@b.c, Bob <bob@x.y>,\r\n \"Smith, J\" "
			      "<j@x> (comment, with comma)",
			      &g),
			 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.addr[0], "a@b.c");
	assert_string_equal(g.addr[1], "bob@x.y");
	assert_string_equal(g.addr[2], "j@x");
	/* Groups, empty groups, a route, a quoted local part, comments. */
	assert_int_equal(
		list("undisclosed-recipients:;, team: a@x, "
		     "<@r1,@r2:b@y>; \"c d\"@z (x(nested)y) , e (f) @ g",
		     &g),
		0);
	assert_int_equal(g.n, 4);
	assert_string_equal(g.addr[0], "a@x");
	assert_string_equal(g.addr[1], "b@y");
	assert_string_equal(g.addr[2], "\"c d\"@z");
	assert_string_equal(g.addr[3], "e@g");
	/* Errors: what came before was reported. */
	assert_int_equal(list("a@b, \"open", &g), SUBMIT_ERR_SYNTAX);
	assert_int_equal(g.n, 1);
	assert_int_equal(list("<a@b", &g), SUBMIT_ERR_SYNTAX);
	assert_int_equal(list("a@b>", &g), SUBMIT_ERR_SYNTAX);
	assert_int_equal(list("(open", &g), SUBMIT_ERR_SYNTAX);
	assert_int_equal(submit_addr_list("a\0b@c", 5, collect, &g),
			 SUBMIT_ERR_SYNTAX);
	assert_int_equal(list("\"a\x01\"@b", &g), SUBMIT_ERR_SYNTAX);
	assert_int_equal(list("", &g), 0);
	assert_int_equal(g.n, 0);
}

static void test_addr_limit(void **state)
{
	char s[SUBMIT_ADDR_MAX + 8];
	struct got g;

	(void)state;
	memset(s, 'a', SUBMIT_ADDR_MAX);
	s[SUBMIT_ADDR_MAX] = 0;
	assert_int_equal(list(s, &g), 0); /* exactly the limit */
	assert_int_equal(g.n, 1);
	s[SUBMIT_ADDR_MAX] = 'a';
	s[SUBMIT_ADDR_MAX + 1] = 0;
	assert_int_equal(list(s, &g), SUBMIT_ERR_LONG);
	/* A long display name is no problem when <addr> follows. */
	memset(s, 'n', SUBMIT_ADDR_MAX + 1);
	memcpy(s + SUBMIT_ADDR_MAX + 1, "<a@b>", 6);
	assert_int_equal(list(s, &g), 0);
	assert_string_equal(g.addr[0], "a@b");
}

static int stop_at_second(const char *addr, size_t len, void *arg)
{
	int *count = arg;

	(void)addr;
	(void)len;
	return ++*count == 2 ? 42 : 0;
}

static void test_addr_stop(void **state)
{
	int count = 0;

	(void)state;
	assert_int_equal(submit_addr_list("a,b,c", 5, stop_at_second, &count),
			 42);
	assert_int_equal(count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_line_ends),
		cmocka_unit_test(test_norm_dot),
		cmocka_unit_test(test_norm_full_buffer),
		cmocka_unit_test(test_header_len),
		cmocka_unit_test(test_header_next),
		cmocka_unit_test(test_addr_list),
		cmocka_unit_test(test_addr_limit),
		cmocka_unit_test(test_addr_stop),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	buf_free(&norm_out);
	return rc;
}
