/* conn - a TLS connection driven from the event loop (see tls.h), and the
 * policy parsers (protocols, suites).
 *
 * The engine is BearSSL's (bearssl_ssl.h): it does no I/O; tls_conn_io()
 * hands it what the socket has and writes what it produced, stopping at
 * EAGAIN. Protocol names follow Postfix's smtpd_tls_protocols syntax;
 * suite names are OpenSSL's (RFC 5246, 5289, 7905 for the suites). */
#include "tls/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "core/mem.h"
#include "core/str.h"

/* ---- suites ---- */

static const struct suite_row {
	uint16_t id;
	unsigned group;
	int bits;
	const char *name;
} suite_table[] = {
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_SUITE_AEAD, 128,
	 "ECDHE-ECDSA-AES128-GCM-SHA256"},
	{BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_SUITE_AEAD, 128,
	 "ECDHE-RSA-AES128-GCM-SHA256"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_SUITE_AEAD, 256,
	 "ECDHE-ECDSA-AES256-GCM-SHA384"},
	{BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_SUITE_AEAD, 256,
	 "ECDHE-RSA-AES256-GCM-SHA384"},
	{BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_SUITE_AEAD, 256,
	 "ECDHE-ECDSA-CHACHA20-POLY1305"},
	{BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_SUITE_AEAD, 256,
	 "ECDHE-RSA-CHACHA20-POLY1305"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM, TLS_SUITE_CCM, 128,
	 "ECDHE-ECDSA-AES128-CCM"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM, TLS_SUITE_CCM, 256,
	 "ECDHE-ECDSA-AES256-CCM"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, TLS_SUITE_CBC, 128,
	 "ECDHE-ECDSA-AES128-SHA256"},
	{BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, TLS_SUITE_CBC, 128,
	 "ECDHE-RSA-AES128-SHA256"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, TLS_SUITE_CBC, 256,
	 "ECDHE-ECDSA-AES256-SHA384"},
	{BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, TLS_SUITE_CBC, 256,
	 "ECDHE-RSA-AES256-SHA384"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_SUITE_CBC, 128,
	 "ECDHE-ECDSA-AES128-SHA"},
	{BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_SUITE_CBC, 128,
	 "ECDHE-RSA-AES128-SHA"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, TLS_SUITE_CBC, 256,
	 "ECDHE-ECDSA-AES256-SHA"},
	{BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, TLS_SUITE_CBC, 256,
	 "ECDHE-RSA-AES256-SHA"},
	{BR_TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_SUITE_RSA, 128,
	 "AES128-GCM-SHA256"},
	{BR_TLS_RSA_WITH_AES_256_GCM_SHA384, TLS_SUITE_RSA, 256,
	 "AES256-GCM-SHA384"},
	{BR_TLS_RSA_WITH_AES_128_CBC_SHA256, TLS_SUITE_RSA, 128,
	 "AES128-SHA256"},
	{BR_TLS_RSA_WITH_AES_256_CBC_SHA256, TLS_SUITE_RSA, 256,
	 "AES256-SHA256"},
	{BR_TLS_RSA_WITH_AES_128_CBC_SHA, TLS_SUITE_RSA, 128, "AES128-SHA"},
	{BR_TLS_RSA_WITH_AES_256_CBC_SHA, TLS_SUITE_RSA, 256, "AES256-SHA"},
	{BR_TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA, TLS_SUITE_3DES, 112,
	 "ECDHE-ECDSA-DES-CBC3-SHA"},
	{BR_TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, TLS_SUITE_3DES, 112,
	 "ECDHE-RSA-DES-CBC3-SHA"},
	{BR_TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_SUITE_3DES, 112,
	 "DES-CBC3-SHA"},
};
#define NSUITES (sizeof(suite_table) / sizeof(suite_table[0]))
_Static_assert(NSUITES <= TLS_SUITES_MAX, "TLS_SUITES_MAX too small");

const char *tls_suite_name(unsigned suite, int *bits)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (suite_table[i].id == suite) {
			if (bits != NULL)
				*bits = suite_table[i].bits;
			return suite_table[i].name;
		}
	if (bits != NULL)
		*bits = 0;
	return NULL;
}

const char *tls_version_name(unsigned v)
{
	switch (v) {
	case TLS_V10:
		return "TLSv1";
	case TLS_V11:
		return "TLSv1.1";
	case TLS_V12:
		return "TLSv1.2";
	}
	return "unknown";
}

/* The next token of a list separated by space, tab, comma, or colon
 * (Postfix's policy attributes: "protocols=!SSLv2:!SSLv3"). */
static int next_token(const char **p, const char *end, const char **tok,
		      size_t *tn)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == ',' ||
			    **p == ':' || **p == '\n' || **p == '\r'))
		(*p)++;
	if (*p >= end)
		return 0;
	*tok = *p;
	while (*p < end && **p != ' ' && **p != '\t' && **p != ',' &&
	       **p != ':' && **p != '\n' && **p != '\r')
		(*p)++;
	*tn = (size_t)(*p - *tok);
	return 1;
}

static int tok_is(const char *t, size_t n, const char *word)
{
	return strlen(word) == n && str_ncasecmp(t, word, n) == 0;
}

static int suite_add(uint16_t *out, size_t *nout, uint16_t id)
{
	for (size_t i = 0; i < *nout; i++)
		if (out[i] == id)
			return 0;
	if (*nout >= TLS_SUITES_MAX)
		return TLS_ERR_CONFIG;
	out[(*nout)++] = id;
	return 0;
}

int tls_suites_parse(const char *s, size_t n, const char *exclude,
		     size_t exclude_n, uint16_t *out, size_t *nout)
{
	static const struct {
		const char *word;
		unsigned group;
	} groups[] = {{"aead", TLS_SUITE_AEAD}, {"cbc", TLS_SUITE_CBC},
		      {"rsa", TLS_SUITE_RSA},   {"3des", TLS_SUITE_3DES},
		      {"ccm", TLS_SUITE_CCM}};
	const char *p = s, *end = s + n, *t;
	size_t tn;

	*nout = 0;
	while (next_token(&p, end, &t, &tn)) {
		int found = 0;
		for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++) {
			if (!tok_is(t, tn, groups[g].word))
				continue;
			found = 1;
			for (size_t i = 0; i < NSUITES; i++)
				if (suite_table[i].group == groups[g].group &&
				    suite_add(out, nout, suite_table[i].id) < 0)
					return TLS_ERR_CONFIG;
		}
		for (size_t i = 0; i < NSUITES && !found; i++)
			if (tok_is(t, tn, suite_table[i].name)) {
				found = 1;
				if (suite_add(out, nout, suite_table[i].id) < 0)
					return TLS_ERR_CONFIG;
			}
		if (!found)
			return TLS_ERR_CONFIG;
	}
	p = exclude;
	end = exclude != NULL ? exclude + exclude_n : NULL;
	while (exclude != NULL && next_token(&p, end, &t, &tn)) {
		for (size_t i = 0; i < *nout; i++) {
			const char *name = tls_suite_name(out[i], NULL);
			if (!tok_is(t, tn, name))
				continue;
			memmove(out + i, out + i + 1,
				(*nout - i - 1) * sizeof(*out));
			(*nout)--;
			break;
		}
	}
	return *nout > 0 ? 0 : TLS_ERR_CONFIG;
}

int tls_cipher_grade_parse(const char *s, size_t n, const char *exclude,
			   size_t exclude_n, uint16_t *out, size_t *nout)
{
	static const struct {
		const char *grade;
		const char *groups;
	} grades[] = {{"high", "aead ccm cbc rsa"},
		      {"medium", "aead ccm cbc rsa 3des"},
		      {"low", "aead ccm cbc rsa 3des"},
		      {"export", "aead ccm cbc rsa 3des"}};

	for (size_t g = 0; g < sizeof(grades) / sizeof(*grades); g++)
		if (tok_is(s, n, grades[g].grade))
			return tls_suites_parse(grades[g].groups,
						strlen(grades[g].groups),
						exclude, exclude_n, out, nout);
	*nout = 0;
	return TLS_ERR_CONFIG;
}

/* ---- protocols ---- */

static int version_of(const char *t, size_t n)
{
	if (tok_is(t, n, "TLSv1"))
		return 0;
	if (tok_is(t, n, "TLSv1.1"))
		return 1;
	if (tok_is(t, n, "TLSv1.2"))
		return 2;
	if (tok_is(t, n, "TLSv1.3"))
		return 3;
	if (tok_is(t, n, "SSLv2") || tok_is(t, n, "SSLv3"))
		return -2;
	return -1;
}

int tls_protocols_parse(const char *s, size_t n, unsigned *vmin,
			unsigned *vmax)
{
	/* index 0..2 = TLS 1.0..1.2; 3 = TLS 1.3 (never available) */
	int allow[4] = {1, 1, 1, 0}, named[4] = {0}, any_named = 0;
	int lo = 0, hi = 3;
	const char *p = s, *end = s + n, *t;
	size_t tn;

	while (next_token(&p, end, &t, &tn)) {
		int neg = 0, ge = 0, le = 0;
		if (tn > 0 && *t == '!')
			neg = 1, t++, tn--;
		else if (tn > 2 && t[0] == '>' && t[1] == '=')
			ge = 1, t += 2, tn -= 2;
		else if (tn > 2 && t[0] == '<' && t[1] == '=')
			le = 1, t += 2, tn -= 2;
		int v = version_of(t, tn);
		if (v == -1)
			return TLS_ERR_CONFIG;
		if (v == -2)
			continue; /* SSLv2/3: never offered anyway */
		if (neg)
			allow[v] = 0;
		else if (ge)
			lo = v > lo ? v : lo;
		else if (le)
			hi = v < hi ? v : hi;
		else
			named[v] = 1, any_named = 1;
	}
	int first = -1, last = -1;
	for (int v = 0; v < 3; v++) {
		int ok = allow[v] && v >= lo && v <= hi &&
			 (!any_named || named[v]);
		if (!ok)
			continue;
		if (first < 0)
			first = v;
		last = v;
	}
	if (first < 0)
		return TLS_ERR_CONFIG;
	*vmin = TLS_V10 + (unsigned)first;
	*vmax = TLS_V10 + (unsigned)last;
	return 0;
}

const char *tls_error_text(int e)
{
	static const struct {
		int e;
		const char *t;
	} tab[] = {
		{BR_ERR_BAD_PARAM, "bad parameter"},
		{BR_ERR_BAD_STATE, "bad state"},
		{BR_ERR_UNSUPPORTED_VERSION, "unsupported protocol version"},
		{BR_ERR_BAD_VERSION, "bad protocol version"},
		{BR_ERR_BAD_LENGTH, "bad record length"},
		{BR_ERR_TOO_LARGE, "record too large"},
		{BR_ERR_BAD_MAC, "bad record MAC"},
		{BR_ERR_UNEXPECTED, "unexpected message"},
		{BR_ERR_BAD_HANDSHAKE, "bad handshake message"},
		{BR_ERR_BAD_CIPHER_SUITE, "no shared cipher"},
		{BR_ERR_BAD_FRAGLEN, "bad fragment length"},
		{BR_ERR_BAD_SECRENEG, "bad secure renegotiation"},
		{BR_ERR_BAD_SNI, "bad server name"},
		{BR_ERR_LIMIT_EXCEEDED, "limit exceeded"},
		{BR_ERR_BAD_FINISHED, "bad Finished message"},
		{BR_ERR_BAD_SIGNATURE, "bad signature"},
		{BR_ERR_WRONG_KEY_USAGE, "wrong key usage"},
		{BR_ERR_NO_CLIENT_AUTH, "no client certificate"},
		{BR_ERR_IO, "I/O error"},
		{BR_ERR_X509_EXPIRED, "certificate expired or not yet valid"},
		{BR_ERR_X509_BAD_SERVER_NAME, "certificate name mismatch"},
		{BR_ERR_X509_NOT_TRUSTED, "certificate not trusted"},
		{BR_ERR_X509_UNSUPPORTED, "unsupported certificate"},
		{BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature"},
	};
	/* RFC 5246 7.2 alert descriptions */
	static const struct {
		int a;
		const char *t;
	} alerts[] = {
		{0, "close notify"},	       {10, "unexpected message"},
		{20, "bad record MAC"},	       {40, "handshake failure"},
		{42, "bad certificate"},       {43, "unsupported certificate"},
		{45, "certificate expired"},   {46, "certificate unknown"},
		{47, "illegal parameter"},     {48, "unknown CA"},
		{50, "decode error"},	       {51, "decrypt error"},
		{70, "protocol version"},      {71, "insufficient security"},
		{80, "internal error"},	       {90, "user canceled"},
		{112, "unrecognized name"},
	};
	static char other[96];

	if (e >= BR_ERR_RECV_FATAL_ALERT) {
		int send = e >= BR_ERR_SEND_FATAL_ALERT;
		int a = e - (send ? BR_ERR_SEND_FATAL_ALERT
				  : BR_ERR_RECV_FATAL_ALERT);
		const char *name = "unknown";
		for (size_t i = 0; i < sizeof(alerts) / sizeof(*alerts); i++)
			if (alerts[i].a == a)
				name = alerts[i].t;
		snprintf(other, sizeof(other), "%s fatal alert %d (%s)",
			 send ? "sent" : "received", a, name);
		return other;
	}
	for (size_t i = 0; i < sizeof(tab) / sizeof(*tab); i++)
		if (tab[i].e == e)
			return tab[i].t;
	snprintf(other, sizeof(other), "TLS error %d", e);
	return other;
}

int tls_error_cert(int e)
{
	if (e == BR_ERR_X509_BAD_SERVER_NAME)
		return TLS_CERT_NAME;
	if (e > BR_ERR_X509_OK && e < BR_ERR_X509_OK + 64)
		return TLS_CERT_UNTRUSTED;
	return 0;
}

/* ---- engine ---- */

void tls_engine_setup(br_ssl_engine_context *eng, const struct tls_policy *p)
{
	static const br_hash_class *const hashes[] = {
		&br_md5_vtable,    &br_sha1_vtable,   &br_sha224_vtable,
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable};

	br_ssl_engine_set_versions(eng, p->vmin, p->vmax);
	br_ssl_engine_set_suites(eng, p->suites, p->nsuites);
	for (int id = br_md5_ID; id <= br_sha512_ID; id++)
		br_ssl_engine_set_hash(eng, id, hashes[id - 1]);
	br_ssl_engine_set_prf10(eng, &br_tls10_prf);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_default_chapol(eng);
	br_ssl_engine_set_default_aes_cbc(eng);
	br_ssl_engine_set_default_aes_ccm(eng);
	br_ssl_engine_set_default_des_cbc(eng);
	br_ssl_engine_set_default_ec(eng);
	br_ssl_engine_set_default_rsavrfy(eng);
	br_ssl_engine_set_default_ecdsa(eng);
	/* no renegotiation: nothing in SMTP needs it */
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
}

struct tls_conn *tls_conn_alloc(void)
{
	struct tls_conn *c = mem_zalloc(sizeof(*c));
	c->iobuf = mem_alloc(TLS_IBUF + TLS_OBUF);
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->x509 != NULL)
		tls_client_x509_free(c);
	mem_free(c->servername);
	mem_free(c->cache_key);
	explicit_bzero(c->iobuf, TLS_IBUF + TLS_OBUF);
	mem_free(c->iobuf);
	explicit_bzero(&c->u, sizeof(c->u));
	mem_free(c);
}

static void check_ready(struct tls_conn *c, unsigned st)
{
	if (c->ready || !(st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)))
		return;
	c->ready = 1;
	if (!c->is_server && c->cache_key != NULL)
		tls_client_cache_done(c, 1);
	if (c->is_server) {
		struct tls_server_stats *s = tls_server_stats(c->srv);
		s->handshakes++;
		struct tls_info i;
		tls_conn_info(c, &i);
		if (i.resumed)
			s->resumed++;
	}
}

static int conn_io(struct tls_conn *c, int fd, struct buf *in, struct buf *out)
{
	br_ssl_engine_context *eng = c->eng;
	int rblocked = 0, wblocked = 0;

	if (c->failed)
		return c->failed;
	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		int progress = 0;
		unsigned char *b;
		size_t len;

		if (st & BR_SSL_CLOSED) {
			int e = br_ssl_engine_last_error(eng);
			if (e == BR_ERR_OK)
				return TLS_ERR_CLOSED;
			return TLS_ERR_PROTO;
		}
		check_ready(c, st);
		if ((st & BR_SSL_RECVAPP) && in != NULL && in->len < in->max) {
			b = br_ssl_engine_recvapp_buf(eng, &len);
			if (len > in->max - in->len)
				len = in->max - in->len;
			buf_append(in, b, len);
			br_ssl_engine_recvapp_ack(eng, len);
			progress = 1;
		}
		if ((st & BR_SSL_SENDAPP) && out != NULL && out->len > 0) {
			b = br_ssl_engine_sendapp_buf(eng, &len);
			if (len > out->len)
				len = out->len;
			memcpy(b, out->data, len);
			br_ssl_engine_sendapp_ack(eng, len);
			buf_consume(out, len);
			if (out->len == 0)
				br_ssl_engine_flush(eng, 0);
			progress = 1;
		}
		if ((st & BR_SSL_SENDREC) && !wblocked) {
			b = br_ssl_engine_sendrec_buf(eng, &len);
			ssize_t w = write(fd, b, len);
			if (w > 0) {
				br_ssl_engine_sendrec_ack(eng, (size_t)w);
				progress = 1;
			} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				wblocked = 1;
			} else {
				c->err_no = w < 0 ? errno : EPIPE;
				return c->failed = TLS_ERR_IO;
			}
		}
		if ((st & BR_SSL_RECVREC) && !rblocked) {
			b = br_ssl_engine_recvrec_buf(eng, &len);
			ssize_t r = read(fd, b, len);
			if (r > 0) {
				br_ssl_engine_recvrec_ack(eng, (size_t)r);
				progress = 1;
			} else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				rblocked = 1;
			} else {
				/* EOF without close_notify: SMTP has its own
				 * end (QUIT), so this is a lost connection */
				c->err_no = r < 0 ? errno : 0;
				return c->failed = r == 0 ? TLS_ERR_CLOSED
							  : TLS_ERR_IO;
			}
		}
		if (!progress)
			return 0;
	}
}

/* During the handshake a flight is several records, made one at a time:
 * corked, they leave in one segment instead of waiting for the peer's
 * delayed ACK (Nagle) between records. */
int tls_conn_io(struct tls_conn *c, int fd, struct buf *in, struct buf *out)
{
	int on = 1, off = 0, cork = !c->ready && !c->failed;

	if (cork)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	int r = conn_io(c, fd, in, out);
	if (r < 0 && !c->ready && !c->is_server && c->cache_key != NULL)
		tls_client_cache_done(c, 0);
	if (cork)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	return r;
}

int tls_conn_want(const struct tls_conn *c)
{
	unsigned st = br_ssl_engine_current_state(c->eng);
	int want = 0;

	if (c->failed)
		return 0;
	if (st & BR_SSL_SENDREC)
		want |= LOOP_WRITABLE;
	if (st & BR_SSL_RECVREC)
		want |= LOOP_READABLE;
	return want;
}

int tls_conn_resumed(const struct tls_conn *c)
{
	return c->resumed;
}

int tls_conn_ready(const struct tls_conn *c)
{
	return c->ready;
}

void tls_conn_close(struct tls_conn *c)
{
	br_ssl_engine_close(c->eng);
}

int tls_conn_error(const struct tls_conn *c)
{
	return br_ssl_engine_last_error(c->eng);
}

int tls_conn_errno(const struct tls_conn *c)
{
	return c->err_no;
}

void tls_conn_info(const struct tls_conn *c, struct tls_info *info)
{
	br_ssl_session_parameters sp;
	const char *name;

	memset(info, 0, sizeof(*info));
	br_ssl_engine_get_session_parameters(c->eng, &sp);
	snprintf(info->proto, sizeof(info->proto), "%s",
		 tls_version_name(br_ssl_engine_get_version(c->eng)));
	name = tls_suite_name(sp.cipher_suite, &info->bits);
	if (name != NULL)
		snprintf(info->cipher, sizeof(info->cipher), "%s", name);
	else
		snprintf(info->cipher, sizeof(info->cipher), "0x%04X",
			 sp.cipher_suite);
	info->resumed = c->resumed;
}

enum tls_trust tls_conn_trust(const struct tls_conn *c)
{
	return c->trust;
}

const char *tls_conn_peer_fingerprint(const struct tls_conn *c)
{
	return c->fingerprint;
}
