/* showq - the queue listing of mailq / postqueue -p / postqueue -j.
 *
 * The walk reads the spool directly (spool.h, qfile.h): the maildrop/
 * (when readable), active/, incoming/, deferred/ and hold/ queues in
 * Postfix's showq order, each in queue ID (arrival) order. A file that
 * disappears during the walk (qmgr moved or removed it) is skipped; a file
 * that does not parse is skipped with a warning. It needs read access to
 * the queue directories: root or mail_owner (a showq service for other
 * users is future work).
 *
 * The formatters are pure and produce Postfix's output byte for byte:
 *   text  showq_compat.c's long-queue-ID layout ("%-17s %8s %-19s %s"),
 *         '*' after the ID for active/, '!' for hold/, the deferral reason
 *         right-aligned in parentheses above the recipients it applies to,
 *         a blank line between messages and "-- N Kbytes in M Requests."
 *         or "Mail queue is empty" at the end;
 *   json  one object per message per line with Postfix's field names
 *         (queue_name, queue_id, arrival_time, message_size,
 *         forced_expire, sender, recipients[address, delay_reason]).
 * Only recipients still to do are listed; those with a deferral reason
 * come first, as Postfix lists its defer log before the queue file. The
 * null sender shows as empty_address_recipient (MAILER-DAEMON). The size
 * is the message size (content bytes), or the file size for a maildrop
 * file, as in Postfix. The time
 * is local time, as asctime(localtime()). */
#ifndef MAILGW_QUEUE_SHOWQ_H
#define MAILGW_QUEUE_SHOWQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "queue/spool.h"

#define SHOWQ_NAME_MAX 64 /* a maildrop file name */

struct showq_rcpt {
	const char *addr;
	size_t addr_len;
	const char *reason; /* deferral reason; reason_len 0 for none */
	size_t reason_len;
};

struct showq_msg {
	const char *queue; /* "active", "hold"... */
	const char *id;    /* queue ID (maildrop: the file name) */
	int64_t arrival;   /* seconds since the epoch */
	uint64_t size;     /* content bytes (maildrop: file bytes) */
	const char *sender;
	size_t sender_len; /* 0: the null sender */
	const struct showq_rcpt *rcpt;
	size_t nrcpt;
};

/* Text form of one message; first: print the heading instead of the
 * blank line that separates messages. */
int showq_format_text(struct buf *out, const struct showq_msg *m, int first,
		      const char *empty_addr);
/* The last line(s) of the text form. */
int showq_format_summary(struct buf *out, size_t count, uint64_t bytes);
/* JSON form of one message, one line. */
int showq_format_json(struct buf *out, const struct showq_msg *m,
		      const char *empty_addr);

/* Call fn for every message in the queues (order above). A nonzero
 * return from fn stops the walk and is returned; else 0 or -errno when a
 * queue directory cannot be read. */
int showq_walk(struct spool *sp,
	       int (*fn)(const struct showq_msg *m, void *arg), void *arg);

/* The whole listing to stdout (json: postqueue -j). Returns the exit
 * status (0, or EX_IOERR on an output error). */
int showq_print(struct spool *sp, int json);

#endif
