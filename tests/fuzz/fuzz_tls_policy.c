/* fuzz_tls_policy - libFuzzer harness for the TLS policy parsers:
 * protocols (Postfix syntax) and cipher-suite lists.
 *
 * Properties: a parsed version range is non-empty within TLS 1.0..1.2;
 * a parsed suite list is non-empty, bounded, free of duplicates, and
 * every suite has a name; a policy-map entry has a known level and
 * NUL-terminated fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/client.h"
#include "tls/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	unsigned lo, hi;
	uint16_t s[TLS_SUITES_MAX];
	size_t n, half = size / 2;

	if (tls_protocols_parse(p, size, &lo, &hi) == 0 &&
	    (lo < TLS_V10 || hi > TLS_V12 || lo > hi))
		abort();
	if (tls_suites_parse(p, half, p + half, size - half, s, &n) == 0) {
		if (n == 0 || n > TLS_SUITES_MAX)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (tls_suite_name(s[i], NULL) == NULL)
				abort();
			for (size_t j = 0; j < i; j++)
				if (s[i] == s[j])
					abort();
		}
	}
	struct tls_policy_entry e;
	if (tls_policy_entry_parse(p, size, &e) == 0 &&
	    (e.level < TLS_LEV_NONE || e.level > TLS_LEV_SECURE ||
	     strlen(e.match) >= sizeof(e.match) ||
	     strlen(e.servername) >= sizeof(e.servername)))
		abort();
	return 0;
}
