/* deliver - the contract between qmgr (the scheduler) and the delivery
 * agents (gateway/deliver/).
 *
 * Routing: qmgr asks route_rcpt() where a recipient goes (transport_maps,
 * then relay_transport/default_transport with relayhost, as Postfix's
 * trivial-rewrite does), groups a message's recipients with the same route
 * into one job, and hands it to the agent of the route's transport. Until
 * the SMTP client turns the next hop into server addresses itself
 * (deliver/mx.h: MX records, or the host's own addresses for [host]).
 *
 * Agents run on qmgr's loop, never block, never touch the spool. For every
 * recipient of a job the agent calls rcpt_done exactly once, then done
 * once; never from inside the call that started the job. The agent logs
 * the Postfix delivery line for each recipient itself, under the
 * transport's name (log_set_program()):
 *   QID: to=<rcpt>, [orig_to=<..>, ]relay=host[addr]:port, delay=T,
 *   delays=a/b/c/d, dsn=X.Y.Z, status=sent|deferred|bounced (text)
 * qmgr records outcomes durably and logs from=, removed, bounces.
 *
 * Transports: every master.cf service of type unix whose command is smtp
 * or lmtp is a transport; maxproc is its concurrency limit
 * (0: unlimited) and its -o overrides apply to deliveries through it
 * (transport_get()). Transports "smtp", "relay" and "lmtp" exist even
 * when master.cf lacks them, with Postfix's defaults. */
#ifndef MAILGW_DELIVER_DELIVER_H
#define MAILGW_DELIVER_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "queue/qfile.h"

struct loop;

enum deliver_status {
	DELIVER_SENT = 2,   /* accepted by the next hop */
	DELIVER_DEFER = 4,  /* try again later */
	DELIVER_BOUNCE = 5, /* failed for good */
};

/* ---- transports (deliver/transport.c) ---- */

#define TRANSPORT_NAME_MAX 64

enum transport_kind {
	TRANSPORT_SMTP = 1, /* smtp(8) client */
	TRANSPORT_LMTP,     /* lmtp(8) client (deliver/smtp.c) */
	TRANSPORT_ERROR,    /* error: bounce with the nexthop as text */
	TRANSPORT_DISCARD,  /* discard: drop, log status=sent */
	TRANSPORT_HOLD,     /* hold: park the message in hold/ */
	TRANSPORT_LOCAL,    /* local (next issue) */
};

struct transport {
	char name[TRANSPORT_NAME_MAX]; /* master.cf service name */
	enum transport_kind kind;
	unsigned maxproc; /* concurrency limit; 0: none */
	char **overrides; /* "name=value" from -o, in order */
	size_t noverrides;
};

/* Read the transports of master.cf (conf_master_read()) into a table
 * (replacing the old one). 0 or -1 (message logged). */
int transport_load(void);
/* By name ("smtp", "relay", "error"...); NULL when unknown. The built-in
 * error, discard and hold transports always exist. */
const struct transport *transport_find(const char *name);
/* A parameter as seen by deliveries through tp: its -o override, else
 * conf_get(). */
const char *transport_get(const struct transport *tp, const char *name);
long transport_get_int(const struct transport *tp, const char *name);
long transport_get_time(const struct transport *tp, const char *name);

/* ---- routing (deliver/route.c) ---- */

#define ROUTE_HOST_MAX 256
#define ROUTE_TEXT_MAX 512

struct route {
	const struct transport *tp;
	/* The next hop for SMTP: host name or address literal (no
	 * brackets); literal is 1 for [host] (no MX lookup). Empty host for
	 * error/discard/hold. */
	char host[ROUTE_HOST_MAX];
	unsigned port; /* 0: the transport's default (25) */
	int literal;
	/* LMTP only: 1 when host is the path of a UNIX-domain socket
	 * ("lmtp:unix:/path"; a relative path is under queue_directory, as
	 * in Postfix), port is then 0. */
	int unix_path;
	/* error:/discard: text (the nexthop part of the table entry). */
	char text[ROUTE_TEXT_MAX];
};

/* Where rcpt goes (the address as in the envelope). 0, or -1 when a
 * lookup table failed (the caller defers with 4.3.0, as Postfix does);
 * also -1 (with a warning logged) for a transport that master.cf does not
 * define and for a next hop of bad syntax.
 * Next hops: "[host]:port", "[host]", "host:port", "host" (port a number
 * or smtp, lmtp, submission, smtps). literal 0 means "look up MX
 * records" (deliver/mx.h). A literal host is an IPv4/IPv6 address
 * ("ipv6:" prefix allowed) or a name whose A/AAAA records the SMTP
 * client looks up (DNS and/or /etc/hosts per smtp_host_lookup), per
 * inet_protocols. */
/* LMTP next hops (Postfix lmtp(8)): "unix:/path", "inet:host:port",
 * "inet:[host]:port", "[host]:port", "host:port", "host" (port default
 * lmtp_tcp_port); never an MX lookup, so literal is always 1. */
int route_rcpt(const char *rcpt, size_t len, struct route *out);
/* The route of a content filter "transport:nexthop" (content_filter,
 * the FILTER access action): every recipient of the message goes there.
 * An empty nexthop is $myhostname, as Postfix's qmgr. 0 or -1 (logged:
 * no such transport, bad next hop). */
int route_filter(const char *filter, size_t len, struct route *out);
/* Equal routes share jobs and connections. */
int route_same(const struct route *a, const struct route *b);

/* ---- jobs ---- */

struct deliver_job;
typedef void deliver_rcpt_fn(struct deliver_job *job, size_t i,
			     enum deliver_status st, const char *dsn,
			     const char *text);
typedef void deliver_done_fn(struct deliver_job *job);

struct deliver_job {
	const char *qid;
	const struct qfile_msg *msg; /* parsed envelope and state */
	const unsigned char *file;   /* the mapped queue file: content at
					file + msg->content_off */
	const size_t *rcpt;          /* indices into msg->rcpt */
	size_t nrcpt;
	struct route route;
	/* For delays=a/b/c/d: wall-clock seconds (with fraction) of the
	 * arrival (msg), and when qmgr took the message in (a = active_at -
	 * arrival; b = job start - active_at; the agent measures c, d). */
	double active_at;
	deliver_rcpt_fn *rcpt_done; /* i indexes job->rcpt */
	deliver_done_fn *done;
	void *arg; /* qmgr's */
	/* Set by the agent before its first rcpt_done: 1 when the next hop
	 * announced DSN (EHLO keyword), so NOTIFY, ORCPT, RET and ENVID went
	 * on with the message and a success notice (NOTIFY=SUCCESS) is now
	 * the next hop's business; 0 when it did not, and the scheduler owes
	 * NOTIFY=SUCCESS recipients a notice with "Action: relayed" (as
	 * Postfix's smtp_rcpt_done()). */
	int next_hop_dsn;
};

/* ---- delivery log lines (deliver/deliver.c) ----
 * For every agent, qmgr's built-in ones (error, discard) included. */

/* Wall-clock seconds with fraction (for delays=). */
double deliver_now(void);
/* Append seconds as Postfix's format_tv() does for delay= and delays=: two
 * significant digits, at most two decimals, no trailing zeros (0.12, 1.2,
 * 12, 0.01, 0). Negative values count as 0. */
void deliver_format_delay(struct buf *out, double seconds);
/* Log recipient i of job (i indexes job->rcpt) under the transport's name
 * (job->route.tp->name): "QID: to=<rcpt>, relay=RELAY, delay=T,
 * delays=a/b/c/d, dsn=DSN, status=sent|deferred|bounced (TEXT)". relay is
 * "host[addr]:port" or "none"; start is when the agent began the job,
 * ready when the connection was ready for MAIL (0: never, c then runs to
 * now and d is 0). Recipient and text are escaped. */
void deliver_log(const struct deliver_job *job, size_t i, const char *relay,
		 double start, double ready, enum deliver_status st,
		 const char *dsn, const char *text);
/* The same for a target the recipient expanded to (local aliases):
 * "to=<to>, orig_to=<rcpt>" when to differs from the recipient. */
void deliver_log_as(const struct deliver_job *job, size_t i, const char *to,
		    const char *relay, double start, double ready,
		    enum deliver_status st, const char *dsn, const char *text);

/* ---- the SMTP client (deliver/smtp.c) ----
 * Non-blocking on the loop: connect (with smtp_connect_timeout), EHLO
 * (HELO fallback), PIPELINING, SIZE, 8BITMIME/SMTPUTF8 as the message
 * needs, DSN parameters passed on when the server offers DSN, dot-stuffed
 * canonical CRLF content, per-recipient status, Postfix's timeouts. Idle
 * connections are cached per next hop (smtp_connection_cache_time_limit)
 * and reused by later jobs; RSET before reuse.
 * LMTP transports (RFC 2033) go through the same client: LHLO (no HELO
 * fallback), TCP or a UNIX-domain socket (route.unix_path), and after the
 * final "." one reply per accepted recipient in RCPT order, each that
 * recipient's outcome ("host H[A] said: ... (in reply to end of DATA
 * command)" for 4xx/5xx). The lmtp_* parameters apply where params.c has
 * them, else the smtp_* ones; a UNIX socket is logged as Postfix does,
 * relay=myhostname[/path] and "connect to myhostname[/path]: ...". */
struct smtp_client;

struct smtp_client *smtp_client_new(struct loop *lp);
/* The socket to the keys process that holds the client certificate's
 * key (smtp_tls_cert_file; tls/keys.h): the certificate is presented
 * when a server asks for one. The client owns fd from now on. */
void smtp_client_set_keys(struct smtp_client *c, int fd);
/* Start a job; callbacks follow later. 0, or -errno (nothing called):
 * -EINVAL for no recipients or a transport that is neither TRANSPORT_SMTP
 * nor TRANSPORT_LMTP. The job, its message and file must
 * stay valid until done. A callback may start the next job (a cached
 * connection is already idle by then) or flush, but not free the client.
 * Notes: a message with 8-bit content goes as it is (without BODY=) to a
 * server that does not offer 8BITMIME, as Postfix does with
 * disable_mime_output_conversion; SMTPUTF8 is required only when the
 * envelope uses UTF-8 (bounce 5.6.7 when the server lacks it); SIZE
 * over the server's limit bounces 5.3.4 before MAIL. */
int smtp_client_deliver(struct smtp_client *c, struct deliver_job *job);
/* Close cached idle connections (QUIT); jobs in progress go on. */
void smtp_client_flush(struct smtp_client *c);
/* Jobs in progress. */
size_t smtp_client_busy(const struct smtp_client *c);
/* The resolver's counters (NULL before the first lookup). */
struct dns_stats;
const struct dns_stats *smtp_client_dns_stats(const struct smtp_client *c);
/* Close everything at once; in-progress jobs get DELIVER_DEFER 4.3.2
 * (their callbacks run inside this call and must not start jobs). */
void smtp_client_free(struct smtp_client *c);

#endif
