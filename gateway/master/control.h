/* control - the control-socket jobs: apply and queue actions for the web UI.
 *
 * Besides status/reload/stop (master.h), master answers these requests,
 * which may also come from webui_owner (the web UI's CGI, unprivileged):
 *     "status"
 *     "apply"                 mailgw config apply -u -s
 * WEBUI_DIR/settings.staged
 *                             (-u: the staged file may not change a system
 *                             key: paths, users, listeners)
 *     "queue list"            mailgw postqueue -j
 *     "queue headers QID"     mailgw postcat -h -q QID
 *     "queue flush"           mailgw postqueue -f
 *     "queue hold QID"        mailgw postsuper -h QID
 *     "queue release QID"     mailgw postsuper -H QID
 *     "queue delete QID"      mailgw postsuper -d QID
 *     "users list"            mailgw passwd list (SMTP AUTH users)
 *     "users del NAME"        mailgw passwd del NAME
 *     "users add NAME PASSWORD"
 *                             mailgw passwd add NAME, with PASSWORD (the
 *                             rest of the line, printable ASCII) on its
 *                             standard input; never on argv, never logged
 *     "log"                   the last CONTROL_LOG_TAIL bytes of
 *                             maillog_file (the dashboard counts today's
 *                             lines; the log is not readable by webui_owner)
 * Master checks the request again (control_job_parse: the exact words, a
 * queue ID as qid_valid() knows them), then runs the command from a fixed
 * argv (never a shell; the configuration directory is master's own) in a
 * child whose standard output and error are the client's socket. The reply
 * is the command's output, then one line "status N" with its exit code;
 * the connection then closes. A refused request gets "error TEXT".
 *
 * control_job_parse is a pure function over bytes (fuzzed with the other
 * control-socket input). */
#ifndef MAILGW_MASTER_CONTROL_H
#define MAILGW_MASTER_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

#define CONTROL_ARGV_MAX    12
#define CONTROL_OUTPUT_MAX  (4 * 1024 * 1024) /* bytes a client reads */
#define CONTROL_STAGED_FILE "settings.staged"
#define CONTROL_LOG_TAIL    (2 * 1024 * 1024)
#define CONTROL_USER_MAX    64 /* bytes of a user name */
#define CONTROL_USER_CHARS                                                   \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-"

/* control_job - a parsed request: argv for `mailgw ARGV...` after
 * "-c DIR", pointing into arg storage of the struct. */
struct control_job {
	const char *argv[CONTROL_ARGV_MAX];
	size_t argc;
	char qid[64];
	char staged[4096];
	int log; /* "log": no argv; the child copies maillog_file */
	char user[CONTROL_USER_MAX + 1];
	char input[256]; /* "users add": the password, the child's stdin */
};

/* control_job_parse - req[0..len) (no newline) to a job. webui_dir is
 * where the staged settings are. 1 with job filled; 0 when req is not a
 * job request (status, reload, stop are master's own); -1 when it is a
 * malformed job request (why says what). */
int control_job_parse(const char *req, size_t len, const char *webui_dir,
		      struct control_job *job, struct buf *why);

/* control_job_start - fork a child that runs the job with fd as its output
 * and then writes "status N". maillog is maillog_file (for "log"; may be
 * NULL). Returns the child's PID or -1. The child closes every other
 * descriptor; the caller closes fd. */
pid_t control_job_start(int fd, const char *dir, const char *maillog,
			const struct control_job *job);

/* control_request - send req and read the whole reply (output and the
 * status line) into out, at most CONTROL_OUTPUT_MAX bytes. Returns the
 * exit status from the last line (0..255), or -errno, or -EPROTO when the
 * reply has no status line (then out holds what came, e.g. "error ..."). */
int control_request(const char *queue_dir, const char *req, struct buf *out);

#endif
