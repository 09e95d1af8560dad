/* mbox - UNIX mailbox format and locked, all-or-nothing append.
 *
 * Follows Postfix's local(8) mailbox delivery: mail_copy() with
 * MAIL_COPY_MBOX (From_ line, Return-Path, Delivered-To, ">From " quoting,
 * trailing blank line) and its locking (dot_lockfile() plus fcntl, as
 * mailbox_delivery_lock = fcntl, dotlock). The mailbox path comes from the
 * caller (trusted); the content is copied, never interpreted beyond line
 * ends. */
#include "deliver/mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char mbox_days[7][4] = {"Sun", "Mon", "Tue", "Wed",
				     "Thu", "Fri", "Sat"};
static const char mbox_months[12][4] = {"Jan", "Feb", "Mar", "Apr",
					"May", "Jun", "Jul", "Aug",
					"Sep", "Oct", "Nov", "Dec"};

/* mbox_format - the whole mailbox record of one message. */
int mbox_format(struct buf *out, const struct mbox_env *env,
		const void *content, size_t content_len)
{
	const unsigned char *p = content;
	size_t old = buf_len(out), i = 0, end;
	int was_err = buf_error(out);
	struct tm tm;

	if (localtime_r(&env->when, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	buf_puts(out, "From ");
	if (env->sender_len == 0)
		buf_puts(out, "MAILER-DAEMON");
	else
		buf_append(out, env->sender, env->sender_len);
	buf_printf(out, "  %s %s %2d %02d:%02d:%02d %d\n",
		   mbox_days[tm.tm_wday % 7], mbox_months[tm.tm_mon % 12],
		   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		   tm.tm_year + 1900);
	buf_puts(out, "Return-Path: <");
	buf_append(out, env->sender, env->sender_len);
	buf_puts(out, ">\n");
	if (env->orig_rcpt_len > 0) {
		buf_puts(out, "X-Original-To: ");
		buf_append(out, env->orig_rcpt, env->orig_rcpt_len);
		buf_putc(out, '\n');
	}
	buf_puts(out, "Delivered-To: ");
	buf_append(out, env->rcpt, env->rcpt_len);
	buf_putc(out, '\n');
	while (i < content_len) {
		const unsigned char *nl = memchr(p + i, '\n', content_len - i);

		end = nl ? (size_t)(nl - p) : content_len;
		if (end - i >= 5 && memcmp(p + i, "From ", 5) == 0)
			buf_putc(out, '>');
		/* The line without its LF and a CR before it. */
		{
			size_t e = end;
			if (nl && e > i && p[e - 1] == '\r')
				e--;
			buf_append(out, p + i, e - i);
		}
		buf_putc(out, '\n');
		i = nl ? end + 1 : content_len;
	}
	buf_putc(out, '\n');
	if (buf_error(out) && !was_err) {
		buf_truncate(out, old);
		buf_clear_error(out);
		return BUF_ERR_FULL;
	}
	return buf_error(out) ? BUF_ERR_FULL : 0;
}

const char *mbox_dsn(int errnum, const char *dflt)
{
	switch (errnum) {
#ifdef EDQUOT
	case EDQUOT:
		return "4.2.2";
#endif
	case EFBIG:
		return "5.2.2";
	case ENOSPC:
		return "4.3.0";
	default:
		return dflt;
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void set_errno(int *errnum, int e)
{
	if (errnum)
		*errnum = e;
}

/* dotlock - create lock exclusively; remove a stale one. 0 or -errno. */
static int dotlock(const char *lock, const struct mbox_opts *o)
{
	unsigned n;
	struct stat st;
	int fd;

	for (n = 0; n < o->lock_tries; n++) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
		if (lstat(lock, &st) == 0 &&
		    time(NULL) > st.st_mtime + (time_t)o->stale_sec) {
			/* Postfix: "removing stale lock file" */
			if (unlink(lock) == 0 || errno == ENOENT)
				continue;
		}
		if (n + 1 < o->lock_tries)
			sleep_ms(o->lock_delay_ms);
	}
	return -EEXIST;
}

/* fcntl_lock - exclusive write lock, without blocking forever. */
static int fcntl_lock(int fd, const struct mbox_opts *o)
{
	struct flock fl;
	unsigned n;

	for (n = 0; n < o->lock_tries; n++) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -errno;
		if (n + 1 < o->lock_tries)
			sleep_ms(o->lock_delay_ms);
	}
	return -EAGAIN;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* mbox_append - lock, append, sync; truncate back on failure. */
int mbox_append(const char *path, const void *data, size_t len,
		const struct mbox_opts *opts, struct buf *err, int *errnum)
{
	struct mbox_opts o = {
		MBOX_LOCK_TRIES, MBOX_LOCK_DELAY_MS, MBOX_STALE_SEC, 0, 0, 0};
	struct buf lock;
	struct stat st;
	int fd = -1, rc, ret = 0, created = 0;
	off_t orig;

	if (opts) {
		o = *opts;
		if (o.lock_tries == 0)
			o.lock_tries = MBOX_LOCK_TRIES;
		if (o.lock_delay_ms == 0)
			o.lock_delay_ms = MBOX_LOCK_DELAY_MS;
		if (o.stale_sec == 0)
			o.stale_sec = MBOX_STALE_SEC;
	}
	set_errno(errnum, 0);
	buf_init(&lock, 4096 + 8);
	buf_printf(&lock, "%s.lock", path);
	if (buf_error(&lock)) {
		if (err)
			buf_puts(err, "mailbox path too long");
		set_errno(errnum, ENAMETOOLONG);
		buf_free(&lock);
		return MBOX_ERR_OPEN;
	}
	if ((rc = dotlock(buf_str(&lock), &o)) < 0) {
		if (err)
			buf_printf(err,
				   "unable to lock for exclusive access: "
				   "%s: %s",
				   buf_str(&lock),
				   rc == -EEXIST ? "file exists"
						 : strerror(-rc));
		set_errno(errnum, rc == -EEXIST ? EAGAIN : -rc);
		buf_free(&lock);
		return MBOX_ERR_LOCK;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path,
			  O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
				  O_CLOEXEC,
			  0600);
		created = fd >= 0;
	}
	if (fd < 0) {
		rc = errno;
		if (err)
			buf_printf(err, "cannot open file: %s", strerror(rc));
		set_errno(errnum, rc);
		ret = MBOX_ERR_OPEN;
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		if (err)
			buf_puts(err, "file is not a regular file with one "
				      "link");
		set_errno(errnum, EPERM);
		ret = MBOX_ERR_OPEN;
		goto out;
	}
	if (created && o.set_owner && fchown(fd, o.uid, o.gid) < 0) {
		rc = errno;
		if (err)
			buf_printf(err, "cannot change file owner: %s",
				   strerror(rc));
		set_errno(errnum, rc);
		ret = MBOX_ERR_OPEN;
		goto out;
	}
	if ((rc = fcntl_lock(fd, &o)) < 0) {
		if (err)
			buf_printf(err,
				   "unable to lock for exclusive access: %s",
				   strerror(-rc));
		set_errno(errnum, -rc);
		ret = MBOX_ERR_LOCK;
		goto out;
	}
	/* The size after the lock: another writer may have appended. */
	if (fstat(fd, &st) < 0) {
		rc = errno;
		set_errno(errnum, rc);
		if (err)
			buf_printf(err, "cannot stat file: %s", strerror(rc));
		ret = MBOX_ERR_IO;
		goto out;
	}
	orig = st.st_size;
	if ((rc = write_all(fd, data, len)) < 0 ||
	    (rc = fsync(fd) < 0 ? -errno : 0) < 0) {
		if (err)
			buf_printf(err, "error writing message: %s",
				   strerror(-rc));
		set_errno(errnum, -rc);
		if (ftruncate(fd, orig) < 0 && err)
			buf_printf(err, " (and truncate failed: %s)",
				   strerror(errno));
		ret = MBOX_ERR_IO;
	}
out:
	if (fd >= 0)
		close(fd); /* drops the fcntl lock */
	if (created && ret == MBOX_ERR_OPEN)
		unlink(path);
	unlink(buf_str(&lock));
	buf_free(&lock);
	return ret;
}
