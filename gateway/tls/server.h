/* tls/server - what all server TLS connections of a process share.
 *
 * A tls_server holds the certificate chain (public data only), the
 * policy (suites, versions), a session cache for resumption and the
 * handshake counters. It never holds a private key: every signature the
 * handshake needs goes to the signer (tls_signer_fn), which in smtpd asks
 * the keys process (tls/keys.h) over a socketpair and in tests may sign
 * with a tls_key in memory.
 *
 * With ECDHE suites the key is only used to sign the ServerKeyExchange;
 * RSA key exchange suites (off by default: no forward secrecy) need an
 * RSA decryption, which the signer does too (hash_id TLS_SIGN_RSA_DECRYPT).
 */
#ifndef MAILGW_TLS_SERVER_H
#define MAILGW_TLS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tls/tls.h"

#define TLS_KEY_EC  1
#define TLS_KEY_RSA 2

/* hash_id: BearSSL's hash ids (br_sha256_ID = 4, ...; 0 is TLS 1.0's
 * MD5+SHA-1 for RSA); TLS_SIGN_RSA_DECRYPT: in is an RSA-encrypted
 * premaster secret, out receives its 48 bytes. */
#define TLS_SIGN_RSA_DECRYPT 0x100

/* Sign hv (hvlen bytes) with the key that matches the chain: ECDSA
 * (ASN.1 DER signature) or RSA PKCS#1 v1.5. Returns the signature length
 * written to sig, or 0 on failure. */
typedef size_t tls_signer_fn(void *arg, unsigned hash_id,
			     const unsigned char *hv, size_t hvlen,
			     unsigned char *sig, size_t max);

struct tls_server_stats {
	unsigned long handshakes; /* completed */
	unsigned long resumed;    /* of which abbreviated */
	unsigned long failed;     /* TLS error during the handshake */
	unsigned long timeouts;   /* handshake deadline reached */
};

struct tls_server *tls_server_new(void);
void tls_server_free(struct tls_server *srv);
/* The chain, end-entity first, as DER (copied). The key type is read from
 * the first certificate. 0, or TLS_ERR_CONFIG (not a certificate, or a
 * key type other than RSA / EC P-256/384/521). */
int tls_server_set_chain(struct tls_server *srv, const unsigned char *const *der,
			 const size_t *len, size_t n);
int tls_server_key_type(const struct tls_server *srv);
void tls_server_set_signer(struct tls_server *srv, tls_signer_fn *fn,
			   void *arg);
void tls_server_set_policy(struct tls_server *srv, const struct tls_policy *p);
/* Ask every client for a certificate (smtpd_tls_ask_ccert), naming
 * anchors's CAs (at least one: BearSSL sends no empty list). A client
 * may send none; one that comes is checked against the anchors (then
 * tls_conn_trust() says TLS_TRUSTED) and must prove its key; its
 * SHA-256 fingerprint is tls_conn_peer_fingerprint(). Resumption is
 * switched off (a resumed session would have no certificate to show).
 * anchors must outlive srv; NULL stops asking. */
struct tls_client;
void tls_server_set_ccert(struct tls_server *srv,
			  const struct tls_client *anchors);
/* Session cache of n entries (100 bytes each); 0 disables resumption. */
void tls_server_set_cache(struct tls_server *srv, size_t n);
struct tls_server_stats *tls_server_stats(struct tls_server *srv);

/* A private key in memory: the keys process's, or a test's. */
struct tls_key;
/* Decode a PEM or DER private key (PKCS#8, "EC PRIVATE KEY", "RSA
 * PRIVATE KEY"); the first key found in the input. NULL if none. */
struct tls_key *tls_key_parse(const char *p, size_t n);
void tls_key_free(struct tls_key *k); /* wipes the key bytes */
int tls_key_type(const struct tls_key *k);
/* As tls_signer_fn, with a tls_key as arg. */
size_t tls_key_sign(void *key, unsigned hash_id, const unsigned char *hv,
		    size_t hvlen, unsigned char *sig, size_t max);
/* 1 if the key's public half is the one in the certificate (DER). */
int tls_key_matches_cert(const struct tls_key *k, const unsigned char *der,
			 size_t len);

/* PEM: the next object in p[0..n): its label ("CERTIFICATE", ...) into
 * name, its decoded bytes into der; *used is how much input was read.
 * 1 object found, 0 none left, TLS_ERR_CONFIG on malformed PEM. Pure. */
int tls_pem_next(const char *p, size_t n, size_t *used, char *name,
		 size_t name_max, struct buf *der);

#endif
