/* fuzz_dns_conf - libFuzzer harness for the resolv.conf parser.
 *
 * Properties beyond "no crash": always between 1 and DNS_SERVERS_MAX
 * servers, each IPv4 or IPv6 on port 53, options within their bounds. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include "dns/resolv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_conf c;

	dns_conf_parse((const char *)data, size, &c);
	if (c.nserver < 1 || c.nserver > DNS_SERVERS_MAX)
		abort();
	for (unsigned i = 0; i < c.nserver; i++) {
		const struct net_addr *a = &c.server[i];

		if (!(a->sa.ss_family == AF_INET &&
		      a->len == sizeof(struct sockaddr_in)) &&
		    !(a->sa.ss_family == AF_INET6 &&
		      a->len == sizeof(struct sockaddr_in6)))
			abort();
		if (net_addr_port(a) != DNS_PORT)
			abort();
	}
	if (c.timeout < 1 || c.timeout > DNS_TIMEOUT_MAX || c.attempts < 1 ||
	    c.attempts > DNS_ATTEMPTS_MAX || c.ndots > DNS_NDOTS_MAX)
		abort();
	return 0;
}
