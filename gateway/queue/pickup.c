/* pickup - take local submissions from maildrop/ (see pickup.h). */
#include "queue/pickup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "queue/layout.h"
#include "queue/qfile.h"
#include "queue/spool.h"

int pickup_name_ok(const char *name)
{
	size_t n = 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return 0;
		if (n > 255)
			return 0;
	}
	return n >= 16;
}

static void to_corrupt(struct spool *sp, int mfd, const char *name, long uid,
		       const char *why)
{
	char prog[64];
	snprintf(prog, sizeof prog, "%s", log_program());
	log_set_program("pickup");
	if (renameat(mfd, name, sp->dir_fd[SPOOL_CORRUPT], name) < 0) {
		msg_warn("maildrop/%s: uid=%ld: %s; cannot move to corrupt: %s",
			 name, uid, why, strerror(errno));
		unlinkat(mfd, name, 0);
	} else {
		msg_warn("maildrop/%s: uid=%ld: %s; moved to corrupt", name,
			 uid, why);
	}
	log_set_program(prog);
}

/* Read the whole file (at most max bytes) into b. */
static int read_all(int fd, struct buf *b, size_t size)
{
	char tmp[65536];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		if (buf_append(b, tmp, (size_t)r) < 0)
			return -EFBIG;
	}
	return b->len == size ? 0 : -EIO;
}

static int pick_one(struct spool *sp, int mfd, const char *name,
		    size_t max_size)
{
	int fd = openat(mfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		to_corrupt(sp, mfd, name, -1, "cannot open");
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		to_corrupt(sp, mfd, name, -1, "not a regular file");
		return 0;
	}
	long uid = (long)st.st_uid;
	if (max_size && (size_t)st.st_size > max_size) {
		close(fd);
		to_corrupt(sp, mfd, name, uid, "file too large");
		return 0;
	}
	struct buf in;
	buf_init(&in, (size_t)st.st_size + 1);
	int rc = read_all(fd, &in, (size_t)st.st_size);
	close(fd);
	if (rc < 0) {
		buf_free(&in);
		to_corrupt(sp, mfd, name, uid, "cannot read");
		return 0;
	}
	struct qfile_msg m;
	rc = qfile_parse(&m, in.data, in.len);
	if (rc < 0) {
		buf_free(&in);
		to_corrupt(sp, mfd, name, uid, qfile_strerror(rc));
		return 0;
	}
	/* Only the envelope, recipients and content are taken from the user:
	 * client fields are empty, protocol is "local", state is reset. */
	struct qfile_msg out = {0};
	out.arrival_sec = m.arrival_sec;
	out.arrival_usec = m.arrival_usec;
	out.sender = m.sender;
	out.protocol.p = "local";
	out.protocol.len = 5;
	out.body = m.body;
	out.smtputf8 = m.smtputf8;
	out.envid = m.envid;
	out.ret = m.ret;
	out.nrcpt = m.nrcpt;
	out.rcpt = mem_zalloc(m.nrcpt * sizeof *out.rcpt);
	for (size_t i = 0; i < m.nrcpt; i++) {
		out.rcpt[i].addr = m.rcpt[i].addr;
		out.rcpt[i].orcpt = m.rcpt[i].orcpt;
		out.rcpt[i].notify = m.rcpt[i].notify;
	}
	struct buf qf;
	buf_init(&qf, in.len + 1024);
	rc = qfile_format(&qf, &out, in.data + m.content_off, m.content_len);
	/* content_filter: as Postfix's pickup writes its FILT record */
	const char *cf = conf_get("content_filter");
	if (rc == 0 && cf != NULL && *cf) {
		rc = qfile_format_filter(&qf, cf, strlen(cf));
		if (rc == 0)
			qf.data[QFILE_VERSION_OFF] = '0' + QFILE_VERSION_FILTER;
	}
	struct spool_file f;
	memset(&f, 0, sizeof f);
	f.fd = -1;
	if (rc == 0) {
		rc = spool_file_new(sp, &f, out.arrival_sec, out.arrival_usec);
		if (rc == 0)
			rc = spool_file_write(&f, qf.data, qf.len);
		if (rc == 0)
			rc = spool_file_sync(&f);
		if (rc == 0)
			rc = spool_file_commit(sp, &f);
		if (rc == 0)
			rc = spool_sync_queue(sp, SPOOL_INCOMING);
		if (rc < 0) {
			spool_file_abort(sp, &f);
			msg_warn("maildrop/%s: cannot queue: %s", name,
				 strerror(-rc));
			rc = -1;
		}
	} else {
		rc = 1; /* a bad envelope: corrupt */
	}
	if (rc == 0) {
		char prog[64];
		snprintf(prog, sizeof prog, "%s", log_program());
		log_set_program("pickup");
		struct buf line;
		buf_init(&line, 4 * QFILE_VALUE_MAX);
		log_escape(&line, m.sender.p ? m.sender.p : "", m.sender.len);
		msg_info("%s: uid=%ld from=<%s>", f.qid, uid, buf_str(&line));
		buf_free(&line);
		log_set_program(prog);
		unlinkat(mfd, name, 0);
	} else if (rc == 1) {
		to_corrupt(sp, mfd, name, uid, "bad envelope");
	}
	mem_free(out.rcpt);
	qfile_msg_free(&m);
	buf_free(&qf);
	buf_free(&in);
	return rc == 0 ? 1 : 0;
}

int pickup_scan(struct spool *sp, size_t max_size)
{
	int mfd = openat(sp->root_fd, LAYOUT_MAILDROP,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	int dfd = dup(mfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		close(mfd);
		return -e;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!pickup_name_ok(de->d_name))
			continue;
		n += pick_one(sp, mfd, de->d_name, max_size);
	}
	closedir(d);
	close(mfd);
	return n;
}
