/* httphead - the web UI proxy's one look into HTTP: the request head.
 *
 * Behind `mailgw webui-tls` every client reaches busybox httpd from
 * 127.0.0.1, so the CGI cannot tell clients apart (its login rate limit
 * would be global). The proxy therefore adds a header of its own to each
 * request, "X-Mailgw-Client: KEY ADDRESS", where KEY is a secret only
 * the proxy and the CGI read (webui_directory/proxy-key), and removes any
 * header from the client that httpd would hand to the CGI under the same
 * name (HTTP_X_MAILGW_CLIENT: busybox httpd maps '-' and '_' alike, any
 * case; a later header overrides an earlier one, so ours goes last).
 *
 * busybox httpd serves one request per connection, so only the first
 * head of a connection is rewritten; what follows it is relayed as is.
 * httphead_rewrite is a pure function over bytes (RFC 9112 section 2:
 * start line, field lines, an empty line; obsolete line folding is
 * treated as part of the field before it). */
#ifndef MAILGW_WEBUI_HTTPHEAD_H
#define MAILGW_WEBUI_HTTPHEAD_H

#include <stddef.h>

#include "core/buf.h"

#define HTTPHEAD_MAX    16384 /* bytes of a request head */
#define HTTPHEAD_CLIENT "X-Mailgw-Client"

/* httphead_rewrite - in[0..len) starts a request. When it holds the whole
 * head: append to out the head without the client's HTTPHEAD_CLIENT
 * fields and with `add` (a complete field line ending in CRLF, or NULL
 * for none) before its empty line, and return the head's length in in
 * (the caller relays the rest unchanged). 0 when the head is not
 * complete yet and len < HTTPHEAD_MAX; -1 when it is too long or has a
 * NUL byte, or out is full. */
int httphead_rewrite(const char *in, size_t len, const char *add,
		     struct buf *out);

/* httphead_is_client_field - 1 when the field name n[0..len) is one httpd
 * gives the CGI as HTTP_X_MAILGW_CLIENT. */
int httphead_is_client_field(const char *n, size_t len);

#endif
