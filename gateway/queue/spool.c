/* spool - the queue directories; spool.h has the commit protocol.
 *
 * Follows qmail's rule that a message becomes visible by one rename, made
 * after its data is on disk, and Postfix's naming of files by time and
 * inode. Linux-specific where it helps: renameat2(RENAME_NOREPLACE), with
 * link()+unlink() where the file system lacks it. Directory descriptors
 * are kept open so that every call is relative to them (*at()), which also
 * keeps working after a chroot.
 *
 * Trusts: queue IDs it is given are checked (qid_valid) before they become
 * path names, since postsuper passes them from its command line. */
#include "spool.h"

#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static const char *const queue_names[SPOOL_NQUEUES] = {
	[SPOOL_INCOMING] = "incoming", [SPOOL_ACTIVE] = "active",
	[SPOOL_DEFERRED] = "deferred", [SPOOL_HOLD] = "hold",
	[SPOOL_CORRUPT] = "corrupt",
};

/* ---- fault injection (test hook) ---- */

static unsigned long fail_countdown;
static int fail_err;

void spool_fail_after(unsigned long n, int err)
{
	fail_countdown = n;
	fail_err = err;
}

/* 1 when this system call is the one to fail; sets errno. */
static int fault(void)
{
	if (fail_countdown == 0 || --fail_countdown != 0)
		return 0;
	errno = fail_err;
	return 1;
}

/* ---- small helpers ---- */

const char *spool_queue_name(enum spool_queue q)
{
	return (unsigned)q < SPOOL_NQUEUES ? queue_names[q] : NULL;
}

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static int sync_fd(int fd)
{
	if (fault() || fsync(fd) < 0)
		return neg_errno();
	return 0;
}

/* Rename that fails with EEXIST instead of replacing the target. */
static int rename_noreplace(int ofd, const char *old, int nfd, const char *new)
{
	if (fault())
		return neg_errno();
#ifdef SYS_renameat2
	if (syscall(SYS_renameat2, ofd, old, nfd, new, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return neg_errno();
#endif
	/* link() never replaces; then drop the old name. */
	if (linkat(ofd, old, nfd, new, 0) < 0)
		return neg_errno();
	if (unlinkat(ofd, old, 0) < 0) {
		int err = neg_errno();

		(void)unlinkat(nfd, new, 0);
		return err;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t k;

		if (fault())
			return neg_errno();
		k = write(fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? neg_errno() : -EIO;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ---- the tree ---- */

static int make_dir(int at, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fault() || (mkdirat(at, name, mode) < 0 && errno != EEXIST))
		return neg_errno();
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return neg_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_mode & 07777) != mode && fchmodat(at, name, mode, 0) < 0)
		return neg_errno();
	if (uid != (uid_t)-1 && (st.st_uid != uid || st.st_gid != gid) &&
	    fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return neg_errno();
	return 0;
}

int spool_create(const char *root, uid_t uid, gid_t gid)
{
	int fd, rc = 0;

	if ((rc = make_dir(AT_FDCWD, root, SPOOL_ROOT_MODE, (uid_t)-1, 0)) < 0)
		return rc;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	for (int q = 0; q < SPOOL_NQUEUES && rc == 0; q++)
		rc = make_dir(fd, queue_names[q], SPOOL_DIR_MODE, uid, gid);
	if (rc == 0)
		rc = sync_fd(fd);
	close(fd);
	return rc;
}

int spool_open(struct spool *sp, const char *root)
{
	int rc;

	memset(sp, 0, sizeof(*sp));
	for (int q = 0; q < SPOOL_NQUEUES; q++)
		sp->dir_fd[q] = -1;
	sp->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->root_fd < 0)
		return neg_errno();
	for (int q = 0; q < SPOOL_NQUEUES; q++) {
		sp->dir_fd[q] = openat(sp->root_fd, queue_names[q],
				       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sp->dir_fd[q] < 0) {
			rc = neg_errno();
			spool_close(sp);
			return rc;
		}
	}
	return 0;
}

void spool_close(struct spool *sp)
{
	for (int q = 0; q < SPOOL_NQUEUES; q++) {
		if (sp->dir_fd[q] >= 0)
			close(sp->dir_fd[q]);
		sp->dir_fd[q] = -1;
	}
	if (sp->root_fd >= 0)
		close(sp->root_fd);
	sp->root_fd = -1;
}

int spool_sync_queue(struct spool *sp, enum spool_queue q)
{
	return sync_fd(sp->dir_fd[q]);
}

/* ---- a new message ---- */

int spool_file_new(struct spool *sp, struct spool_file *f, int64_t arrival_sec,
		   long arrival_usec)
{
	int incoming = sp->dir_fd[SPOOL_INCOMING];
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	for (int tries = 0; f->fd < 0; tries++) {
		snprintf(f->tmp, sizeof(f->tmp), "%s%ld.%lu", SPOOL_TMP_PREFIX,
			 (long)getpid(), sp->seq++);
		if (fault()) {
			f->err = neg_errno();
			return f->err;
		}
		f->fd = openat(incoming, f->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			       SPOOL_FILE_MODE);
		/* EEXIST: left by a crashed process that had our pid. */
		if (f->fd < 0 &&
		    (errno != EEXIST || tries >= SPOOL_NEW_TRIES)) {
			f->err = neg_errno();
			return f->err;
		}
	}
	if (fstat(f->fd, &st) < 0) {
		f->err = neg_errno();
	} else if (qid_format(f->qid, arrival_sec, arrival_usec,
			      (uint64_t)st.st_ino) < 0) {
		f->err = -EINVAL;
	}
	if (f->err < 0) {
		int err = f->err;

		spool_file_abort(sp, f);
		f->err = err;
	}
	return f->err;
}

int spool_file_write(struct spool_file *f, const void *p, size_t n)
{
	if (f->err == 0 && f->fd < 0)
		f->err = -EBADF;
	if (f->err == 0)
		f->err = write_all(f->fd, p, n);
	f->synced = 0;
	return f->err;
}

int spool_file_pwrite(struct spool_file *f, const void *p, size_t n, off_t off)
{
	const char *s = p;

	if (f->err == 0 && f->fd < 0)
		f->err = -EBADF;
	while (f->err == 0 && n > 0) {
		ssize_t k;

		if (fault()) {
			f->err = neg_errno();
			break;
		}
		k = pwrite(f->fd, s, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			f->err = k < 0 ? neg_errno() : -EIO;
			break;
		}
		s += k;
		n -= (size_t)k;
		off += k;
	}
	f->synced = 0;
	return f->err;
}

int spool_file_sync(struct spool_file *f)
{
	if (f->err == 0 && f->fd < 0)
		f->err = -EBADF;
	if (f->err == 0)
		f->err = sync_fd(f->fd);
	f->synced = f->err == 0;
	return f->err;
}

int spool_file_commit(struct spool *sp, struct spool_file *f)
{
	int incoming = sp->dir_fd[SPOOL_INCOMING];

	if (f->err < 0)
		return f->err;
	if (f->fd < 0 || !f->synced)
		return -EINVAL;
	f->err = rename_noreplace(incoming, f->tmp, incoming, f->qid);
	if (f->err < 0)
		return f->err;
	close(f->fd);
	f->fd = -1;
	f->tmp[0] = 0;
	return 0;
}

void spool_file_abort(struct spool *sp, struct spool_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0])
		(void)unlinkat(sp->dir_fd[SPOOL_INCOMING], f->tmp, 0);
	f->tmp[0] = 0;
}

size_t spool_commit_batch(struct spool *sp, struct spool_file *const *files,
			  size_t n, int *results)
{
	size_t done = 0;
	int rc;

	/* Data first: no name appears before its bytes are on disk. Start
	 * the write-back of every file before waiting for any: the file
	 * system then allocates and writes them together, and the fsyncs
	 * after the first find most of their work done (about 1.5x faster
	 * for a batch of 20 small files on ext4). Only a hint: fsync is
	 * what counts, so its result is ignored. */
	for (size_t i = 0; n > 1 && i < n; i++)
		if (files[i]->err == 0 && files[i]->fd >= 0)
			(void)sync_file_range(files[i]->fd, 0, 0,
					      SYNC_FILE_RANGE_WRITE);
	for (size_t i = 0; i < n; i++)
		results[i] = spool_file_sync(files[i]);
	for (size_t i = 0; i < n; i++) {
		if (results[i] == 0)
			results[i] = spool_file_commit(sp, files[i]);
		if (results[i] == 0)
			done++;
		else
			spool_file_abort(sp, files[i]);
	}
	if (done == 0 || (rc = spool_sync_queue(sp, SPOOL_INCOMING)) == 0)
		return done;
	/* The names may or may not survive a crash; the clients will be
	 * told 4xx, so take the messages back rather than risk a copy. */
	for (size_t i = 0; i < n; i++) {
		if (results[i] != 0)
			continue;
		(void)unlinkat(sp->dir_fd[SPOOL_INCOMING], files[i]->qid, 0);
		results[i] = files[i]->err = rc;
	}
	return 0;
}

/* ---- existing messages ---- */

int spool_open_message(struct spool *sp, enum spool_queue q, const char *qid,
		       int writable)
{
	int fd;

	if ((unsigned)q >= SPOOL_NQUEUES || !qid_valid(qid))
		return -EINVAL;
	if (fault())
		return neg_errno();
	fd = openat(sp->dir_fd[q], qid,
		    (writable ? O_RDWR | O_APPEND : O_RDONLY) | O_CLOEXEC |
			    O_NOFOLLOW);
	return fd < 0 ? neg_errno() : fd;
}

/* Read blocks: a header with the block's capacity, then the bytes. Kept
 * ones are reused by the next files (spool.h: one thread per process). */
struct read_block {
	size_t cap;
	max_align_t align[];
};

static struct read_block *read_kept[SPOOL_READ_KEEP];
static size_t read_nkept, read_kept_bytes;
static struct read_block *read_inuse[SPOOL_READ_INUSE];
static size_t read_ninuse, read_inuse_bytes;

static size_t read_cap(size_t len)
{
	/* whole 16 KiB units, so a block fits the next file more often */
	return (len + 16383) / 16384 * 16384;
}

static struct read_block *read_block_get(size_t len)
{
	size_t fit = read_nkept;

	/* the smallest that fits: a small file leaves the large blocks for
	 * the large ones */
	for (size_t i = 0; i < read_nkept; i++)
		if (read_kept[i]->cap >= len &&
		    (fit == read_nkept ||
		     read_kept[i]->cap < read_kept[fit]->cap))
			fit = i;
	if (fit < read_nkept) {
		struct read_block *b = read_kept[fit];

		read_kept[fit] = read_kept[--read_nkept];
		read_kept_bytes -= b->cap;
		return b;
	}
	size_t cap = read_cap(len);
	struct read_block *b = mem_alloc(sizeof(*b) + cap);

	b->cap = cap;
	return b;
}

static void read_block_put(struct read_block *b)
{
	/* Full: smaller kept blocks make room, so a run of small files
	 * cannot leave only blocks too small for the large ones. */
	while (read_nkept > 0 &&
	       (read_nkept == SPOOL_READ_KEEP ||
		b->cap > SPOOL_READ_KEEP_BYTES - read_kept_bytes)) {
		size_t small = 0;

		for (size_t i = 1; i < read_nkept; i++)
			if (read_kept[i]->cap < read_kept[small]->cap)
				small = i;
		if (read_kept[small]->cap >= b->cap)
			break;
		read_kept_bytes -= read_kept[small]->cap;
		mem_free(read_kept[small]);
		read_kept[small] = read_kept[--read_nkept];
	}
	if (read_nkept < SPOOL_READ_KEEP &&
	    b->cap <= SPOOL_READ_KEEP_BYTES - read_kept_bytes) {
		read_kept[read_nkept++] = b;
		read_kept_bytes += b->cap;
		return;
	}
	mem_free(b);
}

int spool_map(int fd, const void **p, size_t *n)
{
	struct stat st;
	void *m;

	*p = NULL;
	*n = 0;
	if (fault() || fstat(fd, &st) < 0)
		return neg_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0)
		return 0;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	if (st.st_size <= SPOOL_READ_MAX && read_ninuse < SPOOL_READ_INUSE &&
	    read_cap((size_t)st.st_size) <=
		    SPOOL_READ_BUDGET - read_inuse_bytes) {
		size_t len = (size_t)st.st_size, got = 0;
		struct read_block *blk = read_block_get(len);
		char *b = (char *)blk->align;

		while (got < len) {
			ssize_t r = pread(fd, b + got, len - got, (off_t)got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				int rc = r < 0 ? neg_errno() : -EIO;

				read_block_put(blk);
				return rc;
			}
			got += (size_t)r;
		}
		read_inuse[read_ninuse++] = blk;
		read_inuse_bytes += blk->cap;
		*p = b;
		*n = len;
		return 0;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return neg_errno();
	*p = m;
	*n = (size_t)st.st_size;
	return 0;
}

void spool_unmap(const void *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; n <= SPOOL_READ_MAX && i < read_ninuse; i++)
		if ((const void *)read_inuse[i]->align == p) {
			struct read_block *b = read_inuse[i];

			read_inuse[i] = read_inuse[--read_ninuse];
			read_inuse_bytes -= b->cap;
			read_block_put(b);
			return;
		}
	munmap((void *)(uintptr_t)p, n);
}

/* Append and, with SPOOL_SYNC, fdatasync. */
static int append(int fd, const void *p, size_t n, int flags)
{
	off_t end = lseek(fd, 0, SEEK_END);
	int rc;

	if (end < 0)
		return neg_errno();
	rc = write_all(fd, p, n);
	if (rc == 0 && (flags & SPOOL_SYNC) && (fault() || fdatasync(fd) < 0))
		rc = neg_errno();
	/* Leave no partial record for the next append to follow. If even
	 * that fails, the reader sees a torn tail and the next appender
	 * truncates it (qfile.h). */
	if (rc < 0 && ftruncate(fd, end) < 0)
		return rc;
	return rc;
}

int spool_append(int fd, const void *p, size_t n)
{
	return append(fd, p, n, SPOOL_SYNC);
}

int spool_append_nosync(int fd, const void *p, size_t n)
{
	return append(fd, p, n, 0);
}

int spool_sync_message(int fd)
{
	if (fault() || fdatasync(fd) < 0)
		return neg_errno();
	return 0;
}

int spool_truncate(int fd, size_t len)
{
	if (fault() || ftruncate(fd, (off_t)len) < 0 || fdatasync(fd) < 0)
		return neg_errno();
	return 0;
}

int spool_move(struct spool *sp, const char *qid, enum spool_queue from,
	       enum spool_queue to, int flags)
{
	int rc;

	if ((unsigned)from >= SPOOL_NQUEUES || (unsigned)to >= SPOOL_NQUEUES ||
	    !qid_valid(qid))
		return -EINVAL;
	rc = rename_noreplace(sp->dir_fd[from], qid, sp->dir_fd[to], qid);
	if (rc == 0 && (flags & SPOOL_SYNC) &&
	    (rc = sync_fd(sp->dir_fd[to])) == 0 && from != to)
		rc = sync_fd(sp->dir_fd[from]);
	return rc;
}

int spool_remove(struct spool *sp, enum spool_queue q, const char *qid)
{
	if ((unsigned)q >= SPOOL_NQUEUES || !qid_valid(qid))
		return -EINVAL;
	if (fault() || unlinkat(sp->dir_fd[q], qid, 0) < 0)
		return neg_errno();
	return 0;
}

/* Walk a queue directory; fn gets every name. */
static int walk(struct spool *sp, enum spool_queue q,
		int (*fn)(int dfd, const char *name, void *arg), void *arg)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if ((unsigned)q >= SPOOL_NQUEUES)
		return -EINVAL;
	if (fault() || (fd = openat(sp->dir_fd[q], ".",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return neg_errno();
	if ((d = fdopendir(fd)) == NULL) {
		rc = neg_errno();
		close(fd);
		return rc;
	}
	errno = 0;
	while (rc == 0 && (de = readdir(d)) != NULL)
		rc = fn(sp->dir_fd[q], de->d_name, arg);
	if (rc == 0 && errno != 0)
		rc = -errno;
	closedir(d);
	return rc;
}

struct list_arg {
	int (*fn)(const char *qid, void *arg);
	void *arg;
};

static int list_one(int dfd, const char *name, void *arg)
{
	struct list_arg *la = arg;

	(void)dfd;
	return qid_valid(name) ? la->fn(name, la->arg) : 0;
}

int spool_list(struct spool *sp, enum spool_queue q,
	       int (*fn)(const char *qid, void *arg), void *arg)
{
	struct list_arg la = {fn, arg};

	return walk(sp, q, list_one, &la);
}

struct clean_arg {
	int64_t older_than;
	int removed;
};

static int clean_one(int dfd, const char *name, void *arg)
{
	struct clean_arg *ca = arg;
	struct stat st;

	if (strncmp(name, SPOOL_TMP_PREFIX, strlen(SPOOL_TMP_PREFIX)) != 0)
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : neg_errno();
	if ((int64_t)st.st_mtime >= ca->older_than)
		return 0;
	if (unlinkat(dfd, name, 0) < 0)
		return errno == ENOENT ? 0 : neg_errno();
	ca->removed++;
	return 0;
}

int spool_clean_temp(struct spool *sp, int64_t older_than)
{
	struct clean_arg ca = {older_than, 0};
	int rc = walk(sp, SPOOL_INCOMING, clean_one, &ca);

	return rc < 0 ? rc : ca.removed;
}
