/* test_qfile - queue file writer and reader: round trips, streaming, every
 * truncation point, torn appends, malformed input. */
#include "testutil.h"

#include "core/mem.h"
#include "queue/qfile.h"

#define S(lit) ((struct qfile_str){(lit), sizeof(lit) - 1})

static const char content[] = "From: a@example.org\r\n"
			      "Subject: test\r\n"
			      "\r\n"
			      ".leading dot stays unstuffed\r\n"
			      "body\r\n";

static struct qfile_rcpt rcpts[3];

/* A message with every field set. */
static struct qfile_msg full_msg(void)
{
	struct qfile_msg m;

	memset(&m, 0, sizeof(m));
	memset(rcpts, 0, sizeof(rcpts));
	m.arrival_sec = 1700000000;
	m.arrival_usec = 4200;
	m.sender = S("alice@example.org");
	m.client_name = S("mx.example.org");
	m.client_addr = S("192.0.2.1");
	m.client_port = S("54321");
	m.helo = S("mx.example.org");
	m.protocol = S("ESMTPSA");
	m.sasl_user = S("alice");
	m.body = QFILE_BODY_8BITMIME;
	m.smtputf8 = 1;
	m.envid = S("QQ314159+2B");
	m.ret = QFILE_RET_HDRS;
	rcpts[0].addr = S("bob@example.net");
	rcpts[0].orcpt = S("rfc822;bob@example.net");
	rcpts[0].notify = QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_DELAY;
	rcpts[1].addr = S("carol@example.net");
	rcpts[1].notify = QFILE_NOTIFY_NEVER;
	/* Binary-safe: a NUL, LF and spaces in an address survive. */
	rcpts[2].addr = (struct qfile_str){"we\0ird\n x", 9};
	rcpts[2].notify = QFILE_NOTIFY_FAILURE;
	m.rcpt = rcpts;
	m.nrcpt = 3;
	return m;
}

static int str_eq(struct qfile_str a, struct qfile_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void assert_envelope_equal(const struct qfile_msg *a,
				  const struct qfile_msg *b)
{
	assert_true(a->arrival_sec == b->arrival_sec);
	assert_int_equal(a->arrival_usec, b->arrival_usec);
	assert_true(str_eq(a->sender, b->sender));
	assert_true(str_eq(a->client_name, b->client_name));
	assert_true(str_eq(a->client_addr, b->client_addr));
	assert_true(str_eq(a->client_port, b->client_port));
	assert_true(str_eq(a->helo, b->helo));
	assert_true(str_eq(a->protocol, b->protocol));
	assert_true(str_eq(a->sasl_user, b->sasl_user));
	assert_true(str_eq(a->envid, b->envid));
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->smtputf8, b->smtputf8);
	assert_int_equal(a->ret, b->ret);
	assert_int_equal(a->nrcpt, b->nrcpt);
	for (size_t i = 0; i < a->nrcpt; i++) {
		assert_true(str_eq(a->rcpt[i].addr, b->rcpt[i].addr));
		assert_true(str_eq(a->rcpt[i].orcpt, b->rcpt[i].orcpt));
		assert_int_equal(a->rcpt[i].notify, b->rcpt[i].notify);
	}
}

/* Parse from an exact-size heap copy, so ASan sees any overread. */
static int parse_copy(struct qfile_msg *m, const char *p, size_t n, char **copy)
{
	*copy = mem_memdup(p, n);
	return qfile_parse(m, *copy, n);
}

static void test_round_trip(void **state)
{
	struct qfile_msg in = full_msg(), out;
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(qfile_format(&b, &in, content, sizeof(content) - 1),
			 0);
	assert_memory_equal(b.data, "MAILGW-QUEUE 1\n", 15);
	assert_int_equal(qfile_parse(&out, b.data, b.len), 0);
	assert_envelope_equal(&in, &out);
	assert_int_equal(out.content_len, sizeof(content) - 1);
	assert_memory_equal(b.data + out.content_off, content,
			    sizeof(content) - 1);
	assert_int_equal(out.initial_len, b.len);
	assert_int_equal(out.valid_len, b.len);
	assert_false(out.torn);
	assert_int_equal(out.nrcpt_todo, 3);
	for (size_t i = 0; i < out.nrcpt; i++)
		assert_int_equal(out.rcpt[i].state, QFILE_RCPT_TODO);
	qfile_msg_free(&out);
	buf_free(&b);
}

static void test_minimal(void **state)
{
	struct qfile_rcpt r = {.addr = S("postmaster")};
	struct qfile_msg in = {.rcpt = &r, .nrcpt = 1}, out;
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	/* Null sender, no client, no DSN, empty content. */
	assert_int_equal(qfile_format(&b, &in, "", 0), 0);
	assert_int_equal(qfile_parse(&out, b.data, b.len), 0);
	assert_envelope_equal(&in, &out);
	assert_non_null(out.sender.p); /* present, and empty */
	assert_int_equal(out.sender.len, 0);
	assert_null(out.client_name.p);
	assert_int_equal(out.content_len, 0);
	qfile_msg_free(&out);
	buf_free(&b);
}

/* The streaming writer, fed in chunks split at every position, makes the
 * same bytes as qfile_format(). */
static void test_streaming(void **state)
{
	struct qfile_msg m = full_msg();
	const size_t clen = sizeof(content) - 1;
	struct buf whole, file;

	(void)state;
	buf_init(&whole, 1 << 20);
	buf_init(&file, 1 << 20);
	assert_int_equal(qfile_format(&whole, &m, content, clen), 0);
	for (size_t a = 0; a <= clen; a++) {
		for (size_t z = a; z <= clen; z += 7) {
			struct qfile_writer w;
			char patch[QFILE_LEN_DIGITS];
			size_t off;

			buf_reset(&file);
			assert_int_equal(qfile_writer_begin(&w, &file, &m), 0);
			assert_int_equal(qfile_writer_offset(&w), file.len);
			assert_int_equal(qfile_writer_push(&w, content, a), 0);
			buf_append(&file, content, a);
			assert_int_equal(
				qfile_writer_push(&w, content + a, z - a), 0);
			buf_append(&file, content + a, z - a);
			assert_int_equal(
				qfile_writer_push(&w, content + z, clen - z),
				0);
			buf_append(&file, content + z, clen - z);
			assert_int_equal(qfile_writer_offset(&w), file.len);
			assert_int_equal(
				qfile_writer_finish(&w, &file, patch, &off), 0);
			assert_int_equal(qfile_writer_offset(&w), file.len);
			memcpy(file.data + off, patch, sizeof(patch));
			assert_int_equal(file.len, whole.len);
			assert_memory_equal(file.data, whole.data, file.len);
		}
	}
	buf_free(&whole);
	buf_free(&file);
}

static int format_content(struct buf *b, enum qfile_body body, const char *c,
			  size_t n)
{
	struct qfile_rcpt r = {.addr = S("x@y")};
	struct qfile_msg m = {.rcpt = &r, .nrcpt = 1, .body = body};

	buf_reset(b);
	return qfile_format(b, &m, c, n);
}

static void test_canonical_content(void **state)
{
	static const char *const bad[] = {
		"a\n",      /* bare LF */
		"a\rb\r\n", /* bare CR */
		"a\r\n\r",  /* ends inside CRLF */
		"a\r\nb",   /* last line unterminated */
		"\n",       "a\r\r\n",
	};
	struct buf b;
	struct qfile_writer w;

	(void)state;
	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(format_content(&b, QFILE_BODY_7BIT, bad[i],
						strlen(bad[i])),
				 QFILE_ERR_CONTENT);
		assert_int_equal(b.len, 0); /* nothing left behind */
		/* BINARYMIME content is stored as it is. */
		assert_int_equal(format_content(&b, QFILE_BODY_BINARYMIME,
						bad[i], strlen(bad[i])),
				 0);
	}
	assert_int_equal(format_content(&b, QFILE_BODY_NONE, "\r\n", 2), 0);
	/* A CRLF split across chunks is fine; the error is sticky. */
	{
		struct qfile_rcpt r = {.addr = S("x@y")};
		struct qfile_msg m = {.rcpt = &r, .nrcpt = 1};
		char patch[QFILE_LEN_DIGITS];
		size_t off;

		buf_reset(&b);
		assert_int_equal(qfile_writer_begin(&w, &b, &m), 0);
		assert_int_equal(qfile_writer_push(&w, "a\r", 2), 0);
		assert_int_equal(qfile_writer_push(&w, "\nb\r", 3), 0);
		assert_int_equal(qfile_writer_push(&w, "x", 1),
				 QFILE_ERR_CONTENT);
		assert_int_equal(qfile_writer_push(&w, "\n", 1),
				 QFILE_ERR_CONTENT);
		assert_int_equal(qfile_writer_finish(&w, &b, patch, &off),
				 QFILE_ERR_CONTENT);
	}
	buf_free(&b);
}

/* The canonical-content check jumps with memchr; compare it with the
 * byte-by-byte rule (an LF only right after a CR, a CR only right before
 * an LF, a non-empty content ends with CRLF) on random CR/LF/'a' strings
 * pushed in random pieces. */
static int canonical_ref(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return 0;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
	}
	return n == 0 || p[n - 1] == '\n';
}

static void test_writer_canonical_random(void **state)
{
	static const unsigned char alphabet[] = {'a', '\r', '\n', '\n', '\r'};
	struct qfile_rcpt r = {.addr = S("x@y")};
	struct qfile_msg m = {.rcpt = &r, .nrcpt = 1};
	unsigned char c[64];
	unsigned seed = 12345;
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	for (int round = 0; round < 20000; round++) {
		struct qfile_writer w;
		char patch[QFILE_LEN_DIGITS];
		size_t off, n, a, z;
		int rc = 0;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(c);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			c[i] = alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		seed = seed * 1103515245u + 12345u;
		a = n ? (seed >> 16) % (n + 1) : 0;
		seed = seed * 1103515245u + 12345u;
		z = a + ((n - a) ? (seed >> 16) % (n - a + 1) : 0);
		buf_reset(&b);
		assert_int_equal(qfile_writer_begin(&w, &b, &m), 0);
		if (a > 0)
			rc = qfile_writer_push(&w, c, a);
		if (rc == 0 && z > a)
			rc = qfile_writer_push(&w, c + a, z - a);
		if (rc == 0 && n > z)
			rc = qfile_writer_push(&w, c + z, n - z);
		if (rc == 0)
			rc = qfile_writer_finish(&w, &b, patch, &off);
		assert_int_equal(rc == 0, canonical_ref(c, n));
	}
	buf_free(&b);
}

static void test_writer_limits(void **state)
{
	static char big[QFILE_VALUE_MAX + 1];
	struct qfile_rcpt r = {.addr = S("x@y")};
	struct qfile_msg m = {.rcpt = &r, .nrcpt = 1};
	struct qfile_writer w;
	struct buf b, small;
	char patch[QFILE_LEN_DIGITS];
	size_t off;

	(void)state;
	buf_init(&b, 1 << 16);
	memset(big, 'a', sizeof(big));
	m.helo = (struct qfile_str){big, sizeof(big)};
	assert_int_equal(qfile_writer_begin(&w, &b, &m), QFILE_ERR_LIMIT);
	assert_int_equal(b.len, 0);
	assert_int_equal(qfile_writer_push(&w, "a", 1), QFILE_ERR_LIMIT);
	m.helo = (struct qfile_str){big, QFILE_VALUE_MAX};
	assert_int_equal(qfile_format(&b, &m, "", 0), 0);
	buf_reset(&b);
	m.helo.len = 0;
	m.nrcpt = 0;
	assert_int_equal(qfile_format(&b, &m, "", 0), QFILE_ERR_LIMIT);
	m.nrcpt = QFILE_RCPT_MAX + 1;
	assert_int_equal(qfile_format(&b, &m, "", 0), QFILE_ERR_LIMIT);
	m.nrcpt = 1;
	m.arrival_usec = 1000000;
	assert_int_equal(qfile_format(&b, &m, "", 0), QFILE_ERR_VALUE);
	m.arrival_usec = 0;
	r.notify = QFILE_NOTIFY_NEVER | QFILE_NOTIFY_DELAY;
	assert_int_equal(qfile_format(&b, &m, "", 0), QFILE_ERR_VALUE);
	r.notify = 0;
	/* Out of order and out of room. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(qfile_writer_push(&w, "a", 1), QFILE_ERR_STATE);
	assert_int_equal(qfile_writer_finish(&w, &b, patch, &off),
			 QFILE_ERR_STATE);
	buf_init(&small, 20);
	assert_int_equal(qfile_writer_begin(&w, &small, &m), QFILE_ERR_FULL);
	assert_int_equal(small.len, 0);
	buf_free(&small);
	buf_free(&b);
}

/* ---- appended state ---- */

/* The full message plus a history of appended records; ends[] gets the
 * end offset of the initial part and of each record. */
static size_t build_history(struct buf *b, size_t *ends)
{
	struct qfile_msg m = full_msg();
	size_t k = 0;

	buf_reset(b);
	assert_int_equal(qfile_format(b, &m, content, sizeof(content) - 1), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_defer(b, 0, "4.4.1", "timeout", 7), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_retry(b, 1700000300, 1), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_done(b, 1, QFILE_RCPT_SENT, "2.0.0",
					   "250 2.0.0 Ok: queued as X\n", 26),
			 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_hold(b, 1), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_hold(b, 0), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_warned(b, 1700014400), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_done(b, 0, QFILE_RCPT_BOUNCED, "5.1.1",
					   "550 5.1.1 no such user", 22),
			 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_defer(b, 0, "4.0.0", "late", 4), 0);
	ends[k++] = b->len;
	assert_int_equal(qfile_format_retry(b, 1700000900, 2), 0);
	ends[k++] = b->len;
	return k;
}

/* The content filter record: only in a version 2 file; the last wins; a
 * version 1 reader's file with one is corrupt, not delivered unfiltered. */
static void test_filter_record(void **state)
{
	struct qfile_msg in = full_msg(), m;
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(qfile_format(&b, &in, content, sizeof(content) - 1),
			 0);
	assert_int_equal(qfile_format_filter(&b, "smtp:[127.0.0.1]:1", 18), 0);
	assert_int_equal(qfile_format_filter(&b, "relay:[::1]:10025", 17), 0);
	assert_int_equal(qfile_format_filter(&b, "", 0), QFILE_ERR_VALUE);
	assert_int_equal(qfile_parse(&m, b.data, b.len), QFILE_ERR_RECORD);
	b.data[QFILE_VERSION_OFF] = '0' + QFILE_VERSION_FILTER;
	assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
	assert_int_equal(m.version, 2);
	assert_int_equal(m.filter.len, 17);
	assert_memory_equal(m.filter.p, "relay:[::1]:10025", 17);
	assert_false(m.torn);
	qfile_msg_free(&m);
	buf_free(&b);
}

static void test_appended_state(void **state)
{
	struct qfile_msg m;
	struct buf b;
	size_t ends[16];

	(void)state;
	buf_init(&b, 1 << 20);
	build_history(&b, ends);
	assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
	assert_false(m.torn);
	assert_int_equal(m.valid_len, b.len);
	assert_int_equal(m.initial_len, ends[0]);
	assert_int_equal(m.rcpt[0].state, QFILE_RCPT_BOUNCED);
	/* The late defer after "bounced" does not reopen recipient 0. */
	assert_true(str_eq(m.rcpt[0].dsn, S("5.1.1")));
	assert_true(str_eq(m.rcpt[0].text, S("550 5.1.1 no such user")));
	assert_int_equal(m.rcpt[1].state, QFILE_RCPT_SENT);
	assert_true(str_eq(m.rcpt[1].text, S("250 2.0.0 Ok: queued as X\n")));
	assert_int_equal(m.rcpt[2].state, QFILE_RCPT_TODO);
	assert_int_equal(m.rcpt[2].text.len, 0);
	assert_int_equal(m.nrcpt_todo, 1);
	assert_true(m.retry_after == 1700000900);
	assert_int_equal(m.attempts, 2);
	assert_int_equal(m.hold, 0);
	assert_true(m.warned == 1700014400);
	qfile_msg_free(&m);

	/* A deferral reason shows while the recipient is open. */
	assert_int_equal(qfile_parse(&m, b.data, ends[1]), 0);
	assert_int_equal(m.rcpt[0].state, QFILE_RCPT_TODO);
	assert_true(str_eq(m.rcpt[0].dsn, S("4.4.1")));
	assert_true(str_eq(m.rcpt[0].text, S("timeout")));
	assert_int_equal(m.nrcpt_todo, 3);
	qfile_msg_free(&m);
	assert_int_equal(qfile_parse(&m, b.data, ends[4]), 0);
	assert_int_equal(m.hold, 1);
	qfile_msg_free(&m);

	/* "reported" (the notice went out) and "passed" (the next hop took
	 * over DSN) read back; a recipient done twice has the last state. */
	assert_int_equal(qfile_format_done(&b, 0, QFILE_RCPT_REPORTED, "5.1.1",
					   "550 5.1.1 no such user", 22),
			 0);
	assert_int_equal(qfile_format_done(&b, 2, QFILE_RCPT_PASSED, "2.0.0",
					   "250 ok", 6),
			 0);
	assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
	assert_int_equal(m.rcpt[0].state, QFILE_RCPT_REPORTED);
	assert_int_equal(m.rcpt[2].state, QFILE_RCPT_PASSED);
	assert_int_equal(m.nrcpt_todo, 0);
	qfile_msg_free(&m);
	assert_int_equal(qfile_format_done(&b, 0, QFILE_RCPT_PASSED + 1,
					   "2.0.0", "", 0),
			 QFILE_ERR_VALUE);
	buf_free(&b);
}

/* Cut the file at every byte: before the end of the initial part it is
 * corrupt; after it, it reads as the state of the whole records before
 * the cut, with torn set unless the cut is on a record boundary. */
static void test_every_truncation(void **state)
{
	struct buf b;
	size_t ends[16], nends;

	(void)state;
	buf_init(&b, 1 << 20);
	nends = build_history(&b, ends);
	for (size_t len = 0; len <= b.len; len++) {
		struct qfile_msg m, ref;
		char *copy;
		int rc = parse_copy(&m, b.data, len, &copy);
		size_t k = 0;

		if (len < ends[0]) {
			assert_true(rc < 0);
			assert_null(m.rcpt);
			assert_true(m.err_off <= len);
			mem_free(copy);
			continue;
		}
		assert_int_equal(rc, 0);
		while (k + 1 < nends && ends[k + 1] <= len)
			k++;
		assert_int_equal(m.valid_len, ends[k]);
		assert_int_equal(m.torn, len != ends[k]);
		assert_int_equal(qfile_parse(&ref, b.data, ends[k]), 0);
		assert_envelope_equal(&m, &ref);
		assert_int_equal(m.nrcpt_todo, ref.nrcpt_todo);
		assert_true(m.retry_after == ref.retry_after);
		assert_int_equal(m.attempts, ref.attempts);
		assert_int_equal(m.hold, ref.hold);
		assert_true(m.warned == ref.warned);
		for (size_t i = 0; i < m.nrcpt; i++) {
			assert_int_equal(m.rcpt[i].state, ref.rcpt[i].state);
			assert_int_equal(m.rcpt[i].text.len,
					 ref.rcpt[i].text.len);
		}
		qfile_msg_free(&ref);
		qfile_msg_free(&m);
		mem_free(copy);
	}
	buf_free(&b);
}

/* What a crash can leave after the last good record. */
static void test_torn_appends(void **state)
{
	struct buf b, rec;
	size_t ends[16], good;

	(void)state;
	buf_init(&b, 1 << 20);
	buf_init(&rec, 1 << 16);
	build_history(&b, ends);
	good = b.len;
	assert_int_equal(qfile_format_done(&rec, 2, QFILE_RCPT_SENT, "2.0.0",
					   "250 ok", 6),
			 0);
	for (int variant = 0; variant < 6; variant++) {
		struct qfile_msg m;
		char *copy;

		buf_truncate(&b, good);
		switch (variant) {
		case 0: /* zeros: size updated, data never written */
			for (int i = 0; i < 512; i++)
				buf_putc(&b, 0);
			break;
		case 1: /* a whole record with one byte flipped */
			buf_append(&b, rec.data, rec.len);
			b.data[good + rec.len - 3] ^= 0x20;
			break;
		case 2: /* right length and LF, middle page lost */
			buf_append(&b, rec.data, rec.len);
			memset(b.data + good + 14, 0, 4);
			break;
		case 3: /* huge length field */
			buf_puts(&b, "D99999999 ");
			break;
		case 4: /* stale bytes of an old record after a cut */
			buf_append(&b, rec.data + 5, rec.len - 5);
			break;
		case 5: /* a good record after a torn one: still ignored */
			buf_append(&b, rec.data, rec.len - 1);
			buf_append(&b, rec.data, rec.len);
			break;
		}
		assert_int_equal(parse_copy(&m, b.data, b.len, &copy), 0);
		assert_true(m.torn);
		assert_int_equal(m.valid_len, good);
		assert_int_equal(m.rcpt[2].state, QFILE_RCPT_TODO);
		qfile_msg_free(&m);
		mem_free(copy);
	}
	/* The clean record itself is accepted. */
	buf_truncate(&b, good);
	buf_append(&b, rec.data, rec.len);
	{
		struct qfile_msg m;

		assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
		assert_false(m.torn);
		assert_int_equal(m.rcpt[2].state, QFILE_RCPT_SENT);
		assert_int_equal(m.nrcpt_todo, 0);
		qfile_msg_free(&m);
	}
	buf_free(&rec);
	buf_free(&b);
}

/* An authentic (good CRC) record that makes no sense is corruption. */
static void test_bad_appended_record(void **state)
{
	struct buf b;
	struct qfile_msg m;
	size_t ends[16], good;

	(void)state;
	buf_init(&b, 1 << 20);
	build_history(&b, ends);
	good = b.len;
	assert_int_equal(
		qfile_format_done(&b, 3, QFILE_RCPT_SENT, "2.0.0", "", 0),
		0); /* only 3 recipients */
	assert_int_equal(qfile_parse(&m, b.data, b.len), QFILE_ERR_VALUE);
	assert_int_equal(m.err_off, good);
	assert_null(m.rcpt);
	/* The formatters refuse what the reader would refuse. */
	assert_int_equal(
		qfile_format_done(&b, 0, QFILE_RCPT_TODO, "2.0.0", "", 0),
		QFILE_ERR_VALUE);
	assert_int_equal(
		qfile_format_done(&b, 0, QFILE_RCPT_SENT, "2.0", "", 0),
		QFILE_ERR_VALUE);
	assert_int_equal(qfile_format_defer(&b, 0, "3.1.1", "", 0),
			 QFILE_ERR_VALUE);
	assert_int_equal(qfile_format_defer(&b, 0, "4.1234.1", "", 0),
			 QFILE_ERR_VALUE);
	assert_int_equal(qfile_format_retry(&b, -1, 0), QFILE_ERR_VALUE);
	assert_int_equal(qfile_format_warned(&b, -1), QFILE_ERR_VALUE);
	buf_free(&b);
}

static void test_text_cut(void **state)
{
	static char text[QFILE_TEXT_MAX + 100];
	struct buf b;
	struct qfile_msg m;
	size_t ends[16];

	(void)state;
	memset(text, 't', sizeof(text));
	buf_init(&b, 1 << 20);
	build_history(&b, ends);
	assert_int_equal(qfile_format_done(&b, 2, QFILE_RCPT_BOUNCED, "5.3.4",
					   text, sizeof(text)),
			 0);
	assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
	assert_int_equal(m.rcpt[2].text.len, QFILE_TEXT_MAX);
	qfile_msg_free(&m);
	buf_free(&b);
}

/* Hand-made files: each must be refused with the right error. */
static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{"", QFILE_ERR_TRUNCATED},
		{"MAILGW", QFILE_ERR_TRUNCATED},
		{"MAILGW-QUEUE 1", QFILE_ERR_TRUNCATED},
		{"From: x\r\n", QFILE_ERR_MAGIC},
		{"MAILGW-QUEUE x\n", QFILE_ERR_MAGIC},
		{"MAILGW-QUEUE 3\n", QFILE_ERR_VERSION},
		{"MAILGW-QUEUE 0\n", QFILE_ERR_VERSION},
		{"MAILGW-QUEUE 1000\n", QFILE_ERR_VERSION},
		{"MAILGW-QUEUE 1\nT", QFILE_ERR_TRUNCATED},
		{"MAILGW-QUEUE 1\n#1 x\n", QFILE_ERR_FRAMING},
		{"MAILGW-QUEUE 1\nT01 x\n", QFILE_ERR_FRAMING},
		{"MAILGW-QUEUE 1\nT1x\n", QFILE_ERR_FRAMING},
		{"MAILGW-QUEUE 1\nT 1\n", QFILE_ERR_FRAMING},
		{"MAILGW-QUEUE 1\nS1 ab\n", QFILE_ERR_FRAMING},
		{"MAILGW-QUEUE 1\nS99999 ", QFILE_ERR_LIMIT},
		{"MAILGW-QUEUE 1\nS8193 ", QFILE_ERR_LIMIT},
		{"MAILGW-QUEUE 1\nT3 1.0\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nT8 01.00000\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nT8 1.00000x\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nS0 \nS0 \n", QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nO1 x\n", QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nR1 x\nS0 \nO1 x\n", QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nR1 x\nO1 x\nO1 x\n", QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nR1 x\nN7 FAILURE\nN5 NEVER\n",
		 QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nR1 x\nN13 NEVER,SUCCESS\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nR1 x\nN8 FAILURE,\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nR1 x\nN15 FAILURE,FAILURE\n",
		 QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nR1 x\nN0 \n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nB4 7bit\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nr3 ALL\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nU1 1\n", QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nD0 \n", QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nE0 \n", QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nS0 \nR1 x\n"
		 "M20 00000000000000000000\n",
		 QFILE_ERR_MISSING},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \n"
		 "M20 00000000000000000000\n",
		 QFILE_ERR_MISSING},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\nM1 0\n",
		 QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 0000000000000000000x\n",
		 QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 99999999999999999999\n",
		 QFILE_ERR_VALUE},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 00000000000000000009\nabc\r\n",
		 QFILE_ERR_TRUNCATED},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 00000000000000000002\n\r\n",
		 QFILE_ERR_TRUNCATED},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 00000000000000000002\n\r\nE1 x\n",
		 QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 00000000000000000002\n\r\nS0 \n",
		 QFILE_ERR_RECORD},
		{"MAILGW-QUEUE 1\nT8 1.000000\nS0 \nR1 x\n"
		 "M20 00000000000000000002\n\r\nE0 \n",
		 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qfile_msg m;
		char *copy;
		int rc = parse_copy(&m, cases[i].text, strlen(cases[i].text),
				    &copy);

		if (rc != cases[i].err)
			print_error("case %zu: got %d (%s), want %d\n", i, rc,
				    qfile_strerror(rc), cases[i].err);
		assert_int_equal(rc, cases[i].err);
		qfile_msg_free(&m);
		mem_free(copy);
	}
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = 0; e >= QFILE_ERR_FULL - 1; e--)
		assert_non_null(qfile_strerror(e));
	assert_string_equal(qfile_strerror(QFILE_ERR_TRUNCATED),
			    "queue file is truncated");
}

/* Many recipients: the array grows; the limit holds in the reader. */
static void test_many_recipients(void **state)
{
	const size_t n = 5000;
	struct qfile_rcpt *r = mem_zalloc(n * sizeof(*r));
	struct qfile_msg in = {.rcpt = r, .nrcpt = n}, out;
	struct buf b;

	(void)state;
	for (size_t i = 0; i < n; i++)
		r[i].addr = S("user@example.com");
	buf_init(&b, 1 << 22);
	assert_int_equal(qfile_format(&b, &in, "x\r\n", 3), 0);
	assert_int_equal(qfile_parse(&out, b.data, b.len), 0);
	assert_int_equal(out.nrcpt, n);
	assert_int_equal(out.nrcpt_todo, n);
	qfile_msg_free(&out);
	buf_free(&b);
	mem_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_canonical_content),
		cmocka_unit_test(test_writer_canonical_random),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_appended_state),
		cmocka_unit_test(test_filter_record),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_torn_appends),
		cmocka_unit_test(test_bad_appended_record),
		cmocka_unit_test(test_text_cut),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_many_recipients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
