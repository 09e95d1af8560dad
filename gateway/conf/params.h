/* params - the one table of main.cf parameters.
 *
 * Every parameter mailgw knows is one row of conf_params[] (params.c):
 * name, type, default (main.cf text, unexpanded), bounds, default time
 * unit, flags and a one-line description. The parser's validation,
 * postconf -d, docs/parameters.md and the web UI's field metadata all come
 * from it; no other list of parameters exists (STYLE.md rule 20).
 *
 * Defaults are Postfix 3.7's at compatibility_level 3.6 with the
 * compatibility and stress expressions already evaluated (mailgw has one
 * level and no stress mode), except where mailgw differs on purpose
 * (paths, mail_owner, mail_name, syslog_name, table types it lacks);
 * tests/integration/test_postconf.py lists those differences.
 *
 * Value syntax per type (checked on the expanded value):
 *   bool   yes or no (any case);
 *   int    decimal integer within [min, max];
 *   size   bytes, a decimal integer within [min, max];
 *   time   a decimal integer with an optional unit s, m, h, d or w (the
 *          parameter's unit when none is given), within [min, max] seconds;
 *   enum   one of the words in choices (any case), or empty with
 *          CONF_F_EMPTY;
 *   string any text;
 *   list   elements separated by whitespace or commas; "{...}" groups;
 *   maps   a list whose elements are "type:name" lookup tables;
 *   restr  a restriction list (checked by the SMTP server, here as list). */
#ifndef MAILGW_CONF_PARAMS_H
#define MAILGW_CONF_PARAMS_H

#include <limits.h>
#include <stddef.h>

#include "core/buf.h"

enum conf_type {
	CONF_BOOL,
	CONF_INT,
	CONF_SIZE,
	CONF_TIME,
	CONF_ENUM,
	CONF_STR,
	CONF_LIST,
	CONF_MAPS,
	CONF_RESTR,
};

#define CONF_F_RAW                                                             \
	0x01                 /* not expanded by conf: its $names are filled    \
				in by the user of the value (per delivery) */
#define CONF_F_COMPUTED 0x02 /* default computed from the host: def NULL */
#define CONF_F_READONLY 0x04 /* set by the program, not meant for main.cf */
#define CONF_F_EMPTY    0x08 /* enum: the empty value is allowed too */

#define CONF_NOMAX LONG_MAX

struct conf_param {
	const char *name;
	enum conf_type type;
	const char *def;     /* main.cf text; NULL with CONF_F_COMPUTED */
	long min, max;       /* int, size; time in seconds */
	char unit;           /* time: default unit letter */
	unsigned char flags; /* CONF_F_* */
	const char *choices; /* enum: allowed words, space-separated */
	const char *doc;     /* one line, no trailing period */
};

/* The table, sorted by name (strcmp order). */
extern const struct conf_param conf_params[];
extern const size_t conf_params_count;

/* conf_param_find - the row for name, or NULL. */
const struct conf_param *conf_param_find(const char *name);
/* conf_type_name - "bool", "int", "size", "time", "enum", "string",
 * "list", "maps", "restrictions". */
const char *conf_type_name(enum conf_type t);

/* conf_parse_time - "N" or "N<unit>" to seconds; unit is the default
 * unit letter. 0, or -1 for bad syntax or overflow. */
int conf_parse_time(const char *s, char unit, long *secs);
/* conf_parse_bool - 1 for yes, 0 for no (any case), -1 otherwise. */
int conf_parse_bool(const char *s);

/* conf_value_check - validate an expanded value for p. Returns 0 and,
 * for bool/int/size/time, the number in *num (may be NULL); or -1 with
 * the reason appended to why (may be NULL), e.g. "expected yes or no". */
int conf_value_check(const struct conf_param *p, const char *value, long *num,
		     struct buf *why);

/* conf_list_next - the next element of a main.cf list at *cursor:
 * separators are whitespace and commas, "{...}" nests (inline:{ a=b, c }
 * is one element). Returns 1 with the element in *tok and *len and *cursor
 * moved past it, 0 at the end, -1 for an unbalanced brace. */
int conf_list_next(const char **cursor, const char **tok, size_t *len);

/* conf_transport_param - 1 when name is SERVICE_suffix for one of the
 * per-transport suffixes Postfix derives from master.cf services
 * (_destination_concurrency_limit, _time_limit, ...); *service_len is the
 * length of SERVICE. */
int conf_transport_param(const char *name, size_t *service_len);

#endif
