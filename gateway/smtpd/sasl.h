/* sasl - the server side of SMTP AUTH as a pure state machine (issue 6).
 *
 * RFC 4954 (the AUTH command, 334 continuations, "*" to cancel, "=" for
 * an empty initial response), RFC 4616 (PLAIN: [authzid] NUL authcid NUL
 * passwd, each at most 255 bytes, UTF-8 not checked) and the LOGIN
 * mechanism of draft-murchison-sasl-login (challenges "Username:" and
 * "Password:", each answer one base64 line; a username as initial
 * response is accepted, as Cyrus does).
 *
 * Like smtp_cmd.h: no I/O, no logging, no clock, no allocation (STYLE.md
 * rule 10). The session feeds the AUTH argument to sasl_server_start()
 * and each following line to sasl_server_step(); the result says what to
 * answer:
 *   SASL_MORE   send "334 " + sasl_server_challenge() and wait for a line;
 *   SASL_DONE   the credentials are in user/pass: verify them (elsewhere,
 *               off the loop: passwd.h), then reply 235 or 535;
 *   < 0         an error; sasl_server_reply() gives Postfix's reply.
 * After DONE or an error the machine is idle again; sasl_server_reset()
 * wipes the password and must be called once the credentials are used.
 *
 * PLAIN with an authzid different from the authcid is refused (no proxy
 * authorisation: SASL_ERR_AUTHZ). */
#ifndef MAILGW_SMTPD_SASL_H
#define MAILGW_SMTPD_SASL_H

#include <stddef.h>

#define SASL_FIELD_MAX 255 /* RFC 4616 section 2 */

enum sasl_mech { SASL_MECH_NONE = 0, SASL_MECH_PLAIN, SASL_MECH_LOGIN };

#define SASL_DONE 0
#define SASL_MORE 1

#define SASL_ERR_ARGS   (-1) /* AUTH without a mechanism, or 3 words */
#define SASL_ERR_MECH   (-2) /* mechanism not offered */
#define SASL_ERR_BASE64 (-3) /* a response that is not base64 */
#define SASL_ERR_CANCEL (-4) /* "*" */
#define SASL_ERR_FORM   (-5) /* decoded response malformed (NULs, sizes) */
#define SASL_ERR_AUTHZ  (-6) /* authzid differs from authcid */
#define SASL_ERR_STATE  (-7) /* step while idle: a bug in the caller */

/* Which mechanisms the server offers (bit 1 << enum sasl_mech). */
#define SASL_OFFER_PLAIN (1u << SASL_MECH_PLAIN)
#define SASL_OFFER_LOGIN (1u << SASL_MECH_LOGIN)

struct sasl_server {
	unsigned offer;
	enum sasl_mech mech;
	int step;    /* 0 idle; else what the next line answers */
	int initial; /* the error came from the initial response */
	const char *challenge;
	char mech_sent[21]; /* the mechanism as the client named it, upper
			     * case, cut at 20 (RFC 4422 3.1), '?' for
			     * bytes outside printable ASCII: for logs */
	char user[SASL_FIELD_MAX + 1]; /* NUL-terminated, no NUL inside */
	size_t user_len;
	char pass[SASL_FIELD_MAX + 1];
	size_t pass_len;
};

void sasl_server_init(struct sasl_server *s, unsigned offer);
/* arg[0..n) is the AUTH command's argument: "MECH [initial-response]". */
int sasl_server_start(struct sasl_server *s, const char *arg, size_t n);
/* A client line (terminator removed) after SASL_MORE. */
int sasl_server_step(struct sasl_server *s, const char *line, size_t n);
/* The base64 challenge for the 334 reply ("" for PLAIN). */
const char *sasl_server_challenge(const struct sasl_server *s);
/* Wipe the credentials; back to idle. */
void sasl_server_reset(struct sasl_server *s);

/* The mechanism as the client sent it (sasl_server.mech_sent). */
const char *sasl_server_mech(const struct sasl_server *s);
/* "PLAIN", "LOGIN" ("" for NONE). */
const char *sasl_mech_name(enum sasl_mech m);
/* The mechanisms for EHLO ("PLAIN LOGIN") per offer bits. */
const char *sasl_offer_list(unsigned offer);

/* The reply (with code and enhanced code, no CRLF) Postfix gives for an
 * error of this module; *why gets the reason that the failure warning
 * logs ("SASL PLAIN authentication failed: REASON"), NULL when the error
 * is not logged as a failure (cancel is logged as "aborted"). */
const char *sasl_server_reply(const struct sasl_server *s, int err,
			      const char **why);

#endif
