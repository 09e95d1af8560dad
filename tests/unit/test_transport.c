/* test_transport - transports from a real master.cf: kinds, maxproc,
 * -o overrides with expansion, built-ins, reload failures. */
#include "testutil.h"

#include <sys/stat.h>

#include "conf/conf.h"
#include "deliver/deliver.h"

static char dir[256];

static const char *master_cf =
	"smtp      inet  n       -       n       -       -       smtpd\n"
	"smtp      unix  -       -       n       -       -       smtp\n"
	"relay     unix  -       -       n       -       5       smtp\n"
	"        -o syslog_name=postfix/$service_name\n"
	"        -o smtp_helo_timeout=7s\n"
	"fast      unix  -       -       n       -       3       smtp\n"
	"  -o smtp_connect_timeout=$fast_to -o smtp_mail_timeout=soon\n"
	"  -o smtp_helo_timeout=1m -o smtp_helo_timeout=2m\n"
	"lmtp      unix  -       -       n       -       0       lmtp\n"
	"retry     unix  -       -       n       -       -       error\n"
	"cleanup   unix  n       -       n       -       0       cleanup\n"
	"pickup    unix  n       -       n       60      1       pickup\n";

static void test_master_cf(void **state)
{
	const struct transport *tp;

	(void)state;
	test_write_file("main.cf",
			"default_process_limit = 42\nfast_to = 9s\n");
	test_write_file("master.cf", master_cf);
	assert_int_equal(conf_load(dir), 0);
	assert_int_equal(transport_load(), 0);

	tp = transport_find("smtp");
	assert_non_null(tp);
	assert_int_equal(tp->kind, TRANSPORT_SMTP);
	assert_int_equal(tp->maxproc, 42); /* "-": default_process_limit */
	assert_int_equal(tp->noverrides, 0);
	assert_int_equal(transport_get_time(tp, "smtp_helo_timeout"), 300);

	tp = transport_find("relay");
	assert_non_null(tp);
	assert_int_equal(tp->maxproc, 5);
	assert_int_equal(tp->noverrides, 2);
	assert_string_equal(tp->overrides[1], "smtp_helo_timeout=7s");
	assert_string_equal(transport_get(tp, "syslog_name"), "postfix/relay");
	assert_int_equal(transport_get_time(tp, "smtp_helo_timeout"), 7);
	/* Not overridden: main.cf's value. */
	assert_int_equal(transport_get_time(tp, "smtp_mail_timeout"), 300);
	assert_string_equal(transport_get(tp, "myhostname"),
			    conf_get("myhostname"));

	tp = transport_find("fast");
	assert_non_null(tp);
	assert_int_equal(tp->maxproc, 3);
	assert_int_equal(transport_get_time(tp, "smtp_connect_timeout"), 9);
	/* The last -o of a name wins. */
	assert_int_equal(transport_get_time(tp, "smtp_helo_timeout"), 120);
	/* A bad value: a warning, then the main.cf value. */
	test_log_capture();
	assert_int_equal(transport_get_time(tp, "smtp_mail_timeout"), 300);
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "bad -o smtp_mail_timeout=soon"));

	tp = transport_find("lmtp");
	assert_non_null(tp);
	assert_int_equal(tp->kind, TRANSPORT_LMTP);
	assert_int_equal(tp->maxproc, 0); /* 0: unlimited */
	tp = transport_find("retry");
	assert_non_null(tp);
	assert_int_equal(tp->kind, TRANSPORT_ERROR);

	/* Built-ins. */
	assert_int_equal(transport_find("error")->kind, TRANSPORT_ERROR);
	assert_int_equal(transport_find("discard")->kind, TRANSPORT_DISCARD);
	assert_int_equal(transport_find("hold")->kind, TRANSPORT_HOLD);
	assert_int_equal(transport_find("local")->kind, TRANSPORT_LOCAL);
	/* Not transports. */
	assert_null(transport_find("cleanup"));
	assert_null(transport_find("pickup"));
	assert_null(transport_find("nosuch"));
	/* NULL transport: main.cf. */
	assert_int_equal(transport_get_int(NULL, "default_process_limit"), 42);
}

static void test_defaults_without_lines(void **state)
{
	const struct transport *old, *tp;

	(void)state;
	test_write_file("main.cf", "");
	test_write_file(
		"master.cf",
		"other     unix  -       -       n       -       7       "
		"smtp\n");
	assert_int_equal(conf_load(dir), 0);
	old = transport_find("relay");
	assert_int_equal(transport_load(), 0);
	tp = transport_find("smtp");
	assert_non_null(tp);
	assert_int_equal(tp->kind, TRANSPORT_SMTP);
	assert_int_equal(tp->maxproc, 100); /* Postfix's default */
	tp = transport_find("relay");
	assert_non_null(tp);
	assert_int_equal(tp->noverrides, 0);
	assert_int_equal(transport_find("other")->maxproc, 7);
	/* lmtp too, as in Postfix's stock master.cf. */
	tp = transport_find("lmtp");
	assert_non_null(tp);
	assert_int_equal(tp->kind, TRANSPORT_LMTP);
	assert_int_equal(tp->maxproc, 100);
	/* The replaced table stays valid for routes still holding it. */
	assert_non_null(old);
	assert_string_equal(old->name, "relay");
	assert_int_equal(old->noverrides, 2);
}

static void test_broken_master_cf(void **state)
{
	(void)state;
	test_write_file("master.cf", "broken unix - - n\n");
	test_log_capture();
	assert_int_equal(transport_load(), -1);
	log_set_sink(NULL, NULL);
	/* The old table is kept. */
	assert_int_equal(transport_find("other")->maxproc, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_master_cf),
		cmocka_unit_test(test_defaults_without_lines),
		cmocka_unit_test(test_broken_master_cf),
	};
	int rc;

	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_cleanup_tmpdir();
	return rc;
}
