/* session - one SMTP server session on the event loop (issue 3).
 *
 * A session reads what the client sends, cuts command lines
 * (smtp_cmd.h), answers each one in order (pipelining: replies are
 * flushed when the input is used up), streams DATA/BDAT content through
 * smtp_data.h into the queue writer, and answers "250 2.0.0 Ok: queued
 * as QID" only after the writer's commit batch made the file durable.
 * While it waits for that, it reads nothing more; while 64 KiB of
 * replies are unread by the client, it takes no more commands (a client
 * that pipelines without reading cannot grow the session). Every read and
 * write has the smtpd_timeout deadline. Limits: smtpd_recipient_limit,
 * smtpd_soft/hard_error_limit (421 and close at the hard one),
 * smtpd_junk_command_limit, line_length_limit, message_size_limit; bare
 * newlines per smtpd_forbid_bare_newline ("yes"/"reject" reject, others
 * normalise; smtpd_forbid_bare_newline_exclusions always normalise).
 * Logs follow Postfix's trail: connect/disconnect with command counts,
 * "QID: client=", "QID: message-id=" (as mailgw/cleanup), reject
 * lines, timeout/lost connection/too many errors. The queue file is
 * created (the message named) at the first accepted RCPT, as Postfix's
 * smtpd_delay_open_until_valid_rcpt = yes: reject lines before it say
 * NOQUEUE, after it the queue ID; the envelope is written at DATA. At connect the
 * client's name is looked up (peer.h; smtpd_peername_lookup = no skips
 * it): the "connect from name[addr]" line and the banner wait for it,
 * other sessions do not. */
#ifndef MAILGW_SMTPD_SESSION_H
#define MAILGW_SMTPD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "queue/writer.h"
#include "smtpd/restrict.h"
#include "smtpd/smtp_cmd.h"

struct anvil;
struct dns_resolver;
struct policy_pool;

struct session;
struct tls_server;

/* smtpd_tls_security_level */
enum { SMTPD_TLS_NONE = 0, SMTPD_TLS_MAY, SMTPD_TLS_ENCRYPT };

/* The TLS state of a session (issue 6). active is set once the STARTTLS
 * handshake (or the smtpd_tls_wrappermode one) has completed; proto and
 * cipher then name what was negotiated as Postfix logs them ("TLSv1.2",
 * "ECDHE-ECDSA-AES128-GCM-SHA256") and bits the cipher's strength
 * (Postfix's "(128/128 bits)"). Readers: smtpd_tls_auth_only, the
 * Received header, the log lines. All zero/empty before TLS. */
struct session_tls_info {
	int active;
	char proto[16];
	char cipher[64];
	int bits;
	/* smtpd_tls_ask_ccert: the client certificate's SHA-256
	 * fingerprint ("AB:CD:..."; "" when none came) and whether its
	 * chain verified against smtpd_tls_CAfile/CApath */
	char ccert_fp[96];
	int ccert_trusted;
};

/* Everything sessions share: the loop, the writer, the configuration
 * read once (smtpd_server_config). */
struct smtpd_server {
	struct loop *lp;
	struct qwriter *qw;
	struct restrict_cfg *rc;
	struct dns_resolver *dns; /* dns_resolv_conf, for the restrictions */
	struct buf_cache in_bufs, out_bufs; /* sessions' buffers, reused */
	struct policy_pool *pol;  /* check_policy_service connections */
	char *myhostname;
	char *banner;
	char *queue_dir;
	char *content_filter; /* "transport:nexthop" for every message */
	uint64_t timeout_ms;
	long rcpt_limit;
	long soft_limit, hard_limit;
	uint64_t error_sleep_ms;
	uint64_t size_limit;
	size_t line_max;
	enum smtp_bare bare;
	int bare_code;
	int vrfy_disabled;
	int helo_required;
	long junk_limit; /* NOOP/VRFY/ETRN/RSET before they count as errors */
	int delay_reject;
	int peername_lookup; /* smtpd_peername_lookup */
	int strict;
	/* SMTP AUTH (issue 6) */
	int sasl_enable;          /* smtpd_sasl_auth_enable */
	int tls_auth_only;        /* smtpd_tls_auth_only */
	int sasl_broken_clients;  /* broken_sasl_auth_clients: AUTH= too */
	int sasl_auth_header;     /* smtpd_sasl_authenticated_header */
	long auth_rate_limit;     /* smtpd_client_auth_rate_limit */
	uint64_t rate_unit_ms;    /* anvil_rate_time_unit */
	struct sasl_worker *sasl; /* password checks (sasl_worker.h) */
	long msg_rate_limit;      /* smtpd_client_message_rate_limit */
	long rcpt_rate_limit;     /* smtpd_client_recipient_rate_limit */
	long newtls_rate_limit;   /* smtpd_client_new_tls_session_rate_limit */
	struct anvil *anvil;      /* the rates above and the AUTH one */
	char *service; /* master.cf service name, for logs (or "smtp") */
	/* TLS (smtpd/starttls.c): tls is NULL when the service has none */
	struct tls_server *tls;
	struct tls_client *ccert_cas; /* smtpd_tls_ask_ccert: the anchors */
	int tls_level;    /* SMTPD_TLS_* */
	int tls_wrapper;  /* smtpd_tls_wrappermode: handshake first */
	int tls_loglevel; /* smtpd_tls_loglevel */
	int tls_received_header;
	uint64_t tls_timeout_ms; /* smtpd_starttls_timeout */
	int keys_fd;             /* the keys process (tls/keys.h) */
	int draining;
	size_t nsessions;
	struct session *head;
	/* called when a session ends, before it is freed */
	void (*on_end)(struct smtpd_server *srv, struct session *s);
	void *arg;
};

/* Read the smtpd parameters (conf_get) into srv; lp, qw must be set. */
void smtpd_server_config(struct smtpd_server *srv);
void smtpd_server_free(struct smtpd_server *srv);
/* Set up TLS per the smtpd_tls_* parameters with the keys process on
 * keys_fd (-1: none): 0, or -1 when a TLS level is configured but cannot
 * be served (logged; smtpd then exits: master shows why). */
int smtpd_server_tls(struct smtpd_server *srv, int keys_fd);

/* Start a session on a connected non-blocking socket; addr is the
 * client's numeric address ("127.0.0.1"), port its port. Sends the
 * banner. The session closes fd and frees itself at the end. */
struct session *session_new(struct smtpd_server *srv, int fd, const char *addr,
			    const char *port);
const char *session_addr(const struct session *s);
const struct session_tls_info *session_tls(const struct session *s);
/* SMTP AUTH (issue 6): the name the client authenticated as and the
 * mechanism ("PLAIN", "LOGIN"); NULL before a successful AUTH. The
 * restrictions see the same values in restrict_ctx.sasl_username and
 * .sasl_method. */
const char *session_sasl_username(const struct session *s);
const char *session_sasl_method(const struct session *s);
struct session *session_next(const struct session *s); /* list order */
/* Graceful stop: between transactions answer 421 4.3.2 and close now;
 * in a transaction, close after it. */
void session_drain(struct session *s);
/* Close at once (drain bound reached), logging a lost connection. */
void session_abort(struct session *s);

/* Defined in smtpd.c. A test that links libmailgw.a references it so that
 * smtpd.o, not master/pending.c's weak placeholder, gives smtpd_service. */
extern const char smtpd_module_name[];

#endif
