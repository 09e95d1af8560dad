/* restrict - the smtpd access restriction engine (see restrict.h).
 *
 * Follows Postfix's smtpd_check.c: generic_checks() order and recursion,
 * check_table_result() for access results, smtpd_check_reject() for
 * warn_if_reject and defer_if_reject, the defer_if_permit carry between
 * stages, the lookup orders of check_domain_access(), check_addr_access()
 * and check_mail_access() (access(5)), DNSBL queries as find_dnsxl_addr()
 * and find_dnsxl_domain() with ip_match(3) reply filters, and the reply
 * texts and codes of the built-in restrictions. Trusts nothing in table
 * values, DNS answers or policy replies: they are parsed by access.h,
 * dns/packet.h and policy.h. */
#include "smtpd/restrict.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "dict/dict.h"
#include "dns/resolv.h"
#include "smtpd/access.h"
#include "smtpd/peer.h"
#include "smtpd/policy.h"

#define MAX_ITEMS     256 /* restriction names per stage, entries per list */
#define MAX_DEPTH     100 /* restriction classes and table results nested */
#define MEMO_MAX      128 /* results a session keeps */
#define MAX_TABLES    64  /* access tables opened */
#define MAX_CLASSES   64  /* smtpd_restriction_classes */
#define RBL_TXT_LIMIT 500 /* bytes of TXT kept (Postfix) */
#define MX_HOSTS_MAX  10  /* MX hosts whose addresses are checked */

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

struct maplist {
	struct dict **d;
	size_t n;
};

struct rlist {
	char **it;
	size_t n;
};

struct restrict_cfg {
	struct rlist stage[RESTRICT_NSTAGES];
	char *class_name[MAX_CLASSES];
	struct rlist class_list[MAX_CLASSES];
	size_t nclass;
	struct netlist mynet, limit_exempt, bare_exempt, sasl_exempt;
	struct dlist mydest, relay, flush;
	struct maplist rcpt_maps, local_maps, login_maps, rbl_reply;
	struct maplist clientcerts; /* relay_clientcerts */
	int local_maps_set;
	char *tab_spec[MAX_TABLES];
	struct dict *tab[MAX_TABLES];
	char *tab_err[MAX_TABLES]; /* why a table did not open, or NULL */
	size_t ntab;
	int relay_code, reject_code, defer_code, map_reject_code,
		map_defer_code, rbl_code, non_fqdn_code, invalid_code,
		unk_addr_code, unk_client_code, unk_host_code, multi_code,
		local_code, relay_rcpt_code;
	int reject_unlisted; /* smtpd_reject_unlisted_recipient */
	int reject_unlisted_sender;
	int delay_reject;
	int pdms_access; /* smtpd_access_maps in parent_domain_matches_... */
	int ipv6; /* inet_protocols has IPv6: AAAA lookups for MX hosts */
	int tempfail_permit; /* reject_tempfail_action = defer_if_permit */
	char *null_key;
	char *rbl_template;
	char *double_bounce;
	char *delim; /* recipient_delimiter: a set of characters */
	struct loop *lp;
	struct dns_resolver *dns;
	struct policy_pool *pol;
};

static const char *const stage_param[RESTRICT_NSTAGES] = {
	"smtpd_client_restrictions",      "smtpd_helo_restrictions",
	"smtpd_sender_restrictions",      "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions",   "smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions",
};

const char *restrict_stage_param(enum restrict_stage stage)
{
	return (unsigned)stage < RESTRICT_NSTAGES ? stage_param[stage] : "";
}

/* Split a list value at commas and white space; what is inside "{ ... }"
 * stays in its word (Postfix 3.0 grouping: inline:{ k=v, ... },
 * check_policy_service { inet:..., x=y }). */
static size_t split(const char *v, char ***out)
{
	char **items = mem_zalloc(MAX_ITEMS * sizeof(*items));
	size_t n = 0;
	const char *p = v != NULL ? v : "";

	while (*p && n < MAX_ITEMS) {
		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' ||
		       *p == '\n')
			p++;
		if (*p == 0)
			break;
		const char *s = p;
		int depth = 0;
		/* a word ends at a separator outside braces */
		for (; *p; p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}' && depth > 0)
				depth--;
			else if (depth == 0 &&
				 (*p == ',' || *p == ' ' || *p == '\t' ||
				  *p == '\r' || *p == '\n'))
				break;
		}
		items[n++] = mem_strndup(s, (size_t)(p - s));
	}
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

int restrict_sasl_exempt(const struct restrict_cfg *c, const char *addr)
{
	return netlist_match(&c->sasl_exempt, addr);
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


/* ---- configuration ---- */

static void maplist_init(struct maplist *m, const char *param)
{
	char **items;
	size_t n = split(conf_get(param), &items);

	m->d = mem_zalloc((n + 1) * sizeof(*m->d));
	m->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct buf err;
		buf_init(&err, 4096);
		if (dict_open(items[i], DICT_FLAG_FOLD, &m->d[m->n], &err) ==
		    DICT_OK)
			m->n++;
		else
			msg_warn("%s: %s: %s", param, items[i], buf_str(&err));
		buf_free(&err);
	}
	free_items(items, n);
}

static void maplist_free(struct maplist *m)
{
	for (size_t i = 0; i < m->n; i++)
		dict_discard(m->d[i]);
	mem_free(m->d);
}

/* 1 found (value), 0 not, -1 a table failed. */
static int maplist_get(const struct maplist *m, const char *key,
		       const char **value)
{
	int err = 0;
	for (size_t i = 0; i < m->n; i++) {
		int r = dict_get(m->d[i], key, value);
		if (r == DICT_OK)
			return 1;
		if (r < 0)
			err = 1;
	}
	return err ? -1 : 0;
}

static int code_param(const char *name, int def)
{
	long v = conf_get_int(name);
	return v >= 400 && v <= 599 ? (int)v : def;
}

static char *str_param(const char *name, const char *def)
{
	const char *v = conf_get(name);
	return mem_strdup(v != NULL ? v : def);
}

struct restrict_cfg *restrict_new(void)
{
	struct restrict_cfg *c = mem_zalloc(sizeof(*c));
	char **items;
	size_t n;

	for (int s = 0; s < RESTRICT_NSTAGES; s++)
		c->stage[s].n = split(conf_get(stage_param[s]), &c->stage[s].it);

	n = split(conf_get("smtpd_restriction_classes"), &items);
	for (size_t i = 0; i < n && c->nclass < MAX_CLASSES; i++) {
		const char *v = conf_get(items[i]);
		if (v == NULL) {
			msg_warn("restriction class \"%s\" needs a definition",
				 items[i]);
			continue;
		}
		c->class_name[c->nclass] = mem_strdup(items[i]);
		c->class_list[c->nclass].n =
			split(v, &c->class_list[c->nclass].it);
		c->nclass++;
	}
	free_items(items, n);

	const char *mn = conf_get("mynetworks");
	if (mn == NULL || *mn == 0)
		mn = "127.0.0.0/8 [::1]/128";
	netlist_init(&c->mynet, "mynetworks", mn);
	netlist_init(&c->limit_exempt, "smtpd_client_event_limit_exceptions",
		     conf_get("smtpd_client_event_limit_exceptions"));
	netlist_init(&c->bare_exempt, "smtpd_forbid_bare_newline_exclusions",
		     conf_get("smtpd_forbid_bare_newline_exclusions"));
	netlist_init(&c->sasl_exempt, "smtpd_sasl_exceptions_networks",
		     conf_get("smtpd_sasl_exceptions_networks"));

	dlist_init(&c->mydest, "mydestination", conf_get("mydestination"));
	dlist_init(&c->relay, "relay_domains", conf_get("relay_domains"));
	const char *ff = conf_get("fast_flush_domains");
	dlist_init(&c->flush, "fast_flush_domains",
		   ff != NULL ? ff : conf_get("relay_domains"));

	maplist_init(&c->rcpt_maps, "relay_recipient_maps");
	const char *lrm = conf_get("local_recipient_maps");
	c->local_maps_set = lrm != NULL && *lrm != 0;
	if (c->local_maps_set)
		maplist_init(&c->local_maps, "local_recipient_maps");
	maplist_init(&c->login_maps, "smtpd_sender_login_maps");
	maplist_init(&c->clientcerts, "relay_clientcerts");
	maplist_init(&c->rbl_reply, "rbl_reply_maps");
	c->reject_unlisted =
		conf_get_bool("smtpd_reject_unlisted_recipient") > 0;
	c->reject_unlisted_sender =
		conf_get_bool("smtpd_reject_unlisted_sender") > 0;
	c->delay_reject = conf_get_bool("smtpd_delay_reject") != 0;
	c->pdms_access = pdms_has("smtpd_access_maps");
	const char *ip = conf_get("inet_protocols");
	c->ipv6 = ip == NULL || strstr(ip, "ipv6") != NULL ||
		  strstr(ip, "all") != NULL;
	const char *tf = conf_get("reject_tempfail_action");
	c->tempfail_permit = tf == NULL || strcmp(tf, "defer") != 0;
	c->relay_code = code_param("relay_domains_reject_code", 554);
	c->reject_code = code_param("reject_code", 554);
	c->defer_code = code_param("defer_code", 450);
	c->map_reject_code = code_param("access_map_reject_code", 554);
	c->map_defer_code = code_param("access_map_defer_code", 450);
	c->rbl_code = code_param("maps_rbl_reject_code", 554);
	c->non_fqdn_code = code_param("non_fqdn_reject_code", 504);
	c->invalid_code = code_param("invalid_hostname_reject_code", 501);
	c->unk_addr_code = code_param("unknown_address_reject_code", 450);
	c->unk_client_code = code_param("unknown_client_reject_code", 450);
	c->unk_host_code = code_param("unknown_hostname_reject_code", 450);
	c->multi_code = code_param("multi_recipient_bounce_reject_code", 550);
	c->local_code = code_param("unknown_local_recipient_reject_code", 550);
	c->relay_rcpt_code =
		code_param("unknown_relay_recipient_reject_code", 550);
	c->null_key = str_param("smtpd_null_access_lookup_key", "<>");
	c->rbl_template = mem_strdup(
		conf_get_raw("default_rbl_reply") != NULL
			? conf_get_raw("default_rbl_reply")
			: "$rbl_code Service unavailable; $rbl_class [$rbl_what] "
			  "blocked using $rbl_domain${rbl_reason?; $rbl_reason}");
	c->double_bounce = str_param("double_bounce_sender", "double-bounce");
	c->delim = str_param("recipient_delimiter", "");
	return c;
}

void restrict_set_env(struct restrict_cfg *c, struct loop *lp,
		      struct dns_resolver *dns, struct policy_pool *pol)
{
	c->lp = lp;
	c->dns = dns;
	c->pol = pol;
}

int restrict_delay_reject(const struct restrict_cfg *c)
{
	return c->delay_reject;
}

void restrict_free(struct restrict_cfg *c)
{
	if (c == NULL)
		return;
	for (int s = 0; s < RESTRICT_NSTAGES; s++)
		free_items(c->stage[s].it, c->stage[s].n);
	for (size_t i = 0; i < c->nclass; i++) {
		mem_free(c->class_name[i]);
		free_items(c->class_list[i].it, c->class_list[i].n);
	}
	mem_free(c->mynet.nets);
	mem_free(c->limit_exempt.nets);
	mem_free(c->bare_exempt.nets);
	mem_free(c->sasl_exempt.nets);
	dlist_free(&c->mydest);
	dlist_free(&c->relay);
	dlist_free(&c->flush);
	maplist_free(&c->rcpt_maps);
	if (c->local_maps_set)
		maplist_free(&c->local_maps);
	maplist_free(&c->login_maps);
	maplist_free(&c->clientcerts);
	maplist_free(&c->rbl_reply);
	for (size_t i = 0; i < c->ntab; i++) {
		mem_free(c->tab_spec[i]);
		mem_free(c->tab_err[i]);
		if (c->tab[i] != NULL)
			dict_discard(c->tab[i]);
	}
	mem_free(c->null_key);
	mem_free(c->rbl_template);
	mem_free(c->double_bounce);
	mem_free(c->delim);
	mem_free(c);
}

/* An access table by its name in the restriction list, opened at first
 * use and kept; NULL when it does not open (the reason is kept for the
 * warning at each use, as Postfix's surrogate table logs it). */
static struct dict *table(struct restrict_cfg *c, const char *spec)
{
	for (size_t i = 0; i < c->ntab; i++)
		if (strcmp(c->tab_spec[i], spec) == 0)
			return c->tab[i];
	if (c->ntab == MAX_TABLES)
		return NULL;
	struct buf err;
	struct dict *d = NULL;
	buf_init(&err, 4096);
	c->tab_err[c->ntab] = NULL;
	if (dict_open(spec, DICT_FLAG_FOLD, &d, &err) != DICT_OK) {
		c->tab_err[c->ntab] = mem_strdup(buf_str(&err));
		d = NULL;
	}
	buf_free(&err);
	c->tab_spec[c->ntab] = mem_strdup(spec);
	c->tab[c->ntab++] = d;
	return d;
}

/* Why the table spec did not open ("" when unknown). */
static const char *table_why(const struct restrict_cfg *c, const char *spec)
{
	for (size_t i = 0; i < c->ntab; i++)
		if (strcmp(c->tab_spec[i], spec) == 0 && c->tab_err[i] != NULL)
			return c->tab_err[i];
	return "";
}

static int pattern_table(const struct dict *d)
{
	const char *t = dict_type(d);
	return strcmp(t, "regexp") == 0 || strcmp(t, "pcre") == 0 ||
	       strcmp(t, "cidr") == 0;
}

/* ---- ip_match(3) ---- */

static int octet_match(const char *p, size_t n, unsigned v)
{
	if (n == 0)
		return -1;
	if (p[0] != '[') {
		unsigned x = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9' || i >= 3)
				return -1;
			x = x * 10 + (unsigned)(p[i] - '0');
		}
		return x > 255 ? -1 : x == v;
	}
	if (n < 3 || p[n - 1] != ']')
		return -1;
	p++, n -= 2;
	int hit = 0;
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && p[j] != ';')
			j++;
		/* element p[i..j): N or N..M */
		unsigned lo = 0, hi;
		size_t k = i, d = 0;
		while (k < j && p[k] >= '0' && p[k] <= '9' && d < 3)
			lo = lo * 10 + (unsigned)(p[k++] - '0'), d++;
		if (d == 0 || lo > 255)
			return -1;
		hi = lo;
		if (k < j) {
			if (j - k < 3 || p[k] != '.' || p[k + 1] != '.')
				return -1;
			k += 2;
			hi = 0, d = 0;
			while (k < j && p[k] >= '0' && p[k] <= '9' && d < 3)
				hi = hi * 10 + (unsigned)(p[k++] - '0'), d++;
			if (d == 0 || hi > 255 || k != j || hi < lo)
				return -1;
		}
		if (v >= lo && v <= hi)
			hit = 1;
		i = j + 1;
	}
	return hit;
}

int restrict_ip_match(const char *pattern, const char *addr)
{
	unsigned char a[4];
	const char *p = pattern;
	int all = 1;

	if (inet_pton(AF_INET, addr, a) != 1)
		return 0;
	for (int o = 0; o < 4; o++) {
		const char *s = p;
		int br = 0;
		while (*p && (br || *p != '.')) {
			if (*p == '[')
				br = 1;
			else if (*p == ']')
				br = 0;
			p++;
		}
		int m = octet_match(s, (size_t)(p - s), a[o]);
		if (m < 0)
			return -1;
		if (!m)
			all = 0;
		if (o < 3) {
			if (*p != '.')
				return -1;
			p++;
		}
	}
	return *p != 0 ? -1 : all;
}

/* ---- logs ---- */

void restrict_log_line(struct buf *l, const struct restrict_ctx *x,
		       const char *what, const char *text, size_t n)
{
	buf_printf(l, "%s: %s: %s from %s[%s]", x->queue_id ? x->queue_id
							   : "NOQUEUE",
		   what, x->cmd ? x->cmd : "CONNECT",
		   x->client_name ? x->client_name : "unknown",
		   x->client_addr ? x->client_addr : "unknown");
	buf_puts(l, ": ");
	log_escape(l, text, n);
	buf_puts(l, ";");
	if (x->sender != NULL) {
		buf_puts(l, " from=<");
		log_escape(l, x->sender, strlen(x->sender));
		buf_puts(l, ">");
	}
	if (x->recipient != NULL) {
		buf_puts(l, " to=<");
		log_escape(l, x->recipient, strlen(x->recipient));
		buf_puts(l, ">");
	}
	buf_printf(l, " proto=%s", x->protocol ? x->protocol : "SMTP");
	if (x->helo != NULL) {
		buf_puts(l, " helo=<");
		log_escape(l, x->helo, strlen(x->helo));
		buf_puts(l, ">");
	}
}

/* ---- a session's results ---- */

enum { M_DNS = 1, M_POLICY, M_SLEEP };

struct memo {
	int kind;
	char *key;
	int done;
	int status; /* DNS_*, or policy 0 / -1 */
	char *val;  /* DNS: values one per line; policy: the action */
	struct dns_query *dq;
	struct policy_req *pq;
	struct loop_timer t;
	struct restrict_sess *rs;
};

struct dflag {
	int active;
	struct buf reply; /* "450 4.7.1 text" */
};

struct restrict_sess {
	struct restrict_cfg *c;
	void (*resume)(void *arg);
	void *arg;
	struct memo *memo[MEMO_MAX];
	size_t nmemo;
	size_t npending;
	struct loop_timer resume_timer;
	int denied; /* client rejected at CONNECT (delay_reject = no) */
	struct dflag dip_client, dip_helo, dip_sender;
	struct restrict_actions act;
};

static void dflag_init(struct dflag *f)
{
	f->active = 0;
	buf_init(&f->reply, 4096);
}

static void dflag_copy(struct dflag *to, const struct dflag *from)
{
	to->active = from->active;
	buf_sets(&to->reply, from->active ? buf_str(&from->reply) : "");
}

static void actions_reset(struct restrict_actions *a)
{
	a->discard = 0;
	a->hold = 0;
	mem_free(a->redirect);
	a->redirect = NULL;
	mem_free(a->filter);
	a->filter = NULL;
	buf_reset(&a->prepend);
	for (size_t i = 0; i < a->nbcc; i++)
		mem_free(a->bcc[i]);
	mem_free(a->bcc);
	a->bcc = NULL;
	a->nbcc = 0;
}

static void resume_now(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct restrict_sess *rs = arg;
	(void)lp, (void)t;
	rs->resume(rs->arg);
}

struct restrict_sess *restrict_sess_new(struct restrict_cfg *c,
					void (*resume)(void *arg), void *arg)
{
	struct restrict_sess *rs = mem_zalloc(sizeof(*rs));
	rs->c = c;
	rs->resume = resume;
	rs->arg = arg;
	dflag_init(&rs->dip_client);
	dflag_init(&rs->dip_helo);
	dflag_init(&rs->dip_sender);
	buf_init(&rs->act.prepend, 64 * 1024);
	loop_timer_init(&rs->resume_timer, resume_now, rs);
	return rs;
}

static void memo_free(struct restrict_sess *rs, struct memo *m)
{
	if (m->dq != NULL)
		dns_query_cancel(m->dq);
	if (m->pq != NULL)
		policy_cancel(m->pq);
	if (rs->c->lp != NULL)
		loop_timer_cancel(rs->c->lp, &m->t);
	mem_free(m->key);
	mem_free(m->val);
	mem_free(m);
}

void restrict_sess_free(struct restrict_sess *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nmemo; i++)
		memo_free(rs, rs->memo[i]);
	if (rs->c->lp != NULL)
		loop_timer_cancel(rs->c->lp, &rs->resume_timer);
	buf_free(&rs->dip_client.reply);
	buf_free(&rs->dip_helo.reply);
	buf_free(&rs->dip_sender.reply);
	actions_reset(&rs->act);
	buf_free(&rs->act.prepend);
	mem_free(rs);
}

void restrict_txn_reset(struct restrict_sess *rs)
{
	actions_reset(&rs->act);
	rs->dip_sender.active = 0;
}

const struct restrict_actions *restrict_actions(const struct restrict_sess *rs)
{
	return &rs->act;
}

int restrict_denied(const struct restrict_sess *rs)
{
	return rs->denied;
}

/* Forget the per-request results (policy replies, sleeps): the next
 * request asks again. DNS answers stay for the session. */
static void memo_forget_requests(struct restrict_sess *rs)
{
	size_t k = 0;
	for (size_t i = 0; i < rs->nmemo; i++) {
		struct memo *m = rs->memo[i];
		if (m->kind != M_DNS && m->done)
			memo_free(rs, m);
		else
			rs->memo[k++] = m;
	}
	rs->nmemo = k;
}

static struct memo *memo_find(struct restrict_sess *rs, int kind,
			      const char *key)
{
	for (size_t i = 0; i < rs->nmemo; i++)
		if (rs->memo[i]->kind == kind &&
		    strcmp(rs->memo[i]->key, key) == 0)
			return rs->memo[i];
	return NULL;
}

static struct memo *memo_add(struct restrict_sess *rs, int kind,
			     const char *key)
{
	if (rs->nmemo == MEMO_MAX) {
		/* full: drop the finished DNS answers */
		size_t k = 0;
		for (size_t i = 0; i < rs->nmemo; i++) {
			struct memo *m = rs->memo[i];
			if (m->kind == M_DNS && m->done)
				memo_free(rs, m);
			else
				rs->memo[k++] = m;
		}
		rs->nmemo = k;
		if (k == MEMO_MAX)
			return NULL;
	}
	struct memo *m = mem_zalloc(sizeof(*m));
	m->kind = kind;
	m->key = mem_strdup(key);
	m->rs = rs;
	rs->memo[rs->nmemo++] = m;
	rs->npending++;
	return m;
}

static void memo_done(struct memo *m)
{
	struct restrict_sess *rs = m->rs;

	m->done = 1;
	if (rs->npending > 0 && --rs->npending == 0)
		loop_timer_set(rs->c->lp, &rs->resume_timer, 0);
}

static void dns_done(int status, const struct dns_answer *ans, void *arg)
{
	struct memo *m = arg;
	struct buf v;

	m->dq = NULL;
	m->status = status;
	buf_init(&v, 8192);
	for (size_t i = 0; ans != NULL && status == DNS_OK && i < ans->n; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		char a[64];
		if (rr->type == DNS_T_A) {
			inet_ntop(AF_INET, rr->addr, a, sizeof(a));
			buf_printf(&v, "%s\n", a);
		} else if (rr->type == DNS_T_AAAA) {
			inet_ntop(AF_INET6, rr->addr, a, sizeof(a));
			buf_printf(&v, "%s\n", a);
		} else if (rr->type == DNS_T_MX) {
			buf_printf(&v, "%u %s\n", rr->pref,
				   dns_rr_text(ans, rr));
		} else if (rr->type == DNS_T_TXT) {
			/* a TXT datum may hold any byte: keep it one line */
			const char *t = dns_rr_text(ans, rr);
			for (uint32_t k = 0; k < rr->len; k++)
				buf_putc(&v, t[k] == '\n' || t[k] == 0 ? ' '
								       : t[k]);
			buf_putc(&v, '\n');
		} else if (rr->type == DNS_T_PTR || rr->type == DNS_T_NS) {
			buf_printf(&v, "%s\n", dns_rr_text(ans, rr));
		}
	}
	if (status == DNS_OK && v.len == 0)
		m->status = DNS_NODATA; /* only records of other types */
	m->val = mem_strndup(v.data, v.len);
	buf_free(&v);
	memo_done(m);
}

static void policy_done(int status, const char *action, void *arg)
{
	struct memo *m = arg;

	m->pq = NULL;
	m->status = status;
	m->val = mem_strdup(action != NULL ? action : "");
	memo_done(m);
}

static void sleep_done(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct memo *m = arg;
	(void)lp, (void)t;
	memo_done(m);
}

/* ---- one evaluation ---- */

#define R_DUNNO  0
#define R_OK     1
#define R_REJECT 2

struct ev {
	struct restrict_sess *rs; /* NULL: restrict_eval(), no async */
	struct restrict_cfg *c;
	const struct restrict_ctx *x;
	struct buf *reply;
	int pending; /* a result is missing: go on only to start lookups */
	int nomemo;  /* the memo table is full */
	int depth;
	int warn_if_reject; /* the depth it applies at, 0: off */
	int sleeps;         /* sleep restrictions seen, for their keys */
	struct dflag dip, dir;
	struct buf log; /* lines, '\n' after each */
	struct buf warn; /* warnings, logged with the lines */
	const char *cur; /* the restriction being evaluated */
	struct restrict_actions act;
};

/* The stage's words for replies: "<name>: Class rejected: ...". */
struct stg {
	const char *name;
	const char *cls;
	enum restrict_stage stage;
};

/* A warning logged once the evaluation completes (an evaluation that
 * waits for DNS answers runs again, and would repeat it). */
static void ev_warn(struct ev *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ev_warn(struct ev *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&e->warn, fmt, ap);
	va_end(ap);
	buf_putc(&e->warn, '\n');
}

static void ev_log(struct ev *e, const char *what, const char *text,
		   size_t n)
{
	restrict_log_line(&e->log, e->x, what, text, n);
	buf_putc(&e->log, '\n');
}

/* "CODE D.S.N text": the status's class follows the code's. */
static void format_reply(struct buf *b, int code, const char *dsn,
			 const char *fmt, va_list ap)
{
	char d[ACCESS_DSN_MAX];
	snprintf(d, sizeof(d), "%s", dsn);
	d[0] = (char)('0' + code / 100);
	buf_reset(b);
	buf_printf(b, "%d %s ", code, d);
	buf_vprintf(b, fmt, ap);
}

/* smtpd_check_reject(): with warn_if_reject a warning, with
 * defer_if_reject raised a 5xx becomes that deferral. */
static int reject(struct ev *e, int code, const char *dsn, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
static int reject(struct ev *e, int code, const char *dsn, const char *fmt,
		  ...)
{
	struct buf r;
	va_list ap;

	buf_init(&r, 8192);
	va_start(ap, fmt);
	format_reply(&r, code, dsn, fmt, ap);
	va_end(ap);
	int warn = e->warn_if_reject != 0;
	if (!warn && e->dir.active && r.data[0] == '5')
		buf_sets(&r, buf_str(&e->dir.reply));
	ev_log(e, warn ? "reject_warning" : "reject", r.data, r.len);
	if (!warn)
		buf_sets(e->reply, buf_str(&r));
	buf_free(&r);
	return warn ? R_DUNNO : R_REJECT;
}

/* defer_if(): keep the first reason. */
static int defer_if(struct dflag *f, int code, const char *dsn,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int defer_if(struct dflag *f, int code, const char *dsn,
		    const char *fmt, ...)
{
	va_list ap;
	if (f->active)
		return R_DUNNO;
	f->active = 1;
	va_start(ap, fmt);
	format_reply(&f->reply, code, dsn, fmt, ap);
	va_end(ap);
	return R_DUNNO;
}

static int server_error(struct ev *e)
{
	return reject(e, 451, "4.3.5", "Server configuration error");
}

static int lookup_failure(struct ev *e, const char *name, const char *cls)
{
	return reject(e, 451, "4.3.0", "<%s>: %s rejected: Temporary lookup "
		      "failure", name, cls);
}

/* DEFER_IF_PERMIT for a temporary DNS failure (reject_tempfail_action):
 * with warn_if_reject it is a (logged) reject at once, as Postfix. */
static int tempfail(struct ev *e, int code, const char *dsn, const char *name,
		    const char *cls, const char *why)
{
	if (e->warn_if_reject == 0 && e->c->tempfail_permit)
		return defer_if(&e->dip, code, dsn, "<%s>: %s rejected: %s",
				name, cls, why);
	return reject(e, code, dsn, "<%s>: %s rejected: %s", name, cls, why);
}

/* The answer for name/type: 1 with *status and *val, or 0 with the
 * evaluation pending (the lookup started). */
static int dns_get(struct ev *e, const char *name, uint16_t type,
		   int *status, const char **val)
{
	char key[600];

	*val = "";
	if (e->rs == NULL || e->c->dns == NULL) {
		*status = DNS_TEMPFAIL;
		return 1;
	}
	snprintf(key, sizeof(key), "%u %s", type, name);
	struct memo *m = memo_find(e->rs, M_DNS, key);
	if (m != NULL && m->done) {
		*status = m->status;
		*val = m->val;
		return 1;
	}
	e->pending = 1;
	if (m != NULL)
		return 0;
	m = memo_add(e->rs, M_DNS, key);
	if (m == NULL) {
		e->nomemo = 1;
		return 0;
	}
	m->dq = dns_query(e->c->dns, name, type, dns_done, m);
	return 0;
}

/* Next line of a value list; 0 at the end. */
static int next_line(const char **p, char *out, size_t max)
{
	const char *s = *p;
	if (*s == 0)
		return 0;
	const char *nl = strchr(s, '\n');
	size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);
	snprintf(out, max, "%.*s", (int)n, s);
	*p = nl != NULL ? nl + 1 : s + n;
	return 1;
}

static int eval_list(struct ev *e, const struct stg *st, char **it, size_t n);

static void act_add_bcc(struct restrict_actions *a, const char *addr,
			size_t n)
{
	a->bcc = mem_realloc(a->bcc, (a->nbcc + 1) * sizeof(*a->bcc));
	a->bcc[a->nbcc++] = mem_strndup(addr, n);
}

/* Postfix's warning for an action word whose argument is missing or of
 * the wrong form (the entry is then skipped), or NULL. */
static const char *bad_argument(const char *v)
{
	size_t n = strcspn(v, " \t");
	const char *arg = v + n + strspn(v + n, " \t");

	if (n == 6 && str_ncasecmp(v, "FILTER", 6) == 0)
		return *arg == 0 ? "has FILTER entry without value"
				 : "requires transport:destination";
	if (n == 7 && str_ncasecmp(v, "PREPEND", 7) == 0)
		return "requires header: text";
	if ((n == 8 && str_ncasecmp(v, "REDIRECT", 8) == 0) ||
	    (n == 3 && str_ncasecmp(v, "BCC", 3) == 0))
		return "requires user@domain target";
	return NULL;
}

/* can_delegate_action(), not_in_client_helo(): actions for the queue file
 * need a mail transaction. 1 when a can take effect here, else 0 (and
 * Postfix's warning). */
static int can_delegate(struct ev *e, const struct stg *st, const char *tab,
			const struct access_result *a)
{
	const char *w;

	switch (a->action) {
	case ACCESS_FILTER:
		w = "FILTER";
		break;
	case ACCESS_HOLD:
		w = "HOLD";
		break;
	case ACCESS_DISCARD:
		w = "DISCARD";
		break;
	case ACCESS_REDIRECT:
		w = "REDIRECT";
		break;
	case ACCESS_BCC:
		w = "BCC";
		break;
	case ACCESS_PREPEND:
		w = "PREPEND";
		break;
	default:
		return 1;
	}
	if (st->stage == RESTRICT_ETRN && a->action != ACCESS_PREPEND) {
		msg_warn("access table %s: action %s is unavailable in %s", tab,
			 w, restrict_stage_param(RESTRICT_ETRN));
		return 0;
	}
	if (e->x->sender == NULL) {
		/* smtpd_delay_reject = no: client and helo restrictions run
		 * outside a mail transaction */
		msg_warn("access table %s: with smtpd_delay_reject=no, action "
			 "%s is always skipped in Client host or Helo command "
			 "restrictions",
			 tab, w);
		return 0;
	}
	return 1;
}

/* check_table_result(): what an access table's (or a policy server's)
 * value means. datum names what was looked up, for the logs. */
static int table_result(struct ev *e, const struct stg *st, const char *tab,
			const char *value, const char *datum, const char *name,
			const char *cls)
{
	struct access_result a;
	char dsn[ACCESS_DSN_MAX];
	const char *text;
	int tl;

	if (access_parse(value, strlen(value), &a) < 0) {
		/* an action without its argument is skipped, as Postfix */
		const char *why = bad_argument(value);
		if (why != NULL) {
			msg_warn("access table %s entry \"%s\" %s", tab, datum,
				 why);
			return R_DUNNO;
		}
		msg_warn("table %s: malformed result \"%s\"", tab, value);
		return server_error(e);
	}
	text = a.text;
	tl = (int)a.text_len;
	snprintf(dsn, sizeof(dsn), "%.*s", (int)a.dsn_len, a.dsn ? a.dsn : "");
	if (!can_delegate(e, st, tab, &a))
		return R_DUNNO;
	if ((a.action == ACCESS_REDIRECT || a.action == ACCESS_BCC) &&
	    memchr(text, '@', (size_t)tl) == NULL) {
		msg_warn("access table %s entry \"%s\" requires user@domain "
			 "target",
			 tab, datum);
		return R_DUNNO;
	}
	/* one HOLD per transaction is logged, as Postfix */
	if (a.action == ACCESS_HOLD &&
	    (e->act.hold || (e->rs != NULL && e->rs->act.hold)))
		return R_DUNNO;
	switch (a.action) {
	case ACCESS_OK:
		return R_OK;
	case ACCESS_DUNNO:
		return R_DUNNO;
	case ACCESS_REJECT:
		return reject(e, e->c->map_reject_code,
			      a.dsn ? dsn : "5.7.1", "<%s>: %s rejected: %.*s",
			      name, cls, tl ? tl : 13,
			      tl ? text : "Access denied");
	case ACCESS_DEFER:
		return reject(e, e->c->map_defer_code, a.dsn ? dsn : "4.7.1",
			      "<%s>: %s rejected: %.*s", name, cls,
			      tl ? tl : 13, tl ? text : "Access denied");
	case ACCESS_DEFER_IF_REJECT:
		return defer_if(&e->dir, e->c->map_defer_code,
				a.dsn ? dsn : "4.7.1",
				"<%s>: %s rejected: %.*s", name, cls,
				tl ? tl : 19, tl ? text : "Service unavailable");
	case ACCESS_DEFER_IF_PERMIT:
		if (e->warn_if_reject == 0)
			return defer_if(&e->dip, e->c->map_defer_code,
					a.dsn ? dsn : "4.7.1",
					"<%s>: %s rejected: %.*s", name, cls,
					tl ? tl : 19,
					tl ? text : "Service unavailable");
		return reject(e, e->c->map_defer_code, a.dsn ? dsn : "4.7.1",
			      "<%s>: %s rejected: %.*s", name, cls,
			      tl ? tl : 19, tl ? text : "Service unavailable");
	case ACCESS_CODE:
		return reject(e, a.code,
			      a.dsn ? dsn : (a.code < 500 ? "4.7.1" : "5.7.1"),
			      "<%s>: %s rejected: %.*s", name, cls, tl ? tl : 13,
			      tl ? text : "Access denied");
	case ACCESS_DISCARD: {
		struct buf t;
		buf_init(&t, 4096);
		if (tl)
			buf_printf(&t, "<%s>: %s %.*s", name, cls, tl, text);
		else
			buf_printf(&t, "<%s>: %s triggers DISCARD action",
				   name, cls);
		ev_log(e, "discard", t.data, t.len);
		buf_free(&t);
		e->act.discard = 1;
		return R_OK;
	}
	case ACCESS_HOLD:
	case ACCESS_REDIRECT:
	case ACCESS_FILTER: {
		const char *w = a.action == ACCESS_HOLD       ? "HOLD"
				: a.action == ACCESS_REDIRECT ? "REDIRECT"
							      : "FILTER";
		struct buf t;
		buf_init(&t, 4096);
		if (a.action == ACCESS_HOLD && tl)
			buf_printf(&t, "<%s>: %s %.*s", name, cls, tl, text);
		else if (a.action == ACCESS_HOLD)
			buf_printf(&t, "<%s>: %s triggers HOLD action", name,
				   cls);
		else
			buf_printf(&t, "<%s>: %s triggers %s %.*s", name, cls,
				   w, tl, text);
		char lw[16];
		snprintf(lw, sizeof(lw), "%s", w);
		str_lower(lw);
		ev_log(e, lw, t.data, t.len);
		buf_free(&t);
		if (a.action == ACCESS_HOLD)
			e->act.hold = 1;
		else if (a.action == ACCESS_REDIRECT) {
			mem_free(e->act.redirect);
			e->act.redirect = mem_strndup(text, (size_t)tl);
		} else {
			mem_free(e->act.filter);
			e->act.filter = mem_strndup(text, (size_t)tl);
		}
		return R_DUNNO;
	}
	case ACCESS_PREPEND:
		/* the headers are written before the content, as Postfix */
		if (st->stage == RESTRICT_EOD) {
			msg_warn("access table %s: action PREPEND must be used "
				 "before %s",
				 tab, restrict_stage_param(RESTRICT_EOD));
			return R_DUNNO;
		}
		buf_append(&e->act.prepend, text, (size_t)tl);
		buf_puts(&e->act.prepend, "\r\n");
		return R_DUNNO;
	case ACCESS_BCC:
		act_add_bcc(&e->act, text, (size_t)tl);
		return R_DUNNO;
	case ACCESS_WARN:
	case ACCESS_INFO:
		/* the text alone, as Postfix logs it */
		ev_log(e, a.action == ACCESS_WARN ? "warn" : "info", text,
		       (size_t)tl);
		return R_DUNNO;
	case ACCESS_RESTRICTIONS: {
		char **items;
		size_t n = split(value, &items);
		int r = eval_list(e, st, items, n);
		free_items(items, n);
		return r;
	}
	default:
		return server_error(e);
	}
}

/* check_access() when the table fails (it did not open, or the lookup
 * erred): Postfix logs why and answers as if the table had said "451
 * 4.3.5 Server configuration error"; the mail is not let through a
 * table that cannot be read. */
static int table_error(struct ev *e, const struct stg *st, const char *tab,
		       const char *key, const char *name, const char *cls,
		       int opened)
{
	if (!opened)
		msg_warn("%s is unavailable. %s", tab, table_why(e->c, tab));
	msg_warn("%s lookup error for \"%s\"", tab, key);
	return table_result(e, st, tab, "451 4.3.5 Server configuration error",
			    key, name, cls);
}

/* One key in one table: 1 found (*r set), 0 not. */
static int lookup(struct ev *e, const struct stg *st, const char *tab,
		  struct dict *d, const char *key, const char *name,
		  const char *cls, int *r)
{
	const char *v;
	int x = dict_get(d, key, &v);
	if (x == DICT_OK) {
		char *copy = mem_strdup(v); /* v lives until the next get */
		*r = table_result(e, st, tab, copy, key, name, cls);
		mem_free(copy);
		return 1;
	}
	if (x < 0) {
		*r = table_error(e, st, tab, key, name, cls, 1);
		return 1;
	}
	return 0;
}

/* The table named tab and the whole key in it: 1 when that decided
 * (*r; a table that does not open is a lookup failure), else 0 with *d
 * the table to go on with. */
static int lookup_first(struct ev *e, const struct stg *st, const char *tab,
			const char *key, const char *name, const char *cls,
			struct dict **d, int *r)
{
	*r = R_DUNNO;
	*d = table(e->c, tab);
	if (*d == NULL) {
		*r = table_error(e, st, tab, key, name, cls, 0);
		return 1;
	}
	return lookup(e, st, tab, *d, key, name, cls, r);
}

/* The parent domains of dom: "example.com" with
 * parent_domain_matches_subdomains naming smtpd_access_maps, else
 * ".example.com". 1 when one was found (*r). */
static int parents(struct ev *e, const struct stg *st, const char *tab,
		   struct dict *d, const char *dom, const char *name,
		   const char *cls, int *r)
{
	for (const char *dot = strchr(dom + 1, '.'); dot != NULL;
	     dot = strchr(dot + 1, '.')) {
		const char *k = e->c->pdms_access ? dot + 1 : dot;
		if (*k == 0)
			break;
		if (lookup(e, st, tab, d, k, name, cls, r))
			return 1;
	}
	return 0;
}

/* check_domain_access(): the name, then its parent domains; pattern
 * tables see the whole name only. */
static int domain_access(struct ev *e, const struct stg *st, const char *tab,
			 const char *domain, int partial, const char *name,
			 const char *cls, int *found)
{
	struct dict *d;
	int r;
	char key[512];

	snprintf(key, sizeof(key), "%s", domain);
	size_t n = strlen(key);
	if (n > 0 && key[n - 1] == '.')
		key[n - 1] = 0;
	*found = lookup_first(e, st, tab, key, name, cls, &d, &r) ||
		 (partial && key[0] && !pattern_table(d) &&
		  parents(e, st, tab, d, key, name, cls, &r));
	return r;
}

/* check_addr_access(): the address, then shorter prefixes ("1.2.3",
 * "1.2", "1"; IPv6 one ':' field at a time). */
static int addr_access(struct ev *e, const struct stg *st, const char *tab,
		       const char *addr, int partial, const char *name,
		       const char *cls, int *found)
{
	struct dict *d;
	int r;
	char key[128];

	snprintf(key, sizeof(key), "%s", addr);
	*found = lookup_first(e, st, tab, key, name, cls, &d, &r);
	if (*found || !partial || pattern_table(d))
		return r;
	char delim = strchr(key, ':') != NULL ? ':' : '.';
	char *p;
	while ((p = strrchr(key, delim)) != NULL) {
		*p = 0;
		while (p > key && p[-1] == delim)
			*--p = 0;
		if (key[0] == 0)
			break;
		if (lookup(e, st, tab, d, key, name, cls, &r)) {
			*found = 1;
			return r;
		}
	}
	return R_DUNNO;
}

/* check_mail_access() (access(5) "EMAIL ADDRESS EXTENSION"):
 * user+foo@domain, user@domain, domain and its parents, user+foo@, user@;
 * pattern tables see the whole address only. */
static int mail_access(struct ev *e, const struct stg *st, const char *tab,
		       const char *addr, const char *name, const char *cls,
		       int *found)
{
	struct dict *d;
	int r;
	char key[1024];
	const char *at = strrchr(addr, '@');

	*found = lookup_first(e, st, tab, addr, name, cls, &d, &r);
	if (*found || pattern_table(d) || at == NULL || at[1] == 0)
		return r;
	size_t ll = (size_t)(at - addr);
	size_t cut = restrict_ext_cut(addr, ll, e->c->delim,
				      e->c->double_bounce);
	if (cut < ll) {
		snprintf(key, sizeof(key), "%.*s%s", (int)cut, addr, at);
		if (lookup(e, st, tab, d, key, name, cls, &r)) {
			*found = 1;
			return r;
		}
	}
	snprintf(key, sizeof(key), "%.*s@", (int)ll, addr);
	*found = lookup(e, st, tab, d, at + 1, name, cls, &r) ||
		 parents(e, st, tab, d, at + 1, name, cls, &r) ||
		 lookup(e, st, tab, d, key, name, cls, &r);
	if (!*found && cut < ll) {
		snprintf(key, sizeof(key), "%.*s@", (int)cut, addr);
		*found = lookup(e, st, tab, d, key, name, cls, &r);
	}
	return r;
}

size_t restrict_ext_cut(const char *local, size_t n, const char *delims,
			const char *double_bounce)
{
	static const char *const whole[] = {"postmaster", "mailer-daemon"};

	if (n == 0 || delims == NULL || *delims == 0)
		return n;
	for (size_t i = 0; i < 2; i++)
		if (n == strlen(whole[i]) && str_ncasecmp(local, whole[i], n) == 0)
			return n;
	if (double_bounce != NULL && n == strlen(double_bounce) &&
	    str_ncasecmp(local, double_bounce, n) == 0)
		return n;
	/* owner-foo and foo-request stay whole when '-' is a delimiter */
	if (strchr(delims, '-') != NULL &&
	    ((n > 6 && str_ncasecmp(local, "owner-", 6) == 0) ||
	     (n > 8 && str_ncasecmp(local + n - 8, "-request", 8) == 0)))
		return n;
	for (size_t i = 0; i < n; i++)
		if (local[i] != 0 && strchr(delims, local[i]) != NULL)
			return i == 0 ? n : i; /* never an empty local part */
	return n;
}

/* ---- built-in restrictions ---- */

typedef int restrict_fn(struct ev *e, const struct stg *st, const char *arg);

static const char *domain_of(const char *addr)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
	return at != NULL ? at + 1 : "";
}

static int r_permit(struct ev *e, const struct stg *st, const char *arg)
{
	(void)e, (void)st, (void)arg;
	return R_OK;
}

static int r_dunno(struct ev *e, const struct stg *st, const char *arg)
{
	(void)e, (void)st, (void)arg;
	return R_DUNNO;
}

static int r_reject(struct ev *e, const struct stg *st, const char *arg)
{
	(void)arg;
	return reject(e, e->c->reject_code, "5.7.1",
		      "<%s>: %s rejected: Access denied", st->name, st->cls);
}

static int r_defer(struct ev *e, const struct stg *st, const char *arg)
{
	(void)arg;
	return reject(e, e->c->defer_code, "4.7.1",
		      "<%s>: %s rejected: Access denied", st->name, st->cls);
}

static int r_defer_if_permit(struct ev *e, const struct stg *st,
			     const char *arg)
{
	(void)arg;
	return defer_if(&e->dip, e->c->defer_code, "4.7.0",
			"<%s>: %s rejected: defer_if_permit requested",
			st->name, st->cls);
}

static int r_defer_if_reject(struct ev *e, const struct stg *st,
			     const char *arg)
{
	(void)arg;
	return defer_if(&e->dir, e->c->defer_code, "4.7.0",
			"<%s>: %s rejected: defer_if_reject requested",
			st->name, st->cls);
}

static int r_sleep(struct ev *e, const struct stg *st, const char *arg)
{
	long secs;
	char key[128];
	(void)st;

	if (str_to_long(arg, &secs) < 0 || secs < 0) {
		msg_warn("restriction sleep: bad argument \"%s\"", arg);
		return server_error(e);
	}
	if (e->rs == NULL || e->c->lp == NULL || secs == 0)
		return R_DUNNO;
	snprintf(key, sizeof(key), "%d", e->sleeps++);
	struct memo *m = memo_find(e->rs, M_SLEEP, key);
	if (m != NULL && m->done)
		return R_DUNNO;
	if (e->pending || m != NULL) { /* no sleep started speculatively */
		e->pending = 1;
		return R_DUNNO;
	}
	m = memo_add(e->rs, M_SLEEP, key);
	e->pending = 1;
	if (m == NULL) {
		e->nomemo = 1;
		return R_DUNNO;
	}
	loop_timer_init(&m->t, sleep_done, m);
	loop_timer_set(e->c->lp, &m->t, (uint64_t)secs * 1000);
	return R_DUNNO;
}

static int r_unauth_pipelining(struct ev *e, const struct stg *st,
			       const char *arg)
{
	(void)arg;
	if (!e->x->ill_pipelining)
		return R_DUNNO;
	return reject(e, 503, "5.5.0",
		      "<%s>: %s rejected: Improper use of SMTP command "
		      "pipelining",
		      st->name, st->cls);
}

static int r_permit_mynetworks(struct ev *e, const struct stg *st,
			       const char *arg)
{
	(void)st, (void)arg;
	return restrict_in_mynetworks(e->c, e->x->client_addr) ? R_OK
							       : R_DUNNO;
}

static int r_permit_sasl(struct ev *e, const struct stg *st, const char *arg)
{
	(void)st, (void)arg;
	return e->x->sasl_username != NULL && *e->x->sasl_username ? R_OK
								   : R_DUNNO;
}

/* Sender-specified routing in the local part ("u%far@ours",
 * "far!u@ours", "@a:u@ours" leftovers): Postfix's allow_untrusted_routing
 * = no treats such a recipient as not ours, so that nobody relays through
 * us by routing past our domain. */
static int routed(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);

	for (size_t i = 0; i < n; i++)
		if (addr[i] == '@' || addr[i] == '!' || addr[i] == '%')
			return 1;
	return 0;
}

static int auth_destination(struct restrict_cfg *c, const char *rcpt)
{
	const char *d = domain_of(rcpt);
	if (routed(rcpt))
		return 0;
	return restrict_local_domain(c, d) || restrict_relay_domain(c, d);
}

static int r_permit_auth_dest(struct ev *e, const struct stg *st,
			      const char *arg)
{
	(void)st, (void)arg;
	if (e->x->recipient == NULL)
		return R_DUNNO;
	return auth_destination(e->c, e->x->recipient) ? R_OK : R_DUNNO;
}

static int unauth(struct ev *e, int code)
{
	if (e->x->recipient == NULL || auth_destination(e->c, e->x->recipient))
		return R_DUNNO;
	return reject(e, code, "5.7.1", "<%s>: Relay access denied",
		      e->x->recipient);
}

static int r_reject_unauth_dest(struct ev *e, const struct stg *st,
				const char *arg)
{
	(void)st, (void)arg;
	return unauth(e, e->c->relay_code);
}

static int r_defer_unauth_dest(struct ev *e, const struct stg *st,
			       const char *arg)
{
	(void)st, (void)arg;
	return unauth(e, 454);
}

/* mail_addr_find() with Postfix's default strategy: user+foo@domain,
 * user@domain, then for a local domain user+foo and user, then @domain.
 * 1 found, 0 not, -1 a table failed. */
static int addr_find(struct restrict_cfg *c, const struct maplist *m,
		     const char *addr, int local)
{
	const char *at = strrchr(addr, '@'), *v;
	size_t ll = at != NULL ? (size_t)(at - addr) : strlen(addr);
	size_t cut = restrict_ext_cut(addr, ll, c->delim, c->double_bounce);
	const char *dom = at != NULL ? at : "";
	char key[1024];
	int r;

	if ((r = maplist_get(m, addr, &v)) != 0)
		return r;
	if (cut < ll) {
		snprintf(key, sizeof(key), "%.*s%s", (int)cut, addr, dom);
		if ((r = maplist_get(m, key, &v)) != 0)
			return r;
	}
	if (local) {
		snprintf(key, sizeof(key), "%.*s", (int)ll, addr);
		if ((r = maplist_get(m, key, &v)) != 0)
			return r;
		if (cut < ll) {
			key[cut] = 0;
			if ((r = maplist_get(m, key, &v)) != 0)
				return r;
		}
	}
	if (at == NULL || at[1] == 0)
		return 0;
	return maplist_get(m, at, &v);
}

/* check_rcpt_maps(): local_recipient_maps for mydestination,
 * relay_recipient_maps for relay_domains. */
static int rcpt_maps(struct ev *e, const char *addr, const char *cls)
{
	struct restrict_cfg *c = e->c;
	const char *d = domain_of(addr);
	const char *at = strrchr(addr, '@');
	size_t ll = at != NULL ? (size_t)(at - addr) : strlen(addr);
	int sender = strcmp(cls, "Sender address") == 0;
	int r;

	if (*addr == 0 || routed(addr))
		return R_DUNNO;
	if (restrict_local_domain(c, d)) {
		if (!c->local_maps_set)
			return R_DUNNO;
		const char *db = c->double_bounce;
		/* abuse too: local delivery makes it exist (alias.c) */
		if ((ll == 10 && str_ncasecmp(addr, "postmaster", 10) == 0) ||
		    (ll == 5 && str_ncasecmp(addr, "abuse", 5) == 0) ||
		    (ll == 13 && str_ncasecmp(addr, "mailer-daemon", 13) == 0) ||
		    (ll == strlen(db) && str_ncasecmp(addr, db, ll) == 0))
			return R_DUNNO;
		r = addr_find(c, &c->local_maps, addr, 1);
		if (r > 0)
			return R_DUNNO;
		if (r < 0)
			return lookup_failure(e, addr, cls);
		return reject(e, c->local_code, sender ? "5.1.0" : "5.1.1",
			      "<%s>: %s rejected: User unknown in local "
			      "recipient table",
			      addr, cls);
	}
	if (restrict_relay_domain(c, d)) {
		if (c->rcpt_maps.n == 0)
			return R_DUNNO;
		r = addr_find(c, &c->rcpt_maps, addr, 0);
		if (r > 0)
			return R_DUNNO;
		if (r < 0)
			return lookup_failure(e, addr, cls);
		return reject(e, c->relay_rcpt_code, sender ? "5.1.0" : "5.1.1",
			      "<%s>: %s rejected: User unknown in relay "
			      "recipient table",
			      addr, cls);
	}
	return R_DUNNO;
}

static int r_unlisted_rcpt(struct ev *e, const struct stg *st,
			   const char *arg)
{
	(void)st, (void)arg;
	if (e->x->recipient == NULL)
		return R_DUNNO;
	return rcpt_maps(e, e->x->recipient, "Recipient address");
}

static int r_unlisted_sender(struct ev *e, const struct stg *st,
			     const char *arg)
{
	(void)st, (void)arg;
	if (e->x->sender == NULL)
		return R_DUNNO;
	return rcpt_maps(e, e->x->sender, "Sender address");
}

static void namaddr(const struct restrict_ctx *x, char *out, size_t n)
{
	snprintf(out, n, "%s[%s]", x->client_name ? x->client_name : "unknown",
		 x->client_addr ? x->client_addr : "unknown");
}

static int known_name(const char *n)
{
	return n != NULL && *n != 0 && strcmp(n, "unknown") != 0;
}

/* check_client_access() and its reverse-name form (Postfix's
 * check_namadr_access): the name and its parent domains, then the address
 * and its prefixes. As in Postfix the name is looked up even when it is
 * "unknown", so a table can say what to do with nameless clients. */
static int client_access(struct ev *e, const struct stg *st, const char *t,
			 const char *name, const char *reply, const char *cls)
{
	int found, r;

	if (name != NULL && *name != 0) {
		r = domain_access(e, st, t, name, 1, reply, cls, &found);
		if (found || r != R_DUNNO)
			return r;
	}
	if (e->x->client_addr == NULL)
		return R_DUNNO;
	return addr_access(e, st, t, e->x->client_addr, 1, reply, cls, &found);
}

/* forbid_allowlist(): an OK from a table that the client controls (its
 * reverse name, the MX or name servers of a name it chose) would let
 * anybody in; Postfix refuses it as a configuration error. */
static int forbid_ok(struct ev *e, int r, const char *target)
{
	if (r != R_OK || e->act.discard)
		return r;
	ev_warn(e, "restriction %s returns OK for %s", e->cur, target);
	ev_warn(e, "this is not allowed for security reasons");
	ev_warn(e, "use DUNNO instead of OK if you want to make an exception");
	return server_error(e);
}

static int r_check_client(struct ev *e, const struct stg *st, const char *t)
{
	char na[600];
	namaddr(e->x, na, sizeof(na));
	return client_access(e, st, t,
			     e->x->client_name ? e->x->client_name : "unknown",
			     na, "Client host");
}

/* Postfix names the unverified name in the reply, not name[addr]. */
static int r_check_reverse_client(struct ev *e, const struct stg *st,
				  const char *t)
{
	const char *rev = e->x->reverse_name ? e->x->reverse_name : "unknown";
	return forbid_ok(
		e, client_access(e, st, t, rev, rev, "Unverified Client host"),
		rev);
}

static int r_check_helo(struct ev *e, const struct stg *st, const char *t)
{
	int found;
	if (e->x->helo == NULL)
		return R_DUNNO;
	return domain_access(e, st, t, e->x->helo, 1, e->x->helo,
			     "Helo command", &found);
}

static int r_check_sender(struct ev *e, const struct stg *st, const char *t)
{
	int found;
	const char *s = e->x->sender;
	if (s == NULL)
		return R_DUNNO;
	if (*s == 0) {
		struct dict *d = table(e->c, t);
		int r = R_DUNNO;
		if (d == NULL)
			return table_error(e, st, t, e->c->null_key, s,
					   "Sender address", 0);
		lookup(e, st, t, d, e->c->null_key, s, "Sender address", &r);
		return r;
	}
	return mail_access(e, st, t, s, s, "Sender address", &found);
}

static int r_check_recipient(struct ev *e, const struct stg *st,
			     const char *t)
{
	int found;
	const char *s = e->x->recipient;
	if (s == NULL)
		return R_DUNNO;
	int r = mail_access(e, st, t, s, s, "Recipient address", &found);
	/* routed recipients are too suspicious for an OK */
	return r == R_OK && routed(s) ? R_DUNNO : r;
}

/* The addresses of host (A, and AAAA unless inet_protocols = ipv4), each
 * with its shorter prefixes (check_addr_access). *looked is set when some
 * address lookup answered (else the host has no address we can check). */
static int host_addr_access(struct ev *e, const struct stg *st, const char *t,
			    const char *host, const char *name, const char *cls,
			    int *found, int *looked, int *tempfail)
{
	static const uint16_t types[2] = {DNS_T_A, DNS_T_AAAA};
	int status, r;
	const char *val;
	char line[600];

	*found = 0;
	for (int i = 0; i < (e->c->ipv6 ? 2 : 1); i++) {
		if (!dns_get(e, host, types[i], &status, &val))
			continue;
		if (status == DNS_TEMPFAIL)
			*tempfail = 1;
		while (status == DNS_OK &&
		       next_line(&val, line, sizeof(line))) {
			*looked = 1;
			r = addr_access(e, st, t, line, 1, name, cls, found);
			if (*found || r != R_DUNNO)
				return r;
		}
	}
	return R_DUNNO;
}

/* Postfix's check_server_access(): the MX hosts (type MX; the domain
 * itself when it has no MX record, nothing for a null MX), the name
 * servers (NS; those of the nearest parent domain that has some), or the
 * domain itself (A) of the domain in addr (after any '@'); each host by
 * name with its parent domains (not for A) and then by its addresses,
 * with their prefixes (so cidr tables see every address). An address
 * literal [ip] is its own MX host. A lookup that fails gives no decision
 * (Postfix logs "Unable to look up ..."). */
static int server_access(struct ev *e, const struct stg *st, const char *t,
			 const char *addr, uint16_t type, const char *name,
			 const char *cls)
{
	int status, found, r;
	const char *val, *p;
	const char *tname = type == DNS_T_MX   ? "MX"
			    : type == DNS_T_NS ? "NS"
					       : "A";
	char line[600];
	char hosts[MX_HOSTS_MAX][256];
	size_t nh = 0;

	if (addr == NULL)
		return R_DUNNO;
	const char *at = strrchr(addr, '@');
	const char *domain = at != NULL ? at + 1 : addr;
	if (*domain == 0)
		return R_DUNNO;
	if (*domain == '[') {
		size_t n = strlen(domain);
		char lit[128];
		unsigned char a[16];
		if (type == DNS_T_NS || domain[n - 1] != ']' || n - 2 >= 128)
			return R_DUNNO;
		snprintf(lit, sizeof(lit), "%.*s", (int)(n - 2), domain + 1);
		const char *bare =
			str_ncasecmp(lit, "ipv6:", 5) == 0 ? lit + 5 : lit;
		if (inet_pton(AF_INET, bare, a) != 1 &&
		    (bare == lit || inet_pton(AF_INET6, bare, a) != 1))
			return R_DUNNO;
		return addr_access(e, st, t, bare, 1, name, cls, &found);
	}
	if (type == DNS_T_A) {
		snprintf(hosts[nh++], sizeof(hosts[0]), "%.255s", domain);
	} else {
		const char *d = domain;
		for (;;) {
			if (!dns_get(e, d, type, &status, &val))
				return R_DUNNO;
			if (status != DNS_NOTFOUND && status != DNS_NODATA)
				break;
			if (type == DNS_T_MX)
				break;
			/* NS: the nearest parent domain that has some */
			const char *dot = strchr(d, '.');
			if (dot == NULL || dot[1] == 0)
				break;
			d = dot + 1;
		}
		if (type == DNS_T_MX &&
		    (status == DNS_NOTFOUND || status == DNS_NODATA)) {
			/* no MX: the domain is its own mail host (also for
			 * NXDOMAIN, as Postfix works around broken servers) */
			snprintf(hosts[nh++], sizeof(hosts[0]), "%.255s",
				 domain);
		} else if (status != DNS_OK) {
			ev_warn(e, "Unable to look up %s host for %s: %s",
				tname, domain,
				status == DNS_TEMPFAIL
					? "Host not found, try again"
					: "Host not found");
			return R_DUNNO;
		}
		p = val;
		while (status == DNS_OK && nh < MX_HOSTS_MAX &&
		       next_line(&p, line, sizeof(line))) {
			const char *h = line;
			if (type == DNS_T_MX) {
				const char *sp = strchr(line, ' ');
				h = sp != NULL ? sp + 1 : line;
				if (strcmp(h, ".") == 0)
					return R_DUNNO; /* null MX */
			}
			snprintf(hosts[nh++], sizeof(hosts[0]), "%.255s", h);
		}
	}
	for (size_t i = 0; i < nh; i++) {
		unsigned char a[16];
		int looked = 0, tf = 0;
		if (inet_pton(AF_INET, hosts[i], a) == 1 ||
		    inet_pton(AF_INET6, hosts[i], a) == 1) {
			r = addr_access(e, st, t, hosts[i], 1, name, cls,
					&found);
			if (found || r != R_DUNNO)
				return r;
			continue;
		}
		if (type != DNS_T_A) {
			r = domain_access(e, st, t, hosts[i], 1, name, cls,
					  &found);
			if (found || r != R_DUNNO)
				return r;
		}
		int pend = e->pending;
		e->pending = 0;
		r = host_addr_access(e, st, t, hosts[i], name, cls, &found,
				     &looked, &tf);
		int now_pending = e->pending;
		e->pending = pend || now_pending;
		if (found || r != R_DUNNO)
			return r;
		if (!now_pending && !looked && type != DNS_T_A)
			ev_warn(e, "Unable to look up %s host %s for %s %s: %s",
				tname, hosts[i], cls, name,
				tf ? "Temporary failure in name resolution"
				   : "Name or service not known");
	}
	return R_DUNNO;
}

/* check_{client,reverse_client,helo,sender,recipient}_{a,mx,ns}_access,
 * told apart by the restriction's name: what they look at as Postfix's
 * generic_checks() (an unknown client name, an empty address: nothing),
 * and OK refused (forbid_ok). */
static int r_server(struct ev *e, const struct stg *st, const char *t)
{
	const struct restrict_ctx *x = e->x;
	const char *n = e->cur + 6; /* after "check_" */
	const char *target, *reply, *cls;
	char na[600];

	if (strncmp(n, "client_", 7) == 0) {
		target = x->client_name;
		if (!known_name(target))
			return R_DUNNO;
		namaddr(x, na, sizeof(na));
		reply = na;
		cls = "Client host";
	} else if (strncmp(n, "reverse_client_", 15) == 0) {
		target = reply = x->reverse_name;
		if (!known_name(target))
			return R_DUNNO;
		cls = "Unverified Client host";
	} else if (strncmp(n, "helo_", 5) == 0) {
		target = reply = x->helo;
		cls = "Helo command";
	} else if (strncmp(n, "sender_", 7) == 0) {
		target = reply = x->sender;
		cls = "Sender address";
	} else {
		target = reply = x->recipient;
		cls = "Recipient address";
	}
	if (target == NULL || *target == 0)
		return R_DUNNO;
	const char *suffix = strrchr(e->cur, '_'); /* "_access" */
	const char *type = suffix;
	while (type > e->cur && type[-1] != '_')
		type--;
	uint16_t qt = strncmp(type, "mx_", 3) == 0   ? DNS_T_MX
		      : strncmp(type, "ns_", 3) == 0 ? DNS_T_NS
						     : DNS_T_A;
	return forbid_ok(e, server_access(e, st, t, target, qt, reply, cls),
			 target);
}

/* ---- DNS lists ---- */

struct rbl_exp {
	const struct ev *e;
	const char *code, *domain, *reason, *what, *cls;
};

static const char *rbl_var(const struct rbl_exp *r, const char *n, size_t l)
{
	const struct restrict_ctx *x = r->e->x;
#define IS(s) (l == sizeof(s) - 1 && memcmp(n, s, l) == 0)
	if (IS("rbl_code"))
		return r->code;
	if (IS("rbl_domain"))
		return r->domain;
	if (IS("rbl_reason") || IS("rbl_txt"))
		return r->reason;
	if (IS("rbl_what"))
		return r->what;
	if (IS("rbl_class"))
		return r->cls;
	if (IS("client_address"))
		return x->client_addr ? x->client_addr : "";
	if (IS("client_name"))
		return x->client_name ? x->client_name : "unknown";
	if (IS("reverse_client_name"))
		return x->reverse_name ? x->reverse_name : "unknown";
	if (IS("helo_name"))
		return x->helo ? x->helo : "";
	if (IS("sender"))
		return x->sender ? x->sender : "";
	if (IS("recipient"))
		return x->recipient ? x->recipient : "";
#undef IS
	return NULL;
}

/* mac_expand() for reply templates: $name, ${name}, ${name?text},
 * ${name:text}, $$. 0, or -1 when malformed. */
static int expand(struct buf *out, const char *t, const struct rbl_exp *r,
		  int depth)
{
	while (*t) {
		if (*t != '$') {
			buf_putc(out, *t++);
			continue;
		}
		t++;
		if (*t == '$') {
			buf_putc(out, *t++);
			continue;
		}
		const char *n = t, *alt = NULL;
		size_t nl = 0, altl = 0;
		char op = 0;
		if (*t == '{') {
			n = ++t;
			while (*t && *t != '}' && *t != '?' && *t != ':')
				t++;
			nl = (size_t)(t - n);
			if (*t == '?' || *t == ':') {
				op = *t++;
				alt = t;
				int d = 1;
				while (*t && d > 0) {
					if (*t == '{')
						d++;
					else if (*t == '}')
						d--;
					if (d > 0)
						t++;
				}
				altl = (size_t)(t - alt);
			}
			if (*t != '}')
				return -1;
			t++;
		} else {
			while ((*t >= 'a' && *t <= 'z') || *t == '_' ||
			       (*t >= '0' && *t <= '9') ||
			       (*t >= 'A' && *t <= 'Z'))
				t++;
			nl = (size_t)(t - n);
			if (nl == 0)
				return -1;
		}
		const char *v = rbl_var(r, n, nl);
		int set = v != NULL && *v != 0;
		if (op == 0) {
			if (v != NULL)
				buf_puts(out, v);
		} else if ((op == '?' && set) || (op == ':' && !set)) {
			char *a = mem_strndup(alt, altl);
			int x = depth < 5 ? expand(out, a, r, depth + 1) : -1;
			mem_free(a);
			if (x < 0)
				return -1;
		}
	}
	return 0;
}

/* rbl_reject_reply() */
static int rbl_reply(struct ev *e, const char *zone_spec, const char *txt,
		     const char *what, const char *cls)
{
	struct restrict_cfg *c = e->c;
	char domain[300], code[8];
	const char *tmpl = NULL;
	struct buf why;

	snprintf(domain, sizeof(domain), "%s", zone_spec);
	char *eq = strchr(domain, '=');
	if (eq != NULL)
		*eq = 0;
	if (c->rbl_reply.n > 0) {
		int r = maplist_get(&c->rbl_reply, zone_spec, &tmpl);
		if (r == 0 && strcmp(zone_spec, domain) != 0)
			r = maplist_get(&c->rbl_reply, domain, &tmpl);
		if (r <= 0)
			tmpl = NULL;
		if (r < 0)
			return server_error(e);
	}
	snprintf(code, sizeof(code), "%d", c->rbl_code);
	struct rbl_exp x = {e, code, domain, txt, what, cls};
	buf_init(&why, 8192);
	char *t = mem_strdup(tmpl != NULL ? tmpl : c->rbl_template);
	if (expand(&why, t, &x, 0) < 0) {
		msg_warn("bad rbl reply template for domain %s: %s", domain, t);
		buf_reset(&why);
		expand(&why,
		       "$rbl_code Service unavailable; $rbl_class [$rbl_what] "
		       "blocked using $rbl_domain${rbl_reason?; $rbl_reason}",
		       &x, 0);
	}
	mem_free(t);
	const char *w = why.data;
	int r;
	if ((w[0] != '4' && w[0] != '5') || w[1] < '0' || w[1] > '9' ||
	    w[2] < '0' || w[2] > '9' || w[3] != ' ') {
		msg_warn("rbl response code configuration error: %s", w);
		r = reject(e, 450, "4.7.1", "Service unavailable");
	} else {
		int cd = (w[0] - '0') * 100 + (w[1] - '0') * 10 + (w[2] - '0');
		size_t dl, ro;
		char dsn[ACCESS_DSN_MAX] = "4.7.1";
		const char *rest = w + 4;
		if (access_dsn_split(rest, strlen(rest), &dl, &ro)) {
			snprintf(dsn, sizeof(dsn), "%.*s", (int)dl, rest);
			rest += ro;
		}
		r = reject(e, cd, dsn, "%s", *rest ? rest : "Service unavailable");
	}
	buf_free(&why);
	return r;
}

/* The query name for an address: reversed octets or nibbles. */
int restrict_reverse_addr(const char *addr, const char *zone, char *q, size_t n)
{
	unsigned char a[16];
	struct buf b;

	buf_init(&b, 512);
	if (inet_pton(AF_INET, addr, a) == 1) {
		buf_printf(&b, "%u.%u.%u.%u.", a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		for (int i = 15; i >= 0; i--)
			buf_printf(&b, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	} else {
		buf_free(&b);
		return -1;
	}
	buf_puts(&b, zone);
	snprintf(q, n, "%s", buf_str(&b));
	buf_free(&b);
	return 0;
}

/* 1 listed (reply filter passed; *txt the reason), 0 not listed,
 * -1 lookup failure, 2 pending. */
static int dnsxl(struct ev *e, const char *query, const char *filter,
		 const char **txt)
{
	int status;
	const char *val, *p;
	char line[64];

	*txt = "";
	if (!dns_get(e, query, DNS_T_A, &status, &val))
		return 2;
	if (status == DNS_TEMPFAIL) {
		msg_warn("%s: RBL lookup error: Host or domain name not found. "
			 "Name service error for name=%s type=A: Host not "
			 "found, try again",
			 query, query);
		return -1;
	}
	if (status != DNS_OK)
		return 0;
	if (filter != NULL) {
		int hit = 0;
		p = val;
		while (!hit && next_line(&p, line, sizeof(line))) {
			int m = restrict_ip_match(filter, line);
			if (m < 0) {
				msg_warn("RBL reply error: bad pattern %s",
					 filter);
				return 0;
			}
			hit = m;
		}
		if (!hit)
			return 0;
	}
	if (!dns_get(e, query, DNS_T_TXT, &status, &val))
		return 2;
	*txt = status == DNS_OK ? val : "";
	return 1;
}

/* TXT records joined with " / ", at most RBL_TXT_LIMIT bytes. */
static void rbl_txt(const char *val, char *out, size_t n)
{
	struct buf b;
	const char *p = val;
	char line[1024];

	buf_init(&b, RBL_TXT_LIMIT + 8);
	while (next_line(&p, line, sizeof(line))) {
		if (b.len > 0)
			buf_puts(&b, " / ");
		buf_puts(&b, line);
	}
	if (b.len > RBL_TXT_LIMIT)
		buf_truncate(&b, RBL_TXT_LIMIT);
	snprintf(out, n, "%s", buf_str(&b));
	buf_free(&b);
}

static int rbl_split(const char *spec, char *zone, size_t zn,
		     const char **filter)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq != NULL ? (size_t)(eq - spec) : strlen(spec);
	if (n == 0 || n >= zn)
		return -1;
	memcpy(zone, spec, n);
	zone[n] = 0;
	*filter = eq != NULL ? eq + 1 : NULL;
	return 0;
}

static int r_rbl_client(struct ev *e, const struct stg *st, const char *arg)
{
	char zone[300], q[600], txt[RBL_TXT_LIMIT + 8];
	const char *filter, *t;
	(void)st;

	if (e->x->client_addr == NULL ||
	    rbl_split(arg, zone, sizeof(zone), &filter) < 0 ||
	    restrict_reverse_addr(e->x->client_addr, zone, q, sizeof(q)) < 0)
		return R_DUNNO;
	if (dnsxl(e, q, filter, &t) != 1)
		return R_DUNNO;
	rbl_txt(t, txt, sizeof(txt));
	return rbl_reply(e, arg, txt, e->x->client_addr, "Client host");
}

static int r_dnswl_client(struct ev *e, const struct stg *st, const char *arg)
{
	char zone[300], q[600];
	const char *filter, *t;
	(void)st;

	if (e->x->client_addr == NULL ||
	    rbl_split(arg, zone, sizeof(zone), &filter) < 0 ||
	    restrict_reverse_addr(e->x->client_addr, zone, q, sizeof(q)) < 0)
		return R_DUNNO;
	/* safety: never allow-list past reject_unauth_destination */
	if (e->x->recipient != NULL && e->x->cmd != NULL &&
	    strcmp(e->x->cmd, "RCPT") == 0 &&
	    !auth_destination(e->c, e->x->recipient))
		return R_DUNNO;
	int r = dnsxl(e, q, filter, &t);
	if (r == 1)
		return R_OK;
	if (r < 0)
		defer_if(&e->dir, 450, "4.7.1", "<%s>: %s rejected: %s",
			 e->x->client_addr, "Client host",
			 "Service unavailable");
	return R_DUNNO;
}

static int rhsbl(struct ev *e, const char *arg, const char *what,
		 const char *cls, int permit)
{
	char zone[300], q[800], txt[RBL_TXT_LIMIT + 8];
	const char *filter, *t;

	if (what == NULL || *what == 0)
		return R_DUNNO;
	const char *dom = strrchr(what, '@');
	dom = dom != NULL ? dom + 1 : what;
	if (*dom == 0 || *dom == '[')
		return R_DUNNO;
	const char *dot = strrchr(dom, '.');
	const char *last = dot != NULL ? dot + 1 : dom;
	if (strspn(last, "0123456789") == strlen(last))
		return R_DUNNO; /* numeric suffix: skipped, as Postfix */
	if (rbl_split(arg, zone, sizeof(zone), &filter) < 0)
		return R_DUNNO;
	snprintf(q, sizeof(q), "%s.%s", dom, zone);
	int r = dnsxl(e, q, filter, &t);
	if (permit) {
		if (r == 1)
			return R_OK;
		if (r < 0)
			defer_if(&e->dir, 450, "4.7.1",
				 "<%s>: %s rejected: %s", what, cls,
				 "Service unavailable");
		return R_DUNNO;
	}
	if (r != 1)
		return R_DUNNO;
	rbl_txt(t, txt, sizeof(txt));
	return rbl_reply(e, arg, txt, what, cls);
}

static int r_rhsbl_client(struct ev *e, const struct stg *st, const char *a)
{
	(void)st;
	if (!known_name(e->x->client_name))
		return R_DUNNO;
	return rhsbl(e, a, e->x->client_name, "Client host", 0);
}

static int r_rhsbl_reverse(struct ev *e, const struct stg *st, const char *a)
{
	(void)st;
	if (!known_name(e->x->reverse_name))
		return R_DUNNO;
	return rhsbl(e, a, e->x->reverse_name, "Unverified Client host", 0);
}

static int r_rhsbl_helo(struct ev *e, const struct stg *st, const char *a)
{
	(void)st;
	return rhsbl(e, a, e->x->helo, "Helo command", 0);
}

static int r_rhsbl_sender(struct ev *e, const struct stg *st, const char *a)
{
	(void)st;
	return rhsbl(e, a, e->x->sender, "Sender address", 0);
}

static int r_rhsbl_recipient(struct ev *e, const struct stg *st,
			     const char *a)
{
	(void)st;
	return rhsbl(e, a, e->x->recipient, "Recipient address", 0);
}

static int r_rhswl_client(struct ev *e, const struct stg *st, const char *a)
{
	(void)st;
	if (!known_name(e->x->client_name))
		return R_DUNNO;
	if (e->x->recipient != NULL && e->x->cmd != NULL &&
	    strcmp(e->x->cmd, "RCPT") == 0 &&
	    !auth_destination(e->c, e->x->recipient))
		return R_DUNNO;
	return rhsbl(e, a, e->x->client_name, "Client host", 1);
}

/* ---- names and domains ---- */

static int addr_literal(const char *h)
{
	size_t n = strlen(h);
	unsigned char a[16];
	char tmp[64];

	if (n < 3 || h[0] != '[' || h[n - 1] != ']' || n - 2 >= sizeof(tmp))
		return 0;
	memcpy(tmp, h + 1, n - 2);
	tmp[n - 2] = 0;
	if (str_ncasecmp(tmp, "ipv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, a) == 1;
	return inet_pton(AF_INET, tmp, a) == 1;
}

/* Postfix valid_hostname(): letters, digits, "-", "_" in labels of 1..63 that
 * do not start or end with '-', at most 255 in all, not all numeric. */
int restrict_valid_hostname(const char *h)
{
	size_t n = strlen(h), label = 0;
	int alpha = 0;

	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
		if (!(ch >= '0' && ch <= '9'))
			alpha = 1;
	}
	if (h[n - 1] == '-')
		return 0;
	return alpha;
}

static int r_invalid_helo(struct ev *e, const struct stg *st, const char *a)
{
	const char *h = e->x->helo;
	(void)st, (void)a;
	if (h == NULL)
		return R_DUNNO;
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s", h);
	size_t n = strlen(tmp);
	if (n > 1 && tmp[n - 1] == '.')
		tmp[n - 1] = 0;
	if (addr_literal(h) || restrict_valid_hostname(tmp))
		return R_DUNNO;
	return reject(e, e->c->invalid_code, "5.5.2",
		      "<%s>: Helo command rejected: Invalid name", h);
}

static int r_non_fqdn_helo(struct ev *e, const struct stg *st, const char *a)
{
	const char *h = e->x->helo;
	(void)st, (void)a;
	if (h == NULL || addr_literal(h))
		return R_DUNNO;
	const char *dot = strchr(h, '.');
	if (dot != NULL && dot != h && dot[1] != 0)
		return R_DUNNO;
	return reject(e, e->c->non_fqdn_code, "5.5.2",
		      "<%s>: Helo command rejected: need fully-qualified "
		      "hostname",
		      h);
}

static int non_fqdn_addr(struct ev *e, const char *addr, const char *cls)
{
	if (addr == NULL || *addr == 0)
		return R_DUNNO;
	const char *d = domain_of(addr);
	if (*d == '[' && addr_literal(d))
		return R_DUNNO;
	const char *dot = strchr(d, '.');
	if (*d != 0 && dot != NULL && dot != d && dot[1] != 0)
		return R_DUNNO;
	return reject(e, e->c->non_fqdn_code, "5.5.2",
		      "<%s>: %s rejected: need fully-qualified address", addr,
		      cls);
}

static int r_non_fqdn_sender(struct ev *e, const struct stg *st,
			     const char *a)
{
	(void)st, (void)a;
	return non_fqdn_addr(e, e->x->sender, "Sender address");
}

static int r_non_fqdn_rcpt(struct ev *e, const struct stg *st, const char *a)
{
	(void)st, (void)a;
	if (e->x->recipient != NULL &&
	    str_casecmp(e->x->recipient, "postmaster") == 0)
		return R_DUNNO;
	return non_fqdn_addr(e, e->x->recipient, "Recipient address");
}

/* Does name have a mail host: MX, else A, else AAAA? 1 yes, 0 no
 * (*nullmx when its MX is "0 ."), -1 temporary failure, 2 pending. */
static int mail_host(struct ev *e, const char *name, int mx, int *nullmx)
{
	int status;
	const char *val;

	*nullmx = 0;
	if (mx) {
		if (!dns_get(e, name, DNS_T_MX, &status, &val))
			return 2;
		if (status == DNS_OK) {
			if (strcmp(val, "0 .\n") == 0)
				*nullmx = 1;
			return 1;
		}
		if (status == DNS_NOTFOUND)
			return 0;
		if (status == DNS_TEMPFAIL)
			return -1;
	}
	if (!dns_get(e, name, DNS_T_A, &status, &val))
		return 2;
	if (status == DNS_OK)
		return 1;
	if (status == DNS_NOTFOUND)
		return 0;
	if (status == DNS_TEMPFAIL)
		return -1;
	if (!dns_get(e, name, DNS_T_AAAA, &status, &val))
		return 2;
	if (status == DNS_OK)
		return 1;
	return status == DNS_TEMPFAIL ? -1 : 0;
}

static int r_unknown_helo(struct ev *e, const struct stg *st, const char *a)
{
	const char *h = e->x->helo;
	int nullmx;
	(void)st, (void)a;

	if (h == NULL || addr_literal(h) || *h == '[')
		return R_DUNNO;
	int r = mail_host(e, h, 1, &nullmx);
	if (r == 1 || r == 2)
		return R_DUNNO;
	if (r < 0)
		return tempfail(e, 450, "4.7.1", h, "Helo command",
				"Host not found");
	return reject(e, e->c->unk_host_code, "4.7.1",
		      "<%s>: Helo command rejected: Host not found", h);
}

static int unknown_domain(struct ev *e, const char *addr, const char *cls,
			  int sender)
{
	int nullmx;
	if (addr == NULL || *addr == 0)
		return R_DUNNO;
	const char *d = domain_of(addr);
	if (*d == 0 || *d == '[' || restrict_local_domain(e->c, d))
		return R_DUNNO;
	int r = mail_host(e, d, 1, &nullmx);
	if (r == 2)
		return R_DUNNO;
	if (r < 0)
		return tempfail(e, 450, sender ? "4.1.8" : "4.1.2", addr, cls,
				"Domain not found");
	if (r == 1 && nullmx)
		return reject(e, sender ? 550 : 556,
			      sender ? "5.7.27" : "5.1.10",
			      "<%s>: %s rejected: Domain %s does not accept "
			      "mail (nullMX)",
			      addr, cls, d);
	if (r == 1)
		return R_DUNNO;
	return reject(e, e->c->unk_addr_code, sender ? "4.1.8" : "4.1.2",
		      "<%s>: %s rejected: Domain not found", addr, cls);
}

static int r_unknown_sender_domain(struct ev *e, const struct stg *st,
				   const char *a)
{
	(void)st, (void)a;
	return unknown_domain(e, e->x->sender, "Sender address", 1);
}

static int r_unknown_rcpt_domain(struct ev *e, const struct stg *st,
				 const char *a)
{
	(void)st, (void)a;
	return unknown_domain(e, e->x->recipient, "Recipient address", 0);
}

/* reject_unknown_client_hostname and reject_unknown_reverse_client_hostname
 * (Postfix's reject_unknown_client, reject_unknown_reverse_name): the
 * status of the names smtpd looked up at connect (peer.h). */
static int peer_status(const char *name, int status)
{
	if (status != 0)
		return status;
	return known_name(name) ? SMTPD_PEER_OK : SMTPD_PEER_PERM;
}

static int unknown_client(struct ev *e, int forward)
{
	const struct restrict_ctx *x = e->x;
	int st = forward ? peer_status(x->client_name, x->name_status)
			 : peer_status(x->reverse_name, x->reverse_status);

	if (st == SMTPD_PEER_OK)
		return R_DUNNO;
	if (forward)
		return reject(
			e, st >= SMTPD_PEER_PERM ? e->c->unk_client_code : 450,
			"4.7.25",
			"Client host rejected: cannot find your "
			"hostname, [%s]",
			x->client_addr ? x->client_addr : "unknown");
	return reject(e, st == SMTPD_PEER_PERM ? e->c->unk_client_code : 450,
		      "4.7.1",
		      "Client host rejected: cannot find your reverse "
		      "hostname, [%s]",
		      x->client_addr ? x->client_addr : "unknown");
}

static int r_unknown_client(struct ev *e, const struct stg *st, const char *a)
{
	(void)st, (void)a;
	return unknown_client(e, 1);
}

static int r_unknown_reverse(struct ev *e, const struct stg *st,
			     const char *a)
{
	(void)st, (void)a;
	return unknown_client(e, 0);
}

static int r_multi_bounce(struct ev *e, const struct stg *st, const char *a)
{
	(void)a;
	const struct restrict_ctx *x = e->x;
	unsigned long min = x->cmd != NULL && strcmp(x->cmd, "RCPT") == 0 ? 0
									   : 1;
	if (x->sender == NULL || *x->sender != 0 || x->rcpt_count <= min)
		return R_DUNNO;
	return reject(e, e->c->multi_code, "5.5.3",
		      "<%s>: %s rejected: Multi-recipient bounce", st->name,
		      st->cls);
}

/* smtpd_sender_login_maps: the owners of the sender address. 1 found
 * (owners in out), 0 not, -1 error. */
static int sender_owners(struct ev *e, const char *s, char *out, size_t n)
{
	const char *v;
	char key[600];
	int r = maplist_get(&e->c->login_maps, s, &v);
	const char *at = strrchr(s, '@');
	if (r == 0 && at != NULL) {
		r = maplist_get(&e->c->login_maps, at, &v); /* "@domain" */
		if (r == 0) {
			snprintf(key, sizeof(key), "%.*s", (int)(at - s), s);
			r = maplist_get(&e->c->login_maps, key, &v);
		}
	}
	if (r > 0)
		snprintf(out, n, "%s", v);
	return r;
}

/* mode: 1 authenticated mismatch, 2 unauthenticated, 3 both, 5 known */
static int login_mismatch(struct ev *e, int mode)
{
	const struct restrict_ctx *x = e->x;
	char owners[2048];
	int authed = x->sasl_username != NULL && *x->sasl_username;

	if (e->c->login_maps.n == 0 || x->sender == NULL || *x->sender == 0)
		return R_DUNNO;
	int r = sender_owners(e, x->sender, owners, sizeof(owners));
	if (r < 0)
		return lookup_failure(e, x->sender, "Sender address");
	if (authed && (mode & 1)) {
		if (r == 0 && (mode & 4))
			return R_DUNNO;
		char *cur = owners, *tok;
		while (r > 0 && (tok = str_token(&cur, ", \t")) != NULL)
			if (str_casecmp(tok, x->sasl_username) == 0)
				return R_DUNNO;
		return reject(e, 553, "5.7.1",
			      "<%s>: Sender address rejected: not owned by "
			      "user %s",
			      x->sender, x->sasl_username);
	}
	if (!authed && (mode & 2) && r > 0)
		return reject(e, 553, "5.7.1",
			      "<%s>: Sender address rejected: not logged in",
			      x->sender);
	return R_DUNNO;
}

static int r_login_mismatch(struct ev *e, const struct stg *st, const char *a)
{
	(void)st, (void)a;
	return login_mismatch(e, 3);
}

static int r_auth_login_mismatch(struct ev *e, const struct stg *st,
				 const char *a)
{
	(void)st, (void)a;
	return login_mismatch(e, 1);
}

static int r_unauth_login_mismatch(struct ev *e, const struct stg *st,
				   const char *a)
{
	(void)st, (void)a;
	return login_mismatch(e, 2);
}

static int r_known_login_mismatch(struct ev *e, const struct stg *st,
				  const char *a)
{
	(void)st, (void)a;
	return login_mismatch(e, 1 | 2 | 4);
}

static int r_plaintext(struct ev *e, const struct stg *st, const char *a)
{
	(void)st, (void)a;
	if (e->x->tls_protocol != NULL && *e->x->tls_protocol)
		return R_DUNNO;
	return reject(e, code_param("plaintext_reject_code", 450), "4.7.1",
		      "Session encryption is required");
}

/* permit_tls_clientcerts: the client certificate's fingerprint is in
 * relay_clientcerts (Postfix: the certificate need not verify; the
 * client proved it holds the key); permit_tls_all_clientcerts: any
 * certificate that verified against smtpd_tls_CAfile/CApath. */
static int r_permit_ccert(struct ev *e, const struct stg *st, const char *a)
{
	const char *fp = e->x->ccert_fingerprint, *v;
	(void)st, (void)a;

	if (fp == NULL || *fp == 0)
		return R_DUNNO;
	int r = maplist_get(&e->c->clientcerts, fp, &v);
	if (r < 0)
		return server_error(e);
	return r > 0 ? R_OK : R_DUNNO;
}

static int r_permit_all_ccerts(struct ev *e, const struct stg *st,
			       const char *a)
{
	(void)st, (void)a;
	return e->x->ccert_fingerprint != NULL && *e->x->ccert_fingerprint &&
			       e->x->ccert_trusted
		       ? R_OK
		       : R_DUNNO;
}

static int r_unsupported(struct ev *e, const struct stg *st, const char *a)
{
	(void)e, (void)st, (void)a;
	return R_DUNNO;
}

/* ---- policy delegation ---- */

static void attr(struct buf *b, const char *name, const char *v)
{
	buf_printf(b, "%s=", name);
	for (const char *p = v != NULL ? v : ""; *p; p++)
		buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
	buf_putc(b, '\n');
}

/* The request as Postfix 3.7's check_policy_service() sends it, in its
 * order. */
static void policy_request(struct ev *e, const char *server, struct buf *b)
{
	const struct restrict_ctx *x = e->x;
	char num[32];
	const char *where = x->cmd ? x->cmd : "CONNECT";
	int data = strcmp(where, "DATA") == 0 || strcmp(where, "BDAT") == 0 ||
		   strcmp(where, "END-OF-MESSAGE") == 0;

	attr(b, "request", "smtpd_access_policy");
	attr(b, "protocol_state", strcmp(where, "BDAT") == 0 ? "DATA" : where);
	attr(b, "protocol_name", x->protocol ? x->protocol : "SMTP");
	attr(b, "client_address", x->client_addr);
	attr(b, "client_name", x->client_name ? x->client_name : "unknown");
	attr(b, "client_port", x->client_port);
	attr(b, "reverse_client_name",
	     x->reverse_name ? x->reverse_name
			     : (x->client_name ? x->client_name : "unknown"));
	attr(b, "server_address", x->server_addr);
	attr(b, "server_port", x->server_port);
	attr(b, "helo_name", x->helo);
	attr(b, "sender", x->sender);
	attr(b, "recipient", x->recipient);
	snprintf(num, sizeof(num), "%lu", data ? x->rcpt_count : 0);
	attr(b, "recipient_count", num);
	attr(b, "queue_id", x->queue_id);
	attr(b, "instance", x->instance);
	snprintf(num, sizeof(num), "%lu", x->size);
	attr(b, "size", num);
	attr(b, "etrn_domain", x->etrn_domain);
	attr(b, "stress", "");
	attr(b, "sasl_method", x->sasl_method);
	attr(b, "sasl_username", x->sasl_username);
	attr(b, "sasl_sender", x->sasl_sender);
	attr(b, "ccert_subject", "");
	attr(b, "ccert_issuer", "");
	attr(b, "ccert_fingerprint", "");
	attr(b, "ccert_pubkey_fingerprint", "");
	attr(b, "encryption_protocol", x->tls_protocol);
	attr(b, "encryption_cipher", x->tls_cipher);
	snprintf(num, sizeof(num), "%d", x->tls_protocol ? x->tls_keysize : 0);
	attr(b, "encryption_keysize", num);
	attr(b, "policy_context",
	     e->c->pol != NULL ? policy_context(e->c->pol, server) : "");
	buf_putc(b, '\n');
}

static int r_policy(struct ev *e, const struct stg *st, const char *server)
{
	struct buf req, key;
	int r = R_DUNNO;

	if (e->rs == NULL || e->c->pol == NULL)
		return R_DUNNO;
	if (e->pending) /* no query on speculation */
		return R_DUNNO;
	buf_init(&req, POLICY_REQUEST_MAX);
	buf_init(&key, POLICY_REQUEST_MAX + 1024);
	policy_request(e, server, &req);
	buf_printf(&key, "%s\n%s", server, buf_str(&req));
	struct memo *m = memo_find(e->rs, M_POLICY, buf_str(&key));
	if (m != NULL && m->done) {
		char *v = mem_strdup(m->val);
		r = table_result(e, st, server, v, "policy query", st->name,
				 st->cls);
		mem_free(v);
	} else if (m == NULL) {
		e->pending = 1;
		m = memo_add(e->rs, M_POLICY, buf_str(&key));
		if (m == NULL)
			e->nomemo = 1;
		else {
			m->pq = policy_query(e->c->pol, server, req.data,
					     req.len, policy_done, m);
			if (m->pq == NULL) { /* malformed server name */
				m->status = -1;
				m->val = mem_strdup(
					"451 4.3.5 Server configuration "
					"problem");
				m->done = 1;
				e->rs->npending--;
				e->pending = 0;
				r = table_result(e, st, server, m->val,
						 "policy query", st->name,
						 st->cls);
			}
		}
	} else {
		e->pending = 1;
	}
	buf_free(&req);
	buf_free(&key);
	return r;
}

/* ---- the table and the list walk ---- */

static const struct row {
	const char *name;
	restrict_fn *fn;
	int arg; /* takes the next word as its argument */
} rows[] = {
	{"permit", r_permit, 0},
	{"dunno", r_dunno, 0},
	{"reject", r_reject, 0},
	{"defer", r_defer, 0},
	{"defer_if_permit", r_defer_if_permit, 0},
	{"defer_if_reject", r_defer_if_reject, 0},
	{"sleep", r_sleep, 1},
	{"reject_unauth_pipelining", r_unauth_pipelining, 0},
	{"permit_mynetworks", r_permit_mynetworks, 0},
	{"permit_sasl_authenticated", r_permit_sasl, 0},
	{"permit_auth_destination", r_permit_auth_dest, 0},
	{"reject_unauth_destination", r_reject_unauth_dest, 0},
	{"defer_unauth_destination", r_defer_unauth_dest, 0},
	{"check_relay_domains", r_permit_auth_dest, 0}, /* obsolete */
	{"reject_unlisted_recipient", r_unlisted_rcpt, 0},
	{"check_recipient_maps", r_unlisted_rcpt, 0}, /* obsolete */
	{"reject_unlisted_sender", r_unlisted_sender, 0},
	{"check_client_access", r_check_client, 1},
	{"check_reverse_client_hostname_access", r_check_reverse_client, 1},
	{"check_helo_access", r_check_helo, 1},
	{"check_sender_access", r_check_sender, 1},
	{"check_recipient_access", r_check_recipient, 1},
	{"check_client_a_access", r_server, 1},
	{"check_client_mx_access", r_server, 1},
	{"check_client_ns_access", r_server, 1},
	{"check_reverse_client_a_access", r_server, 1},
	{"check_reverse_client_mx_access", r_server, 1},
	{"check_reverse_client_ns_access", r_server, 1},
	{"check_helo_a_access", r_server, 1},
	{"check_helo_mx_access", r_server, 1},
	{"check_helo_ns_access", r_server, 1},
	{"check_sender_a_access", r_server, 1},
	{"check_sender_mx_access", r_server, 1},
	{"check_sender_ns_access", r_server, 1},
	{"check_recipient_a_access", r_server, 1},
	{"check_recipient_mx_access", r_server, 1},
	{"check_recipient_ns_access", r_server, 1},
	{"check_policy_service", r_policy, 1},
	{"reject_rbl_client", r_rbl_client, 1},
	{"permit_dnswl_client", r_dnswl_client, 1},
	{"reject_rhsbl_client", r_rhsbl_client, 1},
	{"reject_rhsbl_reverse_client", r_rhsbl_reverse, 1},
	{"reject_rhsbl_helo", r_rhsbl_helo, 1},
	{"reject_rhsbl_sender", r_rhsbl_sender, 1},
	{"reject_rhsbl_recipient", r_rhsbl_recipient, 1},
	{"permit_rhswl_client", r_rhswl_client, 1},
	{"reject_invalid_helo_hostname", r_invalid_helo, 0},
	{"reject_invalid_hostname", r_invalid_helo, 0},
	{"reject_non_fqdn_helo_hostname", r_non_fqdn_helo, 0},
	{"reject_non_fqdn_hostname", r_non_fqdn_helo, 0},
	{"reject_unknown_helo_hostname", r_unknown_helo, 0},
	{"reject_unknown_hostname", r_unknown_helo, 0},
	{"reject_non_fqdn_sender", r_non_fqdn_sender, 0},
	{"reject_non_fqdn_recipient", r_non_fqdn_rcpt, 0},
	{"reject_unknown_sender_domain", r_unknown_sender_domain, 0},
	{"reject_unknown_recipient_domain", r_unknown_rcpt_domain, 0},
	{"reject_unknown_client_hostname", r_unknown_client, 0},
	{"reject_unknown_client", r_unknown_client, 0},
	{"reject_unknown_reverse_client_hostname", r_unknown_reverse, 0},
	{"reject_multi_recipient_bounce", r_multi_bounce, 0},
	{"reject_sender_login_mismatch", r_login_mismatch, 0},
	{"reject_authenticated_sender_login_mismatch", r_auth_login_mismatch,
	 0},
	{"reject_unauthenticated_sender_login_mismatch",
	 r_unauth_login_mismatch, 0},
	{"reject_known_sender_login_mismatch", r_known_login_mismatch, 0},
	{"reject_plaintext_session", r_plaintext, 0},
	/* need TLS client certificates or address verification: no
	 * decision until those exist */
	{"permit_tls_clientcerts", r_permit_ccert, 0},
	{"permit_tls_all_clientcerts", r_permit_all_ccerts, 0},
	{"reject_unverified_sender", r_unsupported, 0},
	{"reject_unverified_recipient", r_unsupported, 0},
};

static const struct row *row_find(const char *name)
{
	for (size_t k = 0; k < sizeof(rows) / sizeof(*rows); k++)
		if (strcmp(rows[k].name, name) == 0)
			return &rows[k];
	return NULL;
}

static int eval_list(struct ev *e, const struct stg *st, char **it, size_t n)
{
	int result = R_DUNNO;

	if (e->depth >= MAX_DEPTH) {
		msg_warn("restriction recursion limit exceeded");
		return server_error(e);
	}
	e->depth++;
	for (size_t i = 0; i < n; i++) {
		const char *name = it[i];
		const char *arg = NULL;
		int r;
		if (strcmp(name, "warn_if_reject") == 0) {
			if (e->warn_if_reject == 0)
				e->warn_if_reject = e->depth;
			continue;
		}
		const struct row *row = row_find(name);
		if (row != NULL && row->arg) {
			if (i + 1 >= n) {
				msg_warn("restriction %s requires an "
					 "argument",
					 name);
				r = server_error(e);
				goto decided;
			}
			arg = it[++i];
		}
		if (row != NULL) {
			e->cur = name;
			r = row->fn(e, st, arg);
		} else {
			size_t k;
			for (k = 0; k < e->c->nclass; k++)
				if (strcmp(e->c->class_name[k], name) == 0)
					break;
			if (k < e->c->nclass) {
				r = eval_list(e, st, e->c->class_list[k].it,
					      e->c->class_list[k].n);
			} else {
				msg_warn("unknown smtpd restriction: \"%s\"",
					 name);
				r = server_error(e);
			}
		}
	decided:
		if (e->warn_if_reject >= e->depth)
			e->warn_if_reject = 0;
		if (e->pending)
			continue; /* only to start the other lookups */
		if (r != R_DUNNO) {
			result = r;
			break;
		}
	}
	e->depth--;
	return e->pending ? R_DUNNO : result;
}

static void stage_words(const struct ev *e, enum restrict_stage s,
			struct stg *st, char *na, size_t nan)
{
	const struct restrict_ctx *x = e->x;
	st->stage = s;
	switch (s) {
	case RESTRICT_CLIENT:
		namaddr(x, na, nan);
		st->name = na;
		st->cls = "Client host";
		break;
	case RESTRICT_HELO:
		st->name = x->helo ? x->helo : "";
		st->cls = "Helo command";
		break;
	case RESTRICT_SENDER:
		st->name = x->sender ? x->sender : "";
		st->cls = "Sender address";
		break;
	case RESTRICT_RELAY:
	case RESTRICT_RECIPIENT:
		st->name = x->recipient ? x->recipient : "";
		st->cls = "Recipient address";
		break;
	case RESTRICT_DATA:
		st->name = "DATA";
		st->cls = "Data command";
		break;
	case RESTRICT_EOD:
		st->name = "END-OF-MESSAGE";
		st->cls = "End-of-data";
		break;
	default:
		st->name = x->etrn_domain ? x->etrn_domain : "";
		st->cls = "Etrn command";
		break;
	}
}

/* One stage: SMTPD_CHECK_RESET (warn_if_reject and defer_if_reject
 * start over), then the list. */
static int run_stage(struct ev *e, enum restrict_stage s)
{
	struct stg st;
	char na[600];

	stage_words(e, s, &st, na, sizeof(na));
	e->warn_if_reject = 0;
	e->dir.active = 0;
	return eval_list(e, &st, e->c->stage[s].it, e->c->stage[s].n);
}

static void ev_init(struct ev *e, struct restrict_sess *rs,
		    struct restrict_cfg *c, const struct restrict_ctx *x,
		    struct buf *reply)
{
	memset(e, 0, sizeof(*e));
	e->rs = rs;
	e->c = c;
	e->x = x;
	e->reply = reply;
	dflag_init(&e->dip);
	dflag_init(&e->dir);
	buf_init(&e->log, 256 * 1024);
	buf_init(&e->warn, 64 * 1024);
	buf_init(&e->act.prepend, 64 * 1024);
}

static void ev_free(struct ev *e)
{
	buf_free(&e->dip.reply);
	buf_free(&e->dir.reply);
	buf_free(&e->log);
	buf_free(&e->warn);
	actions_reset(&e->act);
	buf_free(&e->act.prepend);
}

static void ev_flush_log(struct ev *e)
{
	for (char *w = e->warn.data; w != NULL && *w;) {
		char *nl = strchr(w, '\n');
		if (nl == NULL)
			break;
		*nl = 0;
		msg_warn("%s", w);
		w = nl + 1;
	}
	char *p = e->log.data;
	while (*p) {
		char *nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = 0;
		msg_info("%s", p);
		p = nl + 1;
	}
}

/* The final defer_if_permit: permission becomes the deferral. */
static int defer_if_permit_final(struct ev *e, int status)
{
	if (status == R_REJECT || !e->dip.active)
		return status;
	int save = e->warn_if_reject;
	e->warn_if_reject = 0;
	ev_log(e, "reject", e->dip.reply.data, e->dip.reply.len);
	buf_sets(e->reply, buf_str(&e->dip.reply));
	e->warn_if_reject = save;
	return R_REJECT;
}

enum restrict_result restrict_check(struct restrict_sess *rs,
				    enum restrict_cmd cmd,
				    const struct restrict_ctx *x,
				    struct buf *reply)
{
	struct restrict_cfg *c = rs->c;
	struct ev e;
	int r = R_DUNNO;
	int delay = c->delay_reject;

	if (cmd == RESTRICT_CMD_RCPT && x->recipient != NULL &&
	    str_casecmp(x->recipient, "postmaster") == 0)
		return RESTRICT_DUNNO; /* RFC 5321 4.5.1, as Postfix */
	ev_init(&e, rs, c, x, reply);
	buf_reset(reply);
	switch (cmd) {
	case RESTRICT_CMD_CONNECT:
		if (delay)
			break;
		r = run_stage(&e, RESTRICT_CLIENT);
		dflag_copy(&rs->dip_client, &e.dip);
		break;
	case RESTRICT_CMD_HELO:
		if (delay)
			break;
		dflag_copy(&e.dip, &rs->dip_client);
		r = run_stage(&e, RESTRICT_HELO);
		dflag_copy(&rs->dip_helo, &e.dip);
		break;
	case RESTRICT_CMD_MAIL:
		if (delay)
			break;
		dflag_copy(&e.dip, rs->dip_helo.active ? &rs->dip_helo
						       : &rs->dip_client);
		r = run_stage(&e, RESTRICT_SENDER);
		dflag_copy(&rs->dip_sender, &e.dip);
		if (r != R_REJECT && c->reject_unlisted_sender &&
		    !e.act.discard && x->sender != NULL && *x->sender)
			r = rcpt_maps(&e, x->sender, "Sender address");
		break;
	case RESTRICT_CMD_RCPT:
	case RESTRICT_CMD_ETRN:
		if (delay) {
			e.dip.active = 0;
			r = run_stage(&e, RESTRICT_CLIENT);
			dflag_copy(&rs->dip_client, &e.dip);
			if (r != R_REJECT || e.pending)
				r = run_stage(&e, RESTRICT_HELO);
			dflag_copy(&rs->dip_helo, &e.dip);
			if (cmd == RESTRICT_CMD_RCPT &&
			    (r != R_REJECT || e.pending)) {
				r = run_stage(&e, RESTRICT_SENDER);
				dflag_copy(&rs->dip_sender, &e.dip);
			}
			if (r == R_REJECT && !e.pending)
				break;
		}
		if (cmd == RESTRICT_CMD_ETRN) {
			dflag_copy(&e.dip, rs->dip_helo.active
						   ? &rs->dip_helo
						   : &rs->dip_client);
			r = run_stage(&e, RESTRICT_ETRN);
			r = defer_if_permit_final(&e, r);
			break;
		}
		dflag_copy(&e.dip, &rs->dip_sender);
		r = run_stage(&e, RESTRICT_RELAY);
		if (r != R_REJECT || e.pending) {
			/* relay and recipient share one reset */
			struct stg st;
			char na[8];
			stage_words(&e, RESTRICT_RECIPIENT, &st, na,
				    sizeof(na));
			r = eval_list(&e, &st, c->stage[RESTRICT_RECIPIENT].it,
				      c->stage[RESTRICT_RECIPIENT].n);
		}
		r = defer_if_permit_final(&e, r);
		if (r != R_REJECT && c->reject_unlisted && !e.act.discard &&
		    !rs->act.discard)
			r = rcpt_maps(&e, x->recipient, "Recipient address");
		break;
	case RESTRICT_CMD_DATA:
		r = run_stage(&e, RESTRICT_DATA);
		r = defer_if_permit_final(&e, r);
		break;
	case RESTRICT_CMD_EOD:
		r = run_stage(&e, RESTRICT_EOD);
		r = defer_if_permit_final(&e, r);
		break;
	}
	if (e.pending && !e.nomemo) {
		ev_free(&e);
		buf_reset(reply);
		return RESTRICT_PENDING;
	}
	if (e.nomemo) {
		buf_sets(reply, "451 4.3.0 Temporary lookup failure");
		r = R_REJECT;
	}
	ev_flush_log(&e);
	memo_forget_requests(rs);
	if (r != R_REJECT) {
		struct restrict_actions *a = &rs->act;
		a->discard |= e.act.discard;
		a->hold |= e.act.hold;
		if (e.act.redirect != NULL) {
			mem_free(a->redirect);
			a->redirect = e.act.redirect;
			e.act.redirect = NULL;
		}
		if (e.act.filter != NULL) {
			mem_free(a->filter);
			a->filter = e.act.filter;
			e.act.filter = NULL;
		}
		buf_append(&a->prepend, e.act.prepend.data, e.act.prepend.len);
		for (size_t i = 0; i < e.act.nbcc; i++)
			act_add_bcc(a, e.act.bcc[i], strlen(e.act.bcc[i]));
	} else if (cmd == RESTRICT_CMD_CONNECT) {
		rs->denied = 1;
	}
	ev_free(&e);
	return r == R_REJECT ? RESTRICT_REJECT
	       : r == R_OK   ? RESTRICT_PERMIT
			     : RESTRICT_DUNNO;
}

enum restrict_result restrict_eval(struct restrict_cfg *c,
				   enum restrict_stage stage,
				   const struct restrict_ctx *x,
				   struct buf *reply)
{
	struct ev e;

	if ((unsigned)stage >= RESTRICT_NSTAGES)
		return RESTRICT_DUNNO;
	ev_init(&e, NULL, c, x, reply);
	int r = run_stage(&e, stage);
	ev_flush_log(&e);
	ev_free(&e);
	return r == R_REJECT ? RESTRICT_REJECT
	       : r == R_OK   ? RESTRICT_PERMIT
			     : RESTRICT_DUNNO;
}

enum restrict_result restrict_unlisted(struct restrict_cfg *c,
				       const struct restrict_ctx *x,
				       struct buf *reply)
{
	struct ev e;

	if (!c->reject_unlisted || x->recipient == NULL)
		return RESTRICT_DUNNO;
	ev_init(&e, NULL, c, x, reply);
	int r = rcpt_maps(&e, x->recipient, "Recipient address");
	ev_free(&e);
	return r == R_REJECT ? RESTRICT_REJECT : RESTRICT_DUNNO;
}
