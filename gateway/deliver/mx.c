/* mx - the server addresses of an SMTP next hop (see mx.h). */
#include "deliver/mx.h"

#include <errno.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "conf/params.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "deliver/hosts.h"

/* One exchanger's address lookups. */
struct mx_slot {
	struct mx_lookup *l;
	size_t idx;
	struct dns_query *q[2]; /* A, AAAA */
	int pending;            /* queries outstanding */
	int soft;               /* a lookup could not complete */
	struct net_addr a[2][HOSTS_ADDR_MAX];
	size_t na[2];
	char why[MX_TEXT_MAX]; /* why the host has no address */
	/* The DNS lookups of each type: 0, or how it failed (FAIL_*). */
	int fail[2];
	char fwhy[2][MX_TEXT_MAX];
};

#define FAIL_HARD 1 /* not found, no record of the type */
#define FAIL_SOFT 2 /* could not complete: try again */

struct mx_lookup {
	struct loop *lp;
	struct dns_resolver *r;
	mx_done_fn *fn;
	void *arg;
	struct mx_request req;
	char host[ROUTE_HOST_MAX];
	char hosts[ROUTE_HOST_MAX];
	struct net_addr self[MX_SELF_MAX];
	struct loop_timer timer; /* immediate results */
	struct dns_query *mxq;
	int by_mx; /* the names came from MX records */
	int assemble_later; /* the timer assembles (hosts file answers) */
	struct mx_name names[MX_NAMES_MAX];
	struct mx_slot *slot; /* nnames of them, once addresses are asked */
	size_t nnames, pending;
	struct mx_result res;
};

static const char *const fam_type[2] = {"A", "AAAA"};

static void result_set(struct mx_result *res, enum deliver_status st,
		       const char *dsn, const char *fmt, const char *a,
		       const char *b)
{
	res->status = st;
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	snprintf(res->text, sizeof(res->text), fmt, a, b);
}

static void lookup_free(struct mx_lookup *l)
{
	loop_timer_cancel(l->lp, &l->timer);
	mem_free(l->slot);
	mem_free(l);
}

static void finish(struct mx_lookup *l)
{
	mx_done_fn *fn = l->fn;
	void *arg = l->arg;
	struct mx_result res = l->res;

	/* The callback may start a new lookup or cancel nothing: free first. */
	lookup_free(l);
	fn(&res, arg);
}

/* The slots of the nnames exchangers: a lookup of an address literal
 * (relayhost = [192.0.2.1]) never needs them, so they are not part of
 * every delivery's allocation. */
static void slots_alloc(struct mx_lookup *l)
{
	l->slot = mem_zalloc(l->nnames * sizeof(*l->slot));
}

static void assemble(struct mx_lookup *l);

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct mx_lookup *l = arg;

	(void)lp;
	(void)t;
	if (l->assemble_later)
		assemble(l);
	else
		finish(l);
}

static void finish_later(struct mx_lookup *l)
{
	loop_timer_set(l->lp, &l->timer, 0);
}

/* ---- pure helpers ---- */

int mx_names_from_answer(const struct dns_answer *ans, const unsigned *rnd,
			 struct mx_name *out, size_t max)
{
	unsigned key[MX_NAMES_MAX];
	size_t i, j, n = 0;

	for (i = 0; i < ans->n; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		const char *name;
		size_t len;

		if (rr->type != DNS_T_MX)
			continue;
		name = dns_rr_text(ans, rr);
		len = strlen(name);
		/* "." (the root) as exchanger: RFC 7505 null MX. */
		if (len == 0 || strcmp(name, ".") == 0)
			return -1;
		if (name[len - 1] == '.')
			len--;
		if (len >= ROUTE_HOST_MAX)
			continue;
		for (j = 0; j < n; j++)
			if (strlen(out[j].name) == len &&
			    str_ncasecmp(out[j].name, name, len) == 0)
				break;
		if (j < n) { /* same exchanger twice: keep the better one */
			if (rr->pref < out[j].pref)
				out[j].pref = rr->pref;
			continue;
		}
		if (n == max || n == MX_NAMES_MAX)
			continue;
		out[n].pref = rr->pref;
		memcpy(out[n].name, name, len);
		out[n].name[len] = 0;
		key[n] = rnd ? rnd[i] : (unsigned)i;
		n++;
	}
	/* Insertion sort: at most MX_NAMES_MAX entries. */
	for (i = 1; i < n; i++) {
		struct mx_name v = out[i];
		unsigned k = key[i];

		for (j = i; j > 0 && (out[j - 1].pref > v.pref ||
				      (out[j - 1].pref == v.pref &&
				       key[j - 1] > k));
		     j--) {
			out[j] = out[j - 1];
			key[j] = key[j - 1];
		}
		out[j] = v;
		key[j] = k;
	}
	return (int)n;
}

void mx_order(struct mx_target *t, size_t n, int randomize)
{
	unsigned key[MX_TARGET_MAX];
	size_t i, j;

	if (!randomize || n < 2)
		return;
	if (n > MX_TARGET_MAX)
		n = MX_TARGET_MAX;
	if (getrandom(key, n * sizeof(key[0]), 0) != (ssize_t)(n * sizeof(key[0])))
		return;
	/* As Postfix: shuffle, then a stable sort by preference. Insertion
	 * sort: at most MX_TARGET_MAX entries, already sorted by pref. */
	for (i = 1; i < n; i++) {
		struct mx_target v = t[i];
		unsigned k = key[i];

		for (j = i; j > 0 && t[j - 1].pref == v.pref && key[j - 1] > k;
		     j--) {
			t[j] = t[j - 1];
			key[j] = key[j - 1];
		}
		t[j] = v;
		key[j] = k;
	}
}

int mx_cut_self(struct mx_target *t, size_t *n, const struct net_addr *self,
		size_t nself)
{
	size_t i, j;

	for (i = 0; i < *n; i++)
		for (j = 0; j < nself; j++)
			if (net_addr_same_host(&t[i].addr, &self[j])) {
				unsigned pref = t[i].pref;
				size_t k = 0;

				while (k < *n && t[k].pref < pref)
					k++;
				*n = k;
				return 1;
			}
	return 0;
}

static size_t add_self(struct net_addr *out, size_t n, size_t max,
		       const struct net_addr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (net_addr_same_host(&out[i], a))
			return n;
	if (n < max)
		out[n++] = *a;
	return n;
}

static size_t self_list(const char *list, struct net_addr *out, size_t n,
			size_t max)
{
	const char *p = list ? list : "";
	const char *w;
	size_t wl;

	while (conf_list_next(&p, &w, &wl)) {
		struct net_addr a;

		if ((wl == 3 && str_ncasecmp(w, "all", 3) == 0) ||
		    (wl == 13 && str_ncasecmp(w, "loopback-only", 13) == 0)) {
			struct ifaddrs *ifa, *i;
			int all = wl == 3;

			if (hosts_addr_parse("127.0.0.1", 9, &a) == 0)
				n = add_self(out, n, max, &a);
			if (hosts_addr_parse("::1", 3, &a) == 0)
				n = add_self(out, n, max, &a);
			if (!all || getifaddrs(&ifa) != 0)
				continue;
			for (i = ifa; i; i = i->ifa_next) {
				if (i->ifa_addr == NULL ||
				    (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
					continue;
				memset(&a, 0, sizeof(a));
				a.len = i->ifa_addr->sa_family == AF_INET
						? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6);
				memcpy(&a.sa, i->ifa_addr, a.len);
				n = add_self(out, n, max, &a);
			}
			freeifaddrs(ifa);
			continue;
		}
		if (wl && w[0] == '[' && w[wl - 1] == ']') {
			w++;
			wl -= 2;
		}
		if (hosts_addr_parse(w, wl, &a) == 0)
			n = add_self(out, n, max, &a);
	}
	return n;
}

size_t mx_self_addrs(const char *inet_interfaces, const char *proxy_interfaces,
		     struct net_addr *out, size_t max)
{
	size_t n = self_list(inet_interfaces, out, 0, max);

	return self_list(proxy_interfaces, out, n, max);
}

void mx_lookup_flags(const char *v, struct mx_request *req)
{
	const char *p = v ? v : "";
	const char *w;
	size_t wl;
	int seen_dns = 0;

	req->lookup = 0;
	req->native_first = 0;
	while (conf_list_next(&p, &w, &wl)) {
		if (wl == 3 && str_ncasecmp(w, "dns", 3) == 0) {
			req->lookup |= MX_LOOKUP_DNS;
			seen_dns = 1;
		} else if (wl == 6 && str_ncasecmp(w, "native", 6) == 0) {
			req->lookup |= MX_LOOKUP_NATIVE;
			if (!seen_dns)
				req->native_first = 1;
		}
	}
	if (req->lookup == 0)
		req->lookup = MX_LOOKUP_DNS;
}

/* ---- address lookups ---- */

static void slot_fail(struct mx_slot *s, int soft, const char *fmt,
		      const char *a, const char *b)
{
	if (soft && !s->soft) { /* a soft failure's text wins */
		s->soft = 1;
		s->why[0] = 0;
	}
	if (s->why[0] == 0)
		snprintf(s->why, sizeof(s->why), fmt, a, b);
}

/* slot_native - the hosts file; 1 when it knew the name. */
static int slot_native(struct mx_slot *s)
{
	struct mx_lookup *l = s->l;
	const char *name = l->names[s->idx].name;
	struct net_addr a[HOSTS_ADDR_MAX];
	int n = hosts_lookup(l->req.hosts, name, l->req.families, a,
			     HOSTS_ADDR_MAX);
	int i;

	for (i = 0; i < n; i++) {
		int f = a[i].sa.ss_family == AF_INET ? 0 : 1;

		if (s->na[f] < HOSTS_ADDR_MAX)
			s->a[f][s->na[f]++] = a[i];
	}
	if (n > 0)
		return 1;
	slot_fail(s, 0, "unable to look up host %s: %s", name,
		  "Name or service not known");
	return 0;
}

static void slot_done(struct mx_slot *s)
{
	struct mx_lookup *l = s->l;

	if (--l->pending == 0)
		assemble(l);
}

/* slot_dns_why - the text of the host's DNS lookups, as Postfix's
 * dns_lookup_v(): the types are asked in order (A, then AAAA) and each
 * failure overwrites the text, so the last one is reported; one that could
 * not complete makes the whole lookup a temporary failure. */
static void slot_dns_why(struct mx_slot *s)
{
	int f;

	for (f = 0; f < 2; f++) {
		if (!s->fail[f])
			continue;
		memcpy(s->why, s->fwhy[f], sizeof(s->why));
		if (s->fail[f] == FAIL_SOFT)
			s->soft = 1;
	}
}

static void on_addr(int status, const struct dns_answer *ans, void *arg,
		    int f)
{
	struct mx_slot *s = arg;
	const char *name = s->l->names[s->idx].name;
	size_t i;

	s->q[f] = NULL;
	if (status == DNS_OK) {
		uint16_t want = f == 0 ? DNS_T_A : DNS_T_AAAA;
		size_t before = s->na[f];

		for (i = 0; i < ans->n && s->na[f] < HOSTS_ADDR_MAX; i++) {
			const struct dns_rr *rr = &ans->rr[i];
			struct net_addr *a = &s->a[f][s->na[f]];

			if (rr->type != want)
				continue;
			memset(a, 0, sizeof(*a));
			if (f == 0) {
				struct sockaddr_in *in = (void *)&a->sa;

				in->sin_family = AF_INET;
				memcpy(&in->sin_addr, rr->addr, 4);
				a->len = sizeof(*in);
			} else {
				struct sockaddr_in6 *in6 = (void *)&a->sa;

				in6->sin6_family = AF_INET6;
				memcpy(&in6->sin6_addr, rr->addr, 16);
				a->len = sizeof(*in6);
			}
			s->na[f]++;
		}
		/* An answer without a record of the type is no data. */
		if (s->na[f] == before)
			status = DNS_NODATA;
	}
	if (status != DNS_OK) {
		s->fail[f] = status == DNS_TEMPFAIL ? FAIL_SOFT : FAIL_HARD;
		snprintf(s->fwhy[f], sizeof(s->fwhy[f]),
			 "Host or domain name not found. Name service error "
			 "for name=%s type=%s: %s",
			 name, fam_type[f],
			 status == DNS_TEMPFAIL ? "Host not found, try again"
			 : status == DNS_NODATA
				 ? "Host found but no data record of "
				   "requested type"
				 : "Host not found");
	}
	if (--s->pending > 0)
		return;
	slot_dns_why(s);
	/* "dns, native": the hosts file when DNS found nothing. */
	if (s->na[0] + s->na[1] == 0 && (s->l->req.lookup & MX_LOOKUP_NATIVE) &&
	    !s->l->req.native_first && slot_native(s)) {
		s->soft = 0;
		s->why[0] = 0;
	}
	slot_done(s);
}

static void on_a(int status, const struct dns_answer *ans, void *arg)
{
	on_addr(status, ans, arg, 0);
}

static void on_aaaa(int status, const struct dns_answer *ans, void *arg)
{
	on_addr(status, ans, arg, 1);
}

/* slot_start - look up one exchanger; 1 when queries are outstanding. */
static int slot_start(struct mx_lookup *l, size_t i)
{
	struct mx_slot *s = &l->slot[i];
	const char *name = l->names[i].name;
	int dns = (l->req.lookup & MX_LOOKUP_DNS) && l->r && l->req.mx_enabled;

	s->l = l;
	s->idx = i;
	if (hosts_addr_parse(name, strlen(name), &s->a[0][0]) == 0) {
		/* An address as exchanger name (RFC 5321 forbids it; Postfix
		 * takes it): use it as it is. */
		int f = s->a[0][0].sa.ss_family == AF_INET ? 0 : 1;

		if (f == 1) {
			s->a[1][0] = s->a[0][0];
			s->na[1] = 1;
		} else {
			s->na[0] = 1;
		}
		return 0;
	}
	if ((l->req.lookup & MX_LOOKUP_NATIVE) && (l->req.native_first || !dns))
		if (slot_native(s) || !dns)
			return 0;
	if (!dns)
		return 0;
	s->why[0] = 0; /* the DNS answer explains better */
	if (l->req.families & HOSTS_INET4)
		s->pending++;
	if (l->req.families & HOSTS_INET6)
		s->pending++;
	/* Count first: a callback never runs inside dns_query(). */
	if (l->req.families & HOSTS_INET4)
		s->q[0] = dns_query(l->r, name, DNS_T_A, on_a, s);
	if (l->req.families & HOSTS_INET6)
		s->q[1] = dns_query(l->r, name, DNS_T_AAAA, on_aaaa, s);
	return s->pending > 0;
}

static void start_addresses(struct mx_lookup *l)
{
	size_t i;

	slots_alloc(l);
	l->pending = 1; /* held until every slot has started */
	for (i = 0; i < l->nnames; i++)
		if (slot_start(l, i))
			l->pending++;
	if (--l->pending == 0)
		assemble(l);
}

static void assemble(struct mx_lookup *l)
{
	struct mx_result *res = &l->res;
	const struct mx_slot *last = NULL;
	int soft = 0, retry = 0;
	unsigned limit = l->req.limit ? l->req.limit : MX_TARGET_MAX;
	unsigned best = l->nnames ? l->names[0].pref : 0, best_found;
	size_t i, j;
	int f;

	if (limit > MX_TARGET_MAX)
		limit = MX_TARGET_MAX;
	res->n = 0;
	for (i = 0; i < l->nnames; i++) {
		const struct mx_slot *s = &l->slot[i];

		/* As Postfix's smtp_addr_list(): each host's failure
		 * overwrites the text, a temporary one makes the status
		 * temporary for good. */
		if (s->na[0] + s->na[1] == 0) {
			last = s;
			retry = s->soft;
			soft |= s->soft;
		}
		for (f = 0; f < 2; f++)
			for (j = 0; j < s->na[f] && res->n < limit; j++) {
				struct mx_target *t = &res->t[res->n++];

				t->addr = s->a[f][j];
				t->pref = l->names[i].pref;
				memcpy(t->host, l->names[i].name,
				       sizeof(t->host));
			}
	}
	if (res->n == 0) {
		/* dns_lookup_v(): a retry is 4.4.3, not found 4.4.4 after an
		 * earlier retry, else 5.4.4. */
		const char *dsn = retry ? "4.4.3" : soft ? "4.4.4" : "5.4.4";

		if (l->by_mx)
			msg_warn("no MX host for %s has a valid address record",
				 l->host);
		if (last && last->why[0])
			result_set(res, soft ? DELIVER_DEFER : DELIVER_BOUNCE,
				   dsn, "%s%s", last->why, "");
		else /* no lookup said why (none could be made) */
			result_set(res, DELIVER_BOUNCE, "5.4.4",
				   "Host or domain name not found. Name service "
				   "error for name=%s type=%s: Host found but no "
				   "data record of requested type",
				   last ? l->names[last->idx].name : l->host,
				   (l->req.families & HOSTS_INET6) ? "AAAA" : "A");
		finish(l);
		return;
	}
	best_found = res->t[0].pref;
	/* A host (implicit MX, [host]) that is us: a loop, as Postfix's
	 * smtp_host_addr() says when loop detection is on. */
	if (!l->by_mx && l->req.loop_detect &&
	    mx_cut_self(res->t, &res->n, l->self, l->req.nself)) {
		result_set(res, DELIVER_BOUNCE, "5.4.6",
			   "mail for %s loops back to myself%s", l->host, "");
		finish(l);
		return;
	}
	if (l->by_mx && mx_cut_self(res->t, &res->n, l->self, l->req.nself) &&
	    res->n == 0) {
		if (best != best_found)
			result_set(res, DELIVER_DEFER, "4.4.4",
				   "unable to find primary relay for %s%s",
				   l->host, "");
		else
			result_set(res, DELIVER_BOUNCE, "5.4.6",
				   "mail for %s loops back to myself%s",
				   l->host, "");
		finish(l);
		return;
	}
	mx_order(res->t, res->n, l->req.randomize);
	res->status = DELIVER_SENT;
	finish(l);
}

/* ---- the MX lookup ---- */

static void on_mx(int status, const struct dns_answer *ans, void *arg)
{
	struct mx_lookup *l = arg;
	unsigned rnd[DNS_ANSWER_MAX];
	int n;

	l->mxq = NULL;
	switch (status) {
	case DNS_OK:
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		n = mx_names_from_answer(ans, l->req.randomize ? rnd : NULL,
					 l->names, MX_NAMES_MAX);
		if (n < 0) {
			result_set(&l->res, DELIVER_BOUNCE, "5.1.0",
				   "Domain %s does not accept mail (nullMX)%s",
				   l->host, "");
			finish(l);
			return;
		}
		if (n > 0) {
			l->nnames = (size_t)n;
			l->by_mx = 1;
			start_addresses(l);
			return;
		}
		/* MX records of no usable name: as NODATA */
		/* fall through */
	case DNS_NODATA: /* RFC 5321 5.1: the domain is its own exchanger */
		snprintf(l->names[0].name, sizeof(l->names[0].name), "%s",
			 l->host);
		l->names[0].pref = 0;
		l->nnames = 1;
		start_addresses(l);
		return;
	case DNS_NOTFOUND:
	case DNS_BADNAME:
		/* NXDOMAIN: the name exists for no type (RFC 8020); the text
		 * is the one Postfix gives after its A lookup. */
		result_set(&l->res, DELIVER_BOUNCE, "5.4.4",
			   "Host or domain name not found. Name service error "
			   "for name=%s type=%s: Host not found",
			   l->host,
			   status == DNS_BADNAME ? "MX"
			   : (l->req.families & HOSTS_INET4) ? "A"
							     : "AAAA");
		finish(l);
		return;
	default:
		result_set(&l->res, DELIVER_DEFER, "4.4.3",
			   "Host or domain name not found. Name service error "
			   "for name=%s type=%s: Host not found, try again",
			   l->host, "MX");
		finish(l);
		return;
	}
}

struct mx_lookup *mx_lookup_start(struct loop *lp, struct dns_resolver *r,
				  const struct mx_request *req, mx_done_fn *fn,
				  void *arg)
{
	struct mx_lookup *l = mem_zalloc(sizeof(*l));
	struct net_addr a;
	size_t len = strlen(req->host);

	l->lp = lp;
	l->r = r;
	l->fn = fn;
	l->arg = arg;
	l->req = *req;
	loop_timer_init(&l->timer, on_timer, l);
	if (len && req->host[len - 1] == '.') /* "example.com." */
		len--;
	if (len >= sizeof(l->host))
		len = sizeof(l->host) - 1;
	memcpy(l->host, req->host, len);
	l->req.host = l->host;
	if (req->hosts) {
		snprintf(l->hosts, sizeof(l->hosts), "%s", req->hosts);
		l->req.hosts = l->hosts;
	}
	l->req.nself = req->nself < MX_SELF_MAX ? req->nself : MX_SELF_MAX;
	if (l->req.nself)
		memcpy(l->self, req->self, l->req.nself * sizeof(*l->self));
	l->req.self = l->self;

	if (hosts_addr_parse(l->host, len, &a) == 0) {
		int f = a.sa.ss_family == AF_INET ? HOSTS_INET4 : HOSTS_INET6;

		if (!(req->families & f)) {
			result_set(&l->res, DELIVER_DEFER, "4.4.4",
				   "mail for [%s]: address family disabled "
				   "by inet_protocols%s",
				   l->host, "");
		} else {
			l->res.status = DELIVER_SENT;
			l->res.n = 1;
			l->res.t[0].addr = a;
			/* Logged as Postfix does: "1.2.3.4[1.2.3.4]". */
			inet_ntop(a.sa.ss_family,
				  a.sa.ss_family == AF_INET
					  ? (const void *)&((const struct sockaddr_in *)&a.sa)->sin_addr
					  : (const void *)&((const struct sockaddr_in6 *)&a.sa)->sin6_addr,
				  l->res.t[0].host, sizeof(l->res.t[0].host));
		}
		finish_later(l);
		return l;
	}
	if (!req->literal && req->mx_enabled && r &&
	    (req->lookup & MX_LOOKUP_DNS)) {
		l->mxq = dns_query(r, l->host, DNS_T_MX, on_mx, l);
		return l;
	}
	/* [host], or no DNS: the host's own addresses. */
	memcpy(l->names[0].name, l->host, sizeof(l->host));
	l->nnames = 1;
	l->pending = 1;
	slots_alloc(l);
	if (slot_start(l, 0))
		return l; /* the queries end in slot_done() */
	/* Answered from the hosts file: reported from the loop. */
	l->assemble_later = 1;
	finish_later(l);
	return l;
}

void mx_lookup_cancel(struct mx_lookup *l)
{
	size_t i;

	if (l == NULL)
		return;
	if (l->mxq)
		dns_query_cancel(l->mxq);
	for (i = 0; l->slot != NULL && i < l->nnames; i++) {
		if (l->slot[i].q[0])
			dns_query_cancel(l->slot[i].q[0]);
		if (l->slot[i].q[1])
			dns_query_cancel(l->slot[i].q[1]);
	}
	lookup_free(l);
}
