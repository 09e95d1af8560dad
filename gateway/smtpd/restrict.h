/* restrict - the smtpd access restriction engine (Postfix
 * smtpd_*_restrictions).
 *
 * Each stage is a list of restriction names from main.cf, compiled once.
 * A list is evaluated left to right: the first restriction that decides
 * (permit or reject) ends the list; "dunno" goes on to the next; the end
 * of the list permits. A stage that permits passes on to the next stage;
 * a reject ends the evaluation with its reply (as Postfix: permit in
 * smtpd_client_restrictions does not skip smtpd_recipient_restrictions).
 * With smtpd_delay_reject = yes the session evaluates client, helo and
 * sender at RCPT, before relay and recipient.
 *
 * Restrictions are rows of a name -> function table; a later issue adds
 * rows. An unknown name is a server configuration error: "451 4.3.5 Server
 * configuration error" and a warning, as Postfix. */
#ifndef MAILGW_SMTPD_RESTRICT_H
#define MAILGW_SMTPD_RESTRICT_H

#include <stddef.h>

#include "core/buf.h"

enum restrict_stage {
	RESTRICT_CLIENT = 0,
	RESTRICT_HELO,
	RESTRICT_SENDER,
	RESTRICT_RELAY,
	RESTRICT_RECIPIENT,
	RESTRICT_DATA,
	RESTRICT_EOD,
	RESTRICT_NSTAGES
};

enum restrict_result {
	RESTRICT_DUNNO = 0, /* no decision: go on */
	RESTRICT_PERMIT,
	RESTRICT_REJECT, /* reply holds the reply (4xx or 5xx) */
};

/* What the restrictions look at; NULL fields are unknown. */
struct restrict_ctx {
	const char *client_addr; /* "127.0.0.1", "::1" */
	const char *client_name; /* "unknown" */
	const char *helo;
	const char *sender;    /* without <>, "" for the null sender */
	const char *recipient; /* without <> */
	/* SMTP AUTH (issue 6): the name the client authenticated as with
	 * AUTH in this session, and the mechanism ("PLAIN", "LOGIN"); NULL
	 * while not authenticated. permit_sasl_authenticated permits when
	 * sasl_username is set; reject_sender_login_mismatch compares it
	 * with smtpd_sender_login_maps. Set from session.c (rctx_fill). */
	const char *sasl_username;
	const char *sasl_method;
};

struct restrict_cfg;

/* Compile the stage lists and tables from the configuration (conf_get).
 * Problems (an unknown name, a table that does not open) are warnings
 * at use time, as Postfix, not errors here. */
struct restrict_cfg *restrict_new(void);
void restrict_free(struct restrict_cfg *c);

/* Evaluate one stage. On RESTRICT_REJECT, reply gets "CODE X.Y.Z text"
 * (no CRLF). */
enum restrict_result restrict_eval(struct restrict_cfg *c,
				   enum restrict_stage stage,
				   const struct restrict_ctx *x,
				   struct buf *reply);

/* smtpd_reject_unlisted_recipient (default yes): after the recipient
 * restrictions permit, the implicit reject_unlisted_recipient. */
enum restrict_result restrict_unlisted(struct restrict_cfg *c,
				       const struct restrict_ctx *x,
				       struct buf *reply);

/* Building blocks the session uses too. */
int restrict_in_mynetworks(const struct restrict_cfg *c, const char *addr);
/* smtpd_client_event_limit_exceptions: no connection count limit. */
int restrict_limit_exempt(const struct restrict_cfg *c, const char *addr);
/* smtpd_forbid_bare_newline_exclusions: bare newlines are normalised,
 * never rejected. */
int restrict_bare_exempt(const struct restrict_cfg *c, const char *addr);
/* The domain (or address literal) is ours or one we relay for. */
int restrict_local_domain(struct restrict_cfg *c, const char *domain);
int restrict_relay_domain(struct restrict_cfg *c, const char *domain);
/* fast_flush_domains, for ETRN. */
int restrict_flush_domain(struct restrict_cfg *c, const char *domain);

/* The stage's name as Postfix configures it ("smtpd_relay_restrictions"). */
const char *restrict_stage_param(enum restrict_stage stage);

/* Parse one CIDR block "1.2.3.0/24", "[::1]/128", "10.0.0.1" into
 * family, 16 address bytes and prefix length. 0 or -1. Pure. */
int restrict_cidr_parse(const char *s, size_t n, int *family,
			unsigned char addr[16], unsigned *bits);

#endif
