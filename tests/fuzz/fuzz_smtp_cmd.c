/* fuzz_smtp_cmd - libFuzzer harness for SMTP command framing and parsing.
 *
 * The first byte picks the options (extensions, strict, SMTPUTF8, bare-LF
 * mode); the rest is a client's byte stream, cut into lines by
 * smtp_line_next() and each line parsed as a command, MAIL/RCPT/BDAT
 * arguments included. Properties beyond "no crash":
 *   - framing consumes the input exactly, lines stay within the limit and
 *     hold no LF; fed byte by byte, framing finds the same lines;
 *   - every result slice lies inside its line; an accepted address is at
 *     most SMTP_ADDR_MAX bytes, holds no NUL, CR, LF or unquoted space,
 *     and is non-ASCII only with SMTPUTF8;
 *   - every error code has a 4xx/5xx reply whose enhanced code agrees;
 *   - accepted xtext (ENVID, ORCPT, AUTH) decodes, and decode(encode(x))
 *     gives x back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "smtpd/smtp_cmd.h"

static void inside(struct smtp_slice s, const char *p, size_t n)
{
	if (s.n == 0)
		return;
	if (s.p < p || s.p + s.n > p + n)
		abort();
}

static void check_reply(int err, enum smtp_verb verb)
{
	const struct smtp_reply *r = smtp_cmd_reply(err, verb);

	if (r->code < 400 || r->code >= 600 || r->text == NULL ||
	    r->enh[0] != '0' + r->code / 100)
		abort();
}

static void check_path(const struct smtp_path *p, int smtputf8)
{
	int quoted = 0;

	if (p->addr.n > SMTP_ADDR_MAX)
		abort();
	if (p->utf8 && !smtputf8)
		abort();
	for (size_t i = 0; i < p->addr.n; i++) {
		char c = p->addr.p[i];

		if (c == 0 || c == '\r' || c == '\n')
			abort();
		if (c == '"')
			quoted = !quoted;
		if (c == '\\' && quoted)
			i++;
		else if ((c == ' ' || c == '<' || c == '>') && !quoted)
			abort();
	}
	if (p->local.n + (p->domain.n ? p->domain.n + 1 : 0) != p->addr.n)
		abort();
}

/* Common to MAIL and RCPT: the reply, the slices, the path. */
static void check_arg(int r, enum smtp_verb verb, const struct smtp_slice *bad,
		      const struct smtp_path *path, int smtputf8,
		      const char *line, size_t n)
{
	check_reply(r, verb);
	inside(*bad, line, n);
	if (r != 0)
		return;
	inside(path->addr, line, n);
	check_path(path, smtputf8);
}

/* decode(x) must work; decode(encode(decode(x))) == decode(x). */
static void check_xtext(struct smtp_slice s)
{
	struct buf a, b, c;

	if (s.n == 0)
		return;
	buf_init(&a, 4096);
	buf_init(&b, 4096 * 3);
	buf_init(&c, 4096);
	if (smtp_xtext_decode(&a, s.p, s.n) == 0) {
		if (smtp_xtext_encode(&b, buf_str(&a), buf_len(&a)) != 0 ||
		    smtp_xtext_decode(&c, buf_str(&b), buf_len(&b)) != 0 ||
		    buf_len(&a) != buf_len(&c) ||
		    memcmp(buf_str(&a), buf_str(&c), buf_len(&a)) != 0)
			abort();
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

static void parse_line(const char *line, size_t n,
		       const struct smtp_cmd_opts *o)
{
	struct smtp_cmd c;
	int r = smtp_cmd_parse(&c, line, n, 0);

	check_reply(r, c.verb);
	inside(c.name, line, n);
	inside(c.arg, line, n);
	if (r != 0)
		return;
	if (c.verb == SMTP_VERB_MAIL) {
		struct smtp_mail m;

		r = smtp_cmd_parse_mail(&m, c.arg.p, c.arg.n, o);
		check_arg(r, c.verb, &m.bad, &m.path, m.smtputf8, line, n);
		if (r == 0) {
			check_xtext(m.envid);
			if (!(m.auth.n == 2 && m.auth.p[0] == '<'))
				check_xtext(m.auth);
			if (m.has_size && m.size > INT64_MAX)
				abort();
		}
	} else if (c.verb == SMTP_VERB_RCPT) {
		struct smtp_rcpt rc;

		r = smtp_cmd_parse_rcpt(&rc, c.arg.p, c.arg.n, o);
		check_arg(r, c.verb, &rc.bad, &rc.path, o->smtputf8, line, n);
		if (r == 0) {
			if (rc.path.addr.n == 0)
				abort();
			if ((rc.notify & SMTP_NOTIFY_NEVER) &&
			    rc.notify != SMTP_NOTIFY_NEVER)
				abort();
			if (!o->smtputf8)
				check_xtext(rc.orcpt);
		}
	} else if (c.verb == SMTP_VERB_BDAT) {
		uint64_t count;
		int last;

		r = smtp_cmd_parse_bdat(&count, &last, c.arg.p, c.arg.n);
		check_reply(r, c.verb);
		if (r == 0 && count > INT64_MAX)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cmd_opts o;
	struct smtp_line_reader lr, lb;
	const char *in;
	size_t n, off = 0, boff = 0, blen = 0;
	unsigned ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	in = (const char *)data + 1;
	n = size - 1;
	o.ext = ctl & 0x3f;
	o.strict = (ctl & 0x40) != 0;
	o.smtputf8 = (ctl & 0x80) != 0;
	smtp_line_init(&lr, (enum smtp_bare)(ctl % 3), SMTP_CMD_LINE_MAX_MIN);
	smtp_line_init(&lb, (enum smtp_bare)(ctl % 3), SMTP_CMD_LINE_MAX_MIN);

	/* the whole input also as one line */
	parse_line(in, n, &o);

	while (off < n) {
		size_t len, used;
		int r = smtp_line_next(&lr, in + off, n - off, &len, &used);

		if (used > n - off || len > lr.max || len > used)
			abort();
		if (memchr(in + off, '\n', len) != NULL)
			abort();
		if (r == SMTP_LINE_MORE) {
			off += used;
			break;
		}
		/* the same line, found byte by byte */
		{
			int rb = SMTP_LINE_MORE;
			size_t lenb = 0, usedb = 0;

			while (rb == SMTP_LINE_MORE && boff + blen < n) {
				blen++;
				rb = smtp_line_next(&lb, in + boff, blen, &lenb,
						    &usedb);
				if (rb == SMTP_LINE_MORE && usedb > 0) {
					boff += usedb;
					blen -= usedb;
				}
			}
			if (rb != r || lenb != len ||
			    boff + usedb != off + used)
				abort();
			boff += usedb;
			blen = 0;
		}
		if (r == SMTP_LINE_OK || r == SMTP_CMD_ERR_BARE_LF)
			parse_line(in + off, len, &o);
		else if (r != SMTP_CMD_ERR_TOO_LONG)
			abort();
		off += used;
	}
	if (off > n)
		abort();
	return 0;
}
