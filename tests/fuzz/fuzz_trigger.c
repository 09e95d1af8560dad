/* fuzz_trigger - libFuzzer harness for qmgr's request parser.
 *
 * Properties beyond "no crash": the parser consumes a prefix ending at a
 * newline (or all of an overlong unterminated tail), and a site argument
 * is non-empty, printable and without spaces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/trigger.h"

static void check(enum trigger_req req, const char *arg, void *ctx)
{
	(void)ctx;
	if (req == TRIGGER_SITE) {
		size_t n = arg ? strlen(arg) : 0;

		if (n == 0 || n > TRIGGER_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)arg[i] <= ' ' || arg[i] == 0x7f)
				abort();
	} else if (arg != NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t used = trigger_parse(p, size, check, NULL);

	if (used > size)
		abort();
	if (used < size && used > 0 && p[used - 1] != '\n')
		abort();
	if (used < size && memchr(p + used, '\n', size - used) != NULL)
		abort();
	return 0;
}
