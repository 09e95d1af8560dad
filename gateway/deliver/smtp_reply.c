/* smtp_reply - read SMTP replies (RFC 5321 4.2, enhanced status codes
 * RFC 3463) and EHLO keywords (RFC 5321 4.1.1.1, RFC 1870 SIZE, RFC 2920
 * PIPELINING, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN).
 *
 * Trusts nothing: every byte comes from the network. */
#include <string.h>

#include "core/str.h"
#include "deliver/smtp_reply.h"
#include "deliver/smtp_sasl.h"

void smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->done = 0;
	r->err = 0;
	r->dsn[0] = 0;
	r->text[0] = 0;
	r->len = 0;
	r->lines = 0;
	r->garbage = 0;
	r->line_len = 0;
	r->line_cut = 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* dsn_parse - "C.S.D" (class 2, 4 or 5; up to 3 digits, then up to 3)
 * at the start of s[0..n), ending there or at a space. Its length or 0. */
static size_t dsn_parse(const char *s, size_t n)
{
	size_t i = 0, k;
	int part;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (k = 0; i < n && is_digit(s[i]) && k < 3; i++, k++)
			;
		if (k == 0)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

/* end_line - one complete line: 1 when it ends the reply. */
static int end_line(struct smtp_reply *r)
{
	const char *l = r->line;
	size_t n = r->line_len, dl;
	int last;

	if (n > 0 && l[n - 1] == '\r' && !r->line_cut)
		n--;
	if (n < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2]) ||
	    (n > 3 && l[3] != ' ' && l[3] != '-') || l[0] < '1' || l[0] > '5') {
		r->garbage++;
		return 0;
	}
	if (++r->lines > SMTP_REPLY_LINES_MAX) {
		r->err = SMTP_REPLY_ERR_LINES;
		return 1;
	}
	last = n == 3 || l[3] == ' ';
	r->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (r->lines == 1 && n > 4 && (dl = dsn_parse(l + 4, n - 4)) > 0 &&
	    dl < sizeof(r->dsn)) {
		memcpy(r->dsn, l + 4, dl);
		r->dsn[dl] = 0;
	}
	if (r->len + (r->len ? 1 : 0) + n <= SMTP_REPLY_TEXT_MAX) {
		if (r->len)
			r->text[r->len++] = '\n';
		for (size_t i = 0; i < n; i++) /* text is a C string */
			r->text[r->len++] = l[i] ? l[i] : ' ';
		r->text[r->len] = 0;
	}
	if (last) {
		/* The class of the status follows the reply code. */
		char cls = l[0] == '4' || l[0] == '5' ? l[0] : '2';

		if (r->dsn[0] == 0)
			memcpy(r->dsn, "X.0.0", 6);
		r->dsn[0] = cls;
	}
	return last;
}

size_t smtp_reply_push(struct smtp_reply *r, const char *p, size_t n)
{
	size_t i;

	if (r->done || r->err)
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] != '\n') {
			if (r->line_len < SMTP_REPLY_LINE_MAX)
				r->line[r->line_len++] = p[i];
			else
				r->line_cut = 1;
			continue;
		}
		if (end_line(r)) {
			r->done = !r->err;
			r->line_len = 0;
			r->line_cut = 0;
			return i + 1;
		}
		r->line_len = 0;
		r->line_cut = 0;
	}
	return n;
}

void smtp_reply_oneline(const struct smtp_reply *r, struct buf *out)
{
	size_t start = buf_len(out), i;

	buf_append(out, r->text, r->len);
	if (buf_error(out))
		return;
	for (i = start; i < buf_len(out); i++)
		if (out->data[i] == '\n')
			out->data[i] = ' ';
}

/* The SASL mechanisms named in p[0..end) (words after "AUTH" or
 * "AUTH="). */
static unsigned ehlo_auth(const char *p, const char *end)
{
	unsigned bits = 0;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if (p - w == 5 && str_ncasecmp(w, "PLAIN", 5) == 0)
			bits |= SMTP_AUTH_PLAIN;
		if (p - w == 5 && str_ncasecmp(w, "LOGIN", 5) == 0)
			bits |= SMTP_AUTH_LOGIN;
	}
	return bits;
}

void smtp_reply_ehlo(const struct smtp_reply *r, struct smtp_ehlo *out)
{
	static const struct {
		const char *kw;
		unsigned bit;
	} kws[] = {
		{"PIPELINING", SMTP_EXT_PIPELINING},
		{"SIZE", SMTP_EXT_SIZE},
		{"8BITMIME", SMTP_EXT_8BITMIME},
		{"SMTPUTF8", SMTP_EXT_SMTPUTF8},
		{"DSN", SMTP_EXT_DSN},
		{"STARTTLS", SMTP_EXT_STARTTLS},
		{"CHUNKING", SMTP_EXT_CHUNKING},
		{"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED},
	};
	const char *p = r->text, *end = r->text + r->len;
	int first = 1;

	out->ext = 0;
	out->size = 0;
	out->auth = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *kw = p + 4, *ke;
		size_t i;

		if (!first && le - p > 4) {
			for (ke = kw; ke < le && *ke != ' '; ke++)
				;
			for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
				size_t kl = strlen(kws[i].kw);

				if ((size_t)(ke - kw) == kl &&
				    str_ncasecmp(kw, kws[i].kw, kl) == 0)
					out->ext |= kws[i].bit;
			}
			if ((size_t)(ke - kw) >= 4 &&
			    str_ncasecmp(kw, "AUTH", 4) == 0 &&
			    (ke - kw == 4 || kw[4] == '='))
				out->auth |= ehlo_auth(kw + 5, le);
			if ((size_t)(ke - kw) == 4 &&
			    str_ncasecmp(kw, "SIZE", 4) == 0) {
				unsigned long v = 0;
				const char *d = ke;
				int ok = 0;

				while (d < le && *d == ' ')
					d++;
				for (; d < le && is_digit(*d); d++, ok = 1) {
					if (v > (~0UL - 9) / 10) {
						ok = 0;
						break;
					}
					v = v * 10 + (unsigned long)(*d - '0');
				}
				out->size = ok ? v : 0;
			}
		}
		first = 0;
		p = nl ? nl + 1 : end;
	}
}
