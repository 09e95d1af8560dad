/* tls/keys - the keys process: the only holder of TLS private keys
 * (DESIGN.md; as OpenSMTPD's ca process).
 *
 * Life cycle: master's set-up of an smtpd child calls tls_keys_start()
 * while still root, with the service's -o overrides applied. If the
 * service uses TLS (smtpd_tls_security_level may/encrypt, or
 * smtpd_tls_wrappermode), it forks the keys process, one per smtpd
 * process, joined to it by a SOCK_SEQPACKET socketpair. The keys process
 * reads the key and certificate files as root (or, with none configured,
 * makes the self-signed pair in $data_directory, key mode 0600), checks
 * that the key matches the first certificate, drops to mail_owner, makes
 * itself non-dumpable (no ptrace, no core: smtpd runs as the same user),
 * closes everything but its socket, and sends the chain. Then it answers
 * one request at a time until smtpd closes the socket, and exits.
 *
 * Protocol (every message is one datagram, host byte order; the keys
 * process checks each field and answers a bad request with status -1):
 *   keys -> smtpd at start: {type 1 CERT, len, DER} per certificate,
 *                           end entity first, then {type 2 END, 0}.
 *   smtpd -> keys: {op, hash_id, len, data[len]}
 *       op 1 SIGN: data is a hash of the size hash_id implies (BearSSL
 *                  ids 2..6 SHA-1..SHA-512; 0 = MD5+SHA-1, RSA only);
 *       op 2 RSA_DECRYPT: data is the RSA-encrypted premaster secret.
 *   keys -> smtpd: {status 0|-1, len, data[len]}: the signature (ECDSA
 *                  DER or PKCS#1 v1.5), or the 48-byte premaster secret.
 * len <= TLS_KEYS_DATA_MAX in both directions. */
#ifndef MAILGW_TLS_KEYS_H
#define MAILGW_TLS_KEYS_H

#include <stddef.h>
#include <sys/types.h>

#include "tls/server.h"

#define TLS_KEYS_DATA_MAX 1024

/* The smtpd end of the socket (close-on-exec), or -1 when the service
 * does not use TLS. Configuration errors are fatal (logged). */
int tls_keys_start(uid_t uid, gid_t gid);

/* The same for the SMTP client's certificate (smtp_tls_chain_files, or
 * smtp_tls_cert_file and smtp_tls_key_file): master's set-up of qmgr
 * calls it as root; a keys process of its own holds the client key, and
 * qmgr reads the chain with tls_keys_attach() into a tls_server object
 * that the client presents (tls_client_set_identity()). -1 when no
 * client certificate is configured. */
int tls_keys_start_client(uid_t uid, gid_t gid);

/* smtpd: read the chain from the keys process into srv and make the keys
 * process srv's signer (fdp must stay valid). 0 or TLS_ERR_CONFIG. */
int tls_keys_attach(int *fdp, struct tls_server *srv);

/* The signer (tls_signer_fn) that asks the keys process over *(int *)arg;
 * waits at most 10 s for the answer. */
size_t tls_keys_sign(void *arg, unsigned hash_id, const unsigned char *hv,
		     size_t hvlen, unsigned char *sig, size_t max);

/* Load the key and chain the way the keys process does (for tests and
 * `mailgw tls`): 0, or TLS_ERR_CONFIG with the reason logged. With
 * generate, a missing self-signed pair is made. */
struct tls_key;
int tls_keys_load(struct tls_key **key, struct buf *chain, int generate);

#endif
