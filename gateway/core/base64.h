/* base64 - RFC 4648 section 4 base64, the alphabet SMTP AUTH (RFC 4954)
 * and the password hashes use.
 *
 * Pure functions over bytes with explicit lengths (STYLE.md rule 10).
 * Decoding is strict: the input is whole 4-character groups of the
 * alphabet, "=" only as padding at the very end (one or two), no white
 * space, no line breaks; unused bits of the last group must be zero
 * (RFC 4648 3.5 allows a decoder to refuse them otherwise, and one
 * canonical form per value keeps comparisons simple). An empty input
 * decodes to nothing. */
#ifndef MAILGW_CORE_BASE64_H
#define MAILGW_CORE_BASE64_H

#include <stddef.h>

#include "core/buf.h"

#define BASE64_ERR_SYNTAX (-2) /* not canonical base64 */

/* Append the decoding of s[0..n) to out. 0, BASE64_ERR_SYNTAX (out gets
 * nothing) or BUF_ERR_FULL. */
int base64_decode(struct buf *out, const char *s, size_t n);
/* Append the encoding of p[0..n) (with padding) to out: 0 or BUF_ERR_FULL. */
int base64_encode(struct buf *out, const void *p, size_t n);
/* The decoded length of a valid s[0..n), or -1 when it is not valid. */
long base64_decoded_len(const char *s, size_t n);

#endif
