/* test_smtp_data - DATA/BDAT content: terminator, smuggling, dot-stuffing,
 * bare newlines, limits, header/body boundary, and every chunk split. */
#include "testutil.h"

#include "smtpd/smtp_data.h"

#define OUT_MAX (1 << 20)

static int sink_buf(void *arg, const char *p, size_t n)
{
	return buf_append(arg, p, n);
}

/* Feed in[0..n) in pieces of step bytes (0: one push) until DONE or the
 * input is used up; returns the last push result, *used the total. */
static int feed(struct smtp_data *d, const char *in, size_t n, size_t step,
		size_t *used)
{
	size_t off = 0, u;
	int r = SMTP_DATA_MORE;

	*used = 0;
	do {
		size_t k = step == 0 || n - off < step ? n - off : step;

		r = smtp_data_push(d, in + off, k, &u);
		assert_true(u <= k);
		off += u;
		if (r != SMTP_DATA_MORE)
			break;
		assert_int_equal(u, k);
	} while (off < n);
	*used = off;
	return r;
}

struct outcome {
	int rc;
	size_t used;
	struct smtp_data d;
	struct buf out;
};

static void run_data(struct outcome *o, enum smtp_bare bare, const char *in,
		     size_t n, size_t step)
{
	struct smtp_data_opts opts = {bare, 0, 0};

	buf_init(&o->out, OUT_MAX);
	smtp_data_init(&o->d, &opts, sink_buf, &o->out);
	o->rc = feed(&o->d, in, n, step, &o->used);
}

/* One golden case: the input, what comes out, whether the data ended and
 * (when it did) what is left for the next command. */
struct golden {
	enum smtp_bare bare;
	const char *in;
	const char *out;
	int done;
	const char *rest;
	int err;
};

static void check_golden(const struct golden *g, size_t step)
{
	struct outcome o;
	size_t n = strlen(g->in);

	run_data(&o, g->bare, g->in, n, step);
	if ((g->err == 0 && strcmp(buf_str(&o.out), g->out) != 0) ||
	    o.rc != (g->done ? SMTP_DATA_DONE : SMTP_DATA_MORE) ||
	    o.d.err != g->err)
		print_error("case %s (step %zu): rc %d err %d out \"%s\"\n",
			    g->in, step, o.rc, o.d.err, buf_str(&o.out));
	if (g->err == 0)
		assert_string_equal(buf_str(&o.out), g->out);
	assert_int_equal(o.rc, g->done ? SMTP_DATA_DONE : SMTP_DATA_MORE);
	assert_int_equal(o.d.err, g->err);
	if (g->done)
		assert_string_equal(g->in + o.used, g->rest);
	else
		assert_int_equal(o.used, n);
	buf_free(&o.out);
}

#define N    SMTP_BARE_NORMALIZE
#define R    SMTP_BARE_REJECT
#define O    SMTP_BARE_NO
#define E_LF SMTP_DATA_ERR_BARE_LF

static const struct golden goldens[] = {
	/* the terminator, right after DATA and later */
	{N, ".\r\n", "", 1, "", 0},
	{N, ".\r\nQUIT\r\n", "", 1, "QUIT\r\n", 0},
	{N, "a\r\n.\r\n", "a\r\n", 1, "", 0},
	{N, "Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT",
	 "Subject: x\r\n\r\nbody\r\n", 1, "MAIL FROM:<a@b>\r\nRCPT", 0},
	{N, "a\r\n.\r\n.\r\n", "a\r\n", 1, ".\r\n", 0},
	/* dot-stuffing */
	{N, "..\r\n.\r\n", ".\r\n", 1, "", 0},
	{N, "..foo\r\n...\r\n.\r\n", ".foo\r\n..\r\n", 1, "", 0},
	{N, "a.\r\n .\r\n.\r\n", "a.\r\n .\r\n", 1, "", 0},
	{N, ".a\r\n", "a\r\n", 0, NULL, 0},
	/* smuggling: none of these ends the data */
	{N, "a\n.\nMAIL FROM:<e@x>\r\n", "a\r\n.\r\nMAIL FROM:<e@x>\r\n", 0,
	 NULL, 0},
	{N, "a\r.\rMAIL FROM:<e@x>\r\n", "a\r.\rMAIL FROM:<e@x>\r\n", 0, NULL,
	 0},
	{N, "a\n.\r\nMAIL FROM:<e@x>\r\n", "a\r\n.\r\nMAIL FROM:<e@x>\r\n", 0,
	 NULL, 0},
	{N, "a\r\n.\nMAIL FROM:<e@x>\r\n", "a\r\n.\r\nMAIL FROM:<e@x>\r\n", 0,
	 NULL, 0},
	{N, "a\r\n.\rMAIL FROM:<e@x>\r\n", "a\r\n\rMAIL FROM:<e@x>\r\n", 0,
	 NULL, 0},
	{N, "a\r.\r\nMAIL FROM:<e@x>\r\n", "a\r.\r\nMAIL FROM:<e@x>\r\n", 0,
	 NULL, 0},
	{N, "a\r.\nMAIL FROM:<e@x>\r\n", "a\r.\r\nMAIL FROM:<e@x>\r\n", 0, NULL,
	 0},
	{N, "a\n.\rMAIL FROM:<e@x>\r\n", "a\r\n\rMAIL FROM:<e@x>\r\n", 0, NULL,
	 0},
	{N, "a\r\n.\r\r\nMAIL FROM:<e@x>\r\n", "a\r\n.\r\nMAIL FROM:<e@x>\r\n",
	 0, NULL, 0},
	{N, ".\nMAIL FROM:<e@x>\r\n", ".\r\nMAIL FROM:<e@x>\r\n", 0, NULL, 0},
	{N, "\n.\nX\r\n", "\r\n.\r\nX\r\n", 0, NULL, 0},
	{N, "a\n..\nb\r\n", "a\r\n.\r\nb\r\n", 0, NULL, 0},
	/* a smuggling attempt, then the real end: the rest stays content */
	{N, "a\n.\nMAIL FROM:<e@x>\r\n.\r\nQUIT\r\n",
	 "a\r\n.\r\nMAIL FROM:<e@x>\r\n", 1, "QUIT\r\n", 0},
	/* literal CRLF.CRLF always ends it, whatever came before */
	{N, "a\r\r\n.\r\nX", "a\r\n", 1, "X", 0},
	{N, "a\n\r\n.\r\nX", "a\r\n\r\n", 1, "X", 0},
	{N, "a\n.\r\n.\r\nX", "a\r\n.\r\n", 1, "X", 0},
	/* CRs before a line end are dropped, others kept */
	{N, "a\r\r\r\nb\rc\r\n.\r\n", "a\r\nb\rc\r\n", 1, "", 0},
	{N, "\r\r\n.\r\n", "\r\n", 1, "", 0},
	{N, ".\r\rx\r\n.\r\n", "\r\rx\r\n", 1, "", 0},
	/* reject: same framing, error set */
	{R, "a\nb\r\n.\r\nQUIT\r\n", "", 1, "QUIT\r\n", E_LF},
	{R, "a\n.\nMAIL FROM:<e@x>\r\n", "", 0, NULL, E_LF},
	{R, "a\r\n.\nX\r\n.\r\n", "", 1, "", E_LF},
	{R, "a\r.\rb\r\n.\r\n", "a\r.\rb\r\n", 1, "", 0},
	/* no: bare LF is data, lines end at CRLF only */
	{O, "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", 1, "", 0},
	{O, "a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n", 1, "", 0},
	{O, "a\r\r\n.\r\n", "a\r\r\n", 1, "", 0},
	{O, "a\r\n.\r\r\nb\r\n.\r\n", "a\r\n\r\r\nb\r\n", 1, "", 0},
	{O, "a\n.\r\nX", "a\n.\r\nX", 0, NULL, 0},
	{O, "..\n.\r\n", ".\n.\r\n", 0, NULL, 0},
};

static void test_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		check_golden(&goldens[i], 0);
		check_golden(&goldens[i], 1);
		check_golden(&goldens[i], 2);
		check_golden(&goldens[i], 3);
	}
}

/* Every way to cut a message in two and in three gives the same output,
 * the same counters and the same end. */
static const char sample[] = "From: a@example.org\r\n"
			     "Subject: t\n"
			     "X: y\r\r\n"
			     "\r\n"
			     "..stuffed\r\n"
			     "a\n.\nsmuggled\r\n"
			     "b\r.\rc\r\n"
			     "d\r\n.\re\r\n"
			     "..\r\n"
			     "\r\n"
			     ".\r\n"
			     "RSET\r\n";

static void same(const struct outcome *a, const struct outcome *b)
{
	assert_int_equal(a->rc, b->rc);
	assert_int_equal(a->used, b->used);
	assert_int_equal(buf_len(&a->out), buf_len(&b->out));
	assert_memory_equal(buf_str(&a->out), buf_str(&b->out),
			    buf_len(&a->out));
	assert_true(a->d.size == b->d.size);
	assert_true(a->d.lines == b->d.lines);
	assert_true(a->d.max_line == b->d.max_line);
	assert_true(a->d.header_end == b->d.header_end);
	assert_true(a->d.bare_lf == b->d.bare_lf);
	assert_true(a->d.bare_cr == b->d.bare_cr);
	assert_int_equal(a->d.err, b->d.err);
}

/* Feed in three pushes cut at i and j. */
static void run_split(struct outcome *o, enum smtp_bare bare, const char *in,
		      size_t n, size_t i, size_t j)
{
	struct smtp_data_opts opts = {bare, 0, 0};
	size_t cut[4] = {0, i, j, n}, u;

	buf_init(&o->out, OUT_MAX);
	smtp_data_init(&o->d, &opts, sink_buf, &o->out);
	o->used = 0;
	o->rc = SMTP_DATA_MORE;
	for (int k = 0; k < 3 && o->rc == SMTP_DATA_MORE; k++) {
		o->rc = smtp_data_push(&o->d, in + cut[k], cut[k + 1] - cut[k],
				       &u);
		o->used += u;
	}
}

static void test_every_split(void **state)
{
	size_t n = sizeof(sample) - 1;
	enum smtp_bare modes[] = {N, R, O};

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct outcome whole, o;

		run_data(&whole, modes[m], sample, n, 0);
		assert_int_equal(whole.rc, SMTP_DATA_DONE);
		assert_string_equal(sample + whole.used, "RSET\r\n");
		for (size_t i = 0; i <= n; i++) {
			for (size_t j = i; j <= n; j++) {
				run_split(&o, modes[m], sample, n, i, j);
				if (modes[m] == R) {
					/* the sink saw some prefix; the rest
					 * must agree */
					buf_reset(&o.out);
					buf_reset(&whole.out);
				}
				same(&whole, &o);
				buf_free(&o.out);
			}
		}
		run_data(&o, modes[m], sample, n, 1);
		if (modes[m] == R) {
			buf_reset(&o.out);
			buf_reset(&whole.out);
		}
		same(&whole, &o);
		buf_free(&o.out);
		buf_free(&whole.out);
	}
}

static void test_sample_normalized(void **state)
{
	struct outcome o;

	(void)state;
	run_data(&o, N, sample, sizeof(sample) - 1, 0);
	assert_string_equal(buf_str(&o.out), "From: a@example.org\r\n"
					     "Subject: t\r\n"
					     "X: y\r\n"
					     "\r\n"
					     ".stuffed\r\n"
					     "a\r\n"
					     ".\r\n"
					     "smuggled\r\n"
					     "b\r.\rc\r\n"
					     "d\r\n"
					     "\re\r\n"
					     ".\r\n"
					     "\r\n");
	assert_true(o.d.header_end == 39);
	assert_true(o.d.bare_lf == 3);
	assert_true(o.d.bare_cr == 3);
	assert_true(o.d.lines == 13);
	assert_true(o.d.size == buf_len(&o.out));
	buf_free(&o.out);
}

static void test_header_end(void **state)
{
	static const struct {
		const char *in;
		uint64_t end;
	} cases[] = {
		{"A: b\r\nC: d\r\n\r\nbody\r\n.\r\n", 12},
		{"A: b\n\nbody\r\n.\r\n", 6},
		{"\r\nbody\r\n.\r\n", 0},
		{"A: b\r\n.\r\n", SMTP_DATA_NO_BODY},
		{".\r\n", SMTP_DATA_NO_BODY},
		{"A: b\r\n \r\nx\r\n\r\n.\r\n", 12},
		{"A: b\r\n\r\r\n\r\n.\r\n", 6}, /* CR dropped: empty */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o;

		run_data(&o, N, cases[i].in, strlen(cases[i].in), 0);
		assert_int_equal(o.rc, SMTP_DATA_DONE);
		assert_true(o.d.header_end == cases[i].end);
		buf_free(&o.out);
	}
}

/* A message of exactly limit content bytes passes; one more fails, and the
 * input is still read to the end. */
static void test_size_limit(void **state)
{
	char in[200];
	struct smtp_data_opts opts = {N, 0, 0};

	(void)state;
	/* content "x...x\r\n": 10 + 2 bytes */
	memset(in, 'x', 10);
	memcpy(in + 10, "\r\n.\r\nNOOP\r\n", 11);
	for (uint64_t limit = 11; limit <= 13; limit++) {
		struct smtp_data d;
		struct buf out;
		size_t used;

		buf_init(&out, OUT_MAX);
		opts.size_limit = limit;
		smtp_data_init(&d, &opts, sink_buf, &out);
		assert_int_equal(feed(&d, in, 21, 1, &used), SMTP_DATA_DONE);
		assert_int_equal(used, 15);
		assert_true(d.size == 12);
		if (limit < 12) {
			assert_int_equal(d.err, SMTP_DATA_ERR_SIZE);
			assert_true(buf_len(&out) <= limit);
		} else {
			assert_int_equal(d.err, 0);
			assert_int_equal(buf_len(&out), 12);
		}
		buf_free(&out);
	}
	assert_int_equal(smtp_data_reply(SMTP_DATA_ERR_SIZE)->code, 552);
	assert_string_equal(smtp_data_reply(SMTP_DATA_ERR_SIZE)->enh, "5.3.4");
}

static void test_line_limit(void **state)
{
	static char in[3000];
	struct smtp_data_opts opts = {N, 0, 0};

	(void)state;
	for (size_t len = SMTP_DATA_LINE_MAX - 1; len <= SMTP_DATA_LINE_MAX + 1;
	     len++) {
		struct smtp_data d;
		struct buf out;
		size_t used;

		memset(in, 'y', len);
		memcpy(in + len, "\r\r\n.\r\n", 6);
		buf_init(&out, OUT_MAX);
		smtp_data_init(&d, &opts, sink_buf, &out);
		assert_int_equal(feed(&d, in, len + 6, 7, &used),
				 SMTP_DATA_DONE);
		/* the extra CR counts: len + 1 input bytes before CRLF */
		assert_true(d.max_line == len + 1);
		assert_true(d.long_lines == (len + 1 > SMTP_DATA_LINE_MAX));
		/* never split */
		assert_int_equal(buf_len(&out), len + 2);
		buf_free(&out);
	}
	/* the limit is clamped to its bounds */
	opts.line_limit = 1;
	{
		struct smtp_data d;
		struct buf out;
		size_t used;

		memset(in, 'z', 80);
		memcpy(in + 80, "\r\n.\r\n", 5);
		buf_init(&out, OUT_MAX);
		smtp_data_init(&d, &opts, sink_buf, &out);
		assert_int_equal(feed(&d, in, 85, 0, &used), SMTP_DATA_DONE);
		assert_true(d.long_lines == 1); /* 80 > 78 */
		buf_free(&out);
	}
}

static int sink_fail_second(void *arg, const char *p, size_t n)
{
	int *calls = arg;

	(void)p;
	(void)n;
	return ++*calls >= 2 ? -28 : 0;
}

static void test_sink_error(void **state)
{
	struct smtp_data_opts opts = {N, 0, 0};
	struct smtp_data d;
	static const char in[] = "a\r\nb\r\nc\r\n.\r\nQUIT\r\n";
	int calls = 0;
	size_t used;

	(void)state;
	smtp_data_init(&d, &opts, sink_fail_second, &calls);
	assert_int_equal(feed(&d, in, sizeof(in) - 1, 2, &used),
			 SMTP_DATA_DONE);
	assert_string_equal(in + used, "QUIT\r\n");
	assert_int_equal(d.err, SMTP_DATA_ERR_SINK);
	assert_int_equal(d.sink_err, -28);
	assert_int_equal(calls, 2); /* nothing after the failure */
	assert_int_equal(smtp_data_reply(SMTP_DATA_ERR_SINK)->code, 451);
	assert_int_equal(smtp_data_reply(SMTP_DATA_ERR_BARE_LF)->code, 550);
	assert_string_equal(smtp_data_reply(SMTP_DATA_ERR_BARE_LF)->text,
			    "Error: bare <LF> received");
	assert_int_equal(smtp_data_reply(0)->code, 451);
}

/* Output larger than the staging buffer and long CR runs. */
static void test_big(void **state)
{
	size_t n = 3 * SMTP_DATA_OUTBUF + 100, used;
	char *in = malloc(n + 16);
	struct outcome o;

	(void)state;
	assert_non_null(in);
	memset(in, 'q', n);
	memset(in + 10, '\r', 200); /* bare CRs kept */
	memcpy(in + n, "\r\r\r\r\n.\r\n", 8);
	run_data(&o, N, in, n + 8, 0);
	assert_int_equal(o.rc, SMTP_DATA_DONE);
	assert_int_equal(buf_len(&o.out), n + 2);
	assert_memory_equal(buf_str(&o.out), in, n);
	assert_true(o.d.bare_cr == 200);
	buf_free(&o.out);
	(void)used;
	free(in);
}

static void test_after_done(void **state)
{
	struct outcome o;
	size_t used = 99;

	(void)state;
	run_data(&o, N, ".\r\n", 3, 0);
	assert_int_equal(smtp_data_push(&o.d, "x\r\n", 3, &used),
			 SMTP_DATA_DONE);
	assert_int_equal(used, 0);
	buf_free(&o.out);
}

/* ---- BDAT ---- */

static void bdat_init(struct smtp_data *d, struct buf *out, enum smtp_bare bare,
		      uint64_t limit)
{
	struct smtp_data_opts opts = {bare, limit, 0};

	buf_init(out, OUT_MAX);
	smtp_data_init_bdat(d, &opts, sink_buf, out);
}

static void test_bdat_chunks(void **state)
{
	struct smtp_data d;
	struct buf out;
	size_t used;
	static const char c1[] = "Subject: a\r";
	static const char c2[] = "\n\n..body\r\n.\r\nBDAT 3 LAST\r\n";

	(void)state;
	bdat_init(&d, &out, N, 0);
	assert_int_equal(smtp_data_bdat_begin(&d, 11, 0), SMTP_DATA_MORE);
	assert_int_equal(smtp_data_push(&d, c1, 11, &used), SMTP_DATA_CHUNK);
	assert_int_equal(used, 11);
	/* a push between chunks takes nothing */
	assert_int_equal(smtp_data_push(&d, c2, 5, &used), SMTP_DATA_CHUNK);
	assert_int_equal(used, 0);
	assert_int_equal(smtp_data_bdat_begin(&d, 13, 0), SMTP_DATA_MORE);
	assert_int_equal(smtp_data_push(&d, c2, 5, &used), SMTP_DATA_MORE);
	assert_int_equal(used, 5);
	assert_int_equal(smtp_data_push(&d, c2 + 5, sizeof(c2) - 6, &used),
			 SMTP_DATA_CHUNK);
	assert_int_equal(used, 8);
	assert_string_equal(c2 + 13, "BDAT 3 LAST\r\n");
	assert_int_equal(smtp_data_bdat_begin(&d, 3, 1), SMTP_DATA_MORE);
	assert_int_equal(smtp_data_push(&d, "x\ry", 3, &used), SMTP_DATA_DONE);
	assert_int_equal(used, 3);
	/* no unstuffing and no terminator in BDAT */
	assert_string_equal(buf_str(&out),
			    "Subject: a\r\n\r\n..body\r\n.\r\nx\ry");
	assert_true(d.header_end == 12);
	assert_true(d.bare_lf == 1);
	assert_true(d.lines == 5);
	buf_free(&out);
}

static void test_bdat_zero_last(void **state)
{
	struct smtp_data d;
	struct buf out;

	(void)state;
	bdat_init(&d, &out, N, 0);
	assert_int_equal(smtp_data_bdat_begin(&d, 0, 0), SMTP_DATA_CHUNK);
	assert_int_equal(smtp_data_bdat_begin(&d, 4, 0), SMTP_DATA_MORE);
	{
		size_t used;

		assert_int_equal(smtp_data_push(&d, "ab\r", 3, &used),
				 SMTP_DATA_MORE);
		assert_int_equal(smtp_data_push(&d, "\r", 1, &used),
				 SMTP_DATA_CHUNK);
	}
	/* the held CRs become data at the end */
	assert_int_equal(smtp_data_bdat_begin(&d, 0, 1), SMTP_DATA_DONE);
	assert_string_equal(buf_str(&out), "ab\r\r");
	assert_true(d.lines == 1);
	buf_free(&out);
}

/* BODY=BINARYMIME: mode NO passes every byte, whatever the chunking. */
static void test_bdat_binary_identity(void **state)
{
	unsigned char in[512];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + (i >> 3));
	memcpy(in + 100, "\r\n.\r\n\n.\n\r\r\r", 12);
	in[sizeof(in) - 1] = '\r';
	for (size_t step = 1; step <= 64; step *= 2) {
		struct smtp_data d;
		struct buf out;
		size_t off = 0, used;
		int r = SMTP_DATA_MORE;

		bdat_init(&d, &out, O, 0);
		while (off < sizeof(in)) {
			size_t k = sizeof(in) - off < step ? sizeof(in) - off
							   : step;

			assert_int_equal(smtp_data_bdat_begin(
						 &d, k, off + k == sizeof(in)),
					 SMTP_DATA_MORE);
			r = smtp_data_push(&d, (const char *)in + off, k,
					   &used);
			assert_int_equal(used, k);
			off += k;
		}
		assert_int_equal(r, SMTP_DATA_DONE);
		assert_int_equal(buf_len(&out), sizeof(in));
		assert_memory_equal(buf_str(&out), in, sizeof(in));
		buf_free(&out);
	}
}

static void test_bdat_size(void **state)
{
	struct smtp_data d;
	struct buf out;
	size_t used;

	(void)state;
	bdat_init(&d, &out, N, 5);
	smtp_data_bdat_begin(&d, 4, 0);
	assert_int_equal(smtp_data_push(&d, "abcd", 4, &used), SMTP_DATA_CHUNK);
	assert_int_equal(d.err, 0);
	smtp_data_bdat_begin(&d, 1, 0);
	assert_int_equal(smtp_data_push(&d, "e", 1, &used), SMTP_DATA_CHUNK);
	assert_int_equal(d.err, 0);
	smtp_data_bdat_begin(&d, 1, 1);
	assert_int_equal(smtp_data_push(&d, "f", 1, &used), SMTP_DATA_DONE);
	assert_int_equal(d.err, SMTP_DATA_ERR_SIZE);
	assert_string_equal(buf_str(&out), "abcde");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_sample_normalized),
		cmocka_unit_test(test_header_end),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_after_done),
		cmocka_unit_test(test_bdat_chunks),
		cmocka_unit_test(test_bdat_zero_last),
		cmocka_unit_test(test_bdat_binary_identity),
		cmocka_unit_test(test_bdat_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
