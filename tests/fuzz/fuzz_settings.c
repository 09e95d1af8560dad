/* fuzz_settings - libFuzzer harness for the settings file parser, the
 * validators and the template renderer (gateway/conf/settings.h).
 *
 * The input is split at the first NUL byte: before it a settings file,
 * after it a template. Properties beyond "no crash, no leak, no hang":
 *   - a value that passes its validator has no control byte, and its
 *     canonical form passes the validator again, unchanged;
 *   - checked settings always render the built-in main.cf. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/settings.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, 0, size);
	size_t tlen = nul ? (size_t)(nul - text) : size;
	struct settings s;
	struct buf why, out, norm, why2, norm2;

	buf_init(&why, 1 << 16);
	buf_init(&out, SETTINGS_OUTPUT_MAX + 1);
	buf_init(&norm, SETTINGS_VALUE_MAX * 2);
	buf_init(&why2, 1 << 16);
	buf_init(&norm2, SETTINGS_VALUE_MAX * 2);
	settings_init(&s);
	settings_parse(&s, text, tlen, &why);
	for (size_t i = 0; i < settings_count; i++) {
		const char *v = s.value[i];

		buf_reset(&why);
		buf_reset(&norm);
		if (settings_field_check(&settings_fields[i], v, strlen(v),
					 &why, &norm) < 0)
			continue;
		for (size_t j = 0; j < buf_len(&norm); j++)
			if ((unsigned char)buf_str(&norm)[j] < 0x20)
				abort();
		buf_reset(&why2);
		buf_reset(&norm2);
		if (settings_field_check(&settings_fields[i], buf_str(&norm),
					 buf_len(&norm), &why2, &norm2) < 0 ||
		    strcmp(buf_str(&norm), buf_str(&norm2)) != 0)
			abort();
	}
	if (settings_check(&s, NULL, NULL) == 0) {
		settings_normalize(&s);
		if (settings_render(&s, settings_template("main.cf"),
				    strlen(settings_template("main.cf")), &out,
				    &why) < 0)
			abort();
	}
	if (nul) {
		buf_reset(&out);
		settings_render(&s, nul + 1, size - tlen - 1, &out, &why);
	}
	settings_free(&s);
	buf_free(&why);
	buf_free(&out);
	buf_free(&norm);
	buf_free(&why2);
	buf_free(&norm2);
	return 0;
}
