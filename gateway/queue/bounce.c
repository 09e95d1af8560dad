/* bounce - RFC 3464 delivery status notifications (see bounce.h). */
#include "queue/bounce.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "queue/spool.h"

static void put_date(struct buf *out, int64_t t)
{
	char s[64];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(s, sizeof s, "%a, %d %b %Y %H:%M:%S +0000 (UTC)", &tm);
	buf_puts(out, s);
}

/* Text values from the queue file may hold any byte: keep header lines
 * printable ASCII so the report stays well-formed. */
static void put_safe(struct buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		buf_putc(out, c >= 0x20 && c < 0x7f ? c : '?');
	}
}

/* The outcome text of a remote reply is "host NAME[ADDR] said: REPLY (in
 * reply to CMD command)" (deliver/smtp.c). As Postfix, the report names
 * that MTA (Remote-MTA: dns; NAME) and gives the reply itself as the
 * Diagnostic-Code; any other text (a local reason) is the code as is. */
static void put_remote(struct buf *out, const char *t, size_t n)
{
	static const char said[] = " said: ", inreply[] = " (in reply to ";
	const char *end = t + n, *host, *br, *s = NULL;

	if (n > 5 && memcmp(t, "host ", 5) == 0) {
		host = t + 5;
		for (const char *p = host; p + sizeof(said) - 1 <= end; p++)
			if (memcmp(p, said, sizeof(said) - 1) == 0) {
				s = p;
				break;
			}
		br = s ? memchr(host, '[', (size_t)(s - host)) : NULL;
		if (s && br && br > host) {
			const char *reply = s + sizeof(said) - 1, *rend = end;

			for (const char *p = reply;
			     p + sizeof(inreply) - 1 <= end; p++)
				if (memcmp(p, inreply, sizeof(inreply) - 1) ==
				    0)
					rend = p;
			buf_puts(out, "Remote-MTA: dns; ");
			put_safe(out, host, (size_t)(br - host));
			buf_puts(out, "\r\nDiagnostic-Code: smtp; ");
			put_safe(out, reply, (size_t)(rend - reply));
			buf_puts(out, "\r\n");
			return;
		}
	}
	buf_puts(out, "Diagnostic-Code: X-Postfix; ");
	put_safe(out, t, n);
	buf_puts(out, "\r\n");
}

/* End of the header section of the content: offset just past the blank
 * line, or len when there is none. Bounded by len. */
static size_t header_end(const unsigned char *c, size_t len)
{
	if (len >= 2 && c[0] == '\r' && c[1] == '\n')
		return 2;
	for (size_t i = 0; i + 3 < len; i++)
		if (c[i] == '\r' && c[i + 1] == '\n' && c[i + 2] == '\r' &&
		    c[i + 3] == '\n')
			return i + 4;
	return len;
}

/* Success: mailgw's success path is relaying over SMTP, and the agent
 * passes NOTIFY on only to a next hop that offers DSN; without DSN there
 * Postfix reports "relayed" (RFC 3464 2.3.3). */
static const char *action_name(enum bounce_kind k)
{
	return k == BOUNCE_FAILED    ? "failed"
	       : k == BOUNCE_DELAYED ? "delayed"
				     : "relayed";
}

int bounce_build(struct buf *out, const struct bounce_info *bi,
		 const struct qfile_msg *msg, const unsigned char *file)
{
	static const char hashes[] = "#################################"
				     "###################################";
	char boundary[128];
	snprintf(boundary, sizeof boundary, "%s.%lld/%s", bi->qid,
		 (long long)bi->now, bi->hostname);
	const char *subject = bi->kind == BOUNCE_FAILED
				      ? "Undelivered Mail Returned to Sender"
			      : bi->kind == BOUNCE_DELAYED
				      ? "Delayed Mail (still being retried)"
				      : "Successful Mail Delivery Report";
	const char *desc = bi->kind == BOUNCE_FAILED    ? "Notification"
			   : bi->kind == BOUNCE_DELAYED ? "Delay notification"
							: "Notification";
	buf_printf(out, "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n",
		   bi->hostname);
	buf_printf(out, "Subject: %s\r\nTo: ", subject);
	put_safe(out, bi->to, strlen(bi->to));
	buf_puts(out, "\r\nAuto-Submitted: auto-replied\r\nDate: ");
	put_date(out, bi->now);
	buf_printf(out, "\r\nMessage-Id: <%s>\r\n", bi->msgid);
	buf_printf(out,
		   "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
		   "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n"
		   "Content-Transfer-Encoding: 8bit\r\n\r\n"
		   "This is a MIME-encapsulated message.\r\n\r\n",
		   boundary);
	/* Part 1: the human text, word for word Postfix's built-in
	 * templates (bounce_templates.c; "postconf -b" shows them). */
	buf_printf(out,
		   "--%s\r\nContent-Description: %s\r\n"
		   "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		   "This is the mail system at host %s.\r\n\r\n",
		   boundary, desc, bi->hostname);
	if (bi->kind == BOUNCE_DELAYED)
		buf_printf(
			out,
			"%s\r\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO "
			"RESEND YOUR MESSAGE. #\r\n%s\r\n\r\n"
			"Your message could not be delivered for more than "
			"%lld hour(s).\r\nIt will be retried until it is "
			"%lld day(s) old.\r\n\r\n",
			hashes, hashes,
			(long long)(bi->delay_warning > 0
					    ? bi->delay_warning / 3600
					    : 0),
			(long long)(bi->queue_lifetime > 0
					    ? bi->queue_lifetime / 86400
					    : 0));
	if (bi->kind == BOUNCE_FAILED)
		buf_puts(out, "I'm sorry to have to inform you that your "
			      "message could not\r\nbe delivered to one or "
			      "more recipients. It's attached below.\r\n"
			      "\r\n");
	if (bi->kind == BOUNCE_DELIVERED)
		buf_puts(out, "Your message was successfully delivered to the "
			      "destination(s)\r\nlisted below. If the message "
			      "was delivered to mailbox you will\r\nreceive no "
			      "further notifications. Otherwise you may still "
			      "receive\r\nnotifications of mail delivery "
			      "errors from other systems.\r\n\r\n");
	else
		buf_puts(out, "For further assistance, please send mail to "
			      "postmaster.\r\n\r\nIf you do so, please "
			      "include this problem report. You can\r\ndelete "
			      "your own text from the attached returned "
			      "message.\r\n\r\n");
	buf_puts(out, "                   The mail system\r\n\r\n");
	for (size_t i = 0; i < msg->nrcpt; i++) {
		const struct qfile_rcpt *r = &msg->rcpt[i];
		if (!bi->which[i])
			continue;
		buf_putc(out, '<');
		put_safe(out, r->addr.p, r->addr.len);
		buf_puts(out, ">: ");
		put_safe(out, r->text.p, r->text.len);
		buf_puts(out, "\r\n");
	}
	/* Part 2: message/delivery-status. */
	buf_printf(out,
		   "\r\n--%s\r\nContent-Description: Delivery report\r\n"
		   "Content-Type: message/delivery-status\r\n\r\n"
		   "Reporting-MTA: dns; %s\r\nX-Postfix-Queue-ID: %s\r\n"
		   "X-Postfix-Sender: rfc822; ",
		   boundary, bi->hostname, bi->qid);
	put_safe(out, msg->sender.p, msg->sender.len);
	buf_puts(out, "\r\nArrival-Date: ");
	put_date(out, msg->arrival_sec);
	buf_puts(out, "\r\n");
	if (msg->envid.len) {
		buf_puts(out, "Original-Envelope-Id: ");
		put_safe(out, msg->envid.p, msg->envid.len);
		buf_puts(out, "\r\n");
	}
	for (size_t i = 0; i < msg->nrcpt; i++) {
		const struct qfile_rcpt *r = &msg->rcpt[i];
		if (!bi->which[i])
			continue;
		buf_puts(out, "\r\nFinal-Recipient: rfc822; ");
		put_safe(out, r->addr.p, r->addr.len);
		buf_puts(out, "\r\n");
		if (r->orcpt.len) {
			buf_puts(out, "Original-Recipient: ");
			/* ORCPT is "type;xtext": Postfix writes "type; xtext".
			 */
			const char *semi =
				memchr(r->orcpt.p, ';', r->orcpt.len);
			if (semi) {
				size_t k = (size_t)(semi - r->orcpt.p);
				put_safe(out, r->orcpt.p, k);
				buf_puts(out, "; ");
				put_safe(out, semi + 1, r->orcpt.len - k - 1);
			} else {
				put_safe(out, r->orcpt.p, r->orcpt.len);
			}
			buf_puts(out, "\r\n");
		}
		buf_printf(out,
			   "Action: %s\r\nStatus: ", action_name(bi->kind));
		if (r->dsn.len)
			put_safe(out, r->dsn.p, r->dsn.len);
		else
			buf_puts(out, bi->kind == BOUNCE_DELIVERED ? "2.0.0"
				      : bi->kind == BOUNCE_DELAYED ? "4.0.0"
								   : "5.0.0");
		buf_puts(out, "\r\n");
		if (r->text.len)
			put_remote(out, r->text.p, r->text.len);
	}
	/* Part 3: the original headers, or the whole message (RET=FULL). */
	const unsigned char *c = file + msg->content_off;
	size_t clen = msg->content_len;
	size_t hlen = header_end(c, clen);
	/* Without RET the whole message comes back, as Postfix does. */
	int full = msg->ret != QFILE_RET_HDRS && bi->kind == BOUNCE_FAILED;
	if (full && clen > bi->size_limit)
		full = 0;
	buf_printf(out,
		   "\r\n--%s\r\nContent-Description: %s\r\n"
		   "Content-Type: %s\r\n\r\n",
		   boundary,
		   full ? "Undelivered Message" : "Undelivered Message Headers",
		   full ? "message/rfc822" : "text/rfc822-headers");
	buf_append(out, c, full ? clen : hlen);
	if ((full ? clen : hlen) > 0) {
		const unsigned char *e = c + (full ? clen : hlen);
		if (e[-1] != '\n')
			buf_puts(out, "\r\n");
	}
	buf_printf(out, "\r\n--%s--\r\n", boundary);
	return buf_error(out) ? -1 : 0;
}

int queue_store(struct spool *sp, const char *sender,
		const char *const *rcpts, size_t nrcpt, const char *msgid,
		const void *content, size_t len, char newqid[QID_SIZE])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct qfile_rcpt *r = mem_zalloc((nrcpt ? nrcpt : 1) * sizeof(*r));
	for (size_t i = 0; i < nrcpt; i++) {
		r[i].addr.p = rcpts[i];
		r[i].addr.len = strlen(rcpts[i]);
	}
	struct qfile_msg m = {0};
	m.arrival_sec = ts.tv_sec;
	m.arrival_usec = ts.tv_nsec / 1000;
	m.protocol.p = "local";
	m.protocol.len = 5;
	if (sender) {
		m.sender.p = sender;
		m.sender.len = strlen(sender);
	}
	m.body = QFILE_BODY_8BITMIME;
	m.rcpt = r;
	m.nrcpt = nrcpt;
	struct buf b;
	buf_init(&b, len + QFILE_VALUE_MAX * 4 * (nrcpt + 1) + 4096);
	int rc = qfile_format(&b, &m, content, len);
	mem_free(r);
	if (rc < 0) {
		msg_warn("cannot format queue file: %s", qfile_strerror(rc));
		buf_free(&b);
		return -EINVAL;
	}
	struct spool_file f;
	rc = spool_file_new(sp, &f, m.arrival_sec, m.arrival_usec);
	if (rc == 0)
		rc = spool_file_write(&f, b.data, b.len);
	if (rc == 0)
		rc = spool_file_sync(&f);
	if (rc == 0)
		rc = spool_file_commit(sp, &f);
	if (rc == 0)
		rc = spool_sync_queue(sp, SPOOL_INCOMING);
	buf_free(&b);
	if (rc < 0) {
		spool_file_abort(sp, &f);
		msg_warn("cannot queue message: %s", strerror(-rc));
		return rc;
	}
	memcpy(newqid, f.qid, QID_SIZE);
	char prog[64];
	snprintf(prog, sizeof prog, "%s", log_program());
	log_set_program("cleanup");
	struct buf id;
	buf_init(&id, 1024);
	if (msgid && *msgid)
		log_escape_header(&id, msgid, strlen(msgid));
	msg_info("%s: message-id=%s", newqid, id.len ? buf_str(&id) : "<>");
	buf_free(&id);
	log_set_program(prog);
	return 0;
}

int bounce_queue(struct spool *sp, const char *sender, const char *rcpt,
		 const char *msgid, const void *content, size_t len,
		 char newqid[QID_SIZE])
{
	return queue_store(sp, sender, &rcpt, 1, msgid, content, len, newqid);
}

int bounce_send(struct spool *sp, struct bounce_info *bi,
		const struct qfile_msg *msg, const unsigned char *file)
{
	char msgid[256];
	static unsigned long seq;
	snprintf(msgid, sizeof msgid, "%lld.%s.%lu@%s", (long long)bi->now,
		 bi->qid, ++seq, bi->hostname);
	bi->msgid = msgid;
	struct buf b;
	buf_init(&b, bi->size_limit + msg->content_len / 1 + 1024 * 1024);
	if (bounce_build(&b, bi, msg, file) < 0) {
		buf_free(&b);
		msg_warn("%s: cannot build notification: too large", bi->qid);
		return -1;
	}
	char newqid[QID_SIZE];
	char idval[sizeof(msgid) + 2];
	snprintf(idval, sizeof idval, "<%s>", msgid);
	int rc = bounce_queue(sp, bi->from, bi->to, idval, b.data, b.len,
			      newqid);
	buf_free(&b);
	if (rc < 0)
		return -1;
	char prog[64];
	snprintf(prog, sizeof prog, "%s", log_program());
	log_set_program("bounce");
	msg_info("%s: sender %s: %s", bi->qid,
		 bi->kind == BOUNCE_FAILED    ? "non-delivery notification"
		 : bi->kind == BOUNCE_DELAYED ? "delay notification"
					      : "delivery status notification",
		 newqid);
	log_set_program(prog);
	return 0;
}
