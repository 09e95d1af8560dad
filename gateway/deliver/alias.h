/* alias - aliases(5) expansion for local delivery, as Postfix's local(8).
 *
 * Parser (alias_parse_list): pure, over bytes with an explicit length. It
 * splits an alias value or an :include: file into targets: separated by
 * commas and newlines, surrounding white space dropped, "double quotes"
 * keep commas (and the quotes go), <addr> loses its brackets; in an
 * :include: file a line whose first non-blank byte is '#' is a comment.
 * Each target is classified: "|command", "/file", ":include:/path", or an
 * address.
 *
 * Expansion (alias_expand): the local part is looked up (lower case) in
 * every table of alias_maps in order. A target that is an address in a
 * local domain (no domain, or a domain of mydestination) is looked up
 * again (nesting); a name already being expanded is not expanded again but
 * delivered to its mailbox, as Postfix's duplicate filter does, so "user:
 * user, backup" keeps a copy and a loop a -> b -> a ends at a's mailbox.
 * Deeper than ALIAS_DEPTH_MAX levels is "mail forwarding loop" (5.4.6);
 * more than ALIAS_RESULTS_MAX results is an error (5.3.0). postmaster and
 * abuse always exist: when no table has them they alias to root. Targets:
 *   local user      ALIAS_R_MAILBOX (the name; the caller checks it exists)
 *   other address   ALIAS_R_FORWARD (the caller re-submits or defers)
 *   |command, /file ALIAS_R_FAIL: bounced 5.7.1 "mail to command is
 *                   restricted" / "mail to file is restricted" when
 *                   allow_mail_to_commands / allow_mail_to_files lacks the
 *                   class (alias, include); deferred 4.3.0 otherwise, as
 *                   mailgw has no pipe or file delivery yet.
 *   lookup error    ALIAS_R_FAIL deferred 4.3.0 "alias database unavailable"
 * Results are unique (one per mailbox or address). Not done: owner-NAME
 * as the sender of an expansion, recipient_delimiter extensions,
 * ~/.forward files, the ownership checks on :include: files. */
#ifndef MAILGW_DELIVER_ALIAS_H
#define MAILGW_DELIVER_ALIAS_H

#include <stddef.h>

#include "core/buf.h"
#include "deliver/deliver.h"

#define ALIAS_DEPTH_MAX   100           /* nesting levels */
#define ALIAS_RESULTS_MAX 1000          /* Postfix's duplicate_filter_limit */
#define ALIAS_TARGET_MAX  1024          /* bytes of one target */
#define ALIAS_INCLUDE_MAX (1024 * 1024) /* bytes of an :include: file */

#define ALIAS_ERR_LIMIT  (-1) /* a target longer than ALIAS_TARGET_MAX */
#define ALIAS_ERR_SYNTAX (-2) /* an unterminated quote */

enum alias_kind {
	ALIAS_T_ADDR = 1,
	ALIAS_T_COMMAND, /* text after '|' */
	ALIAS_T_FILE,    /* the path, '/' included */
	ALIAS_T_INCLUDE, /* the path after ":include:" */
};

/* Called per target; p/n is the target text (not NUL-terminated). A
 * non-zero return stops the parse and is returned. */
typedef int alias_item_fn(void *arg, enum alias_kind kind, const char *p,
			  size_t n);

/* Split p/n into targets; include_file selects :include: file syntax
 * (comment lines). Returns 0, the callback's non-zero value, or an
 * ALIAS_ERR_* code (targets before the error were reported). */
int alias_parse_list(const char *p, size_t n, int include_file,
		     alias_item_fn *fn, void *arg);

enum alias_result_kind {
	ALIAS_R_MAILBOX = 1,
	ALIAS_R_FORWARD,
	ALIAS_R_FAIL,
};

struct alias_result {
	enum alias_result_kind kind;
	char *addr;             /* user name, address, or failed target */
	enum deliver_status st; /* ALIAS_R_FAIL: DEFER or BOUNCE */
	char dsn[8];            /* ALIAS_R_FAIL */
	char *text;             /* ALIAS_R_FAIL: the reason */
};

struct alias_expansion {
	struct alias_result *r;
	size_t n, cap;
};

struct alias_table;

/* Open the tables of maps (alias_maps syntax: "type:name" separated by
 * commas or white space). On error a message is appended to err and -1
 * returned. An empty list opens no table. */
int alias_open(const char *maps, struct alias_table **out, struct buf *err);
void alias_close(struct alias_table *t);

/* Expand local part name (without domain) into out (appended; free with
 * alias_expansion_free). mydestination is the list of local domains. */
void alias_expand(struct alias_table *t, const char *name,
		  const char *mydestination, struct alias_expansion *out);
void alias_expansion_free(struct alias_expansion *x);

/* 1 when domain (len bytes) is in the list (case-insensitive). */
int alias_domain_is_local(const char *domain, size_t len, const char *list);

#endif
