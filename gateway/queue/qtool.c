/* qtool - shared plumbing of the queue commands (see qtool.h). */
#include "queue/qtool.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "queue/layout.h"
#include "queue/qfile.h"
#include "queue/trigger.h"

static int fatal_status = 1;

static void fatal_exit(void)
{
	exit(fatal_status);
}

void qtool_fatal(int status, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fatal_status = status;
	log_set_fatal_hook(fatal_exit);
	msg_fatal("%s", text);
}

void qtool_bad_option(int c)
{
	if (c > 32 && c < 127)
		fprintf(stderr, "%s: invalid option -- '%c'\n", log_program(),
			c);
	else
		fprintf(stderr, "%s: invalid option\n", log_program());
}

int qtool_maildrop_name(const char *name)
{
	size_t n = strlen(name);

	if (n < 16 || n > QTOOL_MAILDROP_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= 'a' && name[i] <= 'z')))
			return 0;
	return 1;
}

int qtool_maildrop_open(struct spool *sp, const char *name)
{
	struct stat st;
	int dfd, fd;

	if (!qtool_maildrop_name(name))
		return -EINVAL;
	dfd = openat(sp->root_fd, LAYOUT_MAILDROP,
		     O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int qtool_site_request(const char *site, size_t n, char *req)
{
	if (n == 0 || n > 255 || n + 3 > TRIGGER_MAX)
		return -1;
	req[0] = 'S';
	req[1] = ' ';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)site[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || c == '[' || c == ']' || c == ':'))
			return -1;
		req[2 + i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	req[2 + n] = 0;
	return 0;
}

void qtool_config_dir(const char *dir)
{
	if (setenv("MAIL_CONFIG", dir, 1) != 0)
		qtool_fatal(EX_OSERR, "cannot set MAIL_CONFIG: %s",
			    strerror(errno));
}

void qtool_config(const char *dir)
{
	const char *maillog;
	char prog[64];

	if (conf_load(dir) < 0)
		qtool_fatal(EX_CONFIG, "cannot load the configuration in %s",
			    dir ? dir : conf_dir());
	/* As Postfix's commands: stderr, and the mail log (maillog_file
	 * when set and writable by this user, else syslog). */
	maillog = conf_get("maillog_file");
	/* /dev/stdout means the daemons' own output (containers): for a
	 * command it would mix log lines into its output. */
	if (maillog && *maillog && strncmp(maillog, "/dev/std", 8) != 0 &&
	    log_set_file(maillog) == 0)
		return;
	snprintf(prog, sizeof(prog), "%s", log_program());
	log_open(prog, LOG_DEST_STDERR | LOG_DEST_SYSLOG);
}

const char *qtool_queue_dir(void)
{
	const char *q = conf_get("queue_directory");

	if (q == NULL || *q == 0)
		qtool_fatal(EX_CONFIG, "queue_directory is not set");
	return q;
}

uid_t qtool_owner_uid(void)
{
	const char *owner = conf_get("mail_owner");
	struct passwd *pw = owner ? getpwnam(owner) : NULL;

	return pw ? pw->pw_uid : (uid_t)-1;
}

int qtool_privileged(void)
{
	uid_t uid = getuid();

	return uid == 0 || uid == qtool_owner_uid();
}

void qtool_spool_open(struct spool *sp, const char *what, int status)
{
	const char *dir = qtool_queue_dir();
	int rc = spool_open(sp, dir);

	if (rc == -EACCES || rc == -EPERM)
		qtool_fatal(
			status,
			"%s: permission denied: the queue in %s is readable "
			"only by root and the mail_owner (%s)",
			what, dir, conf_get("mail_owner"));
	if (rc == -ENOENT)
		qtool_fatal(status,
			    "%s: no queue in %s (the mail system was never "
			    "started with this configuration)",
			    what, dir);
	if (rc < 0)
		qtool_fatal(status, "%s: open queue %s: %s", what, dir,
			    strerror(-rc));
}

int qtool_queue_by_name(const char *name)
{
	for (int q = 0; q < SPOOL_NQUEUES; q++)
		if (strcmp(spool_queue_name((enum spool_queue)q), name) == 0)
			return q;
	return -1;
}

/* Parse the message. A torn tail (a crash during an append) is left for
 * qmgr to cut (docs/queue-format.md): cutting it here could race with
 * qmgr appending to the same file, and a record appended after it would
 * not count; so such a file is not changed now. */
static int load(int fd, struct qfile_msg *m)
{
	const void *p;
	size_t n;
	int rc;

	if ((rc = spool_map(fd, &p, &n)) < 0)
		return rc;
	memset(m, 0, sizeof(*m));
	rc = qfile_parse(m, p, n);
	spool_unmap(p, n);
	if (rc < 0)
		return -EINVAL;
	if (m->torn) {
		qfile_msg_free(m);
		return -EAGAIN;
	}
	return 0;
}

int qtool_update(struct spool *sp, enum spool_queue q, const char *qid,
		 int hold, int retry_now)
{
	struct qfile_msg m;
	struct buf rec;
	int fd, rc;

	fd = spool_open_message(sp, q, qid, 1);
	if (fd < 0)
		return fd;
	if ((rc = load(fd, &m)) < 0) {
		close(fd);
		if (rc == -EINVAL)
			msg_warn("%s/%s: malformed queue file, not changed",
				 spool_queue_name(q), qid);
		if (rc == -EAGAIN)
			msg_warn("%s/%s: the last update is incomplete (a "
				 "crash); "
				 "not changed until the mail system has "
				 "repaired it",
				 spool_queue_name(q), qid);
		return rc;
	}
	buf_init(&rec, 256);
	if (hold >= 0)
		qfile_format_hold(&rec, hold);
	if (retry_now)
		qfile_format_retry(&rec, (int64_t)time(NULL), m.attempts);
	rc = buf_error(&rec) ? -ENOMEM
			     : spool_append(fd, buf_str(&rec), buf_len(&rec));
	qfile_msg_free(&m);
	buf_free(&rec);
	close(fd);
	if (rc < 0 && rc != -ENOENT)
		msg_warn("%s/%s: cannot update: %s", spool_queue_name(q), qid,
			 strerror(-rc));
	return rc;
}

int qtool_move(struct spool *sp, const char *qid, enum spool_queue q,
	       enum spool_queue dest)
{
	for (int tries = 0; tries < 3; tries++) {
		int rc = q == dest ? 0 : spool_move(sp, qid, q, dest, 0);

		if (rc != -ENOENT)
			return rc;
		for (q = 0; q < SPOOL_CORRUPT; q = (enum spool_queue)(q + 1)) {
			int fd = spool_open_message(sp, q, qid, 0);

			if (fd >= 0) {
				close(fd);
				break;
			}
		}
		if (q == SPOOL_CORRUPT)
			return -ENOENT; /* delivered and removed */
	}
	return -EAGAIN;
}
