/* sendmail - local submission with Sendmail's command line (Postfix's
 * sendmail(1) options).
 *
 * Any user may run it. The message is read from stdin (or, with -bs, from
 * an SMTP dialogue on stdin/stdout), streamed into a new queue file in
 * maildrop/ and handed to qmgr's pickup (layout.h): create
 * maildrop/.tmp.RANDOM (O_EXCL, O_NOFOLLOW, mode 0644), write the qfile
 * (envelope, canonical CRLF content), fsync, rename to maildrop/RANDOM
 * without replacing, then "M" on the trigger FIFO -- a mail system that is
 * down is fine: qmgr scans maildrop/ when it starts.
 *
 * Memory stays bounded whatever the message size: only the header
 * section (header_size_limit) is held, to find the recipients for -t and
 * the headers that are missing. As Postfix's cleanup does for local mail,
 * a missing Message-ID, Date and From are added (Message-ID
 * <NAME@myhostname> as Postfix's with long queue IDs, Date in RFC 5322 form,
 * From with the full name of -F, $NAME or the passwd entry). The envelope
 * sender is -f, else the login name of the real uid; unqualified addresses get
 * @$myorigin. Exit statuses are Postfix 3.7's: EX_TEMPFAIL (75) for any
 * fatal error (so that a calling program tries again later), EX_DATAERR
 * when stdin cannot be read. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "queue/layout.h"
#include "queue/qfile.h"
#include "queue/qtool.h"
#include "queue/submit.h"
#include "queue/trigger.h"
#include "smtpd/smtp_cmd.h"
#include "smtpd/smtp_data.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

#define NAME_LEN   16           /* random maildrop file name */
#define READ_CHUNK 65536        /* stdin reads */
#define STAGE_MAX  (256 * 1024) /* file write staging */
#define HDR_SLACK  (2 * READ_CHUNK + 16)
#define ENVID_MAX  100 /* RFC 3461 4.4 */

/* ---- the message being written ---- */

struct rcpt {
	char *addr;
	char *orcpt;
	unsigned notify;
};

struct sm_msg {
	/* envelope */
	char *sender;
	const char *saved_sender; /* as given (-f) or the login: messages */
	struct rcpt *rcpt;
	size_t nrcpt, cap;
	unsigned notify; /* -N, for recipients without their own */
	enum qfile_ret ret;
	char *envid; /* xtext */
	enum qfile_body body;
	int smtputf8;
	int extract; /* -t */
	/* the file */
	int dfd; /* maildrop/ */
	int fd;
	char tmp[sizeof(SPOOL_TMP_PREFIX) + NAME_LEN];
	char name[NAME_LEN + 1];
	struct qfile_writer w;
	struct buf hdr;   /* header section until it is complete */
	struct buf stage; /* bytes waiting for write(2) */
	int in_body;
	int from_pending; /* a leading Unix "From " line is dropped */
	int too_big;
	int err; /* first -errno of a write */
	uint64_t limit;
};

static struct {
	const char *myorigin;
	const char *myhostname;
	const char *fullname;
	char *login;
	uid_t uid;
	size_t header_limit;
	uint64_t size_limit;
	size_t dup_limit;
	size_t rcpt_limit;
	int smtputf8; /* smtputf8_enable */
	const char *queue_dir;
} cf;

static struct sm_msg *live; /* removed on a fatal error */

static void discard(struct sm_msg *m);

/* The sender as Postfix names it in messages: "SENDER(UID): ...". */
static const char *who(const struct sm_msg *m)
{
	return m->saved_sender ? m->saved_sender : m->sender;
}

static _Noreturn void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void die_cleanup(void)
{
	if (live)
		discard(live);
}

static void die(int status, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	die_cleanup();
	qtool_fatal(status, "%s", text);
}

/* Qualify an address without a domain with @$myorigin (Postfix's
 * append_at_myorigin for local submissions). */
static char *qualify(const char *addr, size_t len)
{
	struct buf b;
	char *s;

	buf_init(&b, len + strlen(cf.myorigin) + 2);
	buf_append(&b, addr, len);
	if (len > 0 && memchr(addr, '@', len) == NULL)
		buf_printf(&b, "@%s", cf.myorigin);
	s = mem_strdup(buf_str(&b));
	buf_free(&b);
	return s;
}

static int addr_ok(const char *a, size_t len)
{
	if (len == 0 || len > SMTP_ADDR_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)a[i] < 32 || a[i] == 127)
			return 0;
	return 1;
}

static void msg_init(struct sm_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->dfd = -1;
	buf_init(&m->hdr, cf.header_limit + HDR_SLACK);
	buf_init(&m->stage, STAGE_MAX);
	m->limit = cf.size_limit;
}

static void msg_free(struct sm_msg *m)
{
	for (size_t i = 0; i < m->nrcpt; i++) {
		mem_free(m->rcpt[i].addr);
		mem_free(m->rcpt[i].orcpt);
	}
	mem_free(m->rcpt);
	mem_free(m->sender);
	mem_free(m->envid);
	buf_free(&m->hdr);
	buf_free(&m->stage);
	if (m->dfd >= 0)
		close(m->dfd);
	memset(m, 0, sizeof(*m));
	m->fd = m->dfd = -1;
}

/* Add a recipient (qualified), dropping exact duplicates among the first
 * duplicate_filter_limit ones as Postfix's cleanup does. */
static int msg_add_rcpt(struct sm_msg *m, const char *addr, size_t len,
			const char *orcpt, unsigned notify)
{
	char *a;

	if (!addr_ok(addr, len))
		return -1;
	a = qualify(addr, len);
	for (size_t i = 0; i < m->nrcpt && i < cf.dup_limit; i++)
		if (strcmp(m->rcpt[i].addr, a) == 0) {
			mem_free(a);
			return 0;
		}
	if (m->nrcpt >= QFILE_RCPT_MAX) {
		mem_free(a);
		return -2;
	}
	if (m->nrcpt == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->rcpt = mem_realloc(m->rcpt, m->cap * sizeof(*m->rcpt));
	}
	m->rcpt[m->nrcpt].addr = a;
	m->rcpt[m->nrcpt].orcpt = orcpt ? mem_strdup(orcpt) : NULL;
	m->rcpt[m->nrcpt].notify = notify;
	m->nrcpt++;
	return 0;
}

static int add_listed(const char *addr, size_t len, void *arg)
{
	struct sm_msg *m = arg;
	int rc = msg_add_rcpt(m, addr, len, NULL, 0);

	if (rc == -1)
		msg_warn("bad recipient address syntax: %s", addr);
	if (rc == -2)
		return -2;
	return 0;
}

/* ---- file output ---- */

static void random_name(char *out, size_t len)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[64];
	size_t got = 0;

	while (got < len) {
		ssize_t r = getrandom(rnd + got, len - got, 0);

		if (r < 0 && errno != EINTR)
			die(EX_TEMPFAIL, "getrandom: %s", strerror(errno));
		if (r > 0)
			got += (size_t)r;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	out[len] = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void stage_flush(struct sm_msg *m)
{
	if (m->err == 0 && buf_len(&m->stage) > 0)
		m->err = write_all(m->fd, buf_str(&m->stage),
				   buf_len(&m->stage));
	buf_reset(&m->stage);
}

static void stage(struct sm_msg *m, const char *p, size_t n)
{
	if (buf_len(&m->stage) + n > STAGE_MAX)
		stage_flush(m);
	if (n > STAGE_MAX) {
		if (m->err == 0)
			m->err = write_all(m->fd, p, n);
		return;
	}
	buf_append(&m->stage, p, n);
}

/* Content bytes: counted, checked against the size limit, staged. */
static void content(struct sm_msg *m, const char *p, size_t n)
{
	if (m->too_big || n == 0)
		return;
	if (m->limit > 0 && m->w.content_len + n > m->limit) {
		m->too_big = 1;
		return;
	}
	if (qfile_writer_push(&m->w, p, n) != 0 && m->err == 0)
		m->err = -EINVAL;
	stage(m, p, n);
}

static void open_file(struct sm_msg *m)
{
	char rnd[NAME_LEN + 1];

	m->dfd = openat(AT_FDCWD, cf.queue_dir,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->dfd >= 0) {
		int d = openat(m->dfd, LAYOUT_MAILDROP,
			       O_PATH | O_DIRECTORY | O_CLOEXEC);

		close(m->dfd);
		m->dfd = d;
	}
	if (m->dfd < 0)
		die(EX_TEMPFAIL, "open %s/%s: %s", cf.queue_dir,
		    LAYOUT_MAILDROP, strerror(errno));
	for (int tries = 0; tries < 10; tries++) {
		random_name(rnd, NAME_LEN);
		snprintf(m->tmp, sizeof(m->tmp), "%s%s", SPOOL_TMP_PREFIX, rnd);
		m->fd = openat(m->dfd, m->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				       O_CLOEXEC,
			       0644);
		if (m->fd >= 0 || errno != EEXIST)
			break;
	}
	if (m->fd < 0)
		die(EX_TEMPFAIL, "%s(%ld): cannot create a file in %s/%s: %s",
		    who(m), (long)cf.uid, cf.queue_dir, LAYOUT_MAILDROP,
		    strerror(errno));
	/* pickup reads it as mail_owner, whatever our umask says. */
	(void)fchmod(m->fd, 0644);
	live = m;
}

static void discard(struct sm_msg *m)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		(void)unlinkat(m->dfd, m->tmp, 0);
	}
	if (live == m)
		live = NULL;
}

/* The envelope: written once the recipients are known. */
static void write_envelope(struct sm_msg *m)
{
	struct qfile_msg qm;
	struct qfile_rcpt *qr;
	struct timespec now;
	struct buf out;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);
	memset(&qm, 0, sizeof(qm));
	qm.arrival_sec = now.tv_sec;
	qm.arrival_usec = now.tv_nsec / 1000;
	qm.sender.p = m->sender;
	qm.sender.len = strlen(m->sender);
	qm.protocol.p = "local";
	qm.protocol.len = 5;
	qm.body = m->body;
	qm.smtputf8 = m->smtputf8;
	qm.ret = m->ret;
	if (m->envid) {
		qm.envid.p = m->envid;
		qm.envid.len = strlen(m->envid);
	}
	qr = mem_zalloc((m->nrcpt ? m->nrcpt : 1) * sizeof(*qr));
	for (size_t i = 0; i < m->nrcpt; i++) {
		qr[i].addr.p = m->rcpt[i].addr;
		qr[i].addr.len = strlen(m->rcpt[i].addr);
		if (m->rcpt[i].orcpt) {
			qr[i].orcpt.p = m->rcpt[i].orcpt;
			qr[i].orcpt.len = strlen(m->rcpt[i].orcpt);
		}
		qr[i].notify =
			m->rcpt[i].notify ? m->rcpt[i].notify : m->notify;
	}
	qm.rcpt = qr;
	qm.nrcpt = m->nrcpt;
	buf_init(&out, QFILE_RCPT_MAX * (size_t)(SMTP_ADDR_MAX + 64) + 65536);
	rc = qfile_writer_begin(&m->w, &out, &qm);
	if (rc < 0)
		die(EX_TEMPFAIL, "%s(%ld): cannot write the envelope: %s",
		    who(m), (long)cf.uid, qfile_strerror(rc));
	/* pickup takes files up to message_size_limit plus this much
	 * envelope (layout.h): never write one it would refuse. */
	if (cf.size_limit > 0 && buf_len(&out) > LAYOUT_MAILDROP_SLACK)
		die(EX_TEMPFAIL,
		    "%s(%ld): too many recipients: the envelope is over %d "
		    "bytes",
		    who(m), (long)cf.uid, LAYOUT_MAILDROP_SLACK);
	stage(m, buf_str(&out), buf_len(&out));
	buf_free(&out);
	mem_free(qr);
}

static void format_date(struct buf *out, time_t t)
{
	struct tm tm;
	char text[80];

	localtime_r(&t, &tm);
	strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	buf_puts(out, text);
}

/* A display name as an RFC 5322 phrase: quoted when it needs to be. */
static void format_phrase(struct buf *out, const char *s)
{
	int quote = 0;

	for (const char *p = s; *p; p++)
		if (strchr("()<>[]:;@\\,.\"", *p) || (unsigned char)*p < 32)
			quote = 1;
	if (!quote) {
		buf_puts(out, s);
		return;
	}
	buf_putc(out, '"');
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 32)
			continue;
		if (*p == '"' || *p == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *p);
	}
	buf_putc(out, '"');
}

static int non_ascii(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* 1 when h is the field pre + name. */
static int header_is(const struct submit_header *h, const char *pre,
		     const char *name)
{
	size_t k = strlen(pre);

	return h->name_len > k && str_ncasecmp(h->name, pre, k) == 0 &&
	       h->name_len - k == strlen(name) &&
	       str_ncasecmp(h->name + k, name, h->name_len - k) == 0;
}

/* The header section is complete (or over its limit): pick recipients
 * (-t), write the envelope, the headers (without Bcc when extracting)
 * and the ones that are missing, then what followed. */
static void start_body(struct sm_msg *m, int at_end)
{
	const char *p = buf_str(&m->hdr);
	size_t n = buf_len(&m->hdr), hlen, off = 0;
	int complete, has_from = 0, has_date = 0, has_msgid = 0;
	struct submit_header h;
	struct buf add;
	time_t now = time(NULL);
	const char *pre = ""; /* "Resent-" when the message is resent */

	hlen = submit_header_len(p, n, &complete);
	if (!complete && at_end && hlen < n) {
		/* The input ended inside the header: all of it is header
		 * when it ends with a whole field. */
		hlen = n;
	}
	/* Fields beyond header_size_limit are body text, as in Postfix. */
	if (hlen > cf.header_limit) {
		size_t cut = 0;

		while (submit_header_next(p, hlen, &off, &h) &&
		       h.end <= cf.header_limit)
			cut = h.end;
		hlen = cut;
		off = 0;
	}
	/* RFC 5322 3.6.6: with Resent- fields, those are the ones that count
	 * (recipients for -t, the fields cleanup adds), as in Postfix. */
	while (submit_header_next(p, hlen, &off, &h))
		if (h.name_len > 7 && str_ncasecmp(h.name, "Resent-", 7) == 0)
			pre = "Resent-";
	off = 0;
	while (submit_header_next(p, hlen, &off, &h)) {
		if (header_is(&h, pre, "From"))
			has_from = 1;
		else if (header_is(&h, pre, "Date"))
			has_date = 1;
		else if (header_is(&h, pre, "Message-ID"))
			has_msgid = 1;
		if (m->extract &&
		    (header_is(&h, pre, "To") || header_is(&h, pre, "Cc") ||
		     header_is(&h, pre, "Bcc"))) {
			int rc = submit_addr_list(h.value, h.value_len,
						  add_listed, m);

			if (rc == -2)
				die(EX_TEMPFAIL, "%s(%ld): too many recipients",
				    who(m), (long)cf.uid);
			if (rc < 0)
				msg_warn("%.*s: bad address syntax, "
					 "skipped the rest of the field",
					 (int)h.name_len, h.name);
		}
	}
	if (m->nrcpt == 0)
		die(EX_TEMPFAIL,
		    m->extract
			    ? "%s(%ld): No recipient addresses found in "
			      "message header"
			    : "%s(%ld): Recipient addresses must be specified "
			      "on the command line or via the -t option",
		    who(m), (long)cf.uid);
	/* Postfix's smtputf8_autodetect_classes includes sendmail: UTF-8 in
	 * the envelope or the header asks for SMTPUTF8 delivery. */
	if (cf.smtputf8 && !m->smtputf8) {
		m->smtputf8 = non_ascii(m->sender, strlen(m->sender)) ||
			      non_ascii(p, hlen);
		for (size_t i = 0; i < m->nrcpt && !m->smtputf8; i++)
			m->smtputf8 = non_ascii(m->rcpt[i].addr,
						strlen(m->rcpt[i].addr));
	}
	open_file(m);
	write_envelope(m);
	off = 0;
	while (submit_header_next(p, hlen, &off, &h)) {
		if (m->extract && (submit_header_is(&h, "Bcc") ||
				   submit_header_is(&h, "Resent-Bcc")))
			continue;
		content(m, p + h.start, h.end - h.start);
	}
	/* What cleanup adds to local mail, in its order. */
	buf_init(&add, 4096);
	if (!has_msgid) /* as Postfix with long queue IDs: <ID@host> */
		buf_printf(&add, "%sMessage-Id: <%s@%s>\r\n", pre, m->name,
			   cf.myhostname);
	if (!has_date) {
		buf_printf(&add, "%sDate: ", pre);
		format_date(&add, now);
		buf_puts(&add, "\r\n");
	}
	if (!has_from) {
		const char *from =
			*m->sender ? m->sender
				   : conf_get("empty_address_recipient");

		buf_printf(&add, "%sFrom: ", pre);
		if (cf.fullname && *cf.fullname && *m->sender) {
			format_phrase(&add, cf.fullname);
			buf_printf(&add, " <%s>\r\n", from);
		} else {
			buf_printf(&add, "%s\r\n", from);
		}
	}
	content(m, buf_str(&add), buf_len(&add));
	buf_free(&add);
	/* The body needs its empty line before it. */
	if (hlen < n &&
	    !(n - hlen >= 2 && p[hlen] == '\r' && p[hlen + 1] == '\n'))
		content(m, "\r\n", 2);
	content(m, p + hlen, n - hlen);
	buf_free(&m->hdr);
	buf_init(&m->hdr, 1);
	m->in_body = 1;
}

/* Canonical content bytes of the message. */
static void msg_push(struct sm_msg *m, const char *p, size_t n)
{
	int complete;
	size_t hlen;

	if (m->in_body) {
		content(m, p, n);
		return;
	}
	buf_append(&m->hdr, p, n);
	if (m->from_pending) {
		/* Postfix's sendmail drops a leading mbox "From " line. */
		const char *h = buf_str(&m->hdr), *eol;
		size_t len = buf_len(&m->hdr);

		if (len < 5)
			return;
		if (memcmp(h, "From ", 5) == 0) {
			eol = memmem(h, len, "\r\n", 2);
			if (eol == NULL && len <= cf.header_limit)
				return;
			if (eol)
				buf_consume(&m->hdr, (size_t)(eol - h) + 2);
		}
		m->from_pending = 0;
	}
	hlen = submit_header_len(buf_str(&m->hdr), buf_len(&m->hdr), &complete);
	(void)hlen;
	if (complete || buf_len(&m->hdr) > cf.header_limit)
		start_body(m, 0);
}

/* The message is complete: finish, sync and hand it over. Returns 0, or
 * an error for the caller to report: -EFBIG when over the size limit,
 * else -errno of the write. The file is gone after an error. */
static int msg_end(struct sm_msg *m)
{
	char patch[QFILE_LEN_DIGITS];
	size_t patch_off;
	struct buf out;
	int rc;

	if (!m->in_body)
		start_body(m, 1);
	if (m->too_big) {
		discard(m);
		return -EFBIG;
	}
	buf_init(&out, 256);
	rc = qfile_writer_finish(&m->w, &out, patch, &patch_off);
	if (rc < 0 && m->err == 0)
		m->err = -EINVAL;
	stage(m, buf_str(&out), buf_len(&out));
	buf_free(&out);
	stage_flush(m);
	if (m->err == 0 && pwrite(m->fd, patch, QFILE_LEN_DIGITS,
				  (off_t)patch_off) != QFILE_LEN_DIGITS)
		m->err = errno ? -errno : -EIO;
	if (m->err == 0 && fsync(m->fd) < 0)
		m->err = -errno;
	if (m->err == 0 && close(m->fd) < 0)
		m->err = -errno;
	else if (m->err != 0)
		close(m->fd);
	m->fd = -1;
	if (m->err == 0) {
		/* The commit point: a rename that never replaces. */
		if (syscall(SYS_renameat2, m->dfd, m->tmp, m->dfd, m->name,
			    RENAME_NOREPLACE) < 0) {
			if (errno != EINVAL && errno != ENOSYS)
				m->err = -errno;
			else if (linkat(m->dfd, m->tmp, m->dfd, m->name, 0) < 0)
				m->err = -errno;
			else
				(void)unlinkat(m->dfd, m->tmp, 0);
		}
	}
	if (m->err != 0) {
		(void)unlinkat(m->dfd, m->tmp, 0);
		live = NULL;
		return m->err;
	}
	live = NULL;
	/* A mail system that is down picks it up when it starts. */
	rc = trigger_send(cf.queue_dir, "M");
	if (rc < 0 && rc != -ENXIO && rc != -ENOENT && rc != -EAGAIN)
		msg_debug("trigger: %s", strerror(-rc));
	return 0;
}

static void msg_begin(struct sm_msg *m)
{
	random_name(m->name, NAME_LEN);
	memset(&m->w, 0, sizeof(m->w));
}

/* ---- the sendmail -bm path ---- */

static int send_stdin(struct sm_msg *m, int ignore_dots)
{
	struct submit_norm norm;
	struct buf out;
	char in[READ_CHUNK];
	ssize_t r;
	int rc;

	submit_norm_init(&norm, ignore_dots);
	buf_init(&out, 2 * READ_CHUNK + 16);
	msg_begin(m);
	m->from_pending = 1;
	while (!norm.done && (r = read(0, in, sizeof(in))) != 0) {
		size_t used;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(EX_DATAERR, "%s(%ld): error reading input: %s",
			    who(m), (long)cf.uid, strerror(errno));
		}
		submit_norm_push(&norm, in, (size_t)r, &out, &used);
		msg_push(m, buf_str(&out), buf_len(&out));
		buf_reset(&out);
		if (m->too_big)
			break;
	}
	submit_norm_finish(&norm, &out);
	msg_push(m, buf_str(&out), buf_len(&out));
	buf_free(&out);
	rc = msg_end(m);
	if (rc == -EFBIG)
		die(EX_TEMPFAIL, "%s(%ld): message file too big", who(m),
		    (long)cf.uid);
	if (rc < 0)
		die(EX_TEMPFAIL, "%s(%ld): error writing queue file: %s",
		    who(m), (long)cf.uid, strerror(-rc));
	return 0;
}

/* ---- sendmail -bs: an SMTP session on stdin/stdout ---- */

struct session {
	struct sm_msg msg;
	int in_mail;
	int helo;
	unsigned ext;
	struct smtp_line_reader lr;
	struct submit_norm norm; /* bare CR to CRLF, as qfile needs */
	struct buf normbuf;
	struct smtp_data d; /* BDAT: kept across the chunks */
	int bdat;           /* a BDAT transfer is in progress */
	char in[READ_CHUNK];
	size_t in_len;
	int eof;
};

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
	fflush(stdout);
}

static void reply_err(int err, enum smtp_verb verb, struct smtp_slice bad)
{
	const struct smtp_reply *r = smtp_cmd_reply(err, verb);
	struct buf b;

	buf_init(&b, 512);
	smtp_reply_format(&b, r, bad.p, bad.n);
	reply("%s", buf_str(&b));
	buf_free(&b);
}

static void session_reset(struct session *s)
{
	if (s->in_mail) {
		discard(&s->msg);
		msg_free(&s->msg);
	}
	s->in_mail = 0;
	s->bdat = 0;
}

static int data_sink(void *arg, const char *p, size_t n)
{
	struct session *s = arg;
	size_t used;

	buf_reset(&s->normbuf);
	submit_norm_push(&s->norm, p, n, &s->normbuf, &used);
	msg_push(&s->msg, buf_str(&s->normbuf), buf_len(&s->normbuf));
	return 0;
}

/* Read more input; 0 at end of file. */
static int fill(struct session *s)
{
	ssize_t r;

	if (s->in_len == sizeof(s->in))
		return 1;
	do
		r = read(0, s->in + s->in_len, sizeof(s->in) - s->in_len);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		s->eof = 1;
		return 0;
	}
	s->in_len += (size_t)r;
	return 1;
}

static void consume(struct session *s, size_t n)
{
	memmove(s->in, s->in + n, s->in_len - n);
	s->in_len -= n;
}

static void content_begin(struct session *s)
{
	submit_norm_init(&s->norm, 1);
	msg_begin(&s->msg);
}

/* The content is complete: queue it and answer. */
static void content_end(struct session *s)
{
	int rc;

	buf_reset(&s->normbuf);
	submit_norm_finish(&s->norm, &s->normbuf);
	msg_push(&s->msg, buf_str(&s->normbuf), buf_len(&s->normbuf));
	rc = msg_end(&s->msg);
	if (rc == -EFBIG)
		reply("552 5.3.4 Error: message file too big");
	else if (rc < 0)
		reply("451 4.3.0 Error: queue file write error");
	else
		reply("250 2.0.0 Ok: queued as %s", s->msg.name);
	msg_free(&s->msg);
	s->in_mail = 0;
	s->bdat = 0;
}

/* Feed input to the content parser until it says rc is reached; 0 when
 * the input ended first. */
static int pump(struct session *s, int *rc)
{
	while (*rc == SMTP_DATA_MORE) {
		size_t used;

		if (s->in_len == 0 && !fill(s))
			return 0;
		*rc = smtp_data_push(&s->d, s->in, s->in_len, &used);
		consume(s, used);
	}
	return 1;
}

static void do_data(struct session *s)
{
	struct smtp_data_opts o = {SMTP_BARE_NORMALIZE, 0, 0};
	int rc = SMTP_DATA_MORE;

	reply("354 End data with <CR><LF>.<CR><LF>");
	content_begin(s);
	smtp_data_init(&s->d, &o, data_sink, s);
	if (!pump(s, &rc) || rc != SMTP_DATA_DONE) {
		session_reset(s); /* end of input inside DATA */
		return;
	}
	content_end(s);
}

/* BDAT count [LAST] (RFC 3030): the chunk is read whatever the answer,
 * so that the session stays in step. */
static void do_bdat(struct session *s, struct smtp_slice arg)
{
	struct smtp_data_opts o = {SMTP_BARE_NORMALIZE, 0, 0};
	struct smtp_slice none = {NULL, 0};
	const char *err = NULL;
	uint64_t count;
	int last, rc;

	rc = smtp_cmd_parse_bdat(&count, &last, arg.p, arg.n);
	if (rc < 0) {
		reply_err(rc, SMTP_VERB_BDAT, none);
		s->eof = rc == SMTP_CMD_ERR_SYNTAX; /* cannot find the end */
		return;
	}
	if (!s->in_mail)
		err = "503 5.5.1 Error: need MAIL command";
	else if (s->msg.nrcpt == 0)
		err = "554 5.5.1 Error: no valid recipients";
	if (err) {
		while (count > 0 && (s->in_len > 0 || fill(s))) {
			size_t k =
				s->in_len < count ? s->in_len : (size_t)count;

			consume(s, k);
			count -= k;
		}
		reply("%s", err);
		return;
	}
	if (!s->bdat) {
		s->bdat = 1;
		content_begin(s);
		smtp_data_init_bdat(&s->d, &o, data_sink, s);
	}
	rc = smtp_data_bdat_begin(&s->d, count, last);
	if (!pump(s, &rc)) {
		session_reset(s);
		return;
	}
	if (rc == SMTP_DATA_CHUNK)
		reply("250 2.0.0 Ok: %llu bytes", (unsigned long long)count);
	else
		content_end(s);
}

static void do_command(struct session *s, const char *line, size_t n)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_opts o = {s->ext, 0, 0};
	int rc = smtp_cmd_parse(&cmd, line, n, 0);

	if (rc < 0) {
		struct smtp_slice none = {NULL, 0};

		reply_err(rc, cmd.verb, none);
		return;
	}
	switch (cmd.verb) {
	case SMTP_VERB_EHLO:
		session_reset(s);
		s->helo = 1;
		s->ext = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_DSN |
			 SMTP_EXT_SMTPUTF8;
		reply("250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
		      "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		      "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING",
		      cf.myhostname, (unsigned long long)cf.size_limit);
		return;
	case SMTP_VERB_HELO:
		session_reset(s);
		s->helo = 1;
		s->ext = 0;
		reply("250 %s", cf.myhostname);
		return;
	case SMTP_VERB_MAIL: {
		struct smtp_mail mail;

		if (s->in_mail) {
			reply("503 5.5.1 Error: nested MAIL command");
			return;
		}
		rc = smtp_cmd_parse_mail(&mail, cmd.arg.p, cmd.arg.n, &o);
		if (rc < 0) {
			reply_err(rc, cmd.verb, mail.bad);
			return;
		}
		if (mail.has_size && cf.size_limit > 0 &&
		    mail.size > cf.size_limit) {
			reply("552 5.3.4 Message size exceeds fixed limit");
			return;
		}
		msg_init(&s->msg);
		s->msg.sender = mail.path.addr.n ? qualify(mail.path.addr.p,
							   mail.path.addr.n)
						 : mem_strdup("");
		s->msg.body = (enum qfile_body)mail.body;
		s->msg.smtputf8 = mail.smtputf8;
		s->msg.ret = (enum qfile_ret)mail.ret;
		if (mail.envid.n)
			s->msg.envid = mem_strndup(mail.envid.p, mail.envid.n);
		s->in_mail = 1;
		reply("250 2.1.0 Ok");
		return;
	}
	case SMTP_VERB_RCPT: {
		struct smtp_rcpt rcpt;
		struct buf orcpt;

		if (!s->in_mail) {
			reply("503 5.5.1 Error: need MAIL command");
			return;
		}
		o.smtputf8 = s->msg.smtputf8;
		rc = smtp_cmd_parse_rcpt(&rcpt, cmd.arg.p, cmd.arg.n, &o);
		if (rc < 0) {
			reply_err(rc, cmd.verb, rcpt.bad);
			return;
		}
		if (s->msg.nrcpt >= cf.rcpt_limit) {
			reply("452 4.5.3 Error: too many recipients");
			return;
		}
		buf_init(&orcpt, SMTP_ORCPT_MAX + 64);
		if (rcpt.orcpt_type.n) {
			buf_append(&orcpt, rcpt.orcpt_type.p,
				   rcpt.orcpt_type.n);
			buf_putc(&orcpt, ';');
			buf_append(&orcpt, rcpt.orcpt.p, rcpt.orcpt.n);
		}
		rc = msg_add_rcpt(&s->msg, rcpt.path.addr.p, rcpt.path.addr.n,
				  buf_len(&orcpt) ? buf_str(&orcpt) : NULL,
				  rcpt.notify);
		buf_free(&orcpt);
		if (rc == -2)
			reply("452 4.5.3 Error: too many recipients");
		else if (rc < 0)
			reply("501 5.1.3 Bad recipient address syntax");
		else
			reply("250 2.1.5 Ok");
		return;
	}
	case SMTP_VERB_DATA:
		if (!s->in_mail) {
			reply("503 5.5.1 Error: need RCPT command");
			return;
		}
		if (s->msg.nrcpt == 0) {
			reply("554 5.5.1 Error: no valid recipients");
			return;
		}
		if (s->bdat) {
			reply("503 5.5.1 Error: DATA after BDAT");
			return;
		}
		do_data(s);
		return;
	case SMTP_VERB_BDAT:
		do_bdat(s, cmd.arg);
		return;
	case SMTP_VERB_RSET:
		session_reset(s);
		reply("250 2.0.0 Ok");
		return;
	case SMTP_VERB_NOOP:
		reply("250 2.0.0 Ok");
		return;
	case SMTP_VERB_QUIT:
		session_reset(s);
		reply("221 2.0.0 Bye");
		s->eof = 1;
		return;
	case SMTP_VERB_VRFY:
		reply("502 5.5.1 VRFY command is disabled");
		return;
	case SMTP_VERB_ETRN: {
		char req[TRIGGER_MAX];

		if (qtool_site_request(cmd.arg.p, cmd.arg.n, req) < 0) {
			reply("501 5.5.4 Error: invalid parameter syntax");
			return;
		}
		rc = trigger_send(cf.queue_dir, req);
		if (rc == 0 || rc == -EAGAIN)
			reply("250 Queuing started");
		else
			reply("458 Unable to queue messages");
		return;
	}
	default:
		reply("502 5.5.1 Error: command not implemented");
		return;
	}
}

static int smtp_session(void)
{
	struct session *s = mem_zalloc(sizeof(*s));

	smtp_line_init(&s->lr, SMTP_BARE_NORMALIZE, 0);
	buf_init(&s->normbuf, 2 * SMTP_DATA_OUTBUF + 16);
	reply("220 %s", conf_get("smtpd_banner"));
	while (!s->eof) {
		size_t len, used;
		int rc;

		if (s->in_len == 0 && !fill(s))
			break;
		rc = smtp_line_next(&s->lr, s->in, s->in_len, &len, &used);
		if (rc == SMTP_LINE_MORE) {
			consume(s, used);
			if (!fill(s))
				break;
			continue;
		}
		if (rc == SMTP_LINE_OK) {
			char line[SMTP_CMD_LINE_MAX + 1];

			memcpy(line, s->in, len);
			consume(s, used);
			do_command(s, line, len);
		} else {
			struct smtp_slice none = {NULL, 0};

			consume(s, used);
			reply_err(rc, SMTP_VERB_NONE, none);
		}
	}
	session_reset(s);
	buf_free(&s->normbuf);
	mem_free(s);
	return 0;
}

/* ---- options ---- */

enum mode {
	MODE_SEND,
	MODE_SMTP,
	MODE_LIST,
	MODE_FLUSH,
	MODE_ALIASES,
	MODE_START
};

/* -V: printable ASCII, at most ENVID_MAX bytes (RFC 3461 4.4). */
static int envid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ENVID_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
			return 0;
	return 1;
}

struct opts {
	enum mode mode;
	const char *sender;
	int extract;
	int ignore_dots;
	const char *site; /* -qR */
	unsigned notify;
	enum qfile_ret ret;
	const char *envid;
	enum qfile_body body;
};

static unsigned parse_notify(const char *s)
{
	char *copy = mem_strdup(s), *cur = copy, *tok;
	unsigned bits = 0;

	while ((tok = str_token(&cur, ",")) != NULL) {
		str_trim(tok);
		if (str_casecmp(tok, "never") == 0)
			bits |= QFILE_NOTIFY_NEVER;
		else if (str_casecmp(tok, "success") == 0)
			bits |= QFILE_NOTIFY_SUCCESS;
		else if (str_casecmp(tok, "failure") == 0)
			bits |= QFILE_NOTIFY_FAILURE;
		else if (str_casecmp(tok, "delay") == 0)
			bits |= QFILE_NOTIFY_DELAY;
		else {
			msg_warn("unknown DSN NOTIFY command value \"%s\" in "
				 "\"%s\"",
				 tok, s);
			bits = ~0u;
		}
	}
	mem_free(copy);
	/* As Postfix: a bad value is ignored with a warning. */
	if (bits == 0 || bits == ~0u ||
	    ((bits & QFILE_NOTIFY_NEVER) && bits != QFILE_NOTIFY_NEVER)) {
		msg_warn("bad -N option value -- ignored");
		return 0;
	}
	return bits;
}

static void set_config(const char *arg)
{
	struct stat st;
	char *dir = mem_strdup(arg);

	/* -C names the file (Sendmail) or the directory (Postfix). */
	if (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(dir, '/');

		if (slash == NULL)
			dir[0] = '.', dir[1] = 0;
		else
			*slash = 0;
	}
	qtool_config_dir(dir);
	mem_free(dir);
}

/* Options with an argument, as Postfix's sendmail takes them. */
static int takes_arg(char c)
{
	return strchr("BCFLNORVXbcefhopr", c) != NULL;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == 0)
			break;
		if (strcmp(a, "--") == 0)
			return i + 1;
		for (const char *f = a + 1; *f; f++) {
			const char *arg = NULL;
			char c = *f;

			if (c == 'q') {
				const char *q = f + 1;

				if (*q == 0) {
					o->mode = MODE_FLUSH;
				} else if (*q == 'R') {
					o->site =
						q[1] ? q + 1
						     : (i + 1 < argc ? argv[++i]
								     : NULL);
					if (o->site == NULL || !*o->site)
						die(EX_TEMPFAIL,
						    "specify: -qRsitename");
					o->mode = MODE_FLUSH;
				} else if (*q == 'I' || *q == 'S') {
					die(EX_TEMPFAIL,
					    "-q%c is not supported by mailgw's "
					    "sendmail",
					    *q);
				}
				/* -qINTERVAL: Postfix ignores it. */
				break;
			}
			if (takes_arg(c)) {
				if (f[1])
					arg = f + 1;
				else if (i + 1 < argc)
					arg = argv[++i];
				else
					die(EX_TEMPFAIL,
					    "option -%c requires an argument",
					    c);
			}
			switch (c) {
			case 'B':
				if (str_casecmp(arg, "8BITMIME") == 0)
					o->body = QFILE_BODY_8BITMIME;
				else if (str_casecmp(arg, "7BIT") == 0)
					o->body = QFILE_BODY_7BIT;
				else
					die(EX_TEMPFAIL,
					    "-B option needs 8BITMIME or 7BIT");
				break;
			case 'C':
			case 'c':
				set_config(arg);
				break;
			case 'F':
				cf.fullname = arg;
				break;
			case 'N':
				o->notify = parse_notify(arg);
				break;
			case 'R':
				if (str_casecmp(arg, "full") == 0)
					o->ret = QFILE_RET_FULL;
				else if (str_casecmp(arg, "hdrs") == 0)
					o->ret = QFILE_RET_HDRS;
				else
					msg_warn("bad -R option value -- "
						 "ignored");
				break;
			case 'V':
				if (envid_ok(arg))
					o->envid = arg;
				else
					msg_warn("bad syntax in -V option "
						 "value -- ignored");
				break;
			case 'b':
				switch (arg[0]) {
				case 'm':
					o->mode = MODE_SEND;
					break;
				case 's':
					o->mode = MODE_SMTP;
					break;
				case 'p':
					o->mode = MODE_LIST;
					break;
				case 'i':
					o->mode = MODE_ALIASES;
					break;
				case 'd': /* as Postfix: "postfix start" */
				case 'D':
					o->mode = MODE_START;
					break;
				default:
					die(EX_TEMPFAIL, "unsupported: -b%s",
					    arg);
				}
				break;
			case 'f':
			case 'r':
				o->sender = arg;
				break;
			case 'o':
				if (arg[0] == 'i')
					o->ignore_dots = 1;
				else if (arg[0] == '7')
					o->body = QFILE_BODY_7BIT;
				else if (arg[0] == '8')
					o->body = QFILE_BODY_8BITMIME;
				break; /* other -oX: ignored, as Postfix */
			case 'I':
				o->mode = MODE_ALIASES;
				break;
			case 'i':
				o->ignore_dots = 1;
				break;
			case 't':
				o->extract = 1;
				break;
			case 'v':
				msg_verbose++;
				break;
			case 'G': /* gateway submission */
			case 'U': /* initial user submission */
			case 'm': /* me too */
			case 'n': /* no aliasing */
			case 'x':
			case 'L': /* syslog label */
			case 'O': /* option=value */
			case 'X': /* traffic log */
			case 'e': /* error mode */
			case 'h': /* hop count */
			case 'p': /* protocol */
				break;
			default:
				qtool_bad_option(c);
				die(EX_TEMPFAIL, "usage: sendmail [options]");
			}
			if (arg)
				break; /* the rest of this word was the arg */
		}
	}
	return i;
}

static void load_config(void)
{
	struct passwd *pw;
	const char *name;

	qtool_config(NULL);
	cf.myorigin = conf_get("myorigin");
	cf.myhostname = conf_get("myhostname");
	cf.queue_dir = qtool_queue_dir();
	cf.size_limit = (uint64_t)conf_get_int("message_size_limit");
	cf.header_limit = (size_t)conf_get_int("header_size_limit");
	if (cf.header_limit < 1024)
		cf.header_limit = 1024;
	cf.dup_limit = (size_t)conf_get_int("duplicate_filter_limit");
	cf.rcpt_limit = (size_t)conf_get_int("smtpd_recipient_limit");
	cf.smtputf8 = conf_get_bool("smtputf8_enable");
	cf.uid = getuid();
	if ((pw = getpwuid(cf.uid)) == NULL)
		die(EX_TEMPFAIL, "no login name found for user ID %lu",
		    (unsigned long)cf.uid);
	cf.login = mem_strdup(pw->pw_name);
	if (cf.fullname == NULL && (name = getenv("NAME")) != NULL && *name)
		cf.fullname = name;
	if (cf.fullname == NULL && pw->pw_gecos && *pw->pw_gecos) {
		char *g = mem_strdup(pw->pw_gecos);

		g[strcspn(g, ",")] = 0;
		cf.fullname = g; /* lives until exit */
	}
}

int sendmail_main(int argc, char **argv)
{
	struct opts o;
	struct sm_msg m;
	int first;

	memset(&o, 0, sizeof(o));
	memset(&cf, 0, sizeof(cf));
	first = parse_opts(argc, argv, &o);
	switch (o.mode) {
	case MODE_LIST: {
		char *av[] = {"mailq", NULL};

		return mailq_main(1, av);
	}
	case MODE_ALIASES: {
		char *av[] = {"newaliases", NULL};

		return newaliases_main(1, av);
	}
	case MODE_START: {
		char *av[] = {"start", NULL};

		return master_main(1, av);
	}
	case MODE_FLUSH: {
		char *site = o.site ? mem_strdup(o.site) : NULL;
		char *av[] = {"postqueue", site ? "-s" : "-f", site, NULL};
		int status = postqueue_main(site ? 3 : 2, av);

		mem_free(site);
		return status;
	}
	default:
		break;
	}
	load_config();
	if (o.mode == MODE_SMTP)
		return smtp_session();

	msg_init(&m);
	if (o.sender) {
		const char *s = o.sender;
		size_t len = strlen(s);

		if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
			s++;
			len -= 2;
		}
		if (len > 0 && !addr_ok(s, len))
			die(EX_TEMPFAIL, "bad sender address syntax: %s",
			    o.sender);
		m.sender = len ? qualify(s, len) : mem_strdup("");
		m.saved_sender = o.sender;
	} else {
		m.sender = qualify(cf.login, strlen(cf.login));
		m.saved_sender = cf.login;
	}
	m.extract = o.extract;
	m.notify = o.notify;
	m.ret = o.ret;
	m.body = o.body;
	if (o.envid) {
		struct buf x;

		buf_init(&x, 4 * ENVID_MAX);
		smtp_xtext_encode(&x, o.envid, strlen(o.envid));
		m.envid = mem_strdup(buf_str(&x));
		buf_free(&x);
	}
	for (int i = first; i < argc; i++) {
		int rc = submit_addr_list(argv[i], strlen(argv[i]), add_listed,
					  &m);

		if (rc == -2)
			die(EX_TEMPFAIL, "too many recipients");
		if (rc < 0)
			die(EX_TEMPFAIL, "bad recipient address syntax: %s",
			    argv[i]);
	}
	if (m.nrcpt == 0 && !m.extract)
		die(EX_TEMPFAIL,
		    "%s(%ld): Recipient addresses must be specified "
		    "on the command line or via the -t option",
		    who(&m), (long)cf.uid);
	send_stdin(&m, o.ignore_dots);
	msg_free(&m);
	return 0;
}
