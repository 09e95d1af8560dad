/* test_qid - queue ID encoding, ordering, and uniqueness across processes. */
#include "testutil.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "core/mem.h"
#include "queue/qid.h"
#include "queue/spool.h"

static void test_round_trip(void **state)
{
	static const struct {
		int64_t sec;
		long usec;
		uint64_t ino;
	} cases[] = {
		{0, 0, 0},
		{1, 1, 1},
		{1700000000, 123456, 131073},
		{19770609663LL, 999999,
		 UINT64_MAX}, /* 52^6 - 1: the last second */
		{4102444800LL, 500000, 52},
	};
	char id[QID_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t sec;
		long usec;
		uint64_t ino;
		int len = qid_format(id, cases[i].sec, cases[i].usec,
				     cases[i].ino);

		assert_true(len >= QID_LEN_MIN && len <= QID_LEN_MAX);
		assert_int_equal((size_t)len, strlen(id));
		assert_true(qid_valid(id));
		assert_int_equal(qid_parse(id, (size_t)len, &sec, &usec, &ino),
				 0);
		assert_true(sec == cases[i].sec);
		assert_int_equal(usec, cases[i].usec);
		assert_true(ino == cases[i].ino);
	}
	/* Exact spelling of a small case: fixed-width time, inode bare. */
	assert_int_equal(qid_format(id, 0, 0, 0), 11);
	assert_string_equal(id, "00000000000");
	assert_int_equal(qid_format(id, 52, 1, 53), 12);
	assert_string_equal(id, "000010000111");
}

static void test_range_and_syntax(void **state)
{
	char id[QID_SIZE];

	(void)state;
	assert_int_equal(qid_format(id, -1, 0, 0), QID_ERR_RANGE);
	assert_int_equal(qid_format(id, 19770609664LL, 0, 0), QID_ERR_RANGE);
	assert_int_equal(qid_format(id, 0, 1000000, 0), QID_ERR_RANGE);
	assert_int_equal(qid_format(id, 0, -1, 0), QID_ERR_RANGE);

	assert_false(qid_valid(""));
	assert_false(qid_valid("0000000000"));               /* no inode */
	assert_false(qid_valid("000000000001234567890123")); /* too long */
	assert_false(qid_valid("0000000000A"));              /* vowel */
	assert_false(qid_valid("0000000000a"));
	assert_false(qid_valid("000000000001")); /* leading zero */
	assert_false(qid_valid("00000000001."));
	assert_false(qid_valid(".tmp.123.4"));
	assert_false(qid_valid("../../etc/x"));
	/* 52^4 - 1 microseconds is beyond 999999. */
	assert_false(qid_valid("000000zzzz1"));
	/* 12 inode digits of "z" overflow 64 bits. */
	assert_false(qid_valid("0000000000zzzzzzzzzzzz"));
	assert_true(qid_valid("0000000000B"));
	assert_int_equal(qid_parse("0000000000B", 11, NULL, NULL, NULL), 0);
}

/* strcmp order is (seconds, microseconds) order. */
static void test_ordering(void **state)
{
	char prev[QID_SIZE], id[QID_SIZE];
	int64_t sec = 0;
	long usec = 0;
	unsigned seed = 12345;

	(void)state;
	qid_format(prev, sec, usec, 999999999);
	for (int i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		/* Steps from 1 microsecond to about a day. */
		usec += (long)(seed >> 8) % (i % 3 == 0 ? 1000 : 1000000) + 1;
		sec += usec / 1000000 + (i % 1000 == 0 ? 86400 : 0);
		usec %= 1000000;
		qid_format(id, sec, usec, seed % 7);
		assert_true(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof(id));
	}
}

/* Many processes naming files in one spool at the same time: no two IDs
 * alike, and each process's IDs in time order. */
#define FORK_PROCS 8
#define FORK_FILES 300

static int collect(const char *qid, void *arg)
{
	struct buf *b = arg;

	buf_puts(b, qid);
	buf_putc(b, '\n');
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_unique_across_processes(void **state)
{
	char root[256];
	struct spool sp;
	struct buf names;
	char **ids;
	size_t n = 0;
	pid_t pids[FORK_PROCS];

	(void)state;
	snprintf(root, sizeof(root), "%s/forkspool", test_tmpdir());
	assert_int_equal(spool_create(root, (uid_t)-1, 0), 0);
	for (int p = 0; p < FORK_PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			char prev[QID_SIZE] = "";
			int bad = 0;

			if (spool_open(&sp, root) < 0)
				_exit(2);
			for (int i = 0; i < FORK_FILES && !bad; i++) {
				struct spool_file f;
				struct timeval tv;

				gettimeofday(&tv, NULL);
				bad |= spool_file_new(&sp, &f, tv.tv_sec,
						      tv.tv_usec) < 0;
				bad |= spool_file_write(&f, "x", 1) < 0;
				bad |= spool_file_sync(&f) < 0;
				bad |= spool_file_commit(&sp, &f) < 0;
				/* Time order within a process: the time
				 * part never goes back. */
				bad |= strncmp(prev, f.qid,
					       QID_SEC_WIDTH + QID_USEC_WIDTH) >
				       0;
				memcpy(prev, f.qid, sizeof(prev));
			}
			spool_close(&sp);
			_exit(bad ? 1 : 0);
		}
	}
	for (int p = 0; p < FORK_PROCS; p++) {
		int status;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	/* Every file is there under its own name: a clash would have failed
	 * the commit (no replace) in a child. Check the count and order. */
	buf_init(&names, 1 << 20);
	assert_int_equal(spool_open(&sp, root), 0);
	assert_int_equal(spool_list(&sp, SPOOL_INCOMING, collect, &names), 0);
	ids = mem_alloc(FORK_PROCS * FORK_FILES * sizeof(*ids));
	for (char *s = names.data, *nl; (nl = strchr(s, '\n')) != NULL;
	     s = nl + 1) {
		*nl = 0;
		assert_true(n < FORK_PROCS * FORK_FILES);
		ids[n++] = s;
	}
	assert_int_equal(n, FORK_PROCS * FORK_FILES);
	qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	mem_free(ids);
	buf_free(&names);
	spool_close(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_range_and_syntax),
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_unique_across_processes),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	test_cleanup_tmpdir();
	return rc;
}
