/* policy - Postfix policy delegation client (see policy.h). Protocol:
 * Postfix SMTPD_POLICY_README; reuse and retry as Postfix's attr_clnt(3)
 * and check_policy_service(). Trusts nothing the server sends: the reply
 * is bounded and parsed by policy_reply_parse(). */
#include "smtpd/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/net.h"
#include "core/str.h"

struct server;

struct pconn {
	int fd;
	uint64_t born;
	unsigned nreq;
	struct server *sv;
	struct pconn *next;
	struct loop_timer idle;
};

struct server {
	struct policy_pool *p;
	char *spec;     /* as written in main.cf: the key */
	char *endpoint; /* "inet:127.0.0.1:10023", "unix:/path" */
	int is_unix;
	struct net_addr addr;
	struct sockaddr_un sun;
	int bad;
	uint64_t timeout_ms, idle_ms, ttl_ms, retry_ms;
	long req_limit, try_limit;
	char *def_action, *context;
	struct pconn *idle;
};

struct policy_pool {
	struct loop *lp;
	struct server *sv[POLICY_SERVERS_MAX];
	size_t nsv;
};

enum { Q_CONNECT = 1, Q_WRITE, Q_READ, Q_RETRY, Q_DONE };

struct policy_req {
	struct policy_pool *p;
	struct server *sv;
	char *req;
	size_t len, off;
	long tries;
	int state;
	int reused;
	struct pconn *c;
	struct buf in;
	struct loop_timer timer;
	policy_done_fn *fn;
	void *arg;
	int status;
	char *action;
};

int policy_reply_parse(const char *buf, size_t n, const char **action,
		       size_t *alen, size_t *used)
{
	size_t i = 0;

	*action = NULL;
	*alen = 0;
	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		if (nl == NULL)
			return n > POLICY_REPLY_MAX ? -1 : 0;
		size_t ll = (size_t)(nl - (buf + i));
		if (i + ll + 1 > POLICY_REPLY_MAX)
			return -1;
		const char *line = buf + i;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		i += (size_t)(nl - (buf + i)) + 1;
		if (ll == 0) {
			*used = i;
			return 1;
		}
		const char *eq = memchr(line, '=', ll);
		if (eq == NULL || eq == line)
			return -1;
		if ((size_t)(eq - line) == 6 && memcmp(line, "action", 6) == 0) {
			*action = eq + 1;
			*alen = ll - 7;
		}
	}
	return n > POLICY_REPLY_MAX ? -1 : 0;
}

/* ---- servers ---- */

static int parse_time_ms(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	uint64_t mul = 1000;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 's' || *end == 0)
		mul = 1000;
	else if (*end == 'm')
		mul = 60000;
	else if (*end == 'h')
		mul = 3600000;
	else if (*end == 'd')
		mul = 86400000;
	else if (*end == 'w')
		mul = 7 * 86400000ull;
	else
		return -1;
	if (*end != 0 && end[1] != 0)
		return -1;
	*out = n * mul;
	return 0;
}

static uint64_t ms_param(const char *name, uint64_t def)
{
	long s = conf_get_time(name);
	return s > 0 ? (uint64_t)s * 1000 : def;
}

static int set_endpoint(struct server *sv, const char *ep)
{
	/* logged as Postfix's attr_clnt names it: "127.0.0.1:10023" */
	sv->endpoint = mem_strdup(strncmp(ep, "inet:", 5) == 0 ? ep + 5 : ep);
	if (strncmp(ep, "unix:", 5) == 0) {
		/* a relative path is under queue_directory, as Postfix's
		 * "unix:private/policy" */
		const char *path = ep + 5;
		const char *qd = conf_get("queue_directory");
		char full[sizeof(sv->sun.sun_path) + 1];
		int n = path[0] == '/' || qd == NULL
				? snprintf(full, sizeof(full), "%s", path)
				: snprintf(full, sizeof(full), "%s/%s", qd, path);
		if (*path == 0 || n < 0 || (size_t)n >= sizeof(sv->sun.sun_path))
			return -1;
		sv->is_unix = 1;
		sv->sun.sun_family = AF_UNIX;
		memcpy(sv->sun.sun_path, full, (size_t)n + 1);
		return 0;
	}
	if (strncmp(ep, "inet:", 4 + 1) != 0)
		return -1;
	const char *hp = ep + 5;
	char tmp[300];
	if (strncmp(hp, "localhost:", 10) == 0) {
		snprintf(tmp, sizeof(tmp), "127.0.0.1:%s", hp + 10);
		hp = tmp;
	}
	return net_addr_parse(&sv->addr, hp, strlen(hp)) == 0 ? 0 : -1;
}

/* "{ inet:h:p, timeout=10s, default_action=DUNNO }" (Postfix 3.0) */
static int set_overrides(struct server *sv, const char *spec)
{
	size_t n = strlen(spec);
	char *copy, *cur, *tok;
	int first = 1, r = 0;

	if (n < 2 || spec[n - 1] != '}')
		return -1;
	copy = mem_strndup(spec + 1, n - 2);
	cur = copy;
	while ((tok = str_token(&cur, ", \t\r\n")) != NULL) {
		if (first) {
			r = set_endpoint(sv, tok);
			first = 0;
			continue;
		}
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			r = -1;
			break;
		}
		*eq++ = 0;
		uint64_t ms;
		long v;
		if (strcmp(tok, "timeout") == 0 && parse_time_ms(eq, &ms) == 0)
			sv->timeout_ms = ms;
		else if (strcmp(tok, "max_idle") == 0 &&
			 parse_time_ms(eq, &ms) == 0)
			sv->idle_ms = ms;
		else if (strcmp(tok, "max_ttl") == 0 &&
			 parse_time_ms(eq, &ms) == 0)
			sv->ttl_ms = ms;
		else if (strcmp(tok, "retry_delay") == 0 &&
			 parse_time_ms(eq, &ms) == 0)
			sv->retry_ms = ms;
		else if (strcmp(tok, "request_limit") == 0 &&
			 str_to_long(eq, &v) == 0 && v >= 0)
			sv->req_limit = v;
		else if (strcmp(tok, "try_limit") == 0 &&
			 str_to_long(eq, &v) == 0 && v >= 1)
			sv->try_limit = v;
		else if (strcmp(tok, "default_action") == 0) {
			/* the value runs to the end: it may hold spaces,
			 * written as default_action=451 4.3.5 text only
			 * when it is last */
			mem_free(sv->def_action);
			size_t rest = strlen(eq);
			if (cur != NULL && *cur != 0) {
				rest = (size_t)(cur - eq) + strlen(cur);
				cur = NULL;
			}
			sv->def_action = mem_strndup(eq, rest);
			str_trim(sv->def_action);
		} else if (strcmp(tok, "policy_context") == 0) {
			mem_free(sv->context);
			sv->context = mem_strdup(eq);
		} else {
			r = -1;
			break;
		}
	}
	mem_free(copy);
	return first ? -1 : r;
}

static struct server *server_get(struct policy_pool *p, const char *spec)
{
	for (size_t i = 0; i < p->nsv; i++)
		if (strcmp(p->sv[i]->spec, spec) == 0)
			return p->sv[i];
	if (p->nsv == POLICY_SERVERS_MAX)
		return NULL;
	struct server *sv = mem_zalloc(sizeof(*sv));
	sv->p = p;
	sv->spec = mem_strdup(spec);
	sv->timeout_ms = ms_param("smtpd_policy_service_timeout", 100000);
	sv->idle_ms = ms_param("smtpd_policy_service_max_idle", 300000);
	sv->ttl_ms = ms_param("smtpd_policy_service_max_ttl", 1000000);
	sv->retry_ms = (uint64_t)conf_get_time(
			       "smtpd_policy_service_retry_delay") *
		       1000;
	sv->req_limit = conf_get_int("smtpd_policy_service_request_limit");
	sv->try_limit = conf_get_int("smtpd_policy_service_try_limit");
	if (sv->try_limit < 1)
		sv->try_limit = 2;
	const char *da = conf_get("smtpd_policy_service_default_action");
	sv->def_action = mem_strdup(da != NULL && *da
					    ? da
					    : "451 4.3.5 Server configuration "
					      "problem");
	const char *pc = conf_get("smtpd_policy_service_policy_context");
	sv->context = mem_strdup(pc != NULL ? pc : "");
	int r = spec[0] == '{' ? set_overrides(sv, spec)
			       : set_endpoint(sv, spec);
	if (r < 0) {
		msg_warn("check_policy_service: malformed server: %s", spec);
		sv->bad = 1;
	}
	p->sv[p->nsv++] = sv;
	return sv;
}

const char *policy_context(struct policy_pool *p, const char *server)
{
	struct server *sv = server_get(p, server);
	return sv != NULL ? sv->context : "";
}

static void conn_close(struct pconn *c)
{
	struct loop *lp = c->sv->p->lp;

	loop_timer_cancel(lp, &c->idle);
	loop_fd_del(lp, c->fd, LOOP_ALL);
	close(c->fd);
	mem_free(c);
}

static void idle_expired(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct pconn *c = arg;
	struct server *sv = c->sv;
	(void)lp, (void)t;

	for (struct pconn **pp = &sv->idle; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_close(c);
}

struct policy_pool *policy_pool_new(struct loop *lp)
{
	struct policy_pool *p = mem_zalloc(sizeof(*p));
	p->lp = lp;
	return p;
}

void policy_pool_free(struct policy_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsv; i++) {
		struct server *sv = p->sv[i];
		while (sv->idle != NULL) {
			struct pconn *c = sv->idle;
			sv->idle = c->next;
			conn_close(c);
		}
		mem_free(sv->spec);
		mem_free(sv->endpoint);
		mem_free(sv->def_action);
		mem_free(sv->context);
		mem_free(sv);
	}
	mem_free(p);
}

/* ---- requests ---- */

static void try_start(struct policy_req *q);
static void on_io(struct loop *lp, int fd, int ready, void *arg);

static void finish(struct policy_req *q)
{
	policy_done_fn *fn = q->fn;
	void *arg = q->arg;
	int status = q->status;
	char *action = q->action;

	q->action = NULL;
	policy_cancel(q);
	fn(status, action, arg);
	mem_free(action);
}

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg);

static void fail_try(struct policy_req *q, const char *why)
{
	struct loop *lp = q->p->lp;
	int reused = q->reused && q->in.len == 0;

	msg_warn("problem talking to server %s: %s", q->sv->endpoint, why);
	if (q->c != NULL) {
		conn_close(q->c);
		q->c = NULL;
	}
	buf_reset(&q->in);
	/* a reused connection the server had closed meanwhile: try again
	 * at once with a fresh one; it does not count */
	if (!reused)
		q->tries++;
	if (q->tries >= q->sv->try_limit) {
		q->status = -1;
		q->action = mem_strdup(q->sv->def_action);
		q->state = Q_DONE;
		loop_timer_set(lp, &q->timer, 0);
		return;
	}
	q->state = Q_RETRY;
	loop_timer_set(lp, &q->timer, reused ? 0 : q->sv->retry_ms);
}

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct policy_req *q = arg;
	(void)lp, (void)t;

	if (q->state == Q_DONE)
		finish(q);
	else if (q->state == Q_RETRY)
		try_start(q);
	else
		fail_try(q, "Connection timed out");
}

static void try_start(struct policy_req *q)
{
	struct server *sv = q->sv;
	struct loop *lp = q->p->lp;
	uint64_t now = loop_clock_ms();
	int fd = -1, r;

	q->off = 0;
	q->reused = 0;
	buf_reset(&q->in);
	while (sv->idle != NULL) {
		struct pconn *c = sv->idle;
		sv->idle = c->next;
		if (now - c->born >= sv->ttl_ms) {
			conn_close(c);
			continue;
		}
		loop_timer_cancel(lp, &c->idle);
		q->c = c;
		q->reused = 1;
		break;
	}
	if (q->c == NULL) {
		if (sv->is_unix) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
						     SOCK_CLOEXEC,
				    0);
			r = fd < 0 ? -errno : 0;
			if (r == 0 && connect(fd, (const void *)&sv->sun,
					      sizeof(sv->sun)) < 0 &&
			    errno != EINPROGRESS) {
				r = -errno;
				close(fd);
			}
		} else {
			r = net_connect(&sv->addr, &fd);
		}
		if (r < 0) {
			char why[128];
			snprintf(why, sizeof(why), "%s", strerror(-r));
			msg_warn("connect to %s: %s", sv->endpoint, why);
			fail_try(q, why);
			return;
		}
		q->c = mem_zalloc(sizeof(*q->c));
		q->c->fd = fd;
		q->c->born = now;
		q->c->sv = sv;
		loop_timer_init(&q->c->idle, idle_expired, q->c);
		q->state = Q_CONNECT;
	} else {
		q->state = Q_WRITE;
	}
	q->c->nreq++;
	loop_fd_add(lp, q->c->fd, LOOP_WRITABLE, on_io, q);
	loop_timer_set(lp, &q->timer, sv->timeout_ms);
}

static void got_reply(struct policy_req *q, const char *a, size_t alen,
		      size_t used)
{
	struct server *sv = q->sv;
	struct loop *lp = q->p->lp;
	struct pconn *c = q->c;

	q->c = NULL;
	loop_fd_del(lp, c->fd, LOOP_ALL);
	if (used == q->in.len &&
	    (sv->req_limit == 0 || c->nreq < (unsigned long)sv->req_limit) &&
	    loop_clock_ms() - c->born < sv->ttl_ms) {
		c->next = sv->idle;
		sv->idle = c;
		loop_timer_set(lp, &c->idle, sv->idle_ms);
	} else {
		conn_close(c);
	}
	q->status = 0;
	q->action = mem_strndup(a, alen);
	q->state = Q_DONE;
	loop_timer_cancel(lp, &q->timer);
	finish(q);
}

static void on_io(struct loop *lp, int fd, int ready, void *arg)
{
	struct policy_req *q = arg;
	(void)ready;

	if (q->state == Q_CONNECT) {
		int r = net_connect_result(fd);
		if (r < 0) {
			msg_warn("connect to %s: %s", q->sv->endpoint,
				 strerror(-r));
			fail_try(q, strerror(-r));
			return;
		}
		q->state = Q_WRITE;
	}
	if (q->state == Q_WRITE) {
		while (q->off < q->len) {
			ssize_t w = send(fd, q->req + q->off, q->len - q->off,
					 MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				return;
			if (w <= 0) {
				fail_try(q, strerror(errno));
				return;
			}
			q->off += (size_t)w;
		}
		q->state = Q_READ;
		loop_fd_del(lp, fd, LOOP_WRITABLE);
		loop_fd_add(lp, fd, LOOP_READABLE, on_io, q);
		return;
	}
	if (q->state != Q_READ)
		return;
	char tmp[2048];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fail_try(q, n == 0 ? "Connection reset by peer"
				   : strerror(errno));
		return;
	}
	if (buf_append(&q->in, tmp, (size_t)n) < 0) {
		fail_try(q, "reply too long");
		return;
	}
	const char *a;
	size_t alen, used;
	int r = policy_reply_parse(q->in.data, q->in.len, &a, &alen, &used);
	if (r == 0)
		return;
	if (r < 0) {
		fail_try(q, "malformed reply");
		return;
	}
	if (a == NULL) {
		msg_warn("missing attribute action in input from %s",
			 q->sv->endpoint);
		fail_try(q, "missing action");
		return;
	}
	got_reply(q, a, alen, used);
}

struct policy_req *policy_query(struct policy_pool *p, const char *server,
				const char *req, size_t len,
				policy_done_fn *fn, void *arg)
{
	struct server *sv = server_get(p, server);

	if (sv == NULL || sv->bad)
		return NULL;
	struct policy_req *q = mem_zalloc(sizeof(*q));
	q->p = p;
	q->sv = sv;
	q->req = mem_memdup(req, len);
	q->len = len;
	q->fn = fn;
	q->arg = arg;
	buf_init(&q->in, POLICY_REPLY_MAX + 2048);
	loop_timer_init(&q->timer, on_timer, q);
	try_start(q);
	return q;
}

void policy_cancel(struct policy_req *q)
{
	if (q == NULL)
		return;
	loop_timer_cancel(q->p->lp, &q->timer);
	if (q->c != NULL)
		conn_close(q->c);
	buf_free(&q->in);
	mem_free(q->req);
	mem_free(q->action);
	mem_free(q);
}
