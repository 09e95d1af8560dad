/* qlist - one line of `postqueue -j` (Postfix's JSON queue listing) for
 * the web UI's queue page, and the maillog counters of the dashboard.
 *
 * Pure functions over bytes with explicit lengths.
 *
 * qlist_parse reads one JSON object (RFC 8259) with the fields postqueue -j
 * writes: queue_name, queue_id, arrival_time, message_size, sender and
 * recipients [{address, delay_reason}]; other fields are skipped. Strings
 * are unescaped (\uXXXX to UTF-8; a NUL or surrogate is refused). Nesting
 * is bounded by QLIST_DEPTH_MAX.
 *
 * logstat_line counts one maillog line of the day given ("Mmm dd", as the
 * log writes it) into today's counters: accepted (a cleanup message-id
 * line for SMTP, a pickup uid= line for sendmail: once per message), rejected
 * (NOQUEUE: reject / reject:), delivered (status=sent), deferred
 * (status=deferred), bounced (status=bounced). */
#ifndef MAILGW_WEBUI_QLIST_H
#define MAILGW_WEBUI_QLIST_H

#include <stddef.h>

#include "core/buf.h"

#define QLIST_DEPTH_MAX 8
#define QLIST_RCPT_MAX  1000

struct qlist_msg {
	struct buf queue, id, sender, rcpts, reason; /* rcpts: ", "-joined */
	long long arrival, size;
	unsigned nrcpt;
};

void qlist_msg_init(struct qlist_msg *m);
void qlist_msg_free(struct qlist_msg *m);
/* qlist_parse - 0 with m filled (reset first), -1 on malformed JSON. */
int qlist_parse(const char *s, size_t n, struct qlist_msg *m);

struct logstat {
	unsigned long accepted, rejected, delivered, deferred, bounced;
};

/* logstat_line - count line[0..n) when it starts with today (6 bytes,
 * "Nov  5" or "Nov 29"). */
void logstat_line(const char *line, size_t n, const char today[6],
		  struct logstat *st);

#endif
