/* fuzz_access - libFuzzer harness for the access(5) result parser
 * (table values and policy server actions) and for the DNSBL reply
 * filter matcher.
 *
 * Properties beyond "no crash": text and dsn lie inside the input; a code
 * is 400..599 only for ACCESS_CODE; a dsn starts with 2, 4 or 5; words
 * that need an argument have one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/access.h"
#include "smtpd/restrict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct access_result a;
	int rc = access_parse(p, size, &a);

	if (rc == 0) {
		if (a.action == ACCESS_BAD)
			abort();
		if (a.text_len > 0 && (a.text < p || a.text + a.text_len > p + size))
			abort();
		if (a.dsn != NULL &&
		    (a.dsn < p || a.dsn + a.dsn_len > p + size ||
		     (a.dsn[0] != '2' && a.dsn[0] != '4' && a.dsn[0] != '5')))
			abort();
		if ((a.action == ACCESS_CODE) != (a.code != 0))
			abort();
		if (a.action == ACCESS_CODE &&
		    (a.code < 400 || a.code > 599))
			abort();
		if ((a.action == ACCESS_REDIRECT || a.action == ACCESS_FILTER ||
		     a.action == ACCESS_PREPEND || a.action == ACCESS_BCC) &&
		    a.text_len == 0)
			abort();
	} else if (rc != -1) {
		abort();
	}
	/* the reply filter: "pattern\0address" */
	const char *nul = memchr(p, 0, size);
	if (nul != NULL && size - (size_t)(nul - p) < 64) {
		char addr[64];
		size_t an = size - (size_t)(nul - p) - 1;
		memcpy(addr, nul + 1, an);
		addr[an] = 0;
		int m = restrict_ip_match(p, addr);
		if (m < -1 || m > 1)
			abort();
	}
	return 0;
}
