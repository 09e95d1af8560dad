/* test_sasl - base64, PBKDF2-HMAC-SHA256, password hashes and the AUTH
 * server state machine (issue 6). */
#include "testutil.h"

#include <time.h>

#include "core/base64.h"
#include "core/loop.h"
#include "core/str.h"
#include "deliver/smtp_reply.h"
#include "deliver/smtp_sasl.h"
#include "dict/dict.h"
#include "smtpd/passwd.h"
#include "smtpd/sasl.h"
#include "smtpd/sasl_worker.h"

static void hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int dec(const char *s, struct buf *b)
{
	buf_reset(b);
	return base64_decode(b, s, strlen(s));
}

static void test_base64(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 64);
	/* RFC 4648 section 10 */
	static const char *const vec[][2] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof(vec) / sizeof(*vec); i++) {
		buf_reset(&b);
		assert_int_equal(
			base64_encode(&b, vec[i][0], strlen(vec[i][0])), 0);
		assert_string_equal(buf_str(&b), vec[i][1]);
		assert_int_equal(dec(vec[i][1], &b), 0);
		assert_string_equal(buf_str(&b), vec[i][0]);
	}
	/* binary, NULs kept: RFC 4616's example "\0tim\0tanstaaftanstaaf" */
	assert_int_equal(dec("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", &b), 0);
	assert_int_equal(b.len, 21);
	assert_memory_equal(b.data, "\0tim\0tanstaaftanstaaf", 21);
	/* refused: length, alphabet, padding inside, white space, unused
	 * bits set, three '=' */
	static const char *const bad[] = {
		"Zg=",  "Zm9",  "Zm9v!A==", "Zg==Zg==", "Zm 9",
		"Zh==", "Zm9=", "Z===",     "====",     "Zm9v\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		buf_reset(&b);
		assert_int_equal(base64_decode(&b, bad[i], strlen(bad[i])),
				 BASE64_ERR_SYNTAX);
		assert_int_equal(b.len, 0);
	}
	/* a full buffer is an error, nothing half-written */
	struct buf small;
	buf_init(&small, 2);
	assert_int_equal(base64_decode(&small, "Zm9v", 4), BUF_ERR_FULL);
	assert_int_equal(small.len, 0);
	buf_free(&small);
	buf_free(&b);
}

static void test_pbkdf2(void **state)
{
	(void)state;
	unsigned char out[64];
	char h[129];

	/* RFC 7914 section 11 */
	passwd_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out, 64);
	hex(h, out, 64);
	assert_string_equal(h, "55ac046e56e3089fec1691c22544b605f94185216dde046"
			       "5e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef"
			       "317c71b845b1e30bd509112041d3a19783");
	passwd_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, out, 64);
	hex(h, out, 64);
	assert_string_equal(h, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c041"
			       "4aeff08876b34ab56a1d425a1225833549adb841b51c9b3"
			       "176a272bdebba1d078478f62b397f33c8d");
	/* the widely published PBKDF2-HMAC-SHA256 vector, 4096 rounds */
	passwd_pbkdf2_sha256("password", 8, "salt", 4, 4096, out, 32);
	hex(h, out, 32);
	assert_string_equal(h, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e1"
			       "1a4963873aa98134a");
}

static void test_passwd_hash(void **state)
{
	(void)state;
	struct passwd_hash ph;
	/* made with Python's hashlib.pbkdf2_hmac (an independent
	 * implementation): hunter2, salt "0123456789abcdef", 100000 */
	const char *known = "pbkdf2-sha256$100000$MDEyMzQ1Njc4OWFiY2RlZg==$"
			    "+wwwi9gM/eAJl7udbNFuJKYu39MDjh1mH7qtv6nNiFw=";
	assert_int_equal(passwd_hash_parse(&ph, known, strlen(known)), 0);
	assert_int_equal(ph.iter, 100000);
	assert_int_equal(ph.salt_len, 16);
	assert_int_equal(ph.key_len, 32);
	assert_true(passwd_verify(known, "hunter2", 7));
	assert_false(passwd_verify(known, "hunter3", 7));
	assert_false(passwd_verify(known, "hunter", 6));
	assert_false(passwd_verify(NULL, "hunter2", 7));
	assert_false(passwd_verify("garbage", "hunter2", 7));

	static const char *const bad[] = {
		"",
		"pbkdf2-sha256",
		"pbkdf2-sha1$100000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
		"pbkdf2-sha256$99999$MDEyMzQ1Njc4OWFiY2RlZg==$"
		"+wwwi9gM/eAJl7udbNFuJKYu39MDjh1mH7qtv6nNiFw=",
		"pbkdf2-sha256$0100000$MDEyMzQ1Njc4OWFiY2RlZg==$"
		"+wwwi9gM/eAJl7udbNFuJKYu39MDjh1mH7qtv6nNiFw=",
		"pbkdf2-sha256$100000$MDEy$"
		"+wwwi9gM/eAJl7udbNFuJKYu39MDjh1mH7qtv6nNiFw=",
		"pbkdf2-sha256$100000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
		"pbkdf2-sha256$100000$MDEyMzQ1Njc4OWFiY2RlZg==$"
		"+wwwi9gM/eAJl7udbNFuJKYu39MDjh1mH7qtv6nNiFw=$",
		"pbkdf2-sha256$1e5$MDEyMzQ1Njc4OWFiY2RlZg==$"
		"+wwwi9gM/eAJl7udbNFuJKYu39MDjh1mH7qtv6nNiFw=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(passwd_hash_parse(&ph, bad[i], strlen(bad[i])),
				 PASSWD_ERR_FORMAT);

	/* new hashes: random salt, verify, two hashes differ */
	struct buf a, b;
	buf_init(&a, PASSWD_HASH_MAX);
	buf_init(&b, PASSWD_HASH_MAX);
	assert_int_equal(passwd_hash_new(&a, "s3cret", 6, 100000), 0);
	assert_int_equal(passwd_hash_new(&b, "s3cret", 6, 1), 0); /* clamped */
	assert_true(str_has_prefix(buf_str(&a), "pbkdf2-sha256$100000$"));
	assert_true(str_has_prefix(buf_str(&b), "pbkdf2-sha256$100000$"));
	assert_string_not_equal(buf_str(&a), buf_str(&b));
	assert_true(passwd_verify(buf_str(&a), "s3cret", 6));
	assert_false(passwd_verify(buf_str(&a), "s3creT", 6));
	buf_free(&a);
	buf_free(&b);
}

/* ---- the AUTH state machine ---- */

static void test_sasl_plain(void **state)
{
	(void)state;
	struct sasl_server s;
	const char *why;
	sasl_server_init(&s, SASL_OFFER_PLAIN | SASL_OFFER_LOGIN);

	/* initial response (RFC 4616 section 4 example) */
	const char *a = "PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm";
	assert_int_equal(sasl_server_start(&s, a, strlen(a)), SASL_DONE);
	assert_int_equal(s.mech, SASL_MECH_PLAIN);
	assert_string_equal(s.user, "tim");
	assert_string_equal(s.pass, "tanstaaftanstaaf");
	sasl_server_reset(&s);
	assert_int_equal(s.pass[0], 0);
	assert_int_equal(s.offer, SASL_OFFER_PLAIN | SASL_OFFER_LOGIN);

	/* authzid = authcid is fine; lower-case mechanism name */
	a = "plain dGltAHRpbQB0YW5zdGFhZnRhbnN0YWFm";
	assert_int_equal(sasl_server_start(&s, a, strlen(a)), SASL_DONE);
	assert_string_equal(s.user, "tim");
	/* another authzid: refused */
	a = "PLAIN S3VydAB0aW0AdGFuc3RhYWZ0YW5zdGFhZg==";
	assert_int_equal(sasl_server_start(&s, a, strlen(a)), SASL_ERR_AUTHZ);
	assert_string_equal(sasl_server_reply(&s, SASL_ERR_AUTHZ, &why),
			    "535 5.7.8 Error: authentication failed: "
			    "authorization failure");

	/* no initial response: "334 " then the message */
	assert_int_equal(sasl_server_start(&s, "PLAIN", 5), SASL_MORE);
	assert_string_equal(sasl_server_challenge(&s), "");
	const char *r = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";
	assert_int_equal(sasl_server_step(&s, r, strlen(r)), SASL_DONE);
	assert_string_equal(s.user, "tim");
	assert_int_equal(sasl_server_step(&s, r, strlen(r)), SASL_ERR_STATE);

	/* "*" cancels */
	assert_int_equal(sasl_server_start(&s, "PLAIN", 5), SASL_MORE);
	assert_int_equal(sasl_server_step(&s, "*", 1), SASL_ERR_CANCEL);
	assert_string_equal(sasl_server_reply(&s, SASL_ERR_CANCEL, &why),
			    "501 5.7.0 Authentication aborted");
	assert_null(why);

	/* bad base64, initial and continued */
	assert_int_equal(sasl_server_start(&s, "PLAIN !!!!", 10),
			 SASL_ERR_BASE64);
	assert_string_equal(sasl_server_reply(&s, SASL_ERR_BASE64, &why),
			    "535 5.7.8 Error: authentication failed: Invalid "
			    "base64 data in initial response");
	assert_int_equal(sasl_server_start(&s, "PLAIN", 5), SASL_MORE);
	assert_int_equal(sasl_server_step(&s, "A", 1), SASL_ERR_BASE64);
	why = NULL;
	sasl_server_reply(&s, SASL_ERR_BASE64, &why);
	assert_string_equal(why, "Invalid base64 data in continued response");

	/* malformed messages: one NUL, empty user, empty password, "=" */
	static const char *const badmsg[] = {
		"PLAIN dGltAHRhbnN0YWFm", /* tim\0tanstaaf */
		"PLAIN AAB0YW5zdGFhZg==", /* \0\0tanstaaf */
		"PLAIN AHRpbQA=",         /* \0tim\0 */
		"PLAIN =",
		"PLAIN AHRpbQB0YW4AenRhYWY=", /* \0tim\0tan\0ztaaf */
	};
	for (size_t i = 0; i < sizeof(badmsg) / sizeof(*badmsg); i++) {
		assert_int_equal(
			sasl_server_start(&s, badmsg[i], strlen(badmsg[i])),
			SASL_ERR_FORM);
		assert_int_equal(s.step, 0);
	}
	assert_string_equal(sasl_server_reply(&s, SASL_ERR_FORM, &why),
			    "535 5.7.8 Error: authentication failed: "
			    "authentication failure");
	assert_string_equal(why, "authentication failure");

	/* arguments and mechanisms */
	assert_int_equal(sasl_server_start(&s, "", 0), SASL_ERR_ARGS);
	assert_int_equal(sasl_server_start(&s, "PLAIN a b", 9), SASL_ERR_ARGS);
	assert_string_equal(sasl_server_reply(&s, SASL_ERR_ARGS, NULL),
			    "501 5.5.4 Syntax: AUTH mechanism");
	assert_int_equal(sasl_server_start(&s, "CRAM-MD5", 8), SASL_ERR_MECH);
	assert_int_equal(sasl_server_start(&s, "PLAINX", 6), SASL_ERR_MECH);
	sasl_server_init(&s, SASL_OFFER_LOGIN);
	assert_int_equal(sasl_server_start(&s, "PLAIN", 5), SASL_ERR_MECH);
	assert_string_equal(sasl_offer_list(SASL_OFFER_LOGIN), "LOGIN");
	assert_string_equal(
		sasl_offer_list(SASL_OFFER_LOGIN | SASL_OFFER_PLAIN),
		"PLAIN LOGIN");
}

static void test_sasl_login(void **state)
{
	(void)state;
	struct sasl_server s;
	sasl_server_init(&s, SASL_OFFER_PLAIN | SASL_OFFER_LOGIN);

	assert_int_equal(sasl_server_start(&s, "LOGIN", 5), SASL_MORE);
	assert_string_equal(sasl_server_challenge(&s), "VXNlcm5hbWU6");
	assert_int_equal(sasl_server_step(&s, "dGlt", 4), SASL_MORE);
	assert_string_equal(sasl_server_challenge(&s), "UGFzc3dvcmQ6");
	assert_int_equal(sasl_server_step(&s, "c2VjcmV0", 8), SASL_DONE);
	assert_string_equal(s.user, "tim");
	assert_string_equal(s.pass, "secret");
	assert_int_equal(s.mech, SASL_MECH_LOGIN);
	assert_string_equal(sasl_mech_name(s.mech), "LOGIN");
	sasl_server_reset(&s);

	/* user name as initial response */
	assert_int_equal(sasl_server_start(&s, "LOGIN dGlt", 10), SASL_MORE);
	assert_string_equal(sasl_server_challenge(&s), "UGFzc3dvcmQ6");
	assert_int_equal(sasl_server_step(&s, "*", 1), SASL_ERR_CANCEL);
	/* "=": empty initial response, then the user name is asked */
	assert_int_equal(sasl_server_start(&s, "LOGIN =", 7), SASL_MORE);
	assert_string_equal(sasl_server_challenge(&s), "VXNlcm5hbWU6");
	/* empty or NUL-bearing answers */
	assert_int_equal(sasl_server_step(&s, "", 0), SASL_ERR_FORM);
	assert_int_equal(sasl_server_start(&s, "LOGIN", 5), SASL_MORE);
	assert_int_equal(sasl_server_step(&s, "AHRpbQ==", 8), SASL_ERR_FORM);
	/* a field over 255 bytes */
	struct buf big;
	buf_init(&big, 1024);
	char raw[256];
	memset(raw, 'a', sizeof(raw));
	base64_encode(&big, raw, sizeof(raw));
	assert_int_equal(sasl_server_start(&s, "LOGIN", 5), SASL_MORE);
	assert_int_equal(sasl_server_step(&s, big.data, big.len),
			 SASL_ERR_FORM);
	buf_reset(&big);
	base64_encode(&big, raw, 255);
	assert_int_equal(sasl_server_start(&s, "LOGIN", 5), SASL_MORE);
	assert_int_equal(sasl_server_step(&s, big.data, big.len), SASL_MORE);
	assert_int_equal(s.user_len, 255);
	buf_free(&big);
}

/* ---- the worker: a real lmdb table, a real loop ---- */

static int got_result = -2, got_calls;

static void on_result(void *arg, int result)
{
	(void)arg;
	got_result = result;
	got_calls++;
}

static void test_worker(void **state)
{
	(void)state;
	char spec[256];
	struct dict *d;
	struct buf h;

	snprintf(spec, sizeof(spec), "lmdb:%s/users", test_tmpdir());
	assert_int_equal(dict_open(spec,
				   DICT_FLAG_FOLD | DICT_FLAG_WRITE |
					   DICT_FLAG_DUP_REPLACE,
				   &d, NULL),
			 DICT_OK);
	buf_init(&h, PASSWD_HASH_MAX);
	assert_int_equal(passwd_hash_new(&h, "pw", 2, 100000), 0);
	assert_int_equal(dict_set(d, "alice", buf_str(&h)), DICT_OK);
	assert_int_equal(dict_close(d, NULL), DICT_OK);
	buf_free(&h);

	struct loop *lp = loop_new();
	struct sasl_worker *w = sasl_worker_new(lp, spec);
	struct {
		const char *user, *pass;
		int want;
	} cases[] = {{"alice", "pw", 1},
		     {"ALICE", "pw", 1}, /* keys fold as Postfix */
		     {"alice", "pX", 0},
		     {"bob", "pw", 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		got_calls = 0;
		assert_non_null(sasl_worker_submit(
			w, cases[i].user, cases[i].pass, strlen(cases[i].pass),
			on_result, NULL));
		while (got_calls == 0)
			loop_run_once(lp, 5000);
		assert_int_equal(got_result, cases[i].want);
	}
	/* a cancelled job never calls back */
	got_calls = 0;
	struct sasl_job *j =
		sasl_worker_submit(w, "alice", "pw", 2, on_result, NULL);
	sasl_worker_cancel(w, j);
	struct sasl_job *j2 =
		sasl_worker_submit(w, "alice", "pX", 2, on_result, NULL);
	assert_non_null(j2);
	while (got_calls == 0)
		loop_run_once(lp, 5000);
	assert_int_equal(got_calls, 1);
	assert_int_equal(got_result, 0);
	sasl_worker_free(w);

	/* no database: a temporary failure, logged */
	w = sasl_worker_new(lp, "lmdb:/nonexistent/users");
	got_calls = 0;
	assert_non_null(sasl_worker_submit(w, "a", "b", 1, on_result, NULL));
	while (got_calls == 0)
		loop_run_once(lp, 5000);
	assert_int_equal(got_result, -1);
	sasl_worker_free(w);
	loop_free(lp);
}

/* ---- the client side ---- */

static void test_client_pieces(void **state)
{
	(void)state;
	struct smtp_reply r;
	struct smtp_ehlo e;
	static const char ehlo[] = "250-mx.example\r\n250-PIPELINING\r\n"
				   "250-AUTH CRAM-MD5 login\r\n"
				   "250-AUTH=PLAIN\r\n250 SIZE 100\r\n";
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_push(&r, ehlo, sizeof(ehlo) - 1),
			 sizeof(ehlo) - 1);
	smtp_reply_ehlo(&r, &e);
	assert_int_equal(e.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
	assert_true(e.ext & SMTP_EXT_PIPELINING);
	static const char noauth[] =
		"250-mx\r\n250-AUTHX PLAIN\r\n250 AUTH\r\n";
	smtp_reply_init(&r);
	smtp_reply_push(&r, noauth, sizeof(noauth) - 1);
	smtp_reply_ehlo(&r, &e);
	assert_int_equal(e.auth, 0);

	/* the choice: noplaintext leaves nothing; the filter narrows */
	unsigned both = SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN;
	assert_int_equal(smtp_sasl_choose(both, "noplaintext, noanonymous", ""),
			 0);
	assert_int_equal(smtp_sasl_choose(both, "noanonymous", ""),
			 SMTP_AUTH_PLAIN);
	assert_int_equal(smtp_sasl_choose(both, "", "login"), SMTP_AUTH_LOGIN);
	assert_int_equal(smtp_sasl_choose(SMTP_AUTH_LOGIN, "", "plain"), 0);

	/* PLAIN's initial response (RFC 4616 example) */
	struct smtp_sasl_cred c = {.user = "tim", .pass = "tanstaaftanstaaf"};
	struct buf b;
	buf_init(&b, 1024);
	smtp_sasl_plain(&b, &c);
	assert_string_equal(buf_str(&b),
			    "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	buf_free(&b);

	/* lookup order: [host]:port, [host], server name, domain */
	const char *f = test_write_file(
		"sasl_passwd", "[relay.example]:587 a:1\n[relay.example] b:2\n"
			       "mx1.relay.example c:3\nrelay.example d:4:x\n");
	char maps[300];
	snprintf(maps, sizeof(maps), "texthash:%s", f);
	assert_int_equal(smtp_sasl_lookup(maps, "relay.example", 1, 587,
					  "mx1.relay.example", &c),
			 1);
	assert_string_equal(c.user, "a");
	assert_int_equal(smtp_sasl_lookup(maps, "relay.example", 1, 25,
					  "mx1.relay.example", &c),
			 1);
	assert_string_equal(c.user, "b");
	assert_int_equal(smtp_sasl_lookup(maps, "relay.example", 0, 0,
					  "mx1.relay.example", &c),
			 1);
	assert_string_equal(c.user, "c");
	assert_int_equal(
		smtp_sasl_lookup(maps, "relay.example", 0, 0, "mx2.other", &c),
		1);
	assert_string_equal(c.user, "d");
	assert_string_equal(c.pass, "4:x"); /* split at the first ':' */
	assert_int_equal(
		smtp_sasl_lookup(maps, "other.example", 0, 0, "mx.other", &c),
		0);
	assert_int_equal(smtp_sasl_lookup("", "relay.example", 0, 0, "x", &c),
			 0);
	assert_int_equal(smtp_sasl_lookup("texthash:/nonexistent/x",
					  "relay.example", 0, 0, "x", &c),
			 -1);
	smtp_sasl_wipe(&c);
	assert_int_equal(c.pass[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_pbkdf2),
		cmocka_unit_test(test_passwd_hash),
		cmocka_unit_test(test_sasl_plain),
		cmocka_unit_test(test_sasl_login),
		cmocka_unit_test(test_worker),
		cmocka_unit_test(test_client_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
