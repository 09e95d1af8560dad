/* postcat - show a queued message as Postfix's postcat(1) does.
 *
 * "postcat -q QID" looks the ID up in every queue (twice, since qmgr may
 * move the file meanwhile); "postcat FILE..." reads files, and no
 * argument reads stdin. Output sections and record names follow
 * Postfix's: "*** ENVELOPE RECORDS queue/QID ***" (message_size,
 * message_arrival_time, named attributes, sender, recipients), "*** MESSAGE
 * CONTENTS ... ***" (the content with LF line ends), "*** HEADER EXTRACTED
 * ... ***" (here: the state appended after delivery attempts) and "***
 * MESSAGE FILE END ... ***". -e, -h and -b select the envelope, the header
 * and the body (which starts with the empty line); the default is all
 * three. As in Postfix 3.7 the "***" labels come with -e only. Reading the
 * queue needs root or mail_owner. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "core/buf.h"
#include "core/log.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/qtool.h"
#include "queue/submit.h"

#define USAGE                                                                  \
	"usage: postcat [-b (body text)] [-c config_dir] [-e (envelope "       \
	"records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]"
#define PC_ENV    1
#define PC_HEADER 2
#define PC_BODY   4
#define STDIN_MAX (1024UL * 1024 * 1024)

static void put(const void *p, size_t n)
{
	if (n)
		fwrite(p, 1, n, stdout);
}

static void put_str(const char *label, const struct qfile_str *s)
{
	fputs(label, stdout);
	put(s->p, s->len);
	putchar('\n');
}

static void put_time(const char *label, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;
	char text[32];

	if (localtime_r(&t, &tm) && asctime_r(&tm, text))
		printf("%s: %s", label, text);
	else
		printf("%s: %lld\n", label, (long long)when);
}

/* Content with CRLF shown as LF, as Postfix stores lines. */
static void put_lines(const char *p, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n') {
			put(p + start, i - start);
			putchar('\n');
			start = i + 2;
			i++;
		}
	put(p + start, n - start);
}

static const char *notify_text(unsigned bits, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s",
		 bits & QFILE_NOTIFY_NEVER ? "NEVER " : "",
		 bits & QFILE_NOTIFY_SUCCESS ? "SUCCESS " : "",
		 bits & QFILE_NOTIFY_FAILURE ? "FAILURE " : "",
		 bits & QFILE_NOTIFY_DELAY ? "DELAY " : "");
	if (*out)
		out[strlen(out) - 1] = 0;
	return out;
}

static void envelope(const struct qfile_msg *m)
{
	static const char *body[] = {"", "7BIT", "8BITMIME", "BINARYMIME"};
	char flags[64];

	printf("message_size: %15zu %15zu %15zu %15d %15zu %15d\n",
	       m->content_len, m->content_off, m->nrcpt, 0, m->content_len,
	       m->smtputf8);
	put_time("message_arrival_time", m->arrival_sec);
	if (m->client_name.len)
		put_str("named_attribute: client_name=", &m->client_name);
	if (m->client_addr.len)
		put_str("named_attribute: client_address=", &m->client_addr);
	if (m->client_port.len)
		put_str("named_attribute: client_port=", &m->client_port);
	if (m->helo.len)
		put_str("named_attribute: helo_name=", &m->helo);
	if (m->protocol.len)
		put_str("named_attribute: protocol_name=", &m->protocol);
	if (m->sasl_user.len)
		put_str("named_attribute: sasl_username=", &m->sasl_user);
	if (m->body != QFILE_BODY_NONE)
		printf("named_attribute: encoding=%s\n", body[m->body]);
	if (m->envid.len)
		put_str("dsn_envid: ", &m->envid);
	if (m->ret != QFILE_RET_NONE)
		printf("dsn_ret_flags: %s\n",
		       m->ret == QFILE_RET_FULL ? "FULL" : "HDRS");
	put_str("sender: ", &m->sender);
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct qfile_rcpt *r = &m->rcpt[i];

		if (r->orcpt.len)
			put_str("dsn_orig_rcpt: ", &r->orcpt);
		if (r->notify)
			printf("dsn_notify_flags: %s\n",
			       notify_text(r->notify, flags, sizeof(flags)));
		put_str("recipient: ", &r->addr);
	}
}

static void state(const struct qfile_msg *m)
{
	static const char *states[] = {"todo",	  "sent", "bounced",
				       "discarded", "bounced", "sent"};

	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct qfile_rcpt *r = &m->rcpt[i];

		if (r->state != QFILE_RCPT_TODO) {
			fputs("done_recipient: ", stdout);
			put(r->addr.p, r->addr.len);
			printf(" (%s ", states[r->state]);
			put(r->dsn.p, r->dsn.len);
			putchar(' ');
			put(r->text.p, r->text.len);
			fputs(")\n", stdout);
		} else if (r->text.len) {
			fputs("defer_reason: ", stdout);
			put(r->addr.p, r->addr.len);
			fputs(": ", stdout);
			put(r->dsn.p, r->dsn.len);
			putchar(' ');
			put(r->text.p, r->text.len);
			putchar('\n');
		}
	}
	if (m->attempts)
		printf("delivery_attempts: %u\n", m->attempts);
	if (m->retry_after)
		put_time("retry_time", m->retry_after);
	if (m->warned)
		put_time("defer_warn_time", m->warned);
	if (m->hold)
		printf("hold: yes\n");
	if (m->filter.len) /* as Postfix's postcat shows a FILT record */
		put_str("content_filter: ", &m->filter);
}

static int postcat(const char *label, const void *p, size_t n, int flags)
{
	struct qfile_msg m;
	const char *content;
	size_t hlen;
	int rc, complete;

	memset(&m, 0, sizeof(m));
	if ((rc = qfile_parse(&m, p, n)) < 0) {
		/* As Postfix: a warning, and the exit status stays 0. */
		msg_warn("%s: input is not a valid queue file", label);
		msg_debug("%s: %s at byte %zu", label, qfile_strerror(rc),
			  m.err_off);
		return 0;
	}
	content = (const char *)p + m.content_off;
	hlen = submit_header_len(content, m.content_len, &complete);
	if (flags & PC_ENV) {
		printf("*** ENVELOPE RECORDS %s ***\n", label);
		envelope(&m);
	}
	/* As Postfix: the section labels come with the envelope only. */
	if (flags & PC_ENV)
		printf("*** MESSAGE CONTENTS %s ***\n", label);
	if (flags & PC_HEADER)
		put_lines(content, hlen);
	if (flags & PC_BODY)
		put_lines(content + hlen, m.content_len - hlen);
	if (flags & PC_ENV) {
		printf("*** HEADER EXTRACTED %s ***\n", label);
		state(&m);
		printf("*** MESSAGE FILE END %s ***\n", label);
	}
	qfile_msg_free(&m);
	fflush(stdout);
	return 0;
}

static int postcat_fd(const char *label, int fd, int flags)
{
	const void *p;
	size_t n;
	int rc = spool_map(fd, &p, &n);

	if (rc < 0)
		qtool_fatal(1, "read %s: %s", label, strerror(-rc));
	rc = postcat(label, p, n, flags);
	spool_unmap(p, n);
	return rc;
}

static int postcat_stdin(int flags)
{
	struct buf in;
	char chunk[65536];
	ssize_t r;
	int rc;

	buf_init(&in, STDIN_MAX);
	while ((r = read(0, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || buf_append(&in, chunk, (size_t)r) != 0)
			qtool_fatal(1, "read stdin: %s",
				    r < 0 ? strerror(errno) : "too large");
	}
	rc = postcat("stdin", buf_str(&in), buf_len(&in), flags);
	buf_free(&in);
	return rc;
}

static int postcat_queue(struct spool *sp, const char *qid, int flags)
{
	static const enum spool_queue order[] = {SPOOL_INCOMING, SPOOL_ACTIVE,
						 SPOOL_DEFERRED, SPOOL_HOLD,
						 SPOOL_CORRUPT};
	char label[64 + QTOOL_MAILDROP_MAX];

	if (!qid_valid(qid) && qtool_maildrop_name(qid)) {
		int fd = qtool_maildrop_open(sp, qid), rc;

		if (fd < 0)
			qtool_fatal(1, "open queue file %s: %s", qid,
				    strerror(-fd));
		snprintf(label, sizeof(label), "maildrop/%s", qid);
		rc = postcat_fd(label, fd, flags);
		close(fd);
		return rc;
	}
	if (!qid_valid(qid))
		qtool_fatal(1, "bad mail queue ID: %s", qid);
	for (int tries = 0; tries < 2; tries++)
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			int fd = spool_open_message(sp, order[i], qid, 0), rc;

			if (fd < 0)
				continue;
			snprintf(label, sizeof(label), "%s/%s",
				 spool_queue_name(order[i]), qid);
			rc = postcat_fd(label, fd, flags);
			close(fd);
			return rc;
		}
	qtool_fatal(1, "open queue file %s: %s", qid, strerror(ENOENT));
}

int postcat_main(int argc, char **argv)
{
	int flags = 0, queue = 0, c, status = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+bc:ehqv")) != -1) {
		switch (c) {
		case 'b':
			flags |= PC_BODY;
			break;
		case 'c':
			qtool_config_dir(optarg);
			break;
		case 'e':
			flags |= PC_ENV;
			break;
		case 'h':
			flags |= PC_HEADER;
			break;
		case 'q':
			queue = 1;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			qtool_bad_option(optopt);
			qtool_fatal(1, "%s", USAGE);
		}
	}
	if (flags == 0)
		flags = PC_ENV | PC_HEADER | PC_BODY;
	qtool_config(NULL);
	if (optind == argc) {
		if (queue)
			qtool_fatal(1, "%s", USAGE);
		return postcat_stdin(flags);
	}
	if (queue) {
		struct spool sp;

		qtool_spool_open(&sp, "postcat", 1);
		for (int i = optind; i < argc; i++)
			status |= postcat_queue(&sp, argv[i], flags);
		spool_close(&sp);
		return status;
	}
	for (int i = optind; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			qtool_fatal(1, "open %s: %s", argv[i], strerror(errno));
		status |= postcat_fd(argv[i], fd, flags);
		close(fd);
	}
	return status;
}
