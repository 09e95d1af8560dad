/* tls/client - TLS for the SMTP/LMTP client (Postfix's smtp_tls_*).
 *
 * A tls_client holds the trust anchors (smtp_tls_CAfile, smtp_tls_CApath)
 * and the policy; a connection gets its security level and the names the
 * server certificate must match (Postfix: verify matches the MX host
 * name, secure the next hop and its subdomains by default). The chain is
 * always checked, so that the log can say Untrusted / Trusted / Verified
 * as Postfix does; only verify and secure fail the handshake on it.
 *
 * Name matching (tls/x509name.h) follows Postfix: a certificate name
 * "*.example.com" matches one leftmost label; a wanted name ".example.com"
 * (dot-nexthop) matches every name below example.com; case-insensitive;
 * subjectAltName DNS names when present, else the subject's CN. */
#ifndef MAILGW_TLS_CLIENT_H
#define MAILGW_TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "tls/tls.h"

enum tls_level {
	TLS_LEV_NONE = 0,
	TLS_LEV_MAY,
	TLS_LEV_ENCRYPT,
	TLS_LEV_VERIFY,
	TLS_LEV_SECURE,
};
/* "none", "may", "encrypt", "verify", "secure" (also Postfix's
 * "dane"/"dane-only" -> may/secure, "fingerprint" -> unsupported: -1). */
int tls_level_parse(const char *s, size_t n);
const char *tls_level_name(int level);

/* One smtp_tls_policy_maps value (Postfix's syntax): "LEVEL
 * [match=NAME:NAME...] [servername=NAME] [protocols=...] [ciphers=...]";
 * other attributes are ignored. protocols= takes tls_protocols_parse()'s
 * syntax with ':' between items ("!SSLv2:!SSLv3", ">=TLSv1.2"),
 * ciphers= a grade (tls_cipher_grade_parse()); both are checked here.
 * Pure. 0, or TLS_ERR_CONFIG (no known level, a bad protocols= or
 * ciphers= value, or a value too long for the fields). */
struct tls_policy_entry {
	int level;
	char match[512];      /* ':'-separated, as written; "" if absent */
	char servername[256]; /* "" if absent */
	char protocols[128];  /* "" if absent */
	char ciphers[32];     /* a grade; "" if absent */
};
int tls_policy_entry_parse(const char *s, size_t n,
			   struct tls_policy_entry *e);

struct tls_client *tls_client_new(void);
void tls_client_free(struct tls_client *cl);
void tls_client_set_policy(struct tls_client *cl, const struct tls_policy *p);
/* Add the CA certificates of a PEM file, or of every file in a directory
 * (*.pem, *.crt and the hashed links). Returns how many were added, or
 * a negative errno for a file or directory that cannot be read. */
int tls_client_add_cafile(struct tls_client *cl, const char *path);
int tls_client_add_capath(struct tls_client *cl, const char *dir);
size_t tls_client_anchors(const struct tls_client *cl);

/* A client connection: SNI servername (may be NULL), the level, and the
 * names to match (for verify/secure; n may be 0). cl must outlive it. */
struct tls_conn *tls_conn_new_client(struct tls_client *cl,
				     const char *servername, int level,
				     const char *const *match, size_t nmatch);

/* The client certificate: a tls_server object used for its chain and
 * its signer only (tls_keys_attach() fills both from the keys process;
 * a test may set a tls_key signer). It is presented when the server asks
 * (CertificateRequest) and the key type suits the server's list; the
 * CertificateVerify signature is the signer's. NULL: none. ident must
 * outlive cl's connections. */
struct tls_server;
void tls_client_set_identity(struct tls_client *cl, struct tls_server *ident);

/* Client session resumption (Postfix's smtp_tls_session_cache_database,
 * kept in memory by the process that delivers): up to n sessions, each
 * offered for ttl_s seconds after the full handshake that made it; n 0
 * (the default) disables it. A session is found by the key the caller
 * gives; the key must name everything the peer checks depended on
 * (address, port, server name, level, names to match), because a
 * resumed handshake sends no certificate: its trust and fingerprint are
 * those saved with the session. */
void tls_client_set_cache(struct tls_client *cl, size_t n, unsigned ttl_s);
/* Before the handshake of c (a client connection): offer the session
 * saved under key, if any; after a full handshake, save the new one
 * under key; after a failed one, forget it. now_s: a seconds clock. */
void tls_conn_client_cache(struct tls_conn *c, const char *key,
			   uint64_t now_s);
/* 1 when the handshake resumed a session (client or server). */
int tls_conn_resumed(const struct tls_conn *c);

#endif
