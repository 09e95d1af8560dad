/* writer - the SMTP server's queue writer with group commit.
 *
 * A message is written as it arrives: qw_begin() creates the spool file
 * (spool.h step 1) and writes the envelope (qfile_writer_begin), qw_write()
 * stores content (buffered, written in large pieces), qw_finish() writes
 * the end record, patches the length and hands the file to the commit
 * thread. That thread runs spool_commit_batch() on every file finished
 * since its last batch (steps 3-5: fsync each file, rename each, fsync
 * incoming/ once), then calls loop_wakeup(); the loop, in the wakeup
 * callback, calls each message's done function with 0 (committed and
 * durable: answer 250) or -errno (answer 452 4.3.1) and sends "I" to qmgr
 * once per batch that committed anything. So N sessions share one
 * directory sync and the loop never blocks on the disk.
 *
 * qwriter_new() takes the loop's wakeup callback (loop_set_wakeup): a
 * process has one loop and the writer is its only helper thread.
 * Errors are sticky per message: after a failed write, qw_write() only
 * counts, and qw_finish() reports the first error through done. */
#ifndef MAILGW_QUEUE_WRITER_H
#define MAILGW_QUEUE_WRITER_H

#include <stddef.h>

#include "core/loop.h"
#include "queue/qfile.h"
#include "queue/qid.h"

#define QW_FLUSH_SIZE (64 * 1024) /* content buffered before a write */
#define QW_BUFS_KEPT  (8 * 1024 * 1024) /* write buffers kept while busy */
#define QW_BUFS_IDLE  (1024 * 1024)     /* ... and when idle */

struct qwriter;
struct qw_msg;

/* In loop context: result 0 (durable) or -errno; the message is freed
 * after the call. */
typedef void qw_done_fn(void *arg, int result, const char *qid);

/* Open the spool under queue_dir and start the commit thread. Returns 0
 * or -errno. */
int qwriter_new(struct loop *lp, const char *queue_dir, struct qwriter **out);
/* Wait for batches in flight (their done functions run), stop the
 * thread, close the spool. */
void qwriter_free(struct qwriter *w);
/* Messages submitted and not yet reported. */
size_t qwriter_pending(const struct qwriter *w);
/* Commit batches reported so far (each one directory sync): with N
 * sessions finishing together this stays well below N. */
size_t qwriter_batches(const struct qwriter *w);

/* Create the file and write the envelope. On error nothing is left. */
int qw_begin(struct qwriter *w, const struct qfile_msg *env,
	     struct qw_msg **out);
/* The same in two steps, for the SMTP server, which names the message
 * at the first accepted RCPT (as Postfix opens its queue file there) and
 * writes the envelope at DATA: qw_open() creates the file (qw_qid() is
 * valid from then on; arrival_* is the time the ID encodes, which
 * qw_envelope() stores whatever env says), qw_envelope() writes the
 * envelope once. On a qw_envelope() error the caller qw_abort()s. */
int qw_open(struct qwriter *w, int64_t arrival_sec, long arrival_usec,
	    struct qw_msg **out);
int qw_envelope(struct qw_msg *m, const struct qfile_msg *env);
const char *qw_qid(const struct qw_msg *m);
/* Store n content bytes (canonical unless BINARYMIME, qfile.h). Returns 0
 * or the message's first error (-errno, or -EINVAL for bad content). */
int qw_write(struct qw_msg *m, const void *p, size_t n);
int qw_error(const struct qw_msg *m);
/* The owner has no message in progress: give back the write buffers
 * kept beyond QW_BUFS_IDLE. */
void qwriter_trim(struct qwriter *w);
/* Access actions for qw_finish() (Postfix's cleanup records): put the
 * message on hold (an "H 1" record: qmgr moves it to hold/ and does not
 * deliver it), and route it through filter "transport:nexthop" (a
 * version 2 file, qfile.h). NULL or "" clears the filter. */
void qw_set_hold(struct qw_msg *m);
void qw_set_filter(struct qw_msg *m, const char *filter);
/* End the message and queue it for the next commit batch; done runs in
 * loop context later (never from inside this call). */
void qw_finish(struct qw_msg *m, qw_done_fn *done, void *arg);
/* The owner goes away while a finished message is being committed: the
 * message is still committed, but done is not called. */
void qw_detach(struct qw_msg *m);
/* Give up an unfinished message: remove the temporary file. */
void qw_abort(struct qw_msg *m);

#endif
