/* submit - input line ends, header fields and address lists for sendmail.
 *
 * Follows RFC 5322 2.2 (header fields, folding), 3.4 (address-list,
 * group, angle-addr, comments) and RFC 5321 4.1.2 (a source route in an
 * angle-addr is dropped, as Appendix C allows). Trusts nothing: the input
 * is what a local user typed. */
#include "queue/submit.h"

#include <string.h>

enum { N_BOL = 0, N_MID, N_CR, N_DOT, N_DOTCR };

void submit_norm_init(struct submit_norm *s, int ignore_dots)
{
	s->ignore_dots = ignore_dots;
	s->state = N_BOL;
	s->done = 0;
}

/* One input byte at the start of a line: what to emit, the next state. */
static int norm_bol(const struct submit_norm *s, char c, char *o, size_t *k)
{
	if (c == '.' && !s->ignore_dots)
		return N_DOT;
	if (c == '\r')
		return N_CR;
	if (c == '\n') {
		o[(*k)++] = '\r';
		o[(*k)++] = '\n';
		return N_BOL;
	}
	o[(*k)++] = c;
	return N_MID;
}

int submit_norm_push(struct submit_norm *s, const char *in, size_t n,
		     struct buf *out, size_t *used)
{
	size_t i;

	for (i = 0; i < n && !s->done; i++) {
		char c = in[i], o[8];
		size_t k = 0;
		int next;

		switch (s->state) {
		case N_BOL:
			next = norm_bol(s, c, o, &k);
			break;
		case N_MID:
			if (c == '\r') {
				next = N_CR;
			} else if (c == '\n') {
				o[k++] = '\r';
				o[k++] = '\n';
				next = N_BOL;
			} else {
				o[k++] = c;
				next = N_MID;
			}
			break;
		case N_CR: /* CR ends the line, whatever follows */
			o[k++] = '\r';
			o[k++] = '\n';
			next = c == '\n' ? N_BOL : norm_bol(s, c, o, &k);
			break;
		case N_DOT:
			if (c == '\n') {
				next = N_BOL;
				s->done = 1;
			} else if (c == '\r') {
				next = N_DOTCR;
			} else {
				o[k++] = '.';
				o[k++] = c;
				next = N_MID;
			}
			break;
		default: /* N_DOTCR */
			if (c == '\n') {
				next = N_BOL;
				s->done = 1;
			} else {
				o[k++] = '.';
				o[k++] = '\r';
				o[k++] = '\n';
				next = norm_bol(s, c, o, &k);
			}
			break;
		}
		if (k > 0 && buf_append(out, o, k) != 0) {
			s->done = 0;
			*used = i;
			return BUF_ERR_FULL;
		}
		s->state = next;
	}
	*used = i;
	return 0;
}

int submit_norm_finish(struct submit_norm *s, struct buf *out)
{
	if (s->done)
		return 0;
	switch (s->state) {
	case N_MID:
	case N_CR:
		if (buf_append(out, "\r\n", 2) != 0)
			return BUF_ERR_FULL;
		break;
	case N_DOT:
	case N_DOTCR: /* "." as the last line without a line end */
		break;
	default:
		break;
	}
	s->state = N_BOL;
	s->done = 1;
	return 0;
}

/* ---- header section ---- */

/* Length of a field name followed by optional blanks and ':' at the
 * start of line[0..n) (the offset of the colon), or 0 when it is not a
 * header line. */
static size_t header_colon(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned char)line[i] > 32 &&
	       (unsigned char)line[i] < 127 && line[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < n && line[i] == ':' ? i : 0;
}

static const char *find_crlf(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return p + i;
	return NULL;
}

size_t submit_header_len(const char *p, size_t n, int *complete)
{
	size_t off = 0;

	*complete = 0;
	while (off < n) {
		const char *eol = find_crlf(p + off, n - off);
		size_t len;

		if (eol == NULL)
			return off;
		len = (size_t)(eol - (p + off));
		if (len == 0 || ((p[off] == ' ' || p[off] == '\t')
					 ? off == 0
					 : !header_colon(p + off, len))) {
			*complete = 1;
			return off;
		}
		off += len + 2;
	}
	return off;
}

int submit_header_next(const char *p, size_t n, size_t *off,
		       struct submit_header *h)
{
	size_t start = *off, colon, end;

	if (start >= n)
		return 0;
	colon = header_colon(p + start, n - start);
	if (colon == 0)
		return 0;
	colon += start;
	end = colon;
	for (;;) {
		const char *eol = find_crlf(p + end, n - end);

		if (eol == NULL) {
			end = n;
			break;
		}
		end = (size_t)(eol - p) + 2;
		if (end >= n || (p[end] != ' ' && p[end] != '\t'))
			break;
	}
	h->start = start;
	h->end = end;
	h->name = p + start;
	h->name_len = 0;
	while (start + h->name_len < colon && p[start + h->name_len] != ' ' &&
	       p[start + h->name_len] != '\t')
		h->name_len++;
	h->value = p + colon + 1;
	h->value_len = end - colon - 1;
	if (h->value_len >= 2 && p[end - 2] == '\r' && p[end - 1] == '\n')
		h->value_len -= 2;
	*off = end;
	return 1;
}

int submit_header_is(const struct submit_header *h, const char *name)
{
	size_t len = strlen(name);

	if (h->name_len != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char a = (unsigned char)h->name[i];
		unsigned char b = (unsigned char)name[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return 0;
	}
	return 1;
}

/* ---- address lists ---- */

struct addr_acc {
	char text[SUBMIT_ADDR_MAX + 1];
	size_t len;
	int over; /* more than SUBMIT_ADDR_MAX bytes were offered */
};

static void acc_put(struct addr_acc *a, char c)
{
	if (a->len < SUBMIT_ADDR_MAX)
		a->text[a->len++] = c;
	else
		a->over = 1;
}

static void acc_reset(struct addr_acc *a)
{
	a->len = 0;
	a->over = 0;
}

/* Report the mailbox collected so far, if any. */
static int emit(struct addr_acc *plain, struct addr_acc *angle, int saw_angle,
		int (*fn)(const char *, size_t, void *), void *arg)
{
	struct addr_acc *a = saw_angle ? angle : plain;
	const char *s = a->text;
	size_t len = a->len;

	if (a->over)
		return SUBMIT_ERR_LONG;
	/* "<@a,@b:user@host>": drop the source route. */
	if (saw_angle && len > 0 && s[0] == '@') {
		const char *colon = memchr(s, ':', len);

		if (colon == NULL)
			return SUBMIT_ERR_SYNTAX;
		len -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	if (len == 0)
		return 0;
	a->text[(size_t)(s - a->text) + len] = 0;
	return fn(s, len, arg);
}

int submit_addr_list(const char *p, size_t n,
		     int (*fn)(const char *addr, size_t len, void *arg),
		     void *arg)
{
	struct addr_acc plain, angle;
	int in_quote = 0, in_angle = 0, saw_angle = 0, in_group = 0;
	unsigned comment = 0;
	int rc;

	/* Control bytes (NUL...) never belong in an address. */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)p[i] < 32 && p[i] != '\t' && p[i] != '\r' &&
		     p[i] != '\n') ||
		    p[i] == 127)
			return SUBMIT_ERR_SYNTAX;
	acc_reset(&plain);
	acc_reset(&angle);
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		struct addr_acc *a = in_angle ? &angle : &plain;

		if (comment > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
			continue;
		}
		if (in_quote) {
			acc_put(a, c);
			if (c == '\\' && i + 1 < n)
				acc_put(a, p[++i]);
			else if (c == '"')
				in_quote = 0;
			continue;
		}
		switch (c) {
		case '(':
			comment = 1;
			break;
		case '"':
			in_quote = 1;
			acc_put(a, c);
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		case '<':
			if (in_angle)
				return SUBMIT_ERR_SYNTAX;
			in_angle = saw_angle = 1;
			acc_reset(&angle);
			break;
		case '>':
			if (!in_angle)
				return SUBMIT_ERR_SYNTAX;
			in_angle = 0;
			break;
		case ':':
			if (in_angle || in_group) {
				acc_put(a, c);
				break;
			}
			in_group = 1; /* "display-name:" starts a group */
			acc_reset(&plain);
			break;
		case ',':
		case ';':
			if (in_angle) {
				acc_put(a, c);
				break;
			}
			if (c == ';' && !in_group) {
				acc_put(a, c);
				break;
			}
			rc = emit(&plain, &angle, saw_angle, fn, arg);
			if (rc != 0)
				return rc;
			acc_reset(&plain);
			acc_reset(&angle);
			saw_angle = 0;
			if (c == ';')
				in_group = 0;
			break;
		default:
			acc_put(a, c);
			break;
		}
	}
	if (in_quote || comment > 0 || in_angle)
		return SUBMIT_ERR_SYNTAX;
	return emit(&plain, &angle, saw_angle, fn, arg);
}
