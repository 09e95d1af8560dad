/* smtp_sasl - SMTP AUTH in the SMTP client (issue 6): the usual way to
 * relay through an authenticated smarthost, as Postfix's smtp(8) does it.
 *
 * smtp_sasl_auth_enable turns it on per transport. Credentials come from
 * smtp_sasl_password_maps, "user:password" values (split at the first
 * ':'), looked up with Postfix's keys in this order (first match wins):
 *   1. the next hop as written: "[host]:port", "[host]", "host:port",
 *      "host" (the port only when the route named one),
 *   2. "[host]" (a bracketed next hop without its port),
 *   3. the name of the server connected to (the MX host name),
 *   4. the next-hop domain without brackets and port.
 * No entry: no AUTH, the mail goes without (as Postfix).
 *
 * Mechanisms: PLAIN and LOGIN, when the server announces them in EHLO
 * ("AUTH ..." or the old "AUTH=..."), PLAIN first. Both send the
 * password in the clear, so smtp_sasl_security_options (without TLS) or
 * smtp_sasl_tls_security_options (with TLS) must not say "noplaintext"
 * (Postfix's default is "noplaintext, noanonymous": with it, and no TLS,
 * there is no usable mechanism and the delivery defers with Postfix's
 * "SASL authentication failed; cannot authenticate to server ...: no
 * mechanism available"); smtp_sasl_mechanism_filter, when set, limits
 * the choice further.
 *
 * The functions here are the pieces smtp.c calls: no I/O but the table
 * lookup, no logging but a table error's warning. */
#ifndef MAILGW_DELIVER_SMTP_SASL_H
#define MAILGW_DELIVER_SMTP_SASL_H

#include <stddef.h>

#include "core/buf.h"

#define SMTP_AUTH_PLAIN 0x01u /* offered mechanisms (smtp_ehlo.auth) */
#define SMTP_AUTH_LOGIN 0x02u

#define SMTP_SASL_FIELD_MAX 255

struct smtp_sasl_cred {
	char user[SMTP_SASL_FIELD_MAX + 1];
	char pass[SMTP_SASL_FIELD_MAX + 1];
};

/* Look the credentials up. nexthop is the route's host (no brackets),
 * literal 1 for a "[host]" next hop, port the route's explicit port (0:
 * none named), server the host name of the server connected to. 1 found
 * (*cred filled), 0 none, -1 a table failed (warning logged). */
int smtp_sasl_lookup(const char *maps, const char *nexthop, int literal,
		     unsigned port, const char *server,
		     struct smtp_sasl_cred *cred);

/* The mechanism to use: SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, or 0 when the
 * offered ones and the options leave none. secopts is the security
 * options list in force, filter smtp_sasl_mechanism_filter (may be ""). */
unsigned smtp_sasl_choose(unsigned offered, const char *secopts,
			  const char *filter);

/* "AUTH PLAIN <base64(\0user\0pass)>" (no CRLF) appended to out. */
int smtp_sasl_plain(struct buf *out, const struct smtp_sasl_cred *cred);
/* base64 of s (a LOGIN answer) appended to out. */
int smtp_sasl_login_step(struct buf *out, const char *s);
/* Wipe the credentials. */
void smtp_sasl_wipe(struct smtp_sasl_cred *cred);

#endif
