/* form - the web UI's request parsers and HTML escaping.
 *
 * Pure functions over bytes with explicit lengths (no I/O, no globals):
 *   - application/x-www-form-urlencoded bodies and query strings
 *     (HTML 5 "application/x-www-form-urlencoded parser": '&'-separated
 *     name=value pairs, '+' is a space, %XX decoded; a bad escape is kept
 *     as written, as browsers do);
 *   - the Cookie request header (RFC 6265 section 5.4: "a=b; c=d");
 *   - HTML escaping of every value the pages print.
 * Limits: FORM_VALUE_MAX bytes for one decoded name or value, FORM_PAIRS_MAX
 * pairs in one body. Decoded values may hold any byte, NUL included: a
 * caller that wants text checks them (the settings validators refuse
 * control bytes). */
#ifndef MAILGW_WEBUI_FORM_H
#define MAILGW_WEBUI_FORM_H

#include <stddef.h>

#include "core/buf.h"

#define FORM_VALUE_MAX   4096
#define FORM_PAIRS_MAX   200
#define FORM_BODY_MAX    (64 * 1024)
#define COOKIE_VALUE_MAX 256

/* form_next - the next pair of s[*off..len): 1 with name and value
 * (decoded, replacing their contents), 0 at the end, -1 when a name or
 * value decodes to more than FORM_VALUE_MAX bytes or more than
 * FORM_PAIRS_MAX pairs were read (*count counts them). */
int form_next(const char *s, size_t len, size_t *off, unsigned *count,
	      struct buf *name, struct buf *value);

/* form_get - the value of the first pair named name: 1 found (value
 * set), 0 absent, -1 malformed (see form_next). */
int form_get(const char *s, size_t len, const char *name, struct buf *value);

/* cookie_get - the value of cookie name in a Cookie header: 1 found, 0
 * absent or longer than COOKIE_VALUE_MAX. Values are not decoded. */
int cookie_get(const char *hdr, size_t len, const char *name,
	       struct buf *value);

/* html_escape - append s[0..n) with & < > " ' escaped; control bytes
 * other than tab and newline, and invalid UTF-8, become U+FFFD. */
void html_escape(struct buf *out, const char *s, size_t n);

/* url_escape - append s[0..n) percent-encoded except [A-Za-z0-9._~-]. */
void url_escape(struct buf *out, const char *s, size_t n);

#endif
