/* master - the supervisor process and the commands that talk to it.
 *
 * `mailgw start|start-fg|stop|reload|status` (master_main, commands.h).
 * The processes it starts and what they may expect are in service.h; the
 * directories it creates are in queue/layout.h.
 *
 * The running master holds an fcntl write lock on pid/master.pid (which
 * holds its PID), so `status` works for any user and a stale file left by
 * a killed master means nothing. It answers the control socket
 * pid/master.sock (0600, root or mail_owner when run unprivileged): the
 * client writes one request line, the master answers one line:
 *     "status"  -> "ok PID"
 *     "reload"  -> "ok" | "error TEXT" (the old configuration keeps running)
 *     "stop"    -> "ok"   (then the master drains and exits; the client
 *                          waits for the lock to go away)
 * SIGHUP is reload and SIGTERM/SIGINT are stop, for init systems.
 *
 * Parameters: master_drain_time bounds a graceful stop and the drain of an
 * old generation after reload; after it, what is left is killed. */
#ifndef MAILGW_MASTER_MASTER_H
#define MAILGW_MASTER_MASTER_H

#include <sys/types.h>

#define MASTER_REQUEST_MAX   512   /* bytes of one control request */
#define MASTER_REPLY_MAX     512   /* bytes of one control reply */
#define MASTER_START_WAIT_S  60    /* `start` waits this long for ready */
#define MASTER_BACKOFF_MAX_S 60    /* restart delay after repeated failures */
#define MASTER_FAST_EXIT_MS  10000 /* a child dying sooner failed its start */

/* master_running - the PID of the master holding queue_dir's lock, 0 when
 * none runs, or -errno when the lock file cannot be examined. */
pid_t master_running(const char *queue_dir);

/* master_connect - connect to queue_dir's control socket and send req and
 * a newline; the descriptor (reads time out after 120 s), or -errno. */
int master_connect(const char *queue_dir, const char *req);

/* master_request - send req on queue_dir's control socket and put the
 * one-line answer (no newline) in reply. 0, or -errno. */
int master_request(const char *queue_dir, const char *req, char *reply,
		   size_t size);

#endif
