/* smtp_cmd - SMTP command lines: framing, verbs, MAIL/RCPT/BDAT arguments.
 *
 * Pure parsers (STYLE.md rule 10): bytes with explicit lengths, no I/O, no
 * logging, no globals, no clock, no allocation. Results that are text are
 * slices (pointer + length) into the caller's line and are valid while the
 * line is; nothing is copied or decoded behind the caller's back.
 *
 * 1. Framing. smtp_line_next() cuts the next command line out of the bytes
 *    a session has read. A line ends at CRLF; what a bare LF does follows
 *    Postfix 3.9's smtpd_forbid_bare_newline (enum smtp_bare): with
 *    NORMALIZE and NO it ends the line too, with REJECT it is an error.
 *    CRs right before the line end are dropped (as Postfix's smtp_get()).
 *    A line longer than the limit is skipped whole and reported once, when
 *    its end has arrived, so that the session stays in step with pipelined
 *    commands (one line in, one reply out).
 *
 * 2. Verb. smtp_cmd_parse() splits one line (without its terminator) into a
 *    verb from the command table (case-insensitive) and its argument, and
 *    checks the verb's arity. NUL, CR and LF inside the line are refused.
 *
 * 3. Arguments. smtp_cmd_parse_mail() and smtp_cmd_parse_rcpt() take the
 *    argument of MAIL and RCPT: "FROM:" / "TO:" (case-insensitive, spaces
 *    allowed after the colon as Postfix does), the path (RFC 5321 4.1.2:
 *    angle brackets, null sender "<>", a source route "@a,@b:" accepted
 *    and dropped as Appendix C allows, quoted local parts with quoted-pairs,
 *    domains, [IPv4] and [IPv6:...] address literals, "<postmaster>" as a
 *    recipient) and the ESMTP parameters SIZE (RFC 1870), BODY (RFC 6152,
 *    RFC 3030), SMTPUTF8 (RFC 6531), RET, ENVID, NOTIFY, ORCPT (RFC 3461)
 *    and AUTH (RFC 4954). A parameter is accepted only when the session
 *    announced its extension (opts->ext); an unknown or repeated parameter
 *    is an error. Non-ASCII in an address needs SMTPUTF8 (on MAIL in the
 *    same command; on RCPT through opts->smtputf8) and must be well-formed
 *    UTF-8 (RFC 3629). With opts->strict = 0 (strict_rfc821_envelopes = no,
 *    Postfix's default) an address may come without angle brackets; it
 *    then ends at the first space. RFC 822 phrases and comments are not
 *    accepted in either mode. An address without "@domain" is accepted
 *    (Postfix does, and qualifies it later); the result says so.
 *    smtp_cmd_parse_bdat() takes "count [LAST]" (RFC 3030).
 *
 * 4. xtext (RFC 3461 section 4): smtp_xtext_decode()/_encode().
 *
 * 5. Replies. Every error code maps to the reply Postfix gives for it
 *    (reply code, RFC 3463 enhanced code, text): smtp_cmd_reply(), and
 *    smtp_reply_format() for the whole line. The syntax error of a verb
 *    carries that verb's usage text ("Syntax: MAIL FROM:<address>").
 *
 * Errors are negative SMTP_CMD_ERR_* codes (0 is success). On an error in
 * MAIL/RCPT parameters, out->bad names the parameter at fault, for the
 * replies whose text ends with it ("Unsupported option: FOO=1"). */
#ifndef MAILGW_SMTPD_SMTP_CMD_H
#define MAILGW_SMTPD_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Limits (STYLE.md rule 8). RFC 5321 4.5.3.1.4 allows 512 octets per
 * command line with CRLF, and extensions raise it (RFC 3461: +100 for MAIL,
 * +500 for RCPT; RFC 4954: +500): Postfix uses line_length_limit = 2048 for
 * all, and so do we (the CRLF is not counted). */
#define SMTP_CMD_LINE_MAX     2048
#define SMTP_CMD_LINE_MAX_MIN 512 /* RFC 5321 4.5.3.1.4 */
#define SMTP_CMD_LINE_MAX_MAX 65536
/* An address (the mailbox, without brackets and source route). RFC 5321
 * 4.5.3.1.3 gives 256 octets for the path; SRS/BATV rewriting and UTF-8
 * addresses run longer in practice, so we take twice that. */
#define SMTP_ADDR_MAX       512
#define SMTP_DOMAIN_MAX     255 /* RFC 5321 4.5.3.1.2 */
#define SMTP_LABEL_MAX      63  /* RFC 1035 2.3.4 */
#define SMTP_ENVID_MAX      100 /* RFC 3461 4.4, the xtext as sent */
#define SMTP_ORCPT_MAX      500 /* RFC 3461 4.2, the value as sent */
#define SMTP_AUTH_PARAM_MAX 500 /* RFC 4954 5, the xtext as sent */
#define SMTP_SIZE_DIGITS    20  /* RFC 1870: size-value = 1*20DIGIT */

/* Error codes; smtp_cmd_reply() gives the reply for each. */
#define SMTP_CMD_ERR_EMPTY       (-1)  /* empty line */
#define SMTP_CMD_ERR_TOO_LONG    (-2)  /* line over the limit */
#define SMTP_CMD_ERR_BAD_CHAR    (-3)  /* NUL, CR or LF inside the line */
#define SMTP_CMD_ERR_BARE_LF     (-4)  /* bare LF with SMTP_BARE_REJECT */
#define SMTP_CMD_ERR_UNKNOWN     (-5)  /* verb not in the table */
#define SMTP_CMD_ERR_SYNTAX      (-6)  /* arguments do not fit the verb */
#define SMTP_CMD_ERR_SENDER      (-7)  /* bad reverse-path */
#define SMTP_CMD_ERR_RECIPIENT   (-8)  /* bad forward-path */
#define SMTP_CMD_ERR_NEED_UTF8   (-9)  /* non-ASCII address, no SMTPUTF8 */
#define SMTP_CMD_ERR_BAD_UTF8    (-10) /* malformed UTF-8 */
#define SMTP_CMD_ERR_UNSUPPORTED (-11) /* unknown or unannounced parameter */
#define SMTP_CMD_ERR_DUPLICATE   (-12) /* SIZE, BODY or SMTPUTF8 twice */
#define SMTP_CMD_ERR_SIZE        (-13) /* SIZE value not 1*20DIGIT */
#define SMTP_CMD_ERR_SIZE_RANGE  (-14) /* SIZE value beyond 2^63-1 */
#define SMTP_CMD_ERR_RET         (-15)
#define SMTP_CMD_ERR_ENVID       (-16)
#define SMTP_CMD_ERR_NOTIFY      (-17)
#define SMTP_CMD_ERR_ORCPT       (-18)
#define SMTP_CMD_ERR_AUTH        (-19) /* AUTH= value */
#define SMTP_CMD_ERR_AUTH_TWICE  (-20)
#define SMTP_CMD_ERR_DSN_OFF     (-21) /* DSN parameter, DSN not announced */
#define SMTP_CMD_ERR_XTEXT       (-22) /* smtp_xtext_decode() input */
#define SMTP_CMD_ERR_LAST        (-22)

/* What a bare LF means (Postfix 3.9 smtpd_forbid_bare_newline). */
enum smtp_bare {
	SMTP_BARE_NORMALIZE = 0, /* a line end, as if CRLF (the default) */
	SMTP_BARE_REJECT,        /* an error (reply 550 or 521, 5.5.2) */
	SMTP_BARE_NO             /* commands: a line end; DATA: plain data */
};

/* The command table, in Postfix's smtpd_cmd_table spirit. */
enum smtp_verb {
	SMTP_VERB_NONE = 0,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_ETRN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

/* Extensions the session announced: which MAIL/RCPT parameters it takes. */
#define SMTP_EXT_SIZE       0x01u /* SIZE= */
#define SMTP_EXT_8BITMIME   0x02u /* BODY=7BIT, BODY=8BITMIME */
#define SMTP_EXT_BINARYMIME 0x04u /* BODY=BINARYMIME (with CHUNKING) */
#define SMTP_EXT_SMTPUTF8   0x08u /* SMTPUTF8 */
#define SMTP_EXT_DSN        0x10u /* RET= ENVID= NOTIFY= ORCPT= */
#define SMTP_EXT_AUTH       0x20u /* AUTH= */

/* A limit as configured: 0 means the default, else clamped to its bounds. */
static inline size_t smtp_limit(size_t v, size_t def, size_t min, size_t max)
{
	if (v == 0)
		v = def;
	return v < min ? min : v > max ? max : v;
}

struct smtp_slice {
	const char *p;
	size_t n;
};

/* ---- 1. framing ---- */

struct smtp_line_reader {
	enum smtp_bare bare;
	size_t max;   /* longest line, terminator excluded */
	int skipping; /* inside an over-long line */
};

#define SMTP_LINE_MORE 0 /* no complete line yet */
#define SMTP_LINE_OK   1 /* a line */

/* max 0 means SMTP_CMD_LINE_MAX; it is clamped to the _MIN/_MAX bounds. */
void smtp_line_init(struct smtp_line_reader *r, enum smtp_bare bare,
		    size_t max);
/* Look for the next line in p[0..n). Returns
 *   SMTP_LINE_OK: the line is p[0..*len) without terminator; *used bytes
 *     (line and terminator) are consumed;
 *   SMTP_LINE_MORE: no line end yet; *used bytes are consumed (0, or all
 *     of them while an over-long line is skipped): keep p+*used..n and
 *     call again when more has arrived;
 *   SMTP_CMD_ERR_TOO_LONG: the end of an over-long line was reached;
 *     *used bytes are consumed, *len is 0;
 *   SMTP_CMD_ERR_BARE_LF: (REJECT) a line ended in a bare LF; *used bytes
 *     are consumed, *len is the line's length.
 * The bytes after *used are never looked at beyond the first line end. */
int smtp_line_next(struct smtp_line_reader *r, const char *p, size_t n,
		   size_t *len, size_t *used);

/* ---- 2. verbs ---- */

struct smtp_cmd {
	enum smtp_verb verb;
	struct smtp_slice name; /* the verb as sent */
	struct smtp_slice arg;  /* after the verb and its spaces, trailing
				 * spaces dropped; n == 0 when none */
};

/* Parse one line (terminator removed) of at most max bytes (0 for
 * SMTP_CMD_LINE_MAX). Errors: EMPTY, TOO_LONG, BAD_CHAR, UNKNOWN (out->name
 * is still set), SYNTAX (an argument missing or one too many for the verb;
 * out->verb is set). */
int smtp_cmd_parse(struct smtp_cmd *out, const char *line, size_t n,
		   size_t max);
/* Upper-case name of a verb ("MAIL"), "" for SMTP_VERB_NONE. */
const char *smtp_verb_name(enum smtp_verb verb);

/* ---- 3. MAIL, RCPT, BDAT ---- */

struct smtp_cmd_opts {
	unsigned ext; /* SMTP_EXT_* the session announced (0 after HELO) */
	int strict;   /* strict_rfc821_envelopes */
	int smtputf8; /* RCPT: the transaction's MAIL carried SMTPUTF8 */
};

enum smtp_body {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME
};
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER   0x01u
#define SMTP_NOTIFY_SUCCESS 0x02u
#define SMTP_NOTIFY_FAILURE 0x04u
#define SMTP_NOTIFY_DELAY   0x08u

/* A mailbox. addr is the whole mailbox as sent (quotes kept, no brackets,
 * no source route); local and domain are its two parts (domain.n == 0
 * when the address has no "@domain"; a literal keeps its brackets).
 * addr.n == 0 only for the null sender "<>". */
struct smtp_path {
	struct smtp_slice addr;
	struct smtp_slice local;
	struct smtp_slice domain;
	int bracketed; /* sent inside <> */
	int routed;    /* a source route was dropped */
	int utf8;      /* has non-ASCII bytes */
};

struct smtp_mail {
	struct smtp_path path;
	int has_size;
	uint64_t size; /* SIZE=, when has_size */
	enum smtp_body body;
	int smtputf8;
	enum smtp_ret ret;
	struct smtp_slice envid; /* xtext as sent; n == 0 when absent */
	struct smtp_slice auth;  /* xtext as sent ("<>" possible) */
	struct smtp_slice bad;   /* on error: the parameter at fault */
};

struct smtp_rcpt {
	struct smtp_path path;
	int postmaster;               /* "<postmaster>" (RFC 5321 4.1.1.3) */
	unsigned notify;              /* SMTP_NOTIFY_* bits, 0 when absent */
	struct smtp_slice orcpt_type; /* "rfc822", "utf-8"...; n == 0: none */
	struct smtp_slice orcpt;      /* xtext as sent */
	struct smtp_slice bad;
};

/* arg is smtp_cmd.arg of a MAIL/RCPT line. */
int smtp_cmd_parse_mail(struct smtp_mail *out, const char *arg, size_t n,
			const struct smtp_cmd_opts *opts);
int smtp_cmd_parse_rcpt(struct smtp_rcpt *out, const char *arg, size_t n,
			const struct smtp_cmd_opts *opts);
/* "count [LAST]": count 1*20DIGIT below 2^63, LAST case-insensitive.
 * Errors: SYNTAX (reply 521: the session cannot know where the chunk
 * ends, Postfix disconnects), SIZE_RANGE. */
int smtp_cmd_parse_bdat(uint64_t *count, int *last, const char *arg, size_t n);

/* ---- 4. xtext ---- */

/* Append the decoded xtext s[0..n) to out. Errors: SMTP_CMD_ERR_XTEXT
 * (not xtext: a byte outside 33..126, "=", or "+" not followed by two
 * upper-case hex digits), BUF_ERR_FULL. out may be NULL to only check. */
int smtp_xtext_decode(struct buf *out, const char *s, size_t n);
/* Append s[0..n) as xtext ("+XX" for "+", "=" and bytes outside 33..126). */
int smtp_xtext_encode(struct buf *out, const void *s, size_t n);

/* ---- 5. replies ---- */

struct smtp_reply {
	int code;         /* 501 */
	const char *enh;  /* "5.1.7" (RFC 3463) */
	const char *text; /* "Bad sender address syntax" */
	int detail;       /* the text is followed by ": " and a detail */
};

/* The reply for an error code of this module (for SYNTAX, the verb's
 * usage); an unknown code gives 500 5.5.2 "Error: bad syntax". */
const struct smtp_reply *smtp_cmd_reply(int err, enum smtp_verb verb);
/* Append "code enh text[: detail]" (no CRLF) to out. The detail is client
 * text: bytes outside printable ASCII become '?', and it is cut at
 * SMTP_REPLY_DETAIL_MAX bytes. */
#define SMTP_REPLY_DETAIL_MAX 100
int smtp_reply_format(struct buf *out, const struct smtp_reply *r,
		      const char *detail, size_t n);

#endif
