/* settings - the settings schema, its validators and the template renderer.
 *
 * Host names follow RFC 1123 section 2.1 (labels of letters, digits and
 * hyphens, 63 bytes each, 253 in all); addresses are checked with
 * inet_pton(); an e-mail address is a dot-atom local part (RFC 5322 3.2.3)
 * without '$', '{' and '}', which main.cf would expand. Trusts nothing: the
 * input is what a browser or a file sent. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "conf/maincf.h"
#include "conf/settings.h"
#include "core/mem.h"

#define R   SETTINGS_F_REQUIRED
#define SYS SETTINGS_F_SYSTEM

/* The schema. Keep labels short and help texts plain: they are the form. */
const struct settings_field settings_fields[] = {
	{"hostname", SETTINGS_HOSTNAME, "", 0, 0, NULL, R, "Host name",
	 "The fully qualified name of this gateway, as other mail servers "
	 "see it in the greeting (for example mx.example.com).",
	 "myhostname"},
	{"domains", SETTINGS_DOMAINS, "", 0, 0, NULL, R, "Mail domains",
	 "The domains this gateway accepts mail for, separated by commas. "
	 "Mail for them is passed to the smarthost; mail for other domains "
	 "is refused unless it comes from a trusted network.",
	 "relay_domains"},
	{"smarthost_host", SETTINGS_HOST, "", 0, 0, NULL, R, "Smarthost",
	 "The internal mail server that receives the accepted mail: a host "
	 "name or an IPv4 address (no MX lookup is done).",
	 "relay_transport"},
	{"smarthost_port", SETTINGS_INT, "25", 1, 65535, NULL, R,
	 "Smarthost port", "The SMTP port of the smarthost, usually 25.",
	 "relay_transport"},
	{"smarthost_tls", SETTINGS_ENUM, "may", 0, 0,
	 "none may encrypt verify secure", R, "Smarthost TLS",
	 "none: never; may: when offered; encrypt: always, any "
	 "certificate; verify or secure: always, with a checked "
	 "certificate.",
	 "smtp_tls_security_level"},
	{"smarthost_user", SETTINGS_WORD, "", 0, 0, NULL, 0, "Smarthost login",
	 "Leave empty when the smarthost needs no login. A login needs "
	 "Smarthost TLS encrypt, verify or secure.",
	 "smtp_sasl_auth_enable, smtp_sasl_password_maps"},
	{"smarthost_password", SETTINGS_SECRET, "", 0, 0, NULL,
	 SETTINGS_F_SECRET, "Smarthost password",
	 "The password of the smarthost login (kept in a file only root "
	 "and the mail system read).",
	 "smarthost_passwd"},
	{"trusted_networks", SETTINGS_NETWORKS, "127.0.0.0/8, [::1]/128", 0, 0,
	 NULL, R, "Trusted networks",
	 "Networks whose clients may send mail to any domain through this "
	 "gateway (address/prefix, separated by commas). Keep it to your own "
	 "networks: anything else makes an open relay.",
	 "mynetworks"},
	{"message_size_mb", SETTINGS_INT, "25", 1, 1024, NULL, R,
	 "Message size limit (MB)",
	 "Larger messages are refused during the SMTP dialogue.",
	 "message_size_limit"},
	{"admin_email", SETTINGS_EMAIL, "", 0, 0, NULL, 0, "Admin address",
	 "Where the gateway sends notices about bounces and errors (empty: "
	 "postmaster).",
	 "bounce_notice_recipient, 2bounce_notice_recipient, "
	 "delay_notice_recipient, error_notice_recipient"},
	/* Deployment: set by the image or `make run`, not by the form. */
	{"smtp_listen", SETTINGS_LISTEN, "25", 0, 0, NULL, R | SYS,
	 "SMTP listener", "master.cf service name of the SMTP server.",
	 "master.cf smtpd service"},
	{"submission_listen", SETTINGS_LISTEN, "submission", 0, 0, NULL, SYS,
	 "Submission listener",
	 "master.cf service name of mail submission (port 587, STARTTLS "
	 "and SMTP AUTH required; empty: none).",
	 "master.cf submission service"},
	{"smtps_listen", SETTINGS_LISTEN, "submissions", 0, 0, NULL, SYS,
	 "Submissions listener",
	 "master.cf service name of mail submission over TLS (port 465, "
	 "SMTP AUTH required; empty: none).",
	 "master.cf submissions service"},
	{"inet_interfaces", SETTINGS_ADDRS, "all", 0, 0, NULL, R | SYS,
	 "Interfaces", "Addresses the gateway receives mail on.",
	 "inet_interfaces"},
	{"inet_protocols", SETTINGS_ENUM, "all", 0, 0, "all ipv4 ipv6", R | SYS,
	 "IP protocols", "Address families the gateway uses.",
	 "inet_protocols"},
	{"queue_directory", SETTINGS_PATH, "", 0, 0, NULL, SYS, "Queue",
	 "Spool directory (empty: the built-in default).", "queue_directory"},
	{"data_directory", SETTINGS_PATH, "", 0, 0, NULL, SYS, "Data",
	 "Data directory (empty: the built-in default).", "data_directory"},
	{"maillog_file", SETTINGS_PATH, "", 0, 0, NULL, SYS, "Log file",
	 "Log file (empty: syslog).", "maillog_file"},
	{"mail_owner", SETTINGS_WORD, "", 0, 0, NULL, SYS, "Mail owner",
	 "User the daemons run as (empty: the built-in default).",
	 "mail_owner"},
	{"webui_directory", SETTINGS_PATH, "", 0, 0, NULL, SYS, "Web UI state",
	 "Directory of the web UI (empty: the default).", "webui_directory"},
	{"webui_owner", SETTINGS_WORD, "", 0, 0, NULL, SYS, "Web UI user",
	 "User the web UI runs as (empty: none may use the control socket "
	 "but root).",
	 "webui_owner"},
};

#undef R
#undef SYS

const size_t settings_count =
	sizeof(settings_fields) / sizeof(settings_fields[0]);

/* ------------------------------------------------------------ table */

const struct settings_field *settings_field_find(const char *key, size_t len)
{
	for (size_t i = 0; i < settings_count; i++)
		if (strlen(settings_fields[i].key) == len &&
		    memcmp(settings_fields[i].key, key, len) == 0)
			return &settings_fields[i];
	return NULL;
}

size_t settings_index(const struct settings_field *f)
{
	return (size_t)(f - settings_fields);
}

void settings_init(struct settings *s)
{
	_Static_assert(sizeof(settings_fields) / sizeof(settings_fields[0]) <=
			       sizeof(s->value) / sizeof(s->value[0]),
		       "struct settings too small for the schema");
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < settings_count; i++)
		s->value[i] = mem_strdup(settings_fields[i].def);
}

void settings_free(struct settings *s)
{
	for (size_t i = 0; i < settings_count; i++) {
		mem_free(s->value[i]);
		s->value[i] = NULL;
	}
}

void settings_set(struct settings *s, const struct settings_field *f,
		  const char *v, size_t n)
{
	size_t i = settings_index(f);

	mem_free(s->value[i]);
	s->value[i] = mem_strndup(v, n);
}

const char *settings_get(const struct settings *s, const char *key)
{
	const struct settings_field *f = settings_field_find(key, strlen(key));

	return f ? s->value[settings_index(f)] : NULL;
}

/* ------------------------------------------------------------ file */

int settings_parse(struct settings *s, const char *text, size_t len,
		   struct buf *why)
{
	struct maincf_parser ps;
	struct maincf_entry e;
	struct buf scratch;
	unsigned char seen[sizeof(s->value) / sizeof(s->value[0])] = {0};
	int rc, errors = 0;

	if (len > SETTINGS_FILE_MAX) {
		buf_printf(why, "file longer than %d bytes", SETTINGS_FILE_MAX);
		return -1;
	}
	buf_init(&scratch, MAINCF_VALUE_MAX);
	maincf_init(&ps, text, len, &scratch);
	while ((rc = maincf_next(&ps, &e)) != MAINCF_END) {
		const struct settings_field *f;

		if (rc == MAINCF_WARNING)
			continue;
		if (rc < 0) {
			buf_printf(why, "line %u: ", ps.err.line);
			maincf_error_format(&ps.err, why);
			errors++;
			break;
		}
		f = settings_field_find(e.name, e.name_len);
		if (f == NULL) {
			buf_printf(why, "%sline %u: unknown setting \"%.*s\"",
				   errors ? "; " : "", e.line,
				   (int)(e.name_len > 64 ? 64 : e.name_len),
				   e.name);
			errors++;
			continue;
		}
		if (seen[settings_index(f)]++) {
			buf_printf(why, "%sline %u: %s is set twice",
				   errors ? "; " : "", e.line, f->key);
			errors++;
			continue;
		}
		settings_set(s, f, e.value, e.value_len);
	}
	buf_free(&scratch);
	return errors ? -1 : 0;
}

int settings_format(const struct settings *s, struct buf *out)
{
	buf_puts(out, "# mailgw settings (main.cf syntax). Written by the web "
		      "UI or by hand;\n# `mailgw config apply` renders "
		      "main.cf and master.cf from them.\n");
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_field *f = &settings_fields[i];

		if ((f->flags & SETTINGS_F_SYSTEM) &&
		    strcmp(s->value[i], f->def) == 0)
			continue;
		buf_printf(out, "\n# %s\n%s = %s\n", f->label, f->key,
			   s->value[i]);
	}
	return buf_error(out);
}

/* ------------------------------------------------------------ validators */

static int has_ctl(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 1;
	return 0;
}

/* A host or domain name: labels of [A-Za-z0-9-], not starting or ending
 * with '-'; at least two labels when fqdn; the last one not all digits. */
static int name_ok(const char *v, size_t n, int fqdn)
{
	size_t label = 0, labels = 1;
	int digits_only = 1;

	if (n == 0 || n > 253 || v[0] == '.' || v[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '.') {
			if (label == 0 || v[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
			digits_only = 1;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (!isdigit(c))
			digits_only = 0;
		if (++label > 63)
			return 0;
	}
	if (v[n - 1] == '-' || digits_only)
		return 0;
	return !fqdn || labels >= 2;
}

static int ipv4_ok(const char *v, size_t n)
{
	char tmp[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, v, n);
	tmp[n] = 0;
	return inet_pton(AF_INET, tmp, &a) == 1;
}

static void lower_into(struct buf *b, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_putc(b, tolower((unsigned char)v[i]));
}

/* One network: a.b.c.d[/len], v6[/len] or [v6][/len]; no host bits set. */
static int network_ok(const char *v, size_t n, struct buf *why,
		      struct buf *norm)
{
	char addr[64];
	unsigned char bytes[16];
	const char *slash = memchr(v, '/', n), *a = v;
	size_t alen = slash ? (size_t)(slash - v) : n;
	long bits = 0;
	int af, maxbits;

	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, a, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, bytes) == 1) {
		af = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, bytes) == 1) {
		af = AF_INET6;
		maxbits = 128;
	} else {
		goto bad;
	}
	if (slash) {
		const char *p = slash + 1, *end = v + n;

		if (p == end || end - p > 3)
			goto bad;
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				goto bad;
			bits = bits * 10 + (*p - '0');
		}
		if (bits > maxbits)
			goto bad;
	} else {
		bits = maxbits;
	}
	for (int i = 0; i < maxbits; i++)
		if (i >= bits && (bytes[i / 8] & (0x80 >> (i % 8)))) {
			buf_printf(why,
				   "\"%s/%ld\" has host bits set; did you mean "
				   "the network address?",
				   addr, bits);
			return -1;
		}
	if (norm) {
		char out[INET6_ADDRSTRLEN];

		inet_ntop(af, bytes, out, sizeof(out));
		if (af == AF_INET6)
			buf_printf(norm, "[%s]/%ld", out, bits);
		else
			buf_printf(norm, "%s/%ld", out, bits);
	}
	return 0;
bad:
	buf_printf(why, "\"%.*s\" is not an address or address/prefix",
		   (int)(n > 64 ? 64 : n), v);
	return -1;
}

/* Split a list at commas and blanks; call one() for each element. */
static int list_check(const char *v, size_t n, struct buf *why,
		      struct buf *norm,
		      int (*one)(const char *e, size_t len, struct buf *why,
				 struct buf *norm))
{
	size_t i = 0, count = 0;

	while (i < n) {
		size_t start;

		while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == n)
			break;
		start = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (++count > SETTINGS_LIST_MAX) {
			buf_printf(why, "more than %d entries",
				   SETTINGS_LIST_MAX);
			return -1;
		}
		if (norm && count > 1)
			buf_puts(norm, ", ");
		if (one(v + start, i - start, why, norm) < 0)
			return -1;
	}
	return 0;
}

static int domain_one(const char *e, size_t len, struct buf *why,
		      struct buf *norm)
{
	if (!name_ok(e, len, 0)) {
		buf_printf(why, "\"%.*s\" is not a domain name",
			   (int)(len > 64 ? 64 : len), e);
		return -1;
	}
	if (norm)
		lower_into(norm, e, len);
	return 0;
}

static int addr_one(const char *e, size_t len, struct buf *why,
		    struct buf *norm)
{
	char tmp[INET6_ADDRSTRLEN + 2];
	unsigned char b[16];

	if (len < sizeof(tmp)) {
		size_t off = len >= 2 && e[0] == '[' && e[len - 1] == ']';

		memcpy(tmp, e + off, len - 2 * off);
		tmp[len - 2 * off] = 0;
		if (inet_pton(AF_INET, tmp, b) == 1 ||
		    inet_pton(AF_INET6, tmp, b) == 1) {
			if (norm)
				buf_append(norm, e, len);
			return 0;
		}
	}
	buf_printf(why, "\"%.*s\" is not an IP address",
		   (int)(len > 64 ? 64 : len), e);
	return -1;
}

static int email_ok(const char *v, size_t n)
{
	const char *at = memrchr(v, '@', n);
	static const char atext[] = "!#%&'*+-/=?^_`|~.";

	if (at == NULL || at == v || n > 254)
		return 0;
	for (const char *p = v; p < at; p++)
		if (!isalnum((unsigned char)*p) && !strchr(atext, *p))
			return 0;
	if (v[0] == '.' || at[-1] == '.')
		return 0;
	for (const char *p = v; p + 1 < at; p++)
		if (p[0] == '.' && p[1] == '.')
			return 0;
	return name_ok(at + 1, (size_t)(v + n - at - 1), 0);
}

int settings_field_check(const struct settings_field *f, const char *v,
			 size_t n, struct buf *why, struct buf *norm)
{
	struct buf tmp;
	int rc = 0;

	/* Surrounding blanks are never part of a value (main.cf trims them). */
	while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	buf_init(&tmp, SETTINGS_VALUE_MAX * 2);
	if (n > SETTINGS_VALUE_MAX) {
		buf_printf(why, "longer than %d characters",
			   SETTINGS_VALUE_MAX);
		rc = -1;
		goto out;
	}
	if (has_ctl(v, n)) {
		buf_puts(why, "contains a control character");
		rc = -1;
		goto out;
	}
	if (n == 0) {
		if (f->flags & SETTINGS_F_REQUIRED) {
			buf_puts(why, "required");
			rc = -1;
		}
		goto out;
	}
	switch (f->type) {
	case SETTINGS_HOSTNAME:
		if (!name_ok(v, n, 1)) {
			buf_puts(why,
				 "not a fully qualified host name (letters, "
				 "digits and hyphens, with dots, such as "
				 "mx.example.com)");
			rc = -1;
		}
		lower_into(&tmp, v, n);
		break;
	case SETTINGS_HOST:
		if (ipv4_ok(v, n)) {
			buf_append(&tmp, v, n);
		} else if (name_ok(v, n, 0)) {
			lower_into(&tmp, v, n);
		} else {
			buf_puts(why, "not a host name or IPv4 address");
			rc = -1;
		}
		break;
	case SETTINGS_DOMAINS:
		rc = list_check(v, n, why, &tmp, domain_one);
		break;
	case SETTINGS_NETWORKS:
		rc = list_check(v, n, why, &tmp, network_ok);
		break;
	case SETTINGS_ADDRS:
		if ((n == 3 && memcmp(v, "all", 3) == 0) ||
		    (n == 13 && memcmp(v, "loopback-only", 13) == 0))
			buf_append(&tmp, v, n);
		else
			rc = list_check(v, n, why, &tmp, addr_one);
		break;
	case SETTINGS_INT: {
		long x = 0;

		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)v[i]) || x > f->max) {
				x = -1;
				break;
			}
			x = x * 10 + (v[i] - '0');
		}
		if (x < f->min || x > f->max) {
			buf_printf(why, "a whole number from %ld to %ld",
				   f->min, f->max);
			rc = -1;
		}
		buf_printf(&tmp, "%ld", x);
		break;
	}
	case SETTINGS_ENUM: {
		const char *c = f->choices;
		int found = 0;

		while (*c) {
			size_t w = strcspn(c, " ");

			if (w == n && memcmp(c, v, n) == 0)
				found = 1;
			c += w;
			c += *c == ' ';
		}
		if (!found) {
			buf_printf(why, "one of: %s", f->choices);
			rc = -1;
		}
		buf_append(&tmp, v, n);
		break;
	}
	case SETTINGS_EMAIL:
		if (!email_ok(v, n)) {
			buf_puts(why,
				 "not an e-mail address (name@example.com)");
			rc = -1;
		}
		buf_append(&tmp, v, n);
		break;
	case SETTINGS_WORD:
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)v[i] > 0x7e || v[i] == ' ' ||
			    v[i] == ':' || v[i] == '$' || v[i] == '{' ||
			    v[i] == '}' || v[i] == ',') {
				buf_puts(why, "letters, digits and punctuation "
					      "only (no blanks, ':', ',', '$', "
					      "'{' or '}')");
				rc = -1;
				break;
			}
		buf_append(&tmp, v, n);
		break;
	case SETTINGS_SECRET:
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)v[i] > 0x7e) {
				buf_puts(why,
					 "printable ASCII characters only");
				rc = -1;
				break;
			}
		buf_append(&tmp, v, n);
		break;
	case SETTINGS_PATH:
		if (v[0] != '/')
			rc = -1;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) &&
			    !strchr("._/-", v[i]))
				rc = -1;
		if (rc < 0)
			buf_puts(why, "an absolute path of letters, digits, "
				      "'.', '_', '-' and '/'");
		buf_append(&tmp, v, n);
		break;
	case SETTINGS_LISTEN: {
		static const char *const names[] = {"smtp", "submission",
						     "smtps", "submissions"};
		const char *colon = memrchr(v, ':', n);
		const char *port = colon ? colon + 1 : v;
		size_t plen = (size_t)(v + n - port);
		long x = 0;

		for (size_t i = 0; i < plen && x <= 65535; i++)
			x = isdigit((unsigned char)port[i])
				    ? x * 10 + (port[i] - '0')
				    : 65536;
		/* master.cf's service names (master/endpoint.h) */
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (plen == strlen(names[i]) &&
			    memcmp(port, names[i], plen) == 0)
				x = 1;
		if (plen == 0 || x < 1 || x > 65535 ||
		    (colon && !ipv4_ok(v, (size_t)(colon - v)) &&
		     !name_ok(v, (size_t)(colon - v), 0))) {
			buf_puts(why, "a port or service name, or IPv4 "
				      "address:port");
			rc = -1;
		}
		buf_append(&tmp, v, n);
		break;
	}
	}
	if (rc == 0 && buf_len(&tmp) == 0 && (f->flags & SETTINGS_F_REQUIRED)) {
		buf_puts(why, "required"); /* a list of only separators */
		rc = -1;
	}
out:
	if (norm && rc == 0) {
		buf_reset(norm);
		buf_append(norm, buf_str(&tmp), buf_len(&tmp));
	}
	buf_free(&tmp);
	return rc;
}

int settings_check(const struct settings *s,
		   void (*err_fn)(void *arg, const struct settings_field *f,
				  const char *text),
		   void *arg)
{
	struct buf why;
	int errors = 0;
	const struct settings_field *user, *pass;

	buf_init(&why, 1024);
	for (size_t i = 0; i < settings_count; i++) {
		buf_reset(&why);
		if (settings_field_check(&settings_fields[i], s->value[i],
					 strlen(s->value[i]), &why, NULL) < 0) {
			errors++;
			if (err_fn)
				err_fn(arg, &settings_fields[i], buf_str(&why));
		}
	}
	user = settings_field_find("smarthost_user", 14);
	pass = settings_field_find("smarthost_password", 18);
	if (*s->value[settings_index(user)] &&
	    !*s->value[settings_index(pass)]) {
		errors++;
		if (err_fn)
			err_fn(arg, pass, "required with a smarthost login");
	}
	/* A password never travels in the clear (Postfix's noplaintext). */
	if (*s->value[settings_index(user)]) {
		const char *tls = s->value[settings_index(
			settings_field_find("smarthost_tls", 13))];

		if (strcmp(tls, "none") == 0 || strcmp(tls, "may") == 0) {
			errors++;
			if (err_fn)
				err_fn(arg, user,
				       "a login needs Smarthost TLS encrypt, "
				       "verify or secure");
		}
	}
	buf_free(&why);
	return errors;
}

void settings_normalize(struct settings *s)
{
	struct buf why, norm;

	buf_init(&why, 1024);
	buf_init(&norm, SETTINGS_VALUE_MAX * 2);
	for (size_t i = 0; i < settings_count; i++) {
		buf_reset(&why);
		if (settings_field_check(&settings_fields[i], s->value[i],
					 strlen(s->value[i]), &why, &norm) == 0)
			settings_set(s, &settings_fields[i], buf_str(&norm),
				     buf_len(&norm));
	}
	buf_free(&why);
	buf_free(&norm);
}

/* ------------------------------------------------------------ render */

const char *settings_value(const struct settings *s, const char *name,
			   size_t len, struct buf *scratch)
{
	const struct settings_field *f = settings_field_find(name, len);

	if (f)
		return s->value[settings_index(f)];
	buf_reset(scratch);
	if (len == 17 && memcmp(name, "smarthost_nexthop", 17) == 0) {
		buf_printf(scratch, "[%s]:%s",
			   settings_get(s, "smarthost_host"),
			   settings_get(s, "smarthost_port"));
	} else if (len == 18 && memcmp(name, "message_size_bytes", 18) == 0) {
		long mb = 0;

		for (const char *p = settings_get(s, "message_size_mb");
		     *p >= '0' && *p <= '9' && mb < 100000; p++)
			mb = mb * 10 + (*p - '0');
		buf_printf(scratch, "%ld", mb * 1024 * 1024);
	} else if (len == 15 && memcmp(name, "smarthost_login", 15) == 0) {
		if (*settings_get(s, "smarthost_user"))
			buf_printf(scratch, "%s:%s",
				   settings_get(s, "smarthost_user"),
				   settings_get(s, "smarthost_password"));
	} else {
		return NULL;
	}
	return buf_error(scratch) ? NULL : buf_str(scratch);
}

/* A directive line "@if key", "@else", "@endif": 1 and its parts, or 0. */
static int directive(const char *line, size_t n, const char **word,
		     size_t *wlen, const char **arg, size_t *alen)
{
	size_t i = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i + 1 >= n || line[i] != '@' ||
	    !isalpha((unsigned char)line[i + 1]))
		return 0;
	*word = line + i + 1;
	for (i++; i < n && isalpha((unsigned char)line[i]); i++)
		;
	*wlen = (size_t)(line + i - *word);
	if (memchr(line + i, '@', n - i))
		return 0; /* "@key@ ..." is a substitution, not a directive */
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	*arg = line + i;
	while (n > i && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			 line[n - 1] == '\r'))
		n--;
	*alen = n - i;
	return 1;
}

int settings_render(const struct settings *s, const char *tpl, size_t len,
		    struct buf *out, struct buf *why)
{
	struct buf scratch;
	int keep[SETTINGS_IF_DEPTH + 1], depth = 0, rc = 0;
	unsigned lineno = 0;
	size_t off = 0;

	buf_init(&scratch, SETTINGS_VALUE_MAX * 2);
	keep[0] = 1;
	while (off < len && rc == 0) {
		const char *line = tpl + off,
			   *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		const char *word, *arg;
		size_t wlen, alen;

		off += n + (nl != NULL);
		lineno++;
		if (directive(line, n, &word, &wlen, &arg, &alen)) {
			if (wlen == 2 && memcmp(word, "if", 2) == 0) {
				const char *v;

				if (depth == SETTINGS_IF_DEPTH) {
					buf_printf(why,
						   "line %u: @if nested "
						   "too deep",
						   lineno);
					rc = -1;
					break;
				}
				v = settings_value(s, arg, alen, &scratch);
				if (v == NULL) {
					buf_printf(why,
						   "line %u: unknown name "
						   "\"%.*s\"",
						   lineno,
						   (int)(alen > 64 ? 64 : alen),
						   arg);
					rc = -1;
					break;
				}
				depth++;
				keep[depth] = keep[depth - 1] && *v;
			} else if (wlen == 4 && memcmp(word, "else", 4) == 0 &&
				   depth > 0) {
				keep[depth] = keep[depth - 1] && !keep[depth];
			} else if (wlen == 5 && memcmp(word, "endif", 5) == 0 &&
				   depth > 0) {
				depth--;
			} else {
				buf_printf(why,
					   "line %u: unknown or misplaced "
					   "directive \"@%.*s\"",
					   lineno, (int)(wlen > 64 ? 64 : wlen),
					   word);
				rc = -1;
			}
			continue;
		}
		if (!keep[depth])
			continue;
		for (size_t i = 0; i < n && rc == 0; i++) {
			const char *end, *v;

			if (line[i] != '@') {
				buf_putc(out, line[i]);
				continue;
			}
			end = memchr(line + i + 1, '@', n - i - 1);
			if (end == NULL) {
				buf_printf(why,
					   "line %u: '@' without its "
					   "closing '@' (write @@ for '@')",
					   lineno);
				rc = -1;
				break;
			}
			if (end == line + i + 1) {
				buf_putc(out, '@');
				i++;
				continue;
			}
			v = settings_value(s, line + i + 1,
					   (size_t)(end - line - i - 1),
					   &scratch);
			if (v == NULL) {
				buf_printf(why,
					   "line %u: unknown name "
					   "\"%.*s\"",
					   lineno,
					   (int)(end - line - i - 1 > 64
							 ? 64
							 : end - line - i - 1),
					   line + i + 1);
				rc = -1;
				break;
			}
			if (has_ctl(v, strlen(v))) {
				buf_printf(why,
					   "line %u: the value of %.*s "
					   "holds a control character",
					   lineno, (int)(end - line - i - 1),
					   line + i + 1);
				rc = -1;
				break;
			}
			buf_puts(out, v);
			i = (size_t)(end - line);
		}
		if (nl)
			buf_putc(out, '\n');
		if (buf_len(out) > SETTINGS_OUTPUT_MAX || buf_error(out)) {
			buf_printf(why, "line %u: output too long", lineno);
			rc = -1;
		}
	}
	if (rc == 0 && depth != 0) {
		buf_puts(why, "@if without @endif at the end of the template");
		rc = -1;
	}
	buf_free(&scratch);
	return rc;
}
