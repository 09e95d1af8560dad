/* passwd - salted password hashes (see passwd.h). PBKDF2 per RFC 8018
 * 5.2 with HMAC-SHA-256 (RFC 2104, FIPS 180-4) from BearSSL. */
#include "smtpd/passwd.h"

#include <bearssl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/base64.h"
#include "core/str.h"

void passwd_pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt,
			  size_t salt_len, unsigned long iter, void *out,
			  size_t out_len)
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	unsigned char u[32], t[32];
	unsigned char *o = out;

	br_hmac_key_init(&kc, &br_sha256_vtable, pw, pw_len);
	for (uint32_t block = 1; out_len > 0; block++) {
		unsigned char be[4] = {(unsigned char)(block >> 24),
				       (unsigned char)(block >> 16),
				       (unsigned char)(block >> 8),
				       (unsigned char)block};
		br_hmac_init(&hc, &kc, 0);
		br_hmac_update(&hc, salt, salt_len);
		br_hmac_update(&hc, be, 4);
		br_hmac_out(&hc, u);
		memcpy(t, u, sizeof(t));
		for (unsigned long i = 1; i < iter; i++) {
			br_hmac_init(&hc, &kc, 0);
			br_hmac_update(&hc, u, sizeof(u));
			br_hmac_out(&hc, u);
			for (size_t k = 0; k < sizeof(t); k++)
				t[k] ^= u[k];
		}
		size_t take = out_len < sizeof(t) ? out_len : sizeof(t);
		memcpy(o, t, take);
		o += take;
		out_len -= take;
	}
	explicit_bzero(u, sizeof(u));
	explicit_bzero(t, sizeof(t));
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&hc, sizeof(hc));
}

/* The next '$'-separated field of s[*pos..n). */
static int field(const char *s, size_t n, size_t *pos, const char **f,
		 size_t *fn, int last)
{
	size_t i = *pos;
	while (i < n && s[i] != '$')
		i++;
	if (last != (i == n))
		return -1;
	*f = s + *pos;
	*fn = i - *pos;
	*pos = i + 1;
	return 0;
}

static int decode_into(unsigned char *dst, size_t max, size_t *len,
		       const char *s, size_t n)
{
	long dl = base64_decoded_len(s, n);
	if (dl <= 0 || (size_t)dl > max)
		return -1;
	struct buf b;
	buf_init(&b, max);
	int r = base64_decode(&b, s, n);
	if (r == 0) {
		memcpy(dst, b.data, b.len);
		*len = b.len;
	}
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	return r == 0 ? 0 : -1;
}

int passwd_hash_parse(struct passwd_hash *out, const char *s, size_t n)
{
	const char *f;
	size_t fn, pos = 0;

	memset(out, 0, sizeof(*out));
	if (field(s, n, &pos, &f, &fn, 0) < 0 || fn != strlen(PASSWD_SCHEME) ||
	    memcmp(f, PASSWD_SCHEME, fn) != 0)
		return PASSWD_ERR_FORMAT;
	if (field(s, n, &pos, &f, &fn, 0) < 0 || fn == 0 || fn > 9 ||
	    f[0] == '0')
		return PASSWD_ERR_FORMAT;
	unsigned long it = 0;
	for (size_t i = 0; i < fn; i++) {
		if (f[i] < '0' || f[i] > '9')
			return PASSWD_ERR_FORMAT;
		it = it * 10 + (unsigned long)(f[i] - '0');
	}
	if (it < PASSWD_ITER_MIN || it > PASSWD_ITER_MAX)
		return PASSWD_ERR_FORMAT;
	out->iter = it;
	if (field(s, n, &pos, &f, &fn, 0) < 0 ||
	    decode_into(out->salt, PASSWD_SALT_MAX, &out->salt_len, f, fn) <
		    0 ||
	    out->salt_len < 8)
		return PASSWD_ERR_FORMAT;
	if (field(s, n, &pos, &f, &fn, 1) < 0 ||
	    decode_into(out->key, PASSWD_KEY_MAX, &out->key_len, f, fn) < 0 ||
	    out->key_len < 16)
		return PASSWD_ERR_FORMAT;
	return 0;
}

int passwd_hash_new(struct buf *out, const char *pw, size_t n,
		    unsigned long iter)
{
	unsigned char salt[PASSWD_SALT_LEN], key[PASSWD_KEY_LEN];
	size_t got = 0;

	if (iter < PASSWD_ITER_MIN)
		iter = PASSWD_ITER_MIN;
	if (iter > PASSWD_ITER_MAX)
		iter = PASSWD_ITER_MAX;
	while (got < sizeof(salt)) {
		ssize_t r = getrandom(salt + got, sizeof(salt) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	passwd_pbkdf2_sha256(pw, n, salt, sizeof(salt), iter, key, sizeof(key));
	buf_printf(out, "%s$%lu$", PASSWD_SCHEME, iter);
	base64_encode(out, salt, sizeof(salt));
	buf_putc(out, '$');
	base64_encode(out, key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	return buf_error(out);
}

int passwd_verify(const char *stored, const char *pw, size_t n)
{
	struct passwd_hash h;
	unsigned char key[PASSWD_KEY_MAX];
	int ok = stored != NULL &&
		 passwd_hash_parse(&h, stored, strlen(stored)) == 0;

	if (!ok) {
		/* the same work as for a real user, then a mismatch */
		memset(&h, 0, sizeof(h));
		h.iter = PASSWD_ITER_MIN;
		h.salt_len = PASSWD_SALT_LEN;
		h.key_len = PASSWD_KEY_LEN;
	}
	passwd_pbkdf2_sha256(pw, n, h.salt, h.salt_len, h.iter, key, h.key_len);
	int eq = str_secure_eq(key, h.key_len, h.key, h.key_len);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(&h, sizeof(h));
	return ok && eq;
}
