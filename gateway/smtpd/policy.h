/* policy - the Postfix policy delegation client (SMTPD_POLICY_README):
 * check_policy_service inet:host:port and unix:/path.
 *
 * A request is "name=value" lines and an empty line; the server answers
 * with "name=value" lines and an empty line, of which "action=" is used.
 * One pool per smtpd process holds, per server, idle connections for
 * reuse: a connection serves one request at a time, goes back to the
 * pool after its reply, and is closed after smtpd_policy_service_max_idle
 * without use, after smtpd_policy_service_max_ttl of life or
 * smtpd_policy_service_request_limit requests (0: no limit). Each try
 * (connect, write, read) is bounded by smtpd_policy_service_timeout; a
 * failed try (refused, timeout, reset, malformed reply) is logged as
 * Postfix does ("warning: problem talking to server ...") and retried
 * after smtpd_policy_service_retry_delay, up to
 * smtpd_policy_service_try_limit tries; then the request fails and the
 * caller applies smtpd_policy_service_default_action. A server may
 * override these per service with Postfix 3.0's
 * "{ inet:host:port, timeout=10s, default_action=DUNNO, ... }".
 *
 * Callbacks always run later from the loop. policy_cancel() before the
 * callback frees the request and the callback never runs. */
#ifndef MAILGW_SMTPD_POLICY_H
#define MAILGW_SMTPD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define POLICY_REQUEST_MAX 16384 /* bytes of one request */
#define POLICY_REPLY_MAX   4096  /* bytes of one reply (Postfix: line 4096) */
#define POLICY_SERVERS_MAX 64    /* distinct servers per process */

struct policy_pool;
struct policy_req;

/* action is the value of action= (NUL-terminated) when status is 0;
 * status < 0: the server could not be used, default_action applies
 * (passed as action). */
typedef void policy_done_fn(int status, const char *action, void *arg);

/* Reads the smtpd_policy_service_* parameters (conf_get). */
struct policy_pool *policy_pool_new(struct loop *lp);
void policy_pool_free(struct policy_pool *p);

/* server as written in main.cf after check_policy_service: "inet:h:p",
 * "unix:/path", or "{ inet:h:p, name=value, ... }". req[0..len) is the
 * attribute block with its empty line. NULL when the server's name is
 * malformed (warned). */
struct policy_req *policy_query(struct policy_pool *p, const char *server,
				const char *req, size_t len,
				policy_done_fn *fn, void *arg);
void policy_cancel(struct policy_req *r);

/* The policy_context a service override sets ("" when none). */
const char *policy_context(struct policy_pool *p, const char *server);

/* policy_reply_parse - one reply in buf[0..n): 1 when complete (the empty
 * line seen; *used bytes make it up; *action and *alen the action= value, or
 * NULL when there was none), 0 when more bytes are needed, -1 when
 * malformed (a line without '=', or longer than POLICY_REPLY_MAX in
 * total). Pure. */
int policy_reply_parse(const char *buf, size_t n, const char **action,
		       size_t *alen, size_t *used);

#endif
