/* smtp_cmd - SMTP command lines: framing, verbs, MAIL/RCPT/BDAT arguments.
 *
 * Standards: RFC 5321 sections 2.3.8 (lines), 4.1.1 (commands), 4.1.2
 * (path, mailbox and parameter grammar), 4.1.3 (address literals), 4.5.3.1
 * (size limits) and Appendix C (source routes); RFC 1870 (SIZE), RFC 6152
 * (8BITMIME), RFC 3030 (BDAT, BINARYMIME), RFC 3461 (DSN parameters and
 * xtext), RFC 4954 section 5 (AUTH=), RFC 6531 (SMTPUTF8: UTF-8 in atext,
 * qtext and domain labels), RFC 6533 (utf-8 ORCPT), RFC 3629 (UTF-8), RFC
 * 3463 (enhanced status codes). Reply wording follows Postfix's smtpd.
 *
 * Trust: every byte is the client's. Nothing is read past the length given
 * and no NUL is needed; the only copy is an IPv6 literal into a small stack
 * buffer for inet_pton(3). */
#include "smtp_cmd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* ---- bytes ---- */

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}
static int is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}
static int is_space(int c)
{
	return c == ' ' || c == '\t';
}
static int is_8bit(int c)
{
	return c >= 0x80;
}

static int upper(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* RFC 5322 atext, widened by RFC 6531 to UTF-8 bytes. */
static int is_atext(int c)
{
	return is_alnum(c) || is_8bit(c) ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* s[0..n) equals the upper-case word w, ignoring ASCII case. */
static int word_eq(const char *s, size_t n, const char *w)
{
	size_t wn = strlen(w);

	if (n != wn)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (upper((unsigned char)s[i]) != w[i])
			return 0;
	return 1;
}

/* RFC 3629 section 4: no overlong forms, no surrogates, <= U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			unsigned t = s[i + j];

			if (t < (j == 1 ? lo : 0x80) ||
			    t > (j == 1 ? hi : 0xbf))
				return 0;
		}
		i += k + 1;
	}
	return 1;
}

static struct smtp_slice slice(const char *p, size_t n)
{
	struct smtp_slice s = {p, n};

	return s;
}

/* ---- 1. framing ---- */

void smtp_line_init(struct smtp_line_reader *r, enum smtp_bare bare, size_t max)
{
	r->bare = bare;
	r->max = smtp_limit(max, SMTP_CMD_LINE_MAX, SMTP_CMD_LINE_MAX_MIN,
			    SMTP_CMD_LINE_MAX_MAX);
	r->skipping = 0;
}

/* The limit counts the bytes before the terminator (LF or CRLF); further
 * CRs before it count too, and are then dropped as Postfix drops them. */
int smtp_line_next(struct smtp_line_reader *r, const char *p, size_t n,
		   size_t *len, size_t *used)
{
	const char *lf = memchr(p, '\n', n);
	size_t end, raw;
	int crlf;

	*len = 0;
	if (lf == NULL) {
		/* max line bytes and the CR of a CRLF may still be waiting */
		if (r->skipping || n > r->max + 1) {
			r->skipping = 1;
			*used = n;
		} else {
			*used = 0;
		}
		return SMTP_LINE_MORE;
	}
	end = (size_t)(lf - p);
	*used = end + 1;
	crlf = end > 0 && p[end - 1] == '\r';
	raw = crlf ? end - 1 : end;
	if (r->skipping || raw > r->max) {
		r->skipping = 0;
		return SMTP_CMD_ERR_TOO_LONG;
	}
	while (raw > 0 && p[raw - 1] == '\r')
		raw--;
	*len = raw;
	if (!crlf && r->bare == SMTP_BARE_REJECT)
		return SMTP_CMD_ERR_BARE_LF;
	return SMTP_LINE_OK;
}

/* ---- 2. verbs ---- */

#define ARG_NONE 0 /* no argument allowed */
#define ARG_OPT  1 /* argument optional */
#define ARG_REQ  2 /* argument required */

/* One row per verb, in enum order: name, argument rule, syntax reply. */
static const struct verb_row {
	const char *name;
	int arg;
	struct smtp_reply syntax;
} verb_table[SMTP_VERB_COUNT] = {
	[SMTP_VERB_NONE] = {"",
			    ARG_OPT,
			    {500, "5.5.2", "Error: bad syntax", 0}},
	[SMTP_VERB_EHLO] = {"EHLO",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: EHLO hostname", 0}},
	[SMTP_VERB_HELO] = {"HELO",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: HELO hostname", 0}},
	[SMTP_VERB_MAIL] = {"MAIL",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: MAIL FROM:<address>", 0}},
	[SMTP_VERB_RCPT] = {"RCPT",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: RCPT TO:<address>", 0}},
	[SMTP_VERB_DATA] = {"DATA",
			    ARG_NONE,
			    {501, "5.5.4", "Syntax: DATA", 0}},
	/* A bad BDAT leaves the chunk size unknown: Postfix disconnects. */
	[SMTP_VERB_BDAT] = {"BDAT",
			    ARG_REQ,
			    {521, "5.5.4", "Syntax: BDAT count [LAST]", 0}},
	[SMTP_VERB_RSET] = {"RSET",
			    ARG_NONE,
			    {501, "5.5.4", "Syntax: RSET", 0}},
	/* RFC 5321 4.1.1.9: NOOP may carry a string, to be ignored. */
	[SMTP_VERB_NOOP] = {"NOOP", ARG_OPT, {501, "5.5.4", "Syntax: NOOP", 0}},
	/* Lenient: a client that wants to leave is let go. */
	[SMTP_VERB_QUIT] = {"QUIT", ARG_OPT, {501, "5.5.4", "Syntax: QUIT", 0}},
	[SMTP_VERB_VRFY] = {"VRFY",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: VRFY address", 0}},
	[SMTP_VERB_ETRN] = {"ETRN",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: ETRN domain", 0}},
	[SMTP_VERB_HELP] = {"HELP", ARG_OPT, {501, "5.5.4", "Syntax: HELP", 0}},
	[SMTP_VERB_STARTTLS] = {"STARTTLS",
				ARG_NONE,
				{501, "5.5.4", "Syntax: STARTTLS", 0}},
	[SMTP_VERB_AUTH] = {"AUTH",
			    ARG_REQ,
			    {501, "5.5.4", "Syntax: AUTH mechanism", 0}},
};

const char *smtp_verb_name(enum smtp_verb verb)
{
	if ((unsigned)verb >= SMTP_VERB_COUNT)
		return "";
	return verb_table[verb].name;
}

int smtp_cmd_parse(struct smtp_cmd *out, const char *line, size_t n, size_t max)
{
	size_t i = 0, v, end;

	memset(out, 0, sizeof(*out));
	if (max == 0)
		max = SMTP_CMD_LINE_MAX;
	if (n > max)
		return SMTP_CMD_ERR_TOO_LONG;
	for (size_t k = 0; k < n; k++)
		if (line[k] == 0 || line[k] == '\r' || line[k] == '\n')
			return SMTP_CMD_ERR_BAD_CHAR;
	while (i < n && is_space((unsigned char)line[i]))
		i++;
	if (i == n)
		return SMTP_CMD_ERR_EMPTY;
	v = i;
	while (i < n && !is_space((unsigned char)line[i]))
		i++;
	out->name = slice(line + v, i - v);
	for (int k = SMTP_VERB_NONE + 1; k < SMTP_VERB_COUNT; k++)
		if (word_eq(line + v, i - v, verb_table[k].name))
			out->verb = (enum smtp_verb)k;
	if (out->verb == SMTP_VERB_NONE)
		return SMTP_CMD_ERR_UNKNOWN;
	while (i < n && is_space((unsigned char)line[i]))
		i++;
	end = n;
	while (end > i && is_space((unsigned char)line[end - 1]))
		end--;
	out->arg = slice(line + i, end - i);
	if ((verb_table[out->verb].arg == ARG_NONE && out->arg.n > 0) ||
	    (verb_table[out->verb].arg == ARG_REQ && out->arg.n == 0))
		return SMTP_CMD_ERR_SYNTAX;
	return 0;
}

/* ---- 3. addresses ---- */

/* Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), a label also of UTF-8 bytes (RFC 6531 U-label; the
 * caller checks the UTF-8 itself). Advances *pos past the domain. */
static int scan_domain(const char *s, size_t n, size_t *pos)
{
	size_t i = *pos, start = i;

	for (;;) {
		size_t l = i;

		if (i >= n || !(is_alnum((unsigned char)s[i]) ||
				is_8bit((unsigned char)s[i])))
			return -1;
		while (i < n && (is_alnum((unsigned char)s[i]) ||
				 is_8bit((unsigned char)s[i]) || s[i] == '-'))
			i++;
		if (s[i - 1] == '-' || i - l > SMTP_LABEL_MAX)
			return -1;
		if (i >= n || s[i] != '.')
			break;
		i++;
	}
	if (i - start > SMTP_DOMAIN_MAX)
		return -1;
	*pos = i;
	return 0;
}

/* Snum "." Snum "." Snum "." Snum, each 0..255 without leading zeros. */
static int ipv4_valid(const char *s, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t d = i;

		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			d = ++i;
		}
		while (i < n && is_digit((unsigned char)s[i]) && i - d < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == d || v > 255 || (i - d > 1 && s[d] == '0'))
			return 0;
	}
	return i == n;
}

/* address-literal (RFC 5321 4.1.3): [IPv4] or [IPv6:addr]. No other
 * Standardized-tag is registered, so a General-address-literal is bad. */
static int scan_literal(const char *s, size_t n, size_t *pos)
{
	size_t i = *pos + 1, close = i;
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	while (close < n && s[close] != ']' && s[close] != '[' &&
	       s[close] != '\\')
		close++;
	if (close >= n || s[close] != ']')
		return -1;
	if (close - i > 5 && word_eq(s + i, 5, "IPV6:")) {
		size_t len = close - i - 5;

		if (len >= sizeof(tmp))
			return -1;
		memcpy(tmp, s + i + 5, len);
		tmp[len] = 0;
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return -1;
	} else if (!ipv4_valid(s + i, close - i)) {
		return -1;
	}
	*pos = close + 1;
	return 0;
}

/* Mailbox = Local-part ["@" (Domain / address-literal)]: the domain is
 * optional as Postfix has it (an unqualified address). */
static int scan_mailbox(const char *s, size_t n, size_t *pos,
			struct smtp_path *out)
{
	size_t i = *pos, start = i, at;

	if (i < n && s[i] == '"') {
		i++;
		for (;;) {
			int c;

			if (i >= n)
				return -1;
			c = (unsigned char)s[i];
			if (c == '"')
				break;
			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (i + 1 >= n || s[i + 1] < 32 ||
				    s[i + 1] > 126)
					return -1;
				i += 2;
			} else if ((c >= 32 && c <= 126) || is_8bit(c)) {
				i++;
			} else {
				return -1;
			}
		}
		i++;
	} else {
		/* Dot-string = Atom *("." Atom) */
		for (;;) {
			size_t a = i;

			while (i < n && is_atext((unsigned char)s[i]))
				i++;
			if (i == a)
				return -1;
			if (i >= n || s[i] != '.')
				break;
			i++;
		}
	}
	at = i;
	out->local = slice(s + start, at - start);
	out->domain = slice(s + at, 0);
	if (i < n && s[i] == '@') {
		i++;
		if (i < n && s[i] == '[') {
			if (scan_literal(s, n, &i) != 0)
				return -1;
		} else if (scan_domain(s, n, &i) != 0) {
			return -1;
		}
		out->domain = slice(s + at + 1, i - at - 1);
	}
	out->addr = slice(s + start, i - start);
	if (out->addr.n > SMTP_ADDR_MAX)
		return -1;
	for (size_t k = start; k < i; k++)
		if (is_8bit((unsigned char)s[k]))
			out->utf8 = 1;
	*pos = i;
	return 0;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">", or "<>" when allowed (addr.n is
 * then 0), or (not strict) a bare Mailbox. Leaves *pos after the path. */
static int scan_path(const char *s, size_t n, size_t *pos,
		     struct smtp_path *out, int strict, int allow_null)
{
	size_t i = *pos;

	memset(out, 0, sizeof(*out));
	if (i < n && s[i] == '<') {
		out->bracketed = 1;
		i++;
		if (i < n && s[i] == '>') {
			if (!allow_null)
				return -1;
			out->addr = out->local = out->domain = slice(s + i, 0);
			*pos = i + 1;
			return 0;
		}
		if (i < n && s[i] == '@') {
			/* A-d-l = At-domain *( "," At-domain ), dropped. */
			for (;;) {
				i++;
				if (scan_domain(s, n, &i) != 0)
					return -1;
				if (i < n && s[i] == ',' && i + 1 < n &&
				    s[i + 1] == '@') {
					i++;
					continue;
				}
				break;
			}
			if (i >= n || s[i] != ':')
				return -1;
			i++;
			out->routed = 1;
		}
		if (scan_mailbox(s, n, &i, out) != 0)
			return -1;
		if (i >= n || s[i] != '>')
			return -1;
		*pos = i + 1;
		return 0;
	}
	if (strict || scan_mailbox(s, n, &i, out) != 0)
		return -1;
	*pos = i;
	/* "Name <a@b>": a phrase, which we do not take, not a parameter */
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	return i < n && s[i] == '<' ? -1 : 0;
}

/* xtext check (RFC 3461 4): hexchar "+" 2(%x30-39 / %x41-46), xchar
 * 33..126 but "+" and "=". printable: the decoded bytes must be 32..126
 * (Postfix demands this of ENVID). utf8: raw UTF-8 is allowed too (RFC
 * 6533 utf-8-addr-unitext). */
static int xtext_ok(const char *s, size_t n, int printable, int utf8)
{
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			int v = 0;

			if (n - i < 3)
				return 0;
			for (int k = 1; k <= 2; k++) {
				int h = (unsigned char)s[i + k];

				if (is_digit(h))
					v = v * 16 + h - '0';
				else if (h >= 'A' && h <= 'F')
					v = v * 16 + h - 'A' + 10;
				else
					return 0;
			}
			if (printable && (v < 32 || v > 126))
				return 0;
			i += 2;
		} else if (is_8bit(c)) {
			if (!utf8)
				return 0;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return utf8 ? utf8_valid((const unsigned char *)s, n) : 1;
}

/* One ESMTP parameter: keyword and value (has_value when "=" was seen). */
struct param {
	struct smtp_slice all, key, val;
	int has_value;
};

/* Next space-separated parameter after *pos; 0 when none is left. A bad
 * keyword (esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")) comes
 * back with key.n == 0. */
static int next_param(const char *s, size_t n, size_t *pos, struct param *p)
{
	size_t i = *pos, start, eq;

	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (i == n)
		return 0;
	start = i;
	while (i < n && !is_space((unsigned char)s[i]))
		i++;
	*pos = i;
	memset(p, 0, sizeof(*p));
	p->all = slice(s + start, i - start);
	for (eq = start; eq < i && s[eq] != '='; eq++)
		;
	p->key = slice(s + start, eq - start);
	if (eq < i) {
		p->has_value = 1;
		p->val = slice(s + eq + 1, i - eq - 1);
	}
	if (!is_alnum((unsigned char)s[start]))
		p->key.n = 0;
	for (size_t k = start; k < eq; k++)
		if (!is_alnum((unsigned char)s[k]) && s[k] != '-')
			p->key.n = 0;
	return 1;
}

/* The argument starts with word (case-insensitive) and then, after
 * optional spaces, the path. */
static int skip_prefix(const char *s, size_t n, const char *word, size_t *pos)
{
	size_t w = strlen(word), i;

	if (n < w || !word_eq(s, w, word))
		return -1;
	i = w;
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (i == n)
		return -1;
	*pos = i;
	return 0;
}

/* After the path: the end, or a space before the parameters. */
static int path_ends(const char *s, size_t n, size_t i)
{
	return i == n || is_space((unsigned char)s[i]);
}

/* SIZE=1*20DIGIT; all digits but out of range is the range error (as
 * Postfix's off_t overflow). */
static int parse_size(const struct smtp_slice *v, uint64_t *size)
{
	uint64_t x = 0;

	if (v->n == 0)
		return SMTP_CMD_ERR_SIZE;
	for (size_t i = 0; i < v->n; i++)
		if (!is_digit((unsigned char)v->p[i]))
			return SMTP_CMD_ERR_SIZE;
	for (size_t i = 0; i < v->n; i++) {
		unsigned d = (unsigned)(v->p[i] - '0');

		if (x > (UINT64_C(0x7fffffffffffffff) - d) / 10)
			return SMTP_CMD_ERR_SIZE_RANGE;
		x = x * 10 + d;
	}
	*size = x;
	return 0;
}

/* UTF-8 policy for a path: non-ASCII needs SMTPUTF8 and must be valid. */
static int path_utf8(const struct smtp_path *path, int smtputf8)
{
	if (!path->utf8)
		return 0;
	if (!smtputf8)
		return SMTP_CMD_ERR_NEED_UTF8;
	if (!utf8_valid((const unsigned char *)path->addr.p, path->addr.n))
		return SMTP_CMD_ERR_BAD_UTF8;
	return 0;
}

static int mail_param(struct smtp_mail *m, const struct param *p, unsigned ext)
{
	const struct smtp_slice *k = &p->key, *v = &p->val;

	if (word_eq(k->p, k->n, "SIZE") && (ext & SMTP_EXT_SIZE)) {
		if (m->has_size)
			return SMTP_CMD_ERR_DUPLICATE;
		m->has_size = 1;
		return parse_size(v, &m->size);
	}
	if (word_eq(k->p, k->n, "BODY") && p->has_value &&
	    (ext & (SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME))) {
		enum smtp_body b = SMTP_BODY_NONE;

		if (m->body != SMTP_BODY_NONE)
			return SMTP_CMD_ERR_DUPLICATE;
		if (word_eq(v->p, v->n, "7BIT") && (ext & SMTP_EXT_8BITMIME))
			b = SMTP_BODY_7BIT;
		else if (word_eq(v->p, v->n, "8BITMIME") &&
			 (ext & SMTP_EXT_8BITMIME))
			b = SMTP_BODY_8BITMIME;
		else if (word_eq(v->p, v->n, "BINARYMIME") &&
			 (ext & SMTP_EXT_BINARYMIME))
			b = SMTP_BODY_BINARYMIME;
		if (b == SMTP_BODY_NONE)
			return SMTP_CMD_ERR_UNSUPPORTED;
		m->body = b;
		return 0;
	}
	if (word_eq(k->p, k->n, "SMTPUTF8") && !p->has_value &&
	    (ext & SMTP_EXT_SMTPUTF8)) {
		if (m->smtputf8)
			return SMTP_CMD_ERR_DUPLICATE;
		m->smtputf8 = 1;
		return 0;
	}
	if (word_eq(k->p, k->n, "RET") || word_eq(k->p, k->n, "ENVID")) {
		int ret = k->n == 3;

		if (!(ext & SMTP_EXT_DSN))
			return SMTP_CMD_ERR_DSN_OFF;
		if (ret) {
			if (m->ret != SMTP_RET_NONE)
				return SMTP_CMD_ERR_RET;
			if (word_eq(v->p, v->n, "FULL"))
				m->ret = SMTP_RET_FULL;
			else if (word_eq(v->p, v->n, "HDRS"))
				m->ret = SMTP_RET_HDRS;
			else
				return SMTP_CMD_ERR_RET;
			return 0;
		}
		if (m->envid.p != NULL || v->n == 0 || v->n > SMTP_ENVID_MAX ||
		    !xtext_ok(v->p, v->n, 1, 0))
			return SMTP_CMD_ERR_ENVID;
		m->envid = *v;
		return 0;
	}
	if (word_eq(k->p, k->n, "AUTH") && (ext & SMTP_EXT_AUTH)) {
		if (m->auth.p != NULL)
			return SMTP_CMD_ERR_AUTH_TWICE;
		if (!(v->n == 2 && v->p[0] == '<' && v->p[1] == '>') &&
		    (v->n == 0 || v->n > SMTP_AUTH_PARAM_MAX ||
		     !xtext_ok(v->p, v->n, 0, 0)))
			return SMTP_CMD_ERR_AUTH;
		m->auth = *v;
		return 0;
	}
	return SMTP_CMD_ERR_UNSUPPORTED;
}

int smtp_cmd_parse_mail(struct smtp_mail *out, const char *arg, size_t n,
			const struct smtp_cmd_opts *opts)
{
	struct param p;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (skip_prefix(arg, n, "FROM:", &i) != 0)
		return SMTP_CMD_ERR_SYNTAX;
	if (scan_path(arg, n, &i, &out->path, opts->strict, 1) != 0 ||
	    !path_ends(arg, n, i))
		return SMTP_CMD_ERR_SENDER;
	while (next_param(arg, n, &i, &p)) {
		if (p.key.n == 0)
			r = SMTP_CMD_ERR_UNSUPPORTED;
		else
			r = mail_param(out, &p, opts->ext);
		if (r != 0) {
			out->bad = p.all;
			return r;
		}
	}
	return path_utf8(&out->path, out->smtputf8);
}

/* NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) */
static int parse_notify(const struct smtp_slice *v, unsigned *mask)
{
	size_t i = 0;
	unsigned m = 0;

	if (v->n == 0)
		return SMTP_CMD_ERR_NOTIFY;
	while (i <= v->n) {
		size_t s = i;

		while (i < v->n && v->p[i] != ',')
			i++;
		if (word_eq(v->p + s, i - s, "NEVER"))
			m |= SMTP_NOTIFY_NEVER;
		else if (word_eq(v->p + s, i - s, "SUCCESS"))
			m |= SMTP_NOTIFY_SUCCESS;
		else if (word_eq(v->p + s, i - s, "FAILURE"))
			m |= SMTP_NOTIFY_FAILURE;
		else if (word_eq(v->p + s, i - s, "DELAY"))
			m |= SMTP_NOTIFY_DELAY;
		else
			return SMTP_CMD_ERR_NOTIFY;
		i++;
	}
	if ((m & SMTP_NOTIFY_NEVER) && m != SMTP_NOTIFY_NEVER)
		return SMTP_CMD_ERR_NOTIFY;
	*mask = m;
	return 0;
}

/* ORCPT = addr-type ";" xtext, addr-type an atom ("rfc822", "utf-8"). */
static int parse_orcpt(struct smtp_rcpt *r, const struct smtp_slice *v,
		       int smtputf8)
{
	size_t semi = 0;

	if (v->n == 0 || v->n > SMTP_ORCPT_MAX)
		return SMTP_CMD_ERR_ORCPT;
	while (semi < v->n && v->p[semi] != ';')
		semi++;
	if (semi == 0 || semi + 1 >= v->n)
		return SMTP_CMD_ERR_ORCPT;
	for (size_t k = 0; k < semi; k++)
		if (!is_alnum((unsigned char)v->p[k]) && v->p[k] != '-')
			return SMTP_CMD_ERR_ORCPT;
	if (!xtext_ok(v->p + semi + 1, v->n - semi - 1, 0, smtputf8))
		return SMTP_CMD_ERR_ORCPT;
	r->orcpt_type = slice(v->p, semi);
	r->orcpt = slice(v->p + semi + 1, v->n - semi - 1);
	return 0;
}

static int rcpt_param(struct smtp_rcpt *r, const struct param *p,
		      const struct smtp_cmd_opts *opts)
{
	int notify = word_eq(p->key.p, p->key.n, "NOTIFY");
	int orcpt = word_eq(p->key.p, p->key.n, "ORCPT");

	if (!notify && !orcpt)
		return SMTP_CMD_ERR_UNSUPPORTED;
	if (!(opts->ext & SMTP_EXT_DSN))
		return SMTP_CMD_ERR_DSN_OFF;
	if (notify)
		return r->notify ? SMTP_CMD_ERR_NOTIFY
				 : parse_notify(&p->val, &r->notify);
	if (r->orcpt_type.p != NULL)
		return SMTP_CMD_ERR_ORCPT;
	return parse_orcpt(r, &p->val, opts->smtputf8);
}

int smtp_cmd_parse_rcpt(struct smtp_rcpt *out, const char *arg, size_t n,
			const struct smtp_cmd_opts *opts)
{
	struct param p;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (skip_prefix(arg, n, "TO:", &i) != 0)
		return SMTP_CMD_ERR_SYNTAX;
	if (scan_path(arg, n, &i, &out->path, opts->strict, 0) != 0 ||
	    !path_ends(arg, n, i))
		return SMTP_CMD_ERR_RECIPIENT;
	out->postmaster =
		out->path.domain.n == 0 &&
		word_eq(out->path.local.p, out->path.local.n, "POSTMASTER");
	while (next_param(arg, n, &i, &p)) {
		if (p.key.n == 0)
			r = SMTP_CMD_ERR_UNSUPPORTED;
		else
			r = rcpt_param(out, &p, opts);
		if (r != 0) {
			out->bad = p.all;
			return r;
		}
	}
	return path_utf8(&out->path, opts->smtputf8);
}

int smtp_cmd_parse_bdat(uint64_t *count, int *last, const char *arg, size_t n)
{
	size_t i = 0;
	struct smtp_slice num;
	int r;

	*count = 0;
	*last = 0;
	while (i < n && is_digit((unsigned char)arg[i]))
		i++;
	if (i == 0 || i > SMTP_SIZE_DIGITS)
		return SMTP_CMD_ERR_SYNTAX;
	num = slice(arg, i);
	while (i < n && is_space((unsigned char)arg[i]))
		i++;
	if (i < n) {
		if (!is_space((unsigned char)arg[num.n]) ||
		    !word_eq(arg + i, n - i, "LAST"))
			return SMTP_CMD_ERR_SYNTAX;
		*last = 1;
	}
	r = parse_size(&num, count);
	return r == 0 ? 0 : SMTP_CMD_ERR_SIZE_RANGE;
}

/* ---- 4. xtext ---- */

int smtp_xtext_decode(struct buf *out, const char *s, size_t n)
{
	if (!xtext_ok(s, n, 0, 0))
		return SMTP_CMD_ERR_XTEXT;
	if (out == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			int hi = s[i + 1], lo = s[i + 2];

			c = ((is_digit(hi) ? hi - '0' : hi - 'A' + 10) << 4) |
			    (is_digit(lo) ? lo - '0' : lo - 'A' + 10);
			i += 2;
		}
		if (buf_putc(out, c) != 0)
			return BUF_ERR_FULL;
	}
	return 0;
}

int smtp_xtext_encode(struct buf *out, const void *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = s;

	for (size_t i = 0; i < n; i++) {
		int c = p[i];
		int r;

		if (c < 33 || c > 126 || c == '+' || c == '=') {
			char e[3] = {'+', hex[c >> 4], hex[c & 15]};

			r = buf_append(out, e, sizeof(e));
		} else {
			r = buf_putc(out, c);
		}
		if (r != 0)
			return BUF_ERR_FULL;
	}
	return 0;
}

/* ---- 5. replies ---- */

static const struct smtp_reply cmd_replies[] = {
	[-SMTP_CMD_ERR_EMPTY] = {500, "5.5.2", "Error: bad syntax", 0},
	[-SMTP_CMD_ERR_TOO_LONG] = {500, "5.5.2", "Error: line too long", 0},
	[-SMTP_CMD_ERR_BAD_CHAR] = {500, "5.5.2", "Error: bad syntax", 0},
	/* smtpd_forbid_bare_newline_reject_code replaces 550 (521: close) */
	[-SMTP_CMD_ERR_BARE_LF] = {550, "5.5.2", "Error: bare <LF> received",
				   0},
	[-SMTP_CMD_ERR_UNKNOWN] = {502, "5.5.2",
				   "Error: command not recognized", 0},
	[-SMTP_CMD_ERR_SYNTAX] = {501, "5.5.4", "Syntax error", 0},
	[-SMTP_CMD_ERR_SENDER] = {501, "5.1.7", "Bad sender address syntax", 0},
	[-SMTP_CMD_ERR_RECIPIENT] = {501, "5.1.3",
				     "Bad recipient address syntax", 0},
	[-SMTP_CMD_ERR_NEED_UTF8] = {553, "5.6.7",
				     "Must declare SMTPUTF8 to send unicode "
				     "address",
				     0},
	[-SMTP_CMD_ERR_BAD_UTF8] = {500, "5.5.2", "Error: bad UTF-8 syntax", 0},
	[-SMTP_CMD_ERR_UNSUPPORTED] = {555, "5.5.4", "Unsupported option", 1},
	[-SMTP_CMD_ERR_DUPLICATE] = {501, "5.5.4", "Error: duplicate option",
				     1},
	[-SMTP_CMD_ERR_SIZE] = {501, "5.5.4", "Bad message size syntax", 0},
	[-SMTP_CMD_ERR_SIZE_RANGE] = {552, "5.3.4",
				      "Message size exceeds file system "
				      "imposed limit",
				      0},
	[-SMTP_CMD_ERR_RET] = {501, "5.5.4", "Bad RET parameter syntax", 0},
	[-SMTP_CMD_ERR_ENVID] = {501, "5.5.4", "Bad ENVID parameter syntax", 0},
	[-SMTP_CMD_ERR_NOTIFY] = {501, "5.5.4",
				  "Error: Bad NOTIFY parameter syntax", 0},
	[-SMTP_CMD_ERR_ORCPT] = {501, "5.5.4",
				 "Error: Bad ORCPT parameter syntax", 0},
	[-SMTP_CMD_ERR_AUTH] = {501, "5.5.4", "Bad AUTH parameter syntax", 0},
	[-SMTP_CMD_ERR_AUTH_TWICE] = {503, "5.5.4",
				      "Error: multiple AUTH= options", 0},
	[-SMTP_CMD_ERR_DSN_OFF] = {501, "5.7.1", "DSN support is disabled", 0},
	[-SMTP_CMD_ERR_XTEXT] = {501, "5.5.4", "Bad xtext syntax", 0},
};

_Static_assert(sizeof(cmd_replies) / sizeof(cmd_replies[0]) ==
		       1 - SMTP_CMD_ERR_LAST,
	       "one reply per error code");

const struct smtp_reply *smtp_cmd_reply(int err, enum smtp_verb verb)
{
	if (err == SMTP_CMD_ERR_SYNTAX && (unsigned)verb < SMTP_VERB_COUNT &&
	    verb != SMTP_VERB_NONE)
		return &verb_table[verb].syntax;
	if (err >= 0 || err < SMTP_CMD_ERR_LAST)
		return &cmd_replies[-SMTP_CMD_ERR_EMPTY];
	return &cmd_replies[-err];
}

int smtp_reply_format(struct buf *out, const struct smtp_reply *r,
		      const char *detail, size_t n)
{
	buf_printf(out, "%d %s %s", r->code, r->enh, r->text);
	if (r->detail && detail != NULL) {
		buf_puts(out, ": ");
		if (n > SMTP_REPLY_DETAIL_MAX)
			n = SMTP_REPLY_DETAIL_MAX;
		for (size_t i = 0; i < n; i++) {
			int c = (unsigned char)detail[i];

			buf_putc(out, c >= 32 && c <= 126 ? c : '?');
		}
	}
	return buf_error(out);
}
