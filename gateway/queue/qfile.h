/* qfile - the queue file format: writer and reader (docs/queue-format.md).
 *
 * A queue file is an initial part written once (magic line, envelope
 * records, the content as-is, an end record) followed by state records
 * appended later (recipient done or deferred, retry time, hold, delay
 * warning), each with its own CRC so that an append torn by a crash is
 * recognised and ignored.
 *
 * Writer: qfile_writer_begin(), qfile_writer_push() per content chunk,
 * qfile_writer_finish(). It does no I/O: begin and finish append bytes to a
 * caller's buf, push only checks and counts the chunk, which the caller
 * writes to the file itself (content is stored as it arrives, so a message
 * streams to disk without being held in memory). The content length is not
 * known at begin: begin writes a fixed-width placeholder and finish hands
 * back the digits and the file offset where the caller must overwrite it
 * (pwrite) before the file is synced. qfile_format() does the same in one
 * buffer for messages built in memory (bounces, tests).
 *
 * Reader: qfile_parse() is a pure function over bytes with an explicit
 * length (no I/O, no logging, no globals, no clock); the caller mmap()s or
 * reads the file (the parser never touches the content bytes, so mapping
 * a large message costs nothing). String results point into those bytes
 * and are valid while they are. The one allocation is the recipient array,
 * released by qfile_msg_free().
 *
 * Appended records: qfile_format_done() and friends append one record to a
 * buf; spool_append() writes and syncs it.
 *
 * Errors are negative QFILE_ERR_* codes; any error from qfile_parse() means
 * the file is damaged and belongs in corrupt/. */
#ifndef MAILGW_QUEUE_QFILE_H
#define MAILGW_QUEUE_QFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define QFILE_MAGIC   "MAILGW-QUEUE"
#define QFILE_VERSION 1
/* A file with a content filter record is version 2 (a version 1 reader
 * refuses it instead of delivering around the filter); the writer turns
 * the version digit at QFILE_VERSION_OFF into '2' when it appends one. */
#define QFILE_VERSION_FILTER 2
#define QFILE_VERSION_OFF    (sizeof(QFILE_MAGIC))

/* Limits (STYLE.md rule 8). A value is any record's payload: an address,
 * a HELO name, a reply text. Replies of many lines are joined into one. */
#define QFILE_VALUE_MAX  8192
#define QFILE_RCPT_MAX   100000
#define QFILE_LEN_DIGITS 20 /* the content length field, zero-padded */
/* Longest reply text an appended record keeps (longer is cut: the text is
 * for people; the status code is what programs act on). */
#define QFILE_TEXT_MAX (QFILE_VALUE_MAX - 64)

#define QFILE_ERR_MAGIC     (-1)  /* not a queue file */
#define QFILE_ERR_VERSION   (-2)  /* a queue file of another version */
#define QFILE_ERR_TRUNCATED (-3)  /* the initial part ends early */
#define QFILE_ERR_FRAMING   (-4)  /* a record is not TYPE LEN SP VALUE LF */
#define QFILE_ERR_RECORD    (-5)  /* unknown, misplaced or repeated record */
#define QFILE_ERR_VALUE     (-6)  /* a record's value has bad syntax */
#define QFILE_ERR_MISSING   (-7)  /* a required record is missing */
#define QFILE_ERR_LIMIT     (-8)  /* a value or the recipients too many */
#define QFILE_ERR_CONTENT   (-9)  /* content not in canonical CRLF form */
#define QFILE_ERR_STATE     (-10) /* writer call out of order */
#define QFILE_ERR_FULL      (-11) /* the output buf is full */

/* A byte string: not NUL-terminated, may hold any byte, p may be NULL when
 * len is 0. */
struct qfile_str {
	const char *p;
	size_t len;
};

enum qfile_body {
	QFILE_BODY_NONE = 0, /* no BODY= parameter */
	QFILE_BODY_7BIT,
	QFILE_BODY_8BITMIME,
	QFILE_BODY_BINARYMIME, /* content may hold bare CR and LF */
};

enum qfile_ret {
	QFILE_RET_NONE = 0,
	QFILE_RET_FULL,
	QFILE_RET_HDRS,
};

/* DSN NOTIFY bits; 0 means no NOTIFY parameter (the default applies). */
#define QFILE_NOTIFY_NEVER   1u
#define QFILE_NOTIFY_SUCCESS 2u
#define QFILE_NOTIFY_FAILURE 4u
#define QFILE_NOTIFY_DELAY   8u

enum qfile_rcpt_state {
	QFILE_RCPT_TODO = 0,
	QFILE_RCPT_SENT,      /* delivered */
	QFILE_RCPT_BOUNCED,   /* failed for good; a DSN is owed */
	QFILE_RCPT_DISCARDED, /* dropped on purpose (discard: transport) */
	QFILE_RCPT_REPORTED,  /* bounced, and the DSN has been sent */
	QFILE_RCPT_PASSED,    /* sent to a next hop that took over DSN */
};

struct qfile_rcpt {
	struct qfile_str addr;  /* the envelope recipient */
	struct qfile_str orcpt; /* DSN ORCPT as received ("rfc822;xtext") */
	unsigned notify;        /* QFILE_NOTIFY_* bits */
	/* State from appended records (reader only). */
	enum qfile_rcpt_state state;
	struct qfile_str dsn;  /* enhanced status "4.4.1"; the latest one */
	struct qfile_str text; /* reply or reason text of that outcome */
};

/* The envelope and, after qfile_parse(), the state. The writer reads the
 * fields marked "in"; the reader fills all of them. */
struct qfile_msg {
	int64_t arrival_sec;          /* in */
	long arrival_usec;            /* in, 0..999999 */
	struct qfile_str sender;      /* in, may be empty (null sender) */
	struct qfile_str client_name; /* in, each client field optional */
	struct qfile_str client_addr; /* in */
	struct qfile_str client_port; /* in */
	struct qfile_str helo;        /* in */
	struct qfile_str protocol;    /* in: SMTP, ESMTP, ESMTPSA... */
	struct qfile_str sasl_user;   /* in */
	enum qfile_body body;         /* in */
	int smtputf8;                 /* in: 0 or 1 */
	struct qfile_str envid;       /* in: DSN ENVID, xtext as received */
	enum qfile_ret ret;           /* in */
	struct qfile_rcpt *rcpt;      /* in: addr, orcpt, notify */
	size_t nrcpt;                 /* in: 1..QFILE_RCPT_MAX */

	/* Filled by qfile_parse(). */
	size_t content_off;  /* the content: bytes [off, off + len) */
	size_t content_len;  /* the message size */
	size_t initial_len;  /* end of the initial part */
	size_t valid_len;    /* end of the last good appended record */
	int torn;            /* bytes after valid_len were ignored */
	int64_t retry_after; /* 0, or not before this time (seconds) */
	unsigned attempts;   /* delivery attempts recorded */
	int hold;            /* 1 while on hold; hold/ follows this */
	int64_t warned;      /* 0, or when the delay warning was sent */
	unsigned version;    /* of the file: 1, or 2 with a filter */
	struct qfile_str filter; /* "transport:nexthop" (FILTER), or empty */
	size_t nrcpt_todo;   /* recipients still in QFILE_RCPT_TODO */
	size_t err_off;      /* on error: where in the input */
};

/* ---- writer ---- */

struct qfile_writer {
	int state;     /* private: 0 idle, 1 content, 2 finished, <0 err */
	int canonical; /* private: check CRLF form */
	int prev_cr;   /* private: last content byte was CR */
	int prev_lf;   /* private: last content byte was LF */
	uint64_t content_len;
	size_t len_off; /* file offset of the length placeholder */
	size_t written; /* bytes of the file so far (header + content) */
};

/* Append the magic line, the envelope records of m and the content record
 * (with a placeholder length) to out. The bytes appended are the first
 * bytes of the file: file offsets (the placeholder's, the writer offset)
 * count from where they start in out. On error out is unchanged. Returns 0,
 * QFILE_ERR_LIMIT (value too long, 0 or too many recipients), QFILE_ERR_VALUE
 * (time or enum out of range) or QFILE_ERR_FULL. */
int qfile_writer_begin(struct qfile_writer *w, struct buf *out,
		       const struct qfile_msg *m);

/* Account for the next n content bytes, which the caller stores as-is.
 * Unless the body is BINARYMIME the content must be canonical: every line
 * ends with CRLF, no bare CR or LF (the SMTP server normalises first), no
 * dot-stuffing. Returns 0 or QFILE_ERR_CONTENT (sticky). Chunks may split
 * a CRLF anywhere. */
int qfile_writer_push(struct qfile_writer *w, const void *p, size_t n);

/* Append the end record to out (out's offsets start at the file offset
 * qfile_writer_offset() reports) and hand back the QFILE_LEN_DIGITS digits
 * that must overwrite the placeholder at file offset *patch_off. Canonical
 * content must be empty or end with CRLF. Returns 0, QFILE_ERR_CONTENT,
 * QFILE_ERR_STATE or QFILE_ERR_FULL. */
int qfile_writer_finish(struct qfile_writer *w, struct buf *out,
			char patch[QFILE_LEN_DIGITS], size_t *patch_off);

/* File offset of the next byte the writer expects (header + content). */
static inline size_t qfile_writer_offset(const struct qfile_writer *w)
{
	return w->written;
}

/* Whole file in one buf: begin + push + finish + patch. */
int qfile_format(struct buf *out, const struct qfile_msg *m,
		 const void *content, size_t len);

/* ---- appended records: each appends one record to out ----
 * Return 0, QFILE_ERR_VALUE (bad index, status code or time) or
 * QFILE_ERR_FULL; on error out is unchanged. Text beyond QFILE_TEXT_MAX is
 * cut. The reader checks idx against the recipient count. */

/* Recipient idx is done: state SENT, BOUNCED or DISCARDED; dsn is the
 * enhanced status code ("2.0.0"), text the reply or reason. */
int qfile_format_done(struct buf *out, size_t idx, enum qfile_rcpt_state state,
		      const char *dsn, const void *text, size_t text_len);
/* Recipient idx failed for now (stays TODO; the reason shows in mailq). */
int qfile_format_defer(struct buf *out, size_t idx, const char *dsn,
		       const void *text, size_t text_len);
/* Next attempt not before `when`; attempts made so far. */
int qfile_format_retry(struct buf *out, int64_t when, unsigned attempts);
int qfile_format_hold(struct buf *out, int on);
/* Deliver every recipient through this "transport:nexthop" instead of
 * its route (Postfix's content_filter and the FILTER access action; the
 * last one wins). Only in a version 2 file (QFILE_VERSION_FILTER). */
int qfile_format_filter(struct buf *out, const char *filter, size_t len);
/* A delay warning was sent at `when`. */
int qfile_format_warned(struct buf *out, int64_t when);

/* ---- reader ---- */

/* Parse a queue file of n bytes. On success returns 0 and fills m (the
 * envelope, the content's place, the state after every good appended
 * record; m->torn when a torn tail after m->valid_len was ignored: the
 * next appender must truncate the file to valid_len first). On error
 * returns a QFILE_ERR_* code with m->err_off set; m holds no allocation. */
int qfile_parse(struct qfile_msg *m, const void *p, size_t n);

/* Release what qfile_parse() allocated; m may be parsed again. */
void qfile_msg_free(struct qfile_msg *m);

/* A short English text for a QFILE_ERR_* code. */
const char *qfile_strerror(int err);

#endif
