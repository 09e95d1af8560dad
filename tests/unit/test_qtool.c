/* test_qtool - the shared pieces of the queue commands: ETRN/-s site
 * requests, maildrop names, and the queue-file update and move that
 * postsuper and postqueue -i make while qmgr may be moving files. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/qtool.h"
#include "queue/spool.h"
#include "queue/trigger.h"

static void test_site_request(void **state)
{
	char req[TRIGGER_MAX], name[300];

	(void)state;
	assert_int_equal(qtool_site_request("Mail.Example.COM", 16, req), 0);
	assert_string_equal(req, "S mail.example.com");
	assert_int_equal(qtool_site_request("[192.0.2.1]", 11, req), 0);
	assert_string_equal(req, "S [192.0.2.1]");
	assert_int_equal(qtool_site_request("a b", 3, req), -1);
	assert_int_equal(qtool_site_request("a\nS x", 5, req), -1);
	assert_int_equal(qtool_site_request("", 0, req), -1);
	memset(name, 'a', sizeof(name));
	assert_int_equal(qtool_site_request(name, 255, req), 0); /* limit */
	assert_int_equal(qtool_site_request(name, 256, req), -1);
}

static void test_maildrop_name(void **state)
{
	(void)state;
	assert_true(qtool_maildrop_name("0123456789abcdef"));
	assert_false(qtool_maildrop_name("0123456789abcde")); /* 15 */
	assert_false(qtool_maildrop_name(".tmp.0123456789abcdef"));
	assert_false(qtool_maildrop_name("0123456789abcdef/"));
	assert_false(qtool_maildrop_name("../0123456789abcdef"));
}

static const char *root(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/spool", test_tmpdir());
	return path;
}

static void put(enum spool_queue q, const char *qid, const void *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", root(), spool_queue_name(q),
		 qid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void parse_at(struct spool *sp, enum spool_queue q, const char *qid,
		     struct qfile_msg *m)
{
	const void *p;
	size_t n;
	int fd = spool_open_message(sp, q, qid, 0);

	assert_true(fd >= 0);
	assert_int_equal(spool_map(fd, &p, &n), 0);
	memset(m, 0, sizeof(*m));
	assert_int_equal(qfile_parse(m, p, n), 0);
	spool_unmap(p, n);
	close(fd);
}

static void test_update_and_move(void **state)
{
	struct qfile_rcpt r = {.addr = {"r@x", 3}};
	struct qfile_msg m = {.arrival_sec = 1700000000,
			      .sender = {"s@x", 3},
			      .rcpt = &r,
			      .nrcpt = 1};
	char q1[QID_SIZE], q2[QID_SIZE];
	struct spool sp;
	struct buf b;
	time_t before = time(NULL);

	(void)state;
	assert_int_equal(spool_create(root(), (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(spool_open(&sp, root()), 0);
	buf_init(&b, 65536);
	assert_int_equal(qfile_format(&b, &m, "x\r\n", 3), 0);
	qfile_format_retry(&b, 1700000600, 3);
	qid_format(q1, 1700000000, 1, 11);
	qid_format(q2, 1700000000, 2, 12);
	put(SPOOL_DEFERRED, q1, buf_str(&b), buf_len(&b));

	/* Hold: H 1; retry now keeps the attempts. */
	assert_int_equal(qtool_update(&sp, SPOOL_DEFERRED, q1, 1, 1), 0);
	parse_at(&sp, SPOOL_DEFERRED, q1, &m);
	assert_int_equal(m.hold, 1);
	assert_int_equal(m.attempts, 3);
	assert_true(m.retry_after >= (int64_t)before);
	qfile_msg_free(&m);

	/* A move follows a file that qmgr moved meanwhile. */
	assert_int_equal(spool_move(&sp, q1, SPOOL_DEFERRED, SPOOL_ACTIVE, 0),
			 0);
	assert_int_equal(qtool_move(&sp, q1, SPOOL_DEFERRED, SPOOL_HOLD), 0);
	assert_true(spool_open_message(&sp, SPOOL_ACTIVE, q1, 0) == -ENOENT);
	parse_at(&sp, SPOOL_HOLD, q1, &m);
	qfile_msg_free(&m);
	/* Gone from every queue (delivered): ENOENT. */
	assert_int_equal(spool_remove(&sp, SPOOL_HOLD, q1), 0);
	assert_int_equal(qtool_move(&sp, q1, SPOOL_HOLD, SPOOL_DEFERRED),
			 -ENOENT);
	assert_int_equal(qtool_update(&sp, SPOOL_HOLD, q1, 0, 0), -ENOENT);

	/* A torn tail: not changed, not cut. */
	buf_append(&b, "Y12 0123", 8);
	put(SPOOL_DEFERRED, q2, buf_str(&b), buf_len(&b));
	test_log_capture();
	assert_int_equal(qtool_update(&sp, SPOOL_DEFERRED, q2, 1, 0), -EAGAIN);
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines), "incomplete"));
	{
		struct stat st;
		char path[512];

		snprintf(path, sizeof(path), "%s/deferred/%s", root(), q2);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal((size_t)st.st_size, buf_len(&b));
	}
	/* Not a queue file: -EINVAL, warned. */
	put(SPOOL_INCOMING, q1, "junk", 4);
	test_log_capture();
	assert_int_equal(qtool_update(&sp, SPOOL_INCOMING, q1, 1, 0), -EINVAL);
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines), "malformed"));
	buf_free(&b);
	spool_close(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_site_request),
		cmocka_unit_test(test_maildrop_name),
		cmocka_unit_test(test_update_and_move),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	buf_free(&test_log_lines);
	test_cleanup_tmpdir();
	return rc;
}
