/* fuzz_webui_httphead - libFuzzer harness for the web UI proxy's request
 * head rewrite (webui/httphead.h).
 *
 * Properties beyond "no crash": a rewritten head is never longer than the
 * input's head plus the added field, ends with an empty line, keeps the
 * added field exactly once, and holds no other field httpd would give the
 * CGI as HTTP_X_MAILGW_CLIENT. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webui/httphead.h"

static const char ADD[] = "X-Mailgw-Client: k 192.0.2.1\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	int n;

	buf_init(&out, HTTPHEAD_MAX + sizeof(ADD));
	n = httphead_rewrite((const char *)data, size, ADD, &out);
	if (n > 0) {
		const char *s = buf_str(&out), *p;
		size_t len = buf_len(&out), found = 0;

		if ((size_t)n > size || (size_t)n > HTTPHEAD_MAX ||
		    len > (size_t)n + strlen(ADD) || len < 2 ||
		    s[len - 1] != '\n')
			abort();
		/* Every field line whose name maps to the client field is
		 * ours. */
		for (p = memchr(s, '\n', len); p && p + 1 < s + len;
		     p = memchr(p + 1, '\n', (size_t)(s + len - p - 1))) {
			const char *l = p + 1, *colon, *nl;
			size_t nlen;

			nl = memchr(l, '\n', (size_t)(s + len - l));
			colon = memchr(l, ':', nl ? (size_t)(nl - l) : 0);
			if (colon == NULL || l[0] == ' ' || l[0] == '\t')
				continue;
			nlen = (size_t)(colon - l);
			while (nlen && (l[nlen - 1] == ' ' || l[nlen - 1] == '\t'))
				nlen--;
			if (httphead_is_client_field(l, nlen)) {
				if (strncmp(l, ADD, strlen(ADD)) != 0)
					abort();
				found++;
			}
		}
		if (found != 1)
			abort();
	} else if (n == 0 && size >= HTTPHEAD_MAX) {
		abort();
	}
	buf_free(&out);
	return 0;
}
