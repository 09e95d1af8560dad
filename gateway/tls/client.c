/* client - client TLS: trust anchors, the per-connection certificate
 * check (see client.h). The chain is validated by BearSSL's minimal X.509
 * engine (RFC 5280 path validation, its documented subset); this file
 * wraps it to read the end-entity certificate on the side (names,
 * fingerprint, key) and to turn the result into Postfix's three trust
 * levels, failing the handshake only for verify and secure. */
#include "tls/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/str.h"
#include "tls/x509name.h"

#define EE_MAX (64 * 1024) /* largest end-entity certificate read */
#define CA_FILE_MAX (16 * 1024 * 1024)

/* One cached session: BearSSL's parameters (ID, version, suite, master
 * secret) and what the full handshake learned of the peer. */
struct sess_entry {
	char *key;
	uint64_t saved;
	br_ssl_session_parameters sp;
	enum tls_trust trust;
	char fingerprint[96];
};

struct tls_client {
	br_x509_trust_anchor *ta;
	size_t nta, cap;
	struct tls_policy policy;
	struct sess_entry *cache;
	size_t ncache;
	unsigned ttl;
	struct tls_server *ident; /* the client certificate, or NULL */
};

struct conn_check {
	int level;
	char **match;
	size_t nmatch;
};

static const char *const level_names[] = {"none", "may", "encrypt", "verify",
					  "secure"};

int tls_level_parse(const char *s, size_t n)
{
	for (int i = 0; i < 5; i++)
		if (strlen(level_names[i]) == n &&
		    str_ncasecmp(s, level_names[i], n) == 0)
			return i;
	if (n == 4 && str_ncasecmp(s, "dane", 4) == 0)
		return TLS_LEV_MAY;
	if (n == 9 && str_ncasecmp(s, "dane-only", 9) == 0)
		return TLS_LEV_SECURE;
	return -1;
}

const char *tls_level_name(int level)
{
	return level >= 0 && level < 5 ? level_names[level] : "unknown";
}

static int attr(const char *t, size_t tn, const char *name, char *out,
		size_t max)
{
	size_t k = strlen(name);

	if (tn < k || str_ncasecmp(t, name, k) != 0)
		return 0;
	if (tn - k >= max)
		return -1;
	memcpy(out, t + k, tn - k);
	out[tn - k] = 0;
	return 1;
}

int tls_policy_entry_parse(const char *s, size_t n, struct tls_policy_entry *e)
{
	const char *p = s, *end = s + n;
	int first = 1;

	memset(e, 0, sizeof(*e));
	e->level = -1;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *t = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		size_t tn = (size_t)(p - t);
		if (tn == 0)
			break;
		if (first) {
			e->level = tls_level_parse(t, tn);
			if (e->level < 0)
				return TLS_ERR_CONFIG;
			first = 0;
			continue;
		}
		struct {
			const char *name;
			char *out;
			size_t max;
		} const at[] = {
			{"match=", e->match, sizeof(e->match)},
			{"servername=", e->servername, sizeof(e->servername)},
			{"protocols=", e->protocols, sizeof(e->protocols)},
			{"ciphers=", e->ciphers, sizeof(e->ciphers)},
		};
		int got = 0;
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]) && !got; i++)
			if ((got = attr(t, tn, at[i].name, at[i].out,
					at[i].max)) < 0)
				return TLS_ERR_CONFIG;
		/* An attribute not understood (a typo, or Postfix's
		 * exclude= and tafile=, which would narrow what is
		 * trusted) makes the entry invalid, as in Postfix: ignoring
		 * it could lower protection. connection_reuse= only asks
		 * for connection reuse, which is safe to leave out. */
		if (!got && !(tn >= 17 && str_ncasecmp(t, "connection_reuse=",
						       17) == 0))
			return TLS_ERR_CONFIG;
	}
	unsigned lo, hi;
	uint16_t suites[TLS_SUITES_MAX];
	size_t ns;
	if (e->protocols[0] &&
	    tls_protocols_parse(e->protocols, strlen(e->protocols), &lo, &hi) < 0)
		return TLS_ERR_CONFIG;
	if (e->ciphers[0] &&
	    tls_cipher_grade_parse(e->ciphers, strlen(e->ciphers), NULL, 0,
				   suites, &ns) < 0)
		return TLS_ERR_CONFIG;
	return e->level < 0 ? TLS_ERR_CONFIG : 0;
}

struct tls_client *tls_client_new(void)
{
	struct tls_client *cl = mem_zalloc(sizeof(*cl));
	struct tls_policy p = {.vmin = TLS_V12, .vmax = TLS_V12};

	tls_suites_parse("aead", 4, NULL, 0, p.suites, &p.nsuites);
	cl->policy = p;
	return cl;
}

void tls_client_set_identity(struct tls_client *cl, struct tls_server *ident)
{
	cl->ident = ident;
}

/* ---- the client certificate (BearSSL's client certificate class) ---- */

static void cc_none0(const br_ssl_client_certificate_class **pctx)
{
	(void)pctx;
}

static void cc_none1(const br_ssl_client_certificate_class **pctx,
		     size_t len)
{
	(void)pctx, (void)len;
}

static void cc_none2(const br_ssl_client_certificate_class **pctx,
		     const unsigned char *data, size_t len)
{
	(void)pctx, (void)data, (void)len;
}

/* The server's CertificateRequest: auth_types bits 0..7 are the hashes
 * it takes with RSA, 8..15 with ECDSA (bit 0: TLS 1.0/1.1's MD5+SHA-1).
 * The certificate goes when its key type is in the list; else none
 * (an empty Certificate: the server decides). The CA names are not
 * checked: there is one certificate. */
static void cc_choose(const br_ssl_client_certificate_class **pctx,
		      const br_ssl_client_context *cc, uint32_t auth_types,
		      br_ssl_client_certificate *ch)
{
	const struct tls_ccert_ctx *x = (const void *)pctx;
	int rsa = tls_server_key_type(x->ident) == TLS_KEY_RSA;
	unsigned bits = rsa ? auth_types & 0xFF : (auth_types >> 8) & 0xFF;
	unsigned h = tls_pick_hash(bits);
	(void)cc;

	memset(ch, 0, sizeof(*ch));
	if (h == 0xFF && rsa && (bits & 1))
		h = 0;
	if (h == 0xFF)
		return;
	ch->auth_type = rsa ? BR_AUTH_RSA : BR_AUTH_ECDSA;
	ch->hash_id = (int)h;
	ch->chain = tls_server_chain(x->ident, &ch->chain_len);
}

static uint32_t cc_do_keyx(const br_ssl_client_certificate_class **pctx,
			   unsigned char *data, size_t *len)
{
	(void)pctx, (void)data, (void)len;
	return 0; /* no static ECDH: choose() never offers it */
}

/* The CertificateVerify: data holds the hash; the signature replaces it. */
static size_t cc_do_sign(const br_ssl_client_certificate_class **pctx,
			 int hash_id, size_t hv_len, unsigned char *data,
			 size_t len)
{
	const struct tls_ccert_ctx *x = (const void *)pctx;
	unsigned char hv[64];

	if (hv_len > sizeof(hv) || hash_id < 0)
		return 0;
	memcpy(hv, data, hv_len);
	return tls_server_sign(x->ident, (unsigned)hash_id, hv, hv_len, data,
			       len);
}

static const br_ssl_client_certificate_class ccert_vtable = {
	sizeof(struct tls_ccert_ctx), cc_none0, cc_none1, cc_none2, cc_none0,
	cc_none0, cc_choose, cc_do_keyx, cc_do_sign};

void tls_client_set_cache(struct tls_client *cl, size_t n, unsigned ttl_s)
{
	for (size_t i = 0; i < cl->ncache; i++)
		mem_free(cl->cache[i].key);
	if (cl->cache != NULL)
		explicit_bzero(cl->cache, cl->ncache * sizeof(*cl->cache));
	mem_free(cl->cache);
	cl->cache = n > 0 ? mem_zalloc(n * sizeof(*cl->cache)) : NULL;
	cl->ncache = n;
	cl->ttl = ttl_s;
}

static struct sess_entry *cache_find(struct tls_client *cl, const char *key,
				     uint64_t now)
{
	for (size_t i = 0; i < cl->ncache; i++) {
		struct sess_entry *e = &cl->cache[i];
		if (e->key == NULL || strcmp(e->key, key) != 0)
			continue;
		if (now - e->saved >= cl->ttl) {
			mem_free(e->key);
			explicit_bzero(e, sizeof(*e));
			return NULL;
		}
		return e;
	}
	return NULL;
}

void tls_conn_client_cache(struct tls_conn *c, const char *key,
			   uint64_t now_s)
{
	struct tls_client *cl = c->cl;
	struct sess_entry *e;

	if (cl == NULL || cl->ncache == 0 || key == NULL)
		return;
	mem_free(c->cache_key);
	c->cache_key = mem_strdup(key);
	c->cache_now = now_s;
	e = cache_find(cl, key, now_s);
	if (e == NULL)
		return;
	memcpy(c->offered_id, e->sp.session_id, e->sp.session_id_len);
	c->offered_len = e->sp.session_id_len;
	c->cached_trust = e->trust;
	memcpy(c->cached_fp, e->fingerprint, sizeof(c->cached_fp));
	br_ssl_engine_set_session_parameters(c->eng, &e->sp);
	br_ssl_client_reset(&c->u.c, c->servername, 1);
}

void tls_client_cache_done(struct tls_conn *c, int ok)
{
	struct tls_client *cl = c->cl;
	struct sess_entry *e = cache_find(cl, c->cache_key, c->cache_now);
	br_ssl_session_parameters sp;

	if (!ok) { /* a session that fails is not offered again */
		if (e != NULL) {
			mem_free(e->key);
			explicit_bzero(e, sizeof(*e));
		}
		return;
	}
	br_ssl_engine_get_session_parameters(c->eng, &sp);
	if (c->offered_len > 0 && sp.session_id_len == c->offered_len &&
	    memcmp(sp.session_id, c->offered_id, c->offered_len) == 0) {
		/* resumed: no certificate came; the one seen before counts */
		c->resumed = 1;
		c->trust = c->cached_trust;
		memcpy(c->fingerprint, c->cached_fp, sizeof(c->fingerprint));
		explicit_bzero(&sp, sizeof(sp));
		return;
	}
	if (sp.session_id_len == 0) { /* the server keeps no sessions */
		explicit_bzero(&sp, sizeof(sp));
		return;
	}
	if (e == NULL) { /* a free slot, else the oldest */
		e = &cl->cache[0];
		for (size_t i = 0; i < cl->ncache; i++) {
			if (cl->cache[i].key == NULL) {
				e = &cl->cache[i];
				break;
			}
			if (cl->cache[i].saved < e->saved)
				e = &cl->cache[i];
		}
		mem_free(e->key);
		e->key = mem_strdup(c->cache_key);
	}
	e->saved = c->cache_now;
	e->sp = sp;
	e->trust = c->trust;
	memcpy(e->fingerprint, c->fingerprint, sizeof(e->fingerprint));
	explicit_bzero(&sp, sizeof(sp));
}

void tls_client_free(struct tls_client *cl)
{
	if (cl == NULL)
		return;
	tls_client_set_cache(cl, 0, 0);
	for (size_t i = 0; i < cl->nta; i++) {
		mem_free(cl->ta[i].dn.data);
		if (cl->ta[i].pkey.key_type == BR_KEYTYPE_RSA) {
			mem_free(cl->ta[i].pkey.key.rsa.n);
			mem_free(cl->ta[i].pkey.key.rsa.e);
		} else {
			mem_free(cl->ta[i].pkey.key.ec.q);
		}
	}
	mem_free(cl->ta);
	mem_free(cl);
}

void tls_client_set_policy(struct tls_client *cl, const struct tls_policy *p)
{
	cl->policy = *p;
}

size_t tls_client_anchors(const struct tls_client *cl)
{
	return cl->nta;
}

static void dn_append(void *ctx, const void *buf, size_t len)
{
	buf_append(ctx, buf, len);
}

static void *dup_bytes(const void *p, size_t n)
{
	void *d = mem_alloc(n > 0 ? n : 1);
	memcpy(d, p, n);
	return d;
}

/* One CA certificate (DER) as a trust anchor. */
static int add_anchor(struct tls_client *cl, const unsigned char *der,
		      size_t len)
{
	br_x509_decoder_context dc;
	struct buf dn;
	const br_x509_pkey *pk;
	br_x509_trust_anchor ta;

	buf_init(&dn, 64 * 1024);
	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || br_x509_decoder_last_error(&dc) != 0 ||
	    buf_error(&dn)) {
		buf_free(&dn);
		return 0;
	}
	memset(&ta, 0, sizeof(ta));
	ta.dn.data = dup_bytes(dn.data, dn.len);
	ta.dn.len = dn.len;
	ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta.pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta.pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
		ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta.pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
		ta.pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		ta.pkey.key.ec.curve = pk->key.ec.curve;
		ta.pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
		ta.pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	buf_free(&dn);
	if (cl->nta == cl->cap) {
		cl->cap = cl->cap ? 2 * cl->cap : 64;
		cl->ta = mem_realloc(cl->ta, cl->cap * sizeof(*cl->ta));
	}
	cl->ta[cl->nta++] = ta;
	return 1;
}

static int read_file(const char *path, struct buf *b)
{
	char tmp[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (buf_append(b, tmp, (size_t)n) < 0)
			break;
	int e = n < 0 ? -errno : buf_error(b) ? -EFBIG : 0;
	close(fd);
	return e;
}

int tls_client_add_cafile(struct tls_client *cl, const char *path)
{
	struct buf f, der;
	char name[64];
	size_t used;
	int added = 0, r;

	buf_init(&f, CA_FILE_MAX);
	r = read_file(path, &f);
	if (r < 0) {
		buf_free(&f);
		return r;
	}
	buf_init(&der, 64 * 1024);
	const char *p = f.data;
	size_t n = f.len;
	while (tls_pem_next(p, n, &used, name, sizeof(name), &der) == 1) {
		p += used, n -= used;
		if (strcmp(name, "CERTIFICATE") == 0 ||
		    strcmp(name, "TRUSTED CERTIFICATE") == 0)
			added += add_anchor(cl, (unsigned char *)der.data,
					    der.len);
	}
	buf_free(&der);
	buf_free(&f);
	return added;
}

int tls_client_add_capath(struct tls_client *cl, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int added = 0;

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		struct buf path;
		struct stat st;
		buf_init(&path, 4096);
		buf_printf(&path, "%s/%s", dir, e->d_name);
		if (stat(buf_str(&path), &st) == 0 && S_ISREG(st.st_mode)) {
			int r = tls_client_add_cafile(cl, buf_str(&path));
			if (r > 0)
				added += r;
		}
		buf_free(&path);
	}
	closedir(d);
	return added;
}

/* ---- the X.509 wrapper ---- */

static struct tls_x509_ctx *xc_of(const br_x509_class **ctx)
{
	return (struct tls_x509_ctx *)(void *)ctx;
}

static void xw_start_chain(const br_x509_class **ctx, const char *name)
{
	struct tls_x509_ctx *x = xc_of(ctx);
	(void)name;
	/* names are checked here, against the policy's list */
	x->minimal.vtable->start_chain(&x->minimal.vtable, NULL);
	x->cert_no = 0;
	x->ee_len = 0;
}

static void xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_x509_ctx *x = xc_of(ctx);

	x->minimal.vtable->start_cert(&x->minimal.vtable, length);
	if (x->cert_no == 0) {
		br_x509_decoder_init(&x->dec, NULL, NULL);
		br_sha256_init(&x->fp);
		x->ee_len = 0;
	}
}

static void xw_append(const br_x509_class **ctx, const unsigned char *buf,
		      size_t len)
{
	struct tls_x509_ctx *x = xc_of(ctx);

	x->minimal.vtable->append(&x->minimal.vtable, buf, len);
	if (x->cert_no != 0)
		return;
	br_x509_decoder_push(&x->dec, buf, len);
	br_sha256_update(&x->fp, buf, len);
	if (x->ee_len + len <= EE_MAX) {
		if (x->ee_len + len > x->ee_max) {
			x->ee_max = x->ee_len + len + 4096;
			x->ee = mem_realloc(x->ee, x->ee_max);
		}
		memcpy(x->ee + x->ee_len, buf, len);
		x->ee_len += len;
	}
}

static void xw_end_cert(const br_x509_class **ctx)
{
	struct tls_x509_ctx *x = xc_of(ctx);
	x->minimal.vtable->end_cert(&x->minimal.vtable);
	x->cert_no++;
}

struct match_arg {
	const struct conn_check *ck;
	int matched;
};

static int name_cb(void *arg, const char *name, size_t n)
{
	struct match_arg *m = arg;
	for (size_t i = 0; i < m->ck->nmatch; i++)
		if (tls_name_match(name, n, m->ck->match[i])) {
			m->matched = 1;
			return 1;
		}
	return 0;
}

static unsigned xw_end_chain(const br_x509_class **ctx)
{
	struct tls_x509_ctx *x = xc_of(ctx);
	struct tls_conn *c = x->conn;
	const struct conn_check *ck = (const void *)c->servername_check;
	unsigned err = x->minimal.vtable->end_chain(&x->minimal.vtable);
	unsigned char h[32];
	struct match_arg m = {ck, 0};

	br_sha256_out(&x->fp, h);
	for (size_t i = 0; i < 32; i++)
		snprintf(c->fingerprint + 3 * i, 4, i < 31 ? "%02X:" : "%02X",
			 h[i]);
	x->chain_err = (int)err;
	c->trust = TLS_UNTRUSTED;
	if (err == 0) {
		c->trust = TLS_TRUSTED;
		if (ck->nmatch > 0 && x->ee_len > 0 &&
		    tls_x509_names(x->ee, x->ee_len, name_cb, &m) >= 0 &&
		    m.matched)
			c->trust = TLS_VERIFIED;
	}
	x->pk = br_x509_decoder_get_pkey(&x->dec);
	if (x->pk == NULL) {
		/* a server goes on as if none came: nothing to show then */
		c->fingerprint[0] = 0;
		c->trust = TLS_UNTRUSTED;
		return err != 0 ? err : BR_ERR_X509_UNSUPPORTED;
	}
	if (ck->level >= TLS_LEV_VERIFY) {
		if (err != 0)
			return err;
		if (c->trust != TLS_VERIFIED)
			return BR_ERR_X509_BAD_SERVER_NAME;
	}
	return 0;
}

static const br_x509_pkey *xw_get_pkey(const br_x509_class *const *ctx,
				       unsigned *usages)
{
	const struct tls_x509_ctx *x = (const void *)ctx;
	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return x->pk;
}

static const br_x509_class xw_vtable = {
	sizeof(struct tls_x509_ctx), xw_start_chain, xw_start_cert, xw_append,
	xw_end_cert,		     xw_end_chain,   xw_get_pkey};

void tls_client_x509_free(struct tls_conn *c)
{
	struct conn_check *ck = c->servername_check;
	if (ck != NULL) {
		for (size_t i = 0; i < ck->nmatch; i++)
			mem_free(ck->match[i]);
		mem_free(ck->match);
		mem_free(ck);
	}
	mem_free(c->x509->ee);
	mem_free(c->x509);
	c->x509 = NULL;
}

void tls_x509_attach(struct tls_conn *c, const struct tls_client *cl,
		     int level, const char *const *match, size_t nmatch)
{
	static const br_hash_class *const hashes[] = {
		&br_md5_vtable,    &br_sha1_vtable,   &br_sha224_vtable,
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable};
	struct tls_x509_ctx *x = mem_zalloc(sizeof(*x));
	struct conn_check *ck = mem_zalloc(sizeof(*ck));

	c->x509 = x;
	ck->level = level;
	ck->nmatch = nmatch;
	ck->match = mem_zalloc((nmatch ? nmatch : 1) * sizeof(char *));
	for (size_t i = 0; i < nmatch; i++)
		ck->match[i] = mem_strdup(match[i]);
	c->servername_check = ck;
	br_x509_minimal_init(&x->minimal, &br_sha256_vtable, cl->ta, cl->nta);
	br_x509_minimal_set_rsa(&x->minimal, br_ssl_engine_get_rsavrfy(c->eng));
	br_x509_minimal_set_ecdsa(&x->minimal, br_ssl_engine_get_ec(c->eng),
				  br_ssl_engine_get_ecdsa(c->eng));
	for (int id = br_md5_ID; id <= br_sha512_ID; id++)
		br_x509_minimal_set_hash(&x->minimal, id, hashes[id - 1]);
	x->vtable = &xw_vtable;
	x->conn = c;
	br_ssl_engine_set_x509(c->eng, &x->vtable);
}

const br_x509_trust_anchor *tls_client_ta(const struct tls_client *cl,
					  size_t *n)
{
	*n = cl->nta;
	return cl->ta;
}

struct tls_conn *tls_conn_new_client(struct tls_client *cl,
				     const char *servername, int level,
				     const char *const *match, size_t nmatch)
{
	struct tls_conn *c = tls_conn_alloc();
	br_ssl_client_context *cc = &c->u.c;

	c->cl = cl;
	c->eng = &cc->eng;
	if (servername != NULL && *servername)
		c->servername = mem_strdup(servername);
	br_ssl_client_zero(cc);
	tls_engine_setup(&cc->eng, &cl->policy);
	br_ssl_client_set_default_rsapub(cc);
	tls_x509_attach(c, cl, level, match, nmatch);
	if (cl->ident != NULL) {
		c->ccert.vtable = &ccert_vtable;
		c->ccert.ident = cl->ident;
		cc->client_auth_vtable = &c->ccert.vtable;
	}
	br_ssl_engine_set_buffers_bidi(&cc->eng, c->iobuf, TLS_IBUF,
				       c->iobuf + TLS_IBUF, TLS_OBUF);
	br_ssl_client_reset(cc, c->servername, 0);
	return c;
}
