/* smtpd - the SMTP server process (service.h): one event loop accepts on
 * every listener and runs all sessions; no process per connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "master/service.h"
#include "queue/writer.h"
#include "smtpd/anvil.h"
#include "smtpd/restrict.h"
#include "smtpd/session.h"

const char smtpd_module_name[] = "smtpd";

#define CONN_SLOTS 4096 /* per-client counts, open hashing */

struct conn_count {
	char addr[64];
	unsigned n;
};

struct smtpd {
	struct smtpd_server srv;
	const struct service_ctx *ctx;
	struct conn_count *counts;
	long count_limit;
	long rate_limit; /* smtpd_client_connection_rate_limit */
	int stopping;
	struct loop_timer drain_timer, accept_timer;
};

/* The count for addr; with create, a free slot for a new one. A slot
 * whose count fell to 0 keeps its address (a tombstone), so that probe
 * chains past it stay intact; the lookup passes tombstones and stops
 * only at a slot never used, and a new address takes the first free
 * slot on its chain only after the whole chain was searched. */
static struct conn_count *count_slot(struct smtpd *d, const char *addr,
				     int create)
{
	unsigned h = 5381;
	struct conn_count *free_slot = NULL;

	for (const char *p = addr; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (unsigned i = 0; i < CONN_SLOTS; i++) {
		struct conn_count *c = &d->counts[(h + i) % CONN_SLOTS];
		if (c->n > 0 && strcmp(c->addr, addr) == 0)
			return c;
		if (c->n == 0 && free_slot == NULL)
			free_slot = c;
		if (c->n == 0 && c->addr[0] == 0)
			break;
	}
	if (!create || free_slot == NULL)
		return NULL;
	snprintf(free_slot->addr, sizeof(free_slot->addr), "%s", addr);
	return free_slot;
}

static void on_end(struct smtpd_server *srv, struct session *s)
{
	struct smtpd *d = srv->arg;
	struct conn_count *c = count_slot(d, session_addr(s), 0);

	if (c != NULL && c->n > 0)
		c->n--;
	if (d->stopping && srv->nsessions == 0 && qwriter_pending(srv->qw) == 0)
		loop_stop(srv->lp);
}

static void peer_strings(const struct net_addr *a, char *addr, size_t an,
			 char *port, size_t pn)
{
	const struct sockaddr_storage *ss = &a->sa;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], addr,
				  (socklen_t)an);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, addr,
				  (socklen_t)an);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, addr, (socklen_t)an);
	}
	snprintf(port, pn, "%d", net_addr_port(a));
}

static void on_accept(struct loop *lp, int lfd, int ready, void *arg);

static void accept_again(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct smtpd *d = arg;
	(void)t;
	if (d->stopping)
		return;
	for (size_t i = 0; i < d->ctx->nlisteners; i++)
		loop_fd_add(lp, d->ctx->listeners[i].fd, LOOP_READABLE,
			    on_accept, d);
}

/* Postfix's answer to a client over its connection count or rate
 * limit: 421 and close, and the warning. */
static void refuse(struct smtpd *d, int fd, const char *addr,
		   const char *which, long n)
{
	char msg[256];
	int ml = snprintf(msg, sizeof(msg),
			  "421 4.7.0 %s Error: too many connections from "
			  "%s\r\n",
			  d->srv.myhostname, addr);
	msg_warn("Connection %s limit exceeded: %ld from unknown[%s] for "
		 "service %s",
		 which, n, addr, d->ctx->service);
	if (write(fd, msg, (size_t)ml) < 0) {
		/* gone already */
	}
	close(fd);
}

static void on_accept(struct loop *lp, int lfd, int ready, void *arg)
{
	struct smtpd *d = arg;
	(void)ready;

	for (int k = 0; k < 64 && !d->stopping; k++) {
		int fd;
		struct net_addr peer;
		int r = net_accept(lfd, &fd, &peer);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			msg_warn("accept: %s", strerror(-r));
			if (r == -EMFILE || r == -ENFILE) {
				for (size_t i = 0; i < d->ctx->nlisteners; i++)
					loop_fd_del(lp, d->ctx->listeners[i].fd,
						    LOOP_ALL);
				loop_timer_set(lp, &d->accept_timer, 1000);
			}
			return;
		}
		char addr[64], port[8];
		peer_strings(&peer, addr, sizeof(addr), port, sizeof(port));
		struct conn_count *c = count_slot(d, addr, 1);
		int exempt = restrict_limit_exempt(d->srv.rc, addr);
		if (d->count_limit > 0 && c != NULL && !exempt &&
		    (long)c->n >= d->count_limit) {
			refuse(d, fd, addr, "concurrency", (long)c->n + 1);
			continue;
		}
		long rate = d->rate_limit > 0 && !exempt
				    ? anvil_hit(d->srv.anvil, addr, ANVIL_CONN,
						loop_clock_ms())
				    : 0;
		if (rate > d->rate_limit && d->rate_limit > 0) {
			refuse(d, fd, addr, "rate", rate);
			continue;
		}
		if (c != NULL)
			c->n++;
		session_new(&d->srv, fd, addr, port);
	}
}

/* Stopping: once no session is left and the writer has reported its
 * last batch (a session that went away while its message was being
 * committed leaves only the writer), the process may exit. */
static void before_sleep(struct loop *lp, void *arg)
{
	struct smtpd *d = arg;

	if (d->stopping && d->srv.nsessions == 0 &&
	    qwriter_pending(d->srv.qw) == 0)
		loop_stop(lp);
}

static void drain_timeout(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct smtpd *d = arg;
	(void)t;
	while (d->srv.head != NULL)
		session_abort(d->srv.head);
	loop_stop(lp);
}

static void on_term(struct loop *lp, int signo, void *arg)
{
	struct smtpd *d = arg;
	(void)signo;

	if (d->stopping)
		return;
	d->stopping = 1;
	d->srv.draining = 1;
	for (size_t i = 0; i < d->ctx->nlisteners; i++) {
		loop_fd_del(lp, d->ctx->listeners[i].fd, LOOP_ALL);
		close(d->ctx->listeners[i].fd);
	}
	struct session *s;
	/* drain every session; session_drain may free the session */
	size_t n = d->srv.nsessions;
	struct session **all = mem_zalloc((n + 1) * sizeof(*all));
	size_t k = 0;
	for (s = d->srv.head; s != NULL && k < n; s = session_next(s))
		all[k++] = s;
	for (size_t i = 0; i < k; i++)
		session_drain(all[i]);
	mem_free(all);
	if (d->srv.nsessions == 0 && qwriter_pending(d->srv.qw) == 0)
		loop_stop(lp);
	else
		loop_timer_set(lp, &d->drain_timer,
			       d->ctx->drain_ms ? d->ctx->drain_ms : 10000);
}

int smtpd_service(const struct service_ctx *ctx)
{
	struct smtpd d;
	int r;

	memset(&d, 0, sizeof(d));
	d.ctx = ctx;
	log_set_program("smtpd");
	signal(SIGPIPE, SIG_IGN);
	d.srv.lp = loop_new();
	d.srv.arg = &d;
	d.srv.on_end = on_end;
	d.srv.service = mem_strdup(ctx->service);
	smtpd_server_config(&d.srv);
	/* keys_fd 0 is a zeroed ctx (tests without master), never a socket
	 * master made: its children have /dev/null or the terminal there */
	if (smtpd_server_tls(&d.srv, ctx->keys_fd > 0 ? ctx->keys_fd : -1) <
	    0) {
		msg_error("service %s: TLS cannot be set up", ctx->service);
		return 1;
	}
	d.count_limit = conf_get_int("smtpd_client_connection_count_limit");
	d.rate_limit = conf_get_int("smtpd_client_connection_rate_limit");
	d.counts = mem_zalloc(CONN_SLOTS * sizeof(*d.counts));
	loop_timer_init(&d.drain_timer, drain_timeout, &d);
	loop_timer_init(&d.accept_timer, accept_again, &d);
	/* signals before the writer's thread, so it inherits the mask */
	loop_signal_add(d.srv.lp, SIGTERM, on_term, &d);
	loop_set_before_sleep(d.srv.lp, before_sleep, &d);
	r = qwriter_new(d.srv.lp, d.srv.queue_dir, &d.srv.qw);
	if (r < 0) {
		msg_error("open queue %s: %s", d.srv.queue_dir, strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < ctx->nlisteners; i++)
		loop_fd_add(d.srv.lp, ctx->listeners[i].fd, LOOP_READABLE,
			    on_accept, &d);
	if (ctx->ready_fd >= 0) {
		if (write(ctx->ready_fd, "R", 1) < 0)
			msg_warn("readiness: %s", strerror(errno));
		close(ctx->ready_fd);
	}
	r = loop_run(d.srv.lp);
	while (d.srv.head != NULL)
		session_abort(d.srv.head);
	qwriter_free(d.srv.qw);
	smtpd_server_free(&d.srv);
	loop_free(d.srv.lp);
	mem_free(d.counts);
	return r < 0 ? 1 : 0;
}
