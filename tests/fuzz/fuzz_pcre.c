/* fuzz_pcre - libFuzzer harness: pcre_table(5) text through the pure
 * parser, then a few lookups (keys taken from the input itself). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "dict/dict_regexp.h"
#include "dict/dict_text.h"

#ifndef FUZZ_POSIX
#define FUZZ_POSIX 0
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"", "a", "user@example.com", "ABC", "x\ny", "1.2.3.4",
	};
	struct dict_re t;
	struct dict_diag g;
	struct buf out;
	const char *text = (const char *)data;

	dict_diag_init(&g);
	buf_init(&out, 1 << 16);
	dict_re_parse(&t, FUZZ_POSIX, "fuzz", text, size, &g);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)dict_re_match(&t, keys[i], strlen(keys[i]), &out);
	/* The first line of the input as a key, too. */
	{
		const char *nl = memchr(text, '\n', size);
		size_t n = nl ? (size_t)(nl - text) : size;

		(void)dict_re_match(&t, text, n > 256 ? 256 : n, &out);
	}
	buf_free(&out);
	dict_re_free(&t);
	dict_diag_free(&g);
	return 0;
}
