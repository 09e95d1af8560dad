/* peer - the client's host name by PTR and forward lookup (peer.h).
 *
 * Follows Postfix's smtpd_peer_sockaddr_to_hostname() and
 * sockaddr_to_hostname() (myaddrinfo.c): a numeric or malformed PTR name
 * counts as no name; a name whose forward lookup fails or does not list
 * the client address is not verified. The names come from the DNS
 * through our resolver instead of getnameinfo()/getaddrinfo(); both
 * lookups see /etc/hosts first (the resolver's hosts file), as glibc's do
 * with "files dns", so 127.0.0.1 is "localhost" as in Postfix. Trusts nothing in the answers beyond what the resolver
 * checked: names are length-bounded and checked as host names before use.
 */
#include "smtpd/peer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "dns/resolv.h"
#include "smtpd/restrict.h"

struct smtpd_peer_lookup {
	struct loop *lp;
	struct dns_resolver *dns;
	struct smtpd_peer *out;
	smtpd_peer_done_fn *done;
	void *arg;
	struct dns_query *q;
	struct loop_timer timer; /* deadline, or the zero timer to finish */
	int finished;
	int family;
	unsigned char addr[16];
	char addr_str[64];
};

void smtpd_peer_unknown(struct smtpd_peer *p, int status)
{
	snprintf(p->name, sizeof(p->name), "unknown");
	snprintf(p->reverse_name, sizeof(p->reverse_name), "unknown");
	p->name_status = status;
	p->reverse_status = status;
}

/* Hand the result over from the loop: on a zero timer when called from
 * a resolver callback or at the start. */
static void finish(struct smtpd_peer_lookup *pl)
{
	pl->finished = 1;
	if (pl->q != NULL) {
		dns_query_cancel(pl->q);
		pl->q = NULL;
	}
	loop_timer_set(pl->lp, &pl->timer, 0);
}

static void on_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct smtpd_peer_lookup *pl = arg;
	(void)lp, (void)t;

	if (!pl->finished) {
		/* the deadline: what is still missing failed temporarily */
		if (pl->out->reverse_status != SMTPD_PEER_OK)
			pl->out->reverse_status = SMTPD_PEER_TEMP;
		msg_warn("hostname lookup for %s timed out", pl->addr_str);
		if (pl->out->reverse_status == SMTPD_PEER_OK)
			msg_warn("hostname %s does not resolve to address %s: "
				 "Temporary failure in name resolution",
				 pl->out->reverse_name, pl->addr_str);
		snprintf(pl->out->name, sizeof(pl->out->name), "unknown");
		pl->out->name_status = SMTPD_PEER_TEMP;
		if (pl->q != NULL) {
			dns_query_cancel(pl->q);
			pl->q = NULL;
		}
	}
	smtpd_peer_done_fn *done = pl->done;
	void *darg = pl->arg;
	mem_free(pl);
	done(darg);
}

/* The reasons glibc's gai_strerror() gives, as Postfix logs them. */
static const char *fwd_reason(int status)
{
	switch (status) {
	case DNS_TEMPFAIL:
		return "Temporary failure in name resolution";
	case DNS_NODATA:
		return "No address associated with hostname";
	default:
		return "Name or service not known";
	}
}

static void forward_done(int status, const struct dns_answer *ans, void *arg)
{
	struct smtpd_peer_lookup *pl = arg;
	struct smtpd_peer *p = pl->out;
	uint16_t type = pl->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	size_t alen = pl->family == AF_INET ? 4 : 16;
	int found = 0;

	pl->q = NULL;
	for (size_t i = 0; status == DNS_OK && ans != NULL && i < ans->n; i++)
		if (ans->rr[i].type == type &&
		    memcmp(ans->rr[i].addr, pl->addr, alen) == 0)
			found = 1;
	if (found) {
		p->name_status = SMTPD_PEER_OK;
	} else {
		if (status == DNS_OK)
			msg_warn("hostname %s does not resolve to address %s",
				 p->reverse_name, pl->addr_str);
		else
			msg_warn("hostname %s does not resolve to address %s: "
				 "%s",
				 p->reverse_name, pl->addr_str,
				 fwd_reason(status));
		snprintf(p->name, sizeof(p->name), "unknown");
		p->name_status = status == DNS_TEMPFAIL ? SMTPD_PEER_TEMP
							: SMTPD_PEER_FORGED;
	}
	finish(pl);
}

static void ptr_done(int status, const struct dns_answer *ans, void *arg)
{
	struct smtpd_peer_lookup *pl = arg;
	struct smtpd_peer *p = pl->out;
	const char *name = NULL;

	pl->q = NULL;
	for (size_t i = 0; status == DNS_OK && ans != NULL && i < ans->n; i++)
		if (ans->rr[i].type == DNS_T_PTR) {
			name = dns_rr_text(ans, &ans->rr[i]);
			break;
		}
	if (name != NULL) {
		unsigned char tmp[16];
		if (inet_pton(AF_INET, name, tmp) == 1 ||
		    inet_pton(AF_INET6, name, tmp) == 1) {
			msg_warn("numeric hostname: %s", name);
			name = NULL;
		} else if (strlen(name) >= sizeof(p->name) ||
			   !restrict_valid_hostname(name)) {
			msg_warn("%s: malformed hostname in PTR record: %.255s",
				 pl->addr_str, name);
			name = NULL;
		}
	}
	if (name == NULL) {
		smtpd_peer_unknown(p, status == DNS_TEMPFAIL ? SMTPD_PEER_TEMP
							     : SMTPD_PEER_PERM);
		finish(pl);
		return;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->reverse_name, sizeof(p->reverse_name), "%s", name);
	p->reverse_status = SMTPD_PEER_OK;
	/* until the forward lookup says more */
	p->name_status = SMTPD_PEER_TEMP;
	pl->q = dns_query(pl->dns, p->name,
			  pl->family == AF_INET ? DNS_T_A : DNS_T_AAAA,
			  forward_done, pl);
}

struct smtpd_peer_lookup *
smtpd_peer_lookup(struct loop *lp, struct dns_resolver *dns, const char *addr,
		  struct smtpd_peer *out, smtpd_peer_done_fn *done, void *arg)
{
	struct smtpd_peer_lookup *pl = mem_zalloc(sizeof(*pl));
	char q[128];

	pl->lp = lp;
	pl->dns = dns;
	pl->out = out;
	pl->done = done;
	pl->arg = arg;
	snprintf(pl->addr_str, sizeof(pl->addr_str), "%s", addr);
	loop_timer_init(&pl->timer, on_timer, pl);
	smtpd_peer_unknown(out, SMTPD_PEER_TEMP);
	if (inet_pton(AF_INET, addr, pl->addr) == 1)
		pl->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, pl->addr) == 1)
		pl->family = AF_INET6;
	if (pl->family == 0 ||
	    restrict_reverse_addr(
		    addr, pl->family == AF_INET ? "in-addr.arpa" : "ip6.arpa",
		    q, sizeof(q)) < 0) {
		smtpd_peer_unknown(out, SMTPD_PEER_PERM);
		finish(pl);
		return pl;
	}
	pl->q = dns_query(dns, q, DNS_T_PTR, ptr_done, pl);
	loop_timer_set(lp, &pl->timer, SMTPD_PEER_TIMEOUT_MS);
	return pl;
}

void smtpd_peer_cancel(struct smtpd_peer_lookup *pl)
{
	if (pl == NULL)
		return;
	if (pl->q != NULL)
		dns_query_cancel(pl->q);
	loop_timer_cancel(pl->lp, &pl->timer);
	mem_free(pl);
}
