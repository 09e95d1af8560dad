/* fuzz_cidr - libFuzzer harness: cidr_table(5) text through the pure
 * parser, then lookups of IPv4 and IPv6 addresses. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dict/dict_cidr.h"
#include "dict/dict_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"1.2.3.4", "0.0.0.0", "255.255.255.255", "10.1.2.3", "::1",
		"2001:db8::1", "::ffff:1.2.3.4", "fe80::1", "foo", "",
	};
	struct dict_cidr t;
	struct dict_diag g;

	dict_diag_init(&g);
	dict_cidr_parse(&t, "fuzz", (const char *)data, size, &g);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)dict_cidr_match(&t, keys[i]);
	dict_cidr_free(&t);
	dict_diag_free(&g);
	return 0;
}
