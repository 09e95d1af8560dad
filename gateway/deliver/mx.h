/* mx - the server addresses of an SMTP next hop, as Postfix's smtp_addr.c.
 *
 * A next hop "domain" (route.literal 0) is looked up as MX records: the
 * exchangers sorted by preference, their A/AAAA records in that order, at
 * most limit addresses. With randomize (smtp_randomize_addresses, as
 * Postfix) exchangers of equal preference are shuffled before the limit
 * (RFC 5321 5.1), and then the addresses of equal preference, so the
 * load spreads over all of them (a host's own addresses, which all have
 * the host's preference, too); without it the order is the one received. A
 * domain with no MX records (NODATA) falls back to its own A/AAAA records
 * (RFC 5321 5.1 implicit MX); NXDOMAIN fails at once (the name exists for
 * no type, RFC 8020). A null MX (RFC 7505: one record "0 .") fails for good
 * with 5.1.0. A next hop "[host]" (literal) is an address literal or a host
 * whose A/AAAA records are used directly.
 *
 * Host addresses come from the hosts file ("native") and/or the resolver
 * ("dns"), in the order smtp_host_lookup lists them; the first that knows
 * the name wins. A lookup that could not complete (DNS_TEMPFAIL) is never
 * taken for "not found": unless another exchanger gave addresses, the
 * result is a deferral (4.4.3), never a bounce. When no exchanger has an
 * address, the text is the one of the last lookup that failed (types in
 * the order A, AAAA; exchangers in preference order), as Postfix's
 * dns_lookup_v() and smtp_addr_list() overwrite it; the status is 4.4.3
 * when that lookup could not complete, 4.4.4 when an earlier one could
 * not, else 5.4.4. An answer without a record of the type counts as "no
 * data": the text is never empty.
 *
 * Loop detection (MX next hops only, as Postfix does it for domains): when
 * an exchanger's address is one of our own (self[]), the list is cut before
 * the first exchanger of that preference; nothing left is 5.4.6 "mail for D
 * loops back to myself" when we are the best MX, else 4.4.4 "unable to find
 * primary relay for D".
 *
 * Texts and enhanced status codes are Postfix's. The result is delivered
 * from the loop, never from inside mx_lookup_start(). */
#ifndef MAILGW_DELIVER_MX_H
#define MAILGW_DELIVER_MX_H

#include <stddef.h>

#include "core/net.h"
#include "deliver/deliver.h"
#include "dns/resolv.h"

#define MX_TARGET_MAX 16 /* addresses kept for one next hop */
#define MX_NAMES_MAX  16 /* exchangers looked at */
#define MX_SELF_MAX   32 /* own addresses compared */
#define MX_TEXT_MAX   512

#define MX_LOOKUP_NATIVE 1 /* smtp_host_lookup: native (hosts file) */
#define MX_LOOKUP_DNS    2 /* smtp_host_lookup: dns */

struct mx_target {
	struct net_addr addr;      /* port 0 */
	char host[ROUTE_HOST_MAX]; /* the exchanger (or host) name */
	unsigned pref;
};

struct mx_result {
	enum deliver_status status; /* DELIVER_SENT: n > 0 addresses */
	char dsn[8];
	char text[MX_TEXT_MAX];
	size_t n;
	struct mx_target t[MX_TARGET_MAX];
};

struct mx_request {
	const char *host;  /* next hop without brackets and port */
	int literal;       /* [host]: no MX lookup, no loop detection */
	int families;      /* HOSTS_INET4 | HOSTS_INET6 */
	int lookup;        /* MX_LOOKUP_* in order: native first when both */
	int native_first;  /* 1: "native, dns"; 0: "dns, native" */
	int mx_enabled;    /* 0: disable_dns_lookups (hosts only) */
	int loop_detect;   /* SMTP to port 25: own addresses are a loop */
	unsigned limit;    /* smtp_mx_address_limit (0: MX_TARGET_MAX) */
	int randomize;     /* smtp_randomize_addresses */
	const char *hosts; /* hosts file, NULL: HOSTS_PATH */
	const struct net_addr *self; /* our own addresses */
	size_t nself;
};

struct mx_lookup;
typedef void mx_done_fn(const struct mx_result *res, void *arg);

/* Start; fn runs once from the loop unless cancelled. The request's
 * strings are copied. r may be NULL when no DNS is wanted. */
struct mx_lookup *mx_lookup_start(struct loop *lp, struct dns_resolver *r,
				  const struct mx_request *req, mx_done_fn *fn,
				  void *arg);
void mx_lookup_cancel(struct mx_lookup *l);

/* ---- pure helpers (unit-tested) ---- */

struct mx_name {
	unsigned pref;
	char name[ROUTE_HOST_MAX];
};

/* mx_names_from_answer - the exchangers of an MX answer into out[0..max),
 * sorted by preference, equal ones in the order given by the random
 * values rnd[] (one per record; NULL: as received), duplicates dropped.
 * Returns how many; -1 for a null MX (a single "0 ." record, or any "."
 * exchanger: RFC 7505 3). */
int mx_names_from_answer(const struct dns_answer *ans, const unsigned *rnd,
			 struct mx_name *out, size_t max);

/* mx_order - t[0..n) is sorted by preference; with randomize, the
 * entries of equal preference come out in a random order (getrandom());
 * without, nothing changes. */
void mx_order(struct mx_target *t, size_t n, int randomize);

/* mx_cut_self - loop detection over t[0..*n): cut before the first
 * preference that holds an own address. Returns 0 when nothing matched,
 * 1 when the list was cut (possibly to *n == 0). */
int mx_cut_self(struct mx_target *t, size_t *n, const struct net_addr *self,
		size_t nself);

/* mx_self_addrs - our own addresses as Postfix's own_inet_addr_list():
 * the addresses in inet_interfaces and proxy_interfaces ("all": every
 * interface address; "loopback-only": 127.0.0.1 and ::1). Names that are
 * not address literals are skipped. Returns how many (<= max). */
size_t mx_self_addrs(const char *inet_interfaces, const char *proxy_interfaces,
		     struct net_addr *out, size_t max);

/* mx_lookup_flags - parse smtp_host_lookup ("dns", "native", "dns,
 * native", "native, dns") into req->lookup and req->native_first. An
 * empty or unknown value means dns. */
void mx_lookup_flags(const char *smtp_host_lookup, struct mx_request *req);

#endif
