/* tls - TLS connections on the event loop (BearSSL; issue 6).
 *
 * Layers, bottom up:
 *   tls_conn    one BearSSL engine (server or client) with caller-owned
 *               record buffers; it does no blocking I/O: tls_conn_io()
 *               moves records between a non-blocking socket and the engine
 *               and application bytes between the engine and two struct
 *               bufs, as far as that goes without waiting, and says what
 *               to wait for next (tls_conn_want()). A stalled peer leaves
 *               the engine where it was; other sessions never wait for it.
 *   tls_server  what every server connection of a process shares: the
 *               certificate chain, the signer (the keys process, or a key
 *               held in memory by a test), suites, versions, the session
 *               cache, the counters (tls_server.c).
 *   tls_client  the same for the SMTP client: trust anchors, suites,
 *               versions, peer certificate checks (tls_client.c).
 *
 * Names: protocol and cipher names are OpenSSL's ("TLSv1.2",
 * "ECDHE-ECDSA-AES128-GCM-SHA256"), because Postfix logs those and log
 * tools expect them.
 *
 * Errors: negative TLS_ERR_* values; tls_conn_error() keeps the BearSSL
 * error code of a failed engine (sticky, as BearSSL's own). */
#ifndef MAILGW_TLS_TLS_H
#define MAILGW_TLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define TLS_ERR_CLOSED (-1) /* the peer closed (close_notify or EOF) */
#define TLS_ERR_IO     (-2) /* socket error (errno kept in tls_conn) */
#define TLS_ERR_PROTO  (-3) /* TLS failure: tls_conn_error() says which */
#define TLS_ERR_CONFIG (-4) /* a parameter value could not be used */

/* Versions as on the wire (0x0301 TLS 1.0 .. 0x0303 TLS 1.2). */
#define TLS_V10 0x0301
#define TLS_V11 0x0302
#define TLS_V12 0x0303

/* Suite groups for the cipher-list parameters. */
#define TLS_SUITE_AEAD 1u /* ECDHE with AES-GCM or ChaCha20-Poly1305 */
#define TLS_SUITE_CBC  2u /* ECDHE with AES-CBC (SHA-1/SHA-2 MAC) */
#define TLS_SUITE_RSA  4u /* RSA key exchange: no forward secrecy */
#define TLS_SUITE_3DES 8u /* 3DES-EDE-CBC */
#define TLS_SUITE_CCM  16u /* ECDHE-ECDSA with AES-CCM */

#define TLS_SUITES_MAX 40

/* Negotiated parameters for logs and the Received header. */
struct tls_info {
	char proto[16];  /* "TLSv1.2" */
	char cipher[64]; /* "ECDHE-ECDSA-AES128-GCM-SHA256" */
	int bits;        /* 128, 256 */
	int resumed;     /* abbreviated handshake from the session cache */
};

/* A suite list and version range, parsed from the parameters. */
struct tls_policy {
	uint16_t suites[TLS_SUITES_MAX];
	size_t nsuites;
	unsigned vmin, vmax;
};

/* Postfix's protocol syntax ("TLSv1.2", "!TLSv1, !TLSv1.1", ">=TLSv1.2",
 * "<=TLSv1.2"; SSLv2/SSLv3 accepted and ignored, TLSv1.3 not supported
 * by BearSSL): the version range that is left. Pure. 0, or
 * TLS_ERR_CONFIG when nothing is left or a token is unknown. */
int tls_protocols_parse(const char *s, size_t n, unsigned *vmin,
			unsigned *vmax);
/* The suite list: tokens separated by space/comma, each a group
 * ("aead", "cbc", "rsa", "3des", "ccm") or an OpenSSL suite name; then
 * the names in exclude (may be NULL) are removed. Order: as listed, the
 * server's preference. Pure. 0, or TLS_ERR_CONFIG (unknown name, empty
 * result). */
int tls_suites_parse(const char *s, size_t n, const char *exclude,
		     size_t exclude_n, uint16_t *out, size_t *nout);
/* Postfix's cipher grades (smtp_tls_policy_maps ciphers=GRADE) as
 * BearSSL suite sets, in preference order. Postfix hands the grade to
 * OpenSSL, so the sets follow OpenSSL's classes: "high" is every AES,
 * AES-CCM and ChaCha20 suite of the table (AEAD, CBC, and RSA key
 * exchange, as OpenSSL's HIGH); "medium", "low" and "export" add 3DES
 * (OpenSSL's MEDIUM; BearSSL has nothing weaker); "null" (no encryption)
 * is refused. Then the names in exclude (may be NULL) are removed. Pure.
 * 0, or TLS_ERR_CONFIG (unknown grade, empty result). */
int tls_cipher_grade_parse(const char *s, size_t n, const char *exclude,
			   size_t exclude_n, uint16_t *out, size_t *nout);
/* OpenSSL name and strength of a suite; NULL for one not in the table. */
const char *tls_suite_name(unsigned suite, int *bits);
const char *tls_version_name(unsigned v);
/* A short text for a BearSSL error code (for logs). */
const char *tls_error_text(int br_err);
/* What a failed handshake's error says about the peer certificate:
 * TLS_CERT_NAME (no name matched), TLS_CERT_UNTRUSTED (chain not valid),
 * or 0 (not a certificate problem). */
#define TLS_CERT_NAME      1
#define TLS_CERT_UNTRUSTED 2
int tls_error_cert(int br_err);

struct tls_server;
struct tls_client;
struct tls_conn;

/* A server connection for srv (which must outlive it). Client
 * connections: tls_conn_new_client() in tls/client.h. */
struct tls_conn *tls_conn_new_server(struct tls_server *srv);
void tls_conn_free(struct tls_conn *c);

/* Move out's bytes into the engine, records to and from fd, and
 * decrypted bytes into in (as far as in's maximum allows). Never blocks.
 * 0 while the connection lives (even with nothing moved), else
 * TLS_ERR_CLOSED, TLS_ERR_IO or TLS_ERR_PROTO. Bytes already moved into
 * in stay there after an error. */
int tls_conn_io(struct tls_conn *c, int fd, struct buf *in, struct buf *out);
/* LOOP_READABLE / LOOP_WRITABLE: what the engine waits for. */
int tls_conn_want(const struct tls_conn *c);
/* 1 once the handshake has completed. */
int tls_conn_ready(const struct tls_conn *c);
/* Send close_notify (then tls_conn_io() flushes it). */
void tls_conn_close(struct tls_conn *c);
/* BearSSL error code (0: none); errno of a TLS_ERR_IO. */
int tls_conn_error(const struct tls_conn *c);
int tls_conn_errno(const struct tls_conn *c);
void tls_conn_info(const struct tls_conn *c, struct tls_info *info);

/* Client side: the result of the peer certificate checks. */
enum tls_trust {
	TLS_UNTRUSTED = 0, /* chain not verified */
	TLS_TRUSTED,       /* chain verified, name not matched */
	TLS_VERIFIED,      /* chain verified and a name matched */
};
enum tls_trust tls_conn_trust(const struct tls_conn *c);
/* The peer certificate's SHA-256 fingerprint in hex with colons, as
 * Postfix logs it ("AB:CD:..."); empty before it was seen. */
const char *tls_conn_peer_fingerprint(const struct tls_conn *c);

#endif
