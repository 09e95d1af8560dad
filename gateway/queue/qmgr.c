/* qmgr - the queue manager (see qmgr.h). */
#include "queue/qmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/params.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "deliver/deliver.h"
#include "deliver/local.h"
#include "dns/resolv.h"
#include "master/service.h"
#include "queue/bounce.h"
#include "queue/layout.h"
#include "queue/pickup.h"
#include "queue/spool.h"
#include "queue/trigger.h"

/* ---- pure helpers ---- */

int64_t qmgr_backoff(unsigned attempts, int64_t min, int64_t max)
{
	int64_t d = min > 0 ? min : 1;
	for (unsigned i = 1; i < attempts && d < max; i++)
		d *= 2;
	return d > max ? max : d;
}

int qmgr_expired(int64_t age, int null_sender, int64_t lifetime,
		 int64_t bounce_lifetime)
{
	int64_t lim = null_sender ? bounce_lifetime : lifetime;
	return age >= lim;
}

int qmgr_notify_wanted(unsigned notify, unsigned kind)
{
	if (notify & QFILE_NOTIFY_NEVER)
		return 0;
	if (notify == 0)
		return kind != QFILE_NOTIFY_SUCCESS;
	return (notify & kind) != 0;
}

int qmgr_rcpt_in_domain(const char *addr, size_t len, const char *domain)
{
	size_t dl = strlen(domain);
	const char *at = NULL;
	for (size_t i = len; i > 0; i--)
		if (addr[i - 1] == '@') {
			at = addr + i;
			break;
		}
	if (!at)
		return 0;
	size_t n = len - (size_t)(at - addr);
	return n == dl && strncasecmp(at, domain, dl) == 0;
}

/* ---- state ---- */

struct qmsg;

struct qjob {
	struct deliver_job job;
	struct qmsg *msg;
	size_t *rcpt;
	struct qjob *next;      /* in msg's job list */
	struct qjob *wait_next; /* in the wait queue */
	int started;
	size_t dest_slot; /* index into Q.dests (it may move, indexes stay) */
	long dest_limit;  /* the transport's destination concurrency limit */
	char dest[TRANSPORT_NAME_MAX + ROUTE_HOST_MAX + 16];
};

struct qmsg {
	char qid[QID_SIZE];
	int fd;
	const void *map;
	size_t maplen;
	struct qfile_msg m;
	int parsed;
	double active_at;
	size_t running; /* jobs not yet done */
	int unsynced;   /* outcome records written but not yet fdatasynced */
	int hold;       /* a recipient routed to hold: */
	struct qjob *jobs;
	struct qmsg *prev, *next;
};

struct dest_count {
	char key[TRANSPORT_NAME_MAX + ROUTE_HOST_MAX + 16];
	unsigned n;
};

/* Queue file bytes held in memory by the active queue before new mail
 * waits in incoming/: Postfix's active queue holds envelopes only, ours
 * the files (content read or mapped), so a backlog of large messages is
 * bounded by bytes as well as by qmgr_message_active_limit. Enough for
 * every delivery slot even with 1 MiB messages. */
#define QMGR_ACTIVE_BYTES (16 * 1024 * 1024)

static struct {
	struct loop *lp;
	struct spool sp;
	struct smtp_client *smtp;
	struct local_agent *local; /* mydestination: aliases, then mbox */
	struct qmsg *msgs;
	size_t nmsgs;
	struct qjob *wait_head, *wait_tail;
	struct dest_count *dests;
	size_t ndests;
	struct tp_count {
		const struct transport *tp;
		unsigned n;
	} tps[32];
	size_t ntps;
	int fifo;
	struct buf fifo_in;
	struct loop_timer scan_timer, drain_timer;
	struct loop_timer rmsync_timer; /* group sync of removals */
	int stopping;
	int want_rescan;
	int scan_full;       /* a scan stopped at a limit: rescan on a free */
	long active_limit;
	size_t loaded_bytes; /* queue files held in memory (maps, reads) */
	unsigned drain_ms;
} Q;

static struct transport qmgr_tp = {.name = "qmgr"};

static int64_t now_sec(void)
{
	return (int64_t)time(NULL);
}

/* ---- concurrency ---- */

/* The slot of a destination in Q.dests, made on first use. Jobs keep the
 * index, so pump() does not search (nor format, nor look up parameters)
 * per waiting job: with thousands of jobs waiting that was most of
 * qmgr's CPU. */
static size_t dest_slot(const char *key)
{
	for (size_t i = 0; i < Q.ndests; i++)
		if (strcmp(Q.dests[i].key, key) == 0)
			return i;
	Q.dests = mem_realloc(Q.dests, (Q.ndests + 1) * sizeof *Q.dests);
	struct dest_count *d = &Q.dests[Q.ndests];
	snprintf(d->key, sizeof d->key, "%s", key);
	d->n = 0;
	return Q.ndests++;
}

static unsigned *tp_count(const struct transport *tp)
{
	for (size_t i = 0; i < Q.ntps; i++)
		if (Q.tps[i].tp == tp)
			return &Q.tps[i].n;
	if (Q.ntps < sizeof Q.tps / sizeof Q.tps[0]) {
		Q.tps[Q.ntps].tp = tp;
		Q.tps[Q.ntps].n = 0;
		return &Q.tps[Q.ntps++].n;
	}
	return &Q.tps[0].n;
}

static long dest_limit(const struct transport *tp)
{
	char name[TRANSPORT_NAME_MAX + 40];
	snprintf(name, sizeof name, "%s_destination_concurrency_limit",
		 tp->name);
	const char *v = transport_get(tp, name);
	long n = v && *v ? strtol(v, NULL, 10) : 0;
	if (n <= 0)
		n = conf_get_int("default_destination_concurrency_limit");
	return n > 0 ? n : 20;
}

/* ---- messages ---- */

static void msg_unmap(struct qmsg *qm)
{
	if (qm->parsed)
		qfile_msg_free(&qm->m);
	qm->parsed = 0;
	if (qm->map) {
		spool_unmap(qm->map, qm->maplen);
		Q.loaded_bytes -= qm->maplen;
	}
	qm->map = NULL;
	qm->maplen = 0;
}

/* Map and parse the file; 0 or a QFILE_ERR_* / -errno. */
static int msg_load(struct qmsg *qm)
{
	msg_unmap(qm);
	int rc = spool_map(qm->fd, &qm->map, &qm->maplen);
	if (rc < 0)
		return rc;
	Q.loaded_bytes += qm->maplen;
	rc = qfile_parse(&qm->m, qm->map, qm->maplen);
	if (rc < 0)
		return rc;
	qm->parsed = 1;
	return 0;
}

static void msg_free(struct qmsg *qm)
{
	msg_unmap(qm);
	if (qm->fd >= 0)
		close(qm->fd);
	while (qm->jobs) {
		struct qjob *j = qm->jobs;
		qm->jobs = j->next;
		mem_free(j->rcpt);
		mem_free(j);
	}
	if (qm->prev)
		qm->prev->next = qm->next;
	else
		Q.msgs = qm->next;
	if (qm->next)
		qm->next->prev = qm->prev;
	Q.nmsgs--;
	mem_free(qm);
	if (Q.scan_full) {
		/* room again: the scan that stopped goes on */
		Q.scan_full = 0;
		Q.want_rescan = 1;
	}
}

static int msg_known(const char *qid)
{
	for (struct qmsg *qm = Q.msgs; qm; qm = qm->next)
		if (strcmp(qm->qid, qid) == 0)
			return 1;
	return 0;
}

/* Records that something acts on at once (retry time, hold, reported):
 * written and fdatasynced, which also makes every earlier record of the
 * file durable. */
static int append_rec(struct qmsg *qm, struct buf *b)
{
	int rc = spool_append(qm->fd, b->data, b->len);
	if (rc < 0)
		msg_warn("%s: cannot update queue file: %s", qm->qid,
			 strerror(-rc));
	else
		qm->unsynced = 0;
	buf_reset(b);
	return rc;
}

/* A recipient's outcome, as the agent reports it: written now, synced
 * later (msg_sync() or the next append_rec()), before anything acts on it.
 * A crash of qmgr cannot lose it (page cache); a crash of the machine
 * before the sync can, and then the recipient is tried again: a possible
 * duplicate, never a loss. This takes an fdatasync per delivery off the
 * loop, where it stalled every other delivery. */
static void append_outcome(struct qmsg *qm, struct buf *b)
{
	int rc = spool_append_nosync(qm->fd, b->data, b->len);
	if (rc < 0)
		msg_warn("%s: cannot update queue file: %s", qm->qid,
			 strerror(-rc));
	else
		qm->unsynced = 1;
	buf_reset(b);
}

/* Make the outcome records durable before acting on them (a DSN). */
static int msg_sync(struct qmsg *qm)
{
	if (!qm->unsynced)
		return 0;
	int rc = spool_sync_message(qm->fd);
	if (rc < 0)
		msg_warn("%s: cannot sync queue file: %s", qm->qid,
			 strerror(-rc));
	else
		qm->unsynced = 0;
	return rc;
}

/* Removals of delivered messages are made durable together: one fsync of
 * active/ QMGR_RMSYNC_MS after the first unsynced one covers every unlink
 * before it. Until then a crash of the machine can bring a delivered
 * message back, which is delivered again (a duplicate, as a crash between
 * the next hop's 250 and any sync would make); a crash of qmgr cannot,
 * since its outcome records are in the file. */
#define QMGR_RMSYNC_MS 50

static void on_rmsync(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)lp;
	(void)t;
	(void)arg;
	int rc = spool_sync_queue(&Q.sp, SPOOL_ACTIVE);
	if (rc < 0)
		msg_warn("cannot sync %s: %s", spool_queue_name(SPOOL_ACTIVE),
			 strerror(-rc));
}

static void log_sender(struct buf *b, const struct qfile_msg *m)
{
	log_escape(b, m->sender.p ? m->sender.p : "", m->sender.len);
}

static void corrupt(const char *qid, enum spool_queue from, const char *why)
{
	msg_warn("%s: corrupt queue file: %s; moved to corrupt", qid, why);
	if (spool_move(&Q.sp, qid, from, SPOOL_CORRUPT, 0) < 0)
		msg_warn("%s: cannot move to corrupt: %s", qid,
			 strerror(errno));
}

/* notify_class - whether notify_classes names cls. */
static int notify_class(const char *cls)
{
	const char *cur = conf_get("notify_classes"), *tok;
	size_t len, n = strlen(cls);

	while (cur && conf_list_next(&cur, &tok, &len) > 0)
		if (len == n && strncasecmp(tok, cls, n) == 0)
			return 1;
	return 0;
}

/* Queue the DSNs owed for a finished (or deferred, for delay) message. */
static int send_dsn(struct qmsg *qm, enum bounce_kind kind)
{
	const struct qfile_msg *m = &qm->m;
	unsigned char *which = mem_zalloc(m->nrcpt ? m->nrcpt : 1);
	size_t n = 0;
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct qfile_rcpt *r = &m->rcpt[i];
		int want = 0;
		if (kind == BOUNCE_FAILED)
			want = r->state == QFILE_RCPT_BOUNCED &&
			       qmgr_notify_wanted(r->notify,
						  QFILE_NOTIFY_FAILURE);
		else if (kind == BOUNCE_DELIVERED)
			/* not "passed": that next hop owes the notice */
			want = r->state == QFILE_RCPT_SENT &&
			       qmgr_notify_wanted(r->notify,
						  QFILE_NOTIFY_SUCCESS);
		else
			want = r->state == QFILE_RCPT_TODO &&
			       qmgr_notify_wanted(r->notify,
						  QFILE_NOTIFY_DELAY);
		which[i] = (unsigned char)want;
		n += (size_t)want;
	}
	if (n == 0) {
		mem_free(which);
		return 0;
	}
	/* The notice acts on the outcome records: they come first, so that
	 * a crash never makes a second notice for the same recipients. */
	if (msg_sync(qm) < 0) {
		mem_free(which);
		return -1;
	}
	char to[QFILE_VALUE_MAX + 1];
	char dbl[300];
	const char *from = NULL;
	const char *host = conf_get("myhostname");
	if (!host)
		host = "localhost";
	const char *origin = conf_get("myorigin");
	snprintf(dbl, sizeof dbl, "double-bounce@%s",
		 origin && *origin ? origin : host);
	if (m->sender.len == 0 ||
	    (m->sender.len == strlen(dbl) &&
	     strncasecmp(m->sender.p, dbl, m->sender.len) == 0)) {
		/* Never a notification about a notification: a failed bounce
		 * goes to the postmaster once, a failed double bounce is
		 * dropped. */
		if (kind != BOUNCE_FAILED || m->sender.len != 0) {
			if (kind == BOUNCE_FAILED)
				msg_warn("%s: undeliverable postmaster "
					 "notification discarded",
					 qm->qid);
			mem_free(which);
			return 0;
		}
		/* The postmaster hears of it only with "2bounce" in
		 * notify_classes (not by default, as Postfix). */
		if (!notify_class("2bounce")) {
			mem_free(which);
			return 0;
		}
		const char *pm = conf_get("2bounce_notice_recipient");
		from = dbl;
		/* An unqualified name gets @myorigin, as Postfix's
		 * append_at_myorigin. */
		pm = pm && *pm ? pm : "postmaster";
		if (strchr(pm, '@') == NULL)
			snprintf(to, sizeof to, "%s@%s", pm,
				 origin && *origin ? origin : host);
		else
			snprintf(to, sizeof to, "%s", pm);
	} else {
		memcpy(to, m->sender.p, m->sender.len);
		to[m->sender.len] = 0;
	}
	struct bounce_info bi = {0};
	bi.kind = kind;
	bi.qid = qm->qid;
	bi.hostname = host;
	const char *mn = conf_get("mail_name");
	bi.mail_name = mn ? mn : "mailgw";
	bi.to = to;
	bi.from = from;
	bi.now = now_sec();
	long lim = conf_get_int("bounce_size_limit");
	bi.size_limit = lim > 0 ? (size_t)lim : 50000;
	bi.delay_warning = conf_get_time("delay_warning_time");
	bi.queue_lifetime = conf_get_time("maximal_queue_lifetime");
	bi.which = which;
	if (bounce_send(&Q.sp, &bi, m, qm->map) == 0)
		Q.want_rescan = 1; /* deliver the notice soon */
	mem_free(which);
	return 0;
}

static void msg_finish(struct qmsg *qm);

/* Every job of qm has run: record, then remove or defer. */
static void msg_finish(struct qmsg *qm)
{
	int rc = msg_load(qm);
	if (rc < 0) {
		msg_warn("%s: cannot re-read queue file: %s", qm->qid,
			 rc < 0 && rc >= QFILE_ERR_FULL ? qfile_strerror(rc)
							: strerror(-rc));
		msg_free(qm); /* left in active/ for the next start */
		return;
	}
	struct qfile_msg *m = &qm->m;
	struct buf rec;
	buf_init(&rec, 2 * QFILE_VALUE_MAX);
	int64_t now = now_sec();
	if (m->nrcpt_todo > 0 && qm->hold) {
		qfile_format_hold(&rec, 1);
		if (append_rec(qm, &rec) == 0)
			spool_move(&Q.sp, qm->qid, SPOOL_ACTIVE, SPOOL_HOLD, 0);
		buf_free(&rec);
		msg_free(qm);
		return;
	}
	if (m->nrcpt_todo > 0 && !Q.stopping &&
	    qmgr_expired(now - m->arrival_sec, m->sender.len == 0,
			 conf_get_time("maximal_queue_lifetime"),
			 conf_get_time("bounce_queue_lifetime"))) {
		for (size_t i = 0; i < m->nrcpt; i++) {
			const struct qfile_rcpt *r = &m->rcpt[i];
			if (r->state != QFILE_RCPT_TODO)
				continue;
			char text[QFILE_TEXT_MAX];
			int tl = snprintf(
				text, sizeof text, "message expired%s%.*s",
				r->text.len ? ": " : "",
				(int)(r->text.len < 4000 ? r->text.len : 4000),
				r->text.p ? r->text.p : "");
			qfile_format_done(&rec, i, QFILE_RCPT_BOUNCED, "4.4.7",
					  text, (size_t)tl);
		}
		if (append_rec(qm, &rec) < 0) {
			buf_free(&rec);
			msg_free(qm);
			return;
		}
		struct buf l;
		buf_init(&l, 4 * QFILE_VALUE_MAX);
		log_sender(&l, m);
		msg_info("%s: from=<%s>, status=expired, returned to sender",
			 qm->qid, buf_str(&l));
		buf_free(&l);
		if (msg_load(qm) < 0) {
			buf_free(&rec);
			msg_free(qm);
			return;
		}
		m = &qm->m;
	}
	if (m->nrcpt_todo > 0) {
		int64_t dwt = conf_get_time("delay_warning_time");
		/* Failed recipients are reported now, not when the deferred
		 * ones are done (Postfix does the same); "reported" records
		 * keep them from being reported twice. */
		int bounced = 0;
		for (size_t i = 0; i < m->nrcpt; i++)
			bounced |= m->rcpt[i].state == QFILE_RCPT_BOUNCED;
		if (bounced && send_dsn(qm, BOUNCE_FAILED) < 0) {
			/* Left in active/ for the next start, as above. */
			buf_free(&rec);
			msg_free(qm);
			return;
		}
		if (bounced) {
			for (size_t i = 0; i < m->nrcpt; i++) {
				const struct qfile_rcpt *r = &m->rcpt[i];
				char d[16];

				if (r->state != QFILE_RCPT_BOUNCED)
					continue;
				snprintf(d, sizeof d, "%.*s",
					 (int)(r->dsn.len < 15 ? r->dsn.len
							       : 15),
					 r->dsn.p ? r->dsn.p : "5.0.0");
				qfile_format_done(&rec, i, QFILE_RCPT_REPORTED,
						  d, r->text.p, r->text.len);
			}
		}
		if (dwt > 0 && !m->warned && now - m->arrival_sec >= dwt &&
		    m->sender.len > 0) {
			(void)send_dsn(qm, BOUNCE_DELAYED);
			qfile_format_warned(&rec, now);
		}
		unsigned att = m->attempts + 1;
		qfile_format_retry(
			&rec,
			now + qmgr_backoff(
				      att,
				      conf_get_time("minimal_backoff_time"),
				      conf_get_time("maximal_backoff_time")),
			att);
		if (append_rec(qm, &rec) == 0)
			spool_move(&Q.sp, qm->qid, SPOOL_ACTIVE, SPOOL_DEFERRED,
				   0);
		buf_free(&rec);
		msg_free(qm);
		return;
	}
	buf_free(&rec);
	if (send_dsn(qm, BOUNCE_FAILED) < 0 ||
	    send_dsn(qm, BOUNCE_DELIVERED) < 0) {
		msg_free(qm); /* left in active/ for the next start */
		return;
	}
	rc = spool_remove(&Q.sp, SPOOL_ACTIVE, qm->qid);
	if (rc < 0)
		msg_warn("%s: cannot remove: %s", qm->qid, strerror(-rc));
	else
		msg_info("%s: removed", qm->qid);
	if (rc == 0 && !loop_timer_pending(&Q.rmsync_timer))
		loop_timer_set(Q.lp, &Q.rmsync_timer, QMGR_RMSYNC_MS);
	msg_free(qm);
	/* No rescan of incoming/ here: new files come with a trigger, and a
	 * scan that stopped at a limit asks for the next one when a message
	 * is freed (msg_free). A rescan per finished message was about half
	 * of qmgr's system calls at one session. */
}

/* ---- jobs ---- */

static void job_rcpt_done(struct deliver_job *job, size_t i,
			  enum deliver_status st, const char *dsn,
			  const char *text)
{
	struct qjob *j = job->arg;
	struct buf rec;
	buf_init(&rec, 2 * QFILE_VALUE_MAX);
	size_t idx = job->rcpt[i];
	const char *d = dsn ? dsn : (st == DELIVER_SENT ? "2.0.0" : "4.0.0");
	const char *t = text ? text : "";
	if (st == DELIVER_SENT)
		qfile_format_done(&rec, idx,
				  job->next_hop_dsn ? QFILE_RCPT_PASSED
						    : QFILE_RCPT_SENT,
				  d, t, strlen(t));
	else if (st == DELIVER_BOUNCE)
		qfile_format_done(&rec, idx, QFILE_RCPT_BOUNCED, d, t,
				  strlen(t));
	else
		qfile_format_defer(&rec, idx, d, t, strlen(t));
	append_outcome(j->msg, &rec);
	buf_free(&rec);
}

static void pump(void);

/* Deliveries in progress in every agent. */
static size_t agents_busy(void)
{
	return smtp_client_busy(Q.smtp) + local_agent_busy(Q.local);
}

static void job_done(struct deliver_job *job)
{
	struct qjob *j = job->arg;
	struct qmsg *qm = j->msg;
	if (j->started) {
		struct dest_count *d = &Q.dests[j->dest_slot];
		if (d->n)
			d->n--;
		unsigned *tc = tp_count(job->route.tp);
		if (*tc)
			(*tc)--;
	}
	if (--qm->running == 0)
		msg_finish(qm);
	if (Q.stopping && agents_busy() == 0)
		loop_stop(Q.lp);
	pump();
}

/* The built-in error and discard transports: done at once. */
static void job_builtin(struct qjob *j)
{
	struct deliver_job *job = &j->job;
	double start = deliver_now();
	for (size_t i = 0; i < job->nrcpt; i++) {
		if (job->route.tp->kind == TRANSPORT_DISCARD) {
			const char *t = job->route.text[0] ? job->route.text
							   : "discarded";
			struct buf rec;
			buf_init(&rec, 2 * QFILE_VALUE_MAX);
			qfile_format_done(&rec, job->rcpt[i],
					  QFILE_RCPT_DISCARDED, "2.0.0", t,
					  strlen(t));
			append_outcome(j->msg, &rec);
			buf_free(&rec);
			deliver_log(job, i, "none", start, 0, DELIVER_SENT,
				    "2.0.0", t);
		} else {
			const char *t = job->route.text[0] ? job->route.text
							   : "mail delivery "
							     "disabled";
			char dsn[16] = "5.0.0";
			/* "5.x.y text": the status comes from the text. */
			if (t[0] == '5' && t[1] == '.' && strchr(t, ' ') &&
			    strchr(t, ' ') - t < 10) {
				snprintf(dsn, sizeof dsn, "%.*s",
					 (int)(strchr(t, ' ') - t), t);
				t = strchr(t, ' ') + 1;
			}
			job_rcpt_done(job, i, DELIVER_BOUNCE, dsn, t);
			deliver_log(job, i, "none", start, 0, DELIVER_BOUNCE,
				    dsn, t);
		}
	}
}

static void wait_push(struct qjob *j)
{
	j->wait_next = NULL;
	if (Q.wait_tail)
		Q.wait_tail->wait_next = j;
	else
		Q.wait_head = j;
	Q.wait_tail = j;
}

/* Start waiting jobs as the limits allow. */
static void pump(void)
{
	static int busy;
	if (busy || Q.stopping)
		return;
	busy = 1;
	struct qjob **pp = &Q.wait_head, *prev = NULL;
	while (*pp) {
		struct qjob *j = *pp;
		struct dest_count *d = &Q.dests[j->dest_slot];
		unsigned *tc = tp_count(j->job.route.tp);
		unsigned maxproc = j->job.route.tp->maxproc;
		if ((long)d->n >= j->dest_limit ||
		    (maxproc && *tc >= maxproc)) {
			prev = j;
			pp = &j->wait_next;
			continue;
		}
		*pp = j->wait_next;
		if (Q.wait_tail == j)
			Q.wait_tail = prev;
		j->started = 1;
		d->n++;
		(*tc)++;
		int rc = j->job.route.tp->kind == TRANSPORT_LOCAL
				 ? local_agent_deliver(Q.local, &j->job)
				 : smtp_client_deliver(Q.smtp, &j->job);
		if (rc < 0) {
			for (size_t i = 0; i < j->job.nrcpt; i++) {
				job_rcpt_done(&j->job, i, DELIVER_DEFER,
					      "4.3.0",
					      "mail transport unavailable");
				deliver_log(&j->job, i, "none", deliver_now(),
					    0, DELIVER_DEFER, "4.3.0",
					    "mail transport unavailable");
			}
			job_done(&j->job);
		}
	}
	busy = 0;
}

static struct qjob *job_new(struct qmsg *qm, const struct route *r)
{
	struct qjob *j = mem_zalloc(sizeof *j);
	j->msg = qm;
	j->rcpt = mem_alloc(qm->m.nrcpt * sizeof *j->rcpt);
	j->job.qid = qm->qid;
	j->job.msg = &qm->m;
	j->job.file = qm->map;
	j->job.rcpt = j->rcpt;
	j->job.route = *r;
	j->job.active_at = qm->active_at;
	j->job.rcpt_done = job_rcpt_done;
	j->job.done = job_done;
	j->job.arg = j;
	snprintf(j->dest, sizeof j->dest, "%s/%s:%u", r->tp->name, r->host,
		 r->port);
	j->dest_slot = dest_slot(j->dest);
	j->dest_limit = dest_limit(r->tp);
	j->next = qm->jobs;
	qm->jobs = j;
	return j;
}

/* Route the to-do recipients of a loaded message and queue its jobs. */
static void msg_plan(struct qmsg *qm)
{
	struct qfile_msg *m = &qm->m;
	struct route r;
	struct qjob *failed = NULL;
	for (size_t i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != QFILE_RCPT_TODO)
			continue;
		char addr[QFILE_VALUE_MAX + 1];
		memcpy(addr, m->rcpt[i].addr.p, m->rcpt[i].addr.len);
		addr[m->rcpt[i].addr.len] = 0;
		memset(&r, 0, sizeof r);
		/* a content filter (content_filter, FILTER) takes every
		 * recipient, as Postfix's qmgr_message_resolve() */
		int rr = m->filter.len > 0
				 ? route_filter(m->filter.p, m->filter.len, &r)
				 : route_rcpt(addr, m->rcpt[i].addr.len, &r);
		if (rr < 0 || !r.tp) {
			if (!failed) {
				struct route fr = {0};
				fr.tp = &qmgr_tp;
				failed = job_new(qm, &fr);
			}
			failed->rcpt[failed->job.nrcpt++] = i;
			continue;
		}
		if (r.tp->kind == TRANSPORT_HOLD) {
			qm->hold = 1;
			continue;
		}
		struct qjob *j = qm->jobs;
		for (; j; j = j->next)
			if (j != failed && route_same(&j->job.route, &r))
				break;
		if (!j)
			j = job_new(qm, &r);
		j->rcpt[j->job.nrcpt++] = i;
	}
	if (failed) {
		for (size_t i = 0; i < failed->job.nrcpt; i++) {
			const char *t = "address resolver failure";
			job_rcpt_done(&failed->job, i, DELIVER_DEFER, "4.3.0",
				      t);
			deliver_log(&failed->job, i, "none", deliver_now(), 0,
				    DELIVER_DEFER, "4.3.0", t);
		}
	}
	qm->running = 1; /* held while planning */
	for (struct qjob *j = qm->jobs; j; j = j->next) {
		if (j == failed)
			continue;
		if (j->job.route.tp->kind == TRANSPORT_ERROR ||
		    j->job.route.tp->kind == TRANSPORT_DISCARD) {
			job_builtin(j);
			continue;
		}
		if (j->job.route.tp->kind != TRANSPORT_SMTP &&
		    j->job.route.tp->kind != TRANSPORT_LMTP &&
		    j->job.route.tp->kind != TRANSPORT_LOCAL) {
			for (size_t i = 0; i < j->job.nrcpt; i++) {
				const char *t = "mail transport unavailable";
				job_rcpt_done(&j->job, i, DELIVER_DEFER,
					      "4.3.0", t);
				deliver_log(&j->job, i, "none", deliver_now(),
					    0, DELIVER_DEFER, "4.3.0", t);
			}
			continue;
		}
		qm->running++;
		wait_push(j);
	}
	if (--qm->running == 0)
		msg_finish(qm);
}

/* Take active/QID in: parse, log, plan. */
static void msg_activate(const char *qid)
{
	int fd = spool_open_message(&Q.sp, SPOOL_ACTIVE, qid, 1);
	if (fd < 0) {
		msg_warn("%s: cannot open: %s", qid, strerror(-fd));
		return;
	}
	struct qmsg *qm = mem_zalloc(sizeof *qm);
	snprintf(qm->qid, sizeof qm->qid, "%s", qid);
	qm->fd = fd;
	qm->next = Q.msgs;
	if (Q.msgs)
		Q.msgs->prev = qm;
	Q.msgs = qm;
	Q.nmsgs++;
	int rc = msg_load(qm);
	if (rc < 0) {
		corrupt(qid, SPOOL_ACTIVE,
			rc >= QFILE_ERR_FULL ? qfile_strerror(rc)
					     : strerror(-rc));
		msg_free(qm);
		return;
	}
	if (qm->m.torn) {
		rc = spool_truncate(qm->fd, qm->m.valid_len);
		if (rc == 0)
			rc = msg_load(qm);
		if (rc < 0) {
			msg_warn("%s: cannot truncate torn tail: %s", qid,
				 strerror(-rc));
			msg_free(qm);
			return;
		}
	}
	if (qm->m.hold) {
		/* HOLD from smtpd (or a crash between postsuper's record and
		 * its move): the record is the truth, hold/ follows it */
		spool_move(&Q.sp, qid, SPOOL_ACTIVE, SPOOL_HOLD, 0);
		msg_free(qm);
		return;
	}
	qm->active_at = deliver_now();
	struct buf l;
	buf_init(&l, 4 * QFILE_VALUE_MAX);
	log_sender(&l, &qm->m);
	msg_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue active)", qid,
		 buf_str(&l), qm->m.content_len, qm->m.nrcpt);
	buf_free(&l);
	msg_plan(qm);
}

/* ---- scanning ---- */

struct scan {
	enum spool_queue q;
	int flush;          /* deferred: ignore retry times */
	const char *domain; /* deferred: only with a recipient here */
};

static int scan_one(const char *qid, void *arg)
{
	struct scan *s = arg;
	if (Q.stopping)
		return 1;
	if ((long)Q.nmsgs >= Q.active_limit ||
	    Q.loaded_bytes >= QMGR_ACTIVE_BYTES) {
		Q.scan_full = 1; /* msg_free() asks for the next scan */
		return 1;
	}
	/* Messages in memory live in active/; only that scan can meet them
	 * (and a linear search per file of a large incoming/ was costly). */
	if (s->q == SPOOL_ACTIVE && msg_known(qid))
		return 0;
	if (s->q == SPOOL_DEFERRED) {
		int fd = spool_open_message(&Q.sp, SPOOL_DEFERRED, qid, 0);
		if (fd < 0)
			return 0;
		const void *p;
		size_t n;
		struct qfile_msg m;
		int rc = spool_map(fd, &p, &n);
		close(fd);
		if (rc < 0)
			return 0;
		rc = qfile_parse(&m, p, n);
		if (rc < 0) {
			spool_unmap(p, n);
			corrupt(qid, SPOOL_DEFERRED, qfile_strerror(rc));
			return 0;
		}
		int due = s->flush || m.retry_after <= now_sec();
		if (s->domain) {
			due = 0;
			for (size_t i = 0; i < m.nrcpt && !due; i++)
				due = m.rcpt[i].state == QFILE_RCPT_TODO &&
				      qmgr_rcpt_in_domain(m.rcpt[i].addr.p,
							  m.rcpt[i].addr.len,
							  s->domain);
		}
		qfile_msg_free(&m);
		spool_unmap(p, n);
		if (!due)
			return 0;
	}
	if (s->q != SPOOL_ACTIVE &&
	    spool_move(&Q.sp, qid, s->q, SPOOL_ACTIVE, 0) < 0)
		return 0;
	msg_activate(qid);
	return 0;
}

static void scan_queue(enum spool_queue q, int flush, const char *domain)
{
	struct scan s = {q, flush, domain};
	spool_list(&Q.sp, q, scan_one, &s);
	pump();
}

static void do_pickup(void)
{
	long lim = conf_get_int("message_size_limit");
	size_t max = lim > 0 ? (size_t)lim + LAYOUT_MAILDROP_SLACK : 0;
	if (pickup_scan(&Q.sp, max) > 0)
		scan_queue(SPOOL_INCOMING, 0, NULL);
}

static void on_trigger(enum trigger_req req, const char *arg, void *ctx)
{
	(void)ctx;
	switch (req) {
	case TRIGGER_INCOMING:
		/* One scan for every request read together (before_sleep). */
		Q.want_rescan = 1;
		break;
	case TRIGGER_MAILDROP:
		do_pickup();
		break;
	case TRIGGER_FLUSH:
		smtp_client_flush(Q.smtp);
		scan_queue(SPOOL_DEFERRED, 1, NULL);
		break;
	case TRIGGER_SITE:
		scan_queue(SPOOL_DEFERRED, 1, arg);
		break;
	case TRIGGER_RESCAN:
		scan_queue(SPOOL_INCOMING, 0, NULL);
		scan_queue(SPOOL_DEFERRED, 0, NULL);
		do_pickup();
		break;
	default:
		break;
	}
}

static void on_fifo(struct loop *lp, int fd, int ready, void *arg)
{
	(void)lp;
	(void)ready;
	(void)arg;
	char tmp[4096];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r <= 0)
			break;
		if (buf_append(&Q.fifo_in, tmp, (size_t)r) < 0) {
			buf_reset(&Q.fifo_in);
			break;
		}
	}
	if (Q.stopping) {
		buf_reset(&Q.fifo_in);
		return;
	}
	size_t used =
		trigger_parse(Q.fifo_in.data, Q.fifo_in.len, on_trigger, NULL);
	buf_consume(&Q.fifo_in, used);
	if (Q.fifo_in.len > 2 * TRIGGER_MAX)
		buf_reset(&Q.fifo_in);
}

/* qmgr_forward - the local agent's copy for alias targets outside
 * mydestination: a new message in incoming/, picked up at the next scan
 * (soon: want_rescan). */
static int qmgr_forward(void *arg, const char *sender,
			const char *const *rcpts, size_t n,
			const void *content, size_t len, char *newqid)
{
	const char *v = NULL;
	char msgid[1024] = "";
	size_t vl = 0;

	(void)arg;
	/* Logged as found, folded or not; queue_store() escapes it. */
	if (local_header_value(content, len, "Message-ID", &v, &vl))
		snprintf(msgid, sizeof msgid, "%.*s", (int)vl, v);
	if (queue_store(&Q.sp, sender, rcpts, n, msgid, content, len,
			newqid) < 0)
		return -1;
	Q.want_rescan = 1;
	return 0;
}

/* log_dns_stats - the delivery resolver's counters, when they moved
 * (at each queue scan and at stop), as Postfix's daemons log
 * "statistics:" lines. */
static void log_dns_stats(void)
{
	const struct dns_stats *st = Q.smtp ? smtp_client_dns_stats(Q.smtp)
					    : NULL;
	static uint64_t last = UINT64_MAX;
	uint64_t hits;

	if (st == NULL || st->queries == last)
		return;
	last = st->queries;
	hits = st->cache_hits + st->hosts_hits;
	msg_info("statistics: dns queries=%llu cache_hits=%llu (%llu%%) "
		 "network=%llu udp=%llu tcp=%llu timeouts=%llu "
		 "tempfails=%llu coalesced=%llu cached=%llu",
		 (unsigned long long)st->queries,
		 (unsigned long long)st->cache_hits,
		 (unsigned long long)(st->queries ? 100 * hits / st->queries
						  : 0),
		 (unsigned long long)st->cache_misses,
		 (unsigned long long)st->udp_sent,
		 (unsigned long long)st->tcp_sent,
		 (unsigned long long)st->timeouts,
		 (unsigned long long)st->tempfails,
		 (unsigned long long)st->coalesced,
		 (unsigned long long)st->cache_entries);
}

static void on_scan_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)arg;
	if (Q.stopping)
		return;
	log_dns_stats();
	scan_queue(SPOOL_INCOMING, 0, NULL);
	scan_queue(SPOOL_DEFERRED, 0, NULL);
	do_pickup();
	long d = conf_get_time("queue_run_delay");
	loop_timer_set(lp, t, (uint64_t)(d > 0 ? d : 300) * 1000);
}

static void before_sleep(struct loop *lp, void *arg)
{
	(void)lp;
	(void)arg;
	if (Q.want_rescan && !Q.stopping) {
		Q.want_rescan = 0;
		scan_queue(SPOOL_INCOMING, 0, NULL);
	}
}

static void on_drain(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(lp);
}

static void on_term(struct loop *lp, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	if (Q.stopping)
		return;
	Q.stopping = 1;
	msg_info("stopping: %zu deliveries in progress", agents_busy());
	if (agents_busy() == 0) {
		loop_stop(lp);
		return;
	}
	loop_timer_set(lp, &Q.drain_timer, Q.drain_ms);
}

int qmgr_service(const struct service_ctx *ctx)
{
	memset(&Q, 0, sizeof Q);
	Q.fifo = -1;
	signal(SIGPIPE, SIG_IGN);
	const char *qdir = conf_get("queue_directory");
	if (!qdir)
		msg_fatal("queue_directory is not set");
	int rc = spool_open(&Q.sp, qdir);
	if (rc < 0)
		msg_fatal("open queue %s: %s", qdir, strerror(-rc));
	if (transport_load() < 0)
		msg_fatal("cannot load transports from master.cf");
	Q.active_limit = conf_get_int("qmgr_message_active_limit");
	if (Q.active_limit <= 0)
		Q.active_limit = 20000;
	Q.lp = loop_new();
	if (!Q.lp)
		msg_fatal("cannot create event loop");
	Q.smtp = smtp_client_new(Q.lp);
	if (ctx != NULL && ctx->keys_fd >= 0)
		smtp_client_set_keys(Q.smtp, ctx->keys_fd);
	struct local_forward fwd = {qmgr_forward, NULL};
	Q.local = local_agent_new(Q.lp, &fwd);
	buf_init(&Q.fifo_in, 16 * TRIGGER_MAX);
	loop_timer_init(&Q.scan_timer, on_scan_timer, NULL);
	loop_timer_init(&Q.drain_timer, on_drain, NULL);
	loop_timer_init(&Q.rmsync_timer, on_rmsync, NULL);
	Q.drain_ms = ctx && ctx->drain_ms ? ctx->drain_ms : 10000;
	loop_signal_add(Q.lp, SIGTERM, on_term, NULL);
	loop_set_before_sleep(Q.lp, before_sleep, NULL);

	/* Only files nobody can still be writing: after a reload the old
	 * smtpd finishes its transactions while this qmgr starts. */
	rc = spool_clean_temp(&Q.sp, (int64_t)time(NULL) - 3600);
	if (rc < 0)
		msg_warn("cannot clean temporary files: %s", strerror(-rc));
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", qdir, LAYOUT_TRIGGER);
	Q.fifo = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (Q.fifo < 0)
		msg_warn("open %s: %s (requests ignored; periodic scans only)",
			 path, strerror(errno));
	else
		loop_fd_add(Q.lp, Q.fifo, LOOP_READABLE, on_fifo, NULL);

	if (ctx && ctx->ready_fd >= 0) {
		ssize_t w = write(ctx->ready_fd, "R", 1);
		(void)w;
		close(ctx->ready_fd);
	}
	/* State from the directories alone: active/ first (a previous qmgr
	 * died with these: they are due), then the rest. */
	scan_queue(SPOOL_ACTIVE, 0, NULL);
	scan_queue(SPOOL_INCOMING, 0, NULL);
	scan_queue(SPOOL_DEFERRED, 0, NULL);
	do_pickup();
	long d = conf_get_time("queue_run_delay");
	loop_timer_set(Q.lp, &Q.scan_timer, (uint64_t)(d > 0 ? d : 300) * 1000);

	loop_run(Q.lp);

	/* Stopping: jobs still running are deferred by the client (their
	 * callbacks record it); messages never started stay in active/,
	 * due at the next start. */
	Q.wait_head = Q.wait_tail = NULL;
	local_agent_free(Q.local);
	Q.local = NULL;
	log_dns_stats();
	smtp_client_free(Q.smtp);
	Q.smtp = NULL;
	while (Q.msgs)
		msg_free(Q.msgs);
	if (loop_timer_pending(&Q.rmsync_timer)) {
		loop_timer_cancel(Q.lp, &Q.rmsync_timer);
		on_rmsync(Q.lp, &Q.rmsync_timer, NULL);
	}
	if (Q.fifo >= 0) {
		loop_fd_del(Q.lp, Q.fifo, LOOP_ALL);
		close(Q.fifo);
	}
	loop_free(Q.lp);
	buf_free(&Q.fifo_in);
	mem_free(Q.dests);
	spool_close(&Q.sp);
	return 0;
}
