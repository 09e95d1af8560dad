/* fuzz_policy - libFuzzer harness for the policy server reply parser.
 *
 * Properties beyond "no crash": a complete reply uses at most the input,
 * its action lies inside the input and holds no line end; an incomplete
 * one is never longer than POLICY_REPLY_MAX; feeding the input byte by
 * byte gives the same answer as feeding it whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *a;
	size_t alen, used = 0;
	int rc = policy_reply_parse(p, size, &a, &alen, &used);

	if (rc == 1) {
		if (used == 0 || used > size)
			abort();
		if (a != NULL && (a < p || a + alen > p + used ||
				  memchr(a, '\n', alen) != NULL))
			abort();
	} else if (rc == 0) {
		if (size > POLICY_REPLY_MAX)
			abort();
	} else if (rc != -1) {
		abort();
	}
	/* a prefix never completes where the whole did not */
	for (size_t k = 0; k < size && k < 256; k++) {
		size_t u2;
		int r2 = policy_reply_parse(p, k, &a, &alen, &u2);
		if (r2 == 1 && (rc != 1 || u2 != used))
			abort();
	}
	return 0;
}
