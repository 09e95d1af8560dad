/* access - the result of an access(5) table lookup or of a policy server
 * ("action=..."), as Postfix reads it.
 *
 * access_parse() classifies the value: OK (or an all-digit value),
 * REJECT [text], DEFER [text], DEFER_IF_REJECT [text], DEFER_IF_PERMIT
 * [text], "4NN text" / "5NN text", DUNNO, DISCARD [text], HOLD [text],
 * REDIRECT addr, FILTER transport:destination, PREPEND header, WARN text,
 * BCC addr, INFO text; anything else is a restriction list (the names of
 * restrictions or restriction classes). Action words compare without
 * regard to case. An optional RFC 3463 status ("5.7.1 text") at the start
 * of a text is split off into dsn. A 2NN/3NN code or a code word without
 * its required argument is ACCESS_BAD.
 *
 * Pure (STYLE.md rule 10): text with an explicit length, results are
 * slices of it. */
#ifndef MAILGW_SMTPD_ACCESS_H
#define MAILGW_SMTPD_ACCESS_H

#include <stddef.h>

enum access_action {
	ACCESS_BAD = 0, /* malformed: a server configuration error */
	ACCESS_OK,
	ACCESS_REJECT,
	ACCESS_DEFER,
	ACCESS_DEFER_IF_REJECT,
	ACCESS_DEFER_IF_PERMIT,
	ACCESS_CODE, /* 4NN/5NN text: code holds it */
	ACCESS_DUNNO,
	ACCESS_DISCARD,
	ACCESS_HOLD,
	ACCESS_REDIRECT,
	ACCESS_FILTER,
	ACCESS_PREPEND,
	ACCESS_WARN,
	ACCESS_BCC,
	ACCESS_INFO,
	ACCESS_RESTRICTIONS /* text is a restriction list */
};

#define ACCESS_DSN_MAX 16 /* "5.123.123" and room */

struct access_result {
	enum access_action action;
	int code;        /* ACCESS_CODE: 400..599 */
	const char *dsn; /* "4.7.1" when the text began with one, else NULL */
	size_t dsn_len;
	const char *text; /* argument (may be empty) */
	size_t text_len;
};

/* 0, or -1 with out->action = ACCESS_BAD. */
int access_parse(const char *v, size_t n, struct access_result *out);

/* access_dsn_split - "X.Y.Z rest" at s: 1 and the lengths when s starts
 * with a status of class 2, 4 or 5 followed by a space or the end. */
int access_dsn_split(const char *s, size_t n, size_t *dsn_len,
		     size_t *rest_off);

const char *access_action_name(enum access_action a);

#endif
