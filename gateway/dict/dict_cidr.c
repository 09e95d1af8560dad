/* dict_cidr - CIDR tables as Postfix 3.7's cidr_table(5).
 *
 * Addresses are parsed with inet_pton(3) (RFC 4291 section 2.2 text forms
 * for IPv6, dotted quads without leading zeros for IPv4), which is pure.
 * Messages follow Postfix's wording. Trusts nothing in the table text. */
#include "dict_cidr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/str.h"

enum { CIDR_MATCH, CIDR_IF, CIDR_ENDIF };

struct dict_cidr_rule {
	int op;
	int negate;
	int family;                /* AF_INET or AF_INET6 */
	unsigned char net[16];
	unsigned char mask[16];
	char *result;              /* CIDR_MATCH */
	size_t end;                /* CIDR_IF: index of its endif (or n) */
};

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static size_t family_bytes(int family) { return family == AF_INET6 ? 16 : 4; }

/* make_mask - the first bits bits set */
static void make_mask(unsigned char *mask, size_t bytes, unsigned bits)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned b = bits >= 8 ? 8 : bits;

		mask[i] = (unsigned char)(0xff00u >> b);
		bits -= b;
	}
}

/* parse_pattern - address pattern text p (modified) into r; 0 or -1 with
 * the reason in why */
static int parse_pattern(char *p, struct dict_cidr_rule *r, struct buf *why)
{
	char *slash, *mask = NULL, *addr;
	size_t bytes;
	unsigned long bits = 0;

	r->negate = 0;
	for (;;) {
		while (is_blank((unsigned char)*p))
			p++;
		if (*p != '!')
			break;
		r->negate = !r->negate;
		p++;
	}
	if (*p == 0) {
		buf_sets(why, "no address pattern");
		return -1;
	}
	addr = p;
	if (*p == '[') {
		char *close = strchr(++addr, ']');

		if (close == NULL) {
			buf_printf(why, "missing ']' character after \"[%s\"",
				   addr);
			return -1;
		}
		*close = 0;
		if (close[1] == '/') {
			mask = close + 2;
		} else if (close[1] != 0) {
			buf_printf(why, "garbage after \"[%s]\"", addr);
			return -1;
		}
	}
	if (mask == NULL && (slash = strchr(addr, '/')) != NULL) {
		*slash = 0;
		mask = slash + 1;
	}
	r->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	bytes = family_bytes(r->family);
	if (mask) {
		size_t k;

		for (k = 0; mask[k] >= '0' && mask[k] <= '9'; k++)
			if (bits <= 128)
				bits = bits * 10 + (unsigned)(mask[k] - '0');
		if (k == 0 || mask[k] != 0) {
			buf_printf(why, "bad mask value in \"%s/%s\"", addr,
				   mask);
			return -1;
		}
		if (bits > 8 * bytes) {
			buf_printf(why, "bad mask length in \"%s/%s\"", addr,
				   mask);
			return -1;
		}
		if (inet_pton(r->family, addr, r->net) != 1) {
			buf_printf(why, "bad network value in \"%s/%s\"", addr,
				   mask);
			return -1;
		}
	} else {
		if (inet_pton(r->family, addr, r->net) != 1) {
			buf_printf(why, "bad address pattern: \"%s\"", addr);
			return -1;
		}
		bits = 8 * bytes;
	}
	make_mask(r->mask, bytes, (unsigned)bits);
	for (size_t i = 0; i < bytes; i++) {
		if (r->net[i] & ~r->mask[i]) {
			char text[INET6_ADDRSTRLEN];

			for (size_t j = 0; j < bytes; j++)
				r->net[j] &= r->mask[j];
			if (inet_ntop(r->family, r->net, text, sizeof(text)) ==
			    NULL)
				text[0] = 0;
			buf_printf(why, "non-null host address bits in "
				   "\"%s/%s\", perhaps you should use "
				   "\"%s/%lu\" instead", addr, mask, text, bits);
			return -1;
		}
	}
	return 0;
}

/* The parser stops at DICT_CIDR_RULES_MAX rules and a line adds at most
 * one, so the doubling capacity stays below twice that and cap * size
 * cannot overflow; mem_realloc() exits on failure, so nothing leaks. */
_Static_assert(DICT_CIDR_RULES_MAX <=
		       SIZE_MAX / 2 / sizeof(struct dict_cidr_rule),
	       "rule array size overflows size_t");

static struct dict_cidr_rule *add_rule(struct dict_cidr *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->rules = mem_realloc(t->rules, t->cap * sizeof(*t->rules));
	}
	memset(&t->rules[t->n], 0, sizeof(t->rules[0]));
	return &t->rules[t->n++];
}

/* parse_line - one logical line; 0 or -1 with the reason in why */
static int parse_line(struct dict_cidr *t, char *line, int lineno,
		      size_t *stack, int *lines, int *depth, struct buf *why)
{
	struct dict_cidr_rule rule;
	char *p = line, *value;
	size_t n = 0, bangs = 0;

	memset(&rule, 0, sizeof(rule));
	while (p[n] && !is_blank((unsigned char)p[n]))
		n++;
	if (n == 2 && str_ncasecmp(p, "if", 2) == 0) {
		char *rest = str_trim(p + 2);

		if (parse_pattern(rest, &rule, why) < 0)
			return -1;
		if (*depth >= DICT_CIDR_DEPTH_MAX) {
			buf_printf(why, "IF nesting deeper than %d",
				   DICT_CIDR_DEPTH_MAX);
			return -1;
		}
		rule.op = CIDR_IF;
		*add_rule(t) = rule;
		lines[*depth] = lineno;
		stack[(*depth)++] = t->n - 1;
		return 0;
	}
	if (n == 5 && str_ncasecmp(p, "endif", 5) == 0) {
		if (*str_trim(p + 5)) {
			buf_sets(why, "garbage after ENDIF");
			return -1;
		}
		if (*depth == 0) {
			buf_sets(why, "ENDIF without IF");
			return -1;
		}
		add_rule(t)->op = CIDR_ENDIF;
		t->rules[stack[--(*depth)]].end = t->n - 1;
		return 0;
	}
	/* [!...]pattern result: the pattern is one word after the '!'s. */
	while (*p == '!' || is_blank((unsigned char)*p))
		bangs += *p++ == '!';
	value = p;
	while (*value && !is_blank((unsigned char)*value))
		value++;
	if (*value)
		*value++ = 0;
	value = str_trim(value);
	if (parse_pattern(p, &rule, why) < 0)
		return -1;
	rule.negate = (int)(bangs % 2);
	if (*value == 0) {
		buf_sets(why, "no lookup result");
		return -1;
	}
	rule.op = CIDR_MATCH;
	rule.result = mem_strdup(value);
	*add_rule(t) = rule;
	return 0;
}

/* dict_cidr_parse - compile a table */
int dict_cidr_parse(struct dict_cidr *t, const char *file, const char *data,
		    size_t len, struct dict_diag *g)
{
	size_t stack[DICT_CIDR_DEPTH_MAX];
	int lines[DICT_CIDR_DEPTH_MAX];
	int depth = 0, lineno, rc, before = g->count;
	struct dict_lines rd;
	struct buf line, why;

	memset(t, 0, sizeof(*t));
	buf_init(&line, DICT_LINE_MAX);
	buf_init(&why, DICT_LINE_MAX + 1024);
	dict_lines_init(&rd, file, data, len);
	while ((rc = dict_lines_next(&rd, &line, &lineno, g)) != 0) {
		if (rc < 0)
			continue;
		if (t->n >= DICT_CIDR_RULES_MAX) {
			dict_diag_add(g, "cidr map %s, line %d: more than %d "
				      "rules: ignoring the rest", file, lineno,
				      DICT_CIDR_RULES_MAX);
			break;
		}
		buf_reset(&why);
		if (parse_line(t, line.data, lineno, stack, lines, &depth,
			       &why) < 0)
			dict_diag_add(g, "cidr map %s, line %d: %s: skipping "
				      "this rule", file, lineno, buf_str(&why));
	}
	while (depth > 0) {
		depth--;
		dict_diag_add(g, "cidr map %s, line %d: IF has no matching "
			      "ENDIF", file, lines[depth]);
		t->rules[stack[depth]].end = t->n;
	}
	buf_free(&line);
	buf_free(&why);
	return g->count - before;
}

/* matches - does addr fall in rule r, negation applied; a rule of the
 * other address family never matches, negated or not (as Postfix) */
static int matches(const struct dict_cidr_rule *r, int family,
		   const unsigned char *addr)
{
	if (r->family != family)
		return 0;
	for (size_t i = 0; i < family_bytes(family); i++)
		if ((addr[i] & r->mask[i]) != r->net[i])
			return r->negate;
	return !r->negate;
}

/* dict_cidr_match - first matching rule */
const char *dict_cidr_match(const struct dict_cidr *t, const char *key)
{
	unsigned char addr[16];
	int family = strchr(key, ':') ? AF_INET6 : AF_INET;
	size_t i = 0;

	if (inet_pton(family, key, addr) != 1)
		return NULL;
	while (i < t->n) {
		const struct dict_cidr_rule *r = &t->rules[i];

		switch (r->op) {
		case CIDR_ENDIF:
			i++;
			break;
		case CIDR_IF:
			i = matches(r, family, addr) ? i + 1 : r->end + 1;
			break;
		default:
			if (matches(r, family, addr))
				return r->result;
			i++;
		}
	}
	return NULL;
}

/* dict_cidr_free - release the rules */
void dict_cidr_free(struct dict_cidr *t)
{
	for (size_t i = 0; i < t->n; i++)
		mem_free(t->rules[i].result);
	mem_free(t->rules);
	memset(t, 0, sizeof(*t));
}
