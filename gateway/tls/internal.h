/* internal - what the tls/ files share; nothing outside tls/ includes it. */
#ifndef MAILGW_TLS_INTERNAL_H
#define MAILGW_TLS_INTERNAL_H

#include <bearssl.h>

#include "tls/server.h"
#include "tls/client.h"
#include "tls/tls.h"

/* Record buffers: a full input record (peers may send 16 KiB records),
 * a smaller output side (BearSSL fragments what we send to fit); this is
 * most of a TLS session's memory. */
#define TLS_IBUF BR_SSL_BUFSIZE_INPUT
#define TLS_OBUF (4096 + 85)

/* The server policy: chooses the suite by the key's type and asks the
 * server's signer for the ServerKeyExchange signature. */
struct tls_policy_ctx {
	const br_ssl_server_policy_class *vtable;
	struct tls_server *srv;
};

/* The client's certificate check: BearSSL's minimal X.509 engine for the
 * chain, wrapped to capture the end-entity certificate (names,
 * fingerprint, public key) and to decide per security level. */
struct tls_x509_ctx {
	const br_x509_class *vtable;
	br_x509_minimal_context minimal;
	br_x509_decoder_context dec;
	br_sha256_context fp;
	int cert_no; /* index of the certificate being received */
	int chain_err;
	struct tls_conn *conn;
	const br_x509_pkey *pk; /* the end-entity key, in dec */
	unsigned char *ee; /* the end-entity certificate (DER) */
	size_t ee_len, ee_max;
};

/* A client certificate (tls_client_set_identity()): BearSSL's client
 * certificate class over the identity's chain and signer. */
struct tls_ccert_ctx {
	const br_ssl_client_certificate_class *vtable;
	struct tls_server *ident;
};

/* server.c, for the client certificate: the chain, the key type and a
 * signature by the identity's signer (tls_signer_fn's contract). */
const br_x509_certificate *tls_server_chain(const struct tls_server *srv,
					    size_t *n);
size_t tls_server_sign(struct tls_server *srv, unsigned hash_id,
		       const unsigned char *hv, size_t hvlen,
		       unsigned char *sig, size_t max);
/* The strongest hash in a BearSSL bit field (1 << id), SHA-256 first;
 * 0xFF when none. */
unsigned tls_pick_hash(unsigned bits);

struct tls_conn {
	int is_server;
	int ready;
	int err_no;
	int failed;  /* sticky TLS_ERR_IO / TLS_ERR_CLOSED from the socket */
	int resumed; /* the server cache found the session */
	struct tls_server *srv;
	struct tls_client *cl;
	union {
		br_ssl_server_context s;
		br_ssl_client_context c;
	} u;
	br_ssl_engine_context *eng;
	struct tls_policy_ctx pol;
	struct tls_x509_ctx *x509; /* client only */
	struct tls_ccert_ctx ccert; /* client only, with an identity */
	enum tls_trust trust;
	char fingerprint[96];
	char *servername;
	void *servername_check; /* client.c: level and names to match */
	unsigned char *iobuf;
	/* client session cache (client.c): the key, the clock, the ID
	 * offered and what was known of the peer when it was saved */
	char *cache_key;
	uint64_t cache_now;
	unsigned char offered_id[32];
	size_t offered_len;
	enum tls_trust cached_trust;
	char cached_fp[96];
};

/* Shared engine set-up: hashes, PRFs, ciphers, EC, versions, suites. */
void tls_engine_setup(br_ssl_engine_context *eng, const struct tls_policy *p);
struct tls_conn *tls_conn_alloc(void);

/* client.c: the X.509 wrapper on c's engine (c->eng set): the chain is
 * checked against cl's anchors; level TLS_LEV_MAY (a server asking for
 * a client certificate) never fails on trust, verify and secure need
 * the chain and one of the names. */
void tls_x509_attach(struct tls_conn *c, const struct tls_client *cl,
		     int level, const char *const *match, size_t nmatch);
const br_x509_trust_anchor *tls_client_ta(const struct tls_client *cl,
					  size_t *n);

/* tls_client.c: set up the X.509 wrapper of a client connection. */
void tls_client_x509_setup(struct tls_conn *c);
void tls_client_x509_free(struct tls_conn *c);
/* client.c: the handshake of a client connection with a cache key ended
 * (ok: completed; else failed): save, note a resumption, or forget. */
void tls_client_cache_done(struct tls_conn *c, int ok);

#endif
