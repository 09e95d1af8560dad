/* fuzz_smtp_netlist - libFuzzer harness for the network-block parser of
 * the smtpd restriction engine (mynetworks and the lists that default to
 * it): restrict_cidr_parse().
 *
 * Properties beyond "no crash": a block that parses has a known family
 * and a prefix length within it, and its address printed back
 * (inet_ntop, "[...]" for IPv6) with "/bits" parses again to the same
 * family, address and prefix length. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/restrict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fam, fam2;
	unsigned char a[16], a2[16];
	unsigned bits, bits2;
	char text[INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN + 8];

	if (restrict_cidr_parse((const char *)data, size, &fam, a, &bits) < 0)
		return 0;
	if (fam != AF_INET && fam != AF_INET6)
		abort();
	if (bits > (fam == AF_INET ? 32u : 128u))
		abort();
	if (inet_ntop(fam, a, text, sizeof(text)) == NULL)
		abort();
	int n = snprintf(again, sizeof(again),
			 fam == AF_INET6 ? "[%s]/%u" : "%s/%u", text, bits);
	if (restrict_cidr_parse(again, (size_t)n, &fam2, a2, &bits2) < 0)
		abort();
	if (fam2 != fam || bits2 != bits ||
	    memcmp(a, a2, fam == AF_INET ? 4 : 16) != 0)
		abort();
	return 0;
}
