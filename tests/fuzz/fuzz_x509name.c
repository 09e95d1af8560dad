/* fuzz_x509name - libFuzzer harness for the certificate name reader
 * (tls_x509_names, DER from the network) and the name matcher.
 *
 * The first byte picks how many bytes of the rest form the wanted name
 * (matcher input); the rest is the certificate. Properties: every name
 * reported lies inside the input and is 1..TLS_NAME_MAX bytes; a name
 * always matches itself unless it holds a NUL or is only dots; matching
 * is case-insensitive. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/x509name.h"

struct in {
	const uint8_t *p;
	size_t n;
	char want[300];
};

static int check(void *arg, const char *name, size_t n)
{
	const struct in *in = arg;

	if ((const uint8_t *)name < in->p ||
	    (const uint8_t *)name + n > in->p + in->n || n == 0 ||
	    n > TLS_NAME_MAX)
		abort();
	(void)tls_name_match(name, n, in->want);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in;
	size_t w;

	if (size == 0)
		return 0;
	w = data[0] % 64;
	if (w > size - 1)
		w = size - 1;
	memcpy(in.want, data + 1, w);
	in.want[w] = 0;
	in.p = data + 1 + w;
	in.n = size - 1 - w;
	int r = tls_x509_names(in.p, in.n, check, &in);
	if (r != 0 && r != -1)
		abort();
	size_t wl = strlen(in.want);
	if (wl > 0 && in.want[0] != '.' && in.want[0] != '*' &&
	    strspn(in.want, ".") != wl) {
		/* the same name matches, and in another case too */
		char up[300];
		for (size_t i = 0; i <= wl; i++)
			up[i] = (char)((in.want[i] >= 'a' && in.want[i] <= 'z')
					       ? in.want[i] - 32
					       : in.want[i]);
		if (!tls_name_match(in.want, wl, in.want) ||
		    !tls_name_match(up, wl, in.want))
			abort();
	}
	return 0;
}
