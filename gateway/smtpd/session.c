/* session - one SMTP server session (see session.h). */
#include "smtpd/session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "dns/resolv.h"
#include "queue/trigger.h"
#include "smtpd/anvil.h"
#include "smtpd/policy.h"
#include "smtpd/peer.h"
#include "smtpd/sasl.h"
#include "smtpd/sasl_worker.h"
#include "smtpd/smtp_data.h"
#include "tls/client.h"
#include "tls/server.h"
#include "tls/tls.h"

#define IN_MAX    (256 * 1024) /* read buffer: a command line or data */
#define OUT_MAX   (1024 * 1024)
#define READ_SIZE (16 * 1024)  /* bytes asked of one read(2), about */
#define READ_MIN  (4 * 1024)   /* room made before a read */
#define SESSION_BUF_KEEP (4 * READ_SIZE) /* largest buffer kept for reuse */
#define SESSION_BUFS_KEPT (8 * 1024 * 1024) /* buffers kept while busy */
#define SESSION_BUFS_IDLE (1024 * 1024)     /* ... and with no session */
#define OUT_PAUSE (64 * 1024) /* stop reading while this much is unsent */

enum mode { M_CMD = 0, M_DATA, M_BDAT, M_SKIP, M_AUTH };

/* The parser's envelope values are stored as the queue file's as-is. */
_Static_assert((int)SMTP_BODY_8BITMIME == (int)QFILE_BODY_8BITMIME &&
		       (int)SMTP_BODY_BINARYMIME ==
			       (int)QFILE_BODY_BINARYMIME &&
		       (int)SMTP_RET_HDRS == (int)QFILE_RET_HDRS &&
		       SMTP_NOTIFY_NEVER == QFILE_NOTIFY_NEVER &&
		       SMTP_NOTIFY_DELAY == QFILE_NOTIFY_DELAY,
	       "smtp_cmd.h and qfile.h envelope values differ");

enum {
	C_EHLO,
	C_HELO,
	C_STARTTLS,
	C_AUTH,
	C_MAIL,
	C_RCPT,
	C_DATA,
	C_BDAT,
	C_RSET,
	C_NOOP,
	C_QUIT,
	C_VRFY,
	C_ETRN,
	C_UNKNOWN,
	C_N
};
static const char *const cname[C_N] = {
	"ehlo", "helo", "starttls", "auth", "mail", "rcpt",    "data",
	"bdat", "rset", "noop",     "quit", "vrfy", "etrn", "unknown"};

struct session {
	struct smtpd_server *srv;
	struct session *next, *prev;
	int fd;
	char addr[64], port[8];
	struct smtpd_peer peer;       /* the client's names (peer.h) */
	struct smtpd_peer_lookup *pl; /* while they are looked up */
	struct buf in, out;
	struct smtp_line_reader rd;
	struct loop_timer timer;
	int mode;
	int waiting;  /* commit in progress */
	int sleeping; /* error sleep */
	int closing;  /* close once out is sent */
	int drain;    /* close after this transaction */
	int dead;
	int checking; /* restrictions wait for DNS, a policy server, sleep */
	int greeted;  /* the banner (or the CONNECT reject) went out */
	int eod;      /* the end-of-data restrictions are being evaluated */
	int ill_pipelining;
	int rate_counted; /* this command's rate event is counted */
	unsigned long txn_seq; /* transactions so far, for the instance */
	char instance[64];
	struct restrict_sess *rs;
	struct session_tls_info tls; /* see session.h */
	char *sasl_username;         /* set by a successful AUTH */
	const char *sasl_method;     /* "PLAIN", "LOGIN" (static) */
	struct sasl_server *sasl;    /* the AUTH exchange (from the first AUTH) */
	struct sasl_job *job;        /* password check on the worker */
	int authing;                 /* waiting for that check */
	char *sasl_sender;           /* MAIL FROM's AUTH=, as sent */
	struct tls_conn *tc; /* from STARTTLS or the wrapper mode on */
	int tls_start;       /* STARTTLS answered: switch once 220 is sent */
	char *helo;
	int esmtp;
	enum smtp_bare bare; /* srv->bare, or NORMALIZE for exempt clients */
	const char *last;    /* last command verb, for logs */
	unsigned cnt_ok[C_N], cnt_all[C_N];
	long errors;
	long junk; /* NOOP, VRFY, ETRN, RSET so far */
	/* transaction */
	int in_mail;
	char *sender;
	struct qfile_rcpt *rcpt;
	char **owned; /* 2 per recipient: address, ORCPT (or NULL) */
	size_t nrcpt;
	struct smtp_mail mailp; /* copied scalars only */
	char *envid;
	int bdat_used;
	uint64_t chunk_size; /* the current BDAT chunk's announced size */
	uint64_t skip_left;
	struct smtp_data d;
	struct qw_msg *msg;
	char qid[QID_SIZE];
	/* Message-ID capture in the header */
	int in_header, line_start;
	char hline[1024]; /* the current header, unfolded, cut at the size */
	size_t hlen;
	int got_msgid;
	char tail[2]; /* the last two content bytes stored */
	uint64_t stored;
};

static void session_run(struct session *s);
static void session_free(struct session *s);
static void session_errors(struct session *s, long before);
static void lost(struct session *s);

static void client_str(const struct session *s, struct buf *b)
{
	buf_printf(b, "%s[%s]", s->peer.name, s->addr);
}

/* The protocol name of RFC 3848 as Postfix logs and writes it in
 * Received: SMTP, ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA. */
static const char *proto_name(const struct session *s)
{
	static const char *const names[4] = {"ESMTP", "ESMTPS", "ESMTPA",
					     "ESMTPSA"};
	if (!s->esmtp)
		return "SMTP";
	return names[(s->tls.active ? 1 : 0) +
		     (s->sasl_username != NULL ? 2 : 0)];
}

static void reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	size_t start = s->out.len;

	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	buf_puts(&s->out, "\r\n");
	if (s->out.data[start] == '4' || s->out.data[start] == '5')
		s->errors++;
}

static void reply_smtp(struct session *s, const struct smtp_reply *r,
		       const char *detail, size_t n)
{
	struct buf b;

	buf_init(&b, 1024);
	smtp_reply_format(&b, r, detail, n);
	reply(s, "%s", buf_str(&b));
	buf_free(&b);
}

static void log_client(struct session *s, const char *fmt, const char *what)
{
	struct buf b;

	buf_init(&b, 1024);
	client_str(s, &b);
	msg_info(fmt, what, buf_str(&b));
	buf_free(&b);
}

/* ---- transaction ---- */

static void txn_reset(struct session *s)
{
	if (s->msg != NULL) {
		qw_abort(s->msg);
		s->msg = NULL;
	}
	for (size_t i = 0; i < 2 * s->nrcpt; i++)
		mem_free(s->owned[i]);
	mem_free(s->owned);
	s->owned = NULL;
	mem_free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	mem_free(s->sender);
	s->sender = NULL;
	mem_free(s->envid);
	s->envid = NULL;
	mem_free(s->sasl_sender);
	s->sasl_sender = NULL;
	s->in_mail = 0;
	s->bdat_used = 0;
	s->qid[0] = 0;
	s->eod = 0;
	s->txn_seq++;
	if (s->rs != NULL)
		restrict_txn_reset(s->rs);
	if (s->mode != M_SKIP)
		s->mode = M_CMD;
}

static void rctx_fill(struct session *s, struct restrict_ctx *x,
		      const char *rcpt, const char *cmd)
{
	memset(x, 0, sizeof(*x));
	x->client_addr = s->addr;
	x->client_name = s->peer.name;
	x->reverse_name = s->peer.reverse_name;
	x->name_status = s->peer.name_status;
	x->reverse_status = s->peer.reverse_status;
	x->client_port = s->port;
	x->helo = s->helo;
	x->sender = s->sender;
	x->recipient = rcpt;
	x->sasl_username = s->sasl_username;
	x->sasl_method = s->sasl_method;
	x->sasl_sender = s->sasl_sender;
	x->ccert_fingerprint = s->tls.active ? s->tls.ccert_fp : NULL;
	x->ccert_trusted = s->tls.active && s->tls.ccert_trusted;
	x->cmd = cmd;
	x->protocol = s->esmtp ? "ESMTP" : "SMTP";
	x->queue_id = s->qid[0] ? s->qid : NULL;
	snprintf(s->instance, sizeof(s->instance), "%lx.%lx.%lx",
		 (unsigned long)log_pid(), (unsigned long)(uintptr_t)s,
		 s->txn_seq);
	x->instance = s->instance;
	x->rcpt_count = s->nrcpt;
	x->size = s->mailp.has_size ? (unsigned long)s->mailp.size
				    : (unsigned long)s->stored;
	x->ill_pipelining = s->ill_pipelining;
}

/* Postfix's reject line: "NOQUEUE: reject: CMD from name[addr]: REPLY;
 * from=<s> to=<r> proto=ESMTP helo=<h>" (from= once MAIL gave one). */
static void log_reject(struct session *s, const char *cmd, const char *text,
		       size_t n, const char *rcpt)
{
	struct restrict_ctx x;
	struct buf l;

	rctx_fill(s, &x, rcpt, cmd);
	buf_init(&l, 8192);
	restrict_log_line(&l, &x, "reject", text, n);
	msg_info("%s", buf_str(&l));
	buf_free(&l);
}

#define CHECK_OK      0
#define CHECK_REJECT  1
#define CHECK_PENDING 2

/* Postfix's smtpd_check_* for cmd; on reject the reply goes out (the
 * engine logged it). CHECK_PENDING: nothing was said; the session waits
 * (s->checking) and the command runs again on resume. */
static int check(struct session *s, enum restrict_cmd which, const char *rcpt,
		 const char *cmd)
{
	struct restrict_ctx x;
	struct buf r;
	int ret = CHECK_OK;

	rctx_fill(s, &x, rcpt, cmd);
	buf_init(&r, 4096);
	enum restrict_result res = restrict_check(s->rs, which, &x, &r);
	if (res == RESTRICT_PENDING) {
		s->checking = 1;
		ret = CHECK_PENDING;
	} else if (res == RESTRICT_REJECT) {
		reply(s, "%s", buf_str(&r));
		ret = CHECK_REJECT;
		/* 421 and 521 end the session, as Postfix */
		if (strncmp(r.data, "421", 3) == 0 ||
		    strncmp(r.data, "521", 3) == 0)
			s->closing = 1;
	}
	buf_free(&r);
	return ret;
}

/* ---- content ---- */

static void header_line(struct session *s)
{
	if (s->hlen >= 11 && str_ncasecmp(s->hline, "Message-ID:", 11) == 0 &&
	    !s->got_msgid) {
		struct buf b;
		buf_init(&b, 1024);
		log_escape_header(&b, s->hline + 11, s->hlen - 11);
		log_set_program("cleanup");
		msg_info("%s: message-id=%s", s->qid, buf_str(&b));
		log_set_program("smtpd");
		buf_free(&b);
		s->got_msgid = 1;
	}
}

static int sink(void *arg, const char *p, size_t n)
{
	struct session *s = arg;

	if (s->msg == NULL)
		return 0;
	for (size_t i = 0; i < n && s->in_header; i++) {
		char c = p[i];
		if (s->line_start) {
			s->line_start = 0;
			if (c != ' ' && c != '\t') {
				/* a new header, or the end of them: the one
				 * before is complete with its continuations */
				header_line(s);
				s->hlen = 0;
				if (c == '\r' || c == '\n') {
					s->in_header = 0;
					break;
				}
			}
		}
		if (c == '\n') {
			if (s->hlen > 0 && s->hline[s->hlen - 1] == '\r')
				s->hlen--;
			s->line_start = 1;
		} else if (s->hlen < sizeof(s->hline) - 1)
			s->hline[s->hlen++] = c;
	}
	if (n >= 2)
		memcpy(s->tail, p + n - 2, 2);
	else if (n == 1)
		s->tail[0] = s->tail[1], s->tail[1] = p[0];
	s->stored += n;
	return qw_write(s->msg, p, n) < 0 ? 1 : 0;
}

/* BDAT content need not end in CRLF; the queue file's must (as Postfix's
 * cleanup adds the missing line end). */
static void end_line(struct session *s)
{
	if (s->msg == NULL || s->stored == 0 ||
	    s->mailp.body == SMTP_BODY_BINARYMIME)
		return;
	if (s->tail[1] == '\r')
		sink(s, "\n", 1);
	else if (s->tail[0] != '\r' || s->tail[1] != '\n')
		sink(s, "\r\n", 2);
}

static void committed(void *arg, int result, const char *qid)
{
	struct session *s = arg;

	s->msg = NULL;
	s->waiting = 0;
	if (result == 0) {
		reply(s, "250 2.0.0 Ok: queued as %s", qid);
		s->cnt_ok[s->bdat_used ? C_BDAT : C_DATA]++;
	} else {
		msg_warn("%s: queue file write error: %s", qid,
			 strerror(-result));
		reply(s, "452 4.3.1 Insufficient system storage");
	}
	txn_reset(s);
	if (s->drain) {
		reply(s, "421 4.3.2 %s Service shutting down",
		      s->srv->myhostname);
		s->closing = 1;
	}
	session_run(s);
}

static void received(struct session *s, struct buf *h)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	buf_printf(h, "Received: from %s (%s [%s%s])",
		   s->helo != NULL ? s->helo : s->peer.name, s->peer.name,
		   /* an address literal, RFC 5321 4.1.3, as Postfix */
		   strchr(s->addr, ':') != NULL ? "IPv6:" : "", s->addr);
	if (s->tls.active && s->srv->tls_received_header)
		buf_printf(h,
			   "\r\n\t(using %s with cipher %s (%d/%d bits))"
			   "\r\n\t(No client certificate requested)",
			   s->tls.proto, s->tls.cipher, s->tls.bits,
			   s->tls.bits);
	if (s->sasl_username != NULL && s->srv->sasl_auth_header) {
		/* Postfix's smtpd_sasl_authenticated_header */
		buf_puts(h, "\r\n\t(Authenticated sender: ");
		log_escape(h, s->sasl_username, strlen(s->sasl_username));
		buf_puts(h, ")");
	}
	buf_printf(h, "\r\n\tby %s (%s) with %s id %s", s->srv->myhostname,
		   "mailgw", proto_name(s), s->qid);
	if (s->nrcpt == 1)
		buf_printf(h, "\r\n\tfor <%.*s>", (int)s->rcpt[0].addr.len,
			   s->rcpt[0].addr.p);
	buf_printf(h, "; %s\r\n", date);
}

/* Name the message: create its queue file at the first accepted RCPT,
 * as Postfix's smtpd opens its cleanup stream there (so later reject
 * lines carry the queue ID) and log "QID: client=". 0 or replied. */
static int msg_open(struct session *s)
{
	struct timeval tv;

	if (s->msg != NULL)
		return 0;
	gettimeofday(&tv, NULL);
	int r = qw_open(s->srv->qw, tv.tv_sec, tv.tv_usec, &s->msg);
	if (r < 0) {
		s->msg = NULL;
		msg_warn("queue file create: %s", strerror(-r));
		reply(s, "452 4.3.1 Insufficient system storage");
		return -1;
	}
	memcpy(s->qid, qw_qid(s->msg), QID_SIZE);
	struct buf b;
	buf_init(&b, 1024);
	client_str(s, &b);
	if (s->sasl_username != NULL) {
		/* Postfix's smtpd_sasl_mail_log() */
		buf_printf(&b,
			   ", sasl_method=%s, sasl_username=", s->sasl_method);
		log_escape(&b, s->sasl_username, strlen(s->sasl_username));
	}
	if (s->sasl_sender != NULL) {
		buf_puts(&b, ", sasl_sender=");
		log_escape(&b, s->sasl_sender, strlen(s->sasl_sender));
	}
	msg_info("%s: client=%s", s->qid, buf_str(&b));
	buf_free(&b);
	return 0;
}

/* Write the envelope and the Received header into the message's file
 * (msg_open() made it at the first RCPT). 0 or replied. */
static int msg_start(struct session *s)
{
	struct qfile_msg m;
	struct timeval tv;
	int r;

	gettimeofday(&tv, NULL);
	memset(&m, 0, sizeof(m));
	m.arrival_sec = tv.tv_sec;
	m.arrival_usec = tv.tv_usec;
	m.sender.p = s->sender;
	m.sender.len = strlen(s->sender);
	m.client_name.p = s->peer.name;
	m.client_name.len = strlen(s->peer.name);
	m.client_addr.p = s->addr;
	m.client_addr.len = strlen(s->addr);
	m.client_port.p = s->port;
	m.client_port.len = strlen(s->port);
	if (s->helo != NULL) {
		m.helo.p = s->helo;
		m.helo.len = strlen(s->helo);
	}
	m.protocol.p = proto_name(s);
	m.protocol.len = strlen(m.protocol.p);
	m.body = (enum qfile_body)s->mailp.body;
	m.smtputf8 = s->mailp.smtputf8;
	if (s->envid != NULL) {
		m.envid.p = s->envid;
		m.envid.len = strlen(s->envid);
	}
	m.ret = (enum qfile_ret)s->mailp.ret;
	m.rcpt = s->rcpt;
	m.nrcpt = s->nrcpt;
	/* access actions: REDIRECT replaces the recipients, BCC adds */
	const struct restrict_actions *act = restrict_actions(s->rs);
	struct qfile_rcpt *all = NULL;
	if (act->redirect != NULL || act->nbcc > 0) {
		size_t n = act->redirect != NULL ? 1 : s->nrcpt;
		all = mem_zalloc((n + act->nbcc) * sizeof(*all));
		if (act->redirect != NULL) {
			all[0].addr.p = act->redirect;
			all[0].addr.len = strlen(act->redirect);
		} else {
			memcpy(all, s->rcpt, n * sizeof(*all));
		}
		for (size_t i = 0; i < act->nbcc; i++) {
			all[n + i].addr.p = act->bcc[i];
			all[n + i].addr.len = strlen(act->bcc[i]);
		}
		m.rcpt = all;
		m.nrcpt = n + act->nbcc;
	}
	r = msg_open(s);
	if (r == 0 && (r = qw_envelope(s->msg, &m)) < 0) {
		msg_warn("%s: queue file write error: %s", s->qid,
			 strerror(-r));
		reply(s, "452 4.3.1 Insufficient system storage");
		qw_abort(s->msg);
		s->msg = NULL;
		s->qid[0] = 0;
	}
	mem_free(all);
	if (r < 0)
		return -1;
	struct buf b;
	buf_init(&b, 1024);
	/* PREPEND headers go before our Received:, as Postfix's smtpd
	 * writes them */
	buf_append(&b, act->prepend.data, act->prepend.len);
	received(s, &b);
	qw_write(s->msg, b.data, b.len);
	buf_free(&b);
	s->in_header = 1;
	s->line_start = 1;
	s->hlen = 0;
	s->got_msgid = 0;
	s->stored = 0;
	memset(s->tail, 0, sizeof(s->tail));
	struct smtp_data_opts o = {
		.bare = s->mailp.body == SMTP_BODY_BINARYMIME ? SMTP_BARE_NO
							      : s->bare,
		.size_limit = s->srv->size_limit,
		.line_limit = SMTP_DATA_LINE_MAX_MAX,
	};
	if (s->mode == M_BDAT)
		smtp_data_init_bdat(&s->d, &o, sink, s);
	else
		smtp_data_init(&s->d, &o, sink, s);
	return 0;
}

static void eod_continue(struct session *s);

static void end_of_data(struct session *s)
{
	int err = smtp_data_error(&s->d);
	int verb = s->bdat_used ? C_BDAT : C_DATA;

	s->mode = M_CMD;
	if (err == 0)
		end_line(s);
	if (err == 0 && s->msg != NULL && qw_error(s->msg) != 0)
		err = SMTP_DATA_ERR_SINK;
	if (err == 0) {
		s->eod = 1;
		eod_continue(s);
		return;
	}
	if (err == SMTP_DATA_ERR_SIZE) {
		reply(s, "552 5.3.4 Error: message file too big");
	} else if (err == SMTP_DATA_ERR_BARE_LF) {
		reply(s, "%d 5.5.2 Error: bare <LF> received",
		      s->srv->bare_code);
		if (s->srv->bare_code == 521)
			s->closing = 1;
	} else if (err != 0) {
		if (s->msg != NULL)
			msg_warn("%s: queue file write error: %s", s->qid,
				 strerror(-qw_error(s->msg)));
		reply(s, "452 4.3.1 Insufficient system storage");
	}
	(void)verb;
	txn_reset(s);
}

/* The end-of-data restrictions, then the commit (again after a wait). */
static void eod_continue(struct session *s)
{
	int c = check(s, RESTRICT_CMD_EOD, NULL, "END-OF-MESSAGE");

	if (c == CHECK_PENDING)
		return;
	s->eod = 0;
	if (c == CHECK_REJECT) {
		txn_reset(s);
		return;
	}
	if (restrict_actions(s->rs)->discard) {
		/* DISCARD: claim success, keep nothing (as Postfix) */
		reply(s, "250 2.0.0 Ok: queued as %s", s->qid);
		s->cnt_ok[s->bdat_used ? C_BDAT : C_DATA]++;
		txn_reset(s);
		return;
	}
	struct qw_msg *m = s->msg;
	/* what Postfix's smtpd hands cleanup: content_filter when the file
	 * opens, then the access actions (the last FILTER wins) */
	const struct restrict_actions *act = restrict_actions(s->rs);
	qw_set_filter(m, act->filter != NULL ? act->filter
					     : s->srv->content_filter);
	if (act->hold)
		qw_set_hold(m);
	s->waiting = 1;
	qw_finish(m, committed, s);
}

/* ---- commands ---- */

/* The mechanisms offered (sasl.h). */
#define AUTH_OFFER (SASL_OFFER_PLAIN | SASL_OFFER_LOGIN)

/* AUTH is offered: smtpd_sasl_auth_enable, and with smtpd_tls_auth_only
 * only once TLS is on (RFC 4954 section 4; Postfix hides it before). */
static int auth_offered(const struct session *s)
{
	return s->srv->sasl_enable && (!s->srv->tls_auth_only || s->tls.active);
}

static int do_ehlo(struct session *s, const struct smtp_cmd *c, int esmtp)
{
	char *old = s->helo;
	int old_esmtp = s->esmtp;

	s->helo = mem_strndup(c->arg.p, c->arg.n);
	s->esmtp = esmtp;
	/* smtpd_delay_reject = no: the helo restrictions decide here; a
	 * reject keeps the name given before, as Postfix */
	int r = check(s, RESTRICT_CMD_HELO, NULL, esmtp ? "EHLO" : "HELO");
	if (r != CHECK_OK) {
		mem_free(s->helo);
		s->helo = old;
		s->esmtp = old_esmtp;
		return r;
	}
	mem_free(old);
	txn_reset(s);
	if (!esmtp) {
		reply(s, "250 %s", s->srv->myhostname);
		return CHECK_OK;
	}
	reply(s, "250-%s", s->srv->myhostname);
	reply(s, "250-PIPELINING");
	if (s->srv->size_limit > 0)
		reply(s, "250-SIZE %llu",
		      (unsigned long long)s->srv->size_limit);
	else
		reply(s, "250-SIZE"); /* no limit: no number (RFC 1870) */
	if (!s->srv->vrfy_disabled)
		reply(s, "250-VRFY");
	reply(s, "250-ETRN");
	if (s->srv->tls != NULL && s->tc == NULL)
		reply(s, "250-STARTTLS");
	if (auth_offered(s) && !restrict_sasl_exempt(s->srv->rc, s->addr)) {
		const char *mechs = sasl_offer_list(AUTH_OFFER);
		reply(s, "250-AUTH %s", mechs);
		if (s->srv->sasl_broken_clients)
			reply(s, "250-AUTH=%s", mechs);
	}
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250-DSN");
	reply(s, "250-SMTPUTF8");
	reply(s, "250 CHUNKING");
	return CHECK_OK;
}

/* A rate limit (anvil.h) for this client's event: 0 to go on, or the
 * count past the limit (warned as Postfix: "Message delivery request
 * rate limit exceeded: 11 from name[addr] for service smtp"). Clients in
 * smtpd_client_event_limit_exceptions are not counted. */
static long rate_exceeded(struct session *s, enum anvil_event ev, long limit,
			  const char *what)
{
	if (limit <= 0 || restrict_limit_exempt(s->srv->rc, s->addr))
		return 0;
	long n = anvil_hit(s->srv->anvil, s->addr, ev, loop_clock_ms());
	if (n <= limit)
		return 0;
	struct buf b;
	buf_init(&b, 512);
	client_str(s, &b);
	msg_warn("%s rate limit exceeded: %ld from %s for service %s", what, n,
		 buf_str(&b), s->srv->service);
	buf_free(&b);
	return n;
}

static struct smtp_cmd_opts cmd_opts(struct session *s)
{
	struct smtp_cmd_opts o = {0};
	if (s->esmtp)
		o.ext = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
			SMTP_EXT_DSN; /* no BINARYMIME, as Postfix */
	if (s->esmtp && s->srv->sasl_enable)
		o.ext |= SMTP_EXT_AUTH;
	o.strict = s->srv->strict;
	o.smtputf8 = s->mailp.smtputf8;
	return o;
}

static int do_mail(struct session *s, const struct smtp_cmd *c)
{
	struct smtp_mail m;
	struct smtp_cmd_opts o = cmd_opts(s);
	int r;

	if (s->helo == NULL && s->srv->helo_required) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return -1;
	}
	if (s->srv->tls_level >= SMTPD_TLS_ENCRYPT && !s->tls.active) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return -1;
	}
	r = smtp_cmd_parse_mail(&m, c->arg.p, c->arg.n, &o);
	if (r < 0) {
		reply_smtp(s, smtp_cmd_reply(r, SMTP_VERB_MAIL), m.bad.p,
			   m.bad.n);
		return -1;
	}
	if (m.has_size && s->srv->size_limit && m.size > s->srv->size_limit) {
		static const char t[] = "552 5.3.4 Message size exceeds fixed "
					"limit";
		reply(s, "%s", t);
		log_reject(s, "MAIL", t, sizeof(t) - 1, NULL);
		return -1;
	}
	if (!s->rate_counted &&
	    rate_exceeded(s, ANVIL_MAIL, s->srv->msg_rate_limit,
			  "Message delivery request")) {
		reply(s, "450 4.7.1 Error: too much mail from %s", s->addr);
		return -1;
	}
	s->rate_counted = 1; /* once, not again when the check waits */
	s->sender = mem_strndup(m.path.addr.p, m.path.addr.n);
	/* AUTH= (RFC 4954 section 5): kept as sent for the log and the
	 * restrictions, as Postfix's smtpd_sasl_mail_opt(); "<>" means none */
	mem_free(s->sasl_sender);
	s->sasl_sender = NULL;
	if (m.auth.n > 0 && !(m.auth.n == 2 && memcmp(m.auth.p, "<>", 2) == 0))
		s->sasl_sender = mem_strndup(m.auth.p, m.auth.n);
	s->mailp = m; /* SIZE for the restrictions */
	int cr = check(s, RESTRICT_CMD_MAIL, NULL, "MAIL");
	if (cr != CHECK_OK) {
		mem_free(s->sender);
		s->sender = NULL;
		mem_free(s->sasl_sender);
		s->sasl_sender = NULL;
		memset(&s->mailp, 0, sizeof(s->mailp));
		return cr == CHECK_PENDING ? CHECK_PENDING : -1;
	}
	s->mailp = m;
	s->mailp.path.addr.p = NULL;
	s->envid = m.envid.n ? mem_strndup(m.envid.p, m.envid.n) : NULL;
	s->in_mail = 1;
	reply(s, "250 2.1.0 Ok");
	return 0;
}

static int do_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct smtp_rcpt r;
	struct smtp_cmd_opts o = cmd_opts(s);
	int e;

	if (!s->in_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return -1;
	}
	if ((long)s->nrcpt >= s->srv->rcpt_limit) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return -1;
	}
	e = smtp_cmd_parse_rcpt(&r, c->arg.p, c->arg.n, &o);
	if (e < 0) {
		reply_smtp(s, smtp_cmd_reply(e, SMTP_VERB_RCPT), r.bad.p,
			   r.bad.n);
		return -1;
	}
	if (!s->rate_counted &&
	    rate_exceeded(s, ANVIL_RCPT, s->srv->rcpt_rate_limit,
			  "Recipient address")) {
		reply(s, "450 4.7.1 Error: too many recipients from %s",
		      s->addr);
		return -1;
	}
	s->rate_counted = 1; /* once, not again when the check waits */
	char *addr = r.postmaster ? mem_strdup("postmaster")
				  : mem_strndup(r.path.addr.p, r.path.addr.n);
	int cr = check(s, RESTRICT_CMD_RCPT, addr, "RCPT");
	if (cr != CHECK_OK) {
		mem_free(addr);
		return cr == CHECK_PENDING ? CHECK_PENDING : -1;
	}
	if (msg_open(s) < 0) {
		mem_free(addr);
		return -1;
	}
	s->rcpt = mem_realloc(s->rcpt, (s->nrcpt + 1) * sizeof(*s->rcpt));
	s->owned =
		mem_realloc(s->owned, 2 * (s->nrcpt + 1) * sizeof(*s->owned));
	s->owned[2 * s->nrcpt] = addr;
	s->owned[2 * s->nrcpt + 1] = NULL;
	struct qfile_rcpt *q = &s->rcpt[s->nrcpt++];
	memset(q, 0, sizeof(*q));
	q->addr.p = addr;
	q->addr.len = strlen(addr);
	if (r.orcpt_type.n > 0) {
		struct buf b;
		buf_init(&b, SMTP_ORCPT_MAX + 64);
		buf_append(&b, r.orcpt_type.p, r.orcpt_type.n);
		buf_putc(&b, ';');
		buf_append(&b, r.orcpt.p, r.orcpt.n);
		s->owned[2 * s->nrcpt - 1] = mem_strndup(b.data, b.len);
		q->orcpt.p = s->owned[2 * s->nrcpt - 1];
		q->orcpt.len = b.len;
		buf_free(&b);
	}
	q->notify = r.notify;
	reply(s, "250 2.1.5 Ok");
	return 0;
}

/* DATA or the first BDAT: checks shared by both. 0 to go on. */
static int data_ok(struct session *s, const char *cmd)
{
	if (!s->in_mail) {
		reply(s, "503 5.5.1 Error: need RCPT command");
		return -1;
	}
	if (s->nrcpt == 0) {
		reply(s, "554 5.5.1 Error: no valid recipients");
		return -1;
	}
	int cr = check(s, RESTRICT_CMD_DATA, NULL, cmd);
	if (cr != CHECK_OK)
		return cr == CHECK_PENDING ? CHECK_PENDING : -1;
	return 0;
}

static int do_data(struct session *s)
{
	if (s->bdat_used) {
		reply(s, "503 5.5.1 Error: DATA after BDAT");
		return -1;
	}
	int r = data_ok(s, "DATA");
	if (r != 0)
		return r;
	s->mode = M_DATA;
	if (msg_start(s) < 0) {
		s->mode = M_CMD;
		return -1;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	return 0;
}

static int do_bdat(struct session *s, const struct smtp_cmd *c)
{
	uint64_t count;
	int last;
	int r = smtp_cmd_parse_bdat(&count, &last, c->arg.p, c->arg.n);

	if (r < 0) {
		reply_smtp(s, smtp_cmd_reply(r, SMTP_VERB_BDAT), NULL, 0);
		if (r == SMTP_CMD_ERR_SYNTAX)
			s->closing = 1;
		return -1;
	}
	if (!s->bdat_used) {
		int d = data_ok(s, "BDAT");
		if (d == CHECK_PENDING)
			return CHECK_PENDING;
		if (d < 0) {
			s->skip_left = count;
			s->mode = M_SKIP;
			return -1;
		}
		s->mode = M_BDAT;
		if (msg_start(s) < 0) {
			s->skip_left = count;
			s->mode = M_SKIP;
			return -1;
		}
		s->bdat_used = 1;
	}
	s->mode = M_BDAT;
	s->chunk_size = count;
	r = smtp_data_bdat_begin(&s->d, count, last);
	if (r == SMTP_DATA_DONE) {
		end_of_data(s);
	} else if (r == SMTP_DATA_CHUNK) {
		s->mode = M_CMD;
		s->cnt_ok[C_BDAT]++;
		reply(s, "250 2.0.0 Ok: %llu bytes", (unsigned long long)count);
	}
	return 0;
}

static int do_etrn(struct session *s, const struct smtp_cmd *c)
{
	char dom[256];
	const char *p = c->arg.p;
	size_t n = c->arg.n;

	if (s->helo == NULL) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return -1;
	}
	if (n > 0 && (*p == '@' || *p == '#'))
		p++, n--;
	if (n == 0 || n >= sizeof(dom) || memchr(p, ' ', n) != NULL) {
		reply(s, "501 5.5.4 Syntax: ETRN domain");
		return -1;
	}
	memcpy(dom, p, n);
	dom[n] = 0;
	str_lower(dom);
	struct restrict_ctx x;
	struct buf rb;
	rctx_fill(s, &x, NULL, "ETRN");
	x.etrn_domain = dom;
	buf_init(&rb, 4096);
	enum restrict_result rr = restrict_check(s->rs, RESTRICT_CMD_ETRN, &x,
						 &rb);
	if (rr == RESTRICT_PENDING) {
		buf_free(&rb);
		s->checking = 1;
		return CHECK_PENDING;
	}
	if (rr == RESTRICT_REJECT) {
		reply(s, "%s", buf_str(&rb));
		buf_free(&rb);
		return -1;
	}
	buf_free(&rb);
	if (!restrict_flush_domain(s->srv->rc, dom)) {
		reply(s, "458 4.1.0 Unable to queue messages");
		return -1;
	}
	char req[TRIGGER_MAX];
	snprintf(req, sizeof(req), "S %s", dom);
	int r = trigger_send(s->srv->queue_dir, req);
	if (r < 0 && r != -EAGAIN) {
		reply(s, "458 4.1.0 Unable to queue messages");
		return -1;
	}
	reply(s, "250 2.0.0 Queuing started");
	return 0;
}

static int act_ehlo(struct session *s, const struct smtp_cmd *c)
{
	int r = do_ehlo(s, c, c->verb == SMTP_VERB_EHLO);
	return r == CHECK_OK ? 0 : r == CHECK_PENDING ? CHECK_PENDING : -1;
}

static int act_mail(struct session *s, const struct smtp_cmd *c)
{
	return do_mail(s, c);
}

static int act_rcpt(struct session *s, const struct smtp_cmd *c)
{
	return do_rcpt(s, c);
}

static int act_data(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	int r = do_data(s);
	/* counted when the 250 comes */
	return r == 0 ? 1 : r == CHECK_PENDING ? CHECK_PENDING : -1;
}

static int act_bdat(struct session *s, const struct smtp_cmd *c)
{
	int r = do_bdat(s, c);
	/* counted per chunk reply */
	return r == 0 ? 1 : r == CHECK_PENDING ? CHECK_PENDING : -1;
}

static int act_rset(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	txn_reset(s);
	reply(s, "250 2.0.0 Ok");
	return 0;
}

static int act_noop(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	reply(s, "250 2.0.0 Ok");
	return 0;
}

static int act_quit(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	reply(s, "221 2.0.0 Bye");
	s->closing = 1;
	return 0;
}

/* As Postfix without address verification: 252, the argument echoed;
 * 502 with disable_vrfy_command. */
static int act_vrfy(struct session *s, const struct smtp_cmd *c)
{
	if (s->srv->vrfy_disabled) {
		reply(s, "502 5.5.1 VRFY command is disabled");
		return -1;
	}
	reply(s, "252 2.0.0 %.*s", (int)(c->arg.n > 256 ? 256 : c->arg.n),
	      c->arg.p);
	return 0;
}

static int act_etrn(struct session *s, const struct smtp_cmd *c)
{
	return do_etrn(s, c);
}

/* ---- AUTH (RFC 4954) ---- */

/* Forget the login (a later issue's STARTTLS must call this: RFC 3207
 * section 4.2 discards what was learned before the handshake). */
static void auth_reset(struct session *s)
{
	if (s->job != NULL)
		sasl_worker_cancel(s->srv->sasl, s->job);
	s->job = NULL;
	s->authing = 0;
	if (s->sasl != NULL) {
		sasl_server_reset(s->sasl);
		mem_free(s->sasl);
		s->sasl = NULL;
	}
	mem_free(s->sasl_username);
	s->sasl_username = NULL;
	s->sasl_method = NULL;
	if (s->mode == M_AUTH)
		s->mode = M_CMD;
}

/* Postfix's failure warning, which fail2ban's postfix-sasl filter reads:
 * "warning: name[addr]: SASL PLAIN authentication failed: REASON". */
static void auth_failed(struct session *s, const char *why)
{
	struct buf b, c;

	buf_init(&b, 512);
	buf_init(&c, 512);
	client_str(s, &c);
	/* Postfix 3.7 adds the login when it is known */
	if (s->sasl->user_len > 0) {
		buf_puts(&b, ", sasl_username=");
		log_escape(&b, s->sasl->user, s->sasl->user_len);
	}
	msg_warn("%s: SASL %s authentication failed: %s%s", buf_str(&c),
		 sasl_server_mech(s->sasl), why, buf_str(&b));
	buf_free(&b);
	buf_free(&c);
}

/* Act on a result of the SASL machine: 0 done or going on, -1 error. */
static int auth_result(struct session *s, int r);

static void auth_checked(void *arg, int result);

static void auth_done(struct session *s, int result)
{
	long before = s->errors;

	s->job = NULL;
	s->authing = 0;
	s->mode = M_CMD;
	if (result > 0) {
		s->sasl_username = mem_strndup(s->sasl->user, s->sasl->user_len);
		s->sasl_method = sasl_mech_name(s->sasl->mech);
		reply(s, "235 2.7.0 Authentication successful");
		s->cnt_ok[C_AUTH]++;
	} else if (result == 0) {
		auth_failed(s, "authentication failure");
		reply(s, "535 5.7.8 Error: authentication failed: "
			 "authentication failure");
	} else {
		auth_failed(s, "temporary failure");
		reply(s, "454 4.7.0 Temporary authentication failure: "
			 "user database unavailable");
	}
	sasl_server_reset(s->sasl);
	session_errors(s, before);
}

static void auth_checked(void *arg, int result)
{
	struct session *s = arg;

	auth_done(s, result);
	session_run(s);
}

static int auth_result(struct session *s, int r)
{
	const char *why;

	if (r == SASL_MORE) {
		s->mode = M_AUTH;
		reply(s, "334 %s", sasl_server_challenge(s->sasl));
		return 1; /* counted when the exchange ends */
	}
	s->mode = M_CMD;
	if (r == SASL_DONE) {
		s->job = sasl_worker_submit(s->srv->sasl, s->sasl->user,
					    s->sasl->pass, s->sasl->pass_len,
					    auth_checked, s);
		explicit_bzero(s->sasl->pass, sizeof(s->sasl->pass));
		if (s->job == NULL) {
			auth_done(s, -1);
			return -1;
		}
		s->authing = 1;
		return 1; /* counted when the check comes back */
	}
	const char *text = sasl_server_reply(s->sasl, r, &why);
	if (r == SASL_ERR_CANCEL) {
		struct buf b;
		buf_init(&b, 512);
		client_str(s, &b);
		msg_warn("%s: SASL %s authentication aborted", buf_str(&b),
			 sasl_server_mech(s->sasl));
		buf_free(&b);
	} else if (why != NULL)
		auth_failed(s, why);
	reply(s, "%s", text);
	sasl_server_reset(s->sasl);
	return -1;
}

/* The AUTH command, with Postfix's checks in Postfix's order. */
static int act_auth(struct session *s, const struct smtp_cmd *c)
{
	if (s->helo == NULL && s->srv->helo_required) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (!s->srv->sasl_enable) {
		reply(s, "503 5.5.1 Error: authentication not enabled");
		return -1;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return -1;
	}
	if (s->srv->tls_auth_only && !s->tls.active) {
		reply(s, "504 5.5.4 Encryption required for requested "
			 "authentication mechanism");
		return -1;
	}
	if (s->sasl_username != NULL) {
		reply(s, "503 5.5.1 Error: already authenticated");
		return -1;
	}
	if (rate_exceeded(s, ANVIL_AUTH, s->srv->auth_rate_limit,
			  "AUTH command")) {
		reply(s, "450 4.7.1 Error: too many AUTH commands from %s",
		      s->addr);
		return -1;
	}
	if (s->sasl == NULL) {
		s->sasl = mem_zalloc(sizeof(*s->sasl));
		sasl_server_init(s->sasl, AUTH_OFFER);
	}
	return auth_result(s, sasl_server_start(s->sasl, c->arg.p, c->arg.n));
}

/* A line in the middle of an AUTH exchange. */
static void auth_line(struct session *s, const char *line, size_t n)
{
	auth_result(s, sasl_server_step(s->sasl, line, n));
}

/* RFC 3207: 220, then the handshake once the reply is out; the session
 * starts over (no HELO, no transaction) on the encrypted channel. */
static int act_starttls(struct session *s, const struct smtp_cmd *c)
{
	if (s->srv->tls == NULL) {
		reply(s, "502 5.5.1 Error: command not implemented");
		return -1;
	}
	if (s->tc != NULL) {
		reply(s, "554 5.5.1 Error: TLS already active");
		return -1;
	}
	if (c->arg.n > 0) {
		reply(s, "501 5.5.4 Syntax: STARTTLS");
		return -1;
	}
	/* Postfix's starttls_cmd(): refused once the count of new sessions
	 * is over the limit; the session that goes over it is ended after
	 * its handshake (tls_established) */
	if (s->srv->newtls_rate_limit > 0 &&
	    !restrict_limit_exempt(s->srv->rc, s->addr) &&
	    anvil_peek(s->srv->anvil, s->addr, ANVIL_NEWTLS, loop_clock_ms()) >
		    s->srv->newtls_rate_limit) {
		struct buf b;
		buf_init(&b, 512);
		client_str(s, &b);
		msg_warn("Refusing STARTTLS request from %s for service %s",
			 buf_str(&b), s->srv->service);
		reply(s, "454 4.7.0 Error: too many new TLS sessions from %s",
		      buf_str(&b));
		buf_free(&b);
		return -1;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	s->tls_start = 1;
	return 0;
}

static void tls_begin(struct session *s)
{
	txn_reset(s);
	auth_reset(s); /* RFC 3207 4.2: forget what the client said */
	mem_free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	buf_reset(&s->in);
	if (s->srv->tls_loglevel >= 2)
		log_client(s, "%ssetting up TLS connection from %s", "");
	s->tc = tls_conn_new_server(s->srv->tls);
}

/* Postfix's line: "Anonymous TLS connection established from
 * name[addr]: TLSv1.2 with cipher NAME (bits/bits bits)". */
static void tls_established(struct session *s)
{
	struct tls_info i;

	tls_conn_info(s->tc, &i);
	s->tls.active = 1;
	snprintf(s->tls.proto, sizeof(s->tls.proto), "%s", i.proto);
	snprintf(s->tls.cipher, sizeof(s->tls.cipher), "%s", i.cipher);
	s->tls.bits = i.bits;
	snprintf(s->tls.ccert_fp, sizeof(s->tls.ccert_fp), "%s",
		 tls_conn_peer_fingerprint(s->tc));
	s->tls.ccert_trusted =
		s->tls.ccert_fp[0] && tls_conn_trust(s->tc) != TLS_UNTRUSTED;
	if (s->srv->tls_loglevel >= 2 && i.resumed)
		log_client(s, "%s%s: Reusing old session", "");
	long n = 0;
	if (!i.resumed && s->srv->newtls_rate_limit > 0 &&
	    !restrict_limit_exempt(s->srv->rc, s->addr))
		n = anvil_hit(s->srv->anvil, s->addr, ANVIL_NEWTLS,
			      loop_clock_ms());
	struct buf b;
	buf_init(&b, 1024);
	client_str(s, &b);
	/* Postfix: Trusted (the client certificate verified), Untrusted
	 * (one came, unverified), else Anonymous */
	if (s->srv->tls_loglevel >= 1)
		msg_info("%s TLS connection established from %s: %s "
			 "with cipher %s (%d/%d bits)",
			 s->tls.ccert_trusted ? "Trusted"
			 : s->tls.ccert_fp[0] ? "Untrusted"
					      : "Anonymous",
			 buf_str(&b), i.proto, i.cipher, i.bits, i.bits);
	if (s->srv->tls_loglevel >= 1 && s->tls.ccert_fp[0])
		msg_info("%s: client certificate SHA-256 fingerprint %s",
			 buf_str(&b), s->tls.ccert_fp);
	if (n > s->srv->newtls_rate_limit) {
		/* Postfix's smtpd_start_tls(): the handshake that goes over
		 * the limit ends the session */
		msg_warn("New TLS session rate limit exceeded: %ld from %s for "
			 "service %s",
			 n, buf_str(&b), s->srv->service);
		reply(s, "421 4.7.0 %s Error: too many new TLS sessions from %s",
		      s->srv->myhostname, buf_str(&b));
		s->closing = 1;
	}
	buf_free(&b);
}

static void tls_failed(struct session *s, int r)
{
	struct buf b;

	tls_server_stats(s->srv->tls)->failed++;
	buf_init(&b, 256);
	client_str(s, &b);
	/* an engine error stays even when the peer closed after our
	 * alert: it says more than "lost connection" */
	if (r == TLS_ERR_PROTO || tls_conn_error(s->tc) != 0)
		msg_info("SSL_accept error from %s: %s", buf_str(&b),
			 tls_error_text(tls_conn_error(s->tc)));
	else
		msg_info("SSL_accept error from %s: lost connection",
			 buf_str(&b));
	buf_free(&b);
	lost(s);
}

#define CMD_JUNK 1u /* counts toward smtpd_junk_command_limit */

/* The command table (Postfix's smtpd_cmd_table): the verb the parser
 * recognised, its counter in the disconnect line, what it does. Verbs
 * without a row (HELP, STARTTLS until it lands) are refused. */
static const struct cmd_row {
	enum smtp_verb verb;
	int k;
	int (*act)(struct session *s, const struct smtp_cmd *c);
	unsigned flags;
} cmd_table[] = {
	{SMTP_VERB_EHLO, C_EHLO, act_ehlo, 0},
	{SMTP_VERB_HELO, C_HELO, act_ehlo, 0},
	{SMTP_VERB_STARTTLS, C_STARTTLS, act_starttls, 0},
	{SMTP_VERB_AUTH, C_AUTH, act_auth, 0},
	{SMTP_VERB_MAIL, C_MAIL, act_mail, 0},
	{SMTP_VERB_RCPT, C_RCPT, act_rcpt, 0},
	{SMTP_VERB_DATA, C_DATA, act_data, 0},
	{SMTP_VERB_BDAT, C_BDAT, act_bdat, 0},
	{SMTP_VERB_RSET, C_RSET, act_rset, CMD_JUNK},
	{SMTP_VERB_NOOP, C_NOOP, act_noop, CMD_JUNK},
	{SMTP_VERB_QUIT, C_QUIT, act_quit, 0},
	{SMTP_VERB_VRFY, C_VRFY, act_vrfy, CMD_JUNK},
	{SMTP_VERB_ETRN, C_ETRN, act_etrn, CMD_JUNK},
};

/* Commands that may be sent ahead of their reply after EHLO (RFC 2920:
 * not EHLO, HELO, DATA, VRFY, ETRN, QUIT, NOOP). */
static int may_pipeline(const struct session *s, enum smtp_verb v)
{
	return s->esmtp && (v == SMTP_VERB_MAIL || v == SMTP_VERB_RCPT ||
			    v == SMTP_VERB_RSET || v == SMTP_VERB_BDAT);
}

/* One command line; more is what the client sent after it, unread.
 * Returns CHECK_PENDING when the command must run again on resume (it
 * said nothing and counted nothing). */
static int command(struct session *s, const char *line, size_t n,
		   const char *more, size_t nmore)
{
	struct smtp_cmd c;
	int r = smtp_cmd_parse(&c, line, n, s->srv->line_max);
	const struct cmd_row *row = NULL;

	if (r < 0 && r != SMTP_CMD_ERR_SYNTAX) {
		s->last = "UNKNOWN";
		s->cnt_all[C_UNKNOWN]++;
		reply_smtp(s, smtp_cmd_reply(r, c.verb), NULL, 0);
		return 0;
	}
	/* reject_unauth_pipelining: commands sent ahead where that is not
	 * allowed (logged once, as Postfix) */
	if (nmore > 0 && !s->ill_pipelining && !may_pipeline(s, c.verb) &&
	    !s->checking) {
		struct buf b;
		buf_init(&b, 1024);
		client_str(s, &b);
		buf_puts(&b, ": ");
		log_escape(&b, more, nmore > 100 ? 100 : nmore);
		msg_info("improper command pipelining after %s from %s",
			 smtp_verb_name(c.verb), buf_str(&b));
		buf_free(&b);
		s->ill_pipelining = 1;
	}
	s->last = smtp_verb_name(c.verb);
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(*cmd_table); i++)
		if (cmd_table[i].verb == c.verb)
			row = &cmd_table[i];
	int k = row != NULL ? row->k : C_UNKNOWN;
	long junk = s->junk, errors = s->errors;
	s->cnt_all[k]++;
	/* as Postfix: past smtpd_junk_command_limit, each of these counts
	 * as an error (slows down and ends sessions that only probe) */
	if (row != NULL && (row->flags & CMD_JUNK) &&
	    ++s->junk > s->srv->junk_limit)
		s->errors++;
	/* the client restrictions refused the connection (smtpd_delay_reject
	 * = no): only QUIT is served */
	if (s->rs != NULL && restrict_denied(s->rs) &&
	    c.verb != SMTP_VERB_QUIT) {
		struct buf b;
		buf_init(&b, 256);
		client_str(s, &b);
		reply(s, "503 5.7.0 Error: access denied for %s", buf_str(&b));
		buf_free(&b);
		if (c.verb == SMTP_VERB_BDAT)
			s->closing = 1;
		return 0;
	}
	if (r == SMTP_CMD_ERR_SYNTAX) {
		reply_smtp(s, smtp_cmd_reply(r, c.verb), NULL, 0);
		if (c.verb == SMTP_VERB_BDAT)
			s->closing = 1; /* its chunk cannot be skipped */
		return 0;
	}
	if (row == NULL) {
		reply(s, "502 5.5.1 Error: command not implemented");
		return 0;
	}
	int a = row->act(s, &c);
	if (a != CHECK_PENDING)
		s->rate_counted = 0;
	if (a == CHECK_PENDING) {
		s->cnt_all[k]--;
		s->junk = junk;
		s->errors = errors;
		return CHECK_PENDING;
	}
	if (a == 0)
		s->cnt_ok[k]++;
	return 0;
}

/* ---- I/O ---- */

static void log_disconnect(struct session *s)
{
	struct buf b;
	unsigned ok = 0, all = 0;

	buf_init(&b, 1024);
	buf_puts(&b, "disconnect from ");
	client_str(s, &b);
	for (int k = 0; k < C_N; k++) {
		if (s->cnt_all[k] == 0)
			continue;
		ok += s->cnt_ok[k];
		all += s->cnt_all[k];
		if (s->cnt_ok[k] == s->cnt_all[k])
			buf_printf(&b, " %s=%u", cname[k], s->cnt_all[k]);
		else
			buf_printf(&b, " %s=%u/%u", cname[k], s->cnt_ok[k],
				   s->cnt_all[k]);
	}
	if (ok == all)
		buf_printf(&b, " commands=%u", all);
	else
		buf_printf(&b, " commands=%u/%u", ok, all);
	msg_info("%s", buf_str(&b));
	buf_free(&b);
}

static void session_free(struct session *s)
{
	struct smtpd_server *srv = s->srv;

	if (s->waiting && s->msg != NULL)
		qw_detach(s->msg), s->msg = NULL;
	smtpd_peer_cancel(s->pl);
	s->pl = NULL;
	txn_reset(s);
	auth_reset(s);
	log_disconnect(s);
	loop_timer_cancel(srv->lp, &s->timer);
	loop_fd_del(srv->lp, s->fd, LOOP_ALL);
	close(s->fd);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->nsessions--;
	if (srv->on_end != NULL)
		srv->on_end(srv, s);
	restrict_sess_free(s->rs);
	mem_free(s->helo);
	tls_conn_free(s->tc);
	buf_cache_put(&srv->in_bufs, &s->in);
	buf_cache_put(&srv->out_bufs, &s->out);
	mem_free(s);
	if (srv->nsessions == 0) {
		/* quiet again: what the last burst needed goes back */
		buf_cache_trim(&srv->in_bufs, SESSION_BUFS_IDLE);
		buf_cache_trim(&srv->out_bufs, SESSION_BUFS_IDLE / 4);
		if (srv->qw != NULL)
			qwriter_trim(srv->qw);
		mem_trim();
	}
}

static void lost(struct session *s)
{
	struct buf b;

	buf_init(&b, 256);
	client_str(s, &b);
	if (s->mode == M_DATA || s->mode == M_BDAT)
		msg_info("lost connection after %s (%llu bytes) from %s",
			 s->last, (unsigned long long)s->d.size, buf_str(&b));
	else
		msg_info("lost connection after %s from %s",
			 s->last ? s->last : "CONNECT", buf_str(&b));
	buf_free(&b);
	session_free(s);
}

static void tls_begin(struct session *s);
static void tls_failed(struct session *s, int r);
static void tls_established(struct session *s);

/* One TLS I/O step (tls_conn_io()); the handshake may end in any of
 * them, so each one looks. 0, or -1 when the session is gone. */
static int tls_step(struct session *s, struct buf *in)
{
	int r = tls_conn_io(s->tc, s->fd, in, &s->out);

	if (!s->tls.active && tls_conn_ready(s->tc)) {
		tls_established(s);
		/* a reply it made (the new-session limit's 421) goes out
		 * now: the client only waits for it */
		if (r >= 0 && s->out.len > 0)
			r = tls_conn_io(s->tc, s->fd, NULL, &s->out);
	}
	if (r < 0) {
		if (!s->tls.active)
			tls_failed(s, r);
		else
			lost(s);
		return -1;
	}
	return 0;
}

/* Send what is buffered; 0, or -1 when the session is gone. */
static int flush_out(struct session *s)
{
	if (s->tc != NULL) {
		if (tls_step(s, NULL) < 0)
			return -1;
		if (s->out.len == 0 && s->closing &&
		    !(tls_conn_want(s->tc) & LOOP_WRITABLE)) {
			session_free(s);
			return -1;
		}
		return 0;
	}
	while (s->out.len > 0) {
		ssize_t w = write(s->fd, s->out.data, s->out.len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			lost(s);
			return -1;
		}
		buf_consume(&s->out, (size_t)w);
	}
	if (s->out.len == 0 && s->closing) {
		session_free(s);
		return -1;
	}
	if (s->out.len == 0 && s->tls_start) {
		s->tls_start = 0;
		tls_begin(s);
	}
	return 0;
}

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct session *s = arg;
	(void)lp, (void)t;

	if (s->sleeping) {
		s->sleeping = 0;
		session_run(s);
		return;
	}
	log_client(s, "timeout after %s from %s",
		   s->last ? s->last : "CONNECT");
	s->closing = 1;
	buf_reset(&s->out);
	if (s->tc != NULL && !tls_conn_ready(s->tc)) {
		tls_server_stats(s->srv->tls)->timeouts++;
	} else if (s->tc != NULL) {
		reply(s, "421 4.4.2 %s Error: timeout exceeded",
		      s->srv->myhostname);
		tls_conn_io(s->tc, s->fd, NULL, &s->out);
	} else {
		reply(s, "421 4.4.2 %s Error: timeout exceeded",
		      s->srv->myhostname);
		if (write(s->fd, s->out.data, s->out.len) < 0) {
			/* the client is gone anyway */
		}
	}
	session_free(s);
}

static void on_io(struct loop *lp, int fd, int ready, void *arg);

/* Whether the session takes more input now. */
static int reading(const struct session *s)
{
	return !s->waiting && !s->sleeping && !s->closing && !s->authing &&
	       !s->tls_start && !s->checking && s->greeted &&
	       s->out.len < OUT_PAUSE;
}

static void set_interest(struct session *s)
{
	int want = 0;

	if (s->tc != NULL) {
		/* the engine says what it waits for; reading application
		 * data waits while the session takes none (the handshake
		 * always reads) */
		want = tls_conn_want(s->tc);
		if (tls_conn_ready(s->tc) && !reading(s))
			want &= ~LOOP_READABLE;
	} else {
		if (s->out.len > 0)
			want |= LOOP_WRITABLE;
		if (reading(s))
			want |= LOOP_READABLE;
	}
	int have = loop_fd_mask(s->srv->lp, s->fd);
	if (have & ~want)
		loop_fd_del(s->srv->lp, s->fd, have & ~want);
	if (want & ~have)
		loop_fd_add(s->srv->lp, s->fd, want & ~have, on_io, s);
	if (s->checking || !s->greeted)
		loop_timer_cancel(s->srv->lp, &s->timer);
	if (s->waiting || s->sleeping || s->authing || s->checking ||
	    !s->greeted)
		return;
	loop_timer_set(s->srv->lp, &s->timer,
		       s->tc != NULL && !tls_conn_ready(s->tc)
			       ? s->srv->tls_timeout_ms
			       : s->srv->timeout_ms);
}

/* After a command (or an AUTH check) that may have added errors: the
 * hard limit ends the session, the soft one slows it down. */
static void session_errors(struct session *s, long before)
{
	if (s->errors > before && s->errors >= s->srv->hard_limit) {
		log_client(s, "too many errors after %s from %s",
			   s->last ? s->last : "CONNECT");
		reply(s, "421 4.7.0 %s Error: too many errors",
		      s->srv->myhostname);
		s->closing = 1;
	} else if (s->errors > before && s->errors > s->srv->soft_limit &&
		   s->srv->error_sleep_ms > 0) {
		s->sleeping = 1;
		loop_timer_set(s->srv->lp, &s->timer, s->srv->error_sleep_ms);
	}
}

/* Work through the input read so far. */
static void session_run(struct session *s)
{
again:;
	int paused = 0;
	/* replies wait while the client does not read them: no more
	 * commands until they drain (the writable event resumes here) */
	while (!s->closing && !s->waiting && !s->sleeping && !s->dead &&
	       !s->authing && !s->tls_start && !s->checking && s->greeted) {
		if (s->out.len >= OUT_PAUSE) {
			paused = 1;
			break;
		}
		size_t used = 0, len = 0;
		if (s->mode == M_SKIP) {
			if (s->in.len == 0)
				break;
			size_t k = s->in.len < s->skip_left
					   ? s->in.len
					   : (size_t)s->skip_left;
			buf_consume(&s->in, k);
			s->skip_left -= k;
			if (s->skip_left == 0)
				s->mode = M_CMD;
			continue;
		}
		if (s->mode == M_DATA || s->mode == M_BDAT) {
			if (s->in.len == 0)
				break;
			int r = smtp_data_push(&s->d, s->in.data, s->in.len,
					       &used);
			buf_consume(&s->in, used);
			if (r == SMTP_DATA_DONE)
				end_of_data(s);
			else if (r == SMTP_DATA_CHUNK) {
				s->mode = M_CMD;
				s->cnt_ok[C_BDAT]++;
				reply(s, "250 2.0.0 Ok: %llu bytes",
				      (unsigned long long)s->chunk_size);
			}
			continue;
		}
		if (s->drain && !s->in_mail) {
			reply(s, "421 4.3.2 %s Service shutting down",
			      s->srv->myhostname);
			s->closing = 1;
			break;
		}
		int r = smtp_line_next(&s->rd, s->in.data, s->in.len, &len,
				       &used);
		if (r == SMTP_LINE_MORE) {
			buf_consume(&s->in, used);
			break;
		}
		long before = s->errors;
		if (r == SMTP_LINE_OK && s->mode == M_AUTH) {
			auth_line(s, s->in.data, len);
		} else if (r == SMTP_LINE_OK) {
			if (command(s, s->in.data, len, s->in.data + used,
				    s->in.len - used) == CHECK_PENDING)
				break; /* the line stays: it runs again */
		} else if (r == SMTP_CMD_ERR_BARE_LF) {
			s->cnt_all[C_UNKNOWN]++;
			reply(s, "%d 5.5.2 Error: bare <LF> received",
			      s->srv->bare_code);
			if (s->srv->bare_code == 521)
				s->closing = 1;
		} else {
			s->cnt_all[C_UNKNOWN]++;
			reply_smtp(s, smtp_cmd_reply(r, SMTP_VERB_NONE), NULL,
				   0);
		}
		if (r != SMTP_LINE_OK && s->mode == M_AUTH) {
			/* an over-long or bad line ends the exchange */
			s->mode = M_CMD;
			if (s->sasl != NULL)
				sasl_server_reset(s->sasl);
		}
		buf_consume(&s->in, used);
		session_errors(s, before);
		if (s->tls_start) {
			/* RFC 3207 4.2 / CVE-2011-0411: nothing sent before
			 * the handshake counts after it */
			buf_reset(&s->in);
			break;
		}
	}
	if (flush_out(s) < 0)
		return;
	/* the client read them all at once: go on with the input held
	 * back, since no event would come for it */
	if (paused && s->out.len < OUT_PAUSE && s->in.len > 0)
		goto again;
	/* decrypted input the engine still holds raises no event either */
	if (s->tc != NULL && tls_conn_ready(s->tc) && reading(s) &&
	    s->in.len < s->in.max) {
		size_t before = s->in.len;
		if (tls_step(s, &s->in) < 0)
			return;
		if (s->in.len > before)
			goto again;
	}
	set_interest(s);
}

static void on_io(struct loop *lp, int fd, int ready, void *arg)
{
	struct session *s = arg;
	(void)lp;

	if (s->tc != NULL) {
		(void)fd; /* s->fd */
		if (tls_step(s, reading(s) ? &s->in : NULL) < 0)
			return;
		session_run(s);
		return;
	}
	if (ready & LOOP_READABLE) {
		/* at least READ_MIN, else what the block holds: a partial
		 * line left from the last read does not double it */
		size_t room = 0;
		char *p = s->in.len + READ_SIZE <= s->in.max
				  ? buf_space_all(&s->in, READ_MIN, &room)
				  : NULL;
		if (p != NULL) {
			ssize_t n = read(fd, p, room);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR)) {
				lost(s);
				return;
			}
			if (n > 0)
				buf_commit(&s->in, (size_t)n);
		}
	}
	session_run(s);
}

/* The banner, once the client restrictions (smtpd_delay_reject = no)
 * have decided; a reject takes the banner's place and later commands
 * but QUIT get 503, as Postfix. */
static void greet(struct session *s)
{
	int r = check(s, RESTRICT_CMD_CONNECT, NULL, "CONNECT");

	if (r == CHECK_PENDING)
		return;
	s->greeted = 1;
	if (r == CHECK_OK)
		reply(s, "220 %s", s->srv->banner);
}

/* The restrictions have what they waited for: run again what waits. */
static void resumed(void *arg)
{
	struct session *s = arg;

	s->checking = 0;
	if (!s->greeted)
		greet(s);
	else if (s->eod)
		eod_continue(s);
	session_run(s);
}

/* The client's name is known: "connect from name[addr]", then the TLS
 * wrapper handshake or the banner. */
static void connected(struct session *s)
{
	log_client(s, "%sconnect from %s", "");
	if (s->srv->tls != NULL && s->srv->tls_wrapper)
		tls_begin(s); /* the banner goes out once it is done */
	greet(s);
	session_run(s);
}

static void peer_done(void *arg)
{
	struct session *s = arg;

	s->pl = NULL;
	connected(s);
}

struct session *session_new(struct smtpd_server *srv, int fd, const char *addr,
			    const char *port)
{
	struct session *s = mem_zalloc(sizeof(*s));

	s->srv = srv;
	s->fd = fd;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	snprintf(s->port, sizeof(s->port), "%s", port);
	buf_cache_get(&srv->in_bufs, &s->in, IN_MAX);
	buf_cache_get(&srv->out_bufs, &s->out, OUT_MAX);
	s->bare = srv->bare == SMTP_BARE_REJECT &&
				  !restrict_bare_exempt(srv->rc, addr)
			  ? SMTP_BARE_REJECT
			  : SMTP_BARE_NORMALIZE;
	smtp_line_init(&s->rd, s->bare, srv->line_max);
	loop_timer_init(&s->timer, on_timer, s);
	s->next = srv->head;
	if (srv->head != NULL)
		srv->head->prev = s;
	srv->head = s;
	srv->nsessions++;
	s->rs = restrict_sess_new(srv->rc, resumed, s);
	if (srv->peername_lookup && srv->dns != NULL) {
		/* the banner waits for the client's name, as in Postfix */
		s->pl = smtpd_peer_lookup(srv->lp, srv->dns, s->addr, &s->peer,
					  peer_done, s);
		return s;
	}
	smtpd_peer_unknown(&s->peer, SMTPD_PEER_PERM);
	connected(s);
	return s;
}

const char *session_sasl_username(const struct session *s)
{
	return s->sasl_username;
}

const char *session_sasl_method(const struct session *s)
{
	return s->sasl_method;
}

struct session *session_next(const struct session *s)
{
	return s->next;
}

const char *session_addr(const struct session *s)
{
	return s->addr;
}

const struct session_tls_info *session_tls(const struct session *s)
{
	return &s->tls;
}

void session_drain(struct session *s)
{
	s->drain = 1;
	if (s->pl != NULL) {
		/* no banner yet: the name stays unknown */
		smtpd_peer_cancel(s->pl);
		s->pl = NULL;
	}
	if (!s->in_mail && !s->waiting && s->mode == M_CMD) {
		reply(s, "421 4.3.2 %s Service shutting down",
		      s->srv->myhostname);
		s->closing = 1;
		if (flush_out(s) < 0)
			return;
		set_interest(s);
	}
}

void session_abort(struct session *s)
{
	lost(s);
}

static char *conf_str(const char *name, const char *def)
{
	const char *v = conf_get(name);
	return mem_strdup(v != NULL && *v ? v : def);
}

void smtpd_server_config(struct smtpd_server *srv)
{
	/* a 16 KiB read and what is left of the last one fit */
	buf_cache_init(&srv->in_bufs, SESSION_BUF_KEEP, SESSION_BUFS_KEPT);
	buf_cache_init(&srv->out_bufs, SESSION_BUF_KEEP, SESSION_BUFS_KEPT / 4);
	srv->myhostname = conf_str("myhostname", "localhost");
	srv->banner = conf_str("smtpd_banner", "localhost ESMTP mailgw");
	srv->queue_dir = conf_str("queue_directory", "/var/spool/mailgw");
	srv->content_filter = conf_str("content_filter", "");
	srv->timeout_ms = (uint64_t)conf_get_time("smtpd_timeout") * 1000;
	if (srv->timeout_ms == 0)
		srv->timeout_ms = 300000;
	srv->rcpt_limit = conf_get_int("smtpd_recipient_limit");
	if (srv->rcpt_limit <= 0)
		srv->rcpt_limit = 1000;
	srv->soft_limit = conf_get_int("smtpd_soft_error_limit");
	srv->hard_limit = conf_get_int("smtpd_hard_error_limit");
	if (srv->hard_limit <= 0)
		srv->hard_limit = 20;
	srv->error_sleep_ms =
		(uint64_t)conf_get_time("smtpd_error_sleep_time") * 1000;
	long sz = conf_get_int("message_size_limit");
	srv->size_limit = sz > 0 ? (uint64_t)sz : 0;
	long ll = conf_get_int("line_length_limit");
	srv->line_max = ll > 0 ? (size_t)ll : SMTP_CMD_LINE_MAX;
	const char *b = conf_get("smtpd_forbid_bare_newline");
	/* Postfix 3.9: "yes" and "reject" reject, "normalize" and "no"
	 * normalise (a bare LF never passes raw into the queue file) */
	srv->bare =
		b != NULL && (strcmp(b, "yes") == 0 || strcmp(b, "reject") == 0)
			? SMTP_BARE_REJECT
			: SMTP_BARE_NORMALIZE;
	srv->bare_code =
		(int)conf_get_int("smtpd_forbid_bare_newline_reject_code");
	if (srv->bare_code < 400 || srv->bare_code > 599)
		srv->bare_code = 550;
	srv->vrfy_disabled = conf_get_bool("disable_vrfy_command") > 0;
	srv->helo_required = conf_get_bool("smtpd_helo_required") > 0;
	srv->junk_limit = conf_get_int("smtpd_junk_command_limit");
	if (srv->junk_limit <= 0)
		srv->junk_limit = 100;
	srv->delay_reject = conf_get_bool("smtpd_delay_reject") != 0;
	srv->peername_lookup = conf_get_bool("smtpd_peername_lookup") != 0;
	srv->strict = conf_get_bool("strict_rfc821_envelopes") > 0;
	srv->rc = restrict_new();
	srv->sasl_enable = conf_get_bool("smtpd_sasl_auth_enable") > 0;
	srv->tls_auth_only = conf_get_bool("smtpd_tls_auth_only") > 0;
	srv->sasl_broken_clients =
		conf_get_bool("broken_sasl_auth_clients") > 0;
	srv->sasl_auth_header =
		conf_get_bool("smtpd_sasl_authenticated_header") > 0;
	srv->auth_rate_limit = conf_get_int("smtpd_client_auth_rate_limit");
	srv->msg_rate_limit = conf_get_int("smtpd_client_message_rate_limit");
	srv->rcpt_rate_limit =
		conf_get_int("smtpd_client_recipient_rate_limit");
	srv->newtls_rate_limit =
		conf_get_int("smtpd_client_new_tls_session_rate_limit");
	srv->rate_unit_ms =
		(uint64_t)conf_get_time("anvil_rate_time_unit") * 1000;
	if (srv->rate_unit_ms == 0)
		srv->rate_unit_ms = 60000;
	srv->anvil = anvil_new(srv->rate_unit_ms);
	if (srv->service == NULL)
		srv->service = mem_strdup("smtp");
	if (srv->sasl_enable) {
		struct buf spec;
		buf_init(&spec, 4096);
		const char *db = conf_get("sasl_user_database");
		buf_printf(&spec, "lmdb:%s", db != NULL ? db : "");
		srv->sasl = sasl_worker_new(srv->lp, buf_str(&spec));
		buf_free(&spec);
	}
	struct dns_conf dc;
	int r = dns_conf_load(conf_get("dns_resolv_conf"), &dc);
	if (r < 0)
		msg_warn("%s: %s", conf_get("dns_resolv_conf"), strerror(-r));
	srv->dns = dns_resolver_new(srv->lp, &dc, NULL);
	srv->pol = policy_pool_new(srv->lp);
	restrict_set_env(srv->rc, srv->lp, srv->dns, srv->pol);
}

void smtpd_server_free(struct smtpd_server *srv)
{
	if (srv->tls != NULL) {
		const struct tls_server_stats *st = tls_server_stats(srv->tls);
		if (st->handshakes + st->failed + st->timeouts > 0)
			msg_info("TLS handshakes: %lu completed (%lu resumed), "
				 "%lu failed, %lu timed out",
				 st->handshakes, st->resumed, st->failed,
				 st->timeouts);
		tls_server_free(srv->tls);
		srv->tls = NULL;
		tls_client_free(srv->ccert_cas);
		srv->ccert_cas = NULL;
	}
	if (srv->keys_fd > 0)
		close(srv->keys_fd);
	srv->keys_fd = -1;
	restrict_free(srv->rc);
	sasl_worker_free(srv->sasl);
	anvil_free(srv->anvil);
	mem_free(srv->service);
	policy_pool_free(srv->pol);
	dns_resolver_free(srv->dns);
	buf_cache_free(&srv->in_bufs);
	buf_cache_free(&srv->out_bufs);
	mem_free(srv->myhostname);
	mem_free(srv->banner);
	mem_free(srv->queue_dir);
	mem_free(srv->content_filter);
}
