/* test_tls - the TLS layer: policy parsers, name matching, PEM, the
 * self-signed certificate writer, and full handshakes between our server
 * and our client over a socketpair (no I/O beyond it). */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>

#include <bearssl.h>
#include <sys/wait.h>

#include "conf/conf.h"
#include "tls/certgen.h"
#include "tls/keys.h"
#include "tls/client.h"
#include "tls/server.h"
#include "tls/tls.h"
#include "tls/x509name.h"

static void test_protocols(void **state)
{
	unsigned lo, hi;
	(void)state;
#define P(s) tls_protocols_parse(s, strlen(s), &lo, &hi)
	assert_int_equal(P(">=TLSv1.2"), 0);
	assert_int_equal(lo, TLS_V12), assert_int_equal(hi, TLS_V12);
	assert_int_equal(P(">=TLSv1"), 0);
	assert_int_equal(lo, TLS_V10), assert_int_equal(hi, TLS_V12);
	assert_int_equal(P("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"), 0);
	assert_int_equal(lo, TLS_V12), assert_int_equal(hi, TLS_V12);
	assert_int_equal(P("TLSv1 TLSv1.1"), 0);
	assert_int_equal(lo, TLS_V10), assert_int_equal(hi, TLS_V11);
	assert_int_equal(P("<=TLSv1.1"), 0);
	assert_int_equal(hi, TLS_V11);
	assert_int_equal(P(""), 0); /* Postfix: empty is all */
	assert_int_equal(lo, TLS_V10);
	assert_int_equal(P(">=TLSv1.3"), TLS_ERR_CONFIG); /* not in BearSSL */
	assert_int_equal(P("TLSv9"), TLS_ERR_CONFIG);
	assert_int_equal(P("!TLSv1 !TLSv1.1 !TLSv1.2"), TLS_ERR_CONFIG);
#undef P
}

static void test_suites(void **state)
{
	uint16_t s[TLS_SUITES_MAX];
	size_t n;
	(void)state;

	assert_int_equal(tls_suites_parse("aead", 4, NULL, 0, s, &n), 0);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		const char *name = tls_suite_name(s[i], NULL);
		assert_non_null(name);
		assert_non_null(strstr(name, "ECDHE-"));
		assert_true(strstr(name, "GCM") || strstr(name, "CHACHA20"));
	}
	const char *ex = "ECDHE-RSA-CHACHA20-POLY1305 ECDHE-ECDSA-CHACHA20-POLY1305";
	assert_int_equal(tls_suites_parse("aead", 4, ex, strlen(ex), s, &n), 0);
	assert_int_equal(n, 4);
	const char *two = "AES128-SHA, aead, AES128-SHA";
	assert_int_equal(tls_suites_parse(two, strlen(two), NULL, 0, s, &n), 0);
	assert_int_equal(n, 7);
	assert_string_equal(tls_suite_name(s[0], NULL), "AES128-SHA");
	assert_int_equal(tls_suites_parse("RC4-MD5", 7, NULL, 0, s, &n),
			 TLS_ERR_CONFIG);
	assert_int_equal(tls_suites_parse("", 0, NULL, 0, s, &n),
			 TLS_ERR_CONFIG);
	/* Postfix's grades: high = every AES/ChaCha20 suite (RSA key
	 * exchange too, as OpenSSL's HIGH), medium adds 3DES */
	assert_int_equal(tls_cipher_grade_parse("high", 4, NULL, 0, s, &n), 0);
	size_t nhigh = n;
	assert_true(nhigh > 6);
	assert_string_equal(tls_suite_name(s[0], NULL),
			    "ECDHE-ECDSA-AES128-GCM-SHA256");
	int rsa = 0;
	for (size_t i = 0; i < n; i++) {
		assert_null(strstr(tls_suite_name(s[i], NULL), "DES-CBC3"));
		rsa += strcmp(tls_suite_name(s[i], NULL), "AES128-GCM-SHA256") == 0;
	}
	assert_int_equal(rsa, 1);
	assert_int_equal(tls_cipher_grade_parse("MEDIUM", 6, NULL, 0, s, &n), 0);
	assert_int_equal(n, nhigh + 3);
	assert_int_equal(tls_cipher_grade_parse("null", 4, NULL, 0, s, &n),
			 TLS_ERR_CONFIG);
	assert_int_equal(tls_cipher_grade_parse("aead", 4, NULL, 0, s, &n),
			 TLS_ERR_CONFIG);
	const char *exr = "AES128-GCM-SHA256:AES256-GCM-SHA384";
	assert_int_equal(tls_cipher_grade_parse("high", 4, exr, strlen(exr), s,
						&n), 0);
	assert_int_equal(n, nhigh - 2);
}

static void test_name_match(void **state)
{
	(void)state;
#define M(c, w) tls_name_match(c, strlen(c), w)
	assert_true(M("mx.example.com", "mx.example.com"));
	assert_true(M("MX.Example.COM", "mx.example.com."));
	assert_false(M("mx.example.com", "example.com"));
	assert_true(M("*.example.com", "mx.example.com"));
	assert_false(M("*.example.com", "example.com"));
	assert_false(M("*.example.com", "a.mx.example.com"));
	assert_false(M("*.com", "example.com"));
	assert_false(M("f*.example.com", "foo.example.com"));
	/* dot-nexthop: anything strictly below */
	assert_true(M("mx.example.com", ".example.com"));
	assert_true(M("a.b.example.com", ".example.com"));
	assert_true(M("*.example.com", ".example.com"));
	assert_false(M("example.com", ".example.com"));
	assert_false(M("badexample.com", ".example.com"));
	assert_false(M("", "x"));
#undef M
}

static void test_policy_entry(void **state)
{
	struct tls_policy_entry e;
	const char *v = "secure match=nexthop:dot-nexthop servername=mx.x "
			"protocols=>=TLSv1.2 ciphers=high";
	(void)state;

	assert_int_equal(tls_policy_entry_parse(v, strlen(v), &e), 0);
	assert_int_equal(e.level, TLS_LEV_SECURE);
	assert_string_equal(e.match, "nexthop:dot-nexthop");
	assert_string_equal(e.servername, "mx.x");
	assert_string_equal(e.protocols, ">=TLSv1.2");
	assert_string_equal(e.ciphers, "high");
	v = "encrypt protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1 ciphers=medium";
	assert_int_equal(tls_policy_entry_parse(v, strlen(v), &e), 0);
	unsigned lo, hi;
	assert_int_equal(tls_protocols_parse(e.protocols, strlen(e.protocols),
					     &lo, &hi), 0);
	assert_int_equal(lo, TLS_V12);
	/* bad values, and attributes not understood (fail closed) */
	static const char *const bad[] = {
		"encrypt protocols=TLSv9", "encrypt ciphers=null",
		"encrypt protcols=!SSLv2", "secure tafile=/etc/ta.pem",
		"encrypt exclude=aNULL",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tls_policy_entry_parse(bad[i], strlen(bad[i]),
							&e),
				 TLS_ERR_CONFIG);
	v = "encrypt connection_reuse=yes";
	assert_int_equal(tls_policy_entry_parse(v, strlen(v), &e), 0);
	assert_int_equal(tls_policy_entry_parse("  may", 5, &e), 0);
	assert_int_equal(e.level, TLS_LEV_MAY);
	assert_string_equal(e.match, "");
	assert_int_equal(tls_policy_entry_parse("dane-only", 9, &e), 0);
	assert_int_equal(e.level, TLS_LEV_SECURE);
	assert_int_equal(tls_policy_entry_parse("fingerprint", 11, &e),
			 TLS_ERR_CONFIG);
	assert_int_equal(tls_policy_entry_parse("", 0, &e), TLS_ERR_CONFIG);
	char longv[700];
	memset(longv, 'a', sizeof(longv));
	memcpy(longv, "verify match=", 13);
	assert_int_equal(tls_policy_entry_parse(longv, sizeof(longv), &e),
			 TLS_ERR_CONFIG);
}

struct names {
	char got[4][64];
	int n;
};

static int collect(void *arg, const char *name, size_t n)
{
	struct names *x = arg;
	if (x->n < 4)
		snprintf(x->got[x->n++], 64, "%.*s", (int)n, name);
	return 0;
}

/* A generated pair: cert DER and key. */
struct pair {
	struct buf cert_pem, key_pem, der;
	struct tls_key *key;
	char fp[96];
};

static void make_pair(struct pair *p, int type, const char *host)
{
	char name[64];
	size_t used;

	buf_init(&p->cert_pem, 64 * 1024);
	buf_init(&p->key_pem, 64 * 1024);
	buf_init(&p->der, 64 * 1024);
	assert_int_equal(tls_certgen(type, host, time(NULL), &p->cert_pem,
				     &p->key_pem, p->fp),
			 0);
	assert_int_equal(tls_pem_next(p->cert_pem.data, p->cert_pem.len, &used,
				      name, sizeof(name), &p->der),
			 1);
	assert_string_equal(name, "CERTIFICATE");
	p->key = tls_key_parse(p->key_pem.data, p->key_pem.len);
	assert_non_null(p->key);
}

static void free_pair(struct pair *p)
{
	tls_key_free(p->key);
	buf_free(&p->cert_pem);
	buf_free(&p->key_pem);
	buf_free(&p->der);
}

static void test_certgen(void **state)
{
	(void)state;
	for (int type = TLS_CERTGEN_EC; type <= TLS_CERTGEN_RSA; type++) {
		struct pair p, other;
		struct names nm = {0};
		char fp2[96];

		make_pair(&p, type, "mx.test.example");
		assert_int_equal(tls_key_type(p.key), type == TLS_CERTGEN_EC
								? TLS_KEY_EC
								: TLS_KEY_RSA);
		assert_true(tls_key_matches_cert(p.key,
						 (unsigned char *)p.der.data,
						 p.der.len));
		assert_int_equal(tls_x509_names((unsigned char *)p.der.data,
						p.der.len, collect, &nm),
				 0);
		assert_int_equal(nm.n, 1); /* the SAN, not the CN as well */
		assert_string_equal(nm.got[0], "mx.test.example");
		tls_fingerprint(p.der.data, p.der.len, fp2);
		assert_string_equal(fp2, p.fp);
		assert_int_equal(strlen(p.fp), 95);
		/* a second key does not match the first certificate */
		make_pair(&other, type, "mx.test.example");
		assert_false(tls_key_matches_cert(other.key,
						  (unsigned char *)p.der.data,
						  p.der.len));
		free_pair(&other);
		free_pair(&p);
	}
}

static void test_pem(void **state)
{
	struct buf der;
	char name[64];
	size_t used;
	const char *two = "junk\n-----BEGIN A-----\nAQID\n-----END A-----\n"
			  "-----BEGIN B-----\nBAUG\n-----END B-----";
	(void)state;

	buf_init(&der, 1024);
	assert_int_equal(tls_pem_next(two, strlen(two), &used, name,
				      sizeof(name), &der),
			 1);
	assert_string_equal(name, "A");
	assert_int_equal(der.len, 3);
	assert_memory_equal(der.data, "\1\2\3", 3);
	two += used;
	/* the last line has no newline */
	assert_int_equal(tls_pem_next(two, strlen(two), &used, name,
				      sizeof(name), &der),
			 1);
	assert_string_equal(name, "B");
	assert_memory_equal(der.data, "\4\5\6", 3);
	two += used;
	assert_int_equal(tls_pem_next(two, strlen(two), &used, name,
				      sizeof(name), &der),
			 0);
	const char *cut = "-----BEGIN A-----\nAQID\n";
	assert_int_equal(tls_pem_next(cut, strlen(cut), &used, name,
				      sizeof(name), &der),
			 TLS_ERR_CONFIG);
	buf_free(&der);
}

/* A non-blocking socketpair and the four application buffers. */
static void channel_open(int sv[2], struct buf *sin, struct buf *sout,
			 struct buf *cin, struct buf *cout)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	buf_init(sin, 65536), buf_init(sout, 65536);
	buf_init(cin, 65536), buf_init(cout, 65536);
}

/* Drive both ends until both are ready or one fails; 0 or the error. */
static int pump(struct tls_conn *s, int sfd, struct tls_conn *c, int cfd,
		struct buf *sin, struct buf *sout, struct buf *cin,
		struct buf *cout)
{
	for (int i = 0; i < 1000; i++) {
		int r = tls_conn_io(s, sfd, sin, sout);
		if (r < 0)
			return r;
		r = tls_conn_io(c, cfd, cin, cout);
		if (r < 0)
			return r - 100;
		if (tls_conn_ready(s) && tls_conn_ready(c) && sout->len == 0 &&
		    cout->len == 0 && !(tls_conn_want(s) & 2) &&
		    !(tls_conn_want(c) & 2) && i > 3)
			return 0;
	}
	return -999;
}

struct hs {
	int rs, trust;
	struct tls_info si, ci;
	char fp[96];
	char got[64];
};

static void handshake(struct pair *p, const char *ca_path, int level,
		      const char *want, struct tls_policy *cpol, struct hs *out)
{
	int sv[2];
	struct buf sin, sout, cin, cout;
	struct tls_server *srv = tls_server_new();
	struct tls_client *cl = tls_client_new();
	const unsigned char *d[1] = {(unsigned char *)p->der.data};
	size_t l[1] = {p->der.len};

	assert_int_equal(tls_server_set_chain(srv, d, l, 1), 0);
	tls_server_set_signer(srv, tls_key_sign, p->key);
	if (ca_path != NULL)
		assert_int_equal(tls_client_add_cafile(cl, ca_path), 1);
	if (cpol != NULL)
		tls_client_set_policy(cl, cpol);
	channel_open(sv, &sin, &sout, &cin, &cout);
	struct tls_conn *s = tls_conn_new_server(srv);
	struct tls_conn *c = tls_conn_new_client(cl, "mx.test.example", level,
						 &want, want ? 1 : 0);
	buf_puts(&cout, "EHLO client\r\n");
	buf_puts(&sout, "220 hello\r\n");
	memset(out, 0, sizeof(*out));
	out->rs = pump(s, sv[0], c, sv[1], &sin, &sout, &cin, &cout);
	out->trust = tls_conn_trust(c);
	snprintf(out->fp, sizeof(out->fp), "%s", tls_conn_peer_fingerprint(c));
	if (out->rs == 0) {
		tls_conn_info(s, &out->si);
		tls_conn_info(c, &out->ci);
		snprintf(out->got, sizeof(out->got), "%s|%s", buf_str(&sin),
			 buf_str(&cin));
	}
	tls_conn_free(s);
	tls_conn_free(c);
	close(sv[0]), close(sv[1]);
	buf_free(&sin), buf_free(&sout), buf_free(&cin), buf_free(&cout);
	tls_client_free(cl);
	tls_server_free(srv);
}

static void test_handshake(void **state)
{
	struct pair ec, rsa;
	struct hs h;
	(void)state;

	make_pair(&ec, TLS_CERTGEN_EC, "mx.test.example");
	make_pair(&rsa, TLS_CERTGEN_RSA, "mx.test.example");
	const char *ca_ec = test_write_file("ca-ec.pem", buf_str(&ec.cert_pem));
	char ca_ec_path[256];
	snprintf(ca_ec_path, sizeof(ca_ec_path), "%s", ca_ec);
	const char *ca_rsa =
		test_write_file("ca-rsa.pem", buf_str(&rsa.cert_pem));

	/* verify: the right anchor and name */
	handshake(&ec, ca_ec_path, TLS_LEV_VERIFY, "mx.test.example", NULL,
		  &h);
	assert_int_equal(h.rs, 0);
	assert_int_equal(h.trust, TLS_VERIFIED);
	assert_string_equal(h.si.proto, "TLSv1.2");
	assert_string_equal(h.si.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_int_equal(h.si.bits, 128);
	assert_string_equal(h.ci.cipher, h.si.cipher);
	assert_string_equal(h.got, "EHLO client\r\n|220 hello\r\n");
	assert_string_equal(h.fp, ec.fp);
	/* secure with dot-nexthop */
	handshake(&ec, ca_ec_path, TLS_LEV_SECURE, ".test.example", NULL, &h);
	assert_int_equal(h.rs, 0);
	assert_int_equal(h.trust, TLS_VERIFIED);
	/* the wrong name: verify fails, may goes on as Trusted */
	handshake(&ec, ca_ec_path, TLS_LEV_VERIFY, "other.example", NULL, &h);
	assert_int_not_equal(h.rs, 0);
	handshake(&ec, ca_ec_path, TLS_LEV_MAY, "other.example", NULL, &h);
	assert_int_equal(h.rs, 0);
	assert_int_equal(h.trust, TLS_TRUSTED);
	/* the wrong anchor: verify fails, encrypt goes on as Untrusted */
	handshake(&ec, ca_rsa, TLS_LEV_VERIFY, "mx.test.example", NULL, &h);
	assert_int_not_equal(h.rs, 0);
	handshake(&ec, NULL, TLS_LEV_ENCRYPT, NULL, NULL, &h);
	assert_int_equal(h.rs, 0);
	assert_int_equal(h.trust, TLS_UNTRUSTED);
	/* CApath: every file of a directory */
	{
		char dir[256];
		snprintf(dir, sizeof(dir), "%s/capath", test_tmpdir());
		mkdir(dir, 0755);
		char f[300];
		snprintf(f, sizeof(f), "%s/a.pem", dir);
		FILE *fp = fopen(f, "w");
		assert_non_null(fp);
		fputs(buf_str(&ec.cert_pem), fp);
		fputs(buf_str(&rsa.cert_pem), fp);
		fclose(fp);
		struct tls_client *cl = tls_client_new();
		assert_int_equal(tls_client_add_capath(cl, dir), 2);
		assert_int_equal(tls_client_anchors(cl), 2);
		assert_true(tls_client_add_capath(cl, "/nonexistent") < 0);
		tls_client_free(cl);
	}
	/* RSA key: ECDHE-RSA */
	handshake(&rsa, ca_rsa, TLS_LEV_VERIFY, "mx.test.example", NULL, &h);
	assert_int_equal(h.rs, 0);
	assert_string_equal(h.si.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
	/* a client that offers only CBC or TLS 1.0 gets nothing */
	struct tls_policy old = {.vmin = TLS_V10, .vmax = TLS_V12};
	assert_int_equal(tls_suites_parse("cbc", 3, NULL, 0, old.suites,
					  &old.nsuites),
			 0);
	handshake(&ec, NULL, TLS_LEV_MAY, NULL, &old, &h);
	assert_int_not_equal(h.rs, 0);
	struct tls_policy v10 = {.vmin = TLS_V10, .vmax = TLS_V11};
	assert_int_equal(tls_suites_parse("aead cbc", 8, NULL, 0, v10.suites,
					  &v10.nsuites),
			 0);
	handshake(&ec, NULL, TLS_LEV_MAY, NULL, &v10, &h);
	assert_int_not_equal(h.rs, 0);
	free_pair(&ec);
	free_pair(&rsa);
}

/* The keys process: the chain it sends, signatures that verify with the
 * certificate's key, and requests it refuses (wrong hash size, MD5+SHA-1
 * or decryption for an EC key, a truncated datagram). */
/* One client connection to srv over a fresh socketpair, offering the
 * session cached under key; 0 or the pump's error. */
static int connect_cached(struct tls_server *srv, struct tls_client *cl,
			  const char *key, uint64_t now, int *resumed,
			  int *trust, char *fp)
{
	int sv[2];
	struct buf sin, sout, cin, cout;
	const char *want = "mx.test.example";

	channel_open(sv, &sin, &sout, &cin, &cout);
	struct tls_conn *s = tls_conn_new_server(srv);
	struct tls_conn *c = tls_conn_new_client(cl, "mx.test.example",
						 TLS_LEV_VERIFY, &want, 1);
	tls_conn_client_cache(c, key, now);
	buf_puts(&cout, "EHLO client\r\n");
	buf_puts(&sout, "220 hello\r\n");
	int r = pump(s, sv[0], c, sv[1], &sin, &sout, &cin, &cout);
	*resumed = tls_conn_resumed(c);
	*trust = tls_conn_trust(c);
	snprintf(fp, 96, "%s", tls_conn_peer_fingerprint(c));
	if (r == 0)
		assert_int_equal(tls_conn_resumed(s), *resumed);
	tls_conn_free(s);
	tls_conn_free(c);
	close(sv[0]), close(sv[1]);
	buf_free(&sin), buf_free(&sout), buf_free(&cin), buf_free(&cout);
	return r;
}

/* Client session cache: the second connection under the same key
 * resumes (the server's cache says so too) and keeps the first one's
 * trust and fingerprint; another key, an expired entry, or a cache of
 * size 0 does a full handshake. */
static void test_client_resumption(void **state)
{
	struct pair ec;
	int resumed, trust;
	char fp[96], fp1[96];
	(void)state;

	make_pair(&ec, TLS_CERTGEN_EC, "mx.test.example");
	const char *ca = test_write_file("ca-res.pem", buf_str(&ec.cert_pem));
	struct tls_server *srv = tls_server_new();
	const unsigned char *d[1] = {(unsigned char *)ec.der.data};
	size_t l[1] = {ec.der.len};
	assert_int_equal(tls_server_set_chain(srv, d, l, 1), 0);
	tls_server_set_signer(srv, tls_key_sign, ec.key);
	tls_server_set_cache(srv, 64);
	struct tls_client *cl = tls_client_new();
	assert_int_equal(tls_client_add_cafile(cl, ca), 1);

	/* no cache configured: never resumed */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(connect_cached(srv, cl, "k", 100, &resumed,
						&trust, fp), 0);
		assert_false(resumed);
	}
	tls_client_set_cache(cl, 2, 60);
	assert_int_equal(connect_cached(srv, cl, "k", 100, &resumed, &trust,
					fp1), 0);
	assert_false(resumed);
	assert_int_equal(trust, TLS_VERIFIED);
	assert_int_equal(connect_cached(srv, cl, "k", 110, &resumed, &trust,
					fp), 0);
	assert_true(resumed);
	assert_int_equal(trust, TLS_VERIFIED);
	assert_string_equal(fp, fp1);
	assert_string_equal(fp, ec.fp);
	/* another key: full */
	assert_int_equal(connect_cached(srv, cl, "other", 110, &resumed,
					&trust, fp), 0);
	assert_false(resumed);
	/* saved at 100, offered until 160 */
	assert_int_equal(connect_cached(srv, cl, "k", 159, &resumed, &trust,
					fp), 0);
	assert_true(resumed);
	assert_int_equal(connect_cached(srv, cl, "k", 160, &resumed, &trust,
					fp), 0);
	assert_false(resumed); /* expired; this full one is saved at 160 */
	assert_int_equal(connect_cached(srv, cl, "k", 161, &resumed, &trust,
					fp), 0);
	assert_true(resumed);
	/* a third key evicts the oldest of the two slots ("other") */
	assert_int_equal(connect_cached(srv, cl, "third", 162, &resumed,
					&trust, fp), 0);
	assert_int_equal(connect_cached(srv, cl, "k", 163, &resumed, &trust,
					fp), 0);
	assert_true(resumed);
	assert_int_equal(connect_cached(srv, cl, "other", 163, &resumed,
					&trust, fp), 0);
	assert_false(resumed);
	assert_true(tls_server_stats(srv)->resumed >= 4);
	tls_client_free(cl);
	tls_server_free(srv);
	free_pair(&ec);
}

static void test_keys_process(void **state)
{
	char dir[256], path[300];
	unsigned char hv[32], sig[256];
	struct stat st;
	(void)state;

	snprintf(dir, sizeof(dir), "%s/keysdata", test_tmpdir());
	conf_set("smtpd_tls_security_level", "may");
	conf_set("data_directory", dir);
	conf_set("myhostname", "keys.test.example");
	int fd = tls_keys_start(getuid(), getgid());
	assert_true(fd >= 0);
	struct tls_server *srv = tls_server_new();
	assert_int_equal(tls_keys_attach(&fd, srv), 0);
	assert_int_equal(tls_server_key_type(srv), TLS_KEY_EC);
	snprintf(path, sizeof(path), "%s/smtpd-selfsigned-ecdsa.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a signature that verifies with the certificate's public key */
	snprintf(path, sizeof(path), "%s/smtpd-selfsigned-ecdsa.pem", dir);
	FILE *f = fopen(path, "r");
	char pem[8192];
	size_t pn = fread(pem, 1, sizeof(pem), f), used;
	fclose(f);
	struct buf der;
	char name[64];
	buf_init(&der, 8192);
	assert_int_equal(tls_pem_next(pem, pn, &used, name, sizeof(name), &der),
			 1);
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der.data, der.len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	assert_non_null(pk);
	memset(hv, 7, sizeof(hv));
	size_t n = tls_keys_sign(&fd, br_sha256_ID, hv, 32, sig, sizeof(sig));
	assert_true(n > 0 && n <= 72);
	assert_true(br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), hv,
						     32, &pk->key.ec, sig, n));
	buf_free(&der);

	/* refused */
	assert_int_equal(tls_keys_sign(&fd, br_sha256_ID, hv, 20, sig,
				       sizeof(sig)),
			 0);
	assert_int_equal(tls_keys_sign(&fd, 0, hv, 32, sig, sizeof(sig)), 0);
	assert_int_equal(tls_keys_sign(&fd, TLS_SIGN_RSA_DECRYPT, hv, 32, sig,
				       sizeof(sig)),
			 0);
	assert_int_equal(send(fd, "abc", 3, 0), 3);
	int32_t rep[2] = {0, 0};
	assert_int_equal(recv(fd, rep, sizeof(rep), 0), 8);
	assert_int_equal(rep[0], -1);
	/* still serving after the bad ones */
	assert_true(tls_keys_sign(&fd, br_sha256_ID, hv, 32, sig, sizeof(sig)) >
		    0);
	close(fd);
	int status;
	assert_true(wait(&status) > 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	tls_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_name_match),
		cmocka_unit_test(test_policy_entry),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_certgen),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_client_resumption),
		cmocka_unit_test(test_keys_process),
	};
	test_write_file("main.cf", "");
	if (conf_load(test_tmpdir()) != 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_cleanup_tmpdir();
	return rc;
}
