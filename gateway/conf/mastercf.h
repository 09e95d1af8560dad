/* mastercf - master.cf syntax: one service per logical line.
 *
 * A pure parser (no I/O, no logging, no globals) over bytes with explicit
 * length, as master(5) describes the file:
 *   - comment lines (first non-blank byte '#') and blank lines are
 *     skipped; a line that starts with whitespace continues the logical
 *     line before it (one at the start of the file is a warning, skipped);
 *   - eight whitespace-separated columns: service name, type (inet, unix,
 *     unix-dgram, fifo, pass), private, unpriv, chroot (y, n or - for the
 *     default), wakeup (-, N or N?), maxproc (- or N), command; then the
 *     command's arguments;
 *   - an argument "{ text }" keeps its inner whitespace (braces and the
 *     blanks next to them removed, Postfix 3.0);
 *   - "-o name=value", "-oname=value" and "-o { name = value }" override a
 *     main.cf parameter for this service.
 * inet service names are "port", "host:port" or "[v6addr]:port" (host may
 * be "*"). Limits are the MASTERCF_* constants; exceeding one is an error.
 * Errors name the line and the offending column. */
#ifndef MAILGW_CONF_MASTERCF_H
#define MAILGW_CONF_MASTERCF_H

#include <stddef.h>

#include "core/buf.h"

#define MASTERCF_LINE_MAX    8192        /* bytes in one physical line */
#define MASTERCF_LOGICAL_MAX (64 * 1024) /* bytes in one logical line */
#define MASTERCF_ARGS_MAX    128         /* arguments after the command */
#define MASTERCF_ENTRIES_MAX 1000        /* services in one file */
#define MASTERCF_COUNT_MAX   1000000     /* wakeup and maxproc values */
#define MASTERCF_EXCERPT_MAX 64

/* Results of mastercf_next(); errors are negative. */
#define MASTERCF_END     0
#define MASTERCF_ENTRY   1
#define MASTERCF_WARNING 2 /* err describes it; parsing goes on */

#define MASTERCF_ERR_FIELDS  (-1) /* fewer than eight columns */
#define MASTERCF_ERR_SERVICE (-2) /* bad service name */
#define MASTERCF_ERR_TYPE    (-3)
#define MASTERCF_ERR_FLAG    (-4) /* private, unpriv or chroot */
#define MASTERCF_ERR_WAKEUP  (-5)
#define MASTERCF_ERR_MAXPROC (-6)
#define MASTERCF_ERR_BRACE   (-7)  /* '{' without its '}' */
#define MASTERCF_ERR_OPTION  (-8)  /* -o without name=value, bad name */
#define MASTERCF_ERR_ARGS    (-9)  /* too many arguments */
#define MASTERCF_ERR_LINE    (-10) /* physical line too long */
#define MASTERCF_ERR_LOGICAL (-11) /* logical line too long */
#define MASTERCF_ERR_ENTRIES (-12) /* too many services */
#define MASTERCF_ERR_NUL     (-13) /* NUL byte */
#define MASTERCF_ERR_COLUMN  (-14) /* "{...}" in one of the eight columns */

enum mastercf_type {
	MASTERCF_INET,
	MASTERCF_UNIX,
	MASTERCF_UNIX_DGRAM,
	MASTERCF_FIFO,
	MASTERCF_PASS,
};

/* Column indexes of mastercf_entry.field. */
enum mastercf_field {
	MASTERCF_F_SERVICE,
	MASTERCF_F_TYPE,
	MASTERCF_F_PRIVATE,
	MASTERCF_F_UNPRIV,
	MASTERCF_F_CHROOT,
	MASTERCF_F_WAKEUP,
	MASTERCF_F_MAXPROC,
	MASTERCF_F_COMMAND,
	MASTERCF_FIELDS
};

/* mastercf_arg - one argument after the command: text as given (braces
 * removed); for an override, name and value are set too. */
struct mastercf_arg {
	const char *text;
	const char *name;  /* -o NAME=value, or NULL */
	const char *value; /* -o name=VALUE */
	int braced;        /* was "{ ... }" */
};

/* mastercf_entry - one service. Strings are NUL-terminated, owned by the
 * parser's scratch buffer, valid until the next mastercf_next(). Flags are
 * 1 (y), 0 (n) or -1 (-: the default); wakeup and maxproc are -1 for -. */
struct mastercf_entry {
	unsigned line;                      /* first physical line */
	const char *field[MASTERCF_FIELDS]; /* the columns as written */
	enum mastercf_type type;
	int private_, unpriv, chroot;
	long wakeup;
	int wakeup_if_used; /* "N?": only when the service was used */
	long maxproc;
	size_t nargs;
	struct mastercf_arg args[MASTERCF_ARGS_MAX];
};

struct mastercf_error {
	int code;
	unsigned line;
	char excerpt[MASTERCF_EXCERPT_MAX + 1];
};

/* mastercf_parser - caller-owned iterator state (mastercf_init). */
struct mastercf_parser {
	const char *text;
	size_t len, off;
	unsigned line;
	unsigned entries;
	int err_code;        /* sticky */
	struct buf *scratch; /* caller's, max > MASTERCF_LOGICAL_MAX + 1 */
	struct mastercf_error err;
};

void mastercf_init(struct mastercf_parser *ps, const char *text, size_t len,
		   struct buf *scratch);
/* mastercf_next - MASTERCF_ENTRY with *e filled, MASTERCF_WARNING (ps->err
 * says what; call again), MASTERCF_END, or a negative MASTERCF_ERR_* (sticky;
 * ps->err says what and where). */
int mastercf_next(struct mastercf_parser *ps, struct mastercf_entry *e);

/* mastercf_error_format - the message for err, without file and line:
 * e.g. "invalid type field \"foo\"" (Postfix's words). */
void mastercf_error_format(const struct mastercf_error *err, struct buf *out);

/* mastercf_format - one line as postconf -M prints it: the columns padded
 * to Postfix's positions, then command and arguments ("-o name=value",
 * "-o {name=value with spaces}"; an argument given as "{...}" keeps its
 * braces unless it is a plain word, so the line parses back to the same
 * entry; Postfix drops them). No newline. */
void mastercf_format(const struct mastercf_entry *e, struct buf *out);

/* mastercf_type_name - "inet", "unix", ... */
const char *mastercf_type_name(enum mastercf_type t);

#endif
