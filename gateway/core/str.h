/* str - small string helpers shared by every module.
 *
 * All functions take NUL-terminated strings unless a length is given, never
 * allocate unless the name says so (…_dup), and never read past the end. */
#ifndef MAILGW_CORE_STR_H
#define MAILGW_CORE_STR_H

#include <stddef.h>

/* Postfix's separators for lists in main.cf: whitespace and commas. */
#define STR_LIST_SEP " \t\r\n,"

/* Next token of *cursor split at any byte of sep, skipping leading
 * separators; NUL-terminates the token in place and advances *cursor.
 * Returns NULL when no token is left (strtok_r without the hidden state). */
char *str_token(char **cursor, const char *sep);
/* Remove leading and trailing ASCII whitespace in place; returns s+skip. */
char *str_trim(char *s);
/* ASCII lower-case in place (Postfix folds lookup keys this way). */
char *str_lower(char *s);
int str_casecmp(const char *a, const char *b);   /* ASCII only */
int str_ncasecmp(const char *a, const char *b, size_t n);
int str_has_prefix(const char *s, const char *prefix);
/* Parse a whole decimal integer (optional sign); 0 ok, -1 bad or overflow. */
int str_to_long(const char *s, long *out);
/* Constant-time comparison of two byte strings (STYLE.md rule 9). */
int str_secure_eq(const void *a, size_t alen, const void *b, size_t blen);

#endif
