/* x509name - certificate DNS names and Postfix-style matching (see
 * x509name.h). DER per X.690 (definite lengths only, as DER requires);
 * certificate layout per RFC 5280 4.1, subjectAltName 4.2.1.6. */
#include "tls/x509name.h"

#include <string.h>

#include "core/str.h"

struct der {
	const unsigned char *p;
	size_t n;
};

/* Read one TLV from d: its tag byte and value; d advances past it.
 * 0, or -1 on truncation, indefinite or over-long lengths, multi-byte
 * tags (never used in a certificate's fields read here). */
static int der_next(struct der *d, unsigned *tag, struct der *val)
{
	size_t len, i = 2;

	if (d->n < 2 || (d->p[0] & 0x1F) == 0x1F)
		return -1;
	*tag = d->p[0];
	len = d->p[1];
	if (len & 0x80) {
		size_t k = len & 0x7F;
		if (k == 0 || k > 3 || d->n < 2 + k)
			return -1;
		len = 0;
		for (size_t j = 0; j < k; j++)
			len = (len << 8) | d->p[2 + j];
		i += k;
	}
	if (len > d->n - i)
		return -1;
	val->p = d->p + i;
	val->n = len;
	d->p += i + len;
	d->n -= i + len;
	return 0;
}

static int der_expect(struct der *d, unsigned want, struct der *val)
{
	unsigned tag;
	if (der_next(d, &tag, val) < 0 || tag != want)
		return -1;
	return 0;
}

static const unsigned char oid_cn[] = {0x55, 0x04, 0x03};
static const unsigned char oid_san[] = {0x55, 0x1D, 0x11};

static int oid_is(const struct der *v, const unsigned char *oid, size_t n)
{
	return v->n == n && memcmp(v->p, oid, n) == 0;
}

/* SubjectAltName: SEQUENCE OF GeneralName; dNSName is [2] IMPLICIT
 * IA5String. *found counts the dNSNames seen. */
static int walk_san(struct der ext, tls_name_fn *cb, void *arg, int *found)
{
	struct der seq, gn;
	unsigned tag;

	if (der_expect(&ext, 0x30, &seq) < 0)
		return -1;
	while (seq.n > 0) {
		if (der_next(&seq, &tag, &gn) < 0)
			return -1;
		if (tag != 0x82)
			continue;
		(*found)++;
		if (gn.n == 0 || gn.n > TLS_NAME_MAX)
			continue;
		int r = cb(arg, (const char *)gn.p, gn.n);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Name: SEQUENCE OF SET OF AttributeTypeAndValue; CN values of string
 * types (rdns: the Name's contents; UTF8String, PrintableString, IA5String, T61String). */
static int walk_cn(struct der rdns, tls_name_fn *cb, void *arg)
{
	struct der set, atv, oid, val;
	unsigned tag;

	while (rdns.n > 0) {
		if (der_expect(&rdns, 0x31, &set) < 0)
			return -1;
		while (set.n > 0) {
			if (der_expect(&set, 0x30, &atv) < 0 ||
			    der_expect(&atv, 0x06, &oid) < 0 ||
			    der_next(&atv, &tag, &val) < 0)
				return -1;
			if (!oid_is(&oid, oid_cn, sizeof(oid_cn)))
				continue;
			if (tag != 0x0C && tag != 0x13 && tag != 0x16 &&
			    tag != 0x14)
				continue;
			if (val.n == 0 || val.n > TLS_NAME_MAX)
				continue;
			int r = cb(arg, (const char *)val.p, val.n);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

int tls_x509_names(const unsigned char *der, size_t len, tls_name_fn *cb,
		   void *arg)
{
	struct der d = {der, len}, cert, tbs, f, subject = {NULL, 0};
	unsigned tag;
	int found = 0, r;

	if (der_expect(&d, 0x30, &cert) < 0 ||
	    der_expect(&cert, 0x30, &tbs) < 0)
		return -1;
	/* version [0] (optional), serial, signature, issuer, validity,
	 * subject, subjectPublicKeyInfo, then [1] [2] [3] */
	if (tbs.n > 0 && tbs.p[0] == 0xA0 && der_next(&tbs, &tag, &f) < 0)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (der_next(&tbs, &tag, &f) < 0)
			return -1;
		if (i == 4) {
			if (tag != 0x30)
				return -1;
			subject = f;
		}
	}
	while (tbs.n > 0) {
		struct der exts, ext, oid, v;
		if (der_next(&tbs, &tag, &f) < 0)
			return -1;
		if (tag != 0xA3)
			continue;
		if (der_expect(&f, 0x30, &exts) < 0)
			return -1;
		while (exts.n > 0) {
			if (der_expect(&exts, 0x30, &ext) < 0 ||
			    der_expect(&ext, 0x06, &oid) < 0)
				return -1;
			if (ext.n > 0 && ext.p[0] == 0x01 &&
			    der_next(&ext, &tag, &v) < 0) /* critical */
				return -1;
			if (der_expect(&ext, 0x04, &v) < 0)
				return -1;
			if (!oid_is(&oid, oid_san, sizeof(oid_san)))
				continue;
			r = walk_san(v, cb, arg, &found);
			if (r != 0)
				return r;
		}
	}
	if (found > 0)
		return 0;
	return walk_cn(subject, cb, arg);
}

/* Compare a[0..n) with b[0..n) ignoring ASCII case. */
static int same(const char *a, const char *b, size_t n)
{
	return str_ncasecmp(a, b, n) == 0;
}

int tls_name_match(const char *cert, size_t cn, const char *want)
{
	size_t wn = strlen(want);

	if (cn > 0 && cert[cn - 1] == '.')
		cn--;
	if (wn > 0 && want[wn - 1] == '.')
		wn--;
	if (cn == 0 || wn == 0 || memchr(cert, 0, cn) != NULL)
		return 0;
	if (want[0] == '.') {
		/* dot-nexthop: any name strictly below want */
		if (cert[0] == '*' && cn > 2 && cert[1] == '.')
			return cn - 1 >= wn && same(cert + cn - wn, want, wn);
		return cn > wn && same(cert + cn - wn, want, wn);
	}
	if (cn >= 3 && cert[0] == '*' && cert[1] == '.') {
		const char *dot = memchr(want, '.', wn);
		if (dot == NULL || dot == want)
			return 0;
		size_t rest = wn - (size_t)(dot - want);
		/* at least two labels after the wildcard (no "*.com") */
		if (memchr(cert + 2, '.', cn - 2) == NULL)
			return 0;
		return rest == cn - 1 && same(dot, cert + 1, rest);
	}
	return cn == wn && same(cert, want, wn);
}
