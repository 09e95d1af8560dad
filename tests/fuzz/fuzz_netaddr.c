/* fuzz_netaddr - libFuzzer harness for net_addr_parse().
 *
 * Properties checked beyond "no crash": an accepted address has a known
 * family and length, formats within NET_ADDR_STRLEN, and the formatted text
 * parses back to the same socket address (round trip). */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_addr a, b;
	struct buf text;
	int r;

	r = net_addr_parse(&a, (const char *)data, size);
	if (r != 0) {
		if (r != NET_ADDR_ERR_SYNTAX && r != NET_ADDR_ERR_HOST &&
		    r != NET_ADDR_ERR_PORT)
			abort();
		return 0;
	}
	if (size >= NET_ADDR_STRLEN)
		abort();
	if (!(a.sa.ss_family == AF_INET &&
	      a.len == sizeof(struct sockaddr_in)) &&
	    !(a.sa.ss_family == AF_INET6 &&
	      a.len == sizeof(struct sockaddr_in6)))
		abort();
	buf_init(&text, NET_ADDR_STRLEN - 1);
	if (net_addr_format(&a, &text) != 0)
		abort();
	if (net_addr_parse(&b, buf_str(&text), buf_len(&text)) != 0 ||
	    a.len != b.len || memcmp(&a.sa, &b.sa, a.len) != 0)
		abort();
	buf_free(&text);
	return 0;
}
