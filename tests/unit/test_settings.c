/* test_settings - the settings schema, its validators, the settings file
 * parser and the template renderer (gateway/conf/settings.h). */
#include "testutil.h"

#include "conf/settings.h"

static int check(const char *key, const char *v, char *why, size_t size,
		 char *norm, size_t nsize)
{
	const struct settings_field *f = settings_field_find(key, strlen(key));
	struct buf w, n;
	int rc;

	assert_non_null(f);
	buf_init(&w, 1024);
	buf_init(&n, 4096);
	rc = settings_field_check(f, v, strlen(v), &w, &n);
	if (why)
		snprintf(why, size, "%s", buf_str(&w));
	if (norm)
		snprintf(norm, nsize, "%s", buf_str(&n));
	buf_free(&w);
	buf_free(&n);
	return rc;
}

static void test_validators(void **state)
{
	char why[1024], norm[4096];

	(void)state;
	assert_int_equal(check("hostname", "MX.Example.com", why, sizeof(why),
			       norm, sizeof(norm)),
			 0);
	assert_string_equal(norm, "mx.example.com");
	assert_int_equal(
		check("hostname", "localhost", why, sizeof(why), NULL, 0), -1);
	assert_non_null(strstr(why, "not a fully qualified host name"));
	assert_int_equal(
		check("hostname", "-a.example", why, sizeof(why), NULL, 0), -1);
	assert_int_equal(check("hostname", "a.123", why, sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(check("hostname", "a..b", why, sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(
		check("hostname", "a.b\nc = d", why, sizeof(why), NULL, 0), -1);
	assert_string_equal(why, "contains a control character");
	assert_int_equal(check("hostname", "", why, sizeof(why), NULL, 0), -1);
	assert_string_equal(why, "required");
	assert_int_equal(check("domains", "a.test,B.test  c", why, sizeof(why),
			       norm, sizeof(norm)),
			 0);
	assert_string_equal(norm, "a.test, b.test, c");
	assert_int_equal(
		check("domains", "a.test, $x", why, sizeof(why), NULL, 0), -1);
	assert_string_equal(why, "\"$x\" is not a domain name");
	assert_int_equal(check("trusted_networks", "10.0.0.0/8 ::1 [fe80::]/10",
			       why, sizeof(why), norm, sizeof(norm)),
			 0);
	assert_string_equal(norm, "10.0.0.0/8, [::1]/128, [fe80::]/10");
	assert_int_equal(check("trusted_networks", "10.0.0.1/8", why,
			       sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(check("trusted_networks", "10.0.0.0/33", why,
			       sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(check("trusted_networks", "10.0.0.0/", why,
			       sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(
		check("smarthost_port", "65535", why, sizeof(why), NULL, 0), 0);
	assert_int_equal(
		check("smarthost_port", "65536", why, sizeof(why), NULL, 0),
		-1);
	assert_string_equal(why, "a whole number from 1 to 65535");
	assert_int_equal(check("smarthost_port", "99999999999999999999999", why,
			       sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(
		check("smarthost_tls", "verify", why, sizeof(why), NULL, 0), 0);
	assert_int_equal(
		check("smarthost_tls", "ver", why, sizeof(why), NULL, 0), -1);
	assert_int_equal(
		check("smarthost_host", "10.1.2.3", why, sizeof(why), NULL, 0),
		0);
	assert_int_equal(check("smarthost_host", "[10.1.2.3]", why, sizeof(why),
			       NULL, 0),
			 -1);
	assert_int_equal(check("admin_email", "ops+gw@example.com", why,
			       sizeof(why), NULL, 0),
			 0);
	assert_int_equal(check("admin_email", "a$b@example.com", why,
			       sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(check("admin_email", "", why, sizeof(why), NULL, 0),
			 0);
	assert_int_equal(
		check("smarthost_user", "a:b", why, sizeof(why), NULL, 0), -1);
	assert_int_equal(check("smtp_listen", "127.0.0.1:2525", why,
			       sizeof(why), NULL, 0),
			 0);
	assert_int_equal(
		check("smtp_listen", "2525x", why, sizeof(why), NULL, 0), -1);
	assert_int_equal(check("submission_listen", "submission", why,
			       sizeof(why), NULL, 0),
			 0);
	assert_int_equal(check("smtps_listen", "127.0.0.1:submissions", why,
			       sizeof(why), NULL, 0),
			 0);
	assert_int_equal(check("smtps_listen", "", why, sizeof(why), NULL, 0),
			 0);
	assert_int_equal(check("smtps_listen", "submissionsx", why,
			       sizeof(why), NULL, 0),
			 -1);
	assert_int_equal(
		check("queue_directory", "relative", why, sizeof(why), NULL, 0),
		-1);
}

static void test_parse_and_check(void **state)
{
	static const char text[] = "# comment\nhostname = gw.example.test\n"
				   "domains = example.test,\n  example.org\n"
				   "smarthost_host = relay.example.test\n";
	struct settings s;
	struct buf why;

	(void)state;
	buf_init(&why, 4096);
	settings_init(&s);
	assert_string_equal(settings_get(&s, "smarthost_port"), "25");
	assert_int_equal(settings_parse(&s, text, strlen(text), &why), 0);
	assert_string_equal(settings_get(&s, "domains"),
			    "example.test,  example.org");
	assert_int_equal(settings_check(&s, NULL, NULL), 0);
	settings_normalize(&s);
	assert_string_equal(settings_get(&s, "domains"),
			    "example.test, example.org");
	assert_int_equal(
		settings_parse(&s, "nope = 1\nhostname = x.y\n", 23, &why), -1);
	assert_string_equal(buf_str(&why), "line 1: unknown setting \"nope\"");
	buf_reset(&why);
	assert_int_equal(
		settings_parse(&s, "hostname=a.b\nhostname=c.d\n", 26, &why),
		-1);
	assert_string_equal(buf_str(&why), "line 2: hostname is set twice");
	settings_set(&s, settings_field_find("smarthost_user", 14), "u", 1);
	assert_int_equal(settings_check(&s, NULL, NULL), 2); /* password, TLS */
	/* The file format reads back to the same values. */
	settings_set(&s, settings_field_find("smarthost_password", 18), "p w",
		     3);
	buf_reset(&why);
	{
		struct settings t;
		struct buf out;

		buf_init(&out, 65536);
		assert_int_equal(settings_format(&s, &out), 0);
		settings_init(&t);
		assert_int_equal(
			settings_parse(&t, buf_str(&out), buf_len(&out), &why),
			0);
		for (size_t i = 0; i < settings_count; i++)
			assert_string_equal(s.value[i], t.value[i]);
		settings_free(&t);
		buf_free(&out);
	}
	settings_free(&s);
	buf_free(&why);
}

static int render(const struct settings *s, const char *tpl, char *out,
		  size_t size)
{
	struct buf o, why;
	int rc;

	buf_init(&o, SETTINGS_OUTPUT_MAX + 1);
	buf_init(&why, 1024);
	rc = settings_render(s, tpl, strlen(tpl), &o, &why);
	snprintf(out, size, "%s", rc == 0 ? buf_str(&o) : buf_str(&why));
	buf_free(&o);
	buf_free(&why);
	return rc;
}

static void test_render(void **state)
{
	struct settings s;
	char out[4096];

	(void)state;
	settings_init(&s);
	settings_set(&s, settings_field_find("smarthost_host", 14), "10.0.0.5",
		     8);
	assert_int_equal(
		render(&s, "a = @smarthost_nexthop@ @@x\n", out, sizeof(out)),
		0);
	assert_string_equal(out, "a = [10.0.0.5]:25 @x\n");
	assert_int_equal(
		render(&s, "m = @message_size_bytes@", out, sizeof(out)), 0);
	assert_string_equal(out, "m = 26214400");
	assert_int_equal(render(&s,
				"@if smarthost_user\nyes\n@else\nno\n@endif\n"
				"  @if smarthost_host\n  in\n  @endif\n",
				out, sizeof(out)),
			 0);
	assert_string_equal(out, "no\n  in\n");
	assert_int_equal(render(&s, "x\n@if hostname\n", out, sizeof(out)), -1);
	assert_string_equal(out, "@if without @endif at the end of the "
				 "template");
	assert_int_equal(render(&s, "x = @nope@\n", out, sizeof(out)), -1);
	assert_string_equal(out, "line 1: unknown name \"nope\"");
	assert_int_equal(render(&s, "x = a@b\n", out, sizeof(out)), -1);
	assert_int_equal(render(&s, "@bogus\n", out, sizeof(out)), -1);
	/* A value with a newline never reaches the output. */
	settings_set(&s, settings_field_find("hostname", 8), "a\nb = c", 7);
	assert_int_equal(render(&s, "h = @hostname@\n", out, sizeof(out)), -1);
	assert_non_null(strstr(out, "control character"));
	settings_free(&s);
}

static void test_builtin_templates(void **state)
{
	struct settings s;
	struct buf o, why;
	static const char text[] = "hostname = gw.example.test\n"
				   "domains = example.test\n"
				   "smarthost_host = 10.0.0.5\n";

	(void)state;
	settings_init(&s);
	buf_init(&o, SETTINGS_OUTPUT_MAX + 1);
	buf_init(&why, 1024);
	assert_int_equal(settings_parse(&s, text, strlen(text), &why), 0);
	assert_int_equal(settings_render(&s, settings_template("main.cf"),
					 strlen(settings_template("main.cf")),
					 &o, &why),
			 0);
	assert_non_null(strstr(
		buf_str(&o), "\nsmtpd_relay_restrictions = permit_mynetworks, "
			     "reject_unauth_destination\n"));
	assert_non_null(
		strstr(buf_str(&o), "\nrelay_domains = example.test\n"));
	assert_null(strstr(buf_str(&o), "smtp_sasl_auth_enable"));
	assert_null(strstr(buf_str(&o), "@"));
	buf_reset(&o);
	assert_int_equal(settings_render(&s, settings_template("master.cf"),
					 strlen(settings_template("master.cf")),
					 &o, &why),
			 0);
	assert_non_null(strstr(buf_str(&o), "\n25 inet"));
	assert_non_null(strstr(buf_str(&o), "\nsubmission inet"));
	assert_non_null(strstr(buf_str(&o), "\nsubmissions inet"));
	assert_null(settings_template("nope"));
	buf_free(&o);
	buf_free(&why);
	settings_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_parse_and_check),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_builtin_templates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
