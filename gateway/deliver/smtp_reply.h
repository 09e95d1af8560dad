/* smtp_reply - SMTP server replies as the client reads them (RFC 5321
 * 4.2), and the EHLO keywords in them.
 *
 * A push parser (STYLE.md rule 10): smtp_reply_push() takes bytes as they
 * arrive and stops after the last line of one reply, so the caller handles
 * that reply and pushes the rest. Lines end with LF (a CR before it is
 * dropped). "DDD-text" continues a reply, "DDD text" or "DDD" ends it; a
 * line without three digits is ignored, as Postfix's client does, and
 * counted in `garbage`. The reply code is that of the last line.
 *
 * Bounds: a line keeps its first SMTP_REPLY_LINE_MAX bytes (the rest is
 * dropped); the text keeps whole lines up to SMTP_REPLY_TEXT_MAX bytes;
 * a reply of more than SMTP_REPLY_LINES_MAX lines is an error. The text
 * keeps every line with its code ("550-5.1.1 a\n550 5.1.1 b"), lines
 * separated by LF, a NUL byte replaced by a space so that the text is a C
 * string: smtp_reply_oneline() gives Postfix's logged form. */
#ifndef MAILGW_DELIVER_SMTP_REPLY_H
#define MAILGW_DELIVER_SMTP_REPLY_H

#include <stddef.h>

#include "core/buf.h"

#define SMTP_REPLY_LINE_MAX  2048 /* bytes kept of one line */
#define SMTP_REPLY_TEXT_MAX  4096 /* bytes of text kept of one reply */
#define SMTP_REPLY_LINES_MAX 1000 /* lines in one reply */

#define SMTP_REPLY_ERR_LINES (-1) /* too many lines */

struct smtp_reply {
	int code;     /* 100..599 once done */
	int done;     /* a whole reply was read */
	int err;      /* sticky SMTP_REPLY_ERR_* */
	char dsn[16]; /* enhanced status "5.1.1"; from the code if absent */
	char text[SMTP_REPLY_TEXT_MAX + 1];
	size_t len;       /* bytes in text */
	unsigned lines;   /* lines of this reply */
	unsigned garbage; /* lines without a code, ignored */
	/* private: the line being read */
	char line[SMTP_REPLY_LINE_MAX + 1];
	size_t line_len;
	int line_cut;
};

void smtp_reply_init(struct smtp_reply *r);
/* smtp_reply_push - consume bytes of p[0..n) up to the end of one reply;
 * returns how many were used. Check r->done and r->err afterwards; call
 * smtp_reply_init() before the next reply. */
size_t smtp_reply_push(struct smtp_reply *r, const char *p, size_t n);
/* smtp_reply_oneline - the text with its lines joined by spaces, as
 * Postfix logs a multi-line reply, appended to out. */
void smtp_reply_oneline(const struct smtp_reply *r, struct buf *out);

/* EHLO keywords the client acts on. */
#define SMTP_EXT_PIPELINING 0x01
#define SMTP_EXT_SIZE       0x02
#define SMTP_EXT_8BITMIME   0x04
#define SMTP_EXT_SMTPUTF8   0x08
#define SMTP_EXT_DSN        0x10
#define SMTP_EXT_STARTTLS   0x20
#define SMTP_EXT_CHUNKING   0x40
#define SMTP_EXT_ENHANCED   0x80

struct smtp_ehlo {
	unsigned ext;       /* SMTP_EXT_* */
	unsigned auth;      /* SMTP_AUTH_* (smtp_sasl.h) of "AUTH"/"AUTH=" */
	unsigned long size; /* SIZE limit; 0: none announced */
};

/* smtp_reply_ehlo - the keywords of a 250 EHLO reply (all lines but the
 * first, case-insensitive; a SIZE value that is not a number means no
 * limit; the mechanisms PLAIN and LOGIN of "AUTH m..." and of the old
 * "AUTH=m..." line). */
void smtp_reply_ehlo(const struct smtp_reply *r, struct smtp_ehlo *out);

#endif
