/* peer - the SMTP client's host name, looked up at connect as Postfix's
 * smtpd_peer.c does, but asynchronously on the event loop with the
 * project's resolver (dns/resolv.h), so other sessions go on meanwhile.
 *
 * The lookup: PTR of the client address (in-addr.arpa, or ip6.arpa
 * nibbles); the first name that is a valid host name and not numeric
 * becomes the reverse name; then A (IPv4 client) or AAAA (IPv6 client) of
 * that name; when one of the addresses is the client's, the name is
 * verified. Results as Postfix keeps them:
 *
 *   name           the verified name, else "unknown"
 *   reverse_name   the PTR name even when not verified, else "unknown"
 *   name_status, reverse_status:
 *     SMTPD_PEER_OK      found (and for name: maps back to the address)
 *     SMTPD_PEER_TEMP    a lookup failed temporarily (timeout, SERVFAIL)
 *     SMTPD_PEER_PERM    no PTR (NXDOMAIN, no data, a bad name), or the
 *                        lookup is off (smtpd_peername_lookup = no)
 *     SMTPD_PEER_FORGED  the name does not map back to the address
 *
 * reject_unknown_client_hostname rejects when name_status is not OK:
 * unknown_client_reject_code for PERM and FORGED, 450 for TEMP;
 * reject_unknown_reverse_client_hostname when reverse_status is not OK:
 * unknown_client_reject_code for PERM, 450 otherwise (smtpd_check.c).
 *
 * Logs, as Postfix: "warning: numeric hostname: NAME" (a PTR that is an
 * address), "warning: hostname NAME does not resolve to address ADDR"
 * (with ": REASON" when the forward lookup failed).
 *
 * Deadline: every query has the resolver's (resolv.conf timeout x
 * attempts x servers); the whole lookup also ends after
 * SMTPD_PEER_TIMEOUT_MS, whatever is missing then counting as a temporary
 * failure. done() always runs later from the loop, never from inside
 * smtpd_peer_lookup(); smtpd_peer_cancel() before it frees the lookup and
 * done() never runs; after done() started the handle is gone. */
#ifndef MAILGW_SMTPD_PEER_H
#define MAILGW_SMTPD_PEER_H

#include "core/loop.h"

struct dns_resolver;

/* Postfix's SMTPD_PEER_CODE_* */
#define SMTPD_PEER_OK     2
#define SMTPD_PEER_TEMP   4
#define SMTPD_PEER_PERM   5
#define SMTPD_PEER_FORGED 6

#define SMTPD_PEER_NAME_MAX   256   /* a DNS name and its NUL */
#define SMTPD_PEER_TIMEOUT_MS 30000 /* PTR + forward lookup, in all */

struct smtpd_peer {
	char name[SMTPD_PEER_NAME_MAX];
	char reverse_name[SMTPD_PEER_NAME_MAX];
	int name_status;
	int reverse_status;
};

/* Both names "unknown" with status (smtpd_peername_lookup = no: PERM). */
void smtpd_peer_unknown(struct smtpd_peer *p, int status);

struct smtpd_peer_lookup;
typedef void smtpd_peer_done_fn(void *arg);

/* Look up addr ("192.0.2.1", "2001:db8::1") into *out (which must stay
 * put until done or cancel). Never NULL. */
struct smtpd_peer_lookup *
smtpd_peer_lookup(struct loop *lp, struct dns_resolver *dns, const char *addr,
		  struct smtpd_peer *out, smtpd_peer_done_fn *done, void *arg);
void smtpd_peer_cancel(struct smtpd_peer_lookup *pl);

#endif
