/* resolv - asynchronous stub resolver and cache on the event loop.
 *
 * Servers and options come from a resolv.conf(5)-format file
 * (dns_conf_load(); the gateway passes dns_resolv_conf, default
 * /etc/resolv.conf): "nameserver ADDR" lines (IPv4 or IPv6, port 53, at most
 * DNS_SERVERS_MAX, as glibc's MAXNS) and "options timeout:N attempts:N
 * ndots:N". With no nameserver line the server is 127.0.0.1, as glibc does.
 * Names are always asked as given (absolute): no search list, ndots is
 * parsed and kept but not used (mail domains are fully qualified).
 *
 * A query: A and AAAA look in the hosts file first, and so does PTR of an
 * in-addr.arpa/ip6.arpa name, answered with the first name of the
 * address's first line, as glibc's "files" source (deliver/hosts.h; a hit
 * is answered with TTL 0 and not cached); then the cache; then UDP to the
 * servers in order, each attempt from a fresh socket bound to port 0 (a
 * kernel-chosen source port) with a fresh ID from getrandom(), EDNS0 with
 * DNS_EDNS_UDP_SIZE. A reply that is not for this query (ID, question,
 * source) is ignored and the wait goes on. TC=1 asks the same server again
 * over TCP. A timeout (timeout per attempt), a refused port, SERVFAIL,
 * REFUSED, FORMERR or NOTIMP moves to the next server; after
 * attempts x servers tries the result is DNS_TEMPFAIL: the caller defers, it
 * never takes a failed lookup for "not found". An answer that ends in a
 * CNAME without the target's records and without an SOA (an authoritative
 * server that does not chase the chain into another zone) makes the
 * resolver ask for the target, at most DNS_CNAME_MAX times; the name then
 * asked is the one cached (the first name is not).
 *
 * Cache: positive answers for min(TTL, DNS_CACHE_TTL_MAX) seconds, NXDOMAIN
 * and NODATA for min(SOA TTL, SOA MINIMUM, DNS_NEG_TTL_MAX) seconds when the
 * reply carried an SOA (RFC 2308 5), nothing else. At most DNS_CACHE_MAX
 * entries: a full cache drops an expired entry or else the one nearest to
 * expiry. Lookup is a linear scan of the bounded table. A cached answer
 * comes back with ans->ttl set to the seconds it has left; the records'
 * own TTLs are as received.
 *
 * In flight: a question (name ignoring case, and type) asked while the same
 * one is on the network is not sent again; the query waits and gets its
 * own copy of the outcome (answer, or DNS_TEMPFAIL), cacheable or not.
 * When the query on the network is cancelled, one waiting query asks in
 * its place.
 *
 * Callbacks always run later from the loop, never from inside dns_query()
 * (a cache or hosts hit is delivered on a zero timer), so the caller may
 * store the handle first. The answer passed to the callback is valid only
 * during the call. dns_query_cancel() before the callback frees the query
 * and the callback never runs; after the callback started the handle is
 * gone. dns_resolver_free() frees pending queries without callbacks.
 *
 * Errors: dns_conf_load() returns 0 or -errno; everything else reports
 * through the callback's status. */
#ifndef MAILGW_DNS_RESOLV_H
#define MAILGW_DNS_RESOLV_H

#include <stdint.h>

#include "core/loop.h"
#include "core/net.h"
#include "dns/packet.h"

#define DNS_RESOLV_CONF      "/etc/resolv.conf"
#define DNS_RESOLV_CONF_MAX  65536 /* bytes read of resolv.conf */
#define DNS_SERVERS_MAX      3     /* glibc MAXNS */
#define DNS_PORT             53
#define DNS_TIMEOUT_DEFAULT  5  /* seconds per attempt (glibc RES_TIMEOUT) */
#define DNS_TIMEOUT_MAX      30 /* glibc RES_MAXRETRANS */
#define DNS_ATTEMPTS_DEFAULT 2  /* rounds over the servers (RES_DFLRETRY) */
#define DNS_ATTEMPTS_MAX     5  /* glibc RES_MAXRETRY */
#define DNS_NDOTS_MAX        15
#define DNS_EDNS_UDP_SIZE    1232  /* DNS flag day 2020 */
#define DNS_CACHE_MAX        512   /* entries */
#define DNS_CACHE_TTL_MAX    86400 /* seconds a positive answer is kept */
#define DNS_NEG_TTL_MAX      3600  /* seconds a negative answer is kept */

/* Callback status. */
#define DNS_OK       0 /* records of the type (ans->n > 0) */
#define DNS_NOTFOUND 1 /* NXDOMAIN */
#define DNS_NODATA   2 /* the name exists, no record of the type */
#define DNS_TEMPFAIL 3 /* no usable answer (timeouts, SERVFAIL, ...) */
#define DNS_BADNAME  4 /* the name cannot be asked (syntax, length) */

struct dns_conf {
	struct net_addr server[DNS_SERVERS_MAX];
	unsigned nserver;
	unsigned timeout;  /* seconds per attempt */
	unsigned attempts; /* rounds over the servers */
	unsigned ndots;
};

struct dns_stats {
	uint64_t queries;        /* dns_query() calls */
	uint64_t hosts_hits;     /* answered from the hosts file */
	uint64_t cache_hits;     /* answered from the cache */
	uint64_t cache_misses;   /* went to the network */
	uint64_t udp_sent;       /* UDP packets sent (every try) */
	uint64_t tcp_sent;       /* TCP queries (after TC=1) */
	uint64_t timeouts;       /* tries that timed out */
	uint64_t ignored;        /* replies not for the query, or malformed */
	uint64_t tempfails;      /* queries ending in DNS_TEMPFAIL */
	uint64_t cname_restarts; /* CNAME targets asked separately */
	uint64_t coalesced;      /* waited for the same question in flight */
	uint64_t cache_entries;  /* entries held now (<= DNS_CACHE_MAX) */
};

struct dns_resolver;
struct dns_query;

/* ans is NULL for DNS_TEMPFAIL and DNS_BADNAME. */
typedef void dns_done_fn(int status, const struct dns_answer *ans, void *arg);

/* dns_conf_parse - resolv.conf text[0..len) into out (pure). Unknown lines
 * and malformed addresses are skipped; options are clamped to the maxima. */
void dns_conf_parse(const char *text, size_t len, struct dns_conf *out);
/* dns_conf_load - read path (NULL: DNS_RESOLV_CONF) and parse it; a
 * missing file gives the defaults (127.0.0.1). 0 or -errno. */
int dns_conf_load(const char *path, struct dns_conf *out);

/* hosts_path NULL: HOSTS_PATH; "" : no hosts file. conf is copied. */
struct dns_resolver *dns_resolver_new(struct loop *lp,
				      const struct dns_conf *conf,
				      const char *hosts_path);
void dns_resolver_free(struct dns_resolver *r);
const struct dns_stats *dns_resolver_stats(const struct dns_resolver *r);
/* Forget every cached answer. */
void dns_cache_flush(struct dns_resolver *r);

/* dns_query - look up name (NUL-terminated) for type (DNS_T_*); fn runs
 * once, later, unless cancelled. Never NULL. */
struct dns_query *dns_query(struct dns_resolver *r, const char *name,
			    uint16_t type, dns_done_fn *fn, void *arg);
void dns_query_cancel(struct dns_query *q);

const char *dns_status_name(int status);

#endif
