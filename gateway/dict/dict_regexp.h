/* dict_regexp - regexp_table(5) and pcre_table(5) tables on PCRE2.
 *
 * dict_re_parse() compiles the text of a table (caller-owned bytes with an
 * explicit length) into rules: "/pattern/flags result", "!/pattern/ result"
 * (negation; the result may not use $n), "if /pattern/" ... "endif" blocks
 * (nestable up to DICT_RE_DEPTH_MAX; "if !/pattern/" too). Any byte that is
 * not a letter or digit may delimit a pattern; a backslash escapes the
 * delimiter. Results take $n, ${n}, $(n) (capture n >= 1) and $$.
 * Parsing is pure: no I/O, no logging, no globals. Problems are added to the
 * caller's struct dict_diag in Postfix's words and the rule is skipped, as
 * Postfix does; the return value is the number of problems. All memory
 * (PCRE2's included) comes from mem_* and is released by dict_re_free().
 * Patterns are JIT-compiled when the JIT is available.
 *
 * Flags, pcre: i (case-insensitive; on by default, the flag toggles), m
 * (multi-line), s (dot matches newline), x (extended), A (anchored), E
 * (dollar matches only at the end), U (ungreedy), X (obsolete: warned and
 * ignored). regexp: i (as pcre), x (toggles extended syntax: off means
 * POSIX basic syntax), m (newline-sensitive matching, REG_NEWLINE).
 *
 * regexp tables use POSIX syntax in Postfix (the C library's regcomp()).
 * mailgw translates POSIX extended and basic syntax (with the GNU
 * extensions \w \W \s \S \b \B \< \> \` \' and, in basic syntax, \+ \? \|)
 * into PCRE2 syntax and reports the errors regcomp() would with glibc's
 * wording. What differs from glibc:
 *   - PCRE2 matching is leftmost-first, POSIX is leftmost-longest: an
 *     alternation whose first branch matches a shorter text at the same
 *     place can give a shorter match and other $n values ((a|ab)c is the
 *     same; (a|ab)(c|bcd) may differ);
 *   - a backslash before an ordinary character (\d, \Q...) means that
 *     character; [[.x.]] and [[=x=]] accept a single character only;
 *   - bytes are matched as bytes with ASCII case folding (the C locale).
 *
 * Matching is bounded by DICT_RE_MATCH_LIMIT steps; a key that hits it is
 * an error, not a silent mismatch. */
#ifndef MAILGW_DICT_DICT_REGEXP_H
#define MAILGW_DICT_DICT_REGEXP_H

#include <stddef.h>

#include "core/buf.h"
#include "dict_text.h"

/* Named limits. */
#define DICT_RE_RULES_MAX   100000  /* rules in one table */
#define DICT_RE_DEPTH_MAX   64      /* nested if blocks */
#define DICT_RE_MATCH_LIMIT 1000000 /* PCRE2 match steps per rule */
#define DICT_RE_DEPTH_LIMIT 10000   /* PCRE2 backtracking depth */
#define DICT_RE_DUP_MAX     32767   /* {n,m} bound in POSIX syntax */

struct dict_re_rule;

struct dict_re {
	int posix;                 /* regexp (1) or pcre (0) */
	struct dict_re_rule *rules;
	size_t n, cap;
	unsigned max_groups;       /* largest capture count */
	void *gctx, *mctx, *md, *jit_stack; /* PCRE2 contexts */
};

/* dict_re_parse - compile data[0..len) into t (initialised here). file
 * names the source in messages. Returns the number of problems reported
 * to g (0 for a clean table); t is usable either way. */
int dict_re_parse(struct dict_re *t, int posix, const char *file,
		  const char *data, size_t len, struct dict_diag *g);

/* dict_re_match - first rule that matches key (of keylen bytes); its
 * result, with $n substituted, replaces the contents of out. Returns 1
 * found, 0 not found, -1 on a matching error (limit) with a message in
 * out. */
int dict_re_match(struct dict_re *t, const char *key, size_t keylen,
		  struct buf *out);

void dict_re_free(struct dict_re *t);

/* dict_re_posix_to_pcre - translate a POSIX pattern (extended when ext,
 * REG_NEWLINE semantics when newline) to PCRE2 syntax into out (replaced).
 * Returns 0, or -1 with *why set to glibc's regerror() text. Pure. */
int dict_re_posix_to_pcre(const char *pat, size_t len, int ext, int newline,
			  struct buf *out, const char **why);

#endif
