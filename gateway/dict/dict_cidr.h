/* dict_cidr - cidr_table(5) tables: IPv4 and IPv6 network blocks.
 *
 * dict_cidr_parse() reads the text of a table (caller-owned bytes, explicit
 * length): "net/len result", "addr result" (a host), "[addr]" and
 * "[addr]/len" forms, "!pattern result" (negation), and "if pattern" ...
 * "endif" blocks (Postfix 3.2), nestable up to DICT_CIDR_DEPTH_MAX. A block
 * with host bits set ("1.2.3.4/24") is refused as Postfix refuses it.
 * Parsing is pure (no I/O, logging or globals); problems go to the caller's
 * struct dict_diag in Postfix's words and the rule is skipped. The first
 * matching rule wins; an IPv4 rule never matches an IPv6 key (nor an
 * IPv4-mapped IPv6 key) and the reverse, negated or not: "!10.0.0.0/8"
 * matches IPv4 addresses outside 10/8 only. */
#ifndef MAILGW_DICT_DICT_CIDR_H
#define MAILGW_DICT_DICT_CIDR_H

#include <stddef.h>

#include "dict_text.h"

/* Named limits. */
#define DICT_CIDR_RULES_MAX 1000000 /* rules in one table */
#define DICT_CIDR_DEPTH_MAX 64      /* nested if blocks */

struct dict_cidr_rule;

struct dict_cidr {
	struct dict_cidr_rule *rules;
	size_t n, cap;
};

/* dict_cidr_parse - compile data[0..len) into t (initialised here); file
 * names the source in messages. Returns the number of problems added to g;
 * t is usable either way. */
int dict_cidr_parse(struct dict_cidr *t, const char *file, const char *data,
		    size_t len, struct dict_diag *g);

/* dict_cidr_match - result of the first rule matching the address key (a
 * textual IPv4 or IPv6 address; anything else matches nothing), or NULL.
 * The result is owned by t. */
const char *dict_cidr_match(const struct dict_cidr *t, const char *key);

void dict_cidr_free(struct dict_cidr *t);

#endif
