/* bounce - RFC 3464 delivery status notifications, as Postfix's bounce(8).
 *
 * bounce_build() is a pure function: it turns a parsed queue file (and
 * which recipients to report) into the bytes of a multipart/report message
 * in canonical CRLF form. bounce_queue() stores such a message as a new
 * queue file with a null sender (spool.h commit protocol) and logs as
 * Postfix's bounce and cleanup do. */
#ifndef MAILGW_QUEUE_BOUNCE_H
#define MAILGW_QUEUE_BOUNCE_H
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "queue/qfile.h"
#include "queue/qid.h"

struct spool;

enum bounce_kind {
	BOUNCE_FAILED = 0, /* non-delivery notification */
	BOUNCE_DELAYED,    /* delay warning */
	BOUNCE_DELIVERED,  /* success notification (NOTIFY=SUCCESS) */
};

struct bounce_info {
	enum bounce_kind kind;
	const char *qid;       /* the original message's queue ID */
	const char *hostname;  /* myhostname */
	const char *mail_name; /* unused by the text: Postfix's built-in
				  templates sign "The mail system" */
	const char *to;        /* recipient of the report (the sender) */
	const char *from;      /* envelope sender of the report: NULL for
				  <>, double-bounce@host for a report to the
				  postmaster about a failed report */
	const char *msgid;     /* Message-ID to use, without <> */
	int64_t now;           /* Date: */
	size_t size_limit;     /* bounce_size_limit, for RET=FULL */
	/* For the delay warning's text, in seconds: delay_warning_time and
	 * maximal_queue_lifetime (shown in whole hours and days, rounded
	 * down, as Postfix's $delay_warning_time_hours and
	 * $maximal_queue_lifetime_days). */
	int64_t delay_warning;
	int64_t queue_lifetime;
	/* For each recipient of msg: 1 when it belongs in the report. */
	const unsigned char *which;
};

/* Append the whole report message to out. file/msg: the original queue
 * file and its parse. 0, or -1 when out is full. */
int bounce_build(struct buf *out, const struct bounce_info *bi,
		 const struct qfile_msg *msg, const unsigned char *file);

/* Store content (canonical CRLF) as a new message from sender (NULL: <>)
 * to rcpts[0..nrcpt), durable before it returns, and log cleanup's
 * "NEWQID: message-id=MSGID" line; msgid is the Message-ID field's value
 * as found (untrusted: unfolded and escaped for the log by
 * log_escape_header(); NULL or empty: "<>"); newqid gets its queue ID.
 * 0 or -errno (logged). [blocks] */
int queue_store(struct spool *sp, const char *sender,
		const char *const *rcpts, size_t nrcpt, const char *msgid,
		const void *content, size_t len, char newqid[QID_SIZE]);

/* Store content as a new message from sender (NULL: <>) to rcpt, msgid
 * as for queue_store(); newqid gets its queue ID. 0 or -errno (logged).
 * [blocks] */
int bounce_queue(struct spool *sp, const char *sender, const char *rcpt,
		 const char *msgid, const void *content, size_t len,
		 char newqid[QID_SIZE]);

/* Build and queue a report about msg for bi->to; log as Postfix's bounce
 * ("QID: sender non-delivery notification: NEWQID"). 0 or -1. */
int bounce_send(struct spool *sp, struct bounce_info *bi,
		const struct qfile_msg *msg, const unsigned char *file);

#endif
