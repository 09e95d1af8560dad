/* dict_text - pure parsers for the text of lookup table sources.
 *
 * Everything here works on caller-owned bytes with explicit lengths: no I/O,
 * no logging, no globals, no clock (STYLE.md rule 10). Problems are
 * collected into a struct dict_diag as complete Postfix-worded messages
 * ("pcre map /etc/x, line 3: ...") that the caller logs or returns.
 *
 * Logical lines follow Postfix's readllines(): a line whose first byte is
 * whitespace continues the previous logical line (the newline is dropped,
 * the whitespace kept); lines that are empty, all whitespace, or whose first
 * non-blank byte is '#' are skipped without ending a logical line; a
 * logical line that would start with whitespace is reported and dropped.
 * The line number of a logical line is that of its first physical line. */
#ifndef MAILGW_DICT_DICT_TEXT_H
#define MAILGW_DICT_DICT_TEXT_H

#include <stddef.h>

#include "core/buf.h"

/* Named limits. */
#define DICT_LINE_MAX  (256 * 1024) /* one logical line */
#define DICT_DIAG_MAX  (64 * 1024)  /* collected messages; later dropped */
#define DICT_TMPL_ARGS 99           /* highest $n in a replacement */

/* dict_diag - messages from a parser, one per line in text. */
struct dict_diag {
	struct buf text; /* "message\n" ... */
	int count;       /* messages produced (also those dropped) */
};

void dict_diag_init(struct dict_diag *g);
void dict_diag_free(struct dict_diag *g);
void dict_diag_add(struct dict_diag *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* dict_diag_first - the first message (into out, replacing it). */
void dict_diag_first(const struct dict_diag *g, struct buf *out);

/* dict_lines - cursor over the logical lines of data[0..len). */
struct dict_lines {
	const char *data;
	size_t len;
	size_t pos;
	int lineno;      /* physical lines consumed so far */
	const char *name; /* for "NAME: logical line must not start..." */
};

void dict_lines_init(struct dict_lines *r, const char *name, const char *data,
		     size_t len);
/* dict_lines_next - next logical line into line (replaced, NUL-terminated,
 * trailing CR/LF removed, other bytes kept), its first line number in
 * *lineno. Returns 1 with a line, 0 at the end, -1 when a logical line is
 * longer than DICT_LINE_MAX (reported in g; the line is skipped, so the
 * caller may go on). Bytes NUL in the input are kept as they are. */
int dict_lines_next(struct dict_lines *r, struct buf *line, int *lineno,
		    struct dict_diag *g);

/* dict_text_split - split a postmap source line "key whitespace value":
 * key is the first word, value the rest without surrounding whitespace.
 * Modifies line in place. Returns 0, or -1 when there is no value. */
int dict_text_split(char *line, char **key, char **value);

/* dict_alias_split - parse an aliases(5) line "name: value". The name may
 * be quoted ("a b": x) and is returned unquoted; the value is returned
 * normalised as Postfix's postalias does (RFC 822 tokens separated by one
 * space, ", " between addresses). key and value are replaced. Returns 0,
 * or -1 when the line is not a name:value pair. */
int dict_alias_split(const char *line, struct buf *key, struct buf *value);

/* dict_tmpl - a replacement text with $n substitutions (regexp/pcre). */
struct dict_tmpl {
	int max_index;   /* highest $n used, 0 when none */
};

/* dict_tmpl_check - validate text as Postfix's mac_parse() does: "$$" is
 * "$", "$n", "${n}" and "$(n)" are capture references, n >= 1. Problems are
 * added to g as Postfix words them; map and lineno prefix the final
 * "bad replacement syntax" line (e.g. "pcre map /x, line 3"). Returns 0
 * or -1 on bad syntax. */
int dict_tmpl_check(const char *text, struct dict_tmpl *t, const char *map,
		    int lineno, struct dict_diag *g);

/* dict_tmpl_expand - append text with $n replaced by the bytes
 * subject[ov[2n]..ov[2n+1]) (an unset group, ov[2n] == (size_t)-1 or n >=
 * nov, is empty). Returns 0 or BUF_ERR_FULL. text must have passed
 * dict_tmpl_check(). */
int dict_tmpl_expand(const char *text, const char *subject, const size_t *ov,
		     size_t nov, struct buf *out);

#endif
