/* tlsproxy - `mailgw webui-tls`: the HTTPS front end of the web UI.
 *
 *     mailgw [-c DIR] webui-tls [-u user] LISTEN UPSTREAM
 *
 * Listens on LISTEN (host:port), terminates TLS with mailgw's own TLS
 * layer (tls/tls.h: BearSSL, TLS 1.2, AEAD suites) and relays the
 * plaintext to UPSTREAM (host:port), where busybox httpd serves webui.cgi
 * on loopback. The certificate and key are smtpd's (smtpd_tls_chain_files,
 * smtpd_tls_cert_file/key_file) or the self-signed pair in data_directory,
 * made on first use (tls/keys.h); the key is read before the process
 * drops to -u user (webui_owner), and stays in this process's memory only.
 * One child per connection (at most TLSPROXY_CONN_MAX at once), each with
 * an idle deadline of TLSPROXY_IDLE_S; the parent only accepts.
 *
 * httpd sees every client as the proxy (127.0.0.1), so the proxy names
 * the client in a request field of its own, "X-Mailgw-Client: KEY ADDR"
 * (webui/httphead.h), with KEY a secret it writes at start into
 * webui_directory/proxy-key (webui/setuptoken.h) as -u user; the CGI
 * believes the field only with that key, so its login limit is per
 * client. Copies of the field sent by the client are dropped. */
#ifndef MAILGW_WEBUI_TLSPROXY_H
#define MAILGW_WEBUI_TLSPROXY_H

#define TLSPROXY_CONN_MAX 32
#define TLSPROXY_IDLE_S   60
#define TLSPROXY_BUF      (64 * 1024)

/* webui_tls_main: in commands.h */

#endif
