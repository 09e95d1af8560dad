/* resolv - asynchronous stub resolver with a TTL cache (see resolv.h).
 *
 * RFC 1035 4.2 (UDP, TCP with a two-octet length), RFC 7766 (TCP after
 * truncation), RFC 6891 (EDNS0 UDP size), RFC 2308 (negative caching),
 * RFC 5452 (random ID and source port against spoofing: the ID comes from
 * getrandom(), the port from the kernel on a fresh socket per try, and the
 * UDP socket is connected, so the kernel drops datagrams from other
 * addresses). Trusts nothing in a reply: everything goes through the
 * packet parser, which also checks the question. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/str.h"
#include "deliver/hosts.h"
#include "dns/resolv.h"

#define MS_PER_S       1000u
#define TCP_LEN_PREFIX 2

enum qstate {
	Q_UDP,     /* waiting for a datagram */
	Q_TCP,     /* connecting, writing, reading */
	Q_DELIVER, /* answer ready, callback on the zero timer */
	Q_WAIT,    /* the same question is on the network: wait for it */
};

struct cache_ent {
	char name[DNS_NAME_TEXT_MAX]; /* lower case, no trailing dot */
	uint16_t type;
	int status;
	uint64_t expires; /* loop_clock_ms() */
	struct dns_answer *ans;
};

struct dns_query {
	struct dns_resolver *r;
	struct dns_query *prev, *next; /* resolver's pending list */
	char name[DNS_NAME_TEXT_MAX];
	uint16_t type, id;
	dns_done_fn *fn;
	void *arg;
	enum qstate state;
	struct loop_timer timer;
	int fd;
	unsigned tries;    /* network tries so far */
	unsigned server;   /* index of the server being asked */
	unsigned restarts; /* CNAME targets asked after the first name */
	uint8_t msg[DNS_QUERY_MAX];
	size_t msg_len;
	/* TCP: the length-prefixed query out, the reply in. */
	uint8_t *tcp_buf;
	size_t tcp_off, tcp_need;
	int tcp_connected;
	int status;
	struct dns_answer *ans;
};

struct dns_resolver {
	struct loop *lp;
	struct dns_conf conf;
	struct hosts_file *hosts; /* NULL: none */
	struct dns_query *pending;
	struct cache_ent *cache[DNS_CACHE_MAX];
	size_t ncache;
	struct dns_stats stats;
};

/* ---- configuration ---- */

static void conf_defaults(struct dns_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout = DNS_TIMEOUT_DEFAULT;
	c->attempts = DNS_ATTEMPTS_DEFAULT;
	c->ndots = 1;
}

static unsigned clamp(long v, unsigned lo, unsigned hi)
{
	return v < (long)lo ? lo : v > (long)hi ? hi : (unsigned)v;
}

static void conf_option(struct dns_conf *c, const char *w, size_t n)
{
	char tmp[32];
	long v;

	if (n >= sizeof(tmp))
		return;
	memcpy(tmp, w, n);
	tmp[n] = 0;
	if (str_has_prefix(tmp, "timeout:") && str_to_long(tmp + 8, &v) == 0)
		c->timeout = clamp(v, 1, DNS_TIMEOUT_MAX);
	else if (str_has_prefix(tmp, "attempts:") &&
		 str_to_long(tmp + 9, &v) == 0)
		c->attempts = clamp(v, 1, DNS_ATTEMPTS_MAX);
	else if (str_has_prefix(tmp, "ndots:") && str_to_long(tmp + 6, &v) == 0)
		c->ndots = clamp(v, 0, DNS_NDOTS_MAX);
}

/* The next blank-separated word of line[*i..n). */
static int next_word(const char *line, size_t n, size_t *i, const char **w,
		     size_t *wl)
{
	while (*i < n && (line[*i] == ' ' || line[*i] == '\t'))
		(*i)++;
	if (*i >= n)
		return 0;
	*w = line + *i;
	while (*i < n && line[*i] != ' ' && line[*i] != '\t')
		(*i)++;
	*wl = (size_t)(line + *i - *w);
	return 1;
}

void dns_conf_parse(const char *text, size_t len, struct dns_conf *out)
{
	size_t pos = 0;

	conf_defaults(out);
	while (pos < len) {
		const char *line = text + pos, *nl, *w;
		size_t n, i = 0, wl;

		nl = memchr(line, '\n', len - pos);
		n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		for (size_t k = 0; k < n; k++)
			if (line[k] == '#' || line[k] == ';') {
				n = k;
				break;
			}
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (!next_word(line, n, &i, &w, &wl))
			continue;
		if (wl == 10 && memcmp(w, "nameserver", 10) == 0) {
			struct net_addr a;

			if (next_word(line, n, &i, &w, &wl) &&
			    out->nserver < DNS_SERVERS_MAX &&
			    hosts_addr_parse(w, wl, &a) == 0) {
				if (a.sa.ss_family == AF_INET)
					((struct sockaddr_in *)&a.sa)
						->sin_port = htons(DNS_PORT);
				else
					((struct sockaddr_in6 *)&a.sa)
						->sin6_port = htons(DNS_PORT);
				out->server[out->nserver++] = a;
			}
		} else if (wl == 7 && memcmp(w, "options", 7) == 0) {
			while (next_word(line, n, &i, &w, &wl))
				conf_option(out, w, wl);
		}
	}
	if (out->nserver == 0) {
		struct sockaddr_in *s =
			(struct sockaddr_in *)&out->server[0].sa;

		memset(&out->server[0], 0, sizeof(out->server[0]));
		s->sin_family = AF_INET;
		s->sin_port = htons(DNS_PORT);
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		out->server[0].len = sizeof(*s);
		out->nserver = 1;
	}
}

int dns_conf_load(const char *path, struct dns_conf *out)
{
	struct buf text;
	char chunk[4096];
	ssize_t r;
	int fd;

	fd = open(path ? path : DNS_RESOLV_CONF, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		dns_conf_parse("", 0, out);
		return 0;
	}
	buf_init(&text, DNS_RESOLV_CONF_MAX);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&text, chunk, (size_t)r) < 0)
			break; /* the first DNS_RESOLV_CONF_MAX bytes count */
	if (r < 0) {
		r = -errno;
		close(fd);
		buf_free(&text);
		return (int)r;
	}
	close(fd);
	dns_conf_parse(buf_str(&text), buf_len(&text), out);
	buf_free(&text);
	return 0;
}

/* ---- cache ---- */

/* The cache key form of a name: lower case, no trailing dot. */
static void key_name(const char *name, char *out)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	memcpy(out, name, n);
	out[n] = 0;
	str_lower(out);
}

static void cache_drop(struct dns_resolver *r, size_t i)
{
	mem_free(r->cache[i]->ans);
	mem_free(r->cache[i]);
	r->cache[i] = r->cache[--r->ncache];
	r->stats.cache_entries = r->ncache;
}

static struct cache_ent *cache_find(struct dns_resolver *r, const char *key,
				    uint16_t type, uint64_t now)
{
	for (size_t i = 0; i < r->ncache; i++) {
		struct cache_ent *e = r->cache[i];

		if (e->type != type || strcmp(e->name, key) != 0)
			continue;
		if (e->expires <= now) {
			cache_drop(r, i);
			return NULL;
		}
		return e;
	}
	return NULL;
}

static void cache_store(struct dns_resolver *r, const char *key, uint16_t type,
			int status, const struct dns_answer *ans)
{
	uint64_t now = loop_clock_ms();
	uint32_t ttl;
	struct cache_ent *e;

	if (status == DNS_OK)
		ttl = ans->ttl < DNS_CACHE_TTL_MAX ? ans->ttl
						   : DNS_CACHE_TTL_MAX;
	else if (ans->neg_ttl != DNS_NEG_TTL_NONE)
		ttl = ans->neg_ttl < DNS_NEG_TTL_MAX ? ans->neg_ttl
						     : DNS_NEG_TTL_MAX;
	else
		return;
	if (ttl == 0 || ans->partial)
		return;
	if (cache_find(r, key, type, now) != NULL)
		return; /* a concurrent query stored it first */
	if (r->ncache == DNS_CACHE_MAX) {
		size_t victim = 0;

		for (size_t i = 0; i < r->ncache; i++)
			if (r->cache[i]->expires < r->cache[victim]->expires)
				victim = i;
		cache_drop(r, victim);
	}
	e = mem_zalloc(sizeof(*e));
	memcpy(e->name, key, strlen(key) + 1);
	e->type = type;
	e->status = status;
	e->expires = now + (uint64_t)ttl * MS_PER_S;
	e->ans = mem_memdup(ans, sizeof(*ans));
	r->cache[r->ncache++] = e;
	r->stats.cache_entries = r->ncache;
}

void dns_cache_flush(struct dns_resolver *r)
{
	while (r->ncache > 0)
		cache_drop(r, r->ncache - 1);
}

/* ---- queries ---- */

static void query_close_fd(struct dns_query *q)
{
	if (q->fd >= 0) {
		loop_fd_del(q->r->lp, q->fd, LOOP_ALL);
		close(q->fd);
		q->fd = -1;
	}
}

static void query_free(struct dns_query *q)
{
	struct dns_resolver *r = q->r;

	query_close_fd(q);
	loop_timer_cancel(r->lp, &q->timer);
	if (q->prev)
		q->prev->next = q->next;
	else
		r->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
	mem_free(q->tcp_buf);
	mem_free(q->ans);
	mem_free(q);
}

static int on_network(const struct dns_query *q)
{
	return q->state == Q_UDP || q->state == Q_TCP;
}

static int same_question(const struct dns_query *a, const struct dns_query *b)
{
	return a != b && a->type == b->type && str_casecmp(a->name, b->name) == 0;
}

/* Hand the result over on the zero timer (never from dns_query()). */
static void query_deliver_later(struct dns_query *q, int status)
{
	query_close_fd(q);
	q->status = status;
	q->state = Q_DELIVER;
	loop_timer_set(q->r->lp, &q->timer, 0);
}

/* wake_twins - q's question has an outcome, or q stops asking it: the
 * queries that waited for it go on. An outcome (status DNS_*) is theirs
 * too: each gets its own copy of q's answer, or the temporary failure, so
 * one question costs one exchange with the server even when the answer is
 * not cached (TTL 0, no SOA) and a dead server costs one timeout, not one
 * per waiting query. TWINS_RESTART (q was cancelled): they start again,
 * and the first becomes the one on the network. */
#define TWINS_RESTART (-1)

static void query_start(struct dns_query *q);
static int query_follow(struct dns_query *q);

static void wake_twins(struct dns_query *q, int status)
{
	struct dns_query *w, *next;

	for (w = q->r->pending; w; w = next) {
		next = w->next;
		if (w->state != Q_WAIT || !same_question(w, q))
			continue;
		if (status == TWINS_RESTART) {
			query_start(w);
			continue;
		}
		if (status == DNS_TEMPFAIL) {
			q->r->stats.tempfails++;
			query_deliver_later(w, DNS_TEMPFAIL);
			continue;
		}
		w->ans = mem_memdup(q->ans, sizeof(*q->ans));
		/* A CNAME to chase is chased by each, asked once on the
		 * wire: the first goes there, the others wait for it. */
		if (status == DNS_NODATA && query_follow(w))
			continue;
		query_deliver_later(w, status);
	}
}

/* A usable reply arrived: cache it and deliver. */
static void query_try(struct dns_query *q);

static void query_answered(struct dns_query *q)
{
	char key[DNS_NAME_TEXT_MAX];
	int status;

	if (q->ans->rcode == DNS_R_NXDOMAIN)
		status = DNS_NOTFOUND;
	else if (q->ans->n == 0)
		status = DNS_NODATA;
	else
		status = DNS_OK;
	key_name(q->name, key);
	cache_store(q->r, key, q->type, status, q->ans);
	q->state = Q_DELIVER; /* off the network: not a twin to wait for */
	wake_twins(q, status);
	if (status == DNS_NODATA && query_follow(q))
		return;
	query_deliver_later(q, status);
}

/* This server failed (timeout, error, bad rcode): the next try. */
static void query_next(struct dns_query *q)
{
	struct dns_resolver *r = q->r;

	query_close_fd(q);
	if (q->tries >= r->conf.nserver * r->conf.attempts) {
		r->stats.tempfails++;
		q->state = Q_DELIVER;
		wake_twins(q, DNS_TEMPFAIL);
		query_deliver_later(q, DNS_TEMPFAIL);
		return;
	}
	query_try(q);
}

/* Judge a parsed reply: 1 done, 0 ignore it, -1 next server. */
static int query_judge(struct dns_query *q, const uint8_t *p, size_t n)
{
	int rc;

	if (q->ans == NULL)
		q->ans = mem_alloc(sizeof(*q->ans));
	rc = dns_answer_parse(p, n, q->id, q->name, q->type, q->ans);
	if (rc != 0) {
		q->r->stats.ignored++;
		return 0;
	}
	switch (q->ans->rcode) {
	case DNS_R_NOERROR:
	case DNS_R_NXDOMAIN:
		return 1;
	default: /* SERVFAIL, REFUSED, FORMERR, NOTIMP, ... */
		return -1;
	}
}

static void tcp_start(struct dns_query *q);

static void udp_readable(struct loop *lp, int fd, int ready, void *arg)
{
	struct dns_query *q = arg;
	uint8_t buf[DNS_MSG_MAX];
	ssize_t n;

	(void)lp;
	(void)ready;
	for (;;) {
		int v;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			query_next(q); /* ECONNREFUSED: nobody on port 53 */
			return;
		}
		v = query_judge(q, buf, (size_t)n);
		if (v == 0)
			continue;
		if (v < 0) {
			query_next(q);
		} else if (q->ans->tc) {
			query_close_fd(q);
			tcp_start(q);
		} else {
			query_answered(q);
		}
		return;
	}
}

static void query_timeout(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct dns_query *q = arg;

	(void)lp;
	(void)t;
	if (q->state == Q_DELIVER) {
		dns_done_fn *fn = q->fn;
		void *fnarg = q->arg;
		int status = q->status;
		struct dns_answer *ans = q->ans;

		q->ans = NULL; /* survives query_free() for the call */
		query_free(q);
		fn(status,
		   status == DNS_TEMPFAIL || status == DNS_BADNAME ? NULL : ans,
		   fnarg);
		mem_free(ans);
		return;
	}
	q->r->stats.timeouts++;
	query_next(q);
}

static int sock_bind_any(int fd, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	len = family == AF_INET ? sizeof(struct sockaddr_in)
				: sizeof(struct sockaddr_in6);
	return bind(fd, (struct sockaddr *)&ss, len); /* port 0: random */
}

/* One UDP try at the next server. */
static void query_try(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	const struct net_addr *srv;
	int fd;

	q->server = q->tries % r->conf.nserver;
	q->tries++;
	q->state = Q_UDP;
	srv = &r->conf.server[q->server];
	if (getrandom(&q->id, sizeof(q->id), 0) != sizeof(q->id)) {
		query_next(q);
		return;
	}
	q->msg[0] = (uint8_t)(q->id >> 8);
	q->msg[1] = (uint8_t)q->id;
	loop_timer_set(r->lp, &q->timer, (uint64_t)r->conf.timeout * MS_PER_S);
	fd = socket(srv->sa.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return; /* the timer moves on */
	if (sock_bind_any(fd, srv->sa.ss_family) != 0 ||
	    connect(fd, (const struct sockaddr *)&srv->sa, srv->len) != 0 ||
	    loop_fd_add(r->lp, fd, LOOP_READABLE, udp_readable, q) != 0) {
		close(fd);
		return;
	}
	q->fd = fd;
	r->stats.udp_sent++;
	if (send(fd, q->msg, q->msg_len, 0) != (ssize_t)q->msg_len)
		query_next(q);
}

static void tcp_event(struct loop *lp, int fd, int ready, void *arg)
{
	struct dns_query *q = arg;
	ssize_t n;

	(void)ready;
	if (!q->tcp_connected) {
		if (net_connect_result(fd) != 0) {
			query_next(q);
			return;
		}
		q->tcp_connected = 1;
	}
	if (q->tcp_need == 0) { /* still writing the query */
		n = send(fd, q->tcp_buf + q->tcp_off,
			 TCP_LEN_PREFIX + q->msg_len - q->tcp_off,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				query_next(q);
			return;
		}
		q->tcp_off += (size_t)n;
		if (q->tcp_off < TCP_LEN_PREFIX + q->msg_len)
			return;
		q->tcp_off = 0;
		q->tcp_need = TCP_LEN_PREFIX;
		loop_fd_del(lp, fd, LOOP_WRITABLE);
		loop_fd_add(lp, fd, LOOP_READABLE, tcp_event, q);
		return;
	}
	for (;;) {
		n = recv(fd, q->tcp_buf + q->tcp_off, q->tcp_need - q->tcp_off,
			 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			query_next(q); /* closed early or error */
			return;
		}
		q->tcp_off += (size_t)n;
		if (q->tcp_off < q->tcp_need)
			continue;
		if (q->tcp_need == TCP_LEN_PREFIX) {
			size_t len =
				(size_t)(q->tcp_buf[0] << 8 | q->tcp_buf[1]);

			if (len < DNS_HEADER_LEN) {
				query_next(q);
				return;
			}
			q->tcp_need = TCP_LEN_PREFIX + len;
			continue;
		}
		break;
	}
	/* A truncated reply over TCP is no answer either. */
	if (query_judge(q, q->tcp_buf + TCP_LEN_PREFIX,
			q->tcp_need - TCP_LEN_PREFIX) == 1 &&
	    !q->ans->tc)
		query_answered(q);
	else
		query_next(q);
}

/* Ask the current server again over TCP (RFC 7766). */
static void tcp_start(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	int fd;

	q->state = Q_TCP;
	r->stats.tcp_sent++;
	if (q->tcp_buf == NULL)
		q->tcp_buf = mem_alloc(TCP_LEN_PREFIX + DNS_MSG_MAX);
	q->tcp_buf[0] = (uint8_t)(q->msg_len >> 8);
	q->tcp_buf[1] = (uint8_t)q->msg_len;
	memcpy(q->tcp_buf + TCP_LEN_PREFIX, q->msg, q->msg_len);
	q->tcp_off = 0;
	q->tcp_need = 0;
	q->tcp_connected = 0;
	loop_timer_set(r->lp, &q->timer, (uint64_t)r->conf.timeout * MS_PER_S);
	if (net_connect(&r->conf.server[q->server], &fd) != 0)
		return; /* the timer moves on */
	if (loop_fd_add(r->lp, fd, LOOP_WRITABLE, tcp_event, q) != 0) {
		close(fd);
		return;
	}
	q->fd = fd;
}

/* PTR of an address from the hosts file: 1 when answered. */
static int query_hosts_ptr(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	struct net_addr a;
	char name[DNS_NAME_TEXT_MAX];
	const char *text;
	size_t plen, nlen, tlen;
	int n;

	if (hosts_ptr_addr(q->name, strlen(q->name), &a) < 0)
		return 0;
	if (hosts_file_text(r->hosts, &text, &tlen) < 0)
		return 0;
	n = (int)hosts_find_name(text, tlen, &a, name, sizeof(name));
	if (n <= 0)
		return 0;
	q->ans = mem_zalloc(sizeof(*q->ans));
	q->ans->neg_ttl = DNS_NEG_TTL_NONE;
	key_name(q->name, q->ans->pool);
	plen = strlen(q->ans->pool) + 1;
	nlen = (size_t)n + 1;
	if (plen + nlen > sizeof(q->ans->pool)) {
		mem_free(q->ans);
		q->ans = NULL;
		return 0;
	}
	memcpy(q->ans->pool + plen, name, nlen);
	q->ans->rr[0].type = DNS_T_PTR;
	q->ans->rr[0].off = (uint32_t)plen;
	q->ans->rr[0].len = (uint32_t)n;
	q->ans->n = 1;
	q->ans->cname_off = 0;
	q->ans->pool_len = plen + nlen;
	r->stats.hosts_hits++;
	query_deliver_later(q, DNS_OK);
	return 1;
}

/* A, AAAA and PTR from the hosts file: 1 when answered. */
static int query_hosts(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	struct net_addr a[HOSTS_ADDR_MAX];
	const char *text;
	size_t tlen;
	int n;

	if (r->hosts == NULL)
		return 0;
	if (q->type == DNS_T_PTR)
		return query_hosts_ptr(q);
	if (q->type != DNS_T_A && q->type != DNS_T_AAAA)
		return 0;
	if (hosts_file_text(r->hosts, &text, &tlen) < 0)
		return 0;
	n = (int)hosts_find(text, tlen, q->name,
			    q->type == DNS_T_A ? HOSTS_INET4 : HOSTS_INET6, a,
			    HOSTS_ADDR_MAX);
	if (n <= 0)
		return 0;
	q->ans = mem_zalloc(sizeof(*q->ans));
	q->ans->neg_ttl = DNS_NEG_TTL_NONE;
	for (int i = 0; i < n && i < DNS_ANSWER_MAX; i++) {
		struct dns_rr *rr = &q->ans->rr[q->ans->n++];

		rr->type = q->type;
		if (q->type == DNS_T_A)
			memcpy(rr->addr,
			       &((struct sockaddr_in *)&a[i].sa)->sin_addr, 4);
		else
			memcpy(rr->addr,
			       &((struct sockaddr_in6 *)&a[i].sa)->sin6_addr,
			       16);
	}
	q->ans->cname_off = 0;
	key_name(q->name, q->ans->pool);
	q->ans->pool_len = strlen(q->ans->pool) + 1;
	r->stats.hosts_hits++;
	query_deliver_later(q, DNS_OK);
	return 1;
}

/* Hosts file, cache, else the network, for q->name (q->msg built). */
static void query_start(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	char key[DNS_NAME_TEXT_MAX];
	struct cache_ent *e;

	mem_free(q->ans);
	q->ans = NULL;
	q->tries = 0;
	if (query_hosts(q))
		return;
	key_name(q->name, key);
	e = cache_find(r, key, q->type, loop_clock_ms());
	if (e != NULL) {
		uint64_t left = (e->expires - loop_clock_ms()) / MS_PER_S;

		r->stats.cache_hits++;
		q->ans = mem_memdup(e->ans, sizeof(*e->ans));
		q->ans->ttl = (uint32_t)left; /* what is left of it */
		query_deliver_later(q, e->status);
		return;
	}
	for (struct dns_query *p = r->pending; p; p = p->next)
		if (on_network(p) && same_question(p, q)) {
			/* Asked already: one question on the wire. */
			r->stats.coalesced++;
			q->state = Q_WAIT;
			return;
		}
	r->stats.cache_misses++;
	query_try(q);
}

/* The answer ends in a CNAME whose target it does not carry, and no SOA
 * says the target has no such record: ask for the target (as Postfix's
 * dns_lookup does), at most DNS_CNAME_MAX times. 1 when restarted. */
static int query_follow(struct dns_query *q)
{
	const char *end = q->ans->pool + q->ans->cname_off;
	size_t n = strlen(end);

	if (q->type == DNS_T_CNAME || q->ans->neg_ttl != DNS_NEG_TTL_NONE ||
	    q->restarts >= DNS_CNAME_MAX || n >= sizeof(q->name) ||
	    str_casecmp(end, q->name) == 0 ||
	    dns_query_format(q->msg, sizeof(q->msg), 0, end, q->type,
			     DNS_EDNS_UDP_SIZE, &q->msg_len) != 0)
		return 0;
	q->restarts++;
	q->r->stats.cname_restarts++;
	memmove(q->name, end, n + 1);
	query_start(q);
	return 1;
}

struct dns_query *dns_query(struct dns_resolver *r, const char *name,
			    uint16_t type, dns_done_fn *fn, void *arg)
{
	struct dns_query *q = mem_zalloc(sizeof(*q));
	size_t n = strlen(name);

	q->r = r;
	q->fd = -1;
	q->type = type;
	q->fn = fn;
	q->arg = arg;
	loop_timer_init(&q->timer, query_timeout, q);
	q->next = r->pending;
	if (r->pending)
		r->pending->prev = q;
	r->pending = q;
	r->stats.queries++;
	if (n >= sizeof(q->name) ||
	    dns_query_format(q->msg, sizeof(q->msg), 0, name, type,
			     DNS_EDNS_UDP_SIZE, &q->msg_len) != 0) {
		query_deliver_later(q, DNS_BADNAME);
		return q;
	}
	memcpy(q->name, name, n + 1);
	query_start(q);
	return q;
}

void dns_query_cancel(struct dns_query *q)
{
	/* Those that waited for q's answer ask for themselves. */
	if (on_network(q)) {
		q->state = Q_DELIVER;
		wake_twins(q, TWINS_RESTART);
	}
	query_free(q);
}

struct dns_resolver *dns_resolver_new(struct loop *lp,
				      const struct dns_conf *conf,
				      const char *hosts_path)
{
	struct dns_resolver *r = mem_zalloc(sizeof(*r));

	r->lp = lp;
	r->conf = *conf;
	if (r->conf.nserver == 0)
		dns_conf_parse("", 0, &r->conf);
	if (r->conf.attempts == 0)
		r->conf.attempts = 1;
	if (r->conf.timeout == 0)
		r->conf.timeout = 1;
	if (hosts_path == NULL)
		hosts_path = HOSTS_PATH;
	if (hosts_path[0] != 0) {
		r->hosts = mem_alloc(sizeof(*r->hosts));
		hosts_file_init(r->hosts, hosts_path);
	}
	return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	while (r->pending)
		query_free(r->pending);
	dns_cache_flush(r);
	if (r->hosts != NULL)
		hosts_file_free(r->hosts);
	mem_free(r->hosts);
	mem_free(r);
}

const struct dns_stats *dns_resolver_stats(const struct dns_resolver *r)
{
	return &r->stats;
}

const char *dns_status_name(int status)
{
	switch (status) {
	case DNS_OK:
		return "ok";
	case DNS_NOTFOUND:
		return "not found";
	case DNS_NODATA:
		return "no data";
	case DNS_TEMPFAIL:
		return "temporary failure";
	case DNS_BADNAME:
		return "bad name";
	default:
		return "unknown";
	}
}
