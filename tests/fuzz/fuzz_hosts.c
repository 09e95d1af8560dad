/* fuzz_hosts - libFuzzer harness for the hosts file parser and reverse
 * names (deliver/hosts.h).
 *
 * The input's first line is a name, the rest the hosts file. Properties
 * beyond "no crash": hosts_find() stays within max and the families asked;
 * hosts_find_name() returns a NUL-terminated word that fits; a reverse name
 * hosts_ptr_addr() accepts is the one the address formats back to (ASCII
 * case and a trailing dot aside). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "deliver/hosts.h"

static void reverse_name(const struct net_addr *a, char *out, size_t outsz)
{
	size_t off = 0;

	if (a->sa.ss_family == AF_INET) {
		const unsigned char *b = (const unsigned char *)&(
			(const struct sockaddr_in *)&a->sa)->sin_addr;

		snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
			 b[1], b[0]);
		return;
	}
	const unsigned char *b =
		((const struct sockaddr_in6 *)&a->sa)->sin6_addr.s6_addr;
	for (int i = 15; i >= 0; i--)
		off += (size_t)snprintf(out + off, outsz - off, "%x.%x.",
					b[i] & 15, b[i] >> 4);
	snprintf(out + off, outsz - off, "ip6.arpa");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl;
	char name[256], found[64], back[128];
	struct net_addr out[4], a;
	size_t nlen, n;

	nl = memchr(text, '\n', size);
	nlen = nl ? (size_t)(nl - text) : size;
	if (nlen >= sizeof(name) || memchr(text, 0, nlen) != NULL)
		return 0;
	memcpy(name, text, nlen);
	name[nlen] = 0;
	text += nl ? nlen + 1 : nlen;
	size -= nl ? nlen + 1 : nlen;

	n = hosts_find(text, size, name, HOSTS_INET4, out, 4);
	if (n > 4)
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i].sa.ss_family != AF_INET)
			abort();

	if (hosts_ptr_addr(name, nlen, &a) == 0) {
		size_t blen = nlen;

		reverse_name(&a, back, sizeof(back));
		if (blen > 0 && name[blen - 1] == '.')
			blen--;
		if (strlen(back) != blen || str_ncasecmp(back, name, blen) != 0)
			abort();
		n = hosts_find_name(text, size, &a, found, sizeof(found));
		if (n >= sizeof(found) ||
		    (n > 0 && (strlen(found) != n ||
			       strpbrk(found, " \t\r\n#") != NULL)))
			abort();
	}
	return 0;
}
