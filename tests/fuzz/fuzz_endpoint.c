/* fuzz_endpoint - libFuzzer harness for master.cf inet service names.
 *
 * Properties beyond "no crash": an accepted name has a port in range and
 * a host that is NUL-terminated, within bounds and free of blanks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "master/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct endpoint ep;
	size_t n;

	if (endpoint_parse((const char *)data, size, &ep) != 0)
		return 0;
	if (ep.port < 1 || ep.port > 65535)
		abort();
	n = strnlen(ep.host, sizeof(ep.host));
	if (n > ENDPOINT_HOST_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)ep.host[i] <= ' ')
			abort();
	return 0;
}
