/* maincf - main.cf syntax: logical lines, parameter expansion, editing.
 *
 * Everything here is a pure function over bytes with explicit lengths: no
 * I/O, no logging, no globals. conf.c adds files, the parameter table and
 * messages; the fuzz harnesses drive these functions directly.
 *
 * Syntax (postconf(5)):
 *   - a line whose first non-blank byte is '#' is a comment; blank and
 *     whitespace-only lines are ignored; neither ends a logical line;
 *   - a line that starts with a space or tab continues the logical line
 *     before it: the physical lines are joined as they are (newline
 *     removed, leading whitespace kept), as Postfix does;
 *   - a logical line is "name = value"; whitespace around '=' and at the
 *     end is removed. Names use [A-Za-z0-9_.-]. A continuation line with
 *     no logical line before it is a warning and is skipped.
 *
 * Expansion (maincf_expand): "$name", "${name}", "$(name)" are replaced,
 * recursively, by the value of name (undefined: empty); "${name?text}" and
 * "${name?{text}}" by text when name's raw value is non-empty, "${name:text}"
 * and "${name:{text}}" when it is empty or undefined, "${name?{a}:{b}}" by
 * a or b; "$$" is a literal '$'. Names in references use [A-Za-z0-9_].
 * A parameter that refers to itself, directly or through others, is an
 * error naming it (never a hang); depth and output size are bounded.
 *
 * Limits are the MAINCF_* constants below; exceeding one is an error. */
#ifndef MAILGW_CONF_MAINCF_H
#define MAILGW_CONF_MAINCF_H

#include <stddef.h>

#include "core/buf.h"

#define MAINCF_LINE_MAX     8192         /* bytes in one physical line */
#define MAINCF_VALUE_MAX    (64 * 1024)  /* bytes in one logical line */
#define MAINCF_NAME_MAX     128          /* bytes in a parameter name */
#define MAINCF_ENTRIES_MAX  10000        /* logical lines in one file */
#define MAINCF_EXPAND_DEPTH 100          /* nested references/conditionals */
#define MAINCF_EXPAND_MAX   (256 * 1024) /* bytes of one expanded value */
#define MAINCF_EXCERPT_MAX  64           /* bytes of input quoted in errors */

/* Results of maincf_next(); errors are negative. */
#define MAINCF_END     0
#define MAINCF_ENTRY   1
#define MAINCF_WARNING 2 /* err describes it; parsing goes on */

#define MAINCF_ERR_NOEQ    (-1)  /* missing '=' after name */
#define MAINCF_ERR_NONAME  (-2)  /* missing name before '=' */
#define MAINCF_ERR_BADNAME (-3)  /* name has a byte outside the set */
#define MAINCF_ERR_LINE    (-4)  /* physical line longer than the limit */
#define MAINCF_ERR_VALUE   (-5)  /* logical line longer than the limit */
#define MAINCF_ERR_ENTRIES (-6)  /* more logical lines than the limit */
#define MAINCF_ERR_NUL     (-7)  /* NUL byte in the input */
#define MAINCF_ERR_SYNTAX  (-8)  /* expansion: bad reference syntax */
#define MAINCF_ERR_LOOP    (-9)  /* expansion: a parameter refers to itself */
#define MAINCF_ERR_DEPTH   (-10) /* expansion: nesting too deep */
#define MAINCF_ERR_SIZE    (-11) /* expansion: result too long */

/* maincf_error - what went wrong, where. line is the first physical line
 * of the logical line (0 for expansion errors); excerpt quotes the input
 * (truncated), name the parameter a loop runs through. */
struct maincf_error {
	int code;
	unsigned line;
	char excerpt[MAINCF_EXCERPT_MAX + 1];
	char name[MAINCF_NAME_MAX + 1];
};

/* maincf_entry - one "name = value" logical line. name points into the
 * input (name_len bytes, not NUL-terminated); value is the trimmed, joined
 * value, NUL-terminated, owned by the parser's scratch buffer and valid
 * until the next maincf_next(). */
struct maincf_entry {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	unsigned line;      /* first physical line, counting from 1 */
	unsigned last_line; /* last physical line holding part of it */
};

/* maincf_parser - caller-owned iterator state (maincf_init). */
struct maincf_parser {
	const char *text;
	size_t len, off;
	unsigned line; /* physical lines consumed */
	unsigned entries;
	int err_code;      /* sticky error: 0 or MAINCF_ERR_* */
	struct buf *value; /* caller's scratch, max >= MAINCF_VALUE_MAX */
	struct maincf_error err;
};

/* maincf_init - parse text[0..len); scratch holds joined values. */
void maincf_init(struct maincf_parser *ps, const char *text, size_t len,
		 struct buf *scratch);
/* maincf_next - MAINCF_ENTRY with *e filled, MAINCF_WARNING (ps->err says
 * what; call again), MAINCF_END, or a negative MAINCF_ERR_* (ps->err says
 * what and where; the error is sticky). */
int maincf_next(struct maincf_parser *ps, struct maincf_entry *e);

/* maincf_strerror - a fixed text for a MAINCF_ERR_* code. */
const char *maincf_strerror(int code);
/* maincf_error_format - "TEXT: \"excerpt\"" in Postfix's words, appended
 * to out (without file and line, which the caller knows). */
void maincf_error_format(const struct maincf_error *err, struct buf *out);

/* maincf_name_valid - 1 when s[0..n) is a valid main.cf parameter name. */
int maincf_name_valid(const char *s, size_t n);

/* maincf_lookup - how maincf_expand finds values. get returns the raw
 * (unexpanded) value of name[0..len), or NULL when it is undefined; the
 * string must stay valid during the call. undefined (may be NULL) is told
 * of each plain "$name"/"${name}" whose value is undefined. */
struct maincf_lookup {
	const char *(*get)(void *arg, const char *name, size_t len);
	void (*undefined)(void *arg, const char *name, size_t len);
	void *arg;
};

/* maincf_expand - append the expansion of text[0..len) to out. The result
 * is also bounded by MAINCF_EXPAND_MAX. self (may be NULL) is the name of
 * the parameter whose value text is, so that a reference back to it is
 * reported as a loop. Returns 0, or a negative MAINCF_ERR_* with err set
 * (out then holds a partial result). */
int maincf_expand(const char *text, size_t len, const char *self,
		  const struct maincf_lookup *lk, struct buf *out,
		  struct maincf_error *err);

/* maincf_refs - call fn for every parameter name that text[0..len) refers
 * to, in any branch of a conditional, without looking anything up (used to
 * tell user-defined parameters from unused ones). Returns 0 or
 * MAINCF_ERR_SYNTAX/MAINCF_ERR_DEPTH. */
int maincf_refs(const char *text, size_t len,
		void (*fn)(void *arg, const char *name, size_t len), void *arg);

/* maincf_edit_item - one postconf -e/-X change: value NULL removes name. */
struct maincf_edit_item {
	const char *name;
	const char *value;
};

/* maincf_edit - write text[0..len) to out with the changes applied, as
 * postconf -e/-X do: every logical line that sets a listed name is
 * replaced by "name = value" (or removed), its continuation lines
 * dropped; comments, blank lines and everything else are kept in order;
 * names not found are appended at the end in the order given (removals of
 * absent names do nothing). Returns 0 or a negative MAINCF_ERR_* from
 * parsing text (err set) or MAINCF_ERR_SIZE when out is full. */
int maincf_edit(const char *text, size_t len,
		const struct maincf_edit_item *items, size_t n, struct buf *out,
		struct maincf_error *err);

/* maincf_count_sets - how many logical lines of text[0..len) set name
 * (postconf -e warns of more than one, as Postfix: each one is replaced).
 * Counts up to the first line too long or holding a NUL byte. */
size_t maincf_count_sets(const char *text, size_t len, const char *name);

#endif
