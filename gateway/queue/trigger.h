/* trigger - requests to qmgr through the FIFO queue_directory/public/qmgr.
 *
 * Any process (smtpd, sendmail, postqueue, postsuper) writes one request
 * as one line of at most TRIGGER_MAX bytes in a single write(2), which
 * the FIFO keeps whole (PIPE_BUF). Requests are hints: qmgr also scans
 * its queues at start and on its own timers, so a lost request delays
 * mail but never loses it.
 *
 *   "I\n"          incoming/ has new messages (smtpd after a commit batch)
 *   "M\n"          maildrop/ has new files (sendmail)
 *   "F\n"          flush: retry every deferred message now (postqueue -f)
 *   "S domain\n"   retry deferred messages with a recipient in domain now
 *                  (postqueue -s, ETRN); domain is lower case, no spaces
 *   "R\n"          queue files changed under qmgr (postsuper): rescan
 *
 * qmgr parses with trigger_parse(), a pure function; anything else is
 * ignored with a warning. */
#ifndef MAILGW_QUEUE_TRIGGER_H
#define MAILGW_QUEUE_TRIGGER_H

#include <stddef.h>

#define TRIGGER_MAX 300

enum trigger_req {
	TRIGGER_NONE = 0,
	TRIGGER_INCOMING,
	TRIGGER_MAILDROP,
	TRIGGER_FLUSH,
	TRIGGER_SITE,
	TRIGGER_RESCAN,
};

/* Send one request (req without the newline, e.g. "I" or "S example.com")
 * to the qmgr FIFO under queue_dir without blocking. 0 when written;
 * -ENXIO when no qmgr is reading (mailgw not running); -EAGAIN when the
 * FIFO is full (qmgr has requests pending, which is as good); other
 * -errno. */
int trigger_send(const char *queue_dir, const char *req);
/* The same in two steps, for a sender that keeps the FIFO open (smtpd's
 * queue writer, one request per commit batch): trigger_open() returns a
 * descriptor or -errno as above; trigger_write() returns 0 or -errno;
 * -EPIPE means the reading qmgr went away: close and open again. */
int trigger_open(const char *queue_dir);
int trigger_write(int fd, const char *req);

/* Parse the requests in p[0..n) (whole lines only). For each one call fn;
 * arg for TRIGGER_SITE is the domain, NUL-terminated in a caller-invisible
 * scratch (valid during the call), else NULL. Returns the number of bytes
 * consumed (whole lines); the caller keeps the rest for the next read. A
 * line longer than TRIGGER_MAX is skipped whole. */
size_t trigger_parse(const char *p, size_t n,
		     void (*fn)(enum trigger_req req, const char *arg,
				void *ctx),
		     void *ctx);

#endif
