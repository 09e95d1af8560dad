/* fuzz_regexp - libFuzzer harness: regexp_table(5) text (POSIX syntax
 * translated to PCRE2) through the pure parser, then a few lookups. */
#define FUZZ_POSIX 1
#include "fuzz_pcre.c"
