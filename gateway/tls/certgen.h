/* tls/certgen - a self-signed server certificate, for a first start
 * without a configured one (issue 6).
 *
 * tls_certgen() makes a fresh key (ECDSA P-256, or RSA 2048) and an X.509
 * v3 certificate for one host name (subject CN and subjectAltName
 * dNSName, basicConstraints CA:FALSE, valid from an hour ago for ten
 * years), signed with that key (ecdsa-with-SHA256 or
 * sha256WithRSAEncryption). The DER encoding is our own small writer
 * (tls_der_*); the arithmetic is BearSSL's. Output: the certificate and
 * the private key as PEM text ("CERTIFICATE", "EC PRIVATE KEY" /
 * "RSA PRIVATE KEY"), and the certificate's SHA-256 fingerprint. */
#ifndef MAILGW_TLS_CERTGEN_H
#define MAILGW_TLS_CERTGEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"

/* DER writer: append one TLV (definite length) to out. */
int tls_der_tlv(struct buf *out, unsigned tag, const void *v, size_t n);
/* An INTEGER from big-endian unsigned bytes (leading zeros dropped, a
 * 0x00 added when the top bit is set). */
int tls_der_uint(struct buf *out, const unsigned char *v, size_t n);

#define TLS_CERTGEN_EC  1
#define TLS_CERTGEN_RSA 2

/* 0, or TLS_ERR_CONFIG (bad host name) / TLS_ERR_PROTO (no entropy). */
int tls_certgen(int type, const char *host, time_t now, struct buf *cert_pem,
		struct buf *key_pem, char fingerprint[96]);

/* "AB:CD:..." of SHA-256 over der. */
void tls_fingerprint(const void *der, size_t n, char out[96]);

#endif
