/* mastercf - master.cf services, parsed without I/O.
 *
 * Follows master(5) and the Postfix 3.0 "{ text }" and "-o { name = value }"
 * forms; column checks and their wording follow Postfix 3.7's postconf
 * ("invalid wakeup field ..."). Trusts nothing: every limit in mastercf.h is
 * checked and any byte may appear in the input. */
#include "mastercf.h"

#include <string.h>

#include "conf/maincf.h"
#include "core/log.h"

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

void mastercf_init(struct mastercf_parser *ps, const char *text, size_t len,
		   struct buf *scratch)
{
	memset(ps, 0, sizeof(*ps));
	ps->text = text;
	ps->len = len;
	ps->scratch = scratch;
}

static int fail(struct mastercf_parser *ps, int code, unsigned line,
		const char *p, size_t n)
{
	if (n > MASTERCF_EXCERPT_MAX)
		n = MASTERCF_EXCERPT_MAX;
	ps->err_code = code;
	ps->err.code = code;
	ps->err.line = line;
	memcpy(ps->err.excerpt, p, n);
	ps->err.excerpt[n] = 0;
	return code;
}

/* line_kind - 0 blank or comment, 1 continuation, 2 start of a line. */
static int line_kind(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_blank((unsigned char)p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	return i > 0 ? 1 : 2;
}

/* next_line - the physical line at ps->off into *p and *n; advances. */
static int next_line(struct mastercf_parser *ps, const char **p, size_t *n)
{
	const char *s = ps->text + ps->off;
	size_t left = ps->len - ps->off;
	const char *nl = memchr(s, '\n', left);

	*p = s;
	*n = nl ? (size_t)(nl - s) : left;
	if (*n > MASTERCF_LINE_MAX)
		return fail(ps, MASTERCF_ERR_LINE, ps->line + 1, s, *n);
	if (memchr(s, 0, *n))
		return fail(ps, MASTERCF_ERR_NUL, ps->line + 1, s, *n);
	ps->off += nl ? *n + 1 : *n;
	ps->line++;
	return 0;
}

/* logical - the next logical line, joined with spaces, in scratch from
 * offset 0. Returns 1, 0 at the end, MASTERCF_WARNING, or an error. */
static int logical(struct mastercf_parser *ps, unsigned *first)
{
	const char *p;
	size_t n;
	int r;

	for (;;) {
		if (ps->off >= ps->len)
			return 0;
		if ((r = next_line(ps, &p, &n)) != 0)
			return r;
		r = line_kind(p, n);
		if (r == 1) {
			fail(ps, 0, ps->line, p, n);
			ps->err_code = 0; /* a warning is not sticky */
			return MASTERCF_WARNING;
		}
		if (r == 2)
			break;
	}
	*first = ps->line;
	buf_reset(ps->scratch);
	buf_append(ps->scratch, p, n);
	while (ps->off < ps->len) {
		size_t save_off = ps->off;
		unsigned save_line = ps->line;

		if ((r = next_line(ps, &p, &n)) != 0)
			return r;
		r = line_kind(p, n);
		if (r == 2) {
			ps->off = save_off;
			ps->line = save_line;
			break;
		}
		if (r == 1) {
			if (buf_len(ps->scratch) + 1 + n > MASTERCF_LOGICAL_MAX)
				return fail(ps, MASTERCF_ERR_LOGICAL, *first,
					    buf_str(ps->scratch),
					    buf_len(ps->scratch));
			buf_putc(ps->scratch, ' ');
			buf_append(ps->scratch, p, n);
		}
	}
	buf_putc(ps->scratch, 0);
	if (buf_error(ps->scratch))
		return fail(ps, MASTERCF_ERR_LOGICAL, *first, p, n);
	return 1;
}

/* token - one token of the logical line; for "{...}" the trimmed inside. */
struct token {
	size_t off, len;
	int braced;
};

/* match_brace - offset just past the '}' closing the '{' at s[0], or 0. */
static size_t match_brace(const char *s, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '{')
			depth++;
		else if (s[i] == '}' && --depth == 0)
			return i + 1;
	}
	return 0;
}

static int tokenize(struct mastercf_parser *ps, unsigned line,
		    struct token *tok, size_t max, size_t *ntok)
{
	const char *s = buf_str(ps->scratch);
	size_t n = strlen(s), i = 0;

	*ntok = 0;
	while (i < n) {
		struct token t;

		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		if (i >= n)
			break;
		if (*ntok >= max)
			return fail(ps, MASTERCF_ERR_ARGS, line, s + i, n - i);
		if (s[i] == '{') {
			size_t end = match_brace(s + i, n - i);

			if (end == 0)
				return fail(ps, MASTERCF_ERR_BRACE, line, s + i,
					    n - i);
			t.off = i + 1;
			t.len = end - 2;
			while (t.len > 0 && is_blank((unsigned char)s[t.off])) {
				t.off++;
				t.len--;
			}
			while (t.len > 0 &&
			       is_blank((unsigned char)s[t.off + t.len - 1]))
				t.len--;
			t.braced = 1;
			i += end;
		} else {
			t.off = i;
			while (i < n && !is_blank((unsigned char)s[i]))
				i++;
			t.len = i - t.off;
			t.braced = 0;
		}
		tok[(*ntok)++] = t;
	}
	return 0;
}

static int flag_value(const char *s)
{
	if (strcmp(s, "y") == 0)
		return 1;
	if (strcmp(s, "n") == 0)
		return 0;
	if (strcmp(s, "-") == 0)
		return -1;
	return -2;
}

/* count_value - "-" (-1) or a decimal count; -2 when bad. */
static long count_value(const char *s, size_t n)
{
	long v = 0;

	if (n == 1 && s[0] == '-')
		return -1;
	if (n == 0)
		return -2;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -2;
		v = v * 10 + (s[i] - '0');
		if (v > MASTERCF_COUNT_MAX)
			return -2;
	}
	return v;
}

static int port_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* service_ok - inet: port, host:port, [addr]:port; others: any name
 * without blanks, '/' or control bytes. */
static int service_ok(const char *s, enum mastercf_type type)
{
	const char *colon;

	if (type != MASTERCF_INET) {
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '/' || *p == 0x7f)
				return 0;
		return *s != 0;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close == s + 1 || close[1] != ':')
			return 0;
		for (const char *p = s + 1; p < close; p++)
			if (!(port_ok(p, 1) || *p == ':' || *p == '%'))
				return 0;
		return port_ok(close + 2, strlen(close + 2));
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
		return port_ok(s, strlen(s));
	if (colon == s)
		return 0;
	if (!(colon - s == 1 && s[0] == '*') &&
	    !port_ok(s, (size_t)(colon - s)))
		return 0;
	return port_ok(colon + 1, strlen(colon + 1));
}

static const char *const type_names[] = {
	[MASTERCF_INET] = "inet",
	[MASTERCF_UNIX] = "unix",
	[MASTERCF_UNIX_DGRAM] = "unix-dgram",
	[MASTERCF_FIFO] = "fifo",
	[MASTERCF_PASS] = "pass",
};

const char *mastercf_type_name(enum mastercf_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0])
		       ? type_names[t]
		       : "?";
}

/* set_option - split "name=value" (braced: "name = value") in place. */
static int set_option(struct mastercf_arg *a, char *text, int braced)
{
	char *eq = strchr(text, '=');
	char *name_end, *value;

	if (eq == NULL)
		return -1;
	name_end = eq;
	value = eq + 1;
	if (braced) {
		while (name_end > text && is_blank((unsigned char)name_end[-1]))
			name_end--;
		while (is_blank((unsigned char)*value))
			value++;
	}
	if (!maincf_name_valid(text, (size_t)(name_end - text)))
		return -1;
	*name_end = 0;
	a->name = text;
	a->value = value;
	return 0;
}

int mastercf_next(struct mastercf_parser *ps, struct mastercf_entry *e)
{
	struct token tok[MASTERCF_FIELDS + 2 * MASTERCF_ARGS_MAX];
	size_t ntok, i;
	unsigned first = 0;
	char *s;
	int r;

	if (ps->err_code)
		return ps->err_code;
	r = logical(ps, &first);
	if (r <= 0 || r == MASTERCF_WARNING)
		return r;
	if (++ps->entries > MASTERCF_ENTRIES_MAX)
		return fail(ps, MASTERCF_ERR_ENTRIES, first, "", 0);
	if ((r = tokenize(ps, first, tok, sizeof(tok) / sizeof(tok[0]),
			  &ntok)) != 0)
		return r;
	if (ntok < MASTERCF_FIELDS)
		return fail(ps, MASTERCF_ERR_FIELDS, first,
			    buf_str(ps->scratch), strlen(buf_str(ps->scratch)));

	for (i = 0; i < MASTERCF_FIELDS; i++)
		if (tok[i].braced)
			return fail(ps, MASTERCF_ERR_COLUMN, first,
				    buf_str(ps->scratch) + tok[i].off,
				    tok[i].len);

	/* Terminate each token in place: the byte after it is a separator,
	 * a blank inside its braces or the '}'. */
	s = ps->scratch->data;
	for (i = 0; i < ntok; i++)
		s[tok[i].off + tok[i].len] = 0;

	memset(e, 0, sizeof(*e));
	e->line = first;
	for (i = 0; i < MASTERCF_FIELDS; i++)
		e->field[i] = s + tok[i].off;
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(e->field[MASTERCF_F_TYPE], type_names[i]) == 0)
			break;
	if (i == sizeof(type_names) / sizeof(type_names[0]))
		return fail(ps, MASTERCF_ERR_TYPE, first,
			    e->field[MASTERCF_F_TYPE],
			    strlen(e->field[MASTERCF_F_TYPE]));
	e->type = (enum mastercf_type)i;
	if (!service_ok(e->field[MASTERCF_F_SERVICE], e->type))
		return fail(ps, MASTERCF_ERR_SERVICE, first,
			    e->field[MASTERCF_F_SERVICE],
			    strlen(e->field[MASTERCF_F_SERVICE]));
	for (i = MASTERCF_F_PRIVATE; i <= MASTERCF_F_CHROOT; i++) {
		int v = flag_value(e->field[i]);

		if (v == -2)
			return fail(ps, MASTERCF_ERR_FLAG, first, e->field[i],
				    strlen(e->field[i]));
		if (i == MASTERCF_F_PRIVATE)
			e->private_ = v;
		else if (i == MASTERCF_F_UNPRIV)
			e->unpriv = v;
		else
			e->chroot = v;
	}
	{
		const char *w = e->field[MASTERCF_F_WAKEUP];
		size_t wn = strlen(w);

		if (wn > 1 && w[wn - 1] == '?') {
			e->wakeup_if_used = 1;
			wn--;
		}
		e->wakeup = count_value(w, wn);
		if (e->wakeup == -2 || (e->wakeup_if_used && e->wakeup < 0))
			return fail(ps, MASTERCF_ERR_WAKEUP, first, w,
				    strlen(w));
	}
	e->maxproc = count_value(e->field[MASTERCF_F_MAXPROC],
				 strlen(e->field[MASTERCF_F_MAXPROC]));
	if (e->maxproc == -2)
		return fail(ps, MASTERCF_ERR_MAXPROC, first,
			    e->field[MASTERCF_F_MAXPROC],
			    strlen(e->field[MASTERCF_F_MAXPROC]));

	for (i = MASTERCF_FIELDS; i < ntok; i++) {
		struct mastercf_arg *a;
		char *t = s + tok[i].off;

		if (e->nargs >= MASTERCF_ARGS_MAX)
			return fail(ps, MASTERCF_ERR_ARGS, first, t, strlen(t));
		a = &e->args[e->nargs++];
		a->text = t;
		a->braced = tok[i].braced;
		if (tok[i].braced || strncmp(t, "-o", 2) != 0)
			continue;
		if (t[2] == 0) {
			if (i + 1 >= ntok)
				return fail(ps, MASTERCF_ERR_OPTION, first, t,
					    strlen(t));
			i++;
			t = s + tok[i].off;
			a->text = t;
			a->braced = tok[i].braced;
		} else {
			t += 2;
			a->text = t;
		}
		if (set_option(a, t, a->braced) != 0)
			return fail(ps, MASTERCF_ERR_OPTION, first, t,
				    strlen(t));
	}
	return MASTERCF_ENTRY;
}

void mastercf_error_format(const struct mastercf_error *err, struct buf *out)
{
	static const char *const what[] = {
		"bad field count",
		"invalid service name field",
		"invalid type field",
		"invalid private/unpriv/chroot field (use y, n or -)",
		"invalid wakeup field",
		"invalid process_limit field",
		"missing '}'",
		"-o needs name=value",
		"too many arguments",
		"line too long",
		"logical line too long",
		"too many services",
		"NUL byte in file",
		"braces in one of the first eight fields",
	};
	int i = -err->code - 1;

	if (err->code == 0) {
		buf_puts(out, "logical line must not start with whitespace");
	} else if (i >= 0 && i < (int)(sizeof(what) / sizeof(what[0]))) {
		buf_puts(out, what[i]);
	} else {
		buf_puts(out, "unknown error");
	}
	if (err->code == MASTERCF_ERR_ENTRIES ||
	    err->code == MASTERCF_ERR_LINE ||
	    err->code == MASTERCF_ERR_LOGICAL ||
	    err->code == MASTERCF_ERR_FIELDS)
		return;
	/* Column errors read as Postfix's: invalid type field "foo". */
	if (err->code >= MASTERCF_ERR_MAXPROC &&
	    err->code <= MASTERCF_ERR_SERVICE)
		buf_puts(out, " \"");
	else
		buf_puts(out, ": \"");
	log_escape(out, err->excerpt, strlen(err->excerpt));
	buf_putc(out, '"');
}

static int has_blank(const char *s)
{
	for (; *s; s++)
		if (is_blank((unsigned char)*s) || *s == '\n')
			return 1;
	return 0;
}

/* plain_word - text that reads back as itself without braces. */
static int plain_word(const char *s)
{
	if (*s == 0 || *s == '-' || has_blank(s))
		return 0;
	return strpbrk(s, "{}") == NULL;
}

void mastercf_format(const struct mastercf_entry *e, struct buf *out)
{
	/* Column starts as Postfix prints them; a long column pushes the
	 * next one right by at least one space. */
	static const size_t col[MASTERCF_FIELDS] = {0,  11, 17, 25,
						    33, 41, 49, 57};
	size_t start = buf_len(out);

	for (int i = 0; i < MASTERCF_FIELDS; i++) {
		size_t at = buf_len(out) - start;

		if (i > 0) {
			size_t want = col[i] > at + 1 ? col[i] : at + 1;

			while (at < want) {
				buf_putc(out, ' ');
				at++;
			}
		}
		buf_puts(out, e->field[i]);
	}
	for (size_t i = 0; i < e->nargs; i++) {
		const struct mastercf_arg *a = &e->args[i];

		buf_putc(out, ' ');
		if (a->name) {
			int br = has_blank(a->value);

			buf_printf(out, "-o %s%s=%s%s", br ? "{" : "", a->name,
				   a->value, br ? "}" : "");
		} else if (a->braced && !plain_word(a->text)) {
			buf_printf(out, "{%s}", a->text);
		} else {
			buf_puts(out, a->text);
		}
	}
}
