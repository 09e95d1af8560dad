/* smtp_data - the message content of DATA and BDAT, as a push parser.
 *
 * The session pushes the bytes it reads, in chunks of any size split
 * anywhere; the parser hands the message content to the caller's sink
 * (unstuffed, lines ending in CRLF) and says when the content is over.
 * Pure (STYLE.md rule 10): no I/O, no logging, no globals, no clock, no
 * allocation: the context is the caller's, output is staged in it and
 * given to the sink before smtp_data_push() returns.
 *
 * DATA (smtp_data_init()): the content ends exactly at CRLF "." CRLF
 * (RFC 5321 4.1.1.4), where the first CRLF may be the one ending the DATA
 * command: the input ".\r\n" is an empty message. Nothing else ends it --
 * not "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n" or any other mix -- so one
 * transaction cannot smuggle a second one in (CVE-2023-51764). The bytes
 * after the terminator are not touched: *used says where the next command
 * starts. Dot-stuffing (RFC 5321 4.5.2): a line that begins with "." and
 * has more on it loses the first "."; a lone "." that does not end the
 * data (its line or the one before ended in a bare LF) stays ".".
 *
 * Bare newlines, as Postfix 3.9's smtpd_forbid_bare_newline:
 *   NORMALIZE  a bare LF ends a line and comes out as CRLF;
 *   REJECT     the same, and the error SMTP_DATA_ERR_BARE_LF is set;
 *   NO         a bare LF is data, passed on as it is (lines end at CRLF
 *              only; the content may then hold bare LFs, which whoever
 *              sends it on must not put on the wire raw).
 * CRs right before a line end are dropped in NORMALIZE and REJECT, as
 * Postfix's smtp_get() drops them ("a\r\r\n" is the line "a"); any other
 * bare CR is data and is kept, as in Postfix (bare_cr counts them). In
 * NORMALIZE and REJECT the output therefore never holds a bare LF, and
 * every LF in it follows a CR.
 *
 * BDAT (smtp_data_init_bdat(), RFC 3030): no dot-stuffing and no
 * terminator; smtp_data_bdat_begin() announces each chunk's exact size and
 * push consumes no more than that. A CR at the end of one chunk and an LF
 * at the start of the next are one CRLF. The bare-newline modes apply as
 * above; for BODY=BINARYMIME use SMTP_BARE_NO, which passes every byte.
 *
 * Limits and errors. Lines are not split: the longest line and the count
 * of lines over line_limit are reported (RFC 5321 4.5.3.1.6's 998 by
 * default; line length counts the line's input bytes without its CRLF or
 * LF), and what to do with them is the caller's choice (header parsing
 * has its own limits; a relay folds or refuses). size counts the content
 * bytes produced; once it passes size_limit the error SMTP_DATA_ERR_SIZE
 * is set. Errors are sticky (the first one stays): after an error nothing
 * more reaches the sink, but the input is still consumed up to the end of
 * the data, so the session stays in step and can reply once it is over.
 * A sink that returns non-zero sets SMTP_DATA_ERR_SINK (its value is kept
 * in sink_err). The header/body boundary is the first empty line:
 * header_end is its offset in the output (SMTP_DATA_NO_BODY until seen). */
#ifndef MAILGW_SMTPD_SMTP_DATA_H
#define MAILGW_SMTPD_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_cmd.h"

#define SMTP_DATA_LINE_MAX     998 /* RFC 5321 4.5.3.1.6, CRLF excluded */
#define SMTP_DATA_LINE_MAX_MIN 78  /* RFC 5322 2.1.1 SHOULD */
#define SMTP_DATA_LINE_MAX_MAX (1024 * 1024)
#define SMTP_DATA_OUTBUF       4096 /* staging before each sink call */
#define SMTP_DATA_NO_BODY      UINT64_MAX

#define SMTP_DATA_ERR_BARE_LF (-1) /* REJECT mode saw a bare LF */
#define SMTP_DATA_ERR_SIZE    (-2) /* content over size_limit */
#define SMTP_DATA_ERR_SINK    (-3) /* the sink failed */
#define SMTP_DATA_ERR_LAST    (-3)

/* smtp_data_push() results */
#define SMTP_DATA_MORE  0 /* all input consumed, more expected */
#define SMTP_DATA_DONE  1 /* end of data / of the LAST chunk */
#define SMTP_DATA_CHUNK 2 /* BDAT: this chunk is complete, not LAST */

/* Receives content bytes; returns 0, or non-zero to report a failure. */
typedef int (*smtp_data_sink_fn)(void *arg, const char *p, size_t n);

struct smtp_data_opts {
	enum smtp_bare bare;
	uint64_t size_limit; /* message_size_limit; 0: no limit */
	size_t line_limit;   /* 0: SMTP_DATA_LINE_MAX; clamped to bounds */
};

struct smtp_data {
	/* settings (private) */
	enum smtp_bare bare;
	uint64_t size_limit;
	size_t line_limit;
	smtp_data_sink_fn sink;
	void *sink_arg;
	int bdat;
	/* state (private) */
	int state;
	int prev_crlf;       /* the last line end was a real CRLF */
	uint64_t pending_cr; /* CRs not yet known to be data or line end */
	uint64_t line_len;   /* input bytes of the current line */
	uint64_t line_out;   /* output bytes of the current line */
	uint64_t chunk_left; /* BDAT */
	int chunk_last;
	int done;
	size_t out_len;
	char out[SMTP_DATA_OUTBUF];
	/* results (read-only) */
	uint64_t size;     /* content bytes produced */
	uint64_t in_bytes; /* input bytes consumed */
	uint64_t lines;
	uint64_t max_line;
	uint64_t long_lines; /* lines longer than line_limit */
	uint64_t bare_lf;    /* bare LFs seen */
	uint64_t bare_cr;    /* bare CRs kept as data */
	uint64_t header_end; /* offset of the first empty line */
	int err;             /* 0 or the first SMTP_DATA_ERR_* */
	int sink_err;        /* what the sink returned */
};

/* Start receiving DATA content (after the 354 reply). */
void smtp_data_init(struct smtp_data *d, const struct smtp_data_opts *o,
		    smtp_data_sink_fn sink, void *arg);
/* Start receiving BDAT content (at the first BDAT command). */
void smtp_data_init_bdat(struct smtp_data *d, const struct smtp_data_opts *o,
			 smtp_data_sink_fn sink, void *arg);
/* A BDAT command: count bytes follow, last for LAST. Returns
 * SMTP_DATA_MORE when count > 0, else what a push of the empty chunk
 * returns (SMTP_DATA_CHUNK, or SMTP_DATA_DONE for "BDAT 0 LAST"). */
int smtp_data_bdat_begin(struct smtp_data *d, uint64_t count, int last);

/* Feed p[0..n). Returns SMTP_DATA_MORE, SMTP_DATA_DONE or (BDAT)
 * SMTP_DATA_CHUNK; *used is how many bytes were consumed: all of them for
 * MORE, up to and including the terminator or the chunk's last byte
 * otherwise. After DONE, push consumes nothing and returns DONE. */
int smtp_data_push(struct smtp_data *d, const char *p, size_t n, size_t *used);

static inline int smtp_data_error(const struct smtp_data *d)
{
	return d->err;
}

/* The reply for an SMTP_DATA_ERR_* code. For BARE_LF the code is
 * smtpd_forbid_bare_newline_reject_code's default (550; 521 closes). */
const struct smtp_reply *smtp_data_reply(int err);

#endif
