/* maincf - main.cf logical lines, $name expansion and in-place editing.
 *
 * Follows postconf(5) ("main.cf file format") and the behaviour of
 * Postfix 3.7's postconf as observed: continuation lines are joined
 * verbatim, comments and blank lines inside a logical line are skipped,
 * conditionals test the raw value of a parameter. Trusts nothing: input
 * may hold any bytes; every limit in maincf.h is checked. */
#include "maincf.h"

#include <string.h>

#include "core/log.h"

/* ---- physical lines ---- */

/* phys_line - one physical line: bytes without the newline. */
struct phys_line {
	const char *p;
	size_t n;     /* without the newline */
	size_t total; /* with the newline, if any */
};

enum line_kind { LINE_BLANK, LINE_COMMENT, LINE_CONT, LINE_START };

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int is_name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* line_read - the physical line at *off; 0, or an error for a line that
 * is too long or holds a NUL byte. Advances *off only on success. */
static int line_read(const char *text, size_t len, size_t *off,
		     struct phys_line *l)
{
	const char *p = text + *off;
	size_t left = len - *off;
	const char *nl = memchr(p, '\n', left);

	l->p = p;
	l->n = nl ? (size_t)(nl - p) : left;
	l->total = nl ? l->n + 1 : left;
	if (l->n > MAINCF_LINE_MAX)
		return MAINCF_ERR_LINE;
	if (memchr(p, 0, l->n) != NULL)
		return MAINCF_ERR_NUL;
	*off += l->total;
	return 0;
}

static enum line_kind line_kind(const struct phys_line *l)
{
	size_t i = 0;

	while (i < l->n && is_blank((unsigned char)l->p[i]))
		i++;
	if (i == l->n)
		return LINE_BLANK;
	if (l->p[i] == '#')
		return LINE_COMMENT;
	return i > 0 ? LINE_CONT : LINE_START;
}

static void set_excerpt(struct maincf_error *err, const char *p, size_t n)
{
	if (n > MAINCF_EXCERPT_MAX)
		n = MAINCF_EXCERPT_MAX;
	memcpy(err->excerpt, p, n);
	err->excerpt[n] = 0;
}

static void set_name(struct maincf_error *err, const char *p, size_t n)
{
	if (n > MAINCF_NAME_MAX)
		n = MAINCF_NAME_MAX;
	memcpy(err->name, p, n);
	err->name[n] = 0;
}

/* name_span - length of the name at the start of a logical line: every
 * byte up to whitespace or '=' (checked for validity separately). */
static size_t name_span(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !is_blank((unsigned char)p[i]) && p[i] != '=')
		i++;
	return i;
}

int maincf_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > MAINCF_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_name_byte(c) && c != '-' && c != '.')
			return 0;
	}
	return 1;
}

/* ---- the iterator ---- */

void maincf_init(struct maincf_parser *ps, const char *text, size_t len,
		 struct buf *scratch)
{
	memset(ps, 0, sizeof(*ps));
	ps->text = text;
	ps->len = len;
	ps->value = scratch;
}

static int fail(struct maincf_parser *ps, int code, unsigned line,
		const char *p, size_t n)
{
	ps->err_code = code;
	ps->err.code = code;
	ps->err.line = line;
	set_excerpt(&ps->err, p, n);
	return code;
}

/* join_rest - append the continuation lines that follow to ps->value. */
static int join_rest(struct maincf_parser *ps, unsigned first, unsigned *last)
{
	struct phys_line l;
	size_t off;
	unsigned line;

	for (;;) {
		off = ps->off;
		line = ps->line;
		if (off >= ps->len)
			return 0;
		/* A bad next line ends this logical line; the next call
		 * reports it. */
		if (line_read(ps->text, ps->len, &off, &l) != 0)
			return 0;
		switch (line_kind(&l)) {
		case LINE_START:
			return 0; /* the next logical line: not consumed */
		case LINE_CONT:
			if (buf_len(ps->value) + l.n > MAINCF_VALUE_MAX ||
			    buf_append(ps->value, l.p, l.n) != 0)
				return fail(ps, MAINCF_ERR_VALUE, first,
					    buf_str(ps->value),
					    buf_len(ps->value));
			*last = line + 1;
			break;
		default:
			break;
		}
		ps->off = off;
		ps->line = line + 1;
	}
}

int maincf_next(struct maincf_parser *ps, struct maincf_entry *e)
{
	struct phys_line l;
	const char *s;
	size_t n, i, name_len;
	unsigned first;
	int r;

	if (ps->err_code)
		return ps->err_code;
	for (;;) {
		if (ps->off >= ps->len)
			return MAINCF_END;
		r = line_read(ps->text, ps->len, &ps->off, &l);
		if (r != 0)
			return fail(ps, r, ps->line + 1, l.p, l.n);
		ps->line++;
		switch (line_kind(&l)) {
		case LINE_BLANK:
		case LINE_COMMENT:
			continue;
		case LINE_CONT:
			ps->err.code = 0;
			ps->err.line = ps->line;
			set_excerpt(&ps->err, l.p, l.n);
			return MAINCF_WARNING;
		case LINE_START:
			break;
		}
		break;
	}
	first = ps->line;
	if (++ps->entries > MAINCF_ENTRIES_MAX)
		return fail(ps, MAINCF_ERR_ENTRIES, first, l.p, l.n);
	buf_reset(ps->value);
	if (buf_append(ps->value, l.p, l.n) != 0)
		return fail(ps, MAINCF_ERR_VALUE, first, l.p, l.n);
	e->last_line = first;
	if ((r = join_rest(ps, first, &e->last_line)) != 0)
		return r;

	/* "name = value": the name lies on the first physical line. */
	s = buf_str(ps->value);
	n = buf_len(ps->value);
	name_len = name_span(s, n);
	i = name_len;
	while (i < n && is_blank((unsigned char)s[i]))
		i++;
	if (name_len == 0)
		return fail(ps, MAINCF_ERR_NONAME, first, s, n);
	if (i >= n || s[i] != '=')
		return fail(ps, MAINCF_ERR_NOEQ, first, s, name_len);
	if (!maincf_name_valid(s, name_len))
		return fail(ps, MAINCF_ERR_BADNAME, first, s, name_len);
	i++;
	while (i < n && is_blank((unsigned char)s[i]))
		i++;
	while (n > i && is_blank((unsigned char)s[n - 1]))
		n--;
	buf_truncate(ps->value, n);
	e->name = l.p;
	e->name_len = name_len;
	e->value = buf_str(ps->value) + i;
	e->value_len = n - i;
	e->line = first;
	return MAINCF_ENTRY;
}

const char *maincf_strerror(int code)
{
	switch (code) {
	case 0:
		return "logical line must not start with whitespace";
	case MAINCF_ERR_NOEQ:
		return "missing '=' after attribute name";
	case MAINCF_ERR_NONAME:
		return "missing attribute name";
	case MAINCF_ERR_BADNAME:
		return "bad parameter name (use letters, digits, '_', '-', "
		       "'.')";
	case MAINCF_ERR_LINE:
		return "line too long";
	case MAINCF_ERR_VALUE:
		return "logical line too long";
	case MAINCF_ERR_ENTRIES:
		return "too many parameter lines";
	case MAINCF_ERR_NUL:
		return "NUL byte in file";
	case MAINCF_ERR_SYNTAX:
		return "macro syntax error";
	case MAINCF_ERR_LOOP:
		return "parameter expansion loop";
	case MAINCF_ERR_DEPTH:
		return "unreasonable macro call nesting";
	case MAINCF_ERR_SIZE:
		return "expanded value too long";
	default:
		return "unknown error";
	}
}

void maincf_error_format(const struct maincf_error *err, struct buf *out)
{
	buf_puts(out, maincf_strerror(err->code));
	if (err->code == MAINCF_ERR_LOOP) {
		buf_printf(out, ": $%s refers to itself", err->name);
		return;
	}
	if (err->code == MAINCF_ERR_DEPTH || err->code == MAINCF_ERR_SIZE ||
	    err->code == MAINCF_ERR_LINE || err->code == MAINCF_ERR_ENTRIES)
		return;
	buf_puts(out, ": \"");
	log_escape(out, err->excerpt, strlen(err->excerpt));
	buf_putc(out, '"');
}

/* ---- expansion ---- */

struct expander {
	const struct maincf_lookup *lk;
	struct buf *out;
	size_t start;
	struct maincf_error *err;
	int level;
	int nstack;
	const char *stack[MAINCF_EXPAND_DEPTH + 1];
	size_t stack_len[MAINCF_EXPAND_DEPTH + 1];
	/* maincf_refs: visit every branch, look nothing up */
	void (*ref)(void *arg, const char *name, size_t len);
	void *ref_arg;
};

static int x_fail(struct expander *x, int code, const char *p, size_t n)
{
	x->err->code = code;
	x->err->line = 0;
	set_excerpt(x->err, p, n);
	return code;
}

static int x_append(struct expander *x, const char *p, size_t n)
{
	if (x->ref)
		return 0;
	if (buf_len(x->out) - x->start + n > MAINCF_EXPAND_MAX ||
	    buf_append(x->out, p, n) != 0)
		return x_fail(x, MAINCF_ERR_SIZE, p, n);
	return 0;
}

/* match_close - offset of the bracket closing the one before s[0], or n. */
static size_t match_close(const char *s, size_t n, char open, char close)
{
	int depth = 1;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return i;
	}
	return n;
}

static int x_text(struct expander *x, const char *s, size_t n);

/* x_braced - parse "{text}" at s (leading blanks skipped): the trimmed
 * inside in *in and *in_n, the bytes consumed in *used; -1 if s is not one. */
static int x_braced(const char *s, size_t n, const char **in, size_t *in_n,
		    size_t *used)
{
	size_t i = 0, j;

	while (i < n && is_blank((unsigned char)s[i]))
		i++;
	if (i >= n || s[i] != '{')
		return -1;
	j = match_close(s + i + 1, n - i - 1, '{', '}');
	if (j >= n - i - 1)
		return -1;
	*in = s + i + 1;
	*in_n = j;
	while (*in_n > 0 && is_blank((unsigned char)(*in)[0])) {
		(*in)++;
		(*in_n)--;
	}
	while (*in_n > 0 && is_blank((unsigned char)(*in)[*in_n - 1]))
		(*in_n)--;
	*used = i + 1 + j + 1;
	return 0;
}

static int only_blanks(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank((unsigned char)s[i]))
			return 0;
	return 1;
}

/* x_name - expand the value of name (a plain reference). */
static int x_name(struct expander *x, const char *name, size_t len)
{
	const char *raw;
	int r;

	if (x->ref) {
		x->ref(x->ref_arg, name, len);
		return 0;
	}
	for (int i = 0; i < x->nstack; i++)
		if (x->stack_len[i] == len &&
		    memcmp(x->stack[i], name, len) == 0) {
			x->err->code = MAINCF_ERR_LOOP;
			x->err->line = 0;
			set_name(x->err, name, len);
			set_excerpt(x->err, name, len);
			return MAINCF_ERR_LOOP;
		}
	raw = x->lk->get(x->lk->arg, name, len);
	if (raw == NULL) {
		if (x->lk->undefined)
			x->lk->undefined(x->lk->arg, name, len);
		return 0;
	}
	if (x->nstack >= MAINCF_EXPAND_DEPTH)
		return x_fail(x, MAINCF_ERR_DEPTH, name, len);
	x->stack[x->nstack] = name;
	x->stack_len[x->nstack] = len;
	x->nstack++;
	r = x_text(x, raw, strlen(raw));
	x->nstack--;
	return r;
}

/* x_cond - "${name?text}", "${name:text}" and the braced forms; rest is
 * what follows the operator, up to the closing bracket. */
static int x_cond(struct expander *x, const char *name, size_t len, char op,
		  const char *rest, size_t n)
{
	const char *a = rest, *b = NULL, *raw;
	size_t an = n, bn = 0, used, k;
	int set;

	if (x_braced(rest, n, &a, &an, &used) == 0) {
		k = used;
		while (k < n && is_blank((unsigned char)rest[k]))
			k++;
		if (k < n && op == '?' && rest[k] == ':') {
			if (x_braced(rest + k + 1, n - k - 1, &b, &bn, &used) !=
				    0 ||
			    !only_blanks(rest + k + 1 + used, n - k - 1 - used))
				return x_fail(x, MAINCF_ERR_SYNTAX, rest, n);
		} else if (k < n) {
			return x_fail(x, MAINCF_ERR_SYNTAX, rest, n);
		}
	} else {
		a = rest;
		an = n;
	}
	if (x->ref) {
		int r;

		x->ref(x->ref_arg, name, len);
		if ((r = x_text(x, a, an)) != 0)
			return r;
		return b ? x_text(x, b, bn) : 0;
	}
	raw = x->lk->get(x->lk->arg, name, len);
	set = raw != NULL && *raw != 0;
	if (op == ':')
		return set ? 0 : x_text(x, a, an);
	if (set)
		return x_text(x, a, an);
	return b ? x_text(x, b, bn) : 0;
}

/* x_ref - the reference at s ('$' already seen at s[-1]); *used bytes. */
static int x_ref(struct expander *x, const char *s, size_t n, size_t *used)
{
	char open, close;
	size_t end, k;

	if (n == 0)
		return x_fail(x, MAINCF_ERR_SYNTAX, s - 1, 1);
	if (s[0] == '$') {
		*used = 1;
		return x_append(x, "$", 1);
	}
	if (s[0] != '{' && s[0] != '(') {
		for (k = 0; k < n && is_name_byte((unsigned char)s[k]); k++)
			;
		if (k == 0 || k > MAINCF_NAME_MAX)
			return x_fail(x, MAINCF_ERR_SYNTAX, s - 1, k + 1);
		*used = k;
		return x_name(x, s, k);
	}
	open = s[0];
	close = open == '{' ? '}' : ')';
	end = 1 + match_close(s + 1, n - 1, open, close);
	if (end >= n)
		return x_fail(x, MAINCF_ERR_SYNTAX, s - 1, n + 1);
	*used = end + 1;
	for (k = 1; k < end && is_name_byte((unsigned char)s[k]); k++)
		;
	if (k == 1 || k - 1 > MAINCF_NAME_MAX)
		return x_fail(x, MAINCF_ERR_SYNTAX, s - 1, end + 2);
	if (k == end)
		return x_name(x, s + 1, k - 1);
	if (s[k] != '?' && s[k] != ':')
		return x_fail(x, MAINCF_ERR_SYNTAX, s - 1, end + 2);
	return x_cond(x, s + 1, k - 1, s[k], s + k + 1, end - k - 1);
}

static int x_text(struct expander *x, const char *s, size_t n)
{
	size_t i = 0, used;
	int r = 0;

	if (++x->level > MAINCF_EXPAND_DEPTH) {
		x->level--;
		return x_fail(x, MAINCF_ERR_DEPTH, s, n);
	}
	while (i < n) {
		const char *d = memchr(s + i, '$', n - i);
		size_t plain = d ? (size_t)(d - (s + i)) : n - i;

		if ((r = x_append(x, s + i, plain)) != 0)
			break;
		i += plain;
		if (i >= n)
			break;
		i++; /* the '$' */
		if ((r = x_ref(x, s + i, n - i, &used)) != 0)
			break;
		i += used;
	}
	x->level--;
	return r;
}

int maincf_expand(const char *text, size_t len, const char *self,
		  const struct maincf_lookup *lk, struct buf *out,
		  struct maincf_error *err)
{
	struct expander x;

	memset(&x, 0, sizeof(x));
	memset(err, 0, sizeof(*err));
	x.lk = lk;
	x.out = out;
	x.start = buf_len(out);
	x.err = err;
	if (self) {
		x.stack[0] = self;
		x.stack_len[0] = strlen(self);
		x.nstack = 1;
	}
	return x_text(&x, text, len);
}

int maincf_refs(const char *text, size_t len,
		void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
	struct expander x;
	struct maincf_error err;

	memset(&x, 0, sizeof(x));
	x.err = &err;
	x.ref = fn;
	x.ref_arg = arg;
	return x_text(&x, text, len);
}

/* ---- editing ---- */

static const struct maincf_edit_item *
edit_find(const struct maincf_edit_item *items, size_t n, const char *name,
	  size_t len)
{
	/* The last item for a name wins, as the last assignment would. */
	for (size_t i = n; i-- > 0;)
		if (strlen(items[i].name) == len &&
		    memcmp(items[i].name, name, len) == 0)
			return &items[i];
	return NULL;
}

static int put_entry(struct buf *out, const struct maincf_edit_item *it)
{
	buf_puts(out, it->name);
	buf_puts(out, " = ");
	buf_puts(out, it->value);
	return buf_putc(out, '\n');
}

size_t maincf_count_sets(const char *text, size_t len, const char *name)
{
	struct phys_line l;
	size_t off = 0, nl = strlen(name), count = 0;

	while (off < len && line_read(text, len, &off, &l) == 0)
		if (line_kind(&l) == LINE_START && name_span(l.p, l.n) == nl &&
		    memcmp(l.p, name, nl) == 0)
			count++;
	return count;
}

int maincf_edit(const char *text, size_t len,
		const struct maincf_edit_item *items, size_t n, struct buf *out,
		struct maincf_error *err)
{
	struct phys_line l;
	size_t off = 0;
	unsigned line = 0;
	int dropping = 0, r;

	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(items[i].name);

		if (!maincf_name_valid(items[i].name, nl) ||
		    (items[i].value && strpbrk(items[i].value, "\r\n"))) {
			err->code = MAINCF_ERR_SYNTAX;
			set_excerpt(err, items[i].name, nl);
			return MAINCF_ERR_SYNTAX;
		}
	}
	while (off < len) {
		r = line_read(text, len, &off, &l);
		line++;
		if (r != 0) {
			err->code = r;
			err->line = line;
			set_excerpt(err, l.p, l.n);
			return r;
		}
		switch (line_kind(&l)) {
		case LINE_CONT:
			if (dropping)
				continue;
			break;
		case LINE_START: {
			size_t nl = name_span(l.p, l.n);
			const struct maincf_edit_item *it =
				edit_find(items, n, l.p, nl);

			dropping = it != NULL;
			if (it) {
				if (it->value)
					put_entry(out, it);
				continue;
			}
			break;
		}
		default:
			break;
		}
		buf_append(out, l.p, l.total);
		if (l.total == l.n && off >= len)
			buf_putc(out, '\n'); /* the last line had none */
	}
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(items[i].name);

		if (items[i].value != NULL &&
		    edit_find(items, n, items[i].name, nl) == &items[i] &&
		    maincf_count_sets(text, len, items[i].name) == 0)
			put_entry(out, &items[i]);
	}
	if (buf_error(out)) {
		err->code = MAINCF_ERR_SIZE;
		return MAINCF_ERR_SIZE;
	}
	return 0;
}
