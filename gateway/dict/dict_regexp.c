/* dict_regexp - regexp and pcre tables compiled with PCRE2.
 *
 * Follows regexp_table(5) and pcre_table(5) of Postfix 3.7, including the
 * wording of its warnings; POSIX (IEEE 1003.1 "Regular Expressions",
 * chapter 9) extended and basic syntax is translated to PCRE2 syntax, see
 * the header for what differs. Trusts nothing in the table text: every loop
 * is bounded by the input and by the named limits of the header. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "dict_regexp.h"

#include <pcre2.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "core/str.h"

enum { RE_MATCH, RE_IF, RE_ENDIF };

struct dict_re_rule {
	int op;
	int negate;
	int lineno;
	pcre2_code *code;  /* RE_MATCH, RE_IF */
	char *result;      /* RE_MATCH */
	size_t end;        /* RE_IF: index of its endif (or n) */
};

/* PCRE2 allocations go through mem_* (STYLE.md rule 7). */
static void *re_alloc(PCRE2_SIZE n, void *arg)
{
	(void)arg;
	return mem_alloc(n);
}

static void re_free(void *p, void *arg)
{
	(void)arg;
	mem_free(p);
}

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* ---- POSIX to PCRE2 ---- */

/* emit_literal - one byte that must match itself */
static void emit_literal(struct buf *out, unsigned char c)
{
	if (is_alnum(c) || c >= 0x80) {
		buf_putc(out, c);
	} else if (c == 0) {
		buf_puts(out, "\\x00");
	} else if (c == '\n') {
		buf_puts(out, "\\n");
	} else {
		buf_putc(out, '\\');
		buf_putc(out, c);
	}
}

static const char *const posix_classes[] = {
	"alpha", "digit", "alnum", "upper", "lower", "space", "blank",
	"punct", "print", "graph", "cntrl", "xdigit", NULL,
};

/* bracket - translate [...] starting at pat[*i] == '['; on success *i is
 * past the ']' */
static int bracket(const char *pat, size_t len, size_t *i, int newline,
		   struct buf *out, const char **why)
{
	size_t k = *i + 1;
	int first = 1, prev = -1, negate = 0;
	static const char *const unmatched =
		"Unmatched [, [^, [:, [., or [=";

	buf_putc(out, '[');
	if (k < len && pat[k] == '^') {
		negate = 1;
		buf_putc(out, '^');
		k++;
	}
	for (;; first = 0) {
		int c;

		if (k >= len) {
			*why = unmatched;
			return -1;
		}
		c = (unsigned char)pat[k];
		if (c == ']' && !first)
			break;
		if (c == '[' && k + 1 < len &&
		    (pat[k + 1] == ':' || pat[k + 1] == '.' ||
		     pat[k + 1] == '=')) {
			char kind = pat[k + 1];
			size_t s = k + 2, e = s;

			while (e + 1 < len && !(pat[e] == kind && pat[e + 1] == ']'))
				e++;
			if (e + 1 >= len) {
				*why = unmatched;
				return -1;
			}
			if (kind == ':') {
				int ok = 0;

				for (int j = 0; posix_classes[j]; j++)
					if (strlen(posix_classes[j]) == e - s &&
					    memcmp(posix_classes[j], pat + s,
						   e - s) == 0)
						ok = 1;
				if (!ok) {
					*why = "Invalid character class name";
					return -1;
				}
				buf_append(out, pat + k, e + 2 - k);
				prev = -1;
			} else {
				if (e - s != 1) {
					*why = "Invalid collation character";
					return -1;
				}
				c = (unsigned char)pat[s];
				emit_literal(out, (unsigned char)c);
				prev = c;
			}
			k = e + 2;
			continue;
		}
		if (c == '-' && !first && prev >= 0 && k + 1 < len &&
		    pat[k + 1] != ']') {
			int hi = (unsigned char)pat[k + 1];

			if (hi == '[' && k + 2 < len && pat[k + 2] == '.') {
				*why = "Invalid range end";
				return -1;
			}
			if (hi < prev) {
				*why = "Invalid range end";
				return -1;
			}
			buf_putc(out, '-');
			emit_literal(out, (unsigned char)hi);
			prev = -1;
			k += 2;
			continue;
		}
		emit_literal(out, (unsigned char)c);
		prev = c;
		k++;
	}
	if (negate && newline)
		buf_puts(out, "\\n");
	buf_putc(out, ']');
	*i = k + 1;
	return 0;
}

/* interval - parse "{n}", "{n,}", "{,m}", "{n,m}" at pat[*i] (after '{',
 * or after "\{" in basic syntax); emits the PCRE2 form */
static int interval(const char *pat, size_t len, size_t *i, int ext,
		    struct buf *out, const char **why)
{
	size_t k = *i;
	long lo = 0, hi = -1;
	int have_lo = 0, comma = 0;

	for (; k < len && pat[k] >= '0' && pat[k] <= '9'; k++, have_lo = 1)
		if (lo <= DICT_RE_DUP_MAX)
			lo = lo * 10 + (pat[k] - '0');
	if (k < len && pat[k] == ',') {
		comma = 1;
		k++;
		if (k < len && pat[k] >= '0' && pat[k] <= '9')
			hi = 0;
		for (; k < len && pat[k] >= '0' && pat[k] <= '9'; k++)
			if (hi <= DICT_RE_DUP_MAX)
				hi = hi * 10 + (pat[k] - '0');
	}
	if (ext ? (k >= len || pat[k] != '}')
		: (k + 1 >= len || pat[k] != '\\' || pat[k + 1] != '}')) {
		*why = "Unmatched \\{";
		return -1;
	}
	if (!have_lo && !comma) {
		*why = "Invalid content of \\{\\}";
		return -1;
	}
	if (!comma)
		hi = lo;
	if (lo > DICT_RE_DUP_MAX || hi > DICT_RE_DUP_MAX) {
		*why = "Regular expression too big";
		return -1;
	}
	if (hi >= 0 && hi < lo) {
		*why = "Invalid content of \\{\\}";
		return -1;
	}
	if (hi < 0)
		buf_printf(out, "{%ld,}", lo);
	else if (hi == lo)
		buf_printf(out, "{%ld}", lo);
	else
		buf_printf(out, "{%ld,%ld}", lo, hi);
	*i = k + (ext ? 1 : 2);
	return 0;
}

/* wrap_atom - turn out[from..] into (?:...) so that another quantifier can
 * follow (POSIX allows a** and a*?; PCRE2 would read *? as lazy) */
static void wrap_atom(struct buf *out, size_t from)
{
	size_t n = buf_len(out) - from;
	char *copy = mem_memdup(buf_str(out) + from, n);

	buf_truncate(out, from);
	buf_puts(out, "(?:");
	buf_append(out, copy, n);
	buf_putc(out, ')');
	mem_free(copy);
}

#define GROUPS_MAX DICT_RE_DEPTH_MAX * 16

/* dict_re_posix_to_pcre - see the header */
int dict_re_posix_to_pcre(const char *pat, size_t len, int ext, int newline,
			  struct buf *out, const char **why)
{
	size_t open[GROUPS_MAX]; /* out offsets of open groups */
	int depth = 0, closed = 0;
	size_t atom = (size_t)-1; /* out offset of the last atom */
	int quantified = 0;       /* last atom already has a quantifier */
	int at_start = 1;         /* a quantifier here has nothing to repeat */
	size_t i = 0;

	buf_reset(out);
	while (i < len) {
		unsigned char c = (unsigned char)pat[i];
		int op = 0; /* 1 group open, 2 group close, 3 alternation,
			       4 quantifier, 5 interval */

		if (ext) {
			if (c == '(')
				op = 1;
			else if (c == ')' && depth > 0)
				op = 2;
			else if (c == '|')
				op = 3;
			else if (c == '*' || c == '+' || c == '?')
				op = 4;
			else if (c == '{')
				op = 5;
		} else if (c == '\\' && i + 1 < len) {
			unsigned char d = (unsigned char)pat[i + 1];

			if (d == '(')
				op = 1;
			else if (d == ')')
				op = 2;
			else if (d == '|')
				op = 3;
			else if (d == '+' || d == '?')
				op = 4;
			else if (d == '{')
				op = 5;
			if (op)
				i++;
			c = d;
			if (op == 2 && depth == 0) {
				*why = "Unmatched ) or \\)";
				return -1;
			}
		} else if (c == '*' && !at_start) {
			op = 4;
		}
		switch (op) {
		case 1:
			if (depth >= GROUPS_MAX) {
				*why = "Regular expression too big";
				return -1;
			}
			open[depth++] = buf_len(out);
			buf_putc(out, '(');
			at_start = 1;
			atom = (size_t)-1;
			i++;
			continue;
		case 2:
			buf_putc(out, ')');
			atom = open[--depth];
			closed++;
			quantified = 0;
			at_start = 0;
			i++;
			continue;
		case 3:
			buf_putc(out, '|');
			at_start = 1;
			atom = (size_t)-1;
			i++;
			continue;
		case 4:
		case 5:
			if (at_start || atom == (size_t)-1) {
				if (ext || op == 5) {
					*why = "Invalid preceding regular "
					       "expression";
					return -1;
				}
				break; /* basic: a leading * is literal */
			}
			if (quantified)
				wrap_atom(out, atom);
			i++;
			if (op == 5) {
				if (interval(pat, len, &i, ext, out, why) < 0)
					return -1;
			} else {
				buf_putc(out, c);
			}
			quantified = 1;
			continue;
		}
		/* An atom or an anchor. */
		quantified = 0;
		if (c == '^' && (ext || at_start)) {
			buf_putc(out, '^');
			atom = (size_t)-1;
			at_start = 1;
			i++;
			continue;
		}
		if (c == '$' &&
		    (ext || i + 1 == len ||
		     (i + 2 < len && pat[i + 1] == '\\' &&
		      (pat[i + 2] == ')' || pat[i + 2] == '|')))) {
			buf_putc(out, '$');
			atom = (size_t)-1;
			at_start = 0;
			i++;
			continue;
		}
		at_start = 0;
		atom = buf_len(out);
		if (c == '.') {
			buf_putc(out, '.');
			i++;
		} else if (c == '[') {
			if (bracket(pat, len, &i, newline, out, why) < 0)
				return -1;
		} else if (c == '\\') {
			unsigned char d;

			if (i + 1 >= len) {
				*why = "Trailing backslash";
				return -1;
			}
			d = (unsigned char)pat[i + 1];
			i += 2;
			if (d >= '1' && d <= '9') {
				if (d - '0' > closed) {
					*why = "Invalid back reference";
					return -1;
				}
				buf_printf(out, "\\g{%d}", d - '0');
			} else if (d && strchr("wWsSbB", d)) {
				buf_putc(out, '\\');
				buf_putc(out, d);
			} else if (d == '<') {
				buf_puts(out, "\\b(?=\\w)");
			} else if (d == '>') {
				buf_puts(out, "\\b(?<=\\w)");
			} else if (d == '`') {
				buf_puts(out, "\\A");
			} else if (d == '\'') {
				buf_puts(out, "\\z");
			} else {
				emit_literal(out, d);
			}
		} else {
			emit_literal(out, c);
			i++;
		}
	}
	if (depth > 0) {
		*why = "Unmatched ( or \\(";
		return -1;
	}
	if (buf_error(out)) {
		*why = "Regular expression too big";
		return -1;
	}
	return 0;
}

/* ---- table parsing ---- */

struct pattern {
	const char *text;
	size_t len;
	int negate;
	uint32_t options;
	int posix_ext, posix_newline;
};

/* get_pattern - parse [!...]/pattern/flags at *pp; on success *pp is past
 * the flags. Returns 0, or -1 with a problem reported. */
static int get_pattern(char **pp, struct pattern *pat, int posix,
		       const char *map, int lineno, struct dict_diag *g)
{
	char *p = *pp;
	char delim;
	char *start;

	pat->negate = 0;
	for (;;) {
		while (is_blank((unsigned char)*p))
			p++;
		if (*p != '!')
			break;
		pat->negate = !pat->negate;
		p++;
	}
	if (*p == 0) {
		dict_diag_add(g, "%s, line %d: no regexp: skipping this rule",
			      map, lineno);
		return -1;
	}
	delim = *p++;
	start = p;
	while (*p && *p != delim) {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	if (*p == 0) {
		dict_diag_add(g, "%s, line %d: no closing regexp delimiter "
			      "\"%c\": %s this rule", map, lineno, delim,
			      posix ? "skipping" : "ignoring");
		return -1;
	}
	pat->text = start;
	pat->len = (size_t)(p - start);
	p++;
	pat->options = PCRE2_CASELESS;
	pat->posix_ext = 1;
	pat->posix_newline = 0;
	for (; *p && !is_blank((unsigned char)*p); p++) {
		switch (*p) {
		case 'i':
			pat->options ^= PCRE2_CASELESS;
			continue;
		case 'm':
			if (posix)
				pat->posix_newline = !pat->posix_newline;
			else
				pat->options ^= PCRE2_MULTILINE;
			continue;
		case 'x':
			if (posix)
				pat->posix_ext = !pat->posix_ext;
			else
				pat->options ^= PCRE2_EXTENDED;
			continue;
		}
		if (!posix) {
			switch (*p) {
			case 's':
				pat->options ^= PCRE2_DOTALL;
				continue;
			case 'A':
				pat->options ^= PCRE2_ANCHORED;
				continue;
			case 'E':
				pat->options ^= PCRE2_DOLLAR_ENDONLY;
				continue;
			case 'U':
				pat->options ^= PCRE2_UNGREEDY;
				continue;
			case 'X':
				dict_diag_add(g, "%s, line %d: ignoring obsolete "
					      "regexp option \"X\"", map, lineno);
				continue;
			}
		}
		dict_diag_add(g, "%s, line %d: unknown regexp option \"%c\": "
			      "skipping this rule", map, lineno, *p);
		return -1;
	}
	*pp = p;
	return 0;
}

/* compile - PCRE2 code for pat, or NULL with a problem reported */
static pcre2_code *compile(struct dict_re *t, const struct pattern *pat,
			   const char *map, int lineno, struct dict_diag *g)
{
	pcre2_compile_context *cctx;
	pcre2_code *code;
	struct buf tr;
	const char *src = pat->text, *why = NULL;
	size_t srclen = pat->len;
	uint32_t options = pat->options;
	int err;
	PCRE2_SIZE off;

	buf_init(&tr, 4 * DICT_LINE_MAX);
	if (t->posix) {
		if (dict_re_posix_to_pcre(pat->text, pat->len, pat->posix_ext,
					  pat->posix_newline, &tr, &why) < 0) {
			dict_diag_add(g, "%s, line %d: %s", map, lineno, why);
			buf_free(&tr);
			return NULL;
		}
		src = buf_str(&tr);
		srclen = buf_len(&tr);
		options &= PCRE2_CASELESS;
		options |= pat->posix_newline ? PCRE2_MULTILINE
					      : PCRE2_DOTALL |
							PCRE2_DOLLAR_ENDONLY;
	}
	cctx = pcre2_compile_context_create(t->gctx);
	code = pcre2_compile((PCRE2_SPTR)src, srclen, options, &err, &off,
			     cctx);
	pcre2_compile_context_free(cctx);
	buf_free(&tr);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			msg[0] = 0;
		if (t->posix)
			dict_diag_add(g, "%s, line %d: %s", map, lineno,
				      (char *)msg);
		else
			dict_diag_add(g, "%s, line %d: error in regex at "
				      "offset %zu: %s", map, lineno,
				      (size_t)off, (char *)msg);
		return NULL;
	}
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

static unsigned capture_count(const pcre2_code *code)
{
	uint32_t n = 0;

	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
	return n;
}

/* The parser stops at DICT_RE_RULES_MAX rules and a line adds at most
 * one, so the doubling capacity stays below twice that and cap * size
 * cannot overflow; mem_realloc() exits on failure, so nothing leaks. */
_Static_assert(DICT_RE_RULES_MAX <=
		       SIZE_MAX / 2 / sizeof(struct dict_re_rule),
	       "rule array size overflows size_t");

/* add_rule - append a rule slot */
static struct dict_re_rule *add_rule(struct dict_re *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->rules = mem_realloc(t->rules, t->cap * sizeof(*t->rules));
	}
	memset(&t->rules[t->n], 0, sizeof(t->rules[0]));
	return &t->rules[t->n++];
}

/* parse_line - one logical line; stack holds the indexes of open IFs */
static void parse_line(struct dict_re *t, char *line, int lineno,
		       const char *map, size_t *stack, int *depth,
		       int *stack_lines, struct dict_diag *g)
{
	struct dict_re_rule *r;
	struct pattern pat;
	struct dict_tmpl tmpl;
	pcre2_code *code;
	char *p = line, *value;

	if (is_alnum((unsigned char)*p)) {
		size_t n = 0;

		while (is_alnum((unsigned char)p[n]))
			n++;
		if (n == 2 && str_ncasecmp(p, "if", 2) == 0) {
			p += 2;
			if (get_pattern(&p, &pat, t->posix, map, lineno, g) < 0)
				return;
			while (is_blank((unsigned char)*p))
				p++;
			if (*p)
				dict_diag_add(g, "%s, line %d: ignoring extra "
					      "text after IF statement: \"%s\"",
					      map, lineno, p);
			if (*depth >= DICT_RE_DEPTH_MAX) {
				dict_diag_add(g, "%s, line %d: IF nesting "
					      "deeper than %d: skipping this "
					      "rule", map, lineno,
					      DICT_RE_DEPTH_MAX);
				return;
			}
			if ((code = compile(t, &pat, map, lineno, g)) == NULL)
				return;
			r = add_rule(t);
			r->op = RE_IF;
			r->negate = pat.negate;
			r->lineno = lineno;
			r->code = code;
			stack_lines[*depth] = lineno;
			stack[(*depth)++] = t->n - 1;
			return;
		}
		if (n == 5 && str_ncasecmp(p, "endif", 5) == 0) {
			if (*depth == 0) {
				dict_diag_add(g, "%s, line %d: ignoring ENDIF "
					      "without matching IF", map,
					      lineno);
				return;
			}
			r = add_rule(t);
			r->op = RE_ENDIF;
			r->lineno = lineno;
			t->rules[stack[--(*depth)]].end = t->n - 1;
			return;
		}
		dict_diag_add(g, "%s, line %d: ignoring unrecognized request",
			      map, lineno);
		return;
	}
	if (get_pattern(&p, &pat, t->posix, map, lineno, g) < 0)
		return;
	while (is_blank((unsigned char)*p))
		p++;
	value = p;
	for (size_t n = strlen(value); n > 0 &&
	     is_blank((unsigned char)value[n - 1]);)
		value[--n] = 0;
	if (*value == 0)
		dict_diag_add(g, "%s, line %d: no replacement text: using "
			      "empty string", map, lineno);
	if (dict_tmpl_check(value, &tmpl, map, lineno, g) < 0)
		return;
	if (pat.negate && tmpl.max_index > 0) {
		dict_diag_add(g, "%s, line %d: $number found in negative match "
			      "replacement text: skipping this rule", map,
			      lineno);
		return;
	}
	if ((code = compile(t, &pat, map, lineno, g)) == NULL)
		return;
	if ((unsigned)tmpl.max_index > capture_count(code)) {
		dict_diag_add(g, "%s, line %d: out of range replacement index "
			      "\"%d\": skipping this rule", map, lineno,
			      tmpl.max_index);
		pcre2_code_free(code);
		return;
	}
	r = add_rule(t);
	r->op = RE_MATCH;
	r->negate = pat.negate;
	r->lineno = lineno;
	r->code = code;
	r->result = mem_strdup(value);
}

/* dict_re_parse - compile a table */
int dict_re_parse(struct dict_re *t, int posix, const char *file,
		  const char *data, size_t len, struct dict_diag *g)
{
	size_t stack[DICT_RE_DEPTH_MAX];
	int stack_lines[DICT_RE_DEPTH_MAX];
	int depth = 0, lineno, before = g->count, rc;
	struct dict_lines lines;
	struct buf line, map;

	memset(t, 0, sizeof(*t));
	t->posix = posix;
	t->gctx = pcre2_general_context_create(re_alloc, re_free, NULL);
	buf_init(&line, DICT_LINE_MAX);
	buf_init(&map, 4096);
	buf_printf(&map, "%s map %s", posix ? "regexp" : "pcre", file);
	dict_lines_init(&lines, file, data, len);
	while ((rc = dict_lines_next(&lines, &line, &lineno, g)) != 0) {
		if (rc < 0)
			continue;
		if (t->n >= DICT_RE_RULES_MAX) {
			dict_diag_add(g, "%s, line %d: more than %d rules: "
				      "ignoring the rest", buf_str(&map), lineno,
				      DICT_RE_RULES_MAX);
			break;
		}
		parse_line(t, line.data, lineno, buf_str(&map), stack, &depth,
			   stack_lines, g);
	}
	/* An IF without ENDIF extends to the end of the table. */
	while (depth > 0) {
		depth--;
		dict_diag_add(g, "%s, line %d: IF has no matching ENDIF",
			      buf_str(&map), stack_lines[depth]);
		t->rules[stack[depth]].end = t->n;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->rules[i].code) {
			unsigned n = capture_count(t->rules[i].code);

			if (n > t->max_groups)
				t->max_groups = n;
		}
	t->md = pcre2_match_data_create(t->max_groups + 1, t->gctx);
	t->mctx = pcre2_match_context_create(t->gctx);
	pcre2_set_match_limit(t->mctx, DICT_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mctx, DICT_RE_DEPTH_LIMIT);
	t->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, t->gctx);
	if (t->jit_stack)
		pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
	buf_free(&line);
	buf_free(&map);
	return g->count - before;
}

/* run - 1 match, 0 no match, -1 error (message in out) */
static int run(struct dict_re *t, const struct dict_re_rule *r,
	       const char *key, size_t keylen, struct buf *out)
{
	int rc = pcre2_match(r->code, (PCRE2_SPTR)key, keylen, 0, 0, t->md,
			     t->mctx);

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	{
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			msg[0] = 0;
		buf_reset(out);
		buf_printf(out, "%s map, line %d: matching error: %s",
			   t->posix ? "regexp" : "pcre", r->lineno,
			   (char *)msg);
	}
	return -1;
}

/* dict_re_match - first matching rule */
int dict_re_match(struct dict_re *t, const char *key, size_t keylen,
		  struct buf *out)
{
	size_t i = 0;

	while (i < t->n) {
		const struct dict_re_rule *r = &t->rules[i];
		int m;

		if (r->op == RE_ENDIF) {
			i++;
			continue;
		}
		if ((m = run(t, r, key, keylen, out)) < 0)
			return -1;
		if (r->op == RE_IF) {
			i = m != r->negate ? i + 1 : r->end + 1;
			continue;
		}
		if (m != r->negate) {
			size_t ov[2 * (DICT_TMPL_ARGS + 1)];
			PCRE2_SIZE *pv = pcre2_get_ovector_pointer(t->md);
			size_t n = r->negate ? 0
					     : pcre2_get_ovector_count(t->md);

			if (n > DICT_TMPL_ARGS + 1)
				n = DICT_TMPL_ARGS + 1;
			for (size_t k = 0; k < 2 * n; k++)
				ov[k] = pv[k] == PCRE2_UNSET ? (size_t)-1
							     : pv[k];
			buf_reset(out);
			if (dict_tmpl_expand(r->result, key, ov, n, out) < 0) {
				buf_reset(out);
				buf_printf(out, "%s map, line %d: result too "
					   "long", t->posix ? "regexp" : "pcre",
					   r->lineno);
				return -1;
			}
			return 1;
		}
		i++;
	}
	return 0;
}

/* dict_re_free - release everything */
void dict_re_free(struct dict_re *t)
{
	for (size_t i = 0; i < t->n; i++) {
		pcre2_code_free(t->rules[i].code);
		mem_free(t->rules[i].result);
	}
	mem_free(t->rules);
	pcre2_jit_stack_free(t->jit_stack);
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	pcre2_general_context_free(t->gctx);
	memset(t, 0, sizeof(*t));
}
