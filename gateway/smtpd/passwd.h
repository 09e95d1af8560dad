/* passwd - salted password hashes for SMTP AUTH (issue 6).
 *
 * A stored hash is one line of text:
 *
 *     pbkdf2-sha256$ITERATIONS$SALT$KEY
 *
 * SALT and KEY in canonical base64 (core/base64.h); KEY is PBKDF2 (RFC
 * 8018 section 5.2) with HMAC-SHA-256 as the PRF, over the password and
 * the salt, ITERATIONS rounds, PASSWD_KEY_LEN bytes. New hashes get a
 * PASSWD_SALT_LEN-byte salt from getrandom(2) and the rounds the caller
 * asks for (sasl_password_iterations, at least PASSWD_ITER_MIN). A hash
 * records its own rounds, so raising the parameter affects new and
 * changed passwords only.
 *
 * PBKDF2 runs on BearSSL's HMAC with the key's inner and outer SHA-256
 * states computed once, so one round costs two compression calls.
 * passwd_hash_parse() is a pure parser (fuzzed); passwd_verify()
 * compares keys in constant time (str_secure_eq) and runs the full
 * rounds even for a malformed or missing hash (the caller passes NULL),
 * so the time it takes does not tell whether a user exists.
 *
 * Secrets: callers own password buffers and wipe them; this module
 * wipes its own copies of derived keys. */
#ifndef MAILGW_SMTPD_PASSWD_H
#define MAILGW_SMTPD_PASSWD_H

#include <stddef.h>

#include "core/buf.h"

#define PASSWD_SALT_LEN 16
#define PASSWD_KEY_LEN  32
#define PASSWD_SALT_MAX 64
#define PASSWD_KEY_MAX  64
#define PASSWD_ITER_MIN 100000UL
#define PASSWD_ITER_MAX 100000000UL
#define PASSWD_HASH_MAX 256 /* a stored hash line */
#define PASSWD_PASS_MAX 255 /* longest password (RFC 4616 PLAIN: 255) */
#define PASSWD_SCHEME   "pbkdf2-sha256"

#define PASSWD_ERR_FORMAT (-2) /* not a hash this module reads */

struct passwd_hash {
	unsigned long iter;
	unsigned char salt[PASSWD_SALT_MAX];
	size_t salt_len;
	unsigned char key[PASSWD_KEY_MAX];
	size_t key_len;
};

/* PBKDF2-HMAC-SHA256: out[0..out_len) from pw and salt. iter >= 1. */
void passwd_pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt,
			  size_t salt_len, unsigned long iter, void *out,
			  size_t out_len);

/* Parse a stored hash s[0..n). 0 or PASSWD_ERR_FORMAT (unknown scheme,
 * rounds outside PASSWD_ITER_MIN..MAX, bad base64, a salt or key of the
 * wrong size). Pure. */
int passwd_hash_parse(struct passwd_hash *out, const char *s, size_t n);

/* Append a new hash of pw[0..n) with iter rounds and a random salt to
 * out. 0, or a negative errno (getrandom) or BUF_ERR_FULL. */
int passwd_hash_new(struct buf *out, const char *pw, size_t n,
		    unsigned long iter);

/* 1 when pw[0..n) matches the stored hash (NUL-terminated; NULL for no
 * such user), else 0. Always derives a key, with the stored rounds or
 * PASSWD_ITER_MIN. */
int passwd_verify(const char *stored, const char *pw, size_t n);

#endif
