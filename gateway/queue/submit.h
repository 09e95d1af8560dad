/* submit - the pure parts of local submission (sendmail): input line ends,
 * header fields, RFC 5322 address lists.
 *
 * Pure functions over bytes with explicit lengths (STYLE.md rule 10): no
 * I/O, no logging, no globals, no clock. sendmail streams its input
 * through submit_norm (bounded state, any chunking), keeps only the header
 * section in memory (header_size_limit), walks it with
 * submit_header_next(), and with -t takes recipients out of To/Cc/Bcc with
 * submit_addr_list().
 *
 * Line ends: Postfix's sendmail takes LF, CRLF (and here also a bare CR)
 * as a line end and the queue stores canonical CRLF (qfile.h), so every
 * line end comes out as CRLF and the last line gets one if it lacks it.
 * Without -i a line holding only "." ends the input (Sendmail's rule);
 * there is no dot-stuffing on this path. */
#ifndef MAILGW_QUEUE_SUBMIT_H
#define MAILGW_QUEUE_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- line ends ---- */

struct submit_norm {
	int ignore_dots; /* -i / -oi: "." alone is data */
	int state;       /* private */
	int done;        /* the "." line was seen: the input is over */
};

void submit_norm_init(struct submit_norm *s, int ignore_dots);
/* Convert in[0..n) to canonical CRLF text appended to out. *used is the
 * number of bytes consumed: all of them, unless the "." line ended the
 * input (s->done; the rest is not part of the message). Returns 0 or
 * BUF_ERR_FULL (out is the caller's bounded buffer: flush it and push
 * the unconsumed rest again; *used is exact either way). */
int submit_norm_push(struct submit_norm *s, const char *in, size_t n,
		     struct buf *out, size_t *used);
/* End of input: end an unterminated last line. 0 or BUF_ERR_FULL. */
int submit_norm_finish(struct submit_norm *s, struct buf *out);

/* ---- header section ---- */

/* Length of the header section at the start of canonical text p[0..n):
 * whole header fields (a name of printable ASCII without ':', optional
 * blanks, ':'; continuation lines start with SP or HTAB), ending before
 * the first line that is not part of one (the empty line, or a body line
 * when there is no empty line). *complete is 1 when that ending line has
 * been seen whole, 0 when more input could still extend the header. */
size_t submit_header_len(const char *p, size_t n, int *complete);

struct submit_header {
	const char *name; /* the field name, without blanks and colon */
	size_t name_len;
	const char *value; /* after the colon, continuation CRLFs included,
			    * the final CRLF excluded */
	size_t value_len;
	size_t start, end; /* the whole field in p: [start, end), CRLF in */
};

/* Next header field of the header section p[0..n) (as measured by
 * submit_header_len) at *off; advances *off. 1 when a field was found,
 * 0 at the end. */
int submit_header_next(const char *p, size_t n, size_t *off,
		       struct submit_header *h);

/* 1 when the header's name is name (ASCII case-insensitive). */
int submit_header_is(const struct submit_header *h, const char *name);

/* ---- address lists ---- */

#define SUBMIT_ADDR_MAX 512 /* as SMTP_ADDR_MAX: longer is an error */

#define SUBMIT_ERR_SYNTAX                                                      \
	(-1)                 /* unbalanced quote, comment or <>, or            \
			      * a control byte (not TAB/CR/LF) */
#define SUBMIT_ERR_LONG (-2) /* an address over SUBMIT_ADDR_MAX */

/* Parse an RFC 5322 address-list (a To/Cc/Bcc value, folded lines
 * allowed): mailboxes "addr", "Name <addr>", "<@route:addr>", groups
 * "name: a, b;", comments anywhere. fn gets each address (the addr-spec
 * with comments and folding whitespace removed, quotes kept), NUL-
 * terminated; an empty address (as in "undisclosed-recipients:;") is
 * not reported. A nonzero return from fn stops the walk and is returned.
 * Returns 0, or SUBMIT_ERR_*: the addresses before the error were
 * reported (none when the input holds a control byte). */
int submit_addr_list(const char *p, size_t n,
		     int (*fn)(const char *addr, size_t len, void *arg),
		     void *arg);

#endif
