/* starttls - the smtpd side of TLS set-up: the smtpd_tls_* parameters
 * into a tls_server whose chain and signer come from the keys process
 * (tls/keys.h). The session's STARTTLS command and TLS I/O are in
 * session.c; this file only configures. */
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "smtpd/session.h"
#include "tls/client.h"
#include "tls/keys.h"
#include "tls/server.h"

static const char *param(const char *name)
{
	const char *v = conf_get(name);
	return v != NULL ? v : "";
}

static int level(void)
{
	const char *v = param("smtpd_tls_security_level");

	if (strcmp(v, "encrypt") == 0)
		return SMTPD_TLS_ENCRYPT;
	if (strcmp(v, "may") == 0)
		return SMTPD_TLS_MAY;
	if (*v == 0 && conf_get_bool("smtpd_enforce_tls") > 0)
		return SMTPD_TLS_ENCRYPT;
	if (*v == 0 && conf_get_bool("smtpd_use_tls") > 0)
		return SMTPD_TLS_MAY;
	return SMTPD_TLS_NONE;
}

/* smtpd_tls_ask_ccert: the CAs that client certificates are checked
 * against, named in the request (BearSSL needs at least one). */
static void ask_ccert(struct smtpd_server *srv)
{
	const char *f = param("smtpd_tls_CAfile");
	const char *d = param("smtpd_tls_CApath");

	srv->ccert_cas = tls_client_new();
	if (*f && tls_client_add_cafile(srv->ccert_cas, f) < 0)
		msg_warn("smtpd_tls_CAfile: cannot read %s", f);
	if (*d && tls_client_add_capath(srv->ccert_cas, d) < 0)
		msg_warn("smtpd_tls_CApath: cannot read %s", d);
	if (tls_client_anchors(srv->ccert_cas) == 0) {
		msg_warn("smtpd_tls_ask_ccert: no CA certificate in "
			 "smtpd_tls_CAfile or smtpd_tls_CApath to name in the "
			 "request; client certificates are not asked for");
		tls_client_free(srv->ccert_cas);
		srv->ccert_cas = NULL;
		return;
	}
	tls_server_set_ccert(srv->tls, srv->ccert_cas);
}

int smtpd_server_tls(struct smtpd_server *srv, int keys_fd)
{
	struct tls_policy p;
	const char *pr, *su, *ex;
	int mandatory;

	srv->tls = NULL;
	srv->keys_fd = keys_fd;
	srv->tls_level = level();
	srv->tls_wrapper = conf_get_bool("smtpd_tls_wrappermode") > 0;
	srv->tls_loglevel = (int)conf_get_int("smtpd_tls_loglevel");
	srv->tls_received_header =
		conf_get_bool("smtpd_tls_received_header") > 0;
	srv->tls_timeout_ms =
		(uint64_t)conf_get_time("smtpd_starttls_timeout") * 1000;
	if (srv->tls_timeout_ms == 0)
		srv->tls_timeout_ms = 300000;
	if (srv->tls_level == SMTPD_TLS_NONE && !srv->tls_wrapper)
		return 0;
	mandatory = srv->tls_level == SMTPD_TLS_ENCRYPT || srv->tls_wrapper;
	pr = param(mandatory ? "smtpd_tls_mandatory_protocols"
			     : "smtpd_tls_protocols");
	if (tls_protocols_parse(pr, strlen(pr), &p.vmin, &p.vmax) < 0) {
		msg_warn("%s: no usable TLS protocol in \"%s\"",
			 mandatory ? "smtpd_tls_mandatory_protocols"
				   : "smtpd_tls_protocols",
			 pr);
		return -1;
	}
	su = param("smtpd_tls_cipher_suites");
	ex = param(mandatory ? "smtpd_tls_mandatory_exclude_ciphers"
			     : "smtpd_tls_exclude_ciphers");
	if (tls_suites_parse(su, strlen(su), ex, strlen(ex), p.suites,
			     &p.nsuites) < 0) {
		msg_warn("smtpd_tls_cipher_suites: unknown suite or none left "
			 "in \"%s\"",
			 su);
		return -1;
	}
	if (keys_fd < 0) {
		msg_warn("TLS is configured but there is no keys process");
		return -1;
	}
	srv->tls = tls_server_new();
	tls_server_set_policy(srv->tls, &p);
	if (conf_get_time("smtpd_tls_session_cache_timeout") > 0)
		tls_server_set_cache(srv->tls, 4096);
	if (conf_get_bool("smtpd_tls_ask_ccert") > 0)
		ask_ccert(srv);
	if (tls_keys_attach(&srv->keys_fd, srv->tls) < 0) {
		msg_warn("no TLS certificate from the keys process");
		tls_server_free(srv->tls);
		srv->tls = NULL;
		return -1;
	}
	return 0;
}
