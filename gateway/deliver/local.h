/* local - the local delivery agent: mail for mydestination into mailboxes,
 * as Postfix's local(8) with mailbox delivery.
 *
 * For every recipient of a job: the local part is expanded through
 * alias_maps (deliver/alias.h); every resulting local user must exist in
 * the password database (getpwnam) or the recipient bounces 5.1.1
 * 'unknown user: "x"'; the message goes to mail_spool_directory/USER in
 * mbox format (deliver/mbox.h) with X-Original-To and Delivered-To both
 * the recipient as received, through any alias levels (as Postfix 3.7's
 * local(8) with frozen_delivered_to = yes writes them; checked against
 * a real Postfix instance). Outcomes per
 * original recipient, as Postfix words them:
 *   sent     2.0.0 "delivered to mailbox"
 *   bounced  5.1.1 unknown user: "x"; 5.7.1 "mail to command/file is
 *            restricted"; 5.4.6 "mail forwarding loop"; 5.3.5 include
 *            file problems; 5.2.2 mailbox too large (EFBIG)
 *   sent     2.0.0 "forwarded as QID" for addresses outside
 *            mydestination (a new message in the queue, see
 *            local_forward_fn)
 *   deferred 4.3.0 "alias database unavailable", a target that mailgw
 *            cannot deliver yet (|command, /file when allowed), a copy
 *            that could not be queued; 4.2.0 "cannot update mailbox ...
 *            unable to lock"; 4.3.0/4.2.2 write errors.
 * Targets are resolved first; when one defers, no mailbox is written
 * (the whole recipient is retried later). When some targets bounce and
 * others were delivered, the recipient is reported bounced with a text
 * that names both (the sender must learn about the failed member).
 *
 * Blocking: local_deliver_run() does file I/O, fsync and lock waits (up to
 * deliver_lock_attempts seconds on a busy mailbox). The agent object runs
 * it inside local_agent_deliver() and reports on the loop afterwards
 * (0 ms timer, so callbacks never run inside the starting call); that is
 * fine for small local volumes (postmaster, abuse, admin mail). A qmgr
 * that wants no stalls calls local_deliver_run() in a helper thread
 * instead and reports the results itself (it touches conf and dict
 * objects of its own only, and logs nothing but warnings).
 *
 * Privileges: the mailbox is created 0600 and, when running as root,
 * chowned to the user. Run as mail_owner, mail_spool_directory must be
 * writable by it (dotlocks are created there). */
#ifndef MAILGW_DELIVER_LOCAL_H
#define MAILGW_DELIVER_LOCAL_H

#include <stddef.h>

#include "deliver/deliver.h"

#define LOCAL_TEXT_MAX 512

/* One delivery line: what Postfix's local(8) logs per final target of an
 * alias expansion ("to=<user@myhostname>, orig_to=<postmaster@...>"). */
struct local_line {
	char to[256];
	enum deliver_status st;
	char dsn[8];
	char text[LOCAL_TEXT_MAX];
};

struct local_result {
	enum deliver_status st; /* the recipient's outcome */
	char dsn[8];
	char text[LOCAL_TEXT_MAX];
	/* Per target, when the recipient was delivered or bounced (none
	 * when it was deferred as a whole): logged instead of one line
	 * for the recipient. Free with local_result_free(). */
	struct local_line *lines;
	size_t nlines;
};

void local_result_free(struct local_result *r);

/* Forwarding to addresses outside mydestination (alias targets): store a
 * new message from sender to rcpts[0..n) with content (canonical CRLF) in
 * the queue, as Postfix's local(8) hands it to cleanup; newqid (at least
 * 32 bytes) gets its queue ID. 0, or -1 (the recipient is deferred). */
typedef int local_forward_fn(void *arg, const char *sender,
			     const char *const *rcpts, size_t n,
			     const void *content, size_t len, char *newqid);

struct local_forward {
	local_forward_fn *fn; /* NULL: forwarding defers (4.3.0) */
	void *arg;
};

/* Deliver every recipient of job now (blocking); res has job->nrcpt
 * entries, res[i] for job->rcpt[i]. Parameters: alias_maps,
 * mail_spool_directory, mydestination, allow_mail_to_commands,
 * allow_mail_to_files (conf_get(), per-transport -o overrides through
 * job->route.tp when set). fwd may be NULL (no forwarding).
 * A message that already carries "Delivered-To: <recipient>" bounces
 * 5.4.6 "mail forwarding loop for <recipient>" (Postfix's local(8)). The
 * forwarded copy starts with "Delivered-To: <recipient>" for the same
 * check at the next hop; the outcome text is "forwarded as QID" (with
 * "delivered to mailbox; " in front when a mailbox got it too). */
void local_deliver_run(const struct deliver_job *job,
		       const struct local_forward *fwd,
		       struct local_result *res);

/* local_loop_seen - 1 when the header of content[0..len) (canonical
 * CRLF) has a Delivered-To: field equal to addr[0..n) (ASCII case
 * ignored, surrounding blanks and <> ignored). Pure; stops at the end of
 * the header. */
int local_loop_seen(const char *content, size_t len, const char *addr,
		    size_t n);
/* local_header_next - the next header field called name (no colon; ASCII
 * case ignored) at or after *cursor in a canonical CRLF message ending at
 * end: its value without surrounding blanks and <> in v/vlen; *cursor
 * moves past it. 0 at the end of the header. Pure; folded continuation
 * lines are not joined. */
int local_header_next(const char **cursor, const char *end, const char *name,
		      const char **v, size_t *vlen);

/* local_header_value - the value of the first header field called name
 * in a canonical CRLF message content[0..len): from after the colon to the
 * end of its last continuation line (folding line ends kept, the final
 * one not), untouched. 1 with v/vlen set, or 0. Pure. */
int local_header_value(const char *content, size_t len, const char *name,
		       const char **v, size_t *vlen);

struct local_agent;

struct local_agent *local_agent_new(struct loop *lp,
				    const struct local_forward *fwd);
/* Deliver job (blocking, see above), then from the loop: deliver_log()
 * with relay=local and rcpt_done per recipient, then done. 0, or -EINVAL
 * for a job without recipients (nothing called). The job must stay valid
 * until done. */
int local_agent_deliver(struct local_agent *a, struct deliver_job *job);
/* Jobs whose callbacks are still due. */
size_t local_agent_busy(const struct local_agent *a);
/* Report what is due now (the callbacks run inside this call), free. */
void local_agent_free(struct local_agent *a);

#endif
