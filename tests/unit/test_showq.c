/* test_showq - the queue listing: Postfix's text and JSON forms byte for
 * byte, and the walk over a real spool (order, skipped damage). */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/showq.h"
#include "queue/spool.h"

static const struct showq_rcpt rcpts[] = {
	{"a@x", 3, "connect to x: refused", 21},
	{"b@x", 3, "connect to x: refused", 21},
	{"c@x", 3, NULL, 0},
	{"d\n@x", 4, "t\"\\", 3},
};

static void test_text(void **state)
{
	struct showq_msg m = {"deferred", "4SVLCh000BMF", 1700000000, 1234, "",
			      0,          rcpts,          4};
	struct buf b;

	(void)state;
	buf_init(&b, 65536);
	assert_int_equal(showq_format_text(&b, &m, 1, "MAILER-DAEMON"), 0);
	assert_string_equal(
		buf_str(&b),
		"----Queue ID----- --Size-- ---Arrival Time---- "
		"--Sender/Recipient------\n"
		"4SVLCh000BMF          1234 Tue Nov 14 22:13:20 MAILER-DAEMON\n"
		"                                                       "
		"(connect to x: refused)\n"
		"                                               a@x\n"
		"                                               b@x\n"
		"                                                          "
		"(reason unavailable)\n"
		"                                               c@x\n"
		"                                                              "
		"           (t\"\\)\n"
		"                                               d?@x\n");
	buf_reset(&b);
	m.queue = "hold";
	m.sender = "s@y";
	m.sender_len = 3;
	m.nrcpt = 0;
	assert_int_equal(showq_format_text(&b, &m, 0, "MAILER-DAEMON"), 0);
	assert_string_equal(buf_str(&b), "\n4SVLCh000BMF!         1234 Tue Nov "
					 "14 22:13:20 s@y\n");
	buf_reset(&b);
	m.queue = "active";
	showq_format_text(&b, &m, 0, "MAILER-DAEMON");
	assert_non_null(strstr(buf_str(&b), "4SVLCh000BMF* "));
	buf_free(&b);
}

static void test_summary(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	showq_format_summary(&b, 0, 0);
	assert_string_equal(buf_str(&b), "Mail queue is empty\n");
	buf_reset(&b);
	showq_format_summary(&b, 1, 2047);
	assert_string_equal(buf_str(&b), "\n-- 1 Kbytes in 1 Request.\n");
	buf_reset(&b);
	showq_format_summary(&b, 3, 1023);
	assert_string_equal(buf_str(&b), "\n-- 0 Kbytes in 3 Requests.\n");
	buf_free(&b);
}

static void test_json(void **state)
{
	struct showq_msg m = {"deferred", "4SVLCh000BMF", 1700000000, 1234, "",
			      0,          rcpts + 2,      2};
	struct buf b;

	(void)state;
	buf_init(&b, 65536);
	showq_format_json(&b, &m, "MAILER-DAEMON");
	assert_string_equal(
		buf_str(&b),
		"{\"queue_name\": \"deferred\", \"queue_id\": "
		"\"4SVLCh000BMF\", "
		"\"arrival_time\": 1700000000, \"message_size\": 1234, "
		"\"forced_expire\": false, \"sender\": \"MAILER-DAEMON\", "
		"\"recipients\": [{\"address\": \"c@x\"}, {\"address\": "
		"\"d\\n@x\", \"delay_reason\": \"t\\\"\\\\\"}]}\n");
	buf_free(&b);
}

struct seen {
	char ids[8][64];
	char queues[8][16];
	size_t nrcpt[8];
	int n;
};

static int remember(const struct showq_msg *m, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", m->id);
	snprintf(s->queues[s->n], sizeof(s->queues[0]), "%s", m->queue);
	s->nrcpt[s->n] = m->nrcpt;
	s->n++;
	return 0;
}

static void put(struct spool *sp, enum spool_queue q, const char *qid,
		const void *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/spool/%s/%s", test_tmpdir(),
		 spool_queue_name(q), qid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
	(void)sp;
}

static void test_walk(void **state)
{
	struct qfile_rcpt r[2] = {{.addr = {"r1@x", 4}}, {.addr = {"r2@x", 4}}};
	struct qfile_msg m = {.arrival_sec = 1700000000,
			      .sender = {"s@x", 3},
			      .rcpt = r,
			      .nrcpt = 2};
	char root[256], q1[QID_SIZE], q2[QID_SIZE], q3[QID_SIZE];
	struct seen seen = {0};
	struct spool sp;
	struct buf b;

	(void)state;
	snprintf(root, sizeof(root), "%s/spool", test_tmpdir());
	assert_int_equal(spool_create(root, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(spool_open(&sp, root), 0);
	buf_init(&b, 65536);
	assert_int_equal(qfile_format(&b, &m, "x\r\n", 3), 0);
	qfile_format_done(&b, 0, QFILE_RCPT_SENT, "2.0.0", "ok", 2);
	qid_format(q1, 1700000000, 2, 5);
	qid_format(q2, 1700000000, 1, 6);
	qid_format(q3, 1700000000, 3, 7);
	/* Two in deferred/ (listed in ID order), one in active/ (first), a
	 * damaged one in hold/ (skipped with a warning). */
	put(&sp, SPOOL_DEFERRED, q1, buf_str(&b), buf_len(&b));
	put(&sp, SPOOL_DEFERRED, q2, buf_str(&b), buf_len(&b));
	put(&sp, SPOOL_ACTIVE, q3, buf_str(&b), buf_len(&b));
	put(&sp, SPOOL_HOLD, q1, "garbage", 7);
	test_log_capture();
	assert_int_equal(showq_walk(&sp, remember, &seen), 0);
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines), "warning: hold/"));
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.ids[0], q3);
	assert_string_equal(seen.queues[0], "active");
	assert_string_equal(seen.ids[1], q2);
	assert_string_equal(seen.ids[2], q1);
	assert_string_equal(seen.queues[2], "deferred");
	/* The delivered recipient is not listed. */
	assert_int_equal(seen.nrcpt[1], 1);
	buf_free(&b);
	spool_close(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_walk),
	};

	int rc;

	setenv("TZ", "UTC", 1);
	tzset();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	buf_free(&test_log_lines);
	test_cleanup_tmpdir();
	return rc;
}
