/* restrict - the smtpd access restriction engine (see restrict.h). */
#include "smtpd/restrict.h"

#include <arpa/inet.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "dict/dict.h"

#define MAX_ITEMS 256 /* restriction names per stage, entries per list */

struct cidr {
	int family;
	unsigned char addr[16];
	unsigned bits;
};

/* A domain list (mydestination, relay_domains...): patterns and tables. */
struct dlist {
	char **pat;
	size_t npat;
	struct dict **tab;
	size_t ntab;
	int pdms; /* parent_domain_matches_subdomains names this list */
};

/* A list of networks (mynetworks and the lists that default to it). */
struct netlist {
	struct cidr *nets;
	size_t nnets;
};

struct restrict_cfg {
	char **stage[RESTRICT_NSTAGES];
	size_t nstage[RESTRICT_NSTAGES];
	struct netlist mynet, limit_exempt, bare_exempt;
	struct dlist mydest, relay, flush;
	struct dict **rcpt_maps;
	size_t nrcpt_maps;
	int relay_code;
	int reject_unlisted; /* smtpd_reject_unlisted_recipient */
};

static const char *const stage_param[RESTRICT_NSTAGES] = {
	"smtpd_client_restrictions",      "smtpd_helo_restrictions",
	"smtpd_sender_restrictions",      "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions",   "smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions",
};

const char *restrict_stage_param(enum restrict_stage stage)
{
	return (unsigned)stage < RESTRICT_NSTAGES ? stage_param[stage] : "";
}

/* Split a list value at commas and white space. */
static size_t split(const char *v, char ***out)
{
	char *copy = mem_strdup(v != NULL ? v : "");
	char *cur = copy, *tok;
	char **items = mem_zalloc(MAX_ITEMS * sizeof(*items));
	size_t n = 0;

	while ((tok = str_token(&cur, ", \t\r\n")) != NULL && n < MAX_ITEMS)
		items[n++] = mem_strdup(tok);
	mem_free(copy);
	*out = items;
	return n;
}

static void free_items(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mem_free(items[i]);
	mem_free(items);
}

int restrict_cidr_parse(const char *s, size_t n, int *family,
			unsigned char addr[16], unsigned *bits)
{
	char tmp[64];
	const char *end = s + n;
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n;
	long b = -1;

	if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']') {
		s++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, tmp, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, addr) == 1)
		*family = AF_INET6;
	else
		return -1;
	unsigned max = *family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		const char *bp = slash + 1;
		size_t bl = (size_t)(end - bp);
		if (bl == 0 || bl > 3)
			return -1;
		b = 0;
		for (size_t i = 0; i < bl; i++) {
			if (bp[i] < '0' || bp[i] > '9')
				return -1;
			b = b * 10 + (bp[i] - '0');
		}
		if ((unsigned long)b > max)
			return -1;
	}
	*bits = b < 0 ? max : (unsigned)b;
	return 0;
}

static int cidr_match(const struct cidr *c, int family, const unsigned char *a)
{
	if (c->family != family)
		return 0;
	unsigned full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (a[full] & mask);
}

static void open_tables(const char *spec, struct dict ***tabs, size_t *n)
{
	struct buf err;

	buf_init(&err, 4096);
	*tabs = mem_zalloc(MAX_ITEMS * sizeof(**tabs));
	*n = 0;
	if (dict_type_known(spec) || strchr(spec, ':') != NULL) {
		if (dict_open(spec, DICT_FLAG_FOLD, &(*tabs)[*n], &err) ==
		    DICT_OK)
			(*n)++;
		else
			msg_warn("table %s: %s", spec, buf_str(&err));
	}
	buf_free(&err);
}

static int pdms_has(const char *param)
{
	char **items;
	size_t n = split(conf_get("parent_domain_matches_subdomains"), &items);
	int found = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i], param) == 0)
			found = 1;
	free_items(items, n);
	return found;
}

static void dlist_init(struct dlist *l, const char *param, const char *value)
{
	char **items;
	size_t n = split(value, &items);

	memset(l, 0, sizeof(*l));
	l->pdms = pdms_has(param);
	l->pat = mem_zalloc(MAX_ITEMS * sizeof(*l->pat));
	l->tab = mem_zalloc(MAX_ITEMS * sizeof(*l->tab));
	for (size_t i = 0; i < n; i++) {
		if (items[i][0] == '/' || items[i][0] == '!') {
			msg_warn("%s: %s: file and negated entries are not "
				 "supported yet; ignored",
				 param, items[i]);
		} else if (strchr(items[i], ':') != NULL) {
			struct buf err;
			buf_init(&err, 4096);
			if (dict_open(items[i], DICT_FLAG_FOLD,
				      &l->tab[l->ntab], &err) == DICT_OK)
				l->ntab++;
			else
				msg_warn("%s: %s", param, buf_str(&err));
			buf_free(&err);
		} else {
			l->pat[l->npat++] = str_lower(mem_strdup(items[i]));
		}
	}
	free_items(items, n);
}

static void dlist_free(struct dlist *l)
{
	free_items(l->pat, l->npat);
	for (size_t i = 0; i < l->ntab; i++)
		dict_discard(l->tab[i]);
	mem_free(l->tab);
}

/* Postfix match_list semantics for domains: "example.com" matches
 * itself, and its subdomains when the list is in
 * parent_domain_matches_subdomains; ".example.com" matches subdomains. */
static int dlist_match(const struct dlist *l, const char *domain)
{
	char d[256];
	size_t n = strlen(domain);

	if (n == 0 || n >= sizeof(d))
		return 0;
	memcpy(d, domain, n + 1);
	str_lower(d);
	if (d[n - 1] == '.')
		d[--n] = 0;
	for (size_t i = 0; i < l->npat; i++) {
		const char *p = l->pat[i];
		size_t pn = strlen(p);
		if (strcmp(p, d) == 0)
			return 1;
		if (p[0] == '.' && n > pn && strcmp(d + n - pn, p) == 0)
			return 1;
		if (l->pdms && n > pn + 1 && d[n - pn - 1] == '.' &&
		    strcmp(d + n - pn, p) == 0)
			return 1;
	}
	for (size_t i = 0; i < l->ntab; i++) {
		const char *v;
		if (dict_get(l->tab[i], d, &v) == DICT_OK)
			return 1;
		for (const char *dot = strchr(d, '.'); dot != NULL;
		     dot = strchr(dot + 1, '.')) {
			if ((l->pdms &&
			     dict_get(l->tab[i], dot + 1, &v) == DICT_OK) ||
			    (!l->pdms &&
			     dict_get(l->tab[i], dot, &v) == DICT_OK))
				return 1;
		}
	}
	return 0;
}

/* Networks from a list value; names, files and tables are not
 * supported here yet (a warning, as Postfix warns about what it cannot
 * use). */
static void netlist_init(struct netlist *l, const char *param, const char *v)
{
	char **items;
	size_t n = split(v, &items);

	l->nets = mem_zalloc((n + 1) * sizeof(*l->nets));
	l->nnets = 0;
	for (size_t i = 0; i < n; i++) {
		struct cidr *x = &l->nets[l->nnets];
		if (restrict_cidr_parse(items[i], strlen(items[i]), &x->family,
					x->addr, &x->bits) == 0)
			l->nnets++;
		else
			msg_warn("%s: %s: not a network address; ignored",
				 param, items[i]);
	}
	free_items(items, n);
}

static int netlist_match(const struct netlist *l, const char *addr)
{
	unsigned char a[16] = {0};
	int family;

	if (addr == NULL)
		return 0;
	if (inet_pton(AF_INET, addr, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, a) == 1) {
		family = AF_INET6;
		/* IPv4-mapped: match the IPv4 networks too */
		static const unsigned char v4m[12] = {0, 0, 0, 0, 0,    0,
						      0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, v4m, 12) == 0) {
			unsigned char b[16] = {0};
			memcpy(b, a + 12, 4);
			for (size_t i = 0; i < l->nnets; i++)
				if (cidr_match(&l->nets[i], AF_INET, b))
					return 1;
		}
	} else
		return 0;
	for (size_t i = 0; i < l->nnets; i++)
		if (cidr_match(&l->nets[i], family, a))
			return 1;
	return 0;
}

struct restrict_cfg *restrict_new(void)
{
	struct restrict_cfg *c = mem_zalloc(sizeof(*c));
	char **items;
	size_t n;

	for (int s = 0; s < RESTRICT_NSTAGES; s++)
		c->nstage[s] = split(conf_get(stage_param[s]), &c->stage[s]);

	const char *mn = conf_get("mynetworks");
	if (mn == NULL || *mn == 0)
		mn = "127.0.0.0/8 [::1]/128";
	netlist_init(&c->mynet, "mynetworks", mn);
	netlist_init(&c->limit_exempt, "smtpd_client_event_limit_exceptions",
		     conf_get("smtpd_client_event_limit_exceptions"));
	netlist_init(&c->bare_exempt, "smtpd_forbid_bare_newline_exclusions",
		     conf_get("smtpd_forbid_bare_newline_exclusions"));

	dlist_init(&c->mydest, "mydestination", conf_get("mydestination"));
	dlist_init(&c->relay, "relay_domains", conf_get("relay_domains"));
	const char *ff = conf_get("fast_flush_domains");
	dlist_init(&c->flush, "fast_flush_domains",
		   ff != NULL ? ff : conf_get("relay_domains"));

	n = split(conf_get("relay_recipient_maps"), &items);
	c->rcpt_maps = mem_zalloc((n + 1) * sizeof(*c->rcpt_maps));
	for (size_t i = 0; i < n; i++) {
		struct dict **t;
		size_t nt;
		open_tables(items[i], &t, &nt);
		if (nt > 0)
			c->rcpt_maps[c->nrcpt_maps++] = t[0];
		mem_free(t);
	}
	free_items(items, n);
	c->reject_unlisted =
		conf_get_bool("smtpd_reject_unlisted_recipient") > 0;
	c->relay_code = (int)conf_get_int("relay_domains_reject_code");
	if (c->relay_code < 400 || c->relay_code > 599)
		c->relay_code = 554;
	return c;
}

void restrict_free(struct restrict_cfg *c)
{
	if (c == NULL)
		return;
	for (int s = 0; s < RESTRICT_NSTAGES; s++)
		free_items(c->stage[s], c->nstage[s]);
	mem_free(c->mynet.nets);
	mem_free(c->limit_exempt.nets);
	mem_free(c->bare_exempt.nets);
	dlist_free(&c->mydest);
	dlist_free(&c->relay);
	dlist_free(&c->flush);
	for (size_t i = 0; i < c->nrcpt_maps; i++)
		dict_discard(c->rcpt_maps[i]);
	mem_free(c->rcpt_maps);
	mem_free(c);
}

int restrict_in_mynetworks(const struct restrict_cfg *c, const char *addr)
{
	return netlist_match(&c->mynet, addr);
}

int restrict_limit_exempt(const struct restrict_cfg *c, const char *addr)
{
	return netlist_match(&c->limit_exempt, addr);
}

int restrict_bare_exempt(const struct restrict_cfg *c, const char *addr)
{
	return netlist_match(&c->bare_exempt, addr);
}

int restrict_local_domain(struct restrict_cfg *c, const char *domain)
{
	return domain == NULL || *domain == 0 ||
	       dlist_match(&c->mydest, domain);
}

int restrict_relay_domain(struct restrict_cfg *c, const char *domain)
{
	return domain != NULL && *domain != 0 && dlist_match(&c->relay, domain);
}

int restrict_flush_domain(struct restrict_cfg *c, const char *domain)
{
	return domain != NULL && *domain != 0 && dlist_match(&c->flush, domain);
}

/* ---- restrictions: one function per table row ---- */

typedef enum restrict_result restrict_fn(struct restrict_cfg *c,
					 enum restrict_stage stage,
					 const struct restrict_ctx *x,
					 struct buf *reply);

static const char *rcpt_domain(const struct restrict_ctx *x)
{
	const char *at =
		x->recipient != NULL ? strrchr(x->recipient, '@') : NULL;
	return at != NULL ? at + 1 : "";
}

/* "<what>: Xxx rejected: " in Postfix's words for the stage. */
static void stage_subject(enum restrict_stage stage,
			  const struct restrict_ctx *x, struct buf *reply)
{
	switch (stage) {
	case RESTRICT_CLIENT:
		buf_printf(reply, "<%s[%s]>: Client host rejected: ",
			   x->client_name ? x->client_name : "unknown",
			   x->client_addr ? x->client_addr : "unknown");
		break;
	case RESTRICT_HELO:
		buf_printf(reply, "<%s>: Helo command rejected: ",
			   x->helo ? x->helo : "");
		break;
	case RESTRICT_SENDER:
		buf_printf(reply, "<%s>: Sender address rejected: ",
			   x->sender ? x->sender : "");
		break;
	case RESTRICT_RELAY:
	case RESTRICT_RECIPIENT:
		buf_printf(reply, "<%s>: Recipient address rejected: ",
			   x->recipient ? x->recipient : "");
		break;
	case RESTRICT_DATA:
		buf_puts(reply, "<DATA>: Data command rejected: ");
		break;
	default:
		buf_puts(reply, "<END-OF-MESSAGE>: End-of-data rejected: ");
		break;
	}
}

static enum restrict_result r_permit(struct restrict_cfg *c,
				     enum restrict_stage s,
				     const struct restrict_ctx *x,
				     struct buf *reply)
{
	(void)c, (void)s, (void)x, (void)reply;
	return RESTRICT_PERMIT;
}

static enum restrict_result r_dunno(struct restrict_cfg *c,
				    enum restrict_stage s,
				    const struct restrict_ctx *x,
				    struct buf *reply)
{
	(void)c, (void)s, (void)x, (void)reply;
	return RESTRICT_DUNNO;
}

static enum restrict_result r_reject(struct restrict_cfg *c,
				     enum restrict_stage s,
				     const struct restrict_ctx *x,
				     struct buf *reply)
{
	long code = conf_get_int("reject_code");
	(void)c;
	if (code < 400 || code > 599)
		code = 554;
	buf_printf(reply, "%ld %d.7.1 ", code, (int)(code / 100));
	stage_subject(s, x, reply);
	buf_puts(reply, "Access denied");
	return RESTRICT_REJECT;
}

static enum restrict_result r_defer(struct restrict_cfg *c,
				    enum restrict_stage s,
				    const struct restrict_ctx *x,
				    struct buf *reply)
{
	long code = conf_get_int("defer_code");
	(void)c;
	if (code < 400 || code > 499)
		code = 450;
	buf_printf(reply, "%ld 4.7.1 ", code);
	stage_subject(s, x, reply);
	buf_puts(reply, "Access denied");
	return RESTRICT_REJECT;
}

static enum restrict_result r_permit_mynetworks(struct restrict_cfg *c,
						enum restrict_stage s,
						const struct restrict_ctx *x,
						struct buf *reply)
{
	(void)s, (void)reply;
	return restrict_in_mynetworks(c, x->client_addr) ? RESTRICT_PERMIT
							 : RESTRICT_DUNNO;
}

/* Sender-specified routing in the local part ("u%far@ours",
 * "far!u@ours", "@a:u@ours" leftovers): Postfix's allow_untrusted_routing
 * = no treats such a recipient as not ours, so that nobody relays through
 * us by routing past our domain. */
static int routed(const struct restrict_ctx *x)
{
	const char *at = strrchr(x->recipient, '@');
	size_t n =
		at != NULL ? (size_t)(at - x->recipient) : strlen(x->recipient);

	for (size_t i = 0; i < n; i++) {
		char ch = x->recipient[i];
		if (ch == '@' || ch == '!' || ch == '%')
			return 1;
	}
	return 0;
}

static int auth_destination(struct restrict_cfg *c,
			    const struct restrict_ctx *x)
{
	const char *d = rcpt_domain(x);
	if (routed(x))
		return 0;
	return restrict_local_domain(c, d) || restrict_relay_domain(c, d);
}

static enum restrict_result r_permit_auth_dest(struct restrict_cfg *c,
					       enum restrict_stage s,
					       const struct restrict_ctx *x,
					       struct buf *reply)
{
	(void)s, (void)reply;
	if (x->recipient == NULL)
		return RESTRICT_DUNNO;
	return auth_destination(c, x) ? RESTRICT_PERMIT : RESTRICT_DUNNO;
}

static enum restrict_result unauth(struct restrict_cfg *c,
				   const struct restrict_ctx *x,
				   struct buf *reply, int code)
{
	if (x->recipient == NULL || auth_destination(c, x))
		return RESTRICT_DUNNO;
	buf_printf(reply, "%d %d.7.1 <%s>: Relay access denied", code,
		   code / 100, x->recipient);
	return RESTRICT_REJECT;
}

static enum restrict_result r_reject_unauth_dest(struct restrict_cfg *c,
						 enum restrict_stage s,
						 const struct restrict_ctx *x,
						 struct buf *reply)
{
	(void)s;
	return unauth(c, x, reply, c->relay_code);
}

static enum restrict_result r_defer_unauth_dest(struct restrict_cfg *c,
						enum restrict_stage s,
						const struct restrict_ctx *x,
						struct buf *reply)
{
	(void)s;
	return unauth(c, x, reply, 454);
}

static enum restrict_result r_reject_unlisted_rcpt(struct restrict_cfg *c,
						   enum restrict_stage s,
						   const struct restrict_ctx *x,
						   struct buf *reply)
{
	(void)s;
	if (x->recipient == NULL || c->nrcpt_maps == 0)
		return RESTRICT_DUNNO;
	const char *d = rcpt_domain(x);
	if (restrict_local_domain(c, d) || !restrict_relay_domain(c, d))
		return RESTRICT_DUNNO; /* local_recipient_maps: not yet */
	struct buf key;
	buf_init(&key, DICT_KEY_MAX);
	buf_puts(&key, x->recipient);
	const char *v;
	int found = 0;
	for (size_t i = 0; i < c->nrcpt_maps && !found; i++) {
		if (dict_get(c->rcpt_maps[i], buf_str(&key), &v) == DICT_OK)
			found = 1;
		else if (dict_get(c->rcpt_maps[i], d - 1, &v) == DICT_OK)
			found = 1; /* "@domain" */
	}
	buf_free(&key);
	if (found)
		return RESTRICT_DUNNO;
	long code = conf_get_int("unknown_relay_recipient_reject_code");
	if (code < 400 || code > 599)
		code = 550;
	buf_printf(reply,
		   "%ld %d.1.1 <%s>: Recipient address rejected: User unknown "
		   "in relay recipient table",
		   code, (int)(code / 100), x->recipient);
	return RESTRICT_REJECT;
}

/* permit_sasl_authenticated: the client authenticated with AUTH. */
static enum restrict_result r_permit_sasl(struct restrict_cfg *c,
					  enum restrict_stage s,
					  const struct restrict_ctx *x,
					  struct buf *reply)
{
	(void)c, (void)s, (void)reply;
	return x->sasl_username != NULL ? RESTRICT_PERMIT : RESTRICT_DUNNO;
}

static const struct {
	const char *name;
	restrict_fn *fn;
} restrictions[] = {
	{"permit", r_permit},
	{"dunno", r_dunno},
	{"reject", r_reject},
	{"defer", r_defer},
	{"permit_mynetworks", r_permit_mynetworks},
	{"permit_sasl_authenticated", r_permit_sasl},
	{"permit_auth_destination", r_permit_auth_dest},
	{"reject_unauth_destination", r_reject_unauth_dest},
	{"defer_unauth_destination", r_defer_unauth_dest},
	{"reject_unlisted_recipient", r_reject_unlisted_rcpt},
	{"check_relay_domains", r_permit_auth_dest}, /* obsolete alias */
};

enum restrict_result restrict_unlisted(struct restrict_cfg *c,
				       const struct restrict_ctx *x,
				       struct buf *reply)
{
	if (!c->reject_unlisted)
		return RESTRICT_DUNNO;
	return r_reject_unlisted_rcpt(c, RESTRICT_RECIPIENT, x, reply);
}

enum restrict_result restrict_eval(struct restrict_cfg *c,
				   enum restrict_stage stage,
				   const struct restrict_ctx *x,
				   struct buf *reply)
{
	if ((unsigned)stage >= RESTRICT_NSTAGES)
		return RESTRICT_DUNNO;
	for (size_t i = 0; i < c->nstage[stage]; i++) {
		const char *name = c->stage[stage][i];
		restrict_fn *fn = NULL;
		for (size_t k = 0;
		     k < sizeof(restrictions) / sizeof(*restrictions); k++)
			if (strcmp(restrictions[k].name, name) == 0)
				fn = restrictions[k].fn;
		if (fn == NULL) {
			msg_warn("unknown smtpd restriction: \"%s\"", name);
			buf_puts(reply, "451 4.3.5 Server configuration error");
			return RESTRICT_REJECT;
		}
		enum restrict_result r = fn(c, stage, x, reply);
		if (r != RESTRICT_DUNNO)
			return r;
	}
	return RESTRICT_DUNNO;
}
