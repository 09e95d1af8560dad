/* test_spool - queue directories: tree creation, the commit protocol,
 * appends, moves, listing, batch commit, injected I/O errors, EFBIG and
 * ENOSPC. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "core/mem.h"
#include "queue/qfile.h"
#include "queue/spool.h"

#define S(lit) ((struct qfile_str){(lit), sizeof(lit) - 1})

static const char content[] = "Subject: spool test\r\n\r\nline 1\r\n"
			      ".line 2\r\n";

static const char *spool_root(const char *name)
{
	static char path[4][256];
	static int slot;
	char *p = path[slot++ % 4];

	snprintf(p, 256, "%s/%s", test_tmpdir(), name);
	return p;
}

static void open_spool(struct spool *sp, const char *name)
{
	assert_int_equal(spool_create(spool_root(name), (uid_t)-1, 0), 0);
	assert_int_equal(spool_open(sp, spool_root(name)), 0);
}

/* Write a whole message the way the SMTP server will: header, content in
 * chunks, trailer, length patch. Returns 0 or the first error. */
static int write_message(struct spool *sp, struct spool_file *f, int64_t sec,
			 long usec, const char *c, size_t clen)
{
	struct qfile_rcpt r[2] = {{.addr = S("bob@example.net")},
				  {.addr = S("carol@example.net")}};
	struct qfile_msg m = {.arrival_sec = sec,
			      .arrival_usec = usec,
			      .sender = S("alice@example.org"),
			      .rcpt = r,
			      .nrcpt = 2};
	struct qfile_writer w;
	struct buf b;
	char patch[QFILE_LEN_DIGITS];
	size_t off;
	int rc;

	if ((rc = spool_file_new(sp, f, sec, usec)) < 0)
		return rc;
	buf_init(&b, 1 << 16);
	assert_int_equal(qfile_writer_begin(&w, &b, &m), 0);
	spool_file_write(f, b.data, b.len);
	for (size_t i = 0; i < clen; i += 7) {
		size_t n = clen - i < 7 ? clen - i : 7;

		assert_int_equal(qfile_writer_push(&w, c + i, n), 0);
		spool_file_write(f, c + i, n);
	}
	buf_reset(&b);
	assert_int_equal(qfile_writer_finish(&w, &b, patch, &off), 0);
	spool_file_write(f, b.data, b.len);
	rc = spool_file_pwrite(f, patch, sizeof(patch), (off_t)off);
	buf_free(&b);
	return rc;
}

/* Commit steps 3-5. */
static int commit(struct spool *sp, struct spool_file *f)
{
	int rc;

	if ((rc = spool_file_sync(f)) < 0 ||
	    (rc = spool_file_commit(sp, f)) < 0 ||
	    (rc = spool_sync_queue(sp, SPOOL_INCOMING)) < 0)
		return rc;
	return 0;
}

static int count_names(struct spool *sp, enum spool_queue q, const char *prefix)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)sp;
	snprintf(path, sizeof(path), "%s/%s", spool_root("s"),
		 spool_queue_name(q));
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		     strcmp(de->d_name, ".") != 0 &&
		     strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static int count_qid(const char *qid, void *arg)
{
	(void)qid;
	++*(int *)arg;
	return 0;
}

static int listed(struct spool *sp, enum spool_queue q)
{
	int n = 0;

	assert_int_equal(spool_list(sp, q, count_qid, &n), 0);
	return n;
}

static int parse_file(struct spool *sp, enum spool_queue q, const char *qid,
		      struct qfile_msg *m, const void **p, size_t *n)
{
	int fd = spool_open_message(sp, q, qid, 0), rc;

	assert_true(fd >= 0);
	assert_int_equal(spool_map(fd, p, n), 0);
	close(fd);
	rc = qfile_parse(m, *p, *n);
	return rc;
}

static void test_create(void **state)
{
	const char *root = spool_root("tree");
	char path[300];
	struct stat st;

	(void)state;
	assert_int_equal(spool_create(root, getuid(), getgid()), 0);
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(st.st_mode & 07777, SPOOL_ROOT_MODE);
	for (int q = 0; q < SPOOL_NQUEUES; q++) {
		snprintf(path, sizeof(path), "%s/%s", root,
			 spool_queue_name((enum spool_queue)q));
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, SPOOL_DIR_MODE);
	}
	assert_null(spool_queue_name(SPOOL_NQUEUES));
	/* Idempotent, and it mends a wrong mode. */
	snprintf(path, sizeof(path), "%s/deferred", root);
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(spool_create(root, (uid_t)-1, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, SPOOL_DIR_MODE);
	/* A file where a queue should be. */
	snprintf(path, sizeof(path), "%s/hold", root);
	assert_int_equal(rmdir(path), 0);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(spool_create(root, (uid_t)-1, 0), -ENOTDIR);
	{
		struct spool sp;

		assert_int_equal(spool_open(&sp, spool_root("nowhere")),
				 -ENOENT);
		assert_int_equal(spool_open(&sp, root), -ENOTDIR);
	}
}

static void test_commit(void **state)
{
	struct spool sp;
	struct spool_file f;
	struct qfile_msg m;
	const void *p;
	size_t n;
	int64_t sec;
	long usec;
	struct stat st;

	(void)state;
	open_spool(&sp, "s");
	assert_int_equal(write_message(&sp, &f, 1700000000, 123456, content,
				       sizeof(content) - 1),
			 0);
	assert_true(qid_valid(f.qid));
	assert_int_equal(qid_parse(f.qid, strlen(f.qid), &sec, &usec, NULL), 0);
	assert_true(sec == 1700000000 && usec == 123456);
	/* Before the commit: only a temporary name, invisible to a list. */
	assert_int_equal(listed(&sp, SPOOL_INCOMING), 0);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, SPOOL_TMP_PREFIX), 1);
	assert_int_equal(commit(&sp, &f), 0);
	assert_int_equal(f.fd, -1);
	assert_int_equal(listed(&sp, SPOOL_INCOMING), 1);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, SPOOL_TMP_PREFIX), 0);
	assert_int_equal(fstatat(sp.dir_fd[SPOOL_INCOMING], f.qid, &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, SPOOL_FILE_MODE);

	assert_int_equal(parse_file(&sp, SPOOL_INCOMING, f.qid, &m, &p, &n), 0);
	assert_int_equal(m.nrcpt, 2);
	assert_int_equal(m.content_len, sizeof(content) - 1);
	assert_memory_equal((const char *)p + m.content_off, content,
			    m.content_len);
	assert_true(m.arrival_sec == 1700000000);
	qfile_msg_free(&m);
	spool_unmap(p, n);
	assert_int_equal(spool_remove(&sp, SPOOL_INCOMING, f.qid), 0);
	assert_int_equal(spool_remove(&sp, SPOOL_INCOMING, f.qid), -ENOENT);
	spool_close(&sp);
}

static void test_commit_needs_sync(void **state)
{
	struct spool sp;
	struct spool_file f;

	(void)state;
	open_spool(&sp, "s");
	assert_int_equal(
		write_message(&sp, &f, 1, 0, content, sizeof(content) - 1), 0);
	assert_int_equal(spool_file_commit(&sp, &f), -EINVAL);
	assert_int_equal(spool_file_sync(&f), 0);
	/* A write after the sync needs another sync. */
	assert_int_equal(spool_file_write(&f, "", 0), 0);
	assert_int_equal(spool_file_commit(&sp, &f), -EINVAL);
	spool_file_abort(&sp, &f);
	spool_file_abort(&sp, &f); /* twice is harmless */
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, ""), 0);
	assert_int_equal(spool_file_write(&f, "x", 1), -EBADF);
	assert_int_equal(spool_file_sync(&f), -EBADF); /* sticky */
	spool_close(&sp);
}

/* A committed message in incoming/, open for appending, and in rec the
 * record "recipient 0 sent". */
static int committed_with_record(struct spool *sp, struct spool_file *f,
				 int64_t sec, struct buf *rec)
{
	int fd;

	open_spool(sp, "s");
	buf_init(rec, 1 << 16);
	assert_int_equal(
		write_message(sp, f, sec, 0, content, sizeof(content) - 1), 0);
	assert_int_equal(commit(sp, f), 0);
	fd = spool_open_message(sp, SPOOL_INCOMING, f->qid, 1);
	assert_true(fd >= 0);
	assert_int_equal(qfile_format_done(rec, 0, QFILE_RCPT_SENT, "2.0.0",
					   "250 ok", 6),
			 0);
	return fd;
}

static void test_append_and_torn(void **state)
{
	struct spool sp;
	struct spool_file f;
	struct qfile_msg m;
	struct buf rec;
	const void *p;
	size_t n, good;
	int fd;

	(void)state;
	fd = committed_with_record(&sp, &f, 2, &rec);
	assert_int_equal(spool_append(fd, rec.data, rec.len), 0);

	/* A crash in the middle of the next append. */
	buf_reset(&rec);
	assert_int_equal(qfile_format_retry(&rec, 99, 1), 0);
	assert_int_equal(write(fd, rec.data, rec.len / 2),
			 (ssize_t)rec.len / 2);
	assert_int_equal(parse_file(&sp, SPOOL_INCOMING, f.qid, &m, &p, &n), 0);
	assert_true(m.torn);
	assert_int_equal(m.rcpt[0].state, QFILE_RCPT_SENT);
	assert_true(m.retry_after == 0);
	good = m.valid_len;
	qfile_msg_free(&m);
	spool_unmap(p, n);

	/* The next appender cuts the tail first. */
	assert_int_equal(spool_truncate(fd, good), 0);
	assert_int_equal(spool_append(fd, rec.data, rec.len), 0);
	assert_int_equal(parse_file(&sp, SPOOL_INCOMING, f.qid, &m, &p, &n), 0);
	assert_false(m.torn);
	assert_true(m.retry_after == 99);
	qfile_msg_free(&m);
	spool_unmap(p, n);

	/* A failed append leaves the file as it was. */
	for (int k = 1; k <= 2; k++) {
		struct stat before, after;

		assert_int_equal(fstat(fd, &before), 0);
		spool_fail_after((unsigned long)k, EIO); /* write, fdatasync */
		assert_int_equal(spool_append(fd, rec.data, rec.len), -EIO);
		assert_int_equal(fstat(fd, &after), 0);
		assert_int_equal(before.st_size, after.st_size);
	}
	spool_fail_after(0, 0);
	close(fd);
	assert_int_equal(spool_remove(&sp, SPOOL_INCOMING, f.qid), 0);
	buf_free(&rec);
	spool_close(&sp);
}

/* Outcome records that qmgr syncs later: readable at once, cut back on a
 * failed write like spool_append(), and spool_sync_message() reports the
 * sync's error. */
static void test_append_nosync(void **state)
{
	struct spool sp;
	struct spool_file f;
	struct qfile_msg m;
	struct buf rec;
	struct stat before, after;
	const void *p;
	size_t n;
	int fd;

	(void)state;
	fd = committed_with_record(&sp, &f, 3, &rec);
	spool_fail_after(1, EIO); /* the write */
	assert_int_equal(fstat(fd, &before), 0);
	assert_int_equal(spool_append_nosync(fd, rec.data, rec.len), -EIO);
	assert_int_equal(fstat(fd, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	spool_fail_after(0, 0);
	assert_int_equal(spool_append_nosync(fd, rec.data, rec.len), 0);
	assert_int_equal(parse_file(&sp, SPOOL_INCOMING, f.qid, &m, &p, &n), 0);
	assert_false(m.torn);
	assert_int_equal(m.rcpt[0].state, QFILE_RCPT_SENT);
	qfile_msg_free(&m);
	spool_unmap(p, n);
	assert_int_equal(spool_sync_message(fd), 0);
	spool_fail_after(1, EIO);
	assert_int_equal(spool_sync_message(fd), -EIO);
	spool_fail_after(0, 0);
	close(fd);
	assert_int_equal(spool_remove(&sp, SPOOL_INCOMING, f.qid), 0);
	buf_free(&rec);
	spool_close(&sp);
}

static void test_move(void **state)
{
	struct spool sp;
	struct spool_file f;
	char path[300], path2[300];

	(void)state;
	open_spool(&sp, "s");
	assert_int_equal(
		write_message(&sp, &f, 3, 0, content, sizeof(content) - 1), 0);
	assert_int_equal(commit(&sp, &f), 0);
	assert_int_equal(spool_move(&sp, f.qid, SPOOL_INCOMING, SPOOL_ACTIVE,
				    SPOOL_SYNC),
			 0);
	assert_int_equal(listed(&sp, SPOOL_INCOMING), 0);
	assert_int_equal(listed(&sp, SPOOL_ACTIVE), 1);
	assert_int_equal(
		spool_move(&sp, f.qid, SPOOL_ACTIVE, SPOOL_DEFERRED, 0), 0);
	assert_int_equal(
		spool_move(&sp, f.qid, SPOOL_ACTIVE, SPOOL_DEFERRED, 0),
		-ENOENT);
	/* A move never replaces: put a copy in hold/ and try to move on it. */
	snprintf(path, sizeof(path), "%s/deferred/%s", spool_root("s"), f.qid);
	snprintf(path2, sizeof(path2), "%s/hold/%s", spool_root("s"), f.qid);
	assert_int_equal(link(path, path2), 0);
	assert_int_equal(
		spool_move(&sp, f.qid, SPOOL_DEFERRED, SPOOL_HOLD, SPOOL_SYNC),
		-EEXIST);
	assert_int_equal(listed(&sp, SPOOL_DEFERRED), 1);
	assert_int_equal(listed(&sp, SPOOL_HOLD), 1);
	/* Names that are not queue IDs never become paths. */
	assert_int_equal(spool_move(&sp, "../x", SPOOL_HOLD, SPOOL_ACTIVE, 0),
			 -EINVAL);
	assert_int_equal(spool_remove(&sp, SPOOL_HOLD, "../../etc/passwd"),
			 -EINVAL);
	assert_int_equal(spool_open_message(&sp, SPOOL_HOLD, "x", 0), -EINVAL);
	assert_int_equal(spool_move(&sp, f.qid, SPOOL_HOLD, SPOOL_NQUEUES, 0),
			 -EINVAL);
	assert_int_equal(spool_remove(&sp, SPOOL_HOLD, f.qid), 0);
	assert_int_equal(spool_remove(&sp, SPOOL_DEFERRED, f.qid), 0);
	spool_close(&sp);
}

static int stop_at_first(const char *qid, void *arg)
{
	(void)qid;
	(void)arg;
	return 42;
}

static void test_list_and_clean(void **state)
{
	struct spool sp;
	struct spool_file f, t1, t2;
	struct timespec old[2] = {{1000, 0}, {1000, 0}};

	(void)state;
	open_spool(&sp, "s");
	assert_int_equal(
		write_message(&sp, &f, 4, 0, content, sizeof(content) - 1), 0);
	assert_int_equal(commit(&sp, &f), 0);
	/* Leftovers of crashed writers, and foreign names. */
	assert_int_equal(spool_file_new(&sp, &t1, 5, 0), 0);
	assert_int_equal(spool_file_new(&sp, &t2, 5, 1), 0);
	assert_int_equal(utimensat(sp.dir_fd[SPOOL_INCOMING], t1.tmp, old, 0),
			 0);
	close(t1.fd);
	close(t2.fd);
	close(openat(sp.dir_fd[SPOOL_INCOMING], "README", O_CREAT | O_WRONLY,
		     0600));
	assert_int_equal(listed(&sp, SPOOL_INCOMING), 1);
	assert_int_equal(spool_list(&sp, SPOOL_INCOMING, stop_at_first, NULL),
			 42);
	assert_int_equal(spool_list(&sp, SPOOL_NQUEUES, stop_at_first, NULL),
			 -EINVAL);
	/* Only the old temporary file goes, then (at start-up) all. */
	assert_int_equal(spool_clean_temp(&sp, 2000), 1);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, SPOOL_TMP_PREFIX), 1);
	assert_int_equal(spool_clean_temp(&sp, INT64_MAX), 1);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, SPOOL_TMP_PREFIX), 0);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, "README"), 1);
	assert_int_equal(unlinkat(sp.dir_fd[SPOOL_INCOMING], "README", 0), 0);
	assert_int_equal(spool_remove(&sp, SPOOL_INCOMING, f.qid), 0);
	spool_close(&sp);
}

#define BATCH 4

static void test_batch(void **state)
{
	struct spool sp;
	struct spool_file f[BATCH], *fp[BATCH];
	int results[BATCH];

	(void)state;
	open_spool(&sp, "s");
	for (int i = 0; i < BATCH; i++) {
		assert_int_equal(write_message(&sp, &f[i], 10, i, content,
					       sizeof(content) - 1),
				 0);
		fp[i] = &f[i];
	}
	f[2].err = -EIO; /* as if a write had failed */
	assert_int_equal(spool_commit_batch(&sp, fp, BATCH, results), 3);
	for (int i = 0; i < BATCH; i++) {
		assert_int_equal(results[i], i == 2 ? -EIO : 0);
		assert_int_equal(f[i].fd, -1);
	}
	assert_int_equal(listed(&sp, SPOOL_INCOMING), 3);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, SPOOL_TMP_PREFIX), 0);
	for (int i = 0; i < BATCH; i++)
		if (i != 2)
			assert_int_equal(
				spool_remove(&sp, SPOOL_INCOMING, f[i].qid), 0);

	/* The directory sync fails: nobody gets a 250 and nothing stays. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(write_message(&sp, &f[i], 11, i, content,
					       sizeof(content) - 1),
				 0);
	spool_fail_after(5, EIO); /* fsync, fsync, rename, rename, dir */
	assert_int_equal(spool_commit_batch(&sp, fp, 2, results), 0);
	spool_fail_after(0, 0);
	assert_int_equal(results[0], -EIO);
	assert_int_equal(results[1], -EIO);
	assert_int_equal(count_names(&sp, SPOOL_INCOMING, ""), 0);
	spool_close(&sp);
}

/* Fail each system call of the write-and-commit path in turn: every run
 * either commits a whole message or leaves nothing behind. */
static void test_fault_each_step(void **state)
{
	struct spool sp;
	int committed = 0, failures = 0;

	(void)state;
	open_spool(&sp, "s");
	for (unsigned long k = 1; k < 40; k++) {
		struct spool_file f;
		int rc;

		spool_fail_after(k, k % 2 ? EIO : ENOSPC);
		rc = write_message(&sp, &f, 20, (long)k, content,
				   sizeof(content) - 1);
		if (rc == 0)
			rc = commit(&sp, &f);
		spool_fail_after(0, 0);
		if (rc == 0) {
			committed++;
		} else {
			assert_true(rc == -EIO || rc == -ENOSPC);
			failures++;
			spool_file_abort(&sp, &f);
			/* A failed directory sync after the rename: the
			 * caller takes the message back. */
			if (f.tmp[0] == 0 && f.qid[0])
				spool_remove(&sp, SPOOL_INCOMING, f.qid);
		}
		assert_int_equal(
			count_names(&sp, SPOOL_INCOMING, SPOOL_TMP_PREFIX), 0);
		assert_int_equal(listed(&sp, SPOOL_INCOMING), committed);
	}
	assert_true(failures >= 5);
	assert_true(committed > 0);
	spool_close(&sp);
}

/* Run fn in a child process (for limits and namespaces that must not
 * touch the test runner); returns its exit status. */
static int run_child(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* RLIMIT_FSIZE makes write() fail with EFBIG (SIGXFSZ ignored). */
static int efbig_child(void)
{
	struct rlimit rl = {4096, 4096};
	struct spool sp;
	struct spool_file f;
	static char big[16384];
	int rc;

	signal(SIGXFSZ, SIG_IGN);
	if (spool_open(&sp, spool_root("s")) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &rl) < 0 ||
	    spool_file_new(&sp, &f, 30, 0) < 0)
		return 2;
	rc = spool_file_write(&f, big, sizeof(big));
	spool_file_abort(&sp, &f);
	return rc == -EFBIG ? 0 : 1;
}

static void test_efbig(void **state)
{
	(void)state;
	assert_int_equal(run_child(efbig_child), 0);
}

/* A full disk: a small tmpfs in a private mount namespace (so it vanishes
 * with the child, whatever happens); 77 without the privilege. */
static int enospc_child(void)
{
	const char *mnt = spool_root("small");
	static char big[256 * 1024];
	struct spool sp;
	struct spool_file f;
	char root[300];
	int rc;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mkdir(mnt, 0700) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
		return 77;
	snprintf(root, sizeof(root), "%s/q", mnt);
	if (spool_create(root, (uid_t)-1, 0) < 0 || spool_open(&sp, root) < 0)
		return 2;
	rc = write_message(&sp, &f, 40, 0, content, sizeof(content) - 1);
	if (rc == 0)
		rc = spool_file_write(&f, big, sizeof(big));
	spool_file_abort(&sp, &f);
	if (rc != -ENOSPC)
		return 1;
	/* The space is back once the file is gone. */
	rc = write_message(&sp, &f, 41, 0, content, sizeof(content) - 1);
	if (rc != 0 || commit(&sp, &f) != 0)
		return 3;
	return 0;
}

static void test_enospc(void **state)
{
	int status;

	(void)state;
	status = run_child(enospc_child);
	rmdir(spool_root("small"));
	if (status == 77)
		skip();
	assert_int_equal(status, 0);
}

/* /dev/full: the same error without privileges. */
static void test_dev_full(void **state)
{
	struct spool_file f = {.fd = open("/dev/full", O_WRONLY)};

	(void)state;
	if (f.fd < 0)
		skip();
	assert_int_equal(spool_file_write(&f, "x", 1), -ENOSPC);
	assert_int_equal(spool_file_write(&f, "x", 1), -ENOSPC); /* sticky */
	close(f.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_commit_needs_sync),
		cmocka_unit_test(test_append_and_torn),
		cmocka_unit_test(test_append_nosync),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_list_and_clean),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_fault_each_step),
		cmocka_unit_test(test_efbig),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_dev_full),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	test_cleanup_tmpdir();
	return rc;
}
