/* smtp - the non-blocking SMTP client of the smtp transports.
 *
 * RFC 5321 (client side), RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152
 * 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN. Behaviour, timeouts and log
 * texts follow Postfix's smtp(8): smtp_*_timeout per wait, EHLO with HELO
 * fallback, per-recipient status, "host H[A] said: ... (in reply to X
 * command)", "lost connection with H[A] while ...", "conversation with
 * H[A] timed out while ...", "connect to H[A]:P: ...".
 *
 * One session per connection, an explicit state machine on the loop; the
 * timer of a session always holds the deadline of what it waits for. The
 * message content is read from the caller's mapping of the queue file and
 * dot-stuffed into a bounded output buffer only as fast as the socket
 * takes it. Trusts nothing the server sends (replies go through the
 * bounded smtp_reply parser, text is escaped in logs).
 *
 * Connection cache: after a job the connection stays open for
 * smtp_connection_cache_time_limit and a later job to the same next hop
 * (transport, host, port) takes it, sending RSET first. A cached
 * connection that fails before MAIL is replaced by a new one without
 * harm to the job. smtp_connection_reuse_count_limit and
 * smtp_connection_reuse_time_limit end a connection's reuse.
 *
 * LMTP (RFC 2033), for transports of kind TRANSPORT_LMTP: LHLO instead of
 * EHLO (no HELO fallback), over TCP or a UNIX-domain socket, and after
 * the final "." one reply per accepted recipient, in RCPT order, each
 * that recipient's outcome. Parameters are the lmtp_* ones of Postfix
 * where params.c has them (lmtp_lhlo_timeout for smtp_helo_timeout...),
 * else the smtp_* ones. A UNIX-domain peer is logged as Postfix's lmtp
 * logs it: "myhostname[/path]", without a port.
 *
 * SMTP AUTH (RFC 4954) after EHLO when smtp_sasl_auth_enable and the
 * password maps hold credentials for the next hop: smtp_sasl.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "core/str.h"
#include "conf/conf.h"
#include "conf/params.h"
#include "deliver/deliver.h"
#include "deliver/hosts.h"
#include "deliver/mx.h"
#include "dict/dict.h"
#include "dns/resolv.h"
#include "deliver/smtp_reply.h"
#include "deliver/smtp_sasl.h"
#include "tls/client.h"
#include "tls/keys.h"
#include "tls/server.h"
#include "tls/tls.h"

#define SMTP_OUT_MAX   (8 * 1024 * 1024) /* pending output bytes */
#define SMTP_BODY_FILL (64 * 1024)       /* content queued per fill */
#define SMTP_BUFS_KEPT (8 * 1024 * 1024) /* session buffers kept while busy */
#define SMTP_BUFS_IDLE (1024 * 1024)     /* ... and with no session */
#define SMTP_READ_SIZE 4096
#define SMTP_TEXT_MAX  (SMTP_REPLY_TEXT_MAX + 512) /* a status text */

enum sess_state {
	S_FAILED,     /* no connection; the job fails from a timer */
	S_RESOLVE,    /* looking up the next hop's addresses */
	S_CONNECT,    /* TCP connection in progress */
	S_GREETING,   /* waiting for 220 */
	S_EHLO,       /* EHLO sent */
	S_HELO,       /* HELO sent after EHLO was refused */
	S_STARTTLS,   /* STARTTLS sent */
	S_TLS,        /* TLS handshake in progress */
	S_AUTH,       /* AUTH PLAIN, or LOGIN's password, sent (smtp_sasl.h) */
	S_AUTH_USER,  /* AUTH LOGIN sent: waiting for "334 Username:" */
	S_AUTH_PASS,  /* LOGIN's user name sent: waiting for "Password:" */
	S_RSET_REUSE, /* RSET on a cached connection before MAIL */
	S_XACT,       /* MAIL, RCPT..., DATA replies */
	S_BODY,       /* sending content */
	S_DOT,        /* waiting for the end-of-data reply */
	S_ABORT_DOT,  /* "." after 354 with no recipient accepted */
	S_RSET_IDLE,  /* RSET after an unfinished transaction */
	S_IDLE,       /* cached */
	S_QUIT,       /* QUIT sent */
};

struct rcpt_status {
	enum deliver_status st; /* 0: not known yet */
	char dsn[16];
	char *text;
	int accepted; /* 2xx to RCPT; waiting for the end of data */
};

struct smtp_sess;

struct smtp_client {
	struct loop *lp;
	struct smtp_sess *sessions;
	/* Made at the first lookup from dns_resolv_conf; our own addresses
	 * (loop detection) then too. */
	struct dns_resolver *dns;
	struct net_addr self[MX_SELF_MAX];
	size_t nself;
	struct tls_client *tls; /* trust anchors, made at first TLS use */
	int keys_fd;            /* the client certificate's keys process */
	struct tls_server *ident; /* its chain and signer (tls_keys_attach) */
	struct buf_cache out_bufs, tin_bufs; /* sessions' buffers, reused */
};

struct smtp_sess {
	struct smtp_client *c;
	struct smtp_sess *next, *prev;
	enum sess_state state;
	int fd;
	int want_write;
	struct loop_timer timer;

	/* The next hop. */
	const struct transport *tp;
	char tpname[TRANSPORT_NAME_MAX];
	char host[ROUTE_HOST_MAX]; /* as logged */
	char key[ROUTE_HOST_MAX];  /* the route's host, for the cache */
	unsigned port;
	struct net_addr addrs[HOSTS_ADDR_MAX];
	size_t naddr, cur;
	char (*names)[ROUTE_HOST_MAX]; /* the exchanger of each address */
	struct mx_lookup *mxl;         /* the address lookup in progress */
	unsigned sessions;             /* connections that greeted */
	char addr[ROUTE_HOST_MAX]; /* the address, or the socket path */
	int lmtp;                  /* an LMTP session */
	int connected;             /* the TCP connection came up */
	int literal;               /* [host]: no MX lookup */

	/* TLS (issue 6): the level and names for this next hop, from
	 * smtp_tls_policy_maps or smtp_tls_security_level. */
	struct tls_conn *tc;
	struct buf tin;    /* decrypted server replies */
	int tls_level;     /* TLS_LEV_* */
	int tls_plain;     /* may: the handshake failed, plaintext now */
	int tls_up;        /* the handshake completed (tls_established) */
	int tls_implicit;  /* smtp_tls_wrappermode: TLS from the connect */
	char tls_match[512];
	char tls_sni[256];
	char tls_protocols[128]; /* policy protocols=, "" if none */
	char tls_ciphers[32];    /* policy ciphers= (a grade), "" if none */

	/* The connection. */
	struct smtp_reply reply;
	struct buf out;
	struct smtp_ehlo ehlo;
	unsigned xacts;   /* transactions finished */
	unsigned uses;    /* jobs given to this connection */
	uint64_t born_ms; /* when connected */
	int reused;       /* the job started on a cached connection */
	int connect_err;  /* errno of a connect that failed at once */
	struct smtp_sasl_cred *cred; /* during AUTH LOGIN only */

	/* The job. */
	struct deliver_job *job;
	struct rcpt_status *rs;
	size_t seq_sent, seq_acked; /* positions in MAIL, RCPT..., DATA */
	size_t nacc;
	int mail_ok;
	size_t body_off;
	int bol, body_end;
	size_t col;        /* text bytes on the current wire line */
	size_t line_limit; /* smtp_line_length_limit; 0: none */
	double start, ready;
};

static void sess_read(struct smtp_sess *s);
static int sess_flush(struct smtp_sess *s);
static void conn_lost(struct smtp_sess *s, int timeout);
static void xact_start(struct smtp_sess *s);
static void start_connect(struct smtp_sess *s);
static void connect_failed(struct smtp_sess *s, int err);
static void on_timer(struct loop *lp, struct loop_timer *t, void *arg);

/* ---- sessions ---- */

static struct smtp_sess *sess_new(struct smtp_client *c, const struct route *r)
{
	struct smtp_sess *s = mem_zalloc(sizeof(*s));

	s->c = c;
	s->fd = -1;
	s->tp = r->tp;
	s->lmtp = r->tp->kind == TRANSPORT_LMTP;
	snprintf(s->tpname, sizeof(s->tpname), "%s", r->tp->name);
	memcpy(s->host, r->host, sizeof(s->host));
	s->host[sizeof(s->host) - 1] = 0;
	memcpy(s->key, s->host, sizeof(s->key));
	s->literal = r->literal;
	buf_cache_get(&c->out_bufs, &s->out, SMTP_OUT_MAX);
	buf_cache_get(&c->tin_bufs, &s->tin, SMTP_OUT_MAX);
	loop_timer_init(&s->timer, on_timer, s);
	smtp_reply_init(&s->reply);
	s->next = c->sessions;
	if (c->sessions)
		c->sessions->prev = s;
	c->sessions = s;
	return s;
}

static void sess_close_fd(struct smtp_sess *s)
{
	tls_conn_free(s->tc);
	s->tc = NULL;
	buf_reset(&s->tin);
	if (s->fd >= 0) {
		loop_fd_del(s->c->lp, s->fd, LOOP_ALL);
		close(s->fd);
		s->fd = -1;
	}
	s->want_write = 0;
}

/* sess_free - close and forget s; its job must be reported already. */
static void sess_free(struct smtp_sess *s)
{
	loop_timer_cancel(s->c->lp, &s->timer);
	sess_close_fd(s);
	mx_lookup_cancel(s->mxl);
	mem_free(s->names);
	if (s->prev)
		s->prev->next = s->next;
	else
		s->c->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	buf_cache_put(&s->c->out_bufs, &s->out);
	buf_cache_put(&s->c->tin_bufs, &s->tin);
	if (s->c->sessions == NULL) {
		buf_cache_trim(&s->c->out_bufs, SMTP_BUFS_IDLE);
		buf_cache_trim(&s->c->tin_bufs, SMTP_BUFS_IDLE / 4);
		mem_trim();
	}
	mem_free(s->rs);
	if (s->cred != NULL)
		smtp_sasl_wipe(s->cred);
	mem_free(s->cred);
	mem_free(s);
}

static void arm(struct smtp_sess *s, long seconds)
{
	if (seconds > 0)
		loop_timer_set(s->c->lp, &s->timer, (uint64_t)seconds * 1000);
	else
		loop_timer_cancel(s->c->lp, &s->timer);
}

/* pname - the parameter for name (an smtp_* one) in s: for LMTP the
 * lmtp_* twin when Postfix and params.c have it (helo -> lhlo). */
static const char *pname(const struct smtp_sess *s, const char *name, char *tmp,
			 size_t max)
{
	const char *rest = name + 5, *helo;

	if (!s->lmtp || strncmp(name, "smtp_", 5) != 0)
		return name;
	if ((helo = strstr(rest, "helo")) != NULL)
		snprintf(tmp, max, "lmtp_%.*slhlo%s", (int)(helo - rest), rest,
			 helo + 4);
	else
		snprintf(tmp, max, "lmtp_%s", rest);
	return conf_param_find(tmp) ? tmp : name;
}

static long tp_time(const struct smtp_sess *s, const char *name)
{
	char tmp[96];

	return transport_get_time(s->tp, pname(s, name, tmp, sizeof(tmp)));
}

static long tp_int(const struct smtp_sess *s, const char *name)
{
	char tmp[96];

	return transport_get_int(s->tp, pname(s, name, tmp, sizeof(tmp)));
}

static const char *tp_str(const struct smtp_sess *s, const char *name)
{
	char tmp[96];

	return transport_get(s->tp, pname(s, name, tmp, sizeof(tmp)));
}

/* relay_of - "host[addr]:port", or "host[/path]" for a UNIX socket. */
static void relay_of(const struct smtp_sess *s, struct buf *out)
{
	buf_printf(out, "%s[%s]", s->host, s->addr);
	if (s->port)
		buf_printf(out, ":%u", s->port);
}

static const char *mail_host(const struct smtp_sess *s)
{
	return s->host;
}

/* ---- recipients and the end of a job ---- */

static enum deliver_status status_of(int code)
{
	return code >= 500 && code < 600 ? DELIVER_BOUNCE : DELIVER_DEFER;
}

static void rcpt_set(struct smtp_sess *s, size_t i, enum deliver_status st,
		     const char *dsn, const char *text)
{
	struct rcpt_status *r = &s->rs[i];

	if (r->st)
		return;
	r->st = st;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	/* The class of the code decides, whatever the server's text says. */
	r->dsn[0] = st == DELIVER_SENT ? '2' : st == DELIVER_BOUNCE ? '5' : '4';
	r->text = mem_strdup(text);
	r->accepted = 0;
}

/* set_pending - every recipient without a status yet gets this one. */
static void set_pending(struct smtp_sess *s, enum deliver_status st,
			const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; s->job && i < s->job->nrcpt; i++)
		rcpt_set(s, i, st, dsn, text);
}

/* said - "host H[A] said: REPLY (in reply to CMD command)". */
static void said(const struct smtp_sess *s, const char *cmd, struct buf *out)
{
	buf_printf(out, "host %s[%s] said: ", mail_host(s), s->addr);
	smtp_reply_oneline(&s->reply, out);
	buf_printf(out, " (in reply to %s)", cmd);
}

static void pending_from_reply(struct smtp_sess *s, const char *cmd)
{
	struct buf t;

	buf_init(&t, SMTP_TEXT_MAX);
	said(s, cmd, &t);
	set_pending(s, status_of(s->reply.code), s->reply.dsn, buf_str(&t));
	buf_free(&t);
}

/* job_report - log and report every recipient, then done. s is not used
 * after the callbacks start: they may start the next job on it. */
static void job_report(struct smtp_sess *s)
{
	struct deliver_job *job = s->job;
	struct rcpt_status *rs = s->rs;
	double start = s->start, ready = s->ready;
	struct buf relay;
	size_t i;

	if (job == NULL)
		return;
	buf_init(&relay, 2 * ROUTE_HOST_MAX + 64);
	/* Postfix's ", conn_use=N" after relay= on a reused connection. */
	if (s->connected) {
		relay_of(s, &relay);
		if (s->uses > 1)
			buf_printf(&relay, ", conn_use=%u", s->uses);
	} else {
		buf_puts(&relay, "none");
	}
	job->next_hop_dsn = (s->ehlo.ext & SMTP_EXT_DSN) != 0;
	s->job = NULL;
	s->rs = NULL;
	for (i = 0; i < job->nrcpt; i++) {
		if (rs[i].st == 0) { /* cannot happen: defer, never lose */
			rs[i].st = DELIVER_DEFER;
			snprintf(rs[i].dsn, sizeof(rs[i].dsn), "4.3.0");
			rs[i].text = mem_strdup("delivery status unknown");
		}
		deliver_log(job, i, buf_str(&relay), start, ready, rs[i].st,
			    rs[i].dsn, rs[i].text);
	}
	buf_free(&relay);
	for (i = 0; i < job->nrcpt; i++) {
		job->rcpt_done(job, i, rs[i].st, rs[i].dsn, rs[i].text);
		mem_free(rs[i].text);
	}
	mem_free(rs);
	job->done(job);
}

/* ---- output ---- */

static void on_io(struct loop *lp, int fd, int ready, void *arg);

static void want_write(struct smtp_sess *s, int on)
{
	if (on == s->want_write || s->fd < 0)
		return;
	s->want_write = on;
	/* loop_fd_add() only adds interest: turning writes off is a del,
	 * else an idle connection reports writable forever (a busy loop). */
	if (on)
		loop_fd_add(s->c->lp, s->fd, LOOP_READABLE | LOOP_WRITABLE,
			    on_io, s);
	else
		loop_fd_del(s->c->lp, s->fd, LOOP_WRITABLE);
}

static void send_line(struct smtp_sess *s, const char *text)
{
	buf_puts(&s->out, text);
	buf_puts(&s->out, "\r\n");
}

/* body_fill - queue dot-stuffed content until the buffer holds a fill.
 * A line longer than smtp_line_length_limit (line text, without its
 * CRLF) is broken as Postfix's smtp_text_out() breaks it: after the
 * first limit bytes comes CRLF SPACE, then up to limit - 1 more bytes per
 * wire line; a line of exactly the limit goes as it is. Only the start of
 * a real line is dot-stuffed (a continuation starts with the space). */
static void body_fill(struct smtp_sess *s)
{
	const struct deliver_job *job = s->job;
	const char *p = (const char *)job->file + job->msg->content_off;
	size_t len = job->msg->content_len, limit = s->line_limit;

	while (buf_len(&s->out) < SMTP_BODY_FILL && s->body_off < len) {
		size_t off = s->body_off, win = len - off, tend, lend, avail;
		const char *nl;

		if (s->bol && p[off] == '.')
			buf_putc(&s->out, '.'); /* RFC 5321 4.5.2 */
		s->bol = 0;
		/* Look no further than one fill ahead: a huge line without
		 * LF costs one scan per fill, not one per byte. */
		if (win > SMTP_BODY_FILL)
			win = SMTP_BODY_FILL;
		nl = memchr(p + off, '\n', win);
		tend = nl ? (size_t)(nl - p) : off + win;
		/* The text ends before the CR of CRLF (never split from
		 * its LF, which lies beyond the window otherwise). */
		if (tend > off + 1 && p[tend - 1] == '\r' && (nl || tend < len))
			tend--;
		lend = nl ? (size_t)(nl - p) + 1 : tend;
		avail = tend - off;
		if (limit > 1 && s->col + avail > limit) {
			size_t n = limit - s->col;

			buf_append(&s->out, p + off, n);
			s->body_off += n;
			s->col += n;
			if (s->col == limit) {
				buf_puts(&s->out, "\r\n ");
				s->col = 1;
			}
			continue;
		}
		buf_append(&s->out, p + off, lend - off);
		s->body_off = lend;
		s->col += avail;
		if (nl) {
			s->col = 0;
			s->bol = 1;
		}
	}
	if (s->body_off == len && !s->body_end) {
		if (len > 0 &&
		    !(len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n'))
			buf_puts(&s->out, "\r\n");
		buf_puts(&s->out, ".\r\n");
		s->body_end = 1;
	}
}

/* sess_flush - write what the socket takes. 0, or -1 when the
 * connection is lost (s is handled and may be gone). */
static int tls_flush(struct smtp_sess *s);

static int sess_flush(struct smtp_sess *s)
{
	if (s->tc != NULL)
		return tls_flush(s);
	for (;;) {
		ssize_t w;

		if (s->state == S_BODY && !s->body_end &&
		    buf_len(&s->out) < SMTP_BODY_FILL)
			body_fill(s);
		if (buf_len(&s->out) == 0)
			break;
		w = send(s->fd, buf_str(&s->out), buf_len(&s->out),
			 MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_write(s, 1);
			return 0;
		}
		if (w <= 0) {
			conn_lost(s, 0);
			return -1;
		}
		buf_consume(&s->out, (size_t)w);
		if (s->state == S_BODY) /* progress restarts the clock */
			arm(s, tp_time(s, "smtp_data_xfer_timeout"));
	}
	want_write(s, 0);
	if (s->state == S_BODY && s->body_end) {
		s->state = S_DOT;
		arm(s, tp_time(s, "smtp_data_done_timeout"));
	}
	return 0;
}

/* ---- closing ---- */

/* sess_quit - queue QUIT; the loop writes it (so nothing fails here). */
static void sess_quit(struct smtp_sess *s)
{
	if (s->fd < 0) {
		sess_free(s);
		return;
	}
	send_line(s, "QUIT");
	s->state = S_QUIT;
	arm(s, tp_time(s, "smtp_quit_timeout"));
	want_write(s, 1);
}

/* go_idle - into the cache, or QUIT when reuse is over. */
static void go_idle(struct smtp_sess *s)
{
	long count = tp_int(s, "smtp_connection_reuse_count_limit");
	long life = tp_time(s, "smtp_connection_reuse_time_limit");

	const char *tlsreuse = tp_str(s, "smtp_tls_connection_reuse");

	/* Postfix keeps a TLS connection for reuse only with
	 * smtp_tls_connection_reuse=yes; otherwise each delivery has its
	 * own handshake (and the session cache makes it a short one) */
	if ((count > 0 && s->xacts >= (unsigned long)count) ||
	    (s->tc != NULL &&
	     (tlsreuse == NULL || str_casecmp(tlsreuse, "yes") != 0)) ||
	    loop_clock_ms() - s->born_ms >= (uint64_t)life * 1000) {
		sess_quit(s);
		return;
	}
	s->state = S_IDLE;
	arm(s, tp_time(s, "smtp_connection_cache_time_limit"));
}

/* job_finish - the job's outcome is known: the connection goes on (idle,
 * or RSET when dirty), then the job is reported. */
static void job_finish(struct smtp_sess *s, int dirty)
{
	set_pending(s, DELIVER_DEFER, "4.3.0", "delivery status unknown");
	if (dirty) {
		/* Queued, written by the loop: nothing here can fail. */
		send_line(s, "RSET");
		s->state = S_RSET_IDLE;
		arm(s, tp_time(s, "smtp_rset_timeout"));
		want_write(s, 1);
	} else {
		go_idle(s);
	}
	job_report(s);
	/* s may be gone or busy with another job now. */
}

static const char *phase(const struct smtp_sess *s)
{
	switch (s->state) {
	case S_GREETING:
		return "receiving the initial server greeting";
	case S_EHLO:
		return s->lmtp ? "performing the LHLO handshake"
			       : "performing the EHLO handshake";
	case S_HELO:
		return "performing the HELO handshake";
	case S_AUTH:
	case S_AUTH_USER:
	case S_AUTH_PASS:
		return "sending AUTH command";
	case S_STARTTLS:
	case S_TLS:
		return "performing the STARTTLS handshake";
	case S_XACT:
		if (s->seq_acked == 0)
			return "sending MAIL FROM";
		if (s->seq_acked <= s->job->nrcpt)
			return "sending RCPT TO";
		return "sending DATA command";
	case S_BODY:
		return "sending message body";
	case S_DOT:
		return "sending end of data -- message may be sent more than "
		       "once";
	case S_ABORT_DOT:
		return "sending end of data";
	case S_RSET_REUSE:
	case S_RSET_IDLE:
		return "sending RSET";
	default:
		break;
	}
	return "sending QUIT";
}

/* retry_fresh - a cached connection failed before MAIL: the job starts
 * over on a new connection, as if the cached one never was. */
static void retry_fresh(struct smtp_sess *s)
{
	struct smtp_sess *n;
	struct route r;

	memset(&r, 0, sizeof(r));
	r.tp = s->tp;
	memcpy(r.host, s->key, sizeof(r.host));
	n = sess_new(s->c, &r);
	memcpy(n->host, s->host, sizeof(n->host));
	memcpy(n->addr, s->addr, sizeof(n->addr));
	n->port = s->port;
	memcpy(n->addrs, s->addrs, sizeof(n->addrs));
	n->naddr = s->naddr;
	n->names = s->names; /* handed over */
	s->names = NULL;
	n->job = s->job;
	n->rs = s->rs;
	n->start = s->start;
	s->job = NULL;
	s->rs = NULL;
	sess_free(s);
	msg_debug("%s: cached connection failed; connecting again",
		  n->job->qid);
	start_connect(n);
}

/* conn_fail_text - try the next address, else defer what is left. */
static void conn_fail_text(struct smtp_sess *s, const char *dsn,
			   const char *text)
{
	long limit = tp_int(s, "smtp_mx_session_limit");

	/* A server that greeted counts towards smtp_mx_session_limit. */
	if (s->state > S_CONNECT)
		s->sessions++;
	if (s->job && s->state <= S_HELO && s->cur + 1 < s->naddr &&
	    (limit <= 0 || s->sessions < (unsigned long)limit)) {
		msg_info("%s: %s", s->job->qid, text);
		sess_close_fd(s);
		s->cur++;
		s->connected = 0;
		start_connect(s);
		return;
	}
	set_pending(s, DELIVER_DEFER, dsn, text);
	sess_close_fd(s);
	job_report(s); /* s keeps no job now */
	sess_free(s);
}

/* conn_lost - EOF, a write error or a timeout. */
static void conn_lost(struct smtp_sess *s, int timeout)
{
	struct buf t;

	if (s->job == NULL) { /* idle, RSET after a job, QUIT */
		sess_free(s);
		return;
	}
	if (s->state == S_RSET_REUSE) {
		retry_fresh(s);
		return;
	}
	buf_init(&t, SMTP_TEXT_MAX);
	if (s->state == S_CONNECT) {
		buf_puts(&t, "connect to ");
		relay_of(s, &t);
		buf_printf(&t, ": %s", strerror(ETIMEDOUT));
	} else if (timeout)
		buf_printf(&t, "conversation with %s[%s] timed out while %s",
			   mail_host(s), s->addr, phase(s));
	else
		buf_printf(&t, "lost connection with %s[%s] while %s",
			   mail_host(s), s->addr, phase(s));
	conn_fail_text(s, s->state == S_CONNECT ? "4.4.1" : "4.4.2",
		       buf_str(&t));
	buf_free(&t);
}

/* ---- replies ---- */

static void send_rcpt(struct smtp_sess *s, size_t i);

/* mail_cmd - MAIL FROM with the parameters the server takes. */
static void mail_cmd(struct smtp_sess *s)
{
	const struct qfile_msg *m = s->job->msg;
	unsigned ext = s->ehlo.ext;

	buf_printf(&s->out, "MAIL FROM:<%.*s>", (int)m->sender.len,
		   m->sender.p);
	if (ext & SMTP_EXT_SIZE)
		buf_printf(&s->out, " SIZE=%zu", m->content_len);
	if ((ext & SMTP_EXT_8BITMIME) && (m->body == QFILE_BODY_8BITMIME ||
					  m->body == QFILE_BODY_BINARYMIME))
		buf_puts(&s->out, " BODY=8BITMIME");
	if ((ext & SMTP_EXT_SMTPUTF8) && m->smtputf8)
		buf_puts(&s->out, " SMTPUTF8");
	if (ext & SMTP_EXT_DSN) {
		if (m->ret != QFILE_RET_NONE)
			buf_puts(&s->out, m->ret == QFILE_RET_FULL
						  ? " RET=FULL"
						  : " RET=HDRS");
		if (m->envid.len)
			buf_printf(&s->out, " ENVID=%.*s", (int)m->envid.len,
				   m->envid.p);
	}
	buf_puts(&s->out, "\r\n");
}

static void send_rcpt(struct smtp_sess *s, size_t i)
{
	const struct qfile_rcpt *r = &s->job->msg->rcpt[s->job->rcpt[i]];

	buf_printf(&s->out, "RCPT TO:<%.*s>", (int)r->addr.len, r->addr.p);
	if (s->ehlo.ext & SMTP_EXT_DSN) {
		if (r->notify & QFILE_NOTIFY_NEVER) {
			buf_puts(&s->out, " NOTIFY=NEVER");
		} else if (r->notify) {
			const char *sep = " NOTIFY=";

			if (r->notify & QFILE_NOTIFY_SUCCESS) {
				buf_printf(&s->out, "%sSUCCESS", sep);
				sep = ",";
			}
			if (r->notify & QFILE_NOTIFY_FAILURE) {
				buf_printf(&s->out, "%sFAILURE", sep);
				sep = ",";
			}
			if (r->notify & QFILE_NOTIFY_DELAY)
				buf_printf(&s->out, "%sDELAY", sep);
		}
		if (r->orcpt.len)
			buf_printf(&s->out, " ORCPT=%.*s", (int)r->orcpt.len,
				   r->orcpt.p);
	}
	buf_puts(&s->out, "\r\n");
}

/* xact_timeout - the deadline of the reply at position pos. */
static long xact_timeout(const struct smtp_sess *s, size_t pos)
{
	if (pos == 0)
		return tp_time(s, "smtp_mail_timeout");
	if (pos <= s->job->nrcpt)
		return tp_time(s, "smtp_rcpt_timeout");
	return tp_time(s, "smtp_data_init_timeout");
}

/* send_next - the command at position seq_sent. */
static void send_next(struct smtp_sess *s)
{
	size_t pos = s->seq_sent++;

	if (pos == 0)
		mail_cmd(s);
	else if (pos <= s->job->nrcpt)
		send_rcpt(s, pos - 1);
	else
		send_line(s, "DATA");
}

static int has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] & 0x80)
			return 1;
	return 0;
}

/* needs_smtputf8 - SMTPUTF8 was asked for and an address uses it. */
static int needs_smtputf8(const struct deliver_job *job)
{
	const struct qfile_msg *m = job->msg;
	size_t i;

	if (!m->smtputf8)
		return 0;
	if (has_8bit(m->sender.p, m->sender.len))
		return 1;
	for (i = 0; i < job->nrcpt; i++)
		if (has_8bit(m->rcpt[job->rcpt[i]].addr.p,
			     m->rcpt[job->rcpt[i]].addr.len))
			return 1;
	return 0;
}

static void xact_start(struct smtp_sess *s)
{
	const struct qfile_msg *m = s->job->msg;
	struct buf t;

	s->ready = deliver_now();
	buf_init(&t, SMTP_TEXT_MAX);
	if ((s->ehlo.ext & SMTP_EXT_SIZE) && s->ehlo.size > 0 &&
	    m->content_len > s->ehlo.size) {
		buf_printf(&t,
			   "message size %zu exceeds size limit %lu of server "
			   "%s[%s]",
			   m->content_len, s->ehlo.size, mail_host(s), s->addr);
		set_pending(s, DELIVER_BOUNCE, "5.3.4", buf_str(&t));
	} else if (needs_smtputf8(s->job) &&
		   !(s->ehlo.ext & SMTP_EXT_SMTPUTF8)) {
		buf_printf(&t,
			   "SMTPUTF8 is required, but was not offered by host "
			   "%s[%s]",
			   mail_host(s), s->addr);
		set_pending(s, DELIVER_BOUNCE, "5.6.7", buf_str(&t));
	}
	buf_free(&t);
	if (s->rs[0].st) { /* refused before MAIL: the connection is clean */
		job_finish(s, 0);
		return;
	}
	s->seq_sent = s->seq_acked = 0;
	s->nacc = 0;
	s->mail_ok = 0;
	s->state = S_XACT;
	if (s->ehlo.ext & SMTP_EXT_PIPELINING) {
		while (s->seq_sent < s->job->nrcpt + 2)
			send_next(s);
	} else {
		send_next(s);
	}
	arm(s, xact_timeout(s, 0));
	sess_flush(s);
}

static void body_start(struct smtp_sess *s)
{
	s->state = S_BODY;
	s->body_off = 0;
	s->bol = 1;
	s->col = 0;
	{
		long lim = tp_int(s, "smtp_line_length_limit");

		s->line_limit = lim > 1 ? (size_t)lim : 0;
	}
	s->body_end = 0;
	arm(s, tp_time(s, "smtp_data_xfer_timeout"));
	sess_flush(s);
}

/* on_xact_reply - a reply to MAIL, RCPT or DATA. 0 while the session
 * waits for more of them, -1 when it went on (or is gone). */
static int on_xact_reply(struct smtp_sess *s)
{
	size_t pos = s->seq_acked++, n = s->job->nrcpt;
	int ok = s->reply.code >= 200 && s->reply.code < 300;

	if (pos == 0) {
		s->mail_ok = ok;
		if (!ok)
			pending_from_reply(s, "MAIL FROM command");
	} else if (pos <= n) {
		size_t i = pos - 1;

		if (s->mail_ok && ok) {
			s->rs[i].accepted = 1;
			s->nacc++;
		} else if (s->mail_ok) {
			struct buf t;

			buf_init(&t, SMTP_TEXT_MAX);
			said(s, "RCPT TO command", &t);
			rcpt_set(s, i, status_of(s->reply.code), s->reply.dsn,
				 buf_str(&t));
			buf_free(&t);
		}
	} else {
		if (s->reply.code == 354 && s->nacc > 0) {
			body_start(s);
			return -1;
		}
		if (s->reply.code == 354) {
			/* Nothing to send: an empty message ends it. */
			send_line(s, ".");
			s->state = S_ABORT_DOT;
			arm(s, tp_time(s, "smtp_data_done_timeout"));
			sess_flush(s);
			return -1;
		}
		if (s->nacc > 0)
			pending_from_reply(s, "DATA command");
		job_finish(s, 1);
		return -1;
	}
	if (s->seq_sent == s->seq_acked) { /* not pipelined: what next? */
		if (!s->mail_ok || (pos == n && s->nacc == 0)) {
			job_finish(s, 1); /* RSET, no DATA */
			return -1;
		}
		send_next(s);
		if (sess_flush(s) < 0)
			return -1;
	}
	arm(s, xact_timeout(s, s->seq_acked));
	return 0;
}

/* on_dot_reply - a reply after the end of data. SMTP: one for all
 * recipients. LMTP (RFC 2033 4.2): one per accepted recipient, in RCPT
 * order; 0 while more of them are due, -1 when the session went on (or
 * is gone). */
static int on_dot_reply(struct smtp_sess *s)
{
	struct buf t;
	size_t i = 0, n = s->job->nrcpt;
	int per_rcpt = s->lmtp && s->state == S_DOT;

	if (per_rcpt) {
		while (i < n && !(s->rs[i].accepted && s->rs[i].st == 0))
			i++;
		if (i == n) /* cannot happen: nobody waits for a reply */
			per_rcpt = 0;
	}
	buf_init(&t, SMTP_TEXT_MAX);
	if (s->reply.code >= 200 && s->reply.code < 300) {
		smtp_reply_oneline(&s->reply, &t);
		if (per_rcpt)
			rcpt_set(s, i, DELIVER_SENT, s->reply.dsn, buf_str(&t));
		else
			set_pending(s, DELIVER_SENT, s->reply.dsn, buf_str(&t));
	} else {
		said(s, "end of DATA command", &t);
		if (per_rcpt)
			rcpt_set(s, i, status_of(s->reply.code), s->reply.dsn,
				 buf_str(&t));
		else
			set_pending(s, status_of(s->reply.code), s->reply.dsn,
				    buf_str(&t));
	}
	buf_free(&t);
	if (per_rcpt) {
		while (i < n && !(s->rs[i].accepted && s->rs[i].st == 0))
			i++;
		if (i < n) { /* more replies to come */
			arm(s, tp_time(s, "smtp_data_done_timeout"));
			return 0;
		}
	}
	s->xacts++;
	if (s->state == S_BODY) { /* replied before the end: unusable */
		sess_close_fd(s);
		job_report(s);
		sess_free(s);
		return -1;
	}
	job_finish(s, 0);
	return -1;
}

static int send_ehlo(struct smtp_sess *s, const char *verb)
{
	buf_printf(&s->out, "%s %s\r\n", verb, tp_str(s, "smtp_helo_name"));
	arm(s, tp_time(s, "smtp_helo_timeout"));
	return sess_flush(s);
}

/* TLS on this connection: smtp_sasl_tls_security_options applies. */
static int sess_tls_active(const struct smtp_sess *s)
{
	return s->tc != NULL && s->tls_up;
}

/* auth_fail - defer the job with Postfix's SASL text and say QUIT. */
static void auth_fail(struct smtp_sess *s, const char *dsn, const char *why)
{
	struct buf t;

	buf_init(&t, SMTP_TEXT_MAX);
	if (why != NULL) {
		buf_printf(&t,
			   "SASL authentication failed; cannot authenticate "
			   "to server %s[%s]: %s",
			   mail_host(s), s->addr, why);
	} else {
		buf_printf(&t, "SASL authentication failed; server %s[%s] said: ",
			   mail_host(s), s->addr);
		smtp_reply_oneline(&s->reply, &t);
	}
	/* smtp_sasl_auth_soft_bounce (default yes): defer, never bounce */
	set_pending(s, DELIVER_DEFER, dsn, buf_str(&t));
	buf_free(&t);
	if (s->cred != NULL) {
		smtp_sasl_wipe(s->cred);
		mem_free(s->cred);
		s->cred = NULL;
	}
	sess_quit(s);
	job_report(s);
}

/* auth_start - after EHLO: AUTH when smtp_sasl_auth_enable and the maps
 * hold credentials for this next hop and the server offers AUTH. 1 when
 * AUTH was sent, 0 to go on without, -1 when the job was deferred. */
static int auth_start(struct smtp_sess *s)
{
	struct smtp_sasl_cred cred;
	const struct route *r = &s->job->route;
	unsigned mech;

	const char *on = tp_str(s, "smtp_sasl_auth_enable");

	if (s->lmtp || on == NULL || str_casecmp(on, "yes") != 0 ||
	    s->ehlo.auth == 0)
		return 0;
	int found = smtp_sasl_lookup(tp_str(s, "smtp_sasl_password_maps"),
				     r->host, r->literal, r->port, mail_host(s),
				     &cred);
	if (found < 0) {
		auth_fail(s, "4.3.0", "password table lookup failure");
		return -1;
	}
	if (found == 0)
		return 0;
	mech = smtp_sasl_choose(
		s->ehlo.auth,
		tp_str(s, sess_tls_active(s) ? "smtp_sasl_tls_security_options"
					     : "smtp_sasl_security_options"),
		tp_str(s, "smtp_sasl_mechanism_filter"));
	if (mech == 0) {
		smtp_sasl_wipe(&cred);
		auth_fail(s, "4.7.0", "no mechanism available");
		return -1;
	}
	if (mech == SMTP_AUTH_PLAIN) {
		smtp_sasl_plain(&s->out, &cred);
		buf_puts(&s->out, "\r\n");
		s->state = S_AUTH;
	} else {
		s->cred = mem_zalloc(sizeof(*s->cred));
		*s->cred = cred;
		buf_puts(&s->out, "AUTH LOGIN\r\n");
		s->state = S_AUTH_USER;
	}
	smtp_sasl_wipe(&cred);
	arm(s, tp_time(s, "smtp_helo_timeout"));
	sess_flush(s);
	return 1;
}

/* on_auth_reply - a reply during AUTH. -1: s is gone or detached. */
static int on_auth_reply(struct smtp_sess *s)
{
	int code = s->reply.code;

	if (s->state == S_AUTH && code >= 200 && code < 300) {
		xact_start(s);
		return -1;
	}
	if (s->state != S_AUTH && code == 334 && s->cred != NULL) {
		const char *answer =
			s->state == S_AUTH_USER ? s->cred->user : s->cred->pass;
		smtp_sasl_login_step(&s->out, answer);
		buf_puts(&s->out, "\r\n");
		if (s->state == S_AUTH_PASS) {
			smtp_sasl_wipe(s->cred);
			mem_free(s->cred);
			s->cred = NULL;
		}
		s->state = s->state == S_AUTH_USER ? S_AUTH_PASS : S_AUTH;
		arm(s, tp_time(s, "smtp_helo_timeout"));
		return sess_flush(s);
	}
	auth_fail(s, code >= 400 && code < 600 ? s->reply.dsn : "4.7.0", NULL);
	return -1;
}

/* server_421 - the server is going away: defer what is left, close. */
static void server_421(struct smtp_sess *s)
{
	static const char *const cmd[] = {
		[S_GREETING] = "initial server greeting",
		[S_EHLO] = "EHLO command",
		[S_HELO] = "HELO command",
		[S_AUTH] = "AUTH command",
		[S_AUTH_USER] = "AUTH command",
		[S_AUTH_PASS] = "AUTH command",
		[S_XACT] = "MAIL FROM command",
		[S_BODY] = "end of DATA command",
		[S_DOT] = "end of DATA command",
		[S_ABORT_DOT] = "end of DATA command",
		[S_RSET_REUSE] = "RSET command",
	};
	const char *c = s->state < sizeof(cmd) / sizeof(cmd[0]) && cmd[s->state]
				? cmd[s->state]
				: "RSET command";

	if (s->job == NULL) {
		sess_free(s);
		return;
	}
	if (s->state == S_RSET_REUSE) {
		retry_fresh(s);
		return;
	}
	if (s->state == S_EHLO && s->lmtp)
		c = "LHLO command";
	if (s->state == S_XACT && s->seq_acked > 0)
		c = s->seq_acked <= s->job->nrcpt ? "RCPT TO command"
						  : "DATA command";
	pending_from_reply(s, c);
	sess_close_fd(s);
	job_report(s);
	sess_free(s);
}

/* ---- TLS (RFC 3207; Postfix's smtp_tls_* behaviour) ---- */

static int on_reply(struct smtp_sess *s);

/* A TLS log line under the transport's name (mailgw/smtp[pid]), as
 * the delivery lines. */
static void tls_log(const struct smtp_sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tls_log(const struct smtp_sess *s, const char *fmt, ...)
{
	char prev[64];
	struct buf b;
	va_list ap;

	buf_init(&b, 4096);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	snprintf(prev, sizeof(prev), "%s", log_program());
	log_set_program(s->tpname);
	msg_info("%s", buf_str(&b));
	log_set_program(prev);
	buf_free(&b);
}


/* The client's trust anchors and policies, made at first use:
 * smtp_tls_CAfile and smtp_tls_CApath, Debian's bundle when both are
 * empty. */
static struct tls_client *tls_client_of(struct smtp_sess *s)
{
	struct smtp_client *c = s->c;
	const char *f = tp_str(s, "smtp_tls_CAfile");
	const char *d = tp_str(s, "smtp_tls_CApath");
	int r;

	if (c->tls != NULL)
		return c->tls;
	c->tls = tls_client_new();
	/* sessions to resume: in this process's memory, whatever
	 * smtp_tls_session_cache_database names; a timeout of 0 disables */
	long ttl = tp_time(s, "smtp_tls_session_cache_timeout");
	if (ttl > 0)
		tls_client_set_cache(c->tls, 256, (unsigned)ttl);
	if ((f == NULL || !*f) && (d == NULL || !*d))
		f = "/etc/ssl/certs/ca-certificates.crt";
	if (f != NULL && *f && (r = tls_client_add_cafile(c->tls, f)) < 0)
		msg_warn("cannot load CA certificates from %s: %s", f,
			 strerror(-r));
	if (d != NULL && *d && (r = tls_client_add_capath(c->tls, d)) < 0)
		msg_warn("cannot load CA certificates from %s: %s", d,
			 strerror(-r));
	/* the client certificate: the chain from the keys process, which
	 * signs the CertificateVerify; the key never enters this process */
	if (c->keys_fd >= 0) {
		c->ident = tls_server_new();
		if (tls_keys_attach(&c->keys_fd, c->ident) == 0) {
			tls_client_set_identity(c->tls, c->ident);
		} else {
			msg_warn("no client certificate from the keys process");
			tls_server_free(c->ident);
			c->ident = NULL;
		}
	}
	return c->tls;
}

static struct dict *tls_map(const char *spec, size_t len)
{
	static struct {
		char spec[256];
		struct dict *d;
	} cache[8];
	char name[256];

	if (len >= sizeof(name))
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)len, spec);
	for (size_t i = 0; i < 8; i++)
		if (cache[i].d != NULL && strcmp(cache[i].spec, name) == 0)
			return cache[i].d;
	for (size_t i = 0; i < 8; i++)
		if (cache[i].d == NULL) {
			struct buf err;
			buf_init(&err, 1024);
			if (dict_open(name, 0, &cache[i].d, &err) < 0) {
				msg_warn("smtp_tls_policy_maps: %s",
					 buf_str(&err));
				cache[i].d = NULL;
			} else {
				snprintf(cache[i].spec, sizeof(cache[i].spec),
					 "%s", name);
			}
			buf_free(&err);
			return cache[i].d;
		}
	return NULL;
}

/* smtp_tls_policy_maps: the next hop as Postfix looks it up ("[host]",
 * "[host]:port", "domain", then ".parent" domains). 1 found, 0 not, -1
 * when the policy cannot be known (a table that does not open or fails,
 * an entry that does not parse): then, as in Postfix, the mail waits
 * rather than go with less protection than the postmaster asked for. */
static int tls_policy_lookup(struct smtp_sess *s, struct tls_policy_entry *e)
{
	const char *cur = tp_str(s, "smtp_tls_policy_maps"), *tok;
	size_t len;
	char key[ROUTE_HOST_MAX + 16];

	while (cur != NULL && conf_list_next(&cur, &tok, &len) > 0) {
		struct dict *d = tls_map(tok, len);
		const char *v, *k = key;
		int rc;
		if (d == NULL) {
			msg_warn("smtp_tls_policy_maps: %.*s is unavailable",
				 (int)len, tok);
			return -1;
		}
		if (s->literal && s->port != 25)
			snprintf(key, sizeof(key), "[%s]:%u", s->key, s->port);
		else if (s->literal)
			snprintf(key, sizeof(key), "[%s]", s->key);
		else
			snprintf(key, sizeof(key), "%s", s->key);
		str_lower(key);
		for (;;) {
			if ((rc = dict_get(d, k, &v)) == DICT_OK) {
				if (tls_policy_entry_parse(v, strlen(v), e) ==
				    0)
					return 1;
				msg_warn("smtp_tls_policy_maps: %s: bad "
					 "policy \"%s\"",
					 k, v);
				return -1;
			}
			if (rc < 0) {
				msg_warn("smtp_tls_policy_maps: %.*s: "
					 "lookup error for \"%s\"",
					 (int)len, tok, k);
				return -1;
			}
			if (s->literal)
				break;
			/* the parent domains: ".example.com" */
			const char *dot = strchr(k + (*k == '.'), '.');
			if (dot == NULL)
				break;
			k = dot;
		}
	}
	return 0;
}

/* The session's TLS policy; 0, or -1 when it cannot be known (an invalid
 * smtp_tls_security_level too: Postfix refuses to start with one). */
static int tls_policy_init(struct smtp_sess *s)
{
	const char *lev = tp_str(s, "smtp_tls_security_level");
	struct tls_policy_entry e;
	int found;

	s->tls_level = TLS_LEV_NONE;
	if (lev != NULL && *lev)
		s->tls_level = tls_level_parse(lev, strlen(lev));
	else if (conf_get_bool("smtp_enforce_tls") > 0)
		s->tls_level = TLS_LEV_ENCRYPT;
	else if (conf_get_bool("smtp_use_tls") > 0)
		s->tls_level = TLS_LEV_MAY;
	if (s->tls_level < 0) {
		msg_warn("invalid TLS security level: \"%s\"", lev);
		s->tls_level = TLS_LEV_NONE;
		return -1;
	}
	s->tls_match[0] = s->tls_sni[0] = 0;
	s->tls_protocols[0] = s->tls_ciphers[0] = 0;
	if ((found = tls_policy_lookup(s, &e)) < 0)
		return -1;
	if (found) {
		s->tls_level = e.level;
		snprintf(s->tls_match, sizeof(s->tls_match), "%s", e.match);
		snprintf(s->tls_sni, sizeof(s->tls_sni), "%s", e.servername);
		snprintf(s->tls_protocols, sizeof(s->tls_protocols), "%s",
			 e.protocols);
		snprintf(s->tls_ciphers, sizeof(s->tls_ciphers), "%s",
			 e.ciphers);
	}
	if (s->tls_sni[0] == 0) {
		const char *sn = tp_str(s, "smtp_tls_servername");
		snprintf(s->tls_sni, sizeof(s->tls_sni), "%s", sn ? sn : "");
	}
	return 0;
}

/* smtp_tls_wrappermode (SMTPS, port 465): 1 when this connection
 * starts with the handshake; the level is at least encrypt then (a
 * failure cannot fall back to plaintext on that port). */
static int tls_wrapper(struct smtp_sess *s)
{
	const char *w = tp_str(s, "smtp_tls_wrappermode");

	s->tls_implicit = !s->lmtp && w != NULL && str_casecmp(w, "yes") == 0;
	if (s->tls_implicit && s->tls_level < TLS_LEV_ENCRYPT)
		s->tls_level = TLS_LEV_ENCRYPT;
	return s->tls_implicit;
}

/* A match keyword (hostname, nexthop, dot-nexthop) or a literal name. */
static void tls_name(const struct smtp_sess *s, const char *t, size_t n,
		     char *out, size_t max)
{
	if (n == 8 && str_ncasecmp(t, "hostname", 8) == 0)
		snprintf(out, max, "%s", s->host);
	else if (n == 7 && str_ncasecmp(t, "nexthop", 7) == 0)
		snprintf(out, max, "%s", s->key);
	else if (n == 11 && str_ncasecmp(t, "dot-nexthop", 11) == 0)
		snprintf(out, max, ".%s", s->key);
	else
		snprintf(out, max, "%.*s", (int)n, t);
}

/* Start the handshake on the connection (after 220 to STARTTLS). */
static void tls_start(struct smtp_sess *s)
{
	char names[8][ROUTE_HOST_MAX + 1];
	const char *match[8];
	size_t n = 0;
	const char *list = s->tls_match, *p;
	struct net_addr lit;
	const char *sni = NULL;
	char snibuf[ROUTE_HOST_MAX];
	int mand = s->tls_level >= TLS_LEV_ENCRYPT;
	const char *pr = tp_str(s, mand ? "smtp_tls_mandatory_protocols"
					: "smtp_tls_protocols");
	const char *su = tp_str(s, "smtp_tls_cipher_suites");
	const char *ex = tp_str(s, mand ? "smtp_tls_mandatory_exclude_ciphers"
					: "smtp_tls_exclude_ciphers");
	struct tls_policy pol;
	struct tls_client *cl = tls_client_of(s);

	/* the policy's protocols= and ciphers= (a grade) win over main.cf,
	 * as Postfix's over smtp_tls_mandatory_protocols/_ciphers; both
	 * were checked when the entry was parsed */
	if (s->tls_protocols[0])
		pr = s->tls_protocols;
	if (tls_protocols_parse(pr, strlen(pr), &pol.vmin, &pol.vmax) < 0)
		pol.vmin = TLS_V12, pol.vmax = TLS_V12;
	if (s->tls_ciphers[0]
		    ? tls_cipher_grade_parse(s->tls_ciphers,
					     strlen(s->tls_ciphers), ex,
					     strlen(ex), pol.suites,
					     &pol.nsuites) < 0
		    : tls_suites_parse(su, strlen(su), ex, strlen(ex),
				       pol.suites, &pol.nsuites) < 0)
		tls_suites_parse("aead", 4, NULL, 0, pol.suites, &pol.nsuites);
	tls_client_set_policy(cl, &pol);
	if (s->tls_level == TLS_LEV_VERIFY || s->tls_level == TLS_LEV_SECURE) {
		if (*list == 0)
			list = tp_str(s, s->tls_level == TLS_LEV_VERIFY
						 ? "smtp_tls_verify_cert_match"
						 : "smtp_tls_secure_cert_match");
		/* match= is ':'-separated, the parameters take lists */
		while (list != NULL && *list && n < 8) {
			size_t k;
			while (*list == ':' || *list == ',' || *list == ' ' ||
			       *list == '\t')
				list++;
			k = strcspn(list, ":, \t");
			if (k == 0)
				break;
			tls_name(s, list, k, names[n], sizeof(names[n]));
			match[n] = names[n];
			n++;
			list += k;
		}
	}
	p = s->tls_sni;
	if (*p) {
		tls_name(s, p, strlen(p), snibuf, sizeof(snibuf));
		/* no address as a server name (RFC 6066 3) */
		if (hosts_addr_parse(snibuf, strlen(snibuf), &lit) != 0)
			sni = snibuf;
	}
	s->tc = tls_conn_new_client(cl, sni, s->tls_level, match, n);
	/* a session is offered again only to the same server under the
	 * same checks (a resumed handshake shows no certificate) */
	struct buf key;
	buf_init(&key, 4096);
	buf_printf(&key, "[%s]:%u %s %s %s", s->addr, s->port,
		   sni != NULL ? sni : "", tls_level_name(s->tls_level),
		   s->tls_implicit ? "smtps" : "starttls");
	for (size_t i = 0; i < n; i++)
		buf_printf(&key, " %s", match[i]);
	tls_conn_client_cache(s->tc, buf_str(&key),
			      loop_clock_ms() / 1000);
	buf_free(&key);
	s->tls_up = 0;
	buf_reset(&s->tin);
	s->state = S_TLS;
	arm(s, tp_time(s, "smtp_starttls_timeout"));
}

/* After EHLO/HELO: 1 when TLS took over (STARTTLS sent, or the job
 * deferred because TLS is required but not offered). */
static int tls_after_ehlo(struct smtp_sess *s)
{
	struct buf t;

	if (s->tc != NULL || s->tls_plain || s->tls_level == TLS_LEV_NONE ||
	    s->lmtp)
		return 0;
	if (s->ehlo.ext & SMTP_EXT_STARTTLS) {
		send_line(s, "STARTTLS");
		s->state = S_STARTTLS;
		arm(s, tp_time(s, "smtp_starttls_timeout"));
		sess_flush(s);
		return 1;
	}
	if (s->tls_level == TLS_LEV_MAY)
		return 0;
	buf_init(&t, SMTP_TEXT_MAX);
	buf_printf(&t, "TLS is required, but was not offered by host %s[%s]",
		   mail_host(s), s->addr);
	set_pending(s, DELIVER_DEFER, "4.7.4", buf_str(&t));
	buf_free(&t);
	sess_quit(s);
	job_report(s);
	return 1;
}

static void tls_on_reply(struct smtp_sess *s, int ok)
{
	struct buf t;

	if (ok) {
		tls_start(s);
		if (sess_flush(s) == 0)
			sess_read(s); /* ClientHello out, maybe more in */
		return;
	}
	if (s->tls_level == TLS_LEV_MAY) {
		if (auth_start(s) == 0)
			xact_start(s);
		return;
	}
	buf_init(&t, SMTP_TEXT_MAX);
	buf_printf(&t, "TLS is required, but host %s[%s] refused to start TLS: ",
		   mail_host(s), s->addr);
	smtp_reply_oneline(&s->reply, &t);
	set_pending(s, DELIVER_DEFER, "4.7.5", buf_str(&t));
	buf_free(&t);
	sess_quit(s);
	job_report(s);
}

static void tls_established(struct smtp_sess *s)
{
	static const char *const trust[] = {"Untrusted", "Trusted",
					    "Verified"};
	struct tls_info i;
	struct buf t;

	s->tls_up = 1;
	tls_conn_info(s->tc, &i);
	if (tp_int(s, "smtp_tls_loglevel") >= 1) {
		buf_init(&t, SMTP_TEXT_MAX);
		relay_of(s, &t);
		tls_log(s, "%s TLS connection established to %s: %s with cipher "
			 "%s (%d/%d bits)",
			 trust[tls_conn_trust(s->tc)], buf_str(&t), i.proto,
			 i.cipher, i.bits, i.bits);
		if (tp_int(s, "smtp_tls_loglevel") >= 2 && i.resumed)
			tls_log(s, "%s: Reusing old session", buf_str(&t));
		if (tp_int(s, "smtp_tls_loglevel") >= 2)
			tls_log(s, "%s: server certificate SHA-256 fingerprint "
				 "%s",
				 buf_str(&t), tls_conn_peer_fingerprint(s->tc));
		buf_free(&t);
	}
	smtp_reply_init(&s->reply);
	if (s->tls_implicit) { /* SMTPS: now the greeting */
		s->state = S_GREETING;
		arm(s, tp_time(s, "smtp_helo_timeout"));
		return;
	}
	/* RFC 3207 4.2: forget what the server said; EHLO again */
	memset(&s->ehlo, 0, sizeof(s->ehlo));
	s->state = S_EHLO;
	buf_printf(&s->out, "EHLO %s\r\n", tp_str(s, "smtp_helo_name"));
	arm(s, tp_time(s, "smtp_helo_timeout"));
}

/* The handshake failed: may goes on in plaintext on a new connection to
 * the same server (as Postfix); encrypt and above defer. */
static void tls_failed(struct smtp_sess *s, int r)
{
	struct buf t, why;
	int e = s->tc != NULL ? tls_conn_error(s->tc) : 0;

	buf_init(&t, SMTP_TEXT_MAX);
	buf_init(&why, 256);
	relay_of(s, &t);
	if (r == TLS_ERR_PROTO || e != 0)
		buf_puts(&why, tls_error_text(e));
	else
		buf_puts(&why, "lost connection");
	tls_log(s, "SSL_connect error to %s: %s", buf_str(&t), buf_str(&why));
	if (s->tls_level == TLS_LEV_MAY && s->job != NULL) {
		tls_log(s, "%s: TLS handshake with %s failed; retrying in "
			 "plaintext",
			 s->job->qid, buf_str(&t));
		buf_free(&t);
		buf_free(&why);
		sess_close_fd(s);
		s->tls_plain = 1;
		s->connected = 0;
		start_connect(s);
		return;
	}
	buf_reset(&t);
	if (tls_error_cert(e) == TLS_CERT_NAME)
		buf_puts(&t, "Server certificate not verified");
	else if (tls_error_cert(e) == TLS_CERT_UNTRUSTED)
		buf_printf(&t, "Server certificate not trusted (%s)",
			   buf_str(&why));
	else
		buf_printf(&t, "Cannot start TLS: handshake failure (%s)",
			   buf_str(&why));
	buf_free(&why);
	if (s->job == NULL) {
		buf_free(&t);
		sess_free(s);
		return;
	}
	set_pending(s, DELIVER_DEFER, "4.7.5", buf_str(&t));
	buf_free(&t);
	sess_close_fd(s);
	job_report(s);
	sess_free(s);
}

/* The connection failed (r from tls_conn_io()): s is handled. */
static void tls_broken(struct smtp_sess *s, int r)
{
	if (!s->tls_up)
		tls_failed(s, r);
	else if (s->state == S_QUIT)
		sess_free(s);
	else
		conn_lost(s, 0);
}

/* Write what the engine takes (content too, as in sess_flush). */
static int tls_flush(struct smtp_sess *s)
{
	int r;

	for (;;) {
		if (s->state == S_BODY && !s->body_end &&
		    buf_len(&s->out) < SMTP_BODY_FILL)
			body_fill(s);
		size_t before = buf_len(&s->out);
		r = tls_conn_io(s->tc, s->fd, NULL, &s->out);
		if (!s->tls_up && tls_conn_ready(s->tc)) {
			/* the server's Finished came in with this call */
			tls_established(s);
			continue;
		}
		if (r < 0) {
			tls_broken(s, r);
			return -1;
		}
		if (buf_len(&s->out) == 0 || buf_len(&s->out) == before)
			break;
		if (s->state == S_BODY)
			arm(s, tp_time(s, "smtp_data_xfer_timeout"));
	}
	if (s->state == S_BODY && !s->body_end)
		arm(s, tp_time(s, "smtp_data_xfer_timeout"));
	want_write(s, buf_len(&s->out) > 0 ||
			      (tls_conn_want(s->tc) & LOOP_WRITABLE));
	if (s->state == S_BODY && s->body_end && buf_len(&s->out) == 0) {
		s->state = S_DOT;
		arm(s, tp_time(s, "smtp_data_done_timeout"));
	}
	return 0;
}

/* Read records, decrypt, and hand whole replies to on_reply(). */
static void tls_read(struct smtp_sess *s)
{
	int r = tls_conn_io(s->tc, s->fd, &s->tin, &s->out);
	size_t off = 0;

	if (!s->tls_up && tls_conn_ready(s->tc)) {
		tls_established(s);
		if (tls_flush(s) < 0)
			return;
	}
	while (off < buf_len(&s->tin)) {
		if (s->reply.done)
			smtp_reply_init(&s->reply);
		off += smtp_reply_push(&s->reply, s->tin.data + off,
				       buf_len(&s->tin) - off);
		if (s->reply.err) {
			conn_lost(s, 0);
			return;
		}
		if (!s->reply.done)
			break;
		buf_consume(&s->tin, off);
		off = 0;
		if (on_reply(s) < 0)
			return; /* s may be gone */
	}
	buf_consume(&s->tin, off);
	if (r < 0) {
		tls_broken(s, r);
		return;
	}
	want_write(s, buf_len(&s->out) > 0 ||
			      (tls_conn_want(s->tc) & LOOP_WRITABLE));
}

/* on_reply - one whole reply. 0, or -1 when s is gone or detached. */
static int on_reply(struct smtp_sess *s)
{
	int code = s->reply.code, ok = code >= 200 && code < 300;
	struct buf t;

	if (code == 421 && s->state != S_QUIT && s->state != S_GREETING) {
		server_421(s);
		return -1;
	}
	switch (s->state) {
	case S_GREETING:
		if (!ok) {
			buf_init(&t, SMTP_TEXT_MAX);
			buf_printf(&t, "host %s[%s] refused to talk to me: ",
				   mail_host(s), s->addr);
			smtp_reply_oneline(&s->reply, &t);
			/* Postfix skips a 5xx greeting like a 4xx one. */
			conn_fail_text(s, s->reply.dsn, buf_str(&t));
			buf_free(&t);
			return -1;
		}
		s->state = S_EHLO;
		return send_ehlo(s, s->lmtp ? "LHLO" : "EHLO");
	case S_EHLO:
		if (!ok && s->lmtp) { /* LMTP has no HELO to fall back to */
			pending_from_reply(s, "LHLO command");
			sess_quit(s);
			job_report(s);
			return -1;
		}
		if (!ok) {
			s->state = S_HELO;
			return send_ehlo(s, "HELO");
		}
		smtp_reply_ehlo(&s->reply, &s->ehlo);
		if (tls_after_ehlo(s))
			return -1;
		if (auth_start(s) == 0)
			xact_start(s);
		return -1;
	case S_HELO:
		if (!ok) {
			pending_from_reply(s, "HELO command");
			sess_quit(s); /* a QUIT session is never reused */
			job_report(s);
			return -1;
		}
		memset(&s->ehlo, 0, sizeof(s->ehlo));
		if (tls_after_ehlo(s))
			return -1;
		xact_start(s);
		return -1;
	case S_STARTTLS:
		tls_on_reply(s, ok);
		return -1;
	case S_RSET_REUSE:
		if (!ok) {
			retry_fresh(s);
			return -1;
		}
		xact_start(s);
		return -1;
	case S_AUTH:
	case S_AUTH_USER:
	case S_AUTH_PASS:
		return on_auth_reply(s);
	case S_XACT:
		return on_xact_reply(s);
	case S_BODY:
	case S_DOT:
		return on_dot_reply(s);
	case S_ABORT_DOT:
		job_finish(s, 1);
		return -1;
	case S_RSET_IDLE:
		if (ok)
			go_idle(s);
		else
			sess_quit(s);
		return -1;
	case S_QUIT:
		sess_free(s);
		return -1;
	case S_IDLE: /* unexpected: the server talks out of turn */
	default:
		sess_free(s);
		return -1;
	}
}

static void tls_read(struct smtp_sess *s);

static void sess_read(struct smtp_sess *s)
{
	char chunk[SMTP_READ_SIZE];
	ssize_t r;
	size_t off = 0;

	if (s->tc != NULL) {
		tls_read(s);
		return;
	}
	r = read(s->fd, chunk, sizeof(chunk));
	if (r < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		if (s->state == S_QUIT) {
			sess_free(s);
			return;
		}
		conn_lost(s, 0);
		return;
	}
	while (off < (size_t)r) {
		if (s->reply.done)
			smtp_reply_init(&s->reply);
		off += smtp_reply_push(&s->reply, chunk + off, (size_t)r - off);
		if (s->reply.err) {
			conn_lost(s, 0);
			return;
		}
		if (!s->reply.done)
			break;
		if (on_reply(s) < 0)
			return; /* s may be gone */
	}
}

/* ---- connecting ---- */

static void on_io(struct loop *lp, int fd, int ready, void *arg)
{
	struct smtp_sess *s = arg;

	(void)lp;
	(void)fd;
	if (s->state == S_CONNECT) {
		int err = net_connect_result(s->fd);

		if (err < 0) {
			connect_failed(s, -err);
			return;
		}
		s->connected = 1;
		s->born_ms = loop_clock_ms();
		s->state = S_GREETING;
		want_write(s, 0);
		arm(s, tp_time(s, "smtp_helo_timeout"));
		if (tls_wrapper(s)) { /* SMTPS: TLS before the greeting */
			tls_start(s);
			if (sess_flush(s) == 0)
				sess_read(s);
		}
		return;
	}
	if (s->tc != NULL) { /* the engine reads and writes as it needs */
		if (sess_flush(s) == 0)
			sess_read(s);
		return;
	}
	if ((ready & LOOP_WRITABLE) && buf_len(&s->out) > 0) {
		if (sess_flush(s) < 0)
			return;
	}
	if (ready & LOOP_READABLE) {
		sess_read(s); /* handles the session's lifetime */
	}
}

/* connect_failed - "connect to H[A]:P: why". */
static void connect_failed(struct smtp_sess *s, int err)
{
	struct buf t;

	buf_init(&t, SMTP_TEXT_MAX);
	buf_puts(&t, "connect to ");
	relay_of(s, &t);
	buf_printf(&t, ": %s", strerror(err));
	conn_fail_text(s, "4.4.1", buf_str(&t));
	buf_free(&t);
}

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct smtp_sess *s = arg;

	(void)lp;
	(void)t;
	switch (s->state) {
	case S_FAILED:
		job_report(s);
		sess_free(s);
		return;
	case S_IDLE:
		sess_quit(s);
		return;
	case S_QUIT:
		sess_free(s);
		return;
	case S_CONNECT:
		connect_failed(s, s->connect_err ? s->connect_err : ETIMEDOUT);
		return;
	default:
		conn_lost(s, 1);
		return;
	}
}

static void fmt_addr(const struct net_addr *a, char *out, size_t max)
{
	if (a->sa.ss_family == AF_UNIX)
		return; /* s->addr holds the path as written */
	if (a->sa.ss_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)&a->sa)->sin_addr, out,
			  (socklen_t)max);
	else
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
			  out, (socklen_t)max);
}

/* start_connect - connect to addrs[cur]. Never reports at once: a
 * connect that fails right away is handled from a timer, so no callback
 * runs inside smtp_client_deliver(). */
static void start_connect(struct smtp_sess *s)
{
	struct net_addr a = s->addrs[s->cur];
	int rc;

	if (s->names)
		memcpy(s->host, s->names[s->cur], sizeof(s->host));
	fmt_addr(&a, s->addr, sizeof(s->addr));
	if (a.sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a.sa)->sin_port =
			htons((uint16_t)s->port);
	else if (a.sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a.sa)->sin6_port =
			htons((uint16_t)s->port);
	smtp_reply_init(&s->reply);
	buf_reset(&s->out);
	memset(&s->ehlo, 0, sizeof(s->ehlo));
	s->state = S_CONNECT;
	rc = net_connect(&a, &s->fd);
	if (rc == 0)
		rc = loop_fd_add(s->c->lp, s->fd, LOOP_READABLE | LOOP_WRITABLE,
				 on_io, s);
	if (rc < 0) {
		if (s->fd >= 0) {
			loop_fd_del(s->c->lp, s->fd, LOOP_ALL);
			close(s->fd);
		}
		s->fd = -1;
		s->connect_err = -rc;
		loop_timer_set(s->c->lp, &s->timer, 0);
		return;
	}
	s->connect_err = 0;
	s->want_write = 1;
	arm(s, tp_time(s, "smtp_connect_timeout"));
}

/* ---- the API ---- */

struct smtp_client *smtp_client_new(struct loop *lp)
{
	struct smtp_client *c = mem_zalloc(sizeof(*c));

	c->lp = lp;
	c->keys_fd = -1;
	/* a body fill, and the line that ended it, fit */
	buf_cache_init(&c->out_bufs, 2 * SMTP_BODY_FILL, SMTP_BUFS_KEPT);
	buf_cache_init(&c->tin_bufs, 2 * SMTP_BODY_FILL, SMTP_BUFS_KEPT / 4);
	return c;
}

void smtp_client_set_keys(struct smtp_client *c, int fd)
{
	c->keys_fd = fd;
}

/* default_port - smtp_tcp_port (lmtp_tcp_port): a number or a name. */
static unsigned default_port(const struct transport *tp)
{
	int lmtp = tp->kind == TRANSPORT_LMTP;
	const char *v =
		transport_get(tp, lmtp ? "lmtp_tcp_port" : "smtp_tcp_port");
	long n;

	if (v && str_to_long(v, &n) == 0 && n > 0 && n < 65536)
		return (unsigned)n;
	if (v && strcmp(v, "submission") == 0)
		return 587;
	if (v && strcmp(v, "lmtp") == 0)
		return 24;
	if (v && strcmp(v, "smtp") == 0)
		return 25;
	return lmtp ? 24 : 25;
}

/* resolve_unix - the socket of an lmtp:unix: next hop; relative paths
 * are under queue_directory, as Postfix's lmtp runs there. */
static int resolve_unix(struct smtp_sess *s, const struct route *r)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&s->addrs[0].sa;
	const char *qdir = conf_get("queue_directory");
	struct buf path;
	int rc = 0;

	buf_init(&path, 2 * ROUTE_HOST_MAX);
	if (r->host[0] != '/' && qdir && *qdir)
		buf_printf(&path, "%s/", qdir);
	buf_puts(&path, r->host);
	snprintf(s->addr, sizeof(s->addr), "%s", r->host);
	snprintf(s->host, sizeof(s->host), "%s", conf_get("myhostname"));
	s->port = 0;
	memset(&s->addrs[0], 0, sizeof(s->addrs[0]));
	if (buf_len(&path) >= sizeof(un->sun_path)) {
		msg_warn("unix-domain name too long: %s", buf_str(&path));
		set_pending(s, DELIVER_DEFER, "4.3.5",
			    "Server configuration error");
		rc = -1;
	} else {
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, buf_str(&path), buf_len(&path) + 1);
		s->addrs[0].len = (socklen_t)sizeof(*un);
		s->naddr = 1;
	}
	buf_free(&path);
	return rc;
}

/* is_relayhost - the next hop is relayhost's: a lookup failure there is
 * a configuration problem, deferred (4.3.5) rather than bounced, as
 * Postfix's smtp_connect_inet() does. */
static int is_relayhost(const struct smtp_sess *s)
{
	const char *v = conf_get("relayhost");
	size_t n, klen = strlen(s->key);

	if (v == NULL)
		return 0;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '[')
		v++;
	n = strcspn(v, "]: \t,");
	return n == klen && str_ncasecmp(v, s->key, n) == 0;
}

static void on_mx(const struct mx_result *res, void *arg)
{
	struct smtp_sess *s = arg;
	size_t i;

	s->mxl = NULL;
	if (res->status != DELIVER_SENT) {
		if (res->status == DELIVER_BOUNCE && !s->lmtp &&
		    is_relayhost(s)) {
			msg_warn("relayhost configuration problem");
			set_pending(s, DELIVER_DEFER, "4.3.5", res->text);
		} else {
			set_pending(s, res->status, res->dsn, res->text);
		}
		job_report(s);
		sess_free(s);
		return;
	}
	s->naddr = res->n < HOSTS_ADDR_MAX ? res->n : HOSTS_ADDR_MAX;
	s->names = mem_alloc(s->naddr * sizeof(*s->names));
	for (i = 0; i < s->naddr; i++) {
		s->addrs[i] = res->t[i].addr;
		memcpy(s->names[i], res->t[i].host, sizeof(s->names[i]));
	}
	s->cur = 0;
	start_connect(s);
}

/* resolver - the client's resolver, made at first use. */
static struct dns_resolver *resolver(struct smtp_client *c)
{
	struct dns_conf dc;
	const char *path = conf_get("dns_resolv_conf");
	int rc;

	if (c->dns)
		return c->dns;
	rc = dns_conf_load(path && *path ? path : NULL, &dc);
	if (rc < 0 && rc != -ENOENT)
		msg_warn("%s: %s", path && *path ? path : DNS_RESOLV_CONF,
			 strerror(-rc));
	/* The hosts file is smtp_host_lookup's "native", done by mx.c. */
	c->dns = dns_resolver_new(c->lp, &dc, "");
	c->nself = mx_self_addrs(conf_get("inet_interfaces"),
				 conf_get("proxy_interfaces"), c->self,
				 MX_SELF_MAX);
	return c->dns;
}

/* resolve - start looking up the next hop's addresses; on_mx() goes on.
 * A UNIX-domain next hop is known at once: 0, or -1 with the failure
 * set. */
static int resolve(struct smtp_sess *s, const struct route *r)
{
	struct mx_request req;
	struct net_addr lit;
	const char *dis, *rnd;

	if (r->unix_path)
		return resolve_unix(s, r);
	memset(&req, 0, sizeof(req));
	req.host = r->host;
	/* LMTP never looks up MX records. */
	req.literal = r->literal || s->lmtp;
	req.families = hosts_families(transport_get(s->tp, "inet_protocols"));
	mx_lookup_flags(tp_str(s, "smtp_host_lookup"), &req);
	dis = transport_get(s->tp, "disable_dns_lookups");
	req.mx_enabled = !(dis && str_casecmp(dis, "yes") == 0);
	if (!req.mx_enabled)
		req.lookup = MX_LOOKUP_NATIVE;
	req.limit = (unsigned)tp_int(s, "smtp_mx_address_limit");
	rnd = tp_str(s, "smtp_randomize_addresses");
	req.randomize = rnd && str_casecmp(rnd, "yes") == 0;
	/* Postfix: loop detection for SMTP next hops on port 25 only, so
	 * content filters on [127.0.0.1]:10025 work. */
	req.loop_detect = !s->lmtp && s->port == 25;
	req.self = s->c->self;
	req.nself = s->c->nself;
	s->state = S_RESOLVE;
	/* An address needs no resolver: none is made for it. */
	s->mxl = mx_lookup_start(
		s->c->lp,
		hosts_addr_parse(r->host, strlen(r->host), &lit) == 0
			? NULL
			: resolver(s->c),
		&req, on_mx, s);
	return 1;
}

static int same_dest(const struct smtp_sess *s, const struct route *r,
		     unsigned port)
{
	/* A socket path is a file name: case matters. */
	return strcmp(s->tpname, r->tp->name) == 0 && s->port == port &&
	       (r->unix_path ? strcmp(s->key, r->host) == 0
			     : str_casecmp(s->key, r->host) == 0);
}

int smtp_client_deliver(struct smtp_client *c, struct deliver_job *job)
{
	const struct route *r = &job->route;
	struct smtp_sess *s;
	unsigned port;
	int rc;

	if (job->nrcpt == 0 || r->tp == NULL ||
	    (r->tp->kind != TRANSPORT_SMTP && r->tp->kind != TRANSPORT_LMTP))
		return -EINVAL;
	port = r->unix_path ? 0 : r->port ? r->port : default_port(r->tp);

	/* A cached connection to the same next hop. */
	for (s = c->sessions; s; s = s->next)
		if (s->state == S_IDLE && s->job == NULL &&
		    same_dest(s, r, port))
			break;
	if (s) {
		s->job = job;
		s->uses++;
		s->rs = mem_zalloc(job->nrcpt * sizeof(*s->rs));
		s->start = deliver_now();
		s->ready = 0;
		s->reused = 1;
		s->state = S_RSET_REUSE;
		send_line(s, "RSET");
		arm(s, tp_time(s, "smtp_rset_timeout"));
		want_write(s, 1); /* written by the loop: no failure here */
		return 0;
	}

	s = sess_new(c, r);
	s->port = port;
	s->job = job;
	s->uses = 1;
	s->rs = mem_zalloc(job->nrcpt * sizeof(*s->rs));
	s->start = deliver_now();
	if (!r->unix_path && tls_policy_init(s) < 0) {
		/* as Postfix: the mail waits for a policy that parses */
		set_pending(s, DELIVER_DEFER, "4.7.5",
			    "client TLS configuration problem");
		s->state = S_FAILED;
		loop_timer_set(c->lp, &s->timer, 0);
		return 0;
	}
	rc = resolve(s, r);
	if (rc > 0)
		return 0; /* on_mx() goes on */
	if (rc < 0) {
		/* Report from the loop, never from inside this call. */
		s->state = S_FAILED;
		loop_timer_set(c->lp, &s->timer, 0);
		return 0;
	}
	start_connect(s);
	return 0;
}

void smtp_client_flush(struct smtp_client *c)
{
	struct smtp_sess *s = c->sessions, *next;

	for (; s; s = next) {
		next = s->next;
		if (s->state == S_IDLE)
			sess_quit(s);
	}
}

size_t smtp_client_busy(const struct smtp_client *c)
{
	const struct smtp_sess *s;
	size_t n = 0;

	for (s = c->sessions; s; s = s->next)
		n += s->job != NULL;
	return n;
}

void smtp_client_free(struct smtp_client *c)
{
	if (c == NULL)
		return;
	tls_client_free(c->tls);
	while (c->sessions) {
		struct smtp_sess *s = c->sessions;

		if (s->job) {
			set_pending(s, DELIVER_DEFER, "4.3.2",
				    "delivery canceled: the mail system is "
				    "shutting down");
			sess_close_fd(s);
			job_report(s);
		}
		sess_free(s);
	}
	if (c->dns)
		dns_resolver_free(c->dns);
	tls_server_free(c->ident);
	if (c->keys_fd >= 0)
		close(c->keys_fd);
	buf_cache_free(&c->out_bufs);
	buf_cache_free(&c->tin_bufs);
	mem_free(c);
}

const struct dns_stats *smtp_client_dns_stats(const struct smtp_client *c)
{
	return c->dns ? dns_resolver_stats(c->dns) : NULL;
}
