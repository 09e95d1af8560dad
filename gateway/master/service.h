/* service - the contract between master and the processes it starts.
 *
 * master (gateway/master/) runs as root: it loads and checks the
 * configuration, creates the spool (queue/layout.h), binds every inet
 * listener of master.cf whose command is smtpd, and then forks, without
 * exec, one process per role; the child drops privileges to mail_owner
 * (setgroups, setgid, setuid) before it calls the role's entry point below,
 * with the configuration already loaded (conf_get() works) and its log
 * opened under the role's name. A child never runs as root.
 *
 *   smtpd:  one process per smtpd service of master.cf; master applies that
 *           service's "-o name=value" overrides with conf_set() before the
 *           call, so conf_get() in the child already sees them. All
 *           processes of a service accept on the same listening socket.
 *   qmgr:   exactly one process; never two at once (master waits for the
 *           old one to exit before it starts the next).
 *
 * Signals to a child (the loop receives them; see loop_signal_add()):
 *   SIGTERM  graceful stop. smtpd closes its listeners at once, answers
 *            "421 4.3.2 Service shutting down" to sessions between
 *            transactions, lets a transaction in progress finish (bounded
 *            by service_ctx.drain_ms), then exits 0. qmgr starts no new
 *            delivery, waits for deliveries in progress (same bound), and
 *            exits 0. Nothing acknowledged is ever lost by stopping.
 *   SIGKILL  anything, any time: the queue protocol makes it safe.
 * Reload (SIGHUP or `mailgw reload` to master): master re-reads and checks
 * the configuration; if good, it forks a new generation of children and
 * sends SIGTERM to the old one, which drains as above. A broken new
 * configuration is refused (logged) and the old children keep running.
 *
 * Readiness: a child writes one byte ('R') to ready_fd once its loop runs
 * and it accepts, then closes ready_fd; `mailgw start` returns only after
 * every smtpd child of the first generation is ready.
 *
 * Exit: the entry point returns the process exit status. master restarts a
 * child that exits other than by its request (with backoff, logged). */
#ifndef MAILGW_MASTER_SERVICE_H
#define MAILGW_MASTER_SERVICE_H

#include <stddef.h>

struct service_listener {
	int fd;             /* listening, non-blocking, close-on-exec */
	const char *endpoint; /* as in master.cf: "127.0.0.1:2525", "smtp" */
};

struct service_ctx {
	const char *service; /* master.cf service name ("smtp", "qmgr") */
	const struct service_listener *listeners; /* smtpd only */
	size_t nlisteners;
	int ready_fd;        /* write 'R' when ready, then close; -1: none */
	unsigned drain_ms;   /* graceful-stop bound */
	unsigned generation; /* reload count, for logs */
	int keys_fd;         /* smtpd: socket to its keys process (tls/keys.h),
				-1 when the service does not use TLS;
				qmgr: the client certificate's, or -1 */
};

/* gateway/smtpd/smtpd.c */
int smtpd_service(const struct service_ctx *ctx);
/* gateway/queue/qmgr.c */
int qmgr_service(const struct service_ctx *ctx);

#endif
