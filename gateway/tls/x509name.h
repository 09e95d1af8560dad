/* tls/x509name - the DNS names of a certificate, and Postfix's rules for
 * matching them against the names a policy wants.
 *
 * tls_x509_names() reads an X.509 certificate (RFC 5280) as DER and
 * reports each dNSName of the subjectAltName extension; only when there
 * is none, the subject's commonName(s) (RFC 6125 6.4.4). It is a small
 * bounded DER reader over untrusted bytes: pure, no allocation.
 *
 * tls_name_match(): a certificate name "*.example.com" matches exactly one
 * leftmost label ("a.example.com", not "example.com" nor
 * "a.b.example.com"); a wanted name that starts with "." (Postfix's
 * dot-nexthop) matches any certificate name strictly below it; all
 * comparisons ignore ASCII case; a trailing dot is ignored. */
#ifndef MAILGW_TLS_X509NAME_H
#define MAILGW_TLS_X509NAME_H

#include <stddef.h>

#define TLS_NAME_MAX 255

/* cb is called with each name (not NUL-terminated, n <= TLS_NAME_MAX;
 * longer ones are skipped); a non-zero return stops the walk and is
 * returned. 0 when walked, -1 on malformed DER. */
typedef int tls_name_fn(void *arg, const char *name, size_t n);
int tls_x509_names(const unsigned char *der, size_t len, tls_name_fn *cb,
		   void *arg);

/* 1 if the certificate name cert[0..cn) matches the wanted name. */
int tls_name_match(const char *cert, size_t cn, const char *want);

#endif
