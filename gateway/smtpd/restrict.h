/* restrict - the smtpd access restriction engine (Postfix
 * smtpd_*_restrictions, smtpd_check.c).
 *
 * Each stage is a list of restrictions from main.cf, compiled once. A list
 * is evaluated left to right: the first restriction that decides (permit
 * or reject) ends the list; "dunno" goes on; the end of the list permits.
 * A stage that permits passes on to the next stage; a reject ends the
 * request. When the stages run follows Postfix (restrict_check()):
 * with smtpd_delay_reject = yes (the default) client, helo and sender
 * restrictions run at every RCPT (and client, helo at ETRN); with no,
 * the client restrictions run once at the connection (a reject answers
 * every later command but QUIT with 503), helo at HELO/EHLO, sender at
 * MAIL. defer_if_permit raised in an earlier stage carries into the later
 * ones as in Postfix (client -> helo -> sender -> recipient/ETRN).
 *
 * Built-in restrictions, access(5) results with Postfix's meaning
 * (access.h), restriction classes (smtpd_restriction_classes),
 * warn_if_reject, defer_if_permit, defer_if_reject, sleep, DNS checks
 * (reject_rbl_client, reject_rhsbl_*, permit_dnswl_client,
 * reject_unknown_*, check_{helo,sender,recipient}_{mx,ns}_access and
 * check_helo_a_access as Postfix's check_server_access) through the
 * asynchronous resolver and check_policy_service through policy.h. The
 * client's names and their status come from the session's lookup at
 * connect (peer.h), as Postfix's smtpd_peer.
 *
 * Asynchronous evaluation: a restriction that needs a DNS answer, a policy
 * server's reply or a sleep that is not yet at hand starts it and marks
 * the evaluation pending; the evaluation goes on only to start the other
 * DNS lookups the lists ask for (so they run in parallel; no policy query
 * and no sleep start that way), and restrict_check() returns
 * RESTRICT_PENDING. When everything it started has come back, the
 * session's resume callback runs (from the loop, never from inside
 * restrict_check()) and the session calls restrict_check() again with the
 * same arguments: the evaluation starts over and now finds the results.
 * Log lines and actions are kept until an evaluation completes, so each
 * is logged once. Other sessions go on meanwhile.
 *
 * Logs: each reject, reject_warning, defer, discard, hold, redirect,
 * filter and warn is Postfix's line, "QID|NOQUEUE: reject: RCPT from
 * name[addr]: 554 5.7.1 <...>: ...; from=<...> to=<...> proto=ESMTP
 * helo=<...>".
 *
 * An unknown restriction name is a server configuration error: "451 4.3.5
 * Server configuration error" and a warning, as Postfix. So is an access
 * table that does not open or whose lookup fails (Postfix's check_access):
 * "TABLE is unavailable. REASON" and "TABLE lookup error for "KEY""
 * warnings, and "451 4.3.5 <name>: Class rejected: Server configuration
 * error"; the request is not let through. */
#ifndef MAILGW_SMTPD_RESTRICT_H
#define MAILGW_SMTPD_RESTRICT_H

#include <stddef.h>

#include "core/buf.h"
#include "core/loop.h"

struct dns_resolver;
struct policy_pool;

enum restrict_stage {
	RESTRICT_CLIENT = 0,
	RESTRICT_HELO,
	RESTRICT_SENDER,
	RESTRICT_RELAY,
	RESTRICT_RECIPIENT,
	RESTRICT_DATA,
	RESTRICT_EOD,
	RESTRICT_ETRN,
	RESTRICT_NSTAGES
};

/* What the session asks about (Postfix's smtpd_check_* functions). */
enum restrict_cmd {
	RESTRICT_CMD_CONNECT = 0,
	RESTRICT_CMD_HELO,
	RESTRICT_CMD_MAIL,
	RESTRICT_CMD_RCPT,
	RESTRICT_CMD_ETRN,
	RESTRICT_CMD_DATA,
	RESTRICT_CMD_EOD
};

enum restrict_result {
	RESTRICT_DUNNO = 0, /* no decision: go on */
	RESTRICT_PERMIT,
	RESTRICT_REJECT,  /* reply holds the reply (4xx or 5xx) */
	RESTRICT_PENDING, /* ask again after the resume callback */
};

/* What the restrictions look at; NULL fields are unknown. */
struct restrict_ctx {
	const char *client_addr; /* "127.0.0.1", "::1" */
	const char *client_name; /* "unknown" */
	const char *helo;
	const char *sender;    /* without <>, "" for the null sender */
	const char *recipient; /* without <> */
	/* for logs and policy requests */
	const char *cmd;      /* "RCPT", "CONNECT", "END-OF-MESSAGE"... */
	const char *protocol; /* "ESMTP", "SMTP" */
	const char *queue_id; /* NULL: NOQUEUE */
	const char *client_port, *reverse_name;
	/* how the names were found (peer.h SMTPD_PEER_*: 2 OK, 4 TEMP, 5
	 * PERM, 6 FORGED); 0: from the names alone (a name other than
	 * "unknown" is OK, else PERM) */
	int name_status, reverse_status;
	const char *server_addr, *server_port;
	const char *etrn_domain;
	const char *instance;
	const char *sasl_method, *sasl_username, *sasl_sender;
	const char *tls_protocol, *tls_cipher;
	int tls_keysize;
	/* the client certificate's SHA-256 fingerprint ("" or NULL: none)
	 * and whether it verified (permit_tls_*clientcerts) */
	const char *ccert_fingerprint;
	int ccert_trusted;
	unsigned long rcpt_count; /* recipients accepted so far */
	unsigned long size;       /* MAIL SIZE= or the message size */
	int ill_pipelining;       /* commands sent ahead where not allowed */
};

/* Per-transaction results of access actions (DISCARD, PREPEND, ...). */
struct restrict_actions {
	int discard;
	int hold;
	char *redirect;    /* REDIRECT address, or NULL */
	char *filter;      /* FILTER transport:destination, or NULL */
	struct buf prepend; /* header lines, each ending in CRLF */
	char **bcc;
	size_t nbcc;
};

struct restrict_cfg;
struct restrict_sess;

/* Compile the stage lists and tables from the configuration (conf_get).
 * Problems (an unknown name, a table that does not open) are warnings
 * at use time, as Postfix, not errors here. */
struct restrict_cfg *restrict_new(void);
void restrict_free(struct restrict_cfg *c);
/* The loop, resolver and policy pool the DNS and policy restrictions use
 * (none: those restrictions answer DUNNO with a warning). Not owned. */
void restrict_set_env(struct restrict_cfg *c, struct loop *lp,
		      struct dns_resolver *dns, struct policy_pool *pol);
int restrict_delay_reject(const struct restrict_cfg *c);

/* A session's evaluation state: results waiting, flags kept between
 * commands (defer_if_permit of earlier stages), actions of the
 * transaction. resume(arg) runs from the loop when a pending evaluation
 * can be retried. */
struct restrict_sess *restrict_sess_new(struct restrict_cfg *c,
					void (*resume)(void *arg), void *arg);
/* Cancels what is still running; resume never runs after this. */
void restrict_sess_free(struct restrict_sess *rs);
/* A new transaction (MAIL, RSET, HELO): the sender's flags and the
 * actions are forgotten. */
void restrict_txn_reset(struct restrict_sess *rs);
const struct restrict_actions *restrict_actions(const struct restrict_sess *rs);
/* The client restrictions rejected the connection at CONNECT. */
int restrict_denied(const struct restrict_sess *rs);

/* Evaluate what Postfix evaluates for cmd. PERMIT/DUNNO: go on; REJECT:
 * reply has "CODE X.Y.Z text" (no CRLF) and the reject is logged;
 * PENDING: ask again with the same arguments after resume. */
enum restrict_result restrict_check(struct restrict_sess *rs,
				    enum restrict_cmd cmd,
				    const struct restrict_ctx *x,
				    struct buf *reply);

/* Evaluate one stage's list alone (tests, tools); DNS and policy
 * restrictions need restrict_check(). */
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
/* smtpd_sasl_exceptions_networks: EHLO does not offer AUTH (the AUTH
 * command still works, as in Postfix). */
int restrict_sasl_exempt(const struct restrict_cfg *c, const char *addr);
/* The domain (or address literal) is ours or one we relay for. */
int restrict_local_domain(struct restrict_cfg *c, const char *domain);
int restrict_relay_domain(struct restrict_cfg *c, const char *domain);
/* fast_flush_domains, for ETRN. */
int restrict_flush_domain(struct restrict_cfg *c, const char *domain);

/* The stage's name as Postfix configures it ("smtpd_relay_restrictions"). */
const char *restrict_stage_param(enum restrict_stage stage);

/* The length of local[0..n) without its address extension, as Postfix's
 * split_addr(): cut at the first character of delims (recipient_delimiter)
 * unless that leaves an empty local part; postmaster, mailer-daemon,
 * double_bounce (and owner-foo, foo-request when '-' is a delimiter)
 * are never split. n when there is nothing to cut. Pure. */
size_t restrict_ext_cut(const char *local, size_t n, const char *delims,
			const char *double_bounce);

/* Parse one CIDR block "1.2.3.0/24", "[::1]/128", "10.0.0.1" into
 * family, 16 address bytes and prefix length. 0 or -1. Pure. */
int restrict_cidr_parse(const char *s, size_t n, int *family,
			unsigned char addr[16], unsigned *bits);

/* Postfix's valid_hostname(): labels of letters, digits, '-', '_' (1..63
 * bytes, no '-' at either end), at most 255 bytes, not all numeric. 1 or
 * 0. Pure. */
int restrict_valid_hostname(const char *h);

/* The DNS name of an address under zone: "4.3.2.1.in-addr.arpa" for
 * 1.2.3.4 and zone "in-addr.arpa", nibbles for IPv6. 0, or -1 when addr
 * is not numeric. Pure. */
int restrict_reverse_addr(const char *addr, const char *zone, char *q,
			  size_t n);

/* Postfix's ip_match(3) for DNSBL reply filters: pattern
 * "127.0.0.2", "127.0.0.[2..11]", "127.0.[1;3].[2;4..6]" against the
 * dotted-quad addr. 1 match, 0 no, -1 malformed pattern. Pure. */
int restrict_ip_match(const char *pattern, const char *addr);

/* Postfix's log line: "QID|NOQUEUE: what: CMD from name[addr]: text;
 * from=<s> to=<r> proto=P helo=<h>", appended to out (escaped). */
void restrict_log_line(struct buf *out, const struct restrict_ctx *x,
		       const char *what, const char *text, size_t n);

#endif
