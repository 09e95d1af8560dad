/* server - the shared server TLS state, the policy that picks a suite
 * for the key type and delegates every private-key operation to the
 * signer, private keys (for the keys process and tests) and PEM input.
 *
 * Standards: RFC 5246 (TLS 1.2; ServerKeyExchange signatures, 7.4.3),
 * RFC 8422 (ECDHE), RFC 7468 (PEM text encoding). PEM and key decoding
 * use BearSSL's decoders; what they accept is bounded by the buf given. */
#include "tls/internal.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

struct tls_cache {
	const br_ssl_session_cache_class *vtable;
	br_ssl_session_cache_lru lru;
	unsigned char *store;
	size_t store_len;
};

struct tls_server {
	br_x509_certificate *chain;
	size_t chain_len;
	int key_type;
	tls_signer_fn *sign;
	void *sign_arg;
	struct tls_policy policy;
	struct tls_cache cache;
	int cache_on;
	struct tls_server_stats stats;
	const struct tls_client *ccert; /* anchors: ask for client certs */
};

/* ---- session cache: BearSSL's LRU, noting hits for the log ---- */

static void cache_save(const br_ssl_session_cache_class **ctx,
		       br_ssl_server_context *sc,
		       const br_ssl_session_parameters *params)
{
	struct tls_cache *c = (struct tls_cache *)(void *)ctx;
	c->lru.vtable->save(&c->lru.vtable, sc, params);
}

static int cache_load(const br_ssl_session_cache_class **ctx,
		      br_ssl_server_context *sc, br_ssl_session_parameters *params)
{
	struct tls_cache *c = (struct tls_cache *)(void *)ctx;
	int r = c->lru.vtable->load(&c->lru.vtable, sc, params);
	if (r) {
		/* sc is the first member of the union in tls_conn */
		struct tls_conn *conn =
			(struct tls_conn *)(void *)((char *)sc -
						    offsetof(struct tls_conn, u));
		conn->resumed = 1;
	}
	return r;
}

static const br_ssl_session_cache_class cache_vtable = {
	sizeof(struct tls_cache), cache_save, cache_load};

/* ---- policy ---- */

unsigned tls_pick_hash(unsigned bits)
{
	static const unsigned pref[] = {br_sha256_ID, br_sha384_ID,
					br_sha512_ID, br_sha224_ID,
					br_sha1_ID};
	for (size_t i = 0; i < sizeof(pref) / sizeof(*pref); i++)
		if (bits & (1u << pref[i]))
			return pref[i];
	return 0xFF; /* none */
}

static int pol_choose(const br_ssl_server_policy_class **pctx,
		      const br_ssl_server_context *cc,
		      br_ssl_server_choices *ch)
{
	const struct tls_policy_ctx *pc = (const void *)pctx;
	const struct tls_server *srv = pc->srv;
	size_t n;
	const br_suite_translated *st = br_ssl_server_get_client_suites(cc, &n);
	uint32_t hashes = br_ssl_server_get_client_hashes(cc);
	int tls12 = br_ssl_engine_get_version(&cc->eng) >= BR_TLS12;

	ch->chain = srv->chain;
	ch->chain_len = srv->chain_len;
	for (size_t i = 0; i < n; i++) {
		unsigned kx = st[i][1] >> 12;
		unsigned h;
		if (kx == BR_SSLKEYX_ECDHE_ECDSA &&
		    srv->key_type == TLS_KEY_EC) {
			h = tls12 ? tls_pick_hash((hashes >> 8) & 0xFF)
				  : br_sha1_ID;
			if (h == 0xFF)
				continue;
			ch->cipher_suite = st[i][0];
			ch->algo_id = 0xFF00 + h;
			return 1;
		}
		if (kx == BR_SSLKEYX_ECDHE_RSA &&
		    srv->key_type == TLS_KEY_RSA) {
			h = tls12 ? tls_pick_hash(hashes & 0xFF) : 0;
			if (h == 0xFF)
				continue;
			ch->cipher_suite = st[i][0];
			ch->algo_id = 0xFF00 + h;
			return 1;
		}
		if (kx == BR_SSLKEYX_RSA && srv->key_type == TLS_KEY_RSA) {
			ch->cipher_suite = st[i][0];
			return 1;
		}
	}
	return 0;
}

static uint32_t pol_keyx(const br_ssl_server_policy_class **pctx,
			 unsigned char *data, size_t *len)
{
	const struct tls_policy_ctx *pc = (const void *)pctx;
	unsigned char pms[48];

	if (pc->srv->sign == NULL ||
	    pc->srv->sign(pc->srv->sign_arg, TLS_SIGN_RSA_DECRYPT, data, *len,
			  pms, sizeof(pms)) != sizeof(pms))
		return 0;
	memcpy(data, pms, sizeof(pms));
	explicit_bzero(pms, sizeof(pms));
	*len = sizeof(pms);
	return 1;
}

static size_t pol_sign(const br_ssl_server_policy_class **pctx,
		       unsigned algo_id, unsigned char *data, size_t hv_len,
		       size_t len)
{
	const struct tls_policy_ctx *pc = (const void *)pctx;
	unsigned char hv[64];

	if (algo_id < 0xFF00 || hv_len > sizeof(hv) || pc->srv->sign == NULL)
		return 0;
	memcpy(hv, data, hv_len);
	return pc->srv->sign(pc->srv->sign_arg, algo_id & 0xFF, hv, hv_len,
			     data, len);
}

static const br_ssl_server_policy_class policy_vtable = {
	sizeof(struct tls_policy_ctx), pol_choose, pol_keyx, pol_sign};

/* ---- tls_server ---- */

struct tls_server *tls_server_new(void)
{
	struct tls_server *srv = mem_zalloc(sizeof(*srv));
	struct tls_policy p = {.vmin = TLS_V12, .vmax = TLS_V12};

	tls_suites_parse("aead", 4, NULL, 0, p.suites, &p.nsuites);
	srv->policy = p;
	return srv;
}

static void chain_free(struct tls_server *srv)
{
	for (size_t i = 0; i < srv->chain_len; i++)
		mem_free(srv->chain[i].data);
	mem_free(srv->chain);
	srv->chain = NULL;
	srv->chain_len = 0;
}

void tls_server_free(struct tls_server *srv)
{
	if (srv == NULL)
		return;
	chain_free(srv);
	mem_free(srv->cache.store);
	mem_free(srv);
}

/* The key type of a certificate's public key, or 0. */
static int cert_key_type(const unsigned char *der, size_t len)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;

	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || br_x509_decoder_last_error(&dc) != 0)
		return 0;
	if (pk->key_type == BR_KEYTYPE_RSA)
		return TLS_KEY_RSA;
	if (pk->key_type == BR_KEYTYPE_EC &&
	    (pk->key.ec.curve == BR_EC_secp256r1 ||
	     pk->key.ec.curve == BR_EC_secp384r1 ||
	     pk->key.ec.curve == BR_EC_secp521r1))
		return TLS_KEY_EC;
	return 0;
}

int tls_server_set_chain(struct tls_server *srv, const unsigned char *const *der,
			 const size_t *len, size_t n)
{
	int kt;

	if (n == 0 || (kt = cert_key_type(der[0], len[0])) == 0)
		return TLS_ERR_CONFIG;
	chain_free(srv);
	srv->chain = mem_zalloc(n * sizeof(*srv->chain));
	for (size_t i = 0; i < n; i++) {
		srv->chain[i].data = mem_alloc(len[i]);
		memcpy(srv->chain[i].data, der[i], len[i]);
		srv->chain[i].data_len = len[i];
	}
	srv->chain_len = n;
	srv->key_type = kt;
	return 0;
}

const br_x509_certificate *tls_server_chain(const struct tls_server *srv,
					    size_t *n)
{
	*n = srv->chain_len;
	return srv->chain;
}

size_t tls_server_sign(struct tls_server *srv, unsigned hash_id,
		       const unsigned char *hv, size_t hvlen,
		       unsigned char *sig, size_t max)
{
	if (srv->sign == NULL)
		return 0;
	return srv->sign(srv->sign_arg, hash_id, hv, hvlen, sig, max);
}

void tls_server_set_ccert(struct tls_server *srv,
			  const struct tls_client *anchors)
{
	srv->ccert = anchors;
	if (anchors != NULL)
		tls_server_set_cache(srv, 0);
}

int tls_server_key_type(const struct tls_server *srv)
{
	return srv->key_type;
}

void tls_server_set_signer(struct tls_server *srv, tls_signer_fn *fn,
			   void *arg)
{
	srv->sign = fn;
	srv->sign_arg = arg;
}

void tls_server_set_policy(struct tls_server *srv, const struct tls_policy *p)
{
	srv->policy = *p;
}

void tls_server_set_cache(struct tls_server *srv, size_t n)
{
	mem_free(srv->cache.store);
	srv->cache.store = NULL;
	srv->cache_on = n > 0;
	if (n == 0)
		return;
	srv->cache.store_len = n * 100;
	srv->cache.store = mem_zalloc(srv->cache.store_len);
	br_ssl_session_cache_lru_init(&srv->cache.lru, srv->cache.store,
				      srv->cache.store_len);
	srv->cache.vtable = &cache_vtable;
}

struct tls_server_stats *tls_server_stats(struct tls_server *srv)
{
	return &srv->stats;
}

struct tls_conn *tls_conn_new_server(struct tls_server *srv)
{
	struct tls_conn *c = tls_conn_alloc();
	br_ssl_server_context *sc = &c->u.s;

	c->is_server = 1;
	c->srv = srv;
	c->eng = &sc->eng;
	br_ssl_server_zero(sc);
	tls_engine_setup(&sc->eng, &srv->policy);
	br_ssl_engine_add_flags(&sc->eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	c->pol.vtable = &policy_vtable;
	c->pol.srv = srv;
	br_ssl_server_set_policy(sc, &c->pol.vtable);
	if (srv->cache_on)
		br_ssl_server_set_cache(sc, &srv->cache.vtable);
	if (srv->ccert != NULL) {
		/* CertificateRequest naming the anchors; a client without a
		 * certificate, or with one that does not verify, goes on
		 * (Postfix's ask_ccert); the certificate's key must still
		 * sign the CertificateVerify */
		size_t n;
		const br_x509_trust_anchor *ta = tls_client_ta(srv->ccert, &n);
		br_ssl_server_set_trust_anchor_names_alt(sc, ta, n);
		tls_x509_attach(c, srv->ccert, TLS_LEV_MAY, NULL, 0);
		br_ssl_engine_add_flags(&sc->eng,
					BR_OPT_TOLERATE_NO_CLIENT_AUTH);
	}
	br_ssl_engine_set_buffers_bidi(&sc->eng, c->iobuf, TLS_IBUF,
				       c->iobuf + TLS_IBUF, TLS_OBUF);
	br_ssl_server_reset(sc);
	return c;
}

/* ---- private keys ---- */

struct tls_key {
	int type;
	br_rsa_private_key rsa;
	br_ec_private_key ec;
	unsigned char *mem; /* the key's bytes, wiped on free */
	size_t mem_len;
};

static struct tls_key *key_from_der(const unsigned char *der, size_t len)
{
	br_skey_decoder_context dc;
	struct tls_key *k;

	br_skey_decoder_init(&dc);
	br_skey_decoder_push(&dc, der, len);
	if (br_skey_decoder_last_error(&dc) != 0)
		return NULL;
	k = mem_zalloc(sizeof(*k));
	if (br_skey_decoder_key_type(&dc) == BR_KEYTYPE_EC) {
		const br_ec_private_key *e = br_skey_decoder_get_ec(&dc);
		k->type = TLS_KEY_EC;
		k->mem_len = e->xlen;
		k->mem = mem_alloc(k->mem_len);
		memcpy(k->mem, e->x, e->xlen);
		k->ec.curve = e->curve;
		k->ec.x = k->mem;
		k->ec.xlen = e->xlen;
	} else if (br_skey_decoder_key_type(&dc) == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *r = br_skey_decoder_get_rsa(&dc);
		size_t off = 0;
		k->type = TLS_KEY_RSA;
		k->mem_len = r->plen + r->qlen + r->dplen + r->dqlen + r->iqlen;
		k->mem = mem_alloc(k->mem_len);
		k->rsa = *r;
#define TAKE(f, l)                                                             \
	memcpy(k->mem + off, r->f, r->l), k->rsa.f = k->mem + off, off += r->l
		TAKE(p, plen);
		TAKE(q, qlen);
		TAKE(dp, dplen);
		TAKE(dq, dqlen);
		TAKE(iq, iqlen);
#undef TAKE
	} else {
		mem_free(k);
		k = NULL;
	}
	explicit_bzero(&dc, sizeof(dc));
	return k;
}

struct tls_key *tls_key_parse(const char *p, size_t n)
{
	struct buf der;
	struct tls_key *k = NULL;
	char name[64];
	size_t used;

	if (n == 0)
		return NULL;
	if ((unsigned char)p[0] == 0x30) /* DER */
		return key_from_der((const unsigned char *)p, n);
	buf_init(&der, 64 * 1024);
	while (k == NULL && tls_pem_next(p, n, &used, name, sizeof(name),
					 &der) == 1) {
		p += used, n -= used;
		if (strcmp(name, "PRIVATE KEY") == 0 ||
		    strcmp(name, "EC PRIVATE KEY") == 0 ||
		    strcmp(name, "RSA PRIVATE KEY") == 0)
			k = key_from_der((const unsigned char *)der.data,
					 der.len);
	}
	explicit_bzero(der.data, der.cap);
	buf_free(&der);
	return k;
}

void tls_key_free(struct tls_key *k)
{
	if (k == NULL)
		return;
	explicit_bzero(k->mem, k->mem_len);
	mem_free(k->mem);
	explicit_bzero(k, sizeof(*k));
	mem_free(k);
}

int tls_key_type(const struct tls_key *k)
{
	return k->type;
}

static const br_hash_class *hash_class(unsigned id)
{
	switch (id) {
	case br_sha1_ID:
		return &br_sha1_vtable;
	case br_sha224_ID:
		return &br_sha224_vtable;
	case br_sha256_ID:
		return &br_sha256_vtable;
	case br_sha384_ID:
		return &br_sha384_vtable;
	case br_sha512_ID:
		return &br_sha512_vtable;
	}
	return NULL;
}

static const unsigned char *hash_oid(unsigned id)
{
	switch (id) {
	case br_sha1_ID:
		return BR_HASH_OID_SHA1;
	case br_sha224_ID:
		return BR_HASH_OID_SHA224;
	case br_sha256_ID:
		return BR_HASH_OID_SHA256;
	case br_sha384_ID:
		return BR_HASH_OID_SHA384;
	case br_sha512_ID:
		return BR_HASH_OID_SHA512;
	}
	return NULL;
}

size_t tls_key_sign(void *key, unsigned hash_id, const unsigned char *hv,
		    size_t hvlen, unsigned char *sig, size_t max)
{
	struct tls_key *k = key;

	if (k->type == TLS_KEY_RSA && hash_id == TLS_SIGN_RSA_DECRYPT) {
		unsigned char tmp[1024];
		if (hvlen > sizeof(tmp) || max < 48)
			return 0;
		memcpy(tmp, hv, hvlen);
		uint32_t ok = br_rsa_ssl_decrypt(br_rsa_private_get_default(),
						 &k->rsa, tmp, hvlen);
		memcpy(sig, tmp, 48);
		explicit_bzero(tmp, sizeof(tmp));
		return ok ? 48 : 0;
	}
	if (k->type == TLS_KEY_RSA) {
		size_t slen = (k->rsa.n_bitlen + 7) / 8;
		const unsigned char *oid = hash_oid(hash_id);
		if (slen > max || (oid == NULL && hash_id != 0))
			return 0;
		if (!br_rsa_pkcs1_sign_get_default()(oid, hv, hvlen, &k->rsa,
						     sig))
			return 0;
		return slen;
	}
	if (k->type == TLS_KEY_EC) {
		const br_hash_class *hc = hash_class(hash_id);
		if (hc == NULL || max < 139 ||
		    hvlen != ((hc->desc >> BR_HASHDESC_OUT_OFF) &
			      BR_HASHDESC_OUT_MASK))
			return 0;
		return br_ecdsa_sign_asn1_get_default()(br_ec_get_default(),
							hc, hv, &k->ec, sig);
	}
	return 0;
}

int tls_key_matches_cert(const struct tls_key *k, const unsigned char *der,
			 size_t len)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;

	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || br_x509_decoder_last_error(&dc) != 0)
		return 0;
	if (k->type == TLS_KEY_EC && pk->key_type == BR_KEYTYPE_EC) {
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_public_key pub;
		size_t ql = br_ec_compute_pub(br_ec_get_default(), &pub, q,
					      &k->ec);
		return ql > 0 && pk->key.ec.curve == k->ec.curve &&
		       pk->key.ec.qlen == ql &&
		       memcmp(pk->key.ec.q, q, ql) == 0;
	}
	if (k->type == TLS_KEY_RSA && pk->key_type == BR_KEYTYPE_RSA) {
		unsigned char nb[1024];
		size_t nl = br_rsa_compute_modulus_get_default()(NULL, &k->rsa);
		const unsigned char *cn = pk->key.rsa.n;
		size_t cl = pk->key.rsa.nlen;
		if (nl == 0 || nl > sizeof(nb))
			return 0;
		br_rsa_compute_modulus_get_default()(nb, &k->rsa);
		while (cl > 0 && *cn == 0)
			cn++, cl--;
		return cl == nl && memcmp(cn, nb, nl) == 0;
	}
	return 0;
}

/* ---- PEM ---- */

static void pem_dest(void *ctx, const void *src, size_t len)
{
	buf_append(ctx, src, len);
}

int tls_pem_next(const char *p, size_t n, size_t *used, char *name,
		 size_t name_max, struct buf *der)
{
	br_pem_decoder_context pc;
	size_t off = 0;
	int in_obj = 0, nl_sent = 0;

	*used = n;
	buf_reset(der);
	br_pem_decoder_init(&pc);
	br_pem_decoder_setdest(&pc, pem_dest, der);
	for (;;) {
		if (off < n) {
			off += br_pem_decoder_push(&pc, p + off, n - off);
		} else if (!nl_sent) {
			/* a last line without its newline still ends */
			br_pem_decoder_push(&pc, "\n", 1);
			nl_sent = 1;
		} else {
			return in_obj ? TLS_ERR_CONFIG : 0;
		}
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			snprintf(name, name_max, "%s",
				 br_pem_decoder_name(&pc));
			buf_reset(der);
			in_obj = 1;
			break;
		case BR_PEM_END_OBJ:
			if (!in_obj)
				break;
			*used = off;
			return buf_error(der) ? TLS_ERR_CONFIG : 1;
		case BR_PEM_ERROR:
			return TLS_ERR_CONFIG;
		}
	}
}
