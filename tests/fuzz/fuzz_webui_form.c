/* fuzz_webui_form - libFuzzer harness for the web UI's request parsers
 * (webui-cgi/form.h): urlencoded bodies, the Cookie header, HTML and URL
 * escaping.
 *
 * Properties beyond "no crash, no leak, no hang":
 *   - form_next consumes the input and never returns more than
 *     FORM_PAIRS_MAX pairs or a value over FORM_VALUE_MAX bytes;
 *   - html_escape's output holds none of < > " ' and no '&' that does not
 *     start an entity, and is valid UTF-8 without control bytes but tab and
 *     newline;
 *   - url_escape's output holds only [A-Za-z0-9._~%-]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "form.h"

static void check_html(const struct buf *o)
{
	const unsigned char *p = (const unsigned char *)buf_str(o);
	size_t n = buf_len(o);

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '<' || p[i] == '>' || p[i] == '"' || p[i] == '\'')
			abort();
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n')
			abort();
		if (p[i] == '&' &&
		    memchr(p + i, ';', n - i > 8 ? 8 : n - i) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf name, value, o;
	size_t off = 0, last = 0;
	unsigned count = 0;
	int rc;

	buf_init(&name, FORM_VALUE_MAX + 1);
	buf_init(&value, FORM_VALUE_MAX + 1);
	buf_init(&o, size * 8 + 16);
	while ((rc = form_next(s, size, &off, &count, &name, &value)) == 1) {
		if (off <= last && size > 0 && off != size)
			abort();
		last = off;
		if (count > FORM_PAIRS_MAX || buf_len(&value) > FORM_VALUE_MAX)
			abort();
	}
	if (rc == 0 && off != size)
		abort();
	form_get(s, size, "csrf", &value);
	cookie_get(s, size, "mgw_session", &value);
	if (buf_len(&value) > COOKIE_VALUE_MAX)
		abort();
	html_escape(&o, s, size);
	check_html(&o);
	buf_reset(&o);
	url_escape(&o, s, size);
	for (size_t i = 0; i < buf_len(&o); i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
			    "yz"
			    "0123456789._~%-",
			    buf_str(&o)[i]) ||
		    buf_str(&o)[i] == 0)
			abort();
	buf_free(&name);
	buf_free(&value);
	buf_free(&o);
	return 0;
}
