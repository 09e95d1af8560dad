/* sasl - SMTP AUTH server state machine (see sasl.h). RFC 4954, RFC 4616,
 * draft-murchison-sasl-login. Trusts nothing it is given. */
#include "smtpd/sasl.h"

#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/str.h"

#define STEP_PLAIN      1 /* the PLAIN message */
#define STEP_LOGIN_USER 2
#define STEP_LOGIN_PASS 3

/* base64 of "Username:" and "Password:" */
#define CH_USER "VXNlcm5hbWU6"
#define CH_PASS "UGFzc3dvcmQ6"

/* The longest base64 line that can hold a valid response. */
#define RESPONSE_B64_MAX (((3 * (SASL_FIELD_MAX + 1)) + 2) / 3 * 4)

void sasl_server_init(struct sasl_server *s, unsigned offer)
{
	memset(s, 0, sizeof(*s));
	s->offer = offer;
	s->challenge = "";
}

void sasl_server_reset(struct sasl_server *s)
{
	unsigned offer = s->offer;
	explicit_bzero(s, sizeof(*s));
	s->offer = offer;
	s->challenge = "";
}

const char *sasl_mech_name(enum sasl_mech m)
{
	return m == SASL_MECH_PLAIN   ? "PLAIN"
	       : m == SASL_MECH_LOGIN ? "LOGIN"
				      : "";
}

const char *sasl_offer_list(unsigned offer)
{
	if ((offer & SASL_OFFER_PLAIN) && (offer & SASL_OFFER_LOGIN))
		return "PLAIN LOGIN";
	if (offer & SASL_OFFER_PLAIN)
		return "PLAIN";
	if (offer & SASL_OFFER_LOGIN)
		return "LOGIN";
	return "";
}

const char *sasl_server_mech(const struct sasl_server *s)
{
	return s->mech_sent;
}

const char *sasl_server_challenge(const struct sasl_server *s)
{
	return s->challenge;
}

/* Decode one base64 response into dst (room for SASL_FIELD_MAX * 3 + 2
 * bytes); 0 or an error. */
static int decode(const char *p, size_t n, struct buf *dst)
{
	if (n > RESPONSE_B64_MAX)
		return SASL_ERR_FORM;
	int r = base64_decode(dst, p, n);
	if (r == BASE64_ERR_SYNTAX)
		return SASL_ERR_BASE64;
	return r < 0 ? SASL_ERR_FORM : 0;
}

static int set_field(char *dst, size_t *len, const char *p, size_t n)
{
	if (n > SASL_FIELD_MAX || memchr(p, 0, n) != NULL)
		return SASL_ERR_FORM;
	memcpy(dst, p, n);
	dst[n] = 0;
	*len = n;
	return 0;
}

/* PLAIN message: authzid NUL authcid NUL passwd (RFC 4616 section 2). */
static int plain(struct sasl_server *s, const char *p, size_t n)
{
	const char *z1 = memchr(p, 0, n);
	if (z1 == NULL)
		return SASL_ERR_FORM;
	const char *a = z1 + 1;
	const char *z2 = memchr(a, 0, n - (size_t)(a - p));
	if (z2 == NULL)
		return SASL_ERR_FORM;
	const char *pw = z2 + 1;
	size_t zn = (size_t)(z1 - p), an = (size_t)(z2 - a),
	       pn = n - (size_t)(pw - p);
	if (zn > SASL_FIELD_MAX || an == 0 || pn == 0)
		return SASL_ERR_FORM;
	int r = set_field(s->user, &s->user_len, a, an);
	if (r == 0)
		r = set_field(s->pass, &s->pass_len, pw, pn);
	if (r == 0 && zn > 0 && (zn != an || memcmp(p, a, an) != 0))
		r = SASL_ERR_AUTHZ;
	return r;
}

/* Act on one decoded response. */
static int answer(struct sasl_server *s, const char *p, size_t n)
{
	int r;

	switch (s->step) {
	case STEP_PLAIN:
		r = plain(s, p, n);
		if (r == 0) {
			s->step = 0;
			return SASL_DONE;
		}
		return r;
	case STEP_LOGIN_USER:
		if (n == 0)
			return SASL_ERR_FORM;
		r = set_field(s->user, &s->user_len, p, n);
		if (r < 0)
			return r;
		s->step = STEP_LOGIN_PASS;
		s->challenge = CH_PASS;
		return SASL_MORE;
	case STEP_LOGIN_PASS:
		if (n == 0)
			return SASL_ERR_FORM;
		r = set_field(s->pass, &s->pass_len, p, n);
		if (r < 0)
			return r;
		s->step = 0;
		return SASL_DONE;
	}
	return SASL_ERR_STATE;
}

/* Decode and act; on an error the machine goes idle. */
static int respond(struct sasl_server *s, const char *p, size_t n)
{
	struct buf d;
	buf_init(&d, 3 * (SASL_FIELD_MAX + 1) + 2);
	int r = decode(p, n, &d);
	if (r == 0)
		r = answer(s, d.data, d.len);
	explicit_bzero(d.data, d.len);
	buf_free(&d);
	if (r < 0) {
		s->step = 0;
		explicit_bzero(s->pass, sizeof(s->pass));
		s->pass_len = 0;
	}
	return r;
}

int sasl_server_start(struct sasl_server *s, const char *arg, size_t n)
{
	size_t i = 0, mlen;
	const char *init = NULL;
	size_t init_n = 0;

	s->step = 0;
	s->initial = 0;
	s->challenge = "";
	s->user_len = s->pass_len = 0;
	s->user[0] = s->pass[0] = 0;
	while (i < n && arg[i] != ' ')
		i++;
	mlen = i;
	if (mlen == 0)
		return SASL_ERR_ARGS;
	size_t k;
	for (k = 0; k < mlen && k < sizeof(s->mech_sent) - 1; k++) {
		unsigned char c = (unsigned char)arg[k];
		s->mech_sent[k] = c >= 'a' && c <= 'z'  ? (char)(c - 32)
				  : c > ' ' && c < 0x7f ? (char)c
							: '?';
	}
	s->mech_sent[k] = 0;
	while (i < n && arg[i] == ' ')
		i++;
	if (i < n) {
		init = arg + i;
		init_n = n - i;
		if (memchr(init, ' ', init_n) != NULL)
			return SASL_ERR_ARGS;
	}
	if (mlen == 5 && str_ncasecmp(arg, "PLAIN", 5) == 0 &&
	    (s->offer & SASL_OFFER_PLAIN))
		s->mech = SASL_MECH_PLAIN;
	else if (mlen == 5 && str_ncasecmp(arg, "LOGIN", 5) == 0 &&
		 (s->offer & SASL_OFFER_LOGIN))
		s->mech = SASL_MECH_LOGIN;
	else {
		s->mech = SASL_MECH_NONE;
		return SASL_ERR_MECH;
	}
	s->step = s->mech == SASL_MECH_PLAIN ? STEP_PLAIN : STEP_LOGIN_USER;
	s->challenge = s->mech == SASL_MECH_PLAIN ? "" : CH_USER;
	if (init == NULL)
		return SASL_MORE;
	s->initial = 1;
	/* "=" is an empty initial response (RFC 4954 section 4) */
	int r = init_n == 1 && init[0] == '='
			? (s->mech == SASL_MECH_PLAIN ? SASL_ERR_FORM
						      : SASL_MORE)
			: respond(s, init, init_n);
	if (r == SASL_ERR_FORM)
		s->step = 0;
	if (r != SASL_MORE)
		return r;
	s->initial = 0;
	return r;
}

int sasl_server_step(struct sasl_server *s, const char *line, size_t n)
{
	if (s->step == 0)
		return SASL_ERR_STATE;
	s->initial = 0;
	if (n == 1 && line[0] == '*') {
		s->step = 0;
		explicit_bzero(s->pass, sizeof(s->pass));
		s->pass_len = 0;
		return SASL_ERR_CANCEL;
	}
	return respond(s, line, n);
}

const char *sasl_server_reply(const struct sasl_server *s, int err,
			      const char **why)
{
	const char *w = NULL, *r;

	switch (err) {
	case SASL_ERR_ARGS:
		r = "501 5.5.4 Syntax: AUTH mechanism";
		break;
	case SASL_ERR_MECH:
		w = "Invalid authentication mechanism";
		r = "535 5.7.8 Error: authentication failed: Invalid "
		    "authentication mechanism";
		break;
	case SASL_ERR_BASE64:
		if (s->initial) {
			w = "Invalid base64 data in initial response";
			r = "535 5.7.8 Error: authentication failed: Invalid "
			    "base64 data in initial response";
		} else {
			w = "Invalid base64 data in continued response";
			r = "535 5.7.8 Error: authentication failed: Invalid "
			    "base64 data in continued response";
		}
		break;
	case SASL_ERR_CANCEL:
		r = "501 5.7.0 Authentication aborted";
		break;
	case SASL_ERR_AUTHZ:
		w = "authorization failure";
		r = "535 5.7.8 Error: authentication failed: authorization "
		    "failure";
		break;
	case SASL_ERR_FORM:
	case SASL_ERR_STATE:
	default:
		w = "authentication failure";
		r = "535 5.7.8 Error: authentication failed: authentication "
		    "failure";
		break;
	}
	if (why != NULL)
		*why = w;
	return r;
}
