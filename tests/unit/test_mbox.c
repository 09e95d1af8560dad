/* test_mbox - mailbox format byte for byte, locking, all-or-nothing. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>

#include "deliver/mbox.h"

/* 2026-11-29 04:05:06 UTC, a Sunday. */
#define WHEN ((time_t)1795925106)

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	static char data[1 << 16];

	*n = 0;
	if (f == NULL)
		return NULL;
	*n = fread(data, 1, sizeof(data) - 1, f);
	data[*n] = 0;
	fclose(f);
	return data;
}

static void fmt2(struct buf *b, const char *sender, const char *orig,
		 const char *rcpt, const char *content)
{
	struct mbox_env env = {sender, strlen(sender), orig, strlen(orig),
			       rcpt,   strlen(rcpt),   WHEN};

	buf_reset(b);
	assert_int_equal(mbox_format(b, &env, content, strlen(content)), 0);
}

static void fmt(struct buf *b, const char *sender, const char *rcpt,
		const char *content)
{
	fmt2(b, sender, "", rcpt, content);
}

static void test_format(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	fmt2(&b, "alice@example.com", "Postmaster@Example.ORG",
	     "Bob@Example.ORG",
	     "Subject: hi\r\n\r\nFrom here\r\n>From there\r\nFrom\r\n"
	     " From x\r\nlast\r\n");
	assert_string_equal(buf_str(&b),
			    "From alice@example.com  Sun Nov 29 04:05:06 2026\n"
			    "Return-Path: <alice@example.com>\n"
			    "X-Original-To: Postmaster@Example.ORG\n"
			    "Delivered-To: Bob@Example.ORG\n"
			    "Subject: hi\n"
			    "\n"
			    ">From here\n"
			    ">From there\n"
			    "From\n"
			    " From x\n"
			    "last\n"
			    "\n");
	/* Null sender; content without a final newline; bare CR kept. */
	fmt(&b, "", "root@localhost", "a\rb\r\nno newline");
	assert_string_equal(buf_str(&b),
			    "From MAILER-DAEMON  Sun Nov 29 04:05:06 2026\n"
			    "Return-Path: <>\n"
			    "Delivered-To: root@localhost\n"
			    "a\rb\n"
			    "no newline\n"
			    "\n");
	/* Day of month padded as ctime(3) does. */
	{
		struct mbox_env env = {"s", 1, "", 0, "r", 1, 1767236645};
		buf_reset(&b);
		assert_int_equal(mbox_format(&b, &env, "", 0), 0);
	}
	assert_string_equal(buf_str(&b), "From s  Thu Jan  1 03:04:05 2026\n"
					 "Return-Path: <s>\n"
					 "Delivered-To: r\n"
					 "\n");
	buf_free(&b);
	/* Too small: nothing appended, error returned. */
	buf_init(&b, 40);
	buf_puts(&b, "keep");
	{
		struct mbox_env env = {"s", 1, "", 0, "r", 1, WHEN};
		assert_int_equal(mbox_format(&b, &env, "x\r\n", 3),
				 BUF_ERR_FULL);
	}
	assert_string_equal(buf_str(&b), "keep");
	assert_int_equal(buf_error(&b), 0);
	buf_free(&b);
}

/* A vector captured from Postfix 3.7.11's local(8) (mailbox delivery,
 * message submitted with sendmail; the headers Postfix's cleanup added
 * are part of the content here). Only the From_ date differs: WHEN. */
static void test_postfix_vector(void **state)
{
	static const char content[] =
		"Received: by pf.test (Postfix, from userid 0)\r\n"
		"\tid EEAEEA732BC; Sun, 29 Nov 2026 04:37:22 +0000 (UTC)\r\n"
		"Subject: hi\r\n"
		"X-Test: 1\r\n"
		"Message-Id: <20261129043722.EEAEEA732BC@pf.test>\r\n"
		"Date: Sun, 29 Nov 2026 04:37:22 +0000 (UTC)\r\n"
		"From: root <alice@remote.example>\r\n"
		"\r\n"
		"From the start\r\n"
		">From quoted\r\n"
		" From x\r\n"
		"last line\r\n";
	static const char postfix[] =
		"From alice@remote.example  Sun Nov 29 04:05:06 2026\n"
		"Return-Path: <alice@remote.example>\n"
		"X-Original-To: daemon@pf.test\n"
		"Delivered-To: daemon@pf.test\n"
		"Received: by pf.test (Postfix, from userid 0)\n"
		"\tid EEAEEA732BC; Sun, 29 Nov 2026 04:37:22 +0000 (UTC)\n"
		"Subject: hi\n"
		"X-Test: 1\n"
		"Message-Id: <20261129043722.EEAEEA732BC@pf.test>\n"
		"Date: Sun, 29 Nov 2026 04:37:22 +0000 (UTC)\n"
		"From: root <alice@remote.example>\n"
		"\n"
		">From the start\n"
		">From quoted\n"
		" From x\n"
		"last line\n"
		"\n";
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	fmt2(&b, "alice@remote.example", "daemon@pf.test", "daemon@pf.test",
	     content);
	assert_int_equal(b.len, sizeof(postfix) - 1);
	assert_memory_equal(b.data, postfix, b.len);
	buf_free(&b);
}

static const struct mbox_opts fast = {3, 10, 0, 0, 0, 0};

static void test_append(void **state)
{
	char path[256];
	struct buf b, err;
	size_t n;
	const char *got;
	struct stat st;

	(void)state;
	buf_init(&b, 1 << 16);
	buf_init(&err, 4096);
	snprintf(path, sizeof(path), "%s/user1", test_tmpdir());
	fmt(&b, "a@x", "user1@x", "Subject: 1\r\n\r\nbody\r\n");
	assert_int_equal(mbox_append(path, b.data, b.len, &fast, &err, NULL),
			 0);
	fmt(&b, "b@x", "user1@x", "Subject: 2\r\n\r\nFrom me\r\n");
	assert_int_equal(mbox_append(path, b.data, b.len, &fast, &err, NULL),
			 0);
	got = slurp(path, &n);
	assert_string_equal(got, "From a@x  Sun Nov 29 04:05:06 2026\n"
				 "Return-Path: <a@x>\nDelivered-To: user1@x\n"
				 "Subject: 1\n\nbody\n\n"
				 "From b@x  Sun Nov 29 04:05:06 2026\n"
				 "Return-Path: <b@x>\nDelivered-To: user1@x\n"
				 "Subject: 2\n\n>From me\n\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The dotlock is gone. */
	snprintf(path + strlen(path), 16, ".lock");
	assert_int_equal(access(path, F_OK), -1);
	buf_free(&b);
	buf_free(&err);
}

static void test_locks(void **state)
{
	char path[256], lock[300];
	struct buf err;
	int fd, e = 0;
	size_t n;
	struct utimbuf old = {1000, 1000};

	(void)state;
	buf_init(&err, 4096);
	snprintf(path, sizeof(path), "%s/user2", test_tmpdir());
	snprintf(lock, sizeof(lock), "%s.lock", path);
	/* A fresh dotlock held by someone else: lock error, no change. */
	fd = open(lock, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mbox_append(path, "x\n", 2, &fast, &err, &e),
			 MBOX_ERR_LOCK);
	assert_int_equal(e, EAGAIN);
	assert_non_null(strstr(buf_str(&err), "unable to lock for exclusive "
					      "access"));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(lock, F_OK), 0); /* not ours: kept */
	/* The same lock, stale: removed, delivery goes on. */
	assert_int_equal(utime(lock, &old), 0);
	assert_int_equal(mbox_append(path, "x\n", 2, &fast, &err, &e), 0);
	assert_string_equal(slurp(path, &n), "x\n");
	assert_int_equal(access(lock, F_OK), -1);
	buf_free(&err);
}

static void test_fcntl_lock(void **state)
{
	char path[256];
	struct buf err;
	int fd, e = 0;
	pid_t pid;
	int pipefd[2];
	char c;
	size_t n;

	(void)state;
	buf_init(&err, 4096);
	snprintf(path, sizeof(path), "%s/user3", test_tmpdir());
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		int f = open(path, O_WRONLY);
		if (f < 0 || fcntl(f, F_SETLK, &fl) < 0)
			_exit(1);
		if (write(pipefd[1], "L", 1) != 1)
			_exit(1);
		close(pipefd[0]);
		sleep(20); /* killed by the parent */
		_exit(0);
	}
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	assert_int_equal(mbox_append(path, "y\n", 2, &fast, &err, &e),
			 MBOX_ERR_LOCK);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_string_equal(slurp(path, &n), "");
	/* Released: delivery works, the dotlock was removed both times. */
	assert_int_equal(mbox_append(path, "y\n", 2, &fast, &err, &e), 0);
	assert_string_equal(slurp(path, &n), "y\n");
	buf_free(&err);
}

static void test_unsafe(void **state)
{
	char path[256], target[256];
	struct buf err;
	int e = 0;

	(void)state;
	buf_init(&err, 4096);
	snprintf(path, sizeof(path), "%s/user4", test_tmpdir());
	snprintf(target, sizeof(target), "%s/elsewhere", test_tmpdir());
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(mbox_append(path, "z\n", 2, &fast, &err, &e),
			 MBOX_ERR_OPEN);
	assert_int_equal(access(target, F_OK), -1);
	/* A hard-linked mailbox is refused too. */
	snprintf(path, sizeof(path), "%s/user5", test_tmpdir());
	test_write_file("user5", "");
	assert_int_equal(link(path, target), 0);
	buf_reset(&err);
	assert_int_equal(mbox_append(path, "z\n", 2, &fast, &err, &e),
			 MBOX_ERR_OPEN);
	assert_non_null(strstr(buf_str(&err), "one link"));
	buf_free(&err);
}

/* A write that fails half way (file size limit): the mailbox is cut back
 * to what it held before, and the errno maps to 5.2.2. */
static void test_truncate_back(void **state)
{
	char path[256];
	struct buf err, big;
	struct rlimit old, lim;
	int e = 0;
	size_t n;

	(void)state;
	buf_init(&err, 4096);
	buf_init(&big, 1 << 20);
	snprintf(path, sizeof(path), "%s/user6", test_tmpdir());
	test_write_file("user6", "From old\n\n");
	for (int i = 0; i < 1000; i++)
		buf_puts(&big, "0123456789\n");
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(mbox_append(path, big.data, big.len, &fast, &err, &e),
			 MBOX_ERR_IO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(e, EFBIG);
	assert_string_equal(mbox_dsn(e, "4.3.0"), "5.2.2");
	assert_string_equal(mbox_dsn(EIO, "4.3.0"), "4.3.0");
	assert_string_equal(slurp(path, &n), "From old\n\n");
	buf_free(&err);
	buf_free(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_postfix_vector),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_fcntl_lock),
		cmocka_unit_test(test_unsafe),
		cmocka_unit_test(test_truncate_back),
	};
	int rc;

	setenv("TZ", "UTC", 1);
	tzset();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_cleanup_tmpdir();
	return rc;
}
