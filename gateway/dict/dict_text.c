/* dict_text - logical lines, key/value and alias lines, $n templates.
 *
 * Follows Postfix's readllines() for logical lines, postmap(1) for
 * "key whitespace value" lines, aliases(5) for "name: value" lines (the
 * value normalised like RFC 822 address lists), and mac_parse() for the
 * $n syntax of regexp_table(5)/pcre_table(5) results. Pure: see the header.
 * Trusts nothing in the input; every loop is bounded by the input length. */
#include "dict_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* dict_diag_init - empty message list */
void dict_diag_init(struct dict_diag *g)
{
	buf_init(&g->text, DICT_DIAG_MAX);
	g->count = 0;
}

/* dict_diag_free - release the message list */
void dict_diag_free(struct dict_diag *g) { buf_free(&g->text); }

/* dict_diag_add - append one message; past DICT_DIAG_MAX only counted */
void dict_diag_add(struct dict_diag *g, const char *fmt, ...)
{
	va_list ap;
	size_t mark = buf_len(&g->text);

	g->count++;
	va_start(ap, fmt);
	if (buf_vprintf(&g->text, fmt, ap) < 0 || buf_putc(&g->text, '\n') < 0)
		buf_truncate(&g->text, mark);
	va_end(ap);
	buf_clear_error(&g->text);
}

/* dict_diag_first - copy the first message */
void dict_diag_first(const struct dict_diag *g, struct buf *out)
{
	const char *nl = memchr(buf_str(&g->text), '\n', buf_len(&g->text));

	buf_set(out, buf_str(&g->text),
		nl ? (size_t)(nl - buf_str(&g->text)) : buf_len(&g->text));
}

/* dict_lines_init - start a cursor over data */
void dict_lines_init(struct dict_lines *r, const char *name, const char *data,
		     size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->lineno = 0;
	r->name = name;
}

/* physical_line - bounds of the next physical line without CR/LF */
static int physical_line(struct dict_lines *r, const char **p, size_t *n)
{
	const char *nl;
	size_t end;

	if (r->pos >= r->len)
		return 0;
	*p = r->data + r->pos;
	nl = memchr(*p, '\n', r->len - r->pos);
	end = nl ? (size_t)(nl - r->data) : r->len;
	*n = end - r->pos;
	r->pos = nl ? end + 1 : end;
	r->lineno++;
	while (*n > 0 && ((*p)[*n - 1] == '\r'))
		(*n)--;
	return 1;
}

/* skippable - empty, all blank, or a comment (first non-blank is '#') */
static int skippable(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_blank((unsigned char)p[i]))
		i++;
	return i == n || p[i] == '#';
}

/* peek_continuation - is the next non-skippable physical line indented? */
static int peek_continuation(const struct dict_lines *r)
{
	struct dict_lines t = *r;
	const char *p;
	size_t n;

	while (physical_line(&t, &p, &n))
		if (!skippable(p, n))
			return is_blank((unsigned char)p[0]);
	return 0;
}

/* dict_lines_next - next logical line */
int dict_lines_next(struct dict_lines *r, struct buf *line, int *lineno,
		    struct dict_diag *g)
{
	const char *p;
	size_t n;

	for (;;) {
		int too_long = 0;

		if (!physical_line(r, &p, &n))
			return 0;
		if (skippable(p, n))
			continue;
		*lineno = r->lineno;
		buf_reset(line);
		if (n > DICT_LINE_MAX || buf_append(line, p, n) < 0)
			too_long = 1;
		while (peek_continuation(r)) {
			while (physical_line(r, &p, &n) && skippable(p, n))
				;
			if (!too_long && (n > DICT_LINE_MAX - buf_len(line) ||
					  buf_append(line, p, n) < 0))
				too_long = 1;
		}
		if (too_long) {
			dict_diag_add(g, "%s, line %d: line too long "
				      "(more than %d bytes): skipping it",
				      r->name, *lineno, DICT_LINE_MAX);
			buf_reset(line);
			return -1;
		}
		if (is_blank((unsigned char)buf_str(line)[0])) {
			dict_diag_add(g, "%s: logical line must not start with "
				      "whitespace: \"%s\"", r->name,
				      buf_str(line));
			continue;
		}
		return 1;
	}
}

/* trim_end - drop trailing blanks in place */
static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_blank((unsigned char)s[n - 1]))
		s[--n] = 0;
}

/* dict_text_split - "key whitespace value" */
int dict_text_split(char *line, char **key, char **value)
{
	char *p = line;

	while (*p && is_blank((unsigned char)*p))
		p++;
	*key = p;
	while (*p && !is_blank((unsigned char)*p))
		p++;
	if (*p)
		*p++ = 0;
	while (*p && is_blank((unsigned char)*p))
		p++;
	trim_end(p);
	*value = p;
	return **key && **value ? 0 : -1;
}

/* RFC 822 tokens of alias values. */
enum tok_kind { TOK_ATOM, TOK_QUOTED, TOK_COMMENT, TOK_SPECIAL };

static int is_special(unsigned char c)
{
	return c && strchr("()<>@,;:\\\".[]", c) != NULL;
}

/* next_token - scan one token from s[*i..n); contents into tok (as to be
 * written out); returns its kind or -1 at the end */
static int next_token(const char *s, size_t n, size_t *i, struct buf *tok)
{
	size_t k = *i;

	while (k < n && is_blank((unsigned char)s[k]))
		k++;
	buf_reset(tok);
	if (k >= n) {
		*i = k;
		return -1;
	}
	if (s[k] == '"') {
		buf_putc(tok, '"');
		for (k++; k < n && s[k] != '"'; k++) {
			if (s[k] == '\\' && k + 1 < n)
				buf_putc(tok, s[k++]);
			buf_putc(tok, s[k]);
		}
		buf_putc(tok, '"');
		*i = k < n ? k + 1 : k;
		return TOK_QUOTED;
	}
	if (s[k] == '(') {
		int depth = 0;

		for (; k < n; k++) {
			if (s[k] == '\\' && k + 1 < n) {
				buf_putc(tok, s[k++]);
			} else if (s[k] == '(') {
				depth++;
			} else if (s[k] == ')' && --depth == 0) {
				buf_putc(tok, ')');
				k++;
				break;
			}
			buf_putc(tok, s[k]);
		}
		if (depth > 0)
			buf_putc(tok, ')');
		*i = k;
		return TOK_COMMENT;
	}
	if (is_special((unsigned char)s[k]) && s[k] != '\\') {
		buf_putc(tok, s[k]);
		*i = k + 1;
		return TOK_SPECIAL;
	}
	/* An atom; a backslash-escaped byte makes it a quoted string. */
	{
		int quoted = 0;

		for (; k < n && !is_blank((unsigned char)s[k]) &&
		       (s[k] == '\\' || !is_special((unsigned char)s[k]));
		     k++) {
			if (s[k] == '\\' && k + 1 < n) {
				k++;
				quoted = 1;
				if (s[k] == '"' || s[k] == '\\')
					buf_putc(tok, '\\');
			}
			buf_putc(tok, s[k]);
		}
		*i = k;
		if (quoted) {
			struct buf q;

			buf_init(&q, DICT_LINE_MAX + 2);
			buf_putc(&q, '"');
			buf_append(&q, buf_str(tok), buf_len(tok));
			buf_putc(&q, '"');
			buf_set(tok, buf_str(&q), buf_len(&q));
			buf_free(&q);
			return TOK_QUOTED;
		}
		return TOK_ATOM;
	}
}

/* word_like - a token after which a following word needs a space */
static int word_like(int kind, const struct buf *tok)
{
	return kind != TOK_SPECIAL || buf_str(tok)[0] == '>';
}

/* starts_word - a token that needs a space after a word */
static int starts_word(int kind, const struct buf *tok)
{
	return kind != TOK_SPECIAL || buf_str(tok)[0] == '<';
}

/* normalise - re-externalise an address list, Postfix style: one space
 * between words, ", " between addresses, no space around other specials */
static void normalise(const char *s, size_t n, struct buf *out)
{
	struct buf tok;
	size_t i = 0;
	int kind, after_word = 0, after_comma = 0;

	buf_init(&tok, DICT_LINE_MAX + 2);
	buf_reset(out);
	while ((kind = next_token(s, n, &i, &tok)) >= 0) {
		if (after_comma || (after_word && starts_word(kind, &tok)))
			buf_putc(out, ' ');
		buf_append(out, buf_str(&tok), buf_len(&tok));
		after_word = word_like(kind, &tok);
		after_comma = kind == TOK_SPECIAL && buf_str(&tok)[0] == ',';
	}
	buf_free(&tok);
}

/* dict_alias_split - "name: value" */
int dict_alias_split(const char *line, struct buf *key, struct buf *value)
{
	size_t n = strlen(line), i = 0, colon;
	int quoted = 0;

	/* The name ends at the first ':' outside a quoted string. */
	for (colon = 0; colon < n; colon++) {
		if (line[colon] == '\\' && colon + 1 < n)
			colon++;
		else if (line[colon] == '"')
			quoted = !quoted;
		else if (line[colon] == ':' && !quoted)
			break;
	}
	if (colon >= n)
		return -1;
	while (i < colon && is_blank((unsigned char)line[i]))
		i++;
	buf_reset(key);
	for (; i < colon; i++) {
		if (line[i] == '"')
			continue;
		if (line[i] == '\\' && i + 1 < colon)
			i++;
		buf_putc(key, line[i]);
	}
	while (buf_len(key) > 0 &&
	       is_blank((unsigned char)buf_str(key)[buf_len(key) - 1]))
		buf_truncate(key, buf_len(key) - 1);
	normalise(line + colon + 1, n - colon - 1, value);
	if (buf_error(key) || buf_error(value))
		return -1;
	return buf_len(key) && buf_len(value) ? 0 : -1;
}

/* tmpl_ref - parse one $ reference at text[i] ('$'); sets *next, the index
 * in *n (-1 for "$$"); returns 0 or -1 with a problem added to g */
static int tmpl_ref(const char *text, size_t i, size_t *next, long *n,
		    const char *map, int lineno, int posix, struct dict_diag *g)
{
	const char *name;
	size_t len;
	char close = 0;

	i++;
	if (text[i] == '$') {
		*next = i + 1;
		*n = -1;
		return 0;
	}
	if (text[i] == '{' || text[i] == '(') {
		const char *end;

		close = text[i] == '{' ? '}' : ')';
		name = text + i + 1;
		end = strchr(name, close);
		if (end == NULL) {
			dict_diag_add(g, "truncated macro reference: \"%s\"",
				      text);
			return -1;
		}
		len = (size_t)(end - name);
		*next = (size_t)(end - text) + 1;
	} else {
		name = text + i;
		for (len = 0; is_word((unsigned char)name[len]); len++)
			;
		*next = i + len;
	}
	if (len == 0) {
		dict_diag_add(g, "empty macro name: \"%s\"", text);
		return -1;
	}
	*n = 0;
	for (size_t k = 0; k < len; k++) {
		if (name[k] < '0' || name[k] > '9') {
			dict_diag_add(g, "%s, line %d: non-numeric replacement "
				      "index \"%.*s\"", map, lineno, (int)len,
				      name);
			return -1;
		}
		if (*n <= DICT_TMPL_ARGS)
			*n = *n * 10 + (name[k] - '0');
	}
	if (*n == 0) {
		dict_diag_add(g, "%s, line %d: %s replacement index \"%.*s\"",
			      map, lineno, posix ? "out-of-range" : "out of range",
			      (int)len, name);
		return -1;
	}
	return 0;
}

/* dict_tmpl_check - validate $ syntax, find the highest index. The map
 * name tells the wording: "regexp map ..." uses Postfix's hyphenated
 * "out-of-range" where "pcre map ..." does not. */
int dict_tmpl_check(const char *text, struct dict_tmpl *t, const char *map,
		    int lineno, struct dict_diag *g)
{
	int posix = strncmp(map, "regexp", 6) == 0;
	size_t i = 0;

	t->max_index = 0;
	while (text[i]) {
		size_t next;
		long n;

		if (text[i] != '$') {
			i++;
			continue;
		}
		if (tmpl_ref(text, i, &next, &n, map, lineno, posix, g) < 0) {
			dict_diag_add(g, "%s, line %d: bad replacement syntax: "
				      "skipping this rule", map, lineno);
			return -1;
		}
		if (n > t->max_index)
			t->max_index = (int)n;
		i = next;
	}
	return 0;
}

/* dict_tmpl_expand - substitute */
int dict_tmpl_expand(const char *text, const char *subject, const size_t *ov,
		     size_t nov, struct buf *out)
{
	size_t i = 0;

	while (text[i]) {
		const char *dollar = strchr(text + i, '$');
		size_t lit = dollar ? (size_t)(dollar - text) - i
				    : strlen(text + i);
		size_t next;
		long n = 0;
		int braced;

		buf_append(out, text + i, lit);
		i += lit;
		if (!text[i])
			break;
		/* Syntax was checked: this cannot fail. */
		if (text[i + 1] == '$') {
			buf_putc(out, '$');
			i += 2;
			continue;
		}
		next = i + 1;
		braced = text[next] == '{' || text[next] == '(';
		if (braced)
			next++;
		while (text[next] >= '0' && text[next] <= '9') {
			if (n <= DICT_TMPL_ARGS)
				n = n * 10 + (text[next] - '0');
			next++;
		}
		if (braced && text[next])
			next++;
		if ((size_t)n < nov && ov[2 * n] != (size_t)-1 &&
		    ov[2 * n + 1] >= ov[2 * n])
			buf_append(out, subject + ov[2 * n],
				   ov[2 * n + 1] - ov[2 * n]);
		i = next;
	}
	return buf_error(out);
}
