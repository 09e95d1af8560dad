/* spool - the queue directories on disk (DESIGN.md "The queue").
 *
 * One file per message, named by its queue ID (qid.h), in one of the queue
 * directories under queue_directory: incoming/, active/, deferred/, hold/,
 * corrupt/. All of them on one file system (moves are renames).
 *
 * Writing a new message (the commit protocol):
 *   1. spool_file_new()     create incoming/.tmp.PID.SEQ with O_EXCL; the
 *                           queue ID comes from the arrival time and the
 *                           file's inode, so it is known at once (logs)
 *   2. spool_file_write()   the bytes qfile's writer produces, and the
 *      spool_file_pwrite()  content length patched at the end
 *   3. spool_file_sync()    fsync the file                      [blocks]
 *   4. spool_file_commit()  rename .tmp.PID.SEQ to incoming/QID: the commit
 *                           point; the rename never replaces a file
 *   5. spool_sync_queue()   fsync incoming/ so the name is durable [blocks]
 * and only then may the SMTP server answer 250. A crash before 4 leaves a
 * temporary file that no reader looks at (spool_clean_temp() removes it at
 * start-up); after 4 the file is whole, because 3 came first. Nothing is
 * ever half-visible.
 *
 * Group commit: steps 3-5 are the blocking ones and are separate calls so
 * that the event loop can hand a batch of finished files to a helper
 * thread: spool_commit_batch() syncs each file, renames each, then syncs
 * incoming/ once for the whole batch (the write-back of every file is
 * started before the first fsync), and reports per file; the loop then
 * answers 250 (result 0) or 452 4.3.1 (an error) to each session. Files
 * finishing while a batch is being synced wait for the next batch, so N
 * messages share one directory sync wait and the loop never blocks.
 *
 * Later state is appended (spool_append(): write + fdatasync, or
 * spool_append_nosync() and a later spool_sync_message() for records that
 * nothing acts on before then), never
 * rewritten; a torn append is cut off with spool_truncate() before the next
 * one (qfile.h: torn, valid_len). Moves between queues are renames that
 * never replace a file; a move need not be synced for safety (after a crash
 * the file is under the old name or the new one, and both are valid), so
 * SPOOL_SYNC is optional.
 *
 * Errors: functions return 0 (or a count / descriptor) or -errno. ENOSPC,
 * EDQUOT, EFBIG and EIO reach the caller unchanged; the SMTP server maps
 * them to 452 4.3.1. A spool_file keeps its first error (sticky). Blocking
 * calls are marked [blocks]; all others only touch directory entries or
 * the page cache. */
#ifndef MAILGW_QUEUE_SPOOL_H
#define MAILGW_QUEUE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue/qid.h"

enum spool_queue {
	SPOOL_INCOMING = 0,
	SPOOL_ACTIVE,
	SPOOL_DEFERRED,
	SPOOL_HOLD,
	SPOOL_CORRUPT,
	SPOOL_NQUEUES
};

#define SPOOL_ROOT_MODE  0755 /* queue_directory itself, owned by root */
#define SPOOL_DIR_MODE   0700 /* each queue, owned by mail_owner */
#define SPOOL_FILE_MODE  0600
#define SPOOL_TMP_PREFIX ".tmp."
#define SPOOL_TMP_SIZE   48
#define SPOOL_NEW_TRIES  100 /* O_EXCL name clashes before giving up */

#define SPOOL_SYNC 1 /* spool_move(): fsync both directories */

struct spool {
	int root_fd;
	int dir_fd[SPOOL_NQUEUES];
	unsigned long seq; /* temporary name counter */
};

/* A new message file being written. */
struct spool_file {
	int fd;                   /* -1 once committed or aborted */
	int err;                  /* first error, sticky (0 or -errno) */
	int synced;               /* spool_file_sync() succeeded */
	char tmp[SPOOL_TMP_SIZE]; /* name in incoming/ until the commit */
	char qid[QID_SIZE];       /* the queue ID, valid after new() */
};

/* "incoming", "active"...; NULL for an unknown value. */
const char *spool_queue_name(enum spool_queue q);

/* Create root (mode SPOOL_ROOT_MODE) and the queue directories (mode
 * SPOOL_DIR_MODE, owned by uid:gid unless uid is (uid_t)-1); fix the mode
 * and owner of ones that exist; fsync root. The parent of root must
 * exist. For master, as root, before it drops privileges. */
int spool_create(const char *root, uid_t uid, gid_t gid);

/* Open the queue directories. On error nothing stays open. */
int spool_open(struct spool *sp, const char *root);
void spool_close(struct spool *sp);

/* Step 1: create a temporary file in incoming/ and name the message.
 * arrival_sec/usec: the time the queue ID encodes (the message's arrival
 * time, also stored in the file). */
int spool_file_new(struct spool *sp, struct spool_file *f, int64_t arrival_sec,
		   long arrival_usec);
/* Step 2: write all n bytes at the end / at offset off. */
int spool_file_write(struct spool_file *f, const void *p, size_t n);
int spool_file_pwrite(struct spool_file *f, const void *p, size_t n, off_t off);
/* Step 3 [blocks]. */
int spool_file_sync(struct spool_file *f);
/* Step 4: rename into incoming/QID and close. -EINVAL when not synced or
 * after an error; -EEXIST if the name exists (never in practice; qid.h). */
int spool_file_commit(struct spool *sp, struct spool_file *f);
/* Give up: close and remove the temporary file. Safe to call twice. */
void spool_file_abort(struct spool *sp, struct spool_file *f);
/* Step 5 [blocks]: fsync a queue directory. */
int spool_sync_queue(struct spool *sp, enum spool_queue q);

/* Steps 3-5 for n files [blocks]. results[i] gets 0 (committed and
 * durable) or -errno (the file was aborted). Every file is closed after the
 * call. If the final directory sync fails, the files renamed in this batch
 * are removed again and all report that error, so that no message the
 * client was refused is delivered. Returns how many were committed. */
size_t spool_commit_batch(struct spool *sp, struct spool_file *const *files,
			  size_t n, int *results);

/* Open an existing message read-only, or for reading and appending when
 * writable. Returns a descriptor or -errno. */
int spool_open_message(struct spool *sp, enum spool_queue q, const char *qid,
		       int writable);
/* Map a whole file read-only for qfile_parse(); *p is NULL for an empty
 * file. Files up to SPOOL_READ_MAX bytes are read into memory instead,
 * while the blocks read and not yet released stay within
 * SPOOL_READ_BUDGET (qmgr holds every active message's file; beyond the
 * budget they are mapped, whose pages are read only when delivered): a
 * map, its page faults and its munmap (a TLB flush) cost more per message
 * than the copy. Released blocks, up to SPOOL_READ_KEEP of them and
 * SPOOL_READ_KEEP_BYTES, are kept for the next files. Release with
 * spool_unmap() and the same n. One thread per process maps and unmaps. */
#define SPOOL_READ_MAX        (128 * 1024)
#define SPOOL_READ_BUDGET     (8 * 1024 * 1024)
#define SPOOL_READ_INUSE      512
#define SPOOL_READ_KEEP       32
#define SPOOL_READ_KEEP_BYTES (1024 * 1024)
int spool_map(int fd, const void **p, size_t *n);
void spool_unmap(const void *p, size_t n);
/* Append one or more whole records and fdatasync [blocks]. On a failed or
 * short write the file is cut back to its old length. */
int spool_append(int fd, const void *p, size_t n);
/* The same without the fdatasync: the records survive a crash of the
 * process (they are in the page cache) but not of the machine until the
 * next spool_append() or spool_sync_message() on the file. For state that
 * nothing acts on before such a sync (qmgr.c says which). */
int spool_append_nosync(int fd, const void *p, size_t n);
/* fdatasync a message file [blocks]. */
int spool_sync_message(int fd);
/* Cut the file to len bytes (a torn tail) and fdatasync [blocks]. */
int spool_truncate(int fd, size_t len);

/* Rename qid from one queue to another, never replacing a file. */
int spool_move(struct spool *sp, const char *qid, enum spool_queue from,
	       enum spool_queue to, int flags);
int spool_remove(struct spool *sp, enum spool_queue q, const char *qid);

/* Call fn for every queue ID in a queue (directory order; temporary and
 * foreign names are skipped). A nonzero return from fn stops the walk and
 * is returned. */
int spool_list(struct spool *sp, enum spool_queue q,
	       int (*fn)(const char *qid, void *arg), void *arg);

/* Remove temporary files in incoming/ last modified before older_than
 * (seconds since the epoch); at start-up, with no writer running, pass
 * INT64_MAX. Returns how many were removed, or -errno. */
int spool_clean_temp(struct spool *sp, int64_t older_than);

/* Test hook (STYLE.md rule 23): the n-th system call from now that the
 * spool makes fails with err; 0 disables. */
void spool_fail_after(unsigned long n, int err);

#endif
