/* certgen - self-signed certificate (see certgen.h). Encoding per X.690
 * DER and RFC 5280 4.1 (TBSCertificate), RFC 5480 (EC keys), RFC 8017
 * (RSA keys), RFC 5758 3.2 (ecdsa-with-SHA256 has no parameters). */
#include "tls/certgen.h"

#include <bearssl.h>
#include <stdio.h>
#include <string.h>

#include "tls/tls.h"

int tls_der_tlv(struct buf *out, unsigned tag, const void *v, size_t n)
{
	unsigned char h[6];
	size_t hn = 0;

	h[hn++] = (unsigned char)tag;
	if (n < 0x80) {
		h[hn++] = (unsigned char)n;
	} else if (n < 0x100) {
		h[hn++] = 0x81, h[hn++] = (unsigned char)n;
	} else if (n < 0x10000) {
		h[hn++] = 0x82, h[hn++] = (unsigned char)(n >> 8);
		h[hn++] = (unsigned char)n;
	} else {
		h[hn++] = 0x83, h[hn++] = (unsigned char)(n >> 16);
		h[hn++] = (unsigned char)(n >> 8), h[hn++] = (unsigned char)n;
	}
	buf_append(out, h, hn);
	return buf_append(out, v, n);
}

int tls_der_uint(struct buf *out, const unsigned char *v, size_t n)
{
	unsigned char tmp[1100];

	while (n > 1 && *v == 0)
		v++, n--;
	if (n + 1 > sizeof(tmp))
		return BUF_ERR_FULL;
	size_t k = 0;
	if (n == 0 || (v[0] & 0x80))
		tmp[k++] = 0;
	memcpy(tmp + k, v, n);
	return tls_der_tlv(out, 0x02, tmp, k + n);
}

/* Wrap the whole of inner as one TLV appended to out. */
static void wrap(struct buf *out, unsigned tag, const struct buf *inner)
{
	tls_der_tlv(out, tag, inner->data, inner->len);
}

static const unsigned char OID_CN[] = {0x55, 0x04, 0x03};
static const unsigned char OID_SAN[] = {0x55, 0x1D, 0x11};
static const unsigned char OID_BC[] = {0x55, 0x1D, 0x13};
static const unsigned char OID_ECPUB[] = {0x2A, 0x86, 0x48, 0xCE,
					  0x3D, 0x02, 0x01};
static const unsigned char OID_P256[] = {0x2A, 0x86, 0x48, 0xCE,
					 0x3D, 0x03, 0x01, 0x07};
static const unsigned char OID_ECDSA_SHA256[] = {0x2A, 0x86, 0x48, 0xCE,
						 0x3D, 0x04, 0x03, 0x02};
static const unsigned char OID_RSA[] = {0x2A, 0x86, 0x48, 0x86, 0xF7,
					0x0D, 0x01, 0x01, 0x01};
static const unsigned char OID_RSA_SHA256[] = {0x2A, 0x86, 0x48, 0x86, 0xF7,
					       0x0D, 0x01, 0x01, 0x0B};

static void name_cn(struct buf *out, const char *host)
{
	struct buf atv, set, seq;

	buf_init(&atv, 1024), buf_init(&set, 1024), buf_init(&seq, 1024);
	tls_der_tlv(&atv, 0x06, OID_CN, sizeof(OID_CN));
	tls_der_tlv(&atv, 0x0C, host, strlen(host));
	wrap(&seq, 0x30, &atv);
	wrap(&set, 0x31, &seq);
	wrap(out, 0x30, &set);
	buf_free(&atv), buf_free(&set), buf_free(&seq);
}

static void der_time(struct buf *out, time_t t)
{
	struct tm tm;
	char s[20];

	gmtime_r(&t, &tm);
	if (tm.tm_year + 1900 < 2050) {
		/* UTCTime: two-digit year (RFC 5280 4.1.2.5.1) */
		strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
		tls_der_tlv(out, 0x17, s + 2, strlen(s + 2));
	} else {
		strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
		tls_der_tlv(out, 0x18, s, strlen(s));
	}
}

static void alg_id(struct buf *out, int type)
{
	struct buf a;

	buf_init(&a, 64);
	if (type == TLS_CERTGEN_EC) {
		tls_der_tlv(&a, 0x06, OID_ECDSA_SHA256,
			    sizeof(OID_ECDSA_SHA256));
	} else {
		tls_der_tlv(&a, 0x06, OID_RSA_SHA256, sizeof(OID_RSA_SHA256));
		tls_der_tlv(&a, 0x05, "", 0);
	}
	wrap(out, 0x30, &a);
	buf_free(&a);
}

static void extensions(struct buf *out, const char *host)
{
	struct buf gn, san, ext, exts, bc, x3;

	buf_init(&gn, 1024), buf_init(&san, 1024), buf_init(&ext, 1024);
	buf_init(&exts, 2048), buf_init(&bc, 64), buf_init(&x3, 2048);
	/* subjectAltName: dNSName [2] IMPLICIT IA5String */
	tls_der_tlv(&gn, 0x82, host, strlen(host));
	wrap(&san, 0x30, &gn);
	tls_der_tlv(&ext, 0x06, OID_SAN, sizeof(OID_SAN));
	wrap(&ext, 0x04, &san);
	wrap(&exts, 0x30, &ext);
	/* basicConstraints, critical: cA FALSE (an empty SEQUENCE) */
	buf_reset(&ext);
	tls_der_tlv(&ext, 0x06, OID_BC, sizeof(OID_BC));
	tls_der_tlv(&ext, 0x01, "\xff", 1);
	tls_der_tlv(&bc, 0x30, "", 0);
	wrap(&ext, 0x04, &bc);
	wrap(&exts, 0x30, &ext);
	wrap(&x3, 0x30, &exts);
	wrap(out, 0xA3, &x3);
	buf_free(&gn), buf_free(&san), buf_free(&ext);
	buf_free(&exts), buf_free(&bc), buf_free(&x3);
}

void tls_fingerprint(const void *der, size_t n, char out[96])
{
	br_sha256_context h;
	unsigned char d[32];

	br_sha256_init(&h);
	br_sha256_update(&h, der, n);
	br_sha256_out(&h, d);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 3 * i, 4, i < 31 ? "%02X:" : "%02X", d[i]);
}

static void pem(struct buf *out, const void *der, size_t n, const char *label)
{
	size_t need = br_pem_encode(NULL, der, n, label, BR_PEM_LINE64);
	struct buf t;
	buf_init(&t, need + 1);
	/* br_pem_encode writes need bytes plus a NUL */
	for (size_t i = 0; i <= need; i++)
		buf_putc(&t, 0);
	br_pem_encode(t.data, der, n, label, BR_PEM_LINE64);
	buf_append(out, t.data, need);
	explicit_bzero(t.data, t.cap);
	buf_free(&t);
}

int tls_certgen(int type, const char *host, time_t now, struct buf *cert_pem,
		struct buf *key_pem, char fingerprint[96])
{
	br_hmac_drbg_context rng;
	br_prng_seeder seeder = br_prng_seeder_system(NULL);
	struct buf tbs, spki, alg, key, cert, all;
	unsigned char serial[16], hv[32], sig[512];
	size_t siglen = 0;
	int rc = 0;
	/* keys */
	unsigned char ec_priv[BR_EC_KBUF_PRIV_MAX_SIZE];
	unsigned char ec_pub[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char rsa_priv[BR_RSA_KBUF_PRIV_SIZE(2048)];
	unsigned char rsa_pub[BR_RSA_KBUF_PUB_SIZE(2048)];
	unsigned char rsa_d[256];
	br_ec_private_key esk;
	br_ec_public_key epk;
	br_rsa_private_key rsk;
	br_rsa_public_key rpk;

	if (host == NULL || *host == 0 || strlen(host) > 255)
		return TLS_ERR_CONFIG;
	br_hmac_drbg_init(&rng, &br_sha256_vtable, NULL, 0);
	if (seeder == 0 || !seeder(&rng.vtable))
		return TLS_ERR_PROTO;
	buf_init(&tbs, 16384), buf_init(&spki, 4096), buf_init(&alg, 4096);
	buf_init(&key, 8192), buf_init(&cert, 16384), buf_init(&all, 16384);

	/* the key pair and its SubjectPublicKeyInfo */
	if (type == TLS_CERTGEN_EC) {
		if (br_ec_keygen(&rng.vtable, br_ec_get_default(), &esk,
				 ec_priv, BR_EC_secp256r1) == 0 ||
		    br_ec_compute_pub(br_ec_get_default(), &epk, ec_pub,
				      &esk) == 0) {
			rc = TLS_ERR_PROTO;
			goto out;
		}
		tls_der_tlv(&alg, 0x06, OID_ECPUB, sizeof(OID_ECPUB));
		tls_der_tlv(&alg, 0x06, OID_P256, sizeof(OID_P256));
		wrap(&spki, 0x30, &alg);
		buf_reset(&alg);
		buf_putc(&alg, 0); /* BIT STRING: no unused bits */
		buf_append(&alg, epk.q, epk.qlen);
		tls_der_tlv(&spki, 0x03, alg.data, alg.len);
	} else {
		if (!br_rsa_keygen_get_default()(&rng.vtable, &rsk, rsa_priv,
						 &rpk, rsa_pub, 2048, 65537)) {
			rc = TLS_ERR_PROTO;
			goto out;
		}
		tls_der_tlv(&alg, 0x06, OID_RSA, sizeof(OID_RSA));
		tls_der_tlv(&alg, 0x05, "", 0);
		wrap(&spki, 0x30, &alg);
		buf_reset(&alg);
		tls_der_uint(&alg, rpk.n, rpk.nlen);
		tls_der_uint(&alg, rpk.e, rpk.elen);
		buf_reset(&key);
		buf_putc(&key, 0);
		tls_der_tlv(&key, 0x30, alg.data, alg.len);
		tls_der_tlv(&spki, 0x03, key.data, key.len);
		buf_reset(&key);
	}
	buf_reset(&alg);
	tls_der_tlv(&alg, 0x30, spki.data, spki.len);

	/* TBSCertificate */
	tls_der_tlv(&tbs, 0xA0, "\x02\x01\x02", 3); /* version v3 */
	rng.vtable->generate(&rng.vtable, serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7F) | 0x40);
	tls_der_uint(&tbs, serial, sizeof(serial));
	alg_id(&tbs, type);
	name_cn(&tbs, host); /* issuer */
	{
		struct buf v;
		buf_init(&v, 128);
		der_time(&v, now - 3600);
		der_time(&v, now + (time_t)10 * 365 * 86400);
		wrap(&tbs, 0x30, &v);
		buf_free(&v);
	}
	name_cn(&tbs, host); /* subject */
	buf_append(&tbs, alg.data, alg.len);
	extensions(&tbs, host);
	buf_reset(&cert);
	wrap(&cert, 0x30, &tbs);

	/* sign SHA-256(TBSCertificate) */
	{
		br_sha256_context h;
		br_sha256_init(&h);
		br_sha256_update(&h, cert.data, cert.len);
		br_sha256_out(&h, hv);
	}
	if (type == TLS_CERTGEN_EC) {
		siglen = br_ecdsa_sign_asn1_get_default()(
			br_ec_get_default(), &br_sha256_vtable, hv, &esk, sig);
	} else if (br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hv,
						   sizeof(hv), &rsk, sig)) {
		siglen = (rsk.n_bitlen + 7) / 8;
	}
	if (siglen == 0) {
		rc = TLS_ERR_PROTO;
		goto out;
	}
	alg_id(&cert, type);
	buf_reset(&tbs);
	buf_putc(&tbs, 0);
	buf_append(&tbs, sig, siglen);
	tls_der_tlv(&cert, 0x03, tbs.data, tbs.len);
	wrap(&all, 0x30, &cert);
	if (buf_error(&all)) {
		rc = TLS_ERR_PROTO;
		goto out;
	}
	tls_fingerprint(all.data, all.len, fingerprint);
	pem(cert_pem, all.data, all.len, "CERTIFICATE");

	/* the private key */
	if (type == TLS_CERTGEN_EC) {
		size_t n = br_encode_ec_raw_der(NULL, &esk, &epk);
		for (size_t i = 0; i < n; i++)
			buf_putc(&key, 0);
		br_encode_ec_raw_der(key.data, &esk, &epk);
		pem(key_pem, key.data, n, "EC PRIVATE KEY");
	} else {
		size_t dl = br_rsa_compute_privexp_get_default()(rsa_d, &rsk,
								  65537);
		size_t n = br_encode_rsa_raw_der(NULL, &rsk, &rpk, rsa_d, dl);
		for (size_t i = 0; i < n; i++)
			buf_putc(&key, 0);
		br_encode_rsa_raw_der(key.data, &rsk, &rpk, rsa_d, dl);
		pem(key_pem, key.data, n, "RSA PRIVATE KEY");
	}
out:
	explicit_bzero(ec_priv, sizeof(ec_priv));
	explicit_bzero(rsa_priv, sizeof(rsa_priv));
	explicit_bzero(rsa_d, sizeof(rsa_d));
	explicit_bzero(&rng, sizeof(rng));
	explicit_bzero(key.data, key.cap);
	buf_free(&tbs), buf_free(&spki), buf_free(&alg);
	buf_free(&key), buf_free(&cert), buf_free(&all);
	return rc;
}
