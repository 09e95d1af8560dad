/* params - the parameter table and typed value checks.
 *
 * The rows below are the only list of main.cf parameters in mailgw. To add
 * a parameter, add a row in name order (a unit test checks the order and
 * that every default passes its own type check) and regenerate
 * docs/parameters.md with `mailgw postconf-doc > docs/parameters.md`.
 * Defaults follow Postfix 3.7 at compatibility_level 3.6 (postconf(5)). */
#include "params.h"

#include <string.h>
#include <stdlib.h>

#include "core/str.h"

#define ROW(n, t, d, lo, hi, u, f, ch, doc)                                    \
	{                                                                      \
		n, t, d, lo, hi, u, f, ch, doc                                 \
	}
#define B(n, d, doc)         ROW(n, CONF_BOOL, d, 0, 1, 0, 0, NULL, doc)
#define I(n, d, lo, hi, doc) ROW(n, CONF_INT, d, lo, hi, 0, 0, NULL, doc)
#define Z(n, d, doc)         ROW(n, CONF_SIZE, d, 0, NOMAX, 0, 0, NULL, doc)
#define T(n, d, u, lo, doc)                                                    \
	ROW(n, CONF_TIME, d, lo, CONF_NOMAX, u, 0, NULL, doc)
#define E(n, d, ch, f, doc) ROW(n, CONF_ENUM, d, 0, 0, 0, f, ch, doc)
#define S(n, d, doc)        ROW(n, CONF_STR, d, 0, 0, 0, 0, NULL, doc)
#define SR(n, d, doc)       ROW(n, CONF_STR, d, 0, 0, 0, CONF_F_RAW, NULL, doc)
#define SO(n, d, doc)                                                          \
	ROW(n, CONF_STR, d, 0, 0, 0, CONF_F_READONLY, NULL, doc)
#define L(n, d, doc)        ROW(n, CONF_LIST, d, 0, 0, 0, 0, NULL, doc)
#define LR(n, d, doc)       ROW(n, CONF_LIST, d, 0, 0, 0, CONF_F_RAW, NULL, doc)
#define M(n, d, doc)        ROW(n, CONF_MAPS, d, 0, 0, 0, 0, NULL, doc)
#define R(n, d, doc)        ROW(n, CONF_RESTR, d, 0, 0, 0, 0, NULL, doc)
#define C(n, t, f, doc)                                                        \
	ROW(n, t, NULL, 0, CONF_NOMAX, 0, CONF_F_COMPUTED | (f), NULL, doc)
#define NOMAX CONF_NOMAX

/* clang-format off */
const struct conf_param conf_params[] = {
	S("2bounce_notice_recipient", "postmaster",
	  "recipient of undeliverable bounces"),
	I("access_map_defer_code", "450", 400, 599,
	  "reply code of DEFER in access tables"),
	I("access_map_reject_code", "554", 400, 599,
	  "reply code of REJECT in access tables"),
	M("address_verify_map", "btree:$data_directory/verify_cache",
	  "cache of address verification results"),
	M("alias_database", "hash:/etc/aliases",
	  "alias tables that newaliases rebuilds"),
	M("alias_maps", "hash:/etc/aliases",
	  "alias tables used by local delivery"),
	L("allow_mail_to_commands", "alias, forward",
	  "where delivery to commands is allowed (alias, forward, include)"),
	L("allow_mail_to_files", "alias, forward",
	  "where delivery to files is allowed (alias, forward, include)"),
	B("allow_percent_hack", "yes",
	  "rewrite user%domain to user@domain"),
	B("always_add_missing_headers", "no",
	  "add missing From, To, Date and Message-ID headers to all mail"),
	S("always_bcc", "",
	  "address that receives a blind copy of every message"),
	T("anvil_rate_time_unit", "60s", 's', 1,
	  "time unit of the per-client rate limits"),
	B("append_at_myorigin", "yes",
	  "append @$myorigin to addresses without a domain"),
	B("append_dot_mydomain", "no",
	  "append .$mydomain to addresses without a dot"),
	B("biff", "yes",
	  "notify the local biff service of new mail"),
	M("body_checks", "",
	  "pattern tables applied to body lines"),
	Z("body_checks_size_limit", "51200",
	  "bytes of each body part inspected by body_checks"),
	S("bounce_notice_recipient", "postmaster",
	  "recipient of postmaster copies of bounces"),
	T("bounce_queue_lifetime", "5d", 'd', 0,
	  "time a bounce may stay queued before it is dropped"),
	Z("bounce_size_limit", "50000",
	  "bytes of the original message returned in a bounce"),
	B("broken_sasl_auth_clients", "no",
	  "also announce AUTH in the old AUTH=mech form for broken clients"),
	M("canonical_maps", "",
	  "address mapping for envelope and header addresses"),
	S("command_directory", "/usr/sbin",
	  "location of the user commands (postconf, postmap, ...)"),
	T("command_time_limit", "1000s", 's', 1,
	  "time limit for delivery to a command"),
	S("compatibility_level", "3.6",
	  "backwards-compatibility level (mailgw always uses the modern "
	  "defaults)"),
	S("config_directory", "/etc/mailgw",
	  "location of main.cf and master.cf"),
	S("content_filter", "",
	  "transport:destination that receives all mail for filtering, once"),
	S("daemon_directory", "/usr/lib/mailgw",
	  "location of the internal programs"),
	T("daemon_timeout", "18000s", 's', 1,
	  "time limit for a process to handle one request"),
	S("data_directory", "/var/lib/mailgw",
	  "location of writable caches (postscreen, verify, TLS session "
	  "cache)"),
	I("debug_peer_level", "2", 0, NOMAX,
	  "added verbosity for debug_peer_list sessions"),
	L("debug_peer_list", "",
	  "clients and servers whose sessions are logged verbosely"),
	S("default_database_type", "hash",
	  "table type when a table name has none (hash is LMDB in mailgw)"),
	I("default_destination_concurrency_limit", "20", 1, NOMAX,
	  "parallel deliveries per destination"),
	T("default_destination_rate_delay", "0s", 's', 0,
	  "delay between deliveries to the same destination (0: none)"),
	I("default_destination_recipient_limit", "50", 1, NOMAX,
	  "recipients per delivery"),
	S("default_privs", "nobody",
	  "user rights for delivery to external files and commands"),
	I("default_process_limit", "100", 1, NOMAX,
	  "default maximal number of processes per master.cf service"),
	SR("default_rbl_reply",
	  "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked "
	  "using $rbl_domain${rbl_reason?; $rbl_reason}",
	  "reply template for DNS block list rejects (expanded per reply)"),
	I("default_recipient_limit", "20000", 1, NOMAX,
	  "maximal recipients in memory per transport"),
	S("default_transport", "smtp",
	  "transport for destinations not otherwise routed"),
	I("defer_code", "450", 400, 599,
	  "reply code of defer and defer_if_permit"),
	S("delay_notice_recipient", "postmaster",
	  "recipient of postmaster copies of delay notices"),
	T("delay_warning_time", "0h", 'h', 0,
	  "time after which the sender is told that mail is delayed (0: "
	  "never)"),
	B("disable_dns_lookups", "no",
	  "obsolete: do not use DNS (use smtp_dns_support_level)"),
	B("disable_mime_input_processing", "no",
	  "do not parse MIME structure in received mail"),
	B("disable_vrfy_command", "no",
	  "reject the VRFY command"),
	S("dns_resolv_conf", "/etc/resolv.conf",
	  "mailgw: resolv.conf(5) file naming the DNS servers to ask"),
	S("double_bounce_sender", "double-bounce",
	  "sender address of postmaster notices"),
	I("duplicate_filter_limit", "1000", 0, NOMAX,
	  "recipients remembered to suppress duplicates"),
	S("empty_address_recipient", "MAILER-DAEMON",
	  "recipient of mail addressed to the null address"),
	B("enable_long_queue_ids", "no",
	  "use long, non-repeating queue IDs"),
	S("error_notice_recipient", "postmaster",
	  "recipient of notices about errors"),
	B("expand_owner_alias", "no",
	  "expand owner-x aliases instead of using them as senders"),
	L("export_environment", "TZ MAIL_CONFIG LANG",
	  "environment variables passed to external commands"),
	S("fallback_transport", "",
	  "transport for recipients not found in the UNIX password database"),
	L("fast_flush_domains", "$relay_domains",
	  "destinations whose mail ETRN and postqueue -s may flush"),
	LR("forward_path",
	  "$home/.forward${recipient_delimiter}${extension}, $home/.forward",
	  ".forward file locations (expanded per delivery)"),
	I("header_address_token_limit", "10240", 1, NOMAX,
	  "maximal address tokens in one message header"),
	M("header_checks", "",
	  "pattern tables applied to message headers"),
	Z("header_size_limit", "102400",
	  "maximal bytes of one message header, continuation lines included"),
	B("helpful_warnings", "yes",
	  "log warnings about problematic configuration"),
	S("home_mailbox", "",
	  "mailbox path relative to the home directory (Maildir/ for maildir)"),
	I("hopcount_limit", "50", 1, NOMAX,
	  "maximal Received headers before a message is bounced as looping"),
	S("html_directory", "no",
	  "location of HTML documentation (no: not installed)"),
	L("import_environment",
	  "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C "
	  "POSTLOG_SERVICE POSTLOG_HOSTNAME",
	  "environment variables kept from the parent"),
	T("in_flow_delay", "1s", 's', 0,
	  "delay for local submissions when mail arrives faster than it "
	  "leaves"),
	L("inet_interfaces", "all",
	  "network addresses this mail system receives mail on (all, "
	  "loopback-only or addresses)"),
	L("inet_protocols", "all",
	  "IP protocols to use: all, ipv4, ipv6"),
	I("initial_destination_concurrency", "5", 1, NOMAX,
	  "initial parallel deliveries per destination"),
	I("invalid_hostname_reject_code", "501", 400, 599,
	  "reply code for a malformed HELO host name"),
	T("ipc_timeout", "3600s", 's', 1,
	  "time limit for internal communication"),
	L("known_tcp_ports",
	  "lmtp=24, smtp=25, smtps=submissions=465, submission=587",
	  "name=port pairs used without /etc/services"),
	Z("line_length_limit", "2048",
	  "length after which long message lines are broken"),
	Z("lmdb_map_size", "16777216",
	  "initial size of LMDB tables in bytes"),
	T("lmtp_connect_timeout", "0s", 's', 0,
	  "time limit to connect to an LMTP server"),
	B("lmtp_connection_cache_on_demand", "yes",
	  "cache LMTP connections to destinations with a backlog"),
	T("lmtp_connection_cache_time_limit", "2s", 's', 1,
	  "time an idle cached LMTP connection is kept"),
	I("lmtp_connection_reuse_count_limit", "0", 0, NOMAX,
	  "deliveries per LMTP connection (0: no limit)"),
	T("lmtp_connection_reuse_time_limit", "300s", 's', 1,
	  "time an LMTP connection may be reused"),
	T("lmtp_data_done_timeout", "600s", 's', 1,
	  "time limit for the replies to the end of data"),
	T("lmtp_data_init_timeout", "120s", 's', 1,
	  "time limit for the DATA reply"),
	T("lmtp_data_xfer_timeout", "180s", 's', 1,
	  "time limit to send message content"),
	I("lmtp_destination_concurrency_limit",
	  "$default_destination_concurrency_limit", 0, NOMAX,
	  "parallel deliveries per destination for the lmtp transport"),
	I("lmtp_destination_recipient_limit",
	  "$default_destination_recipient_limit", 0, NOMAX,
	  "recipients per delivery for the lmtp transport"),
	L("lmtp_host_lookup", "dns",
	  "how to look up LMTP server addresses: dns, native"),
	S("lmtp_lhlo_name", "$myhostname",
	  "host name sent in LHLO"),
	T("lmtp_lhlo_timeout", "300s", 's', 1,
	  "time limit for the LHLO reply"),
	Z("lmtp_line_length_limit", "998",
	  "length after which lines sent over LMTP are folded (0: none)"),
	T("lmtp_mail_timeout", "300s", 's', 1,
	  "time limit for the MAIL FROM reply"),
	T("lmtp_quit_timeout", "300s", 's', 1,
	  "time limit for the QUIT reply"),
	T("lmtp_rcpt_timeout", "300s", 's', 1,
	  "time limit for a RCPT TO reply"),
	T("lmtp_rset_timeout", "20s", 's', 1,
	  "time limit for the RSET reply"),
	B("lmtp_sasl_auth_enable", "no",
	  "authenticate to LMTP servers with SASL"),
	M("lmtp_sasl_password_maps", "",
	  "tables of username:password per LMTP server"),
	S("lmtp_tcp_port", "24",
	  "default TCP port of the LMTP client"),
	E("lmtp_tls_security_level", "",
	  "none may encrypt dane dane-only fingerprint verify secure",
	  CONF_F_EMPTY,
	  "LMTP client TLS policy"),
	I("local_destination_concurrency_limit", "2", 0, NOMAX,
	  "parallel local deliveries per recipient"),
	I("local_destination_recipient_limit", "1", 0, NOMAX,
	  "recipients per local delivery"),
	R("local_header_rewrite_clients", "permit_inet_interfaces",
	  "clients whose header addresses are rewritten as local"),
	M("local_recipient_maps", "unix:passwd.byname $alias_maps",
	  "valid local recipients; others are rejected at RCPT TO"),
	S("local_transport", "local:$myhostname",
	  "transport for mydestination"),
	SR("luser_relay", "",
	  "destination for unknown local recipients (expanded per delivery)"),
	S("mail_name", "mailgw",
	  "mail system name shown in the SMTP greeting and Received headers"),
	S("mail_owner", "mailgw",
	  "UNIX user that owns the queue and runs the unprivileged processes"),
	S("mail_spool_directory", "/var/mail",
	  "directory of local mbox mailboxes"),
	SO("mail_version", MAILGW_VERSION,
	  "version of this mail system (read-only)"),
	SR("mailbox_command", "",
	  "command that delivers to local mailboxes (expanded per delivery)"),
	Z("mailbox_size_limit", "51200000",
	  "maximal size of a local mailbox or maildir file in bytes"),
	S("mailbox_transport", "",
	  "transport for local mailbox delivery"),
	S("maillog_file", "",
	  "file to log to instead of syslog (/dev/stdout for containers)"),
	L("maillog_file_prefixes", "/var, /dev/stdout",
	  "allowed path prefixes for maillog_file"),
	S("mailq_path", "/usr/bin/mailq",
	  "path of the mailq command"),
	S("manpage_directory", "/usr/share/man",
	  "location of manual pages"),
	I("maps_rbl_reject_code", "554", 400, 599,
	  "reply code for a client on a DNS block list"),
	L("masquerade_classes",
	  "envelope_sender, header_sender, header_recipient",
	  "which addresses masquerade_domains applies to"),
	L("masquerade_domains", "",
	  "domains whose subdomains are hidden in addresses"),
	L("masquerade_exceptions", "",
	  "user names that are never masqueraded"),
	T("master_drain_time", "60s", 's', 1,
	  "mailgw: how long stop and reload let transactions in progress "
	  "finish before what is left is killed"),
	T("max_idle", "100s", 's', 1,
	  "time an idle process waits for work before it exits"),
	I("max_use", "100", 1, NOMAX,
	  "requests a process handles before it exits"),
	T("maximal_backoff_time", "4000s", 's', 1,
	  "maximal time between delivery attempts of a deferred message"),
	T("maximal_queue_lifetime", "5d", 'd', 0,
	  "time a message may stay queued before it is bounced"),
	S("message_reject_characters", "",
	  "characters that make a message be rejected"),
	Z("message_size_limit", "10240000",
	  "maximal size of a message in bytes, envelope included"),
	S("message_strip_characters", "",
	  "characters removed from message content"),
	T("milter_command_timeout", "30s", 's', 0,
	  "time limit for a milter command"),
	T("milter_connect_timeout", "30s", 's', 0,
	  "time limit to connect to a milter"),
	T("milter_content_timeout", "300s", 's', 0,
	  "time limit to send message content to a milter"),
	E("milter_default_action",
	  "tempfail", "accept reject tempfail quarantine", 0,
	  "what to do when a milter fails"),
	M("milter_header_checks", "",
	  "header checks applied to headers added by milters"),
	I("milter_protocol", "6", 2, 6,
	  "milter protocol version"),
	Z("mime_boundary_length_limit", "2048",
	  "maximal length of a MIME boundary in bytes"),
	M("mime_header_checks", "$header_checks",
	  "pattern tables applied to MIME headers"),
	I("mime_nesting_limit", "100", 1, NOMAX,
	  "maximal nesting of MIME parts"),
	T("minimal_backoff_time", "300s", 's', 1,
	  "minimal time between delivery attempts of a deferred message"),
	I("multi_recipient_bounce_reject_code", "550", 400, 599,
	  "reply code for a multi-recipient bounce"),
	L("mydestination", "$myhostname, localhost.$mydomain, localhost",
	  "domains this machine delivers locally (final destination)"),
	C("mydomain", CONF_STR, 0,
	  "internet domain name of this mail system (default: $myhostname "
	  "minus its first label)"),
	C("myhostname", CONF_STR, 0,
	  "internet host name of this mail system (default: the system host "
	  "name, completed with .localdomain)"),
	C("mynetworks", CONF_LIST, 0,
	  "trusted client networks that may relay (default: computed from "
	  "mynetworks_style)"),
	E("mynetworks_style", "host", "host subnet class", 0,
	  "how to compute the default mynetworks: host, subnet or class"),
	S("myorigin", "$myhostname",
	  "domain that locally posted mail appears to come from"),
	M("nested_header_checks", "$header_checks",
	  "pattern tables applied to headers of attached messages"),
	S("newaliases_path", "/usr/bin/newaliases",
	  "path of the newaliases command"),
	I("non_fqdn_reject_code", "504", 400, 599,
	  "reply code for a name that is not fully qualified"),
	L("non_smtpd_milters", "",
	  "milter applications for locally submitted mail"),
	L("notify_classes", "resource, software",
	  "problem classes reported to the postmaster"),
	B("owner_request_special", "yes",
	  "treat owner-x and x-request addresses specially"),
	L("parent_domain_matches_subdomains",
	  "debug_peer_list,fast_flush_domains,mynetworks,"
	  "permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,"
	  "smtpd_access_maps",
	  "features in which a domain also matches its subdomains"),
	L("permit_mx_backup_networks", "",
	  "networks whose primary MX hosts permit_mx_backup accepts"),
	I("plaintext_reject_code", "450", 400, 599,
	  "reply code when TLS is required but not used"),
	R("postscreen_access_list", "permit_mynetworks",
	  "permanent allow and deny list for postscreen (permit_mynetworks, "
	  "cidr tables)"),
	L("postscreen_allowlist_interfaces",
	  "${postscreen_whitelist_interfaces?"
	  "{$postscreen_whitelist_interfaces}:{static:all}}",
	  
	  "local addresses on which clients may be allowlisted"),
	E("postscreen_bare_newline_action", "ignore", "ignore enforce drop", 0,
	  "action for clients that send bare newlines"),
	B("postscreen_bare_newline_enable", "no",
	  "run the bare newline test"),
	T("postscreen_bare_newline_ttl", "30d", 'd', 0,
	  "time a passed bare newline test stays valid"),
	T("postscreen_cache_cleanup_interval", "12h", 'h', 0,
	  "interval between cache cleanups (0: none)"),
	M("postscreen_cache_map", "btree:$data_directory/postscreen_cache",
	  "table of postscreen test results"),
	T("postscreen_cache_retention_time", "7d", 'd', 0,
	  "time an expired cache entry is kept"),
	I("postscreen_client_connection_count_limit",
	  "$smtpd_client_connection_count_limit", 0, NOMAX,
	  "simultaneous connections per client in postscreen"),
	T("postscreen_command_time_limit", "300s", 's', 1,
	  "time limit for a command in the postscreen SMTP engine"),
	E("postscreen_denylist_action",
	  "${postscreen_blacklist_action?"
	  "{$postscreen_blacklist_action}:{ignore}}",
	  "ignore enforce drop", 0,
	  "action for clients on the deny list"),
	B("postscreen_disable_vrfy_command", "$disable_vrfy_command",
	  "reject VRFY in postscreen's SMTP engine"),
	E("postscreen_dnsbl_action", "ignore", "ignore enforce drop", 0,
	  "action for clients over the DNSBL threshold"),
	I("postscreen_dnsbl_allowlist_threshold",
	  "${postscreen_dnsbl_whitelist_threshold?"
	  "{$postscreen_dnsbl_whitelist_threshold}:{0}}",
	  LONG_MIN, NOMAX,
	  "combined DNSBL score at or below which a client is allowlisted "
	  "(negative; 0: off)"),
	T("postscreen_dnsbl_max_ttl",
	  "${postscreen_dnsbl_ttl?{$postscreen_dnsbl_ttl}:{1}}h", 'h', 0,
	  "maximal time a DNSBL result is cached"),
	T("postscreen_dnsbl_min_ttl", "60s", 's', 0,
	  "minimal time a DNSBL result is cached"),
	M("postscreen_dnsbl_reply_map", "",
	  "table replacing DNSBL names in reject replies"),
	L("postscreen_dnsbl_sites", "",
	  "DNS block lists with optional filter and weight "
	  "(site=filter*weight)"),
	I("postscreen_dnsbl_threshold", "1", 1, NOMAX,
	  "combined DNSBL score that blocks a client"),
	T("postscreen_dnsbl_timeout", "10s", 's', 1,
	  "time limit for DNSBL lookups"),
	L("postscreen_forbidden_commands", "$smtpd_forbidden_commands",
	  "commands that count as non-SMTP commands"),
	E("postscreen_greet_action", "ignore", "ignore enforce drop", 0,
	  "action for clients that talk before their turn"),
	S("postscreen_greet_banner", "$smtpd_banner",
	  "text of the first, teaser greeting (empty: none)"),
	T("postscreen_greet_ttl", "1d", 'd', 0,
	  "time a passed pregreet test stays valid"),
	T("postscreen_greet_wait", "6s", 's', 1,
	  "time to wait for a pregreet before the real greeting"),
	B("postscreen_helo_required", "$smtpd_helo_required",
	  "require HELO or EHLO in postscreen's SMTP engine"),
	E("postscreen_non_smtp_command_action",
	  "drop", "ignore enforce drop", 0,
	  "action for clients that send non-SMTP commands"),
	B("postscreen_non_smtp_command_enable", "no",
	  "run the non-SMTP command test"),
	T("postscreen_non_smtp_command_ttl", "30d", 'd', 0,
	  "time a passed non-SMTP command test stays valid"),
	E("postscreen_pipelining_action", "enforce", "ignore enforce drop", 0,
	  "action for clients that pipeline without PIPELINING"),
	B("postscreen_pipelining_enable", "no",
	  "run the command pipelining test"),
	T("postscreen_pipelining_ttl", "30d", 'd', 0,
	  "time a passed pipelining test stays valid"),
	I("postscreen_post_queue_limit", "$default_process_limit", 1, NOMAX,
	  "connections waiting for an SMTP session after passing"),
	I("postscreen_pre_queue_limit", "$default_process_limit", 1, NOMAX,
	  "connections waiting in postscreen for tests"),
	E("postscreen_tls_security_level",
	  "$smtpd_tls_security_level", "none may encrypt", CONF_F_EMPTY,
	  "TLS level of postscreen's SMTP engine"),
	E("postscreen_upstream_proxy_protocol", "", "haproxy", CONF_F_EMPTY,
	  "proxy protocol spoken by an upstream proxy (empty: none)"),
	T("postscreen_watchdog_timeout", "10s", 's', 1,
	  "time limit for one postscreen event"),
	C("process_id", CONF_INT, CONF_F_READONLY,
	  "process ID of the running program (read-only)"),
	C("process_name", CONF_STR, CONF_F_READONLY,
	  "name of the running program (read-only)"),
	L("propagate_unmatched_extensions", "canonical, virtual",
	  "lookups that keep an address extension the table did not match"),
	L("proxy_interfaces", "",
	  "addresses on which mail arrives through a proxy or NAT, treated "
	  "as local"),
	I("qmgr_message_active_limit", "20000", 1, NOMAX,
	  "maximal messages in the active queue"),
	I("qmgr_message_recipient_limit", "20000", 1, NOMAX,
	  "maximal recipients in memory in the queue manager"),
	S("queue_directory", "/var/spool/mailgw",
	  "location of the mail queue"),
	Z("queue_minfree", "0",
	  "free bytes required in the queue file system to accept mail"),
	T("queue_run_delay", "300s", 's', 1,
	  "interval between scans of the deferred queue"),
	M("rbl_reply_maps", "",
	  "reply templates per DNS block list"),
	S("readme_directory", "no",
	  "location of README files (no: not installed)"),
	L("receive_override_options", "",
	  "options that disable parts of the receiving pipeline"),
	M("recipient_bcc_maps", "",
	  "blind copy addresses per recipient"),
	M("recipient_canonical_maps", "",
	  "address mapping for recipient addresses"),
	S("recipient_delimiter", "",
	  "separators between user name and address extension (user+ext)"),
	I("reject_code", "554", 400, 599,
	  "reply code of reject"),
	S("reject_tempfail_action", "defer_if_permit",
	  "action when a reject restriction fails temporarily"),
	M("relay_clientcerts", "",
	  "client certificate fingerprints for permit_tls_clientcerts"),
	I("relay_destination_concurrency_limit",
	  "$default_destination_concurrency_limit", 0, NOMAX,
	  "parallel deliveries per destination for the relay transport"),
	I("relay_destination_recipient_limit",
	  "$default_destination_recipient_limit", 0, NOMAX,
	  "recipients per delivery for the relay transport"),
	L("relay_domains", "",
	  "domains (or tables) this system relays mail to, besides "
	  "mydestination"),
	I("relay_domains_reject_code", "554", 400, 599,
	  "reply code for relay access denied"),
	M("relay_recipient_maps", "",
	  "valid recipients in relay_domains; others are rejected at RCPT TO"),
	S("relay_transport", "relay",
	  "transport for relay_domains"),
	S("relayhost", "",
	  "next-hop destination for non-local mail (empty: deliver directly "
	  "by MX)"),
	M("relocated_maps", "",
	  "tables of users that moved, with their new address"),
	S("remote_header_rewrite_domain", "",
	  "domain appended to incomplete header addresses from remote "
	  "clients (empty: no rewrite)"),
	S("sample_directory", "/etc/mailgw",
	  "location of sample configuration files"),
	I("sasl_password_iterations", "100000", 100000, 100000000,
	  "PBKDF2-HMAC-SHA256 rounds of new password hashes in "
	  "sasl_user_database (mailgw passwd)"),
	S("sasl_user_database", "$config_directory/sasl_users",
	  "mailgw's SMTP AUTH users: an lmdb table PATH.lmdb of salted "
	  "password hashes, managed with mailgw passwd"),
	M("sender_bcc_maps", "",
	  "blind copy addresses per sender"),
	M("sender_canonical_maps", "",
	  "address mapping for sender addresses"),
	M("sender_dependent_default_transport_maps", "",
	  "default transport per sender address or domain"),
	M("sender_dependent_relayhost_maps", "",
	  "relay host per sender address or domain"),
	S("sendmail_path", "/usr/sbin/sendmail",
	  "path of the sendmail command"),
	SO("service_name", "",
	  "master.cf service name of the running process (read-only)"),
	S("setgid_group", "postdrop",
	  "group used by the mail submission commands"),
	B("show_user_unknown_table_name", "yes",
	  "name the table in \"User unknown\" replies"),
	E("smtp_address_preference", "any", "any ipv4 ipv6", 0,
	  "address family preferred when both exist"),
	B("smtp_always_send_ehlo", "yes",
	  "always send EHLO"),
	B("smtp_balance_inet_protocols", "yes",
	  "alternate IPv4 and IPv6 when trying servers"),
	S("smtp_bind_address", "",
	  "local IPv4 address for outgoing connections"),
	S("smtp_bind_address6", "",
	  "local IPv6 address for outgoing connections"),
	M("smtp_body_checks", "",
	  "body checks when sending"),
	T("smtp_connect_timeout", "30s", 's', 0,
	  "time limit to connect to a server (0: system default)"),
	L("smtp_connection_cache_destinations", "",
	  "destinations whose connections are always cached"),
	B("smtp_connection_cache_on_demand", "yes",
	  "cache connections to destinations with a backlog"),
	T("smtp_connection_cache_time_limit", "2s", 's', 1,
	  "time an idle cached connection is kept"),
	I("smtp_connection_reuse_count_limit", "0", 0, NOMAX,
	  "deliveries per connection (0: no limit)"),
	T("smtp_connection_reuse_time_limit", "300s", 's', 1,
	  "time a connection may be reused"),
	T("smtp_data_done_timeout", "600s", 's', 1,
	  "time limit for the reply to the end of data"),
	T("smtp_data_init_timeout", "120s", 's', 1,
	  "time limit for the DATA reply"),
	T("smtp_data_xfer_timeout", "180s", 's', 1,
	  "time limit to send message content"),
	B("smtp_defer_if_no_mx_address_found", "no",
	  "defer instead of falling back to A records when MX hosts have no "
	  "address"),
	I("smtp_destination_concurrency_limit",
	  "$default_destination_concurrency_limit", 0, NOMAX,
	  "parallel deliveries per destination for the smtp transport"),
	I("smtp_destination_recipient_limit",
	  "$default_destination_recipient_limit", 0, NOMAX,
	  "recipients per delivery for the smtp transport"),
	E("smtp_dns_support_level", "", "disabled enabled dnssec", CONF_F_EMPTY,
	  "DNS support: disabled, enabled or dnssec"),
	B("smtp_enforce_tls", "no",
	  "obsolete: require TLS (use smtp_tls_security_level)"),
	L("smtp_fallback_relay", "$fallback_relay",
	  "relay hosts to try when the destination is unreachable"),
	M("smtp_generic_maps", "",
	  "address rewriting for mail leaving this system"),
	M("smtp_header_checks", "",
	  "header checks when sending"),
	S("smtp_helo_name", "$myhostname",
	  "host name sent in HELO/EHLO"),
	T("smtp_helo_timeout", "300s", 's', 1,
	  "time limit for the greeting and the HELO/EHLO reply"),
	L("smtp_host_lookup", "dns",
	  "how to look up server addresses: dns, native"),
	Z("smtp_line_length_limit", "998",
	  "length after which lines sent are folded (0: none)"),
	T("smtp_mail_timeout", "300s", 's', 1,
	  "time limit for the MAIL FROM reply"),
	I("smtp_min_data_rate", "500", 0, NOMAX,
	  "minimal data rate in bytes/s when smtp_per_request_deadline is on"),
	I("smtp_mx_address_limit", "5", 0, NOMAX,
	  "maximal server addresses tried per delivery (0: no limit)"),
	I("smtp_mx_session_limit", "2", 0, NOMAX,
	  "maximal sessions per delivery (0: no limit)"),
	B("smtp_per_request_deadline",
	  "${smtp_per_record_deadline?{$smtp_per_record_deadline}:{no}}",
	  "make the timeouts deadlines for the whole request"),
	T("smtp_quit_timeout", "300s", 's', 1,
	  "time limit for the QUIT reply"),
	B("smtp_randomize_addresses", "yes",
	  "shuffle server addresses of equal preference"),
	T("smtp_rcpt_timeout", "300s", 's', 1,
	  "time limit for a RCPT TO reply"),
	T("smtp_rset_timeout", "20s", 's', 1,
	  "time limit for the RSET reply"),
	B("smtp_sasl_auth_enable", "no",
	  "authenticate to remote servers with SASL"),
	L("smtp_sasl_mechanism_filter", "",
	  "SASL mechanisms the client may use"),
	M("smtp_sasl_password_maps", "",
	  "tables of username:password per remote host or domain"),
	L("smtp_sasl_security_options", "noplaintext, noanonymous",
	  "SASL mechanism restrictions for the client without TLS"),
	L("smtp_sasl_tls_security_options", "$smtp_sasl_security_options",
	  "SASL mechanism restrictions for the client with TLS"),
	B("smtp_sender_dependent_authentication", "no",
	  "choose SASL credentials by sender address"),
	B("smtp_skip_5xx_greeting", "yes",
	  "try the next server after a 5xx greeting"),
	T("smtp_starttls_timeout", "300s", 's', 1,
	  "time limit for the client TLS handshake"),
	S("smtp_tcp_port", "smtp",
	  "default TCP port of the SMTP client"),
	S("smtp_tls_CAfile", "",
	  "PEM file of CA certificates to verify servers"),
	S("smtp_tls_CApath", "",
	  "directory of CA certificates to verify servers"),
	B("smtp_tls_block_early_mail_reply", "no",
	  "defend against a server that answers MAIL before TLS"),
	S("smtp_tls_cert_file", "",
	  "PEM client certificate"),
	L("smtp_tls_chain_files", "",
	  "PEM files with client key and certificate chain, in order"),
	L("smtp_tls_cipher_suites", "aead, cbc",
	  "client TLS suites in preference order: aead, cbc, rsa, 3des, ccm "
	  "or OpenSSL suite names (mailgw; BearSSL)"),
	S("smtp_tls_ciphers", "medium",
	  "cipher grade for opportunistic TLS in the client"),
	B("smtp_tls_connection_reuse", "no",
	  "reuse TLS connections through the connection cache"),
	L("smtp_tls_exclude_ciphers", "",
	  "ciphers the client never uses"),
	S("smtp_tls_fingerprint_digest", "sha256",
	  "digest used for server certificate fingerprints"),
	S("smtp_tls_key_file", "$smtp_tls_cert_file",
	  "PEM private key of the client certificate"),
	I("smtp_tls_loglevel", "0", 0, 4,
	  "amount of TLS logging in the client (0-4)"),
	S("smtp_tls_mandatory_ciphers", "medium",
	  "cipher grade for mandatory TLS in the client"),
	L("smtp_tls_mandatory_exclude_ciphers", "",
	  "ciphers the client never uses with mandatory TLS"),
	L("smtp_tls_mandatory_protocols", ">=TLSv1",
	  "TLS protocols the client uses when TLS is required"),
	B("smtp_tls_note_starttls_offer", "no",
	  "log hosts that offer STARTTLS when TLS is not used"),
	M("smtp_tls_policy_maps", "",
	  "per-destination TLS policy tables"),
	L("smtp_tls_protocols", ">=TLSv1",
	  "TLS protocols the client uses with opportunistic TLS"),
	I("smtp_tls_scert_verifydepth", "9", 1, NOMAX,
	  "maximal depth of a server certificate chain"),
	L("smtp_tls_secure_cert_match", "nexthop, dot-nexthop",
	  "name checks of server certificates at level secure"),
	E("smtp_tls_security_level", "",
	  "none may encrypt dane dane-only fingerprint verify secure",
	  CONF_F_EMPTY,
	  "SMTP client TLS policy"),
	S("smtp_tls_servername", "",
	  "SNI name sent to servers (empty: none, hostname, nexthop or a "
	  "name)"),
	M("smtp_tls_session_cache_database", "",
	  "client TLS session cache"),
	T("smtp_tls_session_cache_timeout", "3600s", 's', 0,
	  "lifetime of cached client TLS sessions"),
	L("smtp_tls_verify_cert_match", "hostname",
	  "name checks of server certificates at level verify"),
	B("smtp_tls_wrappermode", "no",
	  "connect with implicit TLS (port 465)"),
	B("smtp_use_tls", "no",
	  "obsolete: use STARTTLS when offered (use smtp_tls_security_level)"),
	L("smtpd_authorized_xclient_hosts", "",
	  "clients allowed to use XCLIENT"),
	L("smtpd_authorized_xforward_hosts", "",
	  "clients allowed to use XFORWARD"),
	S("smtpd_banner", "$myhostname ESMTP $mail_name",
	  "text after the 220 code in the SMTP greeting"),
	I("smtpd_client_auth_rate_limit", "0", 0, NOMAX,
	  "AUTH commands per client per anvil_rate_time_unit (0: no limit)"),
	I("smtpd_client_connection_count_limit", "50", 0, NOMAX,
	  "simultaneous connections per client (0: no limit)"),
	I("smtpd_client_connection_rate_limit", "0", 0, NOMAX,
	  "connections per client per anvil_rate_time_unit (0: no limit)"),
	L("smtpd_client_event_limit_exceptions",
	  "${smtpd_client_connection_limit_exceptions:$mynetworks}",
	  "clients exempt from the connection, message and recipient limits"),
	I("smtpd_client_message_rate_limit", "0", 0, NOMAX,
	  "messages per client per anvil_rate_time_unit (0: no limit)"),
	I("smtpd_client_new_tls_session_rate_limit", "0", 0, NOMAX,
	  "new TLS sessions per client per anvil_rate_time_unit (0: no limit)"),
	B("smtpd_client_port_logging", "no",
	  "log the client TCP port too"),
	I("smtpd_client_recipient_rate_limit", "0", 0, NOMAX,
	  "recipients per client per anvil_rate_time_unit (0: no limit)"),
	R("smtpd_client_restrictions", "",
	  "restrictions applied to the client host at connect (or later "
	  "with smtpd_delay_reject)"),
	M("smtpd_command_filter", "",
	  "table that rewrites SMTP commands before parsing"),
	R("smtpd_data_restrictions", "",
	  "restrictions applied to the DATA command"),
	B("smtpd_delay_reject", "yes",
	  "wait until RCPT TO before applying client, HELO and sender "
	  "restrictions"),
	M("smtpd_discard_ehlo_keyword_address_maps", "",
	  "tables of EHLO keywords to hide per client address"),
	L("smtpd_discard_ehlo_keywords", "",
	  "EHLO keywords not to announce to clients"),
	R("smtpd_end_of_data_restrictions", "",
	  "restrictions applied after the end of message data"),
	B("smtpd_enforce_tls", "no",
	  "obsolete: require STARTTLS (use smtpd_tls_security_level)"),
	T("smtpd_error_sleep_time", "1s", 's', 0,
	  "delay before replying to a client with errors"),
	R("smtpd_etrn_restrictions", "",
	  "restrictions applied to the ETRN command"),
	E("smtpd_forbid_bare_newline", "no", "no normalize yes reject", 0,
	  "bare LF line endings: normalize (and no, which mailgw treats as "
	  "normalize, as Postfix 3.9 does by default) or yes/reject"),
	L("smtpd_forbid_bare_newline_exclusions", "$mynetworks",
	  "clients exempt from smtpd_forbid_bare_newline"),
	I("smtpd_forbid_bare_newline_reject_code", "550", 400, 599,
	  "reply code for a rejected bare newline"),
	B("smtpd_forbid_unauth_pipelining", "no",
	  "disconnect clients that pipeline commands without PIPELINING"),
	L("smtpd_forbidden_commands",
	  "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}",
	  "commands that make the server disconnect at once (HTTP, proxy "
	  "probes)"),
	I("smtpd_hard_error_limit", "20", 1, NOMAX,
	  "errors in a session after which the connection is closed"),
	B("smtpd_helo_required", "no",
	  "require HELO or EHLO before MAIL FROM"),
	R("smtpd_helo_restrictions", "",
	  "restrictions applied to the HELO/EHLO command"),
	I("smtpd_history_flush_threshold", "100", 0, NOMAX,
	  "commands kept for postmaster notices before the history is flushed"),
	I("smtpd_junk_command_limit", "100", 1, NOMAX,
	  "NOOP, VRFY, ETRN and RSET commands allowed before they count as "
	  "errors"),
	L("smtpd_log_access_permit_actions", "",
	  "access table actions that are logged when they permit"),
	L("smtpd_milters", "",
	  "milter applications for mail received over SMTP"),
	I("smtpd_min_data_rate", "500", 0, NOMAX,
	  "minimal data rate in bytes/s when smtpd_per_request_deadline is on"),
	S("smtpd_null_access_lookup_key", "<>",
	  "lookup key for the null sender address in access tables"),
	B("smtpd_peername_lookup", "yes",
	  "look up the client host name in the DNS"),
	B("smtpd_per_request_deadline",
	  "${smtpd_per_record_deadline?{$smtpd_per_record_deadline}:{no}}",
	  "make smtpd_timeout a deadline for the whole command or reply"),
	S("smtpd_policy_service_default_action",
	  "451 4.3.5 Server configuration problem",
	  "reply when a policy server is unavailable"),
	T("smtpd_policy_service_max_idle", "300s", 's', 1,
	  "idle time after which a policy server connection is closed"),
	T("smtpd_policy_service_max_ttl", "1000s", 's', 1,
	  "lifetime of a policy server connection"),
	S("smtpd_policy_service_policy_context", "",
	  "policy_context attribute sent to policy servers"),
	I("smtpd_policy_service_request_limit", "0", 0, NOMAX,
	  "requests per policy server connection (0: no limit)"),
	T("smtpd_policy_service_retry_delay", "1s", 's', 0,
	  "delay between policy server attempts"),
	T("smtpd_policy_service_timeout", "100s", 's', 1,
	  "time limit for a policy server request"),
	I("smtpd_policy_service_try_limit", "2", 1, NOMAX,
	  "attempts to reach a policy server"),
	I("smtpd_recipient_limit", "1000", 1, NOMAX,
	  "maximal number of recipients per message"),
	I("smtpd_recipient_overshoot_limit", "1000", 1, NOMAX,
	  "recipients per message beyond which errors count toward the "
	  "error limits"),
	R("smtpd_recipient_restrictions", "",
	  "restrictions applied to the RCPT TO command (spam blocking)"),
	SR("smtpd_reject_footer", "",
	  "text appended to 4xx and 5xx replies (expanded per reply)"),
	B("smtpd_reject_unlisted_recipient", "yes",
	  "reject recipients in our domains that are not listed as valid"),
	B("smtpd_reject_unlisted_sender", "no",
	  "reject senders in our domains that are not listed as valid "
	  "recipients"),
	R("smtpd_relay_restrictions",
	  "permit_mynetworks, permit_sasl_authenticated, "
	  "defer_unauth_destination",
	  "relay control restrictions applied to RCPT TO before "
	  "smtpd_recipient_restrictions"),
	L("smtpd_restriction_classes", "",
	  "names of user-defined restriction classes"),
	B("smtpd_sasl_auth_enable", "no",
	  "offer SMTP AUTH to clients"),
	B("smtpd_sasl_authenticated_header", "no",
	  "report the SASL login in the Received header"),
	L("smtpd_sasl_exceptions_networks", "",
	  "clients to which AUTH is not offered"),
	S("smtpd_sasl_local_domain", "",
	  "realm for SASL logins"),
	L("smtpd_sasl_mechanism_filter", "!external, static:rest",
	  "SASL mechanisms the server offers"),
	S("smtpd_sasl_path", "smtpd",
	  "SASL server name or socket path"),
	Z("smtpd_sasl_response_limit", "12288",
	  "maximal length of a SASL client response in bytes"),
	L("smtpd_sasl_security_options", "noanonymous",
	  "SASL mechanism restrictions without TLS"),
	S("smtpd_sasl_service", "smtp",
	  "service name passed to the SASL server"),
	L("smtpd_sasl_tls_security_options", "$smtpd_sasl_security_options",
	  "SASL mechanism restrictions with TLS"),
	S("smtpd_sasl_type", "cyrus",
	  "SASL implementation used by the SMTP server"),
	M("smtpd_sender_login_maps", "",
	  "tables mapping sender addresses to the SASL logins allowed to "
	  "use them"),
	R("smtpd_sender_restrictions", "",
	  "restrictions applied to the MAIL FROM command"),
	I("smtpd_soft_error_limit", "10", 0, NOMAX,
	  "errors in a session after which each reply is delayed by "
	  "smtpd_error_sleep_time"),
	T("smtpd_starttls_timeout", "300s", 's', 1,
	  "time limit for the TLS handshake after STARTTLS"),
	T("smtpd_timeout", "300s", 's', 1,
	  "time limit to receive a client command or send a reply"),
	S("smtpd_tls_CAfile", "",
	  "PEM file of CA certificates to verify client certificates"),
	S("smtpd_tls_CApath", "",
	  "directory of CA certificates to verify client certificates"),
	B("smtpd_tls_ask_ccert", "no",
	  "ask clients for a certificate"),
	B("smtpd_tls_auth_only", "no",
	  "offer AUTH only after STARTTLS"),
	I("smtpd_tls_ccert_verifydepth", "9", 1, NOMAX,
	  "maximal depth of a client certificate chain"),
	S("smtpd_tls_cert_file", "",
	  "PEM certificate of the SMTP server"),
	L("smtpd_tls_chain_files", "",
	  "PEM files with key and certificate chain, in order"),
	L("smtpd_tls_cipher_suites", "aead",
	  "server TLS suites in preference order: aead, cbc, rsa, 3des, ccm "
	  "or OpenSSL suite names (mailgw; BearSSL)"),
	S("smtpd_tls_ciphers", "medium",
	  "cipher grade for opportunistic TLS in the server"),
	L("smtpd_tls_exclude_ciphers", "",
	  "ciphers the server never uses"),
	S("smtpd_tls_fingerprint_digest", "sha256",
	  "digest used for client certificate fingerprints"),
	S("smtpd_tls_key_file", "$smtpd_tls_cert_file",
	  "PEM private key of the SMTP server"),
	I("smtpd_tls_loglevel", "0", 0, 4,
	  "amount of TLS logging in the server (0-4)"),
	S("smtpd_tls_mandatory_ciphers", "medium",
	  "cipher grade for mandatory TLS in the server"),
	L("smtpd_tls_mandatory_exclude_ciphers", "",
	  "ciphers the server never uses with mandatory TLS"),
	L("smtpd_tls_mandatory_protocols", ">=TLSv1.2",
	  "TLS protocols the server accepts when TLS is required"),
	L("smtpd_tls_protocols", ">=TLSv1.2",
	  "TLS protocols the server accepts with opportunistic TLS"),
	B("smtpd_tls_received_header", "no",
	  "record TLS protocol and cipher in the Received header"),
	B("smtpd_tls_req_ccert", "no",
	  "require a verified client certificate"),
	E("smtpd_tls_security_level", "", "none may encrypt", CONF_F_EMPTY,
	  "SMTP server TLS: none, may (offer STARTTLS) or encrypt (require "
	  "it)"),
	E("smtpd_tls_selfsigned_key_type", "ecdsa", "ecdsa rsa", 0,
	  "key of the self-signed certificate made when none is configured: "
	  "ECDSA P-256 or RSA 2048 (mailgw)"),
	M("smtpd_tls_session_cache_database", "",
	  "server TLS session cache (empty: session tickets only)"),
	T("smtpd_tls_session_cache_timeout", "3600s", 's', 0,
	  "lifetime of cached server TLS sessions"),
	B("smtpd_tls_wrappermode", "no",
	  "run the server with implicit TLS (port 465)"),
	E("smtpd_upstream_proxy_protocol", "", "haproxy", CONF_F_EMPTY,
	  "proxy protocol spoken by an upstream proxy (empty: none)"),
	T("smtpd_upstream_proxy_timeout", "5s", 's', 1,
	  "time limit for the upstream proxy handshake"),
	B("smtpd_use_tls", "no",
	  "obsolete: offer STARTTLS (use smtpd_tls_security_level)"),
	B("smtputf8_enable", "yes",
	  "announce and accept SMTPUTF8"),
	B("soft_bounce", "no",
	  "defer instead of bouncing (safety net while testing)"),
	SO("stress", "",
	  "set to yes while the system is overloaded (read-only)"),
	B("strict_rfc821_envelopes", "no",
	  "require RFC 821 syntax (<>) in MAIL FROM and RCPT TO"),
	B("swap_bangpath", "yes",
	  "rewrite site!user to user@site"),
	S("syslog_facility", "mail",
	  "syslog facility for log records"),
	S("syslog_name", "mailgw",
	  "program name prefix in log records (mailgw/smtpd)"),
	M("transport_maps", "",
	  "tables mapping recipient domains or addresses to a transport and "
	  "next hop"),
	T("transport_retry_time", "60s", 's', 1,
	  "time between attempts to use a broken transport"),
	I("unknown_address_reject_code", "450", 400, 599,
	  "reply code when a sender or recipient domain is unknown"),
	I("unknown_client_reject_code", "450", 400, 599,
	  "reply code when the client host name is unknown"),
	I("unknown_hostname_reject_code", "450", 400, 599,
	  "reply code when a HELO or sender host name is unknown"),
	I("unknown_local_recipient_reject_code", "550", 400, 599,
	  "reply code for an unknown local recipient"),
	I("unknown_relay_recipient_reject_code", "550", 400, 599,
	  "reply code for an unknown relay recipient"),
	I("unknown_virtual_alias_reject_code", "550", 400, 599,
	  "reply code for an unknown virtual alias recipient"),
	I("unknown_virtual_mailbox_reject_code", "550", 400, 599,
	  "reply code for an unknown virtual mailbox recipient"),
	I("unverified_recipient_reject_code", "450", 400, 599,
	  "reply code for a recipient that failed address verification"),
	I("unverified_sender_reject_code", "450", 400, 599,
	  "reply code for a sender that failed address verification"),
	L("virtual_alias_domains", "$virtual_alias_maps",
	  "domains that only have virtual aliases"),
	M("virtual_alias_maps", "$virtual_maps",
	  "aliases for any domain (address to addresses)"),
	S("virtual_mailbox_base", "",
	  "directory prefix of virtual mailbox paths"),
	L("virtual_mailbox_domains", "$virtual_mailbox_maps",
	  "domains delivered by the virtual transport"),
	M("virtual_mailbox_maps", "",
	  "valid recipients and mailbox paths of virtual_mailbox_domains"),
	S("virtual_transport", "virtual",
	  "transport for virtual_mailbox_domains"),
	S("webui_directory", "/var/lib/mailgw/webui",
	  "mailgw: state of the web UI (password hash, sessions, staged "
	  "settings), owned by webui_owner"),
	S("webui_owner", "",
	  "mailgw: the user the web UI runs as; it may ask master for apply "
	  "and queue actions over the control socket (empty: nobody)"),
};
/* clang-format on */

const size_t conf_params_count = sizeof(conf_params) / sizeof(conf_params[0]);

static int param_cmp(const void *key, const void *row)
{
	return strcmp(key, ((const struct conf_param *)row)->name);
}

const struct conf_param *conf_param_find(const char *name)
{
	return bsearch(name, conf_params, conf_params_count,
		       sizeof(conf_params[0]), param_cmp);
}

const char *conf_type_name(enum conf_type t)
{
	static const char *const names[] = {
		[CONF_BOOL] = "bool",          [CONF_INT] = "int",
		[CONF_SIZE] = "size",          [CONF_TIME] = "time",
		[CONF_ENUM] = "enum",          [CONF_STR] = "string",
		[CONF_LIST] = "list",          [CONF_MAPS] = "maps",
		[CONF_RESTR] = "restrictions",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

int conf_parse_bool(const char *s)
{
	if (str_casecmp(s, "yes") == 0)
		return 1;
	if (str_casecmp(s, "no") == 0)
		return 0;
	return -1;
}

/* unit_seconds - seconds per unit letter, 0 for an unknown letter. */
static long unit_seconds(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 7 * 86400;
	default:
		return 0;
	}
}

int conf_parse_time(const char *s, char unit, long *secs)
{
	long v = 0, mul;
	size_t i = 0;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (LONG_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (s[i] == 0)
		mul = unit_seconds(unit);
	else if (s[i + 1] == 0)
		mul = unit_seconds(s[i]);
	else
		return -1;
	if (mul == 0 || v > LONG_MAX / mul)
		return -1;
	*secs = v * mul;
	return 0;
}

int conf_list_next(const char **cursor, const char **tok, size_t *len)
{
	const char *s = *cursor;
	const char *start;
	int depth = 0;

	s += strspn(s, STR_LIST_SEP);
	if (*s == 0) {
		*cursor = s;
		return 0;
	}
	start = s;
	for (; *s; s++) {
		if (*s == '{') {
			depth++;
		} else if (*s == '}') {
			if (--depth < 0)
				return -1;
		} else if (depth == 0 && strchr(STR_LIST_SEP, *s)) {
			break;
		}
	}
	if (depth != 0)
		return -1;
	*tok = start;
	*len = (size_t)(s - start);
	*cursor = s;
	return 1;
}

/* map_ok - "type:name" with a lower-case type and a non-empty name. */
static int map_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') ||
			 (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
		i++;
	return i > 0 && i + 1 < n && s[i] == ':';
}

static int enum_ok(const struct conf_param *p, const char *value)
{
	const char *c = p->choices;
	size_t n = strlen(value);

	if (n == 0)
		return (p->flags & CONF_F_EMPTY) != 0;
	while (*c) {
		size_t w = strcspn(c, " ");

		if (w == n && str_ncasecmp(c, value, n) == 0)
			return 1;
		c += w;
		c += strspn(c, " ");
	}
	return 0;
}

static int range_fail(const struct conf_param *p, const char *unit,
		      struct buf *why)
{
	if (why == NULL)
		return -1;
	if (p->max == CONF_NOMAX)
		buf_printf(why, "expected at least %ld%s", p->min, unit);
	else
		buf_printf(why, "expected %ld to %ld%s", p->min, p->max, unit);
	return -1;
}

int conf_value_check(const struct conf_param *p, const char *value, long *num,
		     struct buf *why)
{
	long v = 0;
	const char *cur, *tok;
	size_t len;
	int r;

	switch (p->type) {
	case CONF_BOOL:
		if ((r = conf_parse_bool(value)) < 0) {
			if (why)
				buf_puts(why, "expected yes or no");
			return -1;
		}
		v = r;
		break;
	case CONF_INT:
	case CONF_SIZE:
		if (str_to_long(value, &v) != 0) {
			if (why)
				buf_puts(why,
					 p->type == CONF_SIZE
						 ? "expected a size in bytes"
						 : "expected an integer");
			return -1;
		}
		if (v < p->min || v > p->max)
			return range_fail(p, "", why);
		break;
	case CONF_TIME:
		if (conf_parse_time(value, p->unit, &v) != 0) {
			if (why)
				buf_printf(why,
					   "expected a time: a number with an "
					   "optional unit s, m, h, d or w "
					   "(default %c)",
					   p->unit);
			return -1;
		}
		if (v < p->min || v > p->max)
			return range_fail(p, " seconds", why);
		break;
	case CONF_ENUM:
		if (!enum_ok(p, value)) {
			if (why)
				buf_printf(why, "expected one of: %s%s",
					   p->choices,
					   p->flags & CONF_F_EMPTY
						   ? " (or empty)"
						   : "");
			return -1;
		}
		break;
	case CONF_STR:
		break;
	case CONF_LIST:
	case CONF_MAPS:
	case CONF_RESTR:
		cur = value;
		while ((r = conf_list_next(&cur, &tok, &len)) > 0) {
			if (p->type == CONF_MAPS && !map_ok(tok, len)) {
				if (why)
					buf_printf(why,
						   "table \"%.*s\" is not "
						   "type:name",
						   (int)(len > 64 ? 64 : len),
						   tok);
				return -1;
			}
		}
		if (r < 0) {
			if (why)
				buf_puts(why, "unbalanced '{' or '}'");
			return -1;
		}
		break;
	}
	if (num)
		*num = v;
	return 0;
}

/* Per-transport parameters that Postfix derives from master.cf service
 * names (postconf(5): transport_destination_concurrency_limit etc.). */
static const char *const transport_suffixes[] = {
	"_delivery_slot_cost",
	"_delivery_slot_discount",
	"_delivery_slot_loan",
	"_destination_concurrency_failed_cohort_limit",
	"_destination_concurrency_limit",
	"_destination_concurrency_negative_feedback",
	"_destination_concurrency_positive_feedback",
	"_destination_rate_delay",
	"_destination_recipient_limit",
	"_extra_recipient_limit",
	"_initial_destination_concurrency",
	"_minimum_delivery_slots",
	"_recipient_limit",
	"_recipient_refill_delay",
	"_recipient_refill_limit",
	"_time_limit",
	"_transport_rate_delay",
	NULL,
};

int conf_transport_param(const char *name, size_t *service_len)
{
	size_t n = strlen(name);

	for (const char *const *s = transport_suffixes; *s; s++) {
		size_t k = strlen(*s);

		if (n > k && strcmp(name + n - k, *s) == 0) {
			*service_len = n - k;
			return 1;
		}
	}
	return 0;
}
