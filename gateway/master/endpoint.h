/* endpoint - the name of an inet service in master.cf, as a socket address.
 *
 * master(5) names an inet service "port", "host:port", "[v6addr]:port" or
 * "*:port"; port is decimal or a service name ("smtp", "submission"). A
 * name without a host (or with "*") listens on every address of
 * inet_interfaces. endpoint_parse() is a pure parser over bytes with an
 * explicit length (STYLE.md rule 10); endpoint_resolve() turns the result
 * into addresses, reading /etc/hosts for host names (the master resolves
 * once, at start and reload, before anything is bound). */
#ifndef MAILGW_MASTER_ENDPOINT_H
#define MAILGW_MASTER_ENDPOINT_H

#include <stddef.h>

#include "core/net.h"

#define ENDPOINT_HOST_MAX 255 /* bytes of a host name or address */
#define ENDPOINT_PORT_MAX 32  /* bytes of a service name */
#define ENDPOINT_ADDR_MAX 16  /* addresses one name may stand for */

#define ENDPOINT_ERR_SYNTAX (-1) /* empty, bad brackets, stray bytes */
#define ENDPOINT_ERR_HOST   (-2) /* host too long or not a host name */
#define ENDPOINT_ERR_PORT   (-3) /* port out of range or unknown name */

struct endpoint {
	char host[ENDPOINT_HOST_MAX +
		  1];  /* "" : every inet_interfaces address */
	int bracketed; /* host was "[...]" (an IPv6 literal) */
	int port;      /* 1..65535 */
};

/* Parse s[0..n). Known service names: smtp, submission, smtps,
 * submissions, lmtp; anything else must be a number. 0 or ENDPOINT_ERR_*. */
int endpoint_parse(const char *s, size_t n, struct endpoint *out);
const char *endpoint_strerror(int err);

/* The addresses to bind for ep, into out[0..max): the host's (a literal,
 * or from /etc/hosts, families per inet_protocols), or for no host those
 * of inet_interfaces ("all", "loopback-only", or a list of addresses and
 * host names). The count (> 0), or -errno; -ENOENT when a name does not
 * resolve (*bad names it). */
int endpoint_resolve(const struct endpoint *ep, const char *inet_interfaces,
		     const char *inet_protocols, struct net_addr *out,
		     size_t max, const char **bad);

#endif
