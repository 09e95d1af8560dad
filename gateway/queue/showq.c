/* showq - list the queue as Postfix's mailq/postqueue do (see showq.h).
 *
 * Reads queue files with the pure qfile parser; the maildrop files are
 * local users' input, which is only parsed, never acted on, here. */
#include "queue/showq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "queue/layout.h"
#include "queue/qfile.h"
#include "queue/qid.h"

/* Postfix's long queue ID layout (showq_compat.c). */
#define L_STRING_FORMAT "%-17s %8s %-19s %s\n"
#define L_SENDER_FORMAT "%-17s %8llu %19.19s %s\n"
#define REASON_WIDTH    76

/* Postfix's printable(): control bytes shown as '?'. */
static void put_printable(struct buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		buf_putc(out, c < 32 || c == 127 ? '?' : c);
	}
}

static char *printable_dup(const char *p, size_t n)
{
	struct buf b;
	char *s;

	buf_init(&b, n + 1);
	put_printable(&b, p, n);
	s = mem_strdup(buf_str(&b));
	buf_free(&b);
	return s;
}

int showq_format_text(struct buf *out, const struct showq_msg *m, int first,
		      const char *empty_addr)
{
	char id[SHOWQ_NAME_MAX + 4], when[32];
	const char *prev = NULL;
	size_t prev_len = 0;
	time_t t = (time_t)m->arrival;
	struct tm tm;
	char *sender;

	if (first)
		buf_printf(out, L_STRING_FORMAT, "----Queue ID-----",
			   "--Size--", "---Arrival Time----",
			   "--Sender/Recipient------");
	else
		buf_putc(out, '\n');
	snprintf(id, sizeof(id), "%s%s", m->id,
		 strcmp(m->queue, "active") == 0 ? "*"
		 : strcmp(m->queue, "hold") == 0 ? "!"
						 : "");
	if (localtime_r(&t, &tm) == NULL || asctime_r(&tm, when) == NULL)
		snprintf(when, sizeof(when), "%lld", (long long)m->arrival);
	sender = m->sender_len ? printable_dup(m->sender, m->sender_len)
			       : mem_strdup(empty_addr);
	buf_printf(out, L_SENDER_FORMAT, id, (unsigned long long)m->size, when,
		   sender);
	mem_free(sender);
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct showq_rcpt *r = &m->rcpt[i];
		char *addr;

		/* A "(reason)" line whenever the reason changes; "reason
		 * unavailable" after one that had a reason. */
		if (r->reason_len != prev_len ||
		    (prev_len && memcmp(r->reason, prev, prev_len) != 0)) {
			const char *show = r->reason_len ? r->reason
							 : "reason unavailable";
			size_t len =
				r->reason_len ? r->reason_len : strlen(show);
			int pad = REASON_WIDTH - (int)len;

			buf_printf(out, "%*s(", pad < 0 ? 0 : pad, "");
			put_printable(out, show, len);
			buf_puts(out, ")\n");
			prev = r->reason;
			prev_len = r->reason_len;
		}
		addr = r->addr_len ? printable_dup(r->addr, r->addr_len)
				   : mem_strdup(empty_addr);
		buf_printf(out, L_STRING_FORMAT, "", "", "", addr);
		mem_free(addr);
	}
	return buf_error(out);
}

int showq_format_summary(struct buf *out, size_t count, uint64_t bytes)
{
	if (count == 0)
		return buf_puts(out, "Mail queue is empty\n");
	return buf_printf(out, "\n-- %llu Kbytes in %zu Request%s.\n",
			  (unsigned long long)(bytes / 1024), count,
			  count == 1 ? "" : "s");
}

/* JSON string contents, as Postfix's quote_for_json(). */
static void put_json(struct buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		switch (c) {
		case '"':
			buf_puts(out, "\\\"");
			break;
		case '\\':
			buf_puts(out, "\\\\");
			break;
		case '\b':
			buf_puts(out, "\\b");
			break;
		case '\f':
			buf_puts(out, "\\f");
			break;
		case '\n':
			buf_puts(out, "\\n");
			break;
		case '\r':
			buf_puts(out, "\\r");
			break;
		case '\t':
			buf_puts(out, "\\t");
			break;
		default:
			if (c < 32 || c == 127)
				buf_printf(out, "\\u%04x", c);
			else
				buf_putc(out, c);
		}
	}
}

int showq_format_json(struct buf *out, const struct showq_msg *m,
		      const char *empty_addr)
{
	buf_puts(out, "{\"queue_name\": \"");
	put_json(out, m->queue, strlen(m->queue));
	buf_puts(out, "\", \"queue_id\": \"");
	put_json(out, m->id, strlen(m->id));
	buf_printf(out,
		   "\", \"arrival_time\": %lld, \"message_size\": %llu, "
		   "\"forced_expire\": false, \"sender\": \"",
		   (long long)m->arrival, (unsigned long long)m->size);
	if (m->sender_len)
		put_json(out, m->sender, m->sender_len);
	else
		put_json(out, empty_addr, strlen(empty_addr));
	buf_puts(out, "\", \"recipients\": [");
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct showq_rcpt *r = &m->rcpt[i];

		buf_puts(out, i ? ", {\"address\": \"" : "{\"address\": \"");
		if (r->addr_len)
			put_json(out, r->addr, r->addr_len);
		else
			put_json(out, empty_addr, strlen(empty_addr));
		buf_putc(out, '"');
		if (r->reason_len) {
			buf_puts(out, ", \"delay_reason\": \"");
			put_json(out, r->reason, r->reason_len);
			buf_putc(out, '"');
		}
		buf_putc(out, '}');
	}
	return buf_puts(out, "]}\n");
}

/* ---- the walk ---- */

struct names {
	char **v;
	size_t n, cap;
};

static void names_add(struct names *ns, const char *name)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 64;
		ns->v = mem_realloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	ns->v[ns->n++] = mem_strdup(name);
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		mem_free(ns->v[i]);
	mem_free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(const char *qid, void *arg)
{
	names_add(arg, qid);
	return 0;
}

/* Report one open queue file; 0 when it was skipped. */
static int report(int fd, const char *queue, const char *id,
		  int (*fn)(const struct showq_msg *, void *), void *arg)
{
	struct qfile_msg qm;
	struct showq_msg m;
	struct showq_rcpt *r;
	const void *p;
	size_t n, k = 0;
	int rc;

	if (spool_map(fd, &p, &n) < 0)
		return 0;
	memset(&qm, 0, sizeof(qm));
	rc = qfile_parse(&qm, p, n);
	if (rc < 0) {
		msg_warn("%s/%s: %s", queue, id, qfile_strerror(rc));
		spool_unmap(p, n);
		return 0;
	}
	r = mem_zalloc((qm.nrcpt ? qm.nrcpt : 1) * sizeof(*r));
	/* Deferred recipients first, as Postfix lists its defer log. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < qm.nrcpt; i++) {
			const struct qfile_rcpt *q = &qm.rcpt[i];

			if (q->state != QFILE_RCPT_TODO ||
			    (pass == 0) != (q->text.len > 0))
				continue;
			r[k].addr = q->addr.p;
			r[k].addr_len = q->addr.len;
			r[k].reason = q->text.p;
			r[k].reason_len = q->text.len;
			k++;
		}
	/* the H record is the truth; hold/ follows it (smtpd's HOLD is
	 * in incoming/ until qmgr moves it) */
	m.queue = qm.hold ? "hold" : queue;
	m.id = id;
	m.arrival = qm.arrival_sec;
	/* Postfix shows a maildrop file's size, else the message size. */
	m.size = strcmp(queue, LAYOUT_MAILDROP) == 0 ? n : qm.content_len;
	m.sender = qm.sender.p;
	m.sender_len = qm.sender.len;
	m.rcpt = r;
	m.nrcpt = k;
	rc = fn(&m, arg);
	mem_free(r);
	qfile_msg_free(&qm);
	spool_unmap(p, n);
	return rc;
}

/* maildrop/: files named by sendmail, readable by root and mail_owner. */
static int walk_maildrop(struct spool *sp,
			 int (*fn)(const struct showq_msg *, void *), void *arg)
{
	struct names ns = {0};
	struct dirent *de;
	DIR *d;
	int dfd, rc = 0;

	dfd = openat(sp->root_fd, LAYOUT_MAILDROP,
		     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0; /* not ours to read: list the rest */
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strlen(de->d_name) < SHOWQ_NAME_MAX)
			names_add(&ns, de->d_name);
	if (ns.n)
		qsort(ns.v, ns.n, sizeof(*ns.v), name_cmp);
	for (size_t i = 0; i < ns.n && rc == 0; i++) {
		struct stat st;
		int fd = openat(dirfd(d), ns.v[i],
				O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0)
			continue;
		/* As pickup: a regular file with one link (not a user's
		 * hard link to a file of someone else). */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1)
			rc = report(fd, LAYOUT_MAILDROP, ns.v[i], fn, arg);
		close(fd);
	}
	closedir(d);
	names_free(&ns);
	return rc;
}

int showq_walk(struct spool *sp,
	       int (*fn)(const struct showq_msg *m, void *arg), void *arg)
{
	static const enum spool_queue order[] = {SPOOL_ACTIVE, SPOOL_INCOMING,
						 SPOOL_DEFERRED, SPOOL_HOLD};
	int rc = walk_maildrop(sp, fn, arg);

	for (size_t q = 0; q < sizeof(order) / sizeof(order[0]) && rc == 0;
	     q++) {
		struct names ns = {0};

		rc = spool_list(sp, order[q], collect, &ns);
		if (ns.n)
			qsort(ns.v, ns.n, sizeof(*ns.v), name_cmp);
		for (size_t i = 0; i < ns.n && rc == 0; i++) {
			int fd = spool_open_message(sp, order[q], ns.v[i], 0);

			if (fd < 0)
				continue; /* moved or removed meanwhile */
			rc = report(fd, spool_queue_name(order[q]), ns.v[i], fn,
				    arg);
			close(fd);
		}
		names_free(&ns);
	}
	return rc;
}

struct print_ctx {
	int json;
	const char *empty_addr;
	size_t count;
	uint64_t bytes;
	struct buf out;
};

static int flush_out(struct buf *out)
{
	size_t n = buf_len(out);

	if (n && fwrite(buf_str(out), 1, n, stdout) != n)
		return -EIO;
	buf_reset(out);
	return 0;
}

static int print_one(const struct showq_msg *m, void *arg)
{
	struct print_ctx *pc = arg;

	if (pc->json)
		showq_format_json(&pc->out, m, pc->empty_addr);
	else
		showq_format_text(&pc->out, m, pc->count == 0, pc->empty_addr);
	pc->count++;
	pc->bytes += m->size;
	if (buf_error(&pc->out)) {
		/* One message's listing over the buffer: say so, go on. */
		buf_reset(&pc->out);
		msg_warn("%s: listing too long, not shown", m->id);
	}
	return flush_out(&pc->out);
}

int showq_print(struct spool *sp, int json)
{
	struct print_ctx pc = {0};
	const char *empty = conf_get("empty_address_recipient");
	int rc;

	pc.json = json;
	pc.empty_addr = empty && *empty ? empty : "MAILER-DAEMON";
	buf_init(&pc.out, 64 * 1024 * 1024);
	rc = showq_walk(sp, print_one, &pc);
	if (rc == 0 && !json) {
		showq_format_summary(&pc.out, pc.count, pc.bytes);
		rc = flush_out(&pc.out);
	}
	buf_free(&pc.out);
	if (rc == 0 && fflush(stdout) != 0 && errno != EPIPE)
		rc = -EIO;
	if (rc == -EIO) {
		msg_warn("output write error: %s", strerror(errno));
		return EX_IOERR;
	}
	if (rc < 0) {
		msg_warn("cannot read the queue: %s", strerror(-rc));
		return EX_UNAVAILABLE;
	}
	return 0;
}
