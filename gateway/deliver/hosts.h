/* hosts - next-hop host names through /etc/hosts.
 *
 * The "native" half of smtp_host_lookup (deliver/mx.c), and the hosts
 * file the resolver consults before DNS (dns/resolv.c).
 * hosts_find() is a pure parser (STYLE.md rule 10) over the file's bytes:
 * "ADDRESS NAME [ALIAS...]" lines, '#' starts a comment, names compare
 * without regard to ASCII case, IPv4 and IPv6 addresses (no zone). Lines
 * longer than HOSTS_LINE_MAX are skipped whole, as are lines whose address
 * does not parse. Addresses come out in file order, duplicates removed. */
#ifndef MAILGW_DELIVER_HOSTS_H
#define MAILGW_DELIVER_HOSTS_H

#include <stddef.h>

#include "core/net.h"

#define HOSTS_PATH     "/etc/hosts"
#define HOSTS_FILE_MAX (1024 * 1024) /* bytes read of the hosts file */
#define HOSTS_LINE_MAX 4096          /* bytes in one line */
#define HOSTS_ADDR_MAX 16            /* addresses kept for one name */

/* Address families (inet_protocols). */
#define HOSTS_INET4 1
#define HOSTS_INET6 2

/* hosts_find - the addresses of name (NUL-terminated) in text[0..len),
 * of the families in the mask, into out[0..max) with port 0. Returns how
 * many (0: not found). */
size_t hosts_find(const char *text, size_t len, const char *name, int families,
		  struct net_addr *out, size_t max);

/* hosts_lookup - read path (NULL: HOSTS_PATH) and hosts_find(). The count,
 * or -errno when the file cannot be read. */
int hosts_lookup(const char *path, const char *name, int families,
		 struct net_addr *out, size_t max);

/* hosts_families - the mask for an inet_protocols value ("all", "ipv4",
 * "ipv6", "ipv4, ipv6"); unknown words are ignored, and an empty result
 * means both (Postfix refuses to start with such a value anyway). */
int hosts_families(const char *inet_protocols);

/* hosts_addr_parse - an IPv4 or IPv6 address literal s[0..n) (an "ipv6:"
 * prefix allowed, as in [ipv6:2001:db8::1]) into out with port 0.
 * 0, or -1 when it is not one. */
int hosts_addr_parse(const char *s, size_t n, struct net_addr *out);

#endif
