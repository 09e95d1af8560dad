/* local - local delivery agent: alias expansion, then mailbox append
 * (Postfix local(8): recipient.c, alias.c, mailbox.c, unknown.c). Trusts
 * the envelope from the queue file (already checked by smtpd and qfile),
 * the alias tables and the password database. */
#include "deliver/local.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "deliver/alias.h"
#include "deliver/mbox.h"

static const char *param(const struct deliver_job *job, const char *name)
{
	const char *v = job->route.tp ? transport_get(job->route.tp, name)
				      : conf_get(name);
	return v ? v : "";
}

static void set_res(struct local_result *r, enum deliver_status st,
		    const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_res(struct local_result *r, enum deliver_status st,
		    const char *dsn, const char *fmt, ...)
{
	va_list ap;

	r->st = st;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static void add_line(struct local_result *r, const char *to, size_t tolen,
		     const char *at, enum deliver_status st, const char *dsn,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* add_line - a target's outcome; to[0..tolen) is qualified with "@at"
 * when at is not NULL (a local user name). */
static void add_line(struct local_result *r, const char *to, size_t tolen,
		     const char *at, enum deliver_status st, const char *dsn,
		     const char *fmt, ...)
{
	struct local_line *l;
	va_list ap;

	r->lines = mem_realloc(r->lines, (r->nlines + 1) * sizeof(*r->lines));
	l = &r->lines[r->nlines++];
	snprintf(l->to, sizeof(l->to), "%.*s%s%s", (int)tolen, to,
		 at ? "@" : "", at ? at : "");
	l->st = st;
	snprintf(l->dsn, sizeof(l->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
}

void local_result_free(struct local_result *r)
{
	mem_free(r->lines);
	r->lines = NULL;
	r->nlines = 0;
}

/* One resolved mailbox target. */
struct target {
	char *user; /* pw_name */
	uid_t uid;
	gid_t gid;
};

/* trim_addr - [p, end) without leading and trailing blanks and <>. */
static void trim_addr(const char **p, const char **end)
{
	while (*p < *end && (**p == ' ' || **p == '\t' || **p == '<'))
		(*p)++;
	while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t' ||
			     (*end)[-1] == '>'))
		(*end)--;
}

int local_header_next(const char **cursor, const char *end, const char *name,
		      const char **v, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = *cursor;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *ve;

		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) /* the empty line: end of the header */
			break;
		*cursor = eol ? eol + 1 : end;
		if ((size_t)(le - p) > nl && p[nl] == ':' &&
		    strncasecmp(p, name, nl) == 0) {
			*v = p + nl + 1;
			ve = le;
			trim_addr(v, &ve);
			*vlen = (size_t)(ve - *v);
			return 1;
		}
		p = *cursor;
	}
	*cursor = end;
	return 0;
}

int local_header_value(const char *content, size_t len, const char *name,
		       const char **v, size_t *vlen)
{
	const char *cur = content, *end = content + len, *t, *p;
	size_t tl;

	if (!local_header_next(&cur, end, name, &t, &tl))
		return 0;
	/* The field's line starts after the last line end before t. */
	p = t;
	while (p > content && p[-1] != '\n')
		p--;
	*v = p + strlen(name) + 1;
	/* cur is past the field's first line; continuation lines start
	 * with a blank. */
	while (cur < end && (*cur == ' ' || *cur == '\t')) {
		const char *eol = memchr(cur, '\n', (size_t)(end - cur));

		cur = eol ? eol + 1 : end;
	}
	p = cur;
	if (p > *v && p[-1] == '\n')
		p--;
	if (p > *v && p[-1] == '\r')
		p--;
	*vlen = (size_t)(p - *v);
	return 1;
}

int local_loop_seen(const char *content, size_t len, const char *addr,
		    size_t n)
{
	const char *cur = content, *v;
	size_t vl;

	while (local_header_next(&cur, content + len, "Delivered-To", &v, &vl))
		if (vl == n && strncasecmp(v, addr, n) == 0)
			return 1;
	return 0;
}

/* forward - a copy for the forward targets; 0 with newqid set, or -1
 * with res set. */
static int forward(const struct deliver_job *job,
		   const struct local_forward *fwd, const char *addr, size_t n,
		   char **targets, size_t ntargets, char *newqid,
		   struct local_result *res)
{
	const struct qfile_msg *m = job->msg;
	struct buf c;
	char *sender;
	int rc;

	if (fwd == NULL || fwd->fn == NULL) {
		set_res(res, DELIVER_DEFER, "4.3.0",
			"forwarding to %s is not possible here", targets[0]);
		return -1;
	}
	buf_init(&c, m->content_len + n + 64);
	buf_puts(&c, "Delivered-To: ");
	buf_append(&c, addr, n);
	buf_puts(&c, "\r\n");
	buf_append(&c, job->file + m->content_off, m->content_len);
	sender = mem_strndup(m->sender.p ? m->sender.p : "", m->sender.len);
	rc = buf_len(&c) < m->content_len
		     ? -1 /* the buffer could not grow */
		     : fwd->fn(fwd->arg, sender, (const char *const *)targets,
			       ntargets, c.data, c.len, newqid);
	mem_free(sender);
	buf_free(&c);
	if (rc < 0) {
		set_res(res, DELIVER_DEFER, "4.3.0",
			"cannot forward to %s: queue file write error",
			targets[0]);
		return -1;
	}
	return 0;
}

/* deliver_one - expand and deliver recipient addr (n bytes). */
static void deliver_one(const struct deliver_job *job,
			const struct local_forward *fwd,
			struct alias_table *aliases, const char *addr, size_t n,
			struct local_result *res)
{
	const struct qfile_msg *m = job->msg;
	const char *at = memrchr(addr, '@', n);
	size_t llen = at ? (size_t)(at - addr) : n;
	char *local = mem_strndup(addr, llen);
	struct alias_expansion x = {0};
	struct target *tg = NULL;
	char **fw = NULL;
	char fwqid[64] = "";
	size_t ntg = 0, nfw = 0, i, nbounce = 0, nsent = 0;
	const char *myhost = param(job, "myhostname");
	char bdsn[8] = "5.0.0"; /* of the first bounce */
	struct buf bounces, msg, err, path, dto;

	buf_init(&bounces, LOCAL_TEXT_MAX);
	buf_init(&err, 1024);
	buf_init(&path, 4096);
	buf_init(&dto, 2048);
	buf_init(&msg, m->content_len * 2 + 16384);
	if (local_loop_seen((const char *)job->file + m->content_off,
			    m->content_len, addr, n)) {
		set_res(res, DELIVER_BOUNCE, "5.4.6",
			"mail forwarding loop for %.*s", (int)n, addr);
		goto out;
	}
	alias_expand(aliases, local, param(job, "mydestination"), &x);

	/* Resolve every target first: a deferral writes no mailbox. */
	tg = mem_zalloc((x.n + 1) * sizeof(*tg));
	fw = mem_zalloc((x.n + 1) * sizeof(*fw));
	for (i = 0; i < x.n; i++) {
		struct alias_result *r = &x.r[i];
		struct passwd *pw;

		switch (r->kind) {
		case ALIAS_R_FAIL:
			if (r->st == DELIVER_DEFER) {
				set_res(res, DELIVER_DEFER, r->dsn, "%s",
					r->text);
				goto out;
			}
			if (nbounce++ == 0)
				snprintf(bdsn, sizeof(bdsn), "%s", r->dsn);
			buf_printf(&bounces, "%s%s: %s",
				   nbounce > 1 ? "; " : "", r->addr, r->text);
			/* |command, /file: logged under the recipient */
			add_line(res, addr, n, NULL, DELIVER_BOUNCE, r->dsn,
				 "%s: %s", r->addr, r->text);
			break;
		case ALIAS_R_FORWARD:
			fw[nfw++] = r->addr; /* owned by x */
			break;
		case ALIAS_R_MAILBOX:
			errno = 0;
			pw = getpwnam(r->addr);
			if (pw == NULL && errno != 0 && errno != ENOENT &&
			    errno != ESRCH) {
				set_res(res, DELIVER_DEFER, "4.3.0",
					"user lookup error for \"%s\": %s",
					r->addr, strerror(errno));
				goto out;
			}
			if (pw == NULL) {
				if (nbounce++ == 0)
					snprintf(bdsn, sizeof(bdsn), "5.1.1");
				buf_printf(&bounces, "%sunknown user: \"%s\"",
					   nbounce > 1 ? "; " : "", r->addr);
				add_line(res, r->addr, strlen(r->addr), myhost,
					 DELIVER_BOUNCE, "5.1.1",
					 "unknown user: \"%s\"", r->addr);
				break;
			}
			tg[ntg].user = mem_strdup(pw->pw_name);
			tg[ntg].uid = pw->pw_uid;
			tg[ntg].gid = pw->pw_gid;
			ntg++;
			break;
		}
	}

	for (i = 0; i < ntg; i++) {
		struct mbox_opts o = {0, 0, 0, 0, 0, 0};
		struct mbox_env env;
		int rc, e = 0;

		/* Postfix with frozen_delivered_to = yes (the default):
		 * Delivered-To is the recipient as local(8) received it,
		 * through any alias levels. */
		buf_reset(&dto);
		buf_append(&dto, addr, n);
		buf_reset(&msg);
		env.sender = m->sender.p ? m->sender.p : "";
		env.sender_len = m->sender.len;
		env.orig_rcpt = addr; /* X-Original-To */
		env.orig_rcpt_len = n;
		env.rcpt = buf_str(&dto);
		env.rcpt_len = buf_len(&dto);
		env.when = (time_t)deliver_now();
		if (mbox_format(&msg, &env, job->file + m->content_off,
				m->content_len) < 0) {
			set_res(res, DELIVER_DEFER, "4.3.0",
				"message too large to format");
			goto out;
		}
		buf_reset(&path);
		buf_printf(&path, "%s/%s", param(job, "mail_spool_directory"),
			   tg[i].user);
		if (geteuid() == 0) {
			o.set_owner = 1;
			o.uid = tg[i].uid;
			o.gid = tg[i].gid;
		}
		buf_reset(&err);
		rc = mbox_append(buf_str(&path), msg.data, msg.len, &o, &err,
				 &e);
		if (rc < 0) {
			const char *dsn = rc == MBOX_ERR_LOCK
						  ? "4.2.0"
						  : mbox_dsn(e, "4.3.0");
			set_res(res,
				dsn[0] == '5' ? DELIVER_BOUNCE : DELIVER_DEFER,
				dsn, "cannot update mailbox %s for user %s. %s",
				buf_str(&path), tg[i].user, buf_str(&err));
			add_line(res, tg[i].user, strlen(tg[i].user), myhost,
				 res->st, dsn, "%s", res->text);
			goto out;
		}
		nsent++;
		add_line(res, tg[i].user, strlen(tg[i].user), myhost,
			 DELIVER_SENT, "2.0.0", "delivered to mailbox");
	}
	/* The forwarded copy last, once no mailbox deferred: a deferral
	 * before it would queue one more copy at every retry (Postfix's
	 * forward_finish() cancels the copy the same way). */
	if (nfw > 0 && forward(job, fwd, addr, n, fw, nfw, fwqid, res) < 0)
		goto out;
	for (i = 0; i < nfw; i++)
		add_line(res, fw[i], strlen(fw[i]), NULL, DELIVER_SENT, "2.0.0",
			 "forwarded as %s", fwqid);
	if (nbounce == 0 && nfw > 0)
		set_res(res, DELIVER_SENT, "2.0.0", "%sforwarded as %s",
			nsent ? "delivered to mailbox; " : "", fwqid);
	else if (nbounce == 0)
		set_res(res, DELIVER_SENT, "2.0.0", "delivered to mailbox");
	else if (nsent + nfw == 0)
		set_res(res, DELIVER_BOUNCE, nbounce == 1 ? bdsn : "5.0.0",
			"%s", buf_str(&bounces));
	else
		set_res(res, DELIVER_BOUNCE, "5.0.0",
			"delivered to mailbox of %zu user(s)%s%s, failed: %s",
			nsent, nfw ? ", forwarded as " : "", fwqid,
			buf_str(&bounces));
out:
	/* A deferral is the recipient's as a whole: one line for it. */
	if (res->st == DELIVER_DEFER)
		local_result_free(res);
	mem_free(fw);
	for (i = 0; i < ntg; i++)
		mem_free(tg[i].user);
	mem_free(tg);
	alias_expansion_free(&x);
	mem_free(local);
	buf_free(&bounces);
	buf_free(&msg);
	buf_free(&err);
	buf_free(&path);
	buf_free(&dto);
}

void local_deliver_run(const struct deliver_job *job,
		       const struct local_forward *fwd,
		       struct local_result *res)
{
	struct alias_table *aliases = NULL;
	struct buf err;
	size_t i;

	buf_init(&err, 1024);
	if (alias_open(param(job, "alias_maps"), &aliases, &err) < 0) {
		msg_warn("alias_maps: %s", buf_str(&err));
		for (i = 0; i < job->nrcpt; i++)
			set_res(&res[i], DELIVER_DEFER, "4.3.0",
				"alias database unavailable");
		buf_free(&err);
		return;
	}
	for (i = 0; i < job->nrcpt; i++) {
		const struct qfile_rcpt *r = &job->msg->rcpt[job->rcpt[i]];
		deliver_one(job, fwd, aliases, r->addr.p, r->addr.len, &res[i]);
	}
	alias_close(aliases);
	buf_free(&err);
}

/* ---- the agent on the loop ---- */

struct local_pending {
	struct local_pending *next;
	struct deliver_job *job;
	struct local_result *res;
	double start, ready;
};

struct local_agent {
	struct loop *lp;
	struct local_forward fwd;
	struct loop_timer timer;
	struct local_pending *head, **tail;
	size_t busy;
};

static void report_all(struct local_agent *a)
{
	struct local_pending *p;
	size_t i;

	while ((p = a->head) != NULL) {
		a->head = p->next;
		if (a->head == NULL)
			a->tail = &a->head;
		a->busy--;
		for (i = 0; i < p->job->nrcpt; i++) {
			const struct local_result *r = &p->res[i];
			size_t k;

			for (k = 0; k < r->nlines; k++)
				deliver_log_as(p->job, i, r->lines[k].to,
					       "local", p->start, p->ready,
					       r->lines[k].st, r->lines[k].dsn,
					       r->lines[k].text);
			if (r->nlines == 0)
				deliver_log(p->job, i, "local", p->start,
					    p->ready, r->st, r->dsn, r->text);
			p->job->rcpt_done(p->job, i, p->res[i].st,
					  p->res[i].dsn, p->res[i].text);
		}
		p->job->next_hop_dsn = 0;
		p->job->done(p->job);
		for (i = 0; i < p->job->nrcpt; i++)
			local_result_free(&p->res[i]);
		mem_free(p->res);
		mem_free(p);
	}
}

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)lp;
	(void)t;
	report_all(arg);
}

struct local_agent *local_agent_new(struct loop *lp,
				    const struct local_forward *fwd)
{
	struct local_agent *a = mem_zalloc(sizeof(*a));

	a->lp = lp;
	if (fwd)
		a->fwd = *fwd;
	a->tail = &a->head;
	loop_timer_init(&a->timer, on_timer, a);
	return a;
}

int local_agent_deliver(struct local_agent *a, struct deliver_job *job)
{
	struct local_pending *p;

	if (job->nrcpt == 0)
		return -EINVAL;
	p = mem_zalloc(sizeof(*p));
	p->job = job;
	p->res = mem_zalloc(job->nrcpt * sizeof(*p->res));
	p->start = deliver_now();
	p->ready = p->start;
	job->next_hop_dsn = 0;
	local_deliver_run(job, &a->fwd, p->res);
	*a->tail = p;
	a->tail = &p->next;
	a->busy++;
	if (!loop_timer_pending(&a->timer))
		loop_timer_set(a->lp, &a->timer, 0);
	return 0;
}

size_t local_agent_busy(const struct local_agent *a)
{
	return a->busy;
}

void local_agent_free(struct local_agent *a)
{
	if (a == NULL)
		return;
	loop_timer_cancel(a->lp, &a->timer);
	report_all(a);
	mem_free(a);
}
