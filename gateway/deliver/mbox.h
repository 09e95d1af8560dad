/* mbox - append one message to a UNIX mailbox file as Postfix's local(8)
 * does for mailbox delivery (mail_copy() with MAIL_COPY_MBOX).
 *
 * Format (mbox_format): the From_ line "From SENDER  Www Mmm dd hh:mm:ss
 * yyyy" (local time, ctime(3) layout; MAILER-DAEMON for the null sender),
 * "Return-Path: <SENDER>", "X-Original-To: ORIG" (when ORIG is not empty:
 * the recipient as received, before alias expansion), "Delivered-To:
 * RCPT" (the final recipient, as it is), then the
 * content with CRLF turned into LF, every line that begins with "From "
 * quoted as ">From ", a newline added when the last line lacks one, and a
 * blank line at the end. Pure: no I/O, no clock (the caller passes when).
 *
 * File (mbox_append): dotlock PATH.lock (O_EXCL; a lock older than
 * stale_sec is removed), then open PATH for append without following a
 * symlink (it must be a regular file with one link), an exclusive fcntl
 * lock, write, fsync. On any failure the file is truncated back to its
 * size before the append, so a mailbox never holds half a message. It
 * blocks (file I/O, fsync, lock waits of up to lock_tries * lock_delay_ms):
 * run it outside an event loop or accept that for small local volumes. */
#ifndef MAILGW_DELIVER_MBOX_H
#define MAILGW_DELIVER_MBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/buf.h"

/* Postfix's deliver_lock_attempts, deliver_lock_delay, stale_lock_time. */
#define MBOX_LOCK_TRIES    20
#define MBOX_LOCK_DELAY_MS 1000
#define MBOX_STALE_SEC     500

/* The envelope of one mailbox record. sender may be empty (null sender),
 * orig_rcpt empty (no X-Original-To). Not NUL-terminated. */
struct mbox_env {
	const char *sender;
	size_t sender_len;
	const char *orig_rcpt;
	size_t orig_rcpt_len;
	const char *rcpt;
	size_t rcpt_len;
	time_t when;
};

/* Append the formatted message to out. Returns 0 or BUF_ERR_FULL (out is
 * then cut back to its old length). */
int mbox_format(struct buf *out, const struct mbox_env *env,
		const void *content, size_t content_len);

struct mbox_opts {
	unsigned lock_tries;    /* dotlock and fcntl attempts; 0: default */
	unsigned lock_delay_ms; /* between attempts; 0: default */
	unsigned stale_sec;     /* dotlock age that counts as stale; 0: dflt */
	int set_owner;          /* 1: a newly created mailbox gets uid/gid */
	uid_t uid;
	gid_t gid;
};

/* Error kinds (mbox_append's return value). */
#define MBOX_ERR_LOCK (-1) /* could not lock (dotlock or fcntl) */
#define MBOX_ERR_OPEN (-2) /* could not open or unsafe file */
#define MBOX_ERR_IO   (-3) /* write or fsync failed (truncated back) */

/* Append len bytes (an mbox_format() result) to path. opts may be NULL.
 * Returns 0, or an MBOX_ERR_* with the reason appended to err (may be
 * NULL) and *errnum (may be NULL) set to the errno that caused it. */
int mbox_append(const char *path, const void *data, size_t len,
		const struct mbox_opts *opts, struct buf *err, int *errnum);

/* Postfix's enhanced status for a mailbox errno: 4.2.2 (EDQUOT), 5.2.2
 * (EFBIG), 4.3.0 (ENOSPC), else dflt. */
const char *mbox_dsn(int errnum, const char *dflt);

#endif
