/* fuzz_sasl - libFuzzer harness for base64, the stored password hash
 * parser and the SMTP AUTH server state machine.
 *
 * The input is split at LF into lines: the first is an AUTH argument,
 * the others the client's responses. Properties beyond "no crash":
 * base64 that decodes re-encodes to the same text (canonical form);
 * the machine never reports DONE without a user and a password of
 * 1..255 bytes free of NUL; after DONE or an error it is idle; a hash
 * that parses has rounds and sizes within the bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "smtpd/passwd.h"
#include "smtpd/sasl.h"

static void check_base64(const char *p, size_t n)
{
	struct buf d, e;
	buf_init(&d, 4096);
	buf_init(&e, 8192);
	long want = base64_decoded_len(p, n);
	int r = base64_decode(&d, p, n);
	if ((r == 0) != (want >= 0 || n > 5460))
		abort();
	if (r == 0) {
		if ((long)d.len != want)
			abort();
		base64_encode(&e, d.data, d.len);
		if (e.len != n || memcmp(e.data, p, n) != 0)
			abort();
	}
	buf_free(&d);
	buf_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct sasl_server s;
	struct passwd_hash h;

	if (size > 16384)
		return 0;
	check_base64(p, size);
	if (passwd_hash_parse(&h, p, size) == 0 &&
	    (h.iter < PASSWD_ITER_MIN || h.iter > PASSWD_ITER_MAX ||
	     h.salt_len > PASSWD_SALT_MAX || h.key_len > PASSWD_KEY_MAX))
		abort();

	sasl_server_init(&s, SASL_OFFER_PLAIN | SASL_OFFER_LOGIN);
	size_t i = 0;
	int first = 1, r = SASL_ERR_STATE;
	while (i <= size) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t n = nl != NULL ? (size_t)(nl - (p + i)) : size - i;
		if (first)
			r = sasl_server_start(&s, p + i, n);
		else if (r == SASL_MORE)
			r = sasl_server_step(&s, p + i, n);
		else
			r = sasl_server_start(&s, p + i, n);
		first = 0;
		if (r == SASL_DONE) {
			if (s.user_len == 0 || s.user_len > SASL_FIELD_MAX ||
			    s.pass_len == 0 || s.pass_len > SASL_FIELD_MAX ||
			    memchr(s.user, 0, s.user_len) != NULL ||
			    memchr(s.pass, 0, s.pass_len) != NULL ||
			    strlen(s.user) != s.user_len || s.step != 0)
				abort();
			sasl_server_reset(&s);
		} else if (r < 0) {
			if (s.step != 0)
				abort();
			const char *why;
			const char *text = sasl_server_reply(&s, r, &why);
			if (text == NULL || strlen(text) < 4)
				abort();
		}
		if (nl == NULL)
			break;
		i += n + 1;
	}
	sasl_server_reset(&s);
	return 0;
}
