/* control - control-socket jobs (see control.h).
 *
 * Trusts nothing in the request: a job is a fixed argv chosen by the
 * request's exact words, and the only variable part is a queue ID that
 * qid_valid() accepts. The child runs the gateway's own binary
 * (/proc/self/exe), so no PATH and no shell are involved. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master/control.h"
#include "master/master.h"
#include "queue/layout.h"
#include "queue/qid.h"

static int word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
		return 0;
	if (*p + n != end && (*p)[n] != ' ')
		return 0;
	*p += n;
	if (*p != end)
		(*p)++;
	return 1;
}

/* "users list", "users del NAME", "users add NAME PASSWORD": mailgw
 * passwd, the password on the child's stdin (never on argv). */
static int users_job(const char *p, const char *end, struct control_job *job,
		     struct buf *why)
{
	int add = 0;
	size_t n;

	if (word(&p, end, "list")) {
		if (p != end) {
			buf_puts(why, "unexpected argument");
			return -1;
		}
		job->argv[job->argc++] = "passwd";
		job->argv[job->argc++] = "list";
		return 1;
	}
	if (!(add = word(&p, end, "add")) && !word(&p, end, "del")) {
		buf_puts(why, "unknown users action");
		return -1;
	}
	for (n = 0; p + n < end && strchr(CONTROL_USER_CHARS, p[n]) && p[n];)
		n++;
	if (n == 0 || n > CONTROL_USER_MAX ||
	    (add ? p + n >= end || p[n] != ' ' : p + n != end)) {
		buf_puts(why, add ? "a user name and a password are needed"
				  : "not a user name");
		return -1;
	}
	memcpy(job->user, p, n);
	job->user[n] = 0;
	if (add) {
		size_t pl = (size_t)(end - (p + n + 1));

		if (pl == 0 || pl >= sizeof(job->input)) {
			buf_puts(why, "no password, or one too long");
			return -1;
		}
		for (size_t i = 0; i < pl; i++)
			if ((unsigned char)p[n + 1 + i] < ' ' ||
			    (unsigned char)p[n + 1 + i] > 0x7e) {
				buf_puts(why, "the password has control or "
					      "non-ASCII characters");
				return -1;
			}
		memcpy(job->input, p + n + 1, pl);
		job->input[pl] = 0;
	}
	job->argv[job->argc++] = "passwd";
	job->argv[job->argc++] = add ? "add" : "del";
	job->argv[job->argc++] = job->user;
	return 1;
}

int control_job_parse(const char *req, size_t len, const char *webui_dir,
		      struct control_job *job, struct buf *why)
{
	const char *p = req, *end = req + len;
	static const struct {
		const char *verb;
		const char *tool;
		const char *opt; /* with a QID; NULL: no argument */
		const char *fixed;
	} queue_ops[] = {
		{"list", "postqueue", NULL, "-j"},
		{"flush", "postqueue", NULL, "-f"},
		{"headers", "postcat", "-h", "-q"},
		{"hold", "postsuper", NULL, "-h"},
		{"release", "postsuper", NULL, "-H"},
		{"delete", "postsuper", NULL, "-d"},
	};

	memset(job, 0, sizeof(*job));
	if (len == 5 && memcmp(req, "apply", 5) == 0) {
		if (webui_dir == NULL || *webui_dir != '/' ||
		    (size_t)snprintf(job->staged, sizeof(job->staged), "%s/%s",
				     webui_dir, CONTROL_STAGED_FILE) >=
			    sizeof(job->staged)) {
			buf_puts(why,
				 "webui_directory is not an absolute path");
			return -1;
		}
		job->argv[job->argc++] = "config";
		job->argv[job->argc++] = "apply";
		job->argv[job->argc++] =
			"-u"; /* system keys stay as they are */
		job->argv[job->argc++] = "-s";
		job->argv[job->argc++] = job->staged;
		return 1;
	}
	if (len == 3 && memcmp(req, "log", 3) == 0) {
		job->log = 1;
		return 1;
	}
	if (word(&p, end, "users"))
		return users_job(p, end, job, why);
	if (!word(&p, end, "queue"))
		return 0;
	for (size_t i = 0; i < sizeof(queue_ops) / sizeof(queue_ops[0]); i++) {
		int with_qid = strcmp(queue_ops[i].tool, "postqueue") != 0;

		if (!word(&p, end, queue_ops[i].verb))
			continue;
		if (with_qid) {
			size_t n = (size_t)(end - p);

			if (n == 0 || n >= sizeof(job->qid)) {
				buf_puts(why, "a queue ID is needed");
				return -1;
			}
			memcpy(job->qid, p, n);
			job->qid[n] = 0;
			if (!qid_valid(job->qid)) {
				buf_puts(why, "not a queue ID");
				return -1;
			}
		} else if (p != end) {
			buf_puts(why, "unexpected argument");
			return -1;
		}
		job->argv[job->argc++] = queue_ops[i].tool;
		if (queue_ops[i].opt)
			job->argv[job->argc++] = queue_ops[i].opt;
		job->argv[job->argc++] = queue_ops[i].fixed;
		if (with_qid)
			job->argv[job->argc++] = job->qid;
		return 1;
	}
	buf_puts(why, "unknown queue action");
	return -1;
}

/* The tail of the log, from the start of a line. */
static int copy_log(const char *path, int out)
{
	char chunk[65536];
	int fd = path && *path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	off_t size;
	int skip_line;

	if (fd < 0)
		return 1;
	size = lseek(fd, 0, SEEK_END);
	skip_line = size > CONTROL_LOG_TAIL;
	lseek(fd, skip_line ? size - CONTROL_LOG_TAIL : 0, SEEK_SET);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		const char *p = chunk;

		if (n <= 0)
			break;
		if (skip_line) {
			const char *nl = memchr(chunk, '\n', (size_t)n);

			if (nl == NULL)
				continue;
			skip_line = 0;
			n -= nl + 1 - chunk;
			p = nl + 1;
		}
		if (write(out, p, (size_t)n) < 0)
			break;
	}
	close(fd);
	return 0;
}

pid_t control_job_start(int fd, const char *dir, const char *maillog,
			const struct control_job *job)
{
	pid_t pid = fork(), tool;
	sigset_t none;
	int status, devnull;
	char line[32];

	if (pid != 0)
		return pid;
	/* The child: a clean slate, then the tool, then the status line. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (job->input[0]) {
		/* The password: one line on a pipe (far below PIPE_BUF). */
		int pp[2];

		if (pipe(pp) < 0 ||
		    write(pp[1], job->input, strlen(job->input)) < 0 ||
		    write(pp[1], "\n", 1) < 0)
			_exit(1);
		close(pp[1]);
		devnull = pp[0];
	} else {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		_exit(1);
	for (int i = 3; i < 1024; i++)
		if (i != fd)
			close(i);
	if (job->log) {
		snprintf(line, sizeof(line), "status %d\n",
			 copy_log(maillog, fd));
		_exit(write(fd, line, strlen(line)) < 0);
	}
	tool = fork();
	if (tool == 0) {
		const char *argv[CONTROL_ARGV_MAX + 4];
		size_t n = 0;

		argv[n++] = "mailgw";
		argv[n++] = "-c";
		argv[n++] = dir;
		for (size_t i = 0; i < job->argc; i++)
			argv[n++] = job->argv[i];
		argv[n] = NULL;
		close(fd);
		execv("/proc/self/exe", (char *const *)(uintptr_t)argv);
		dprintf(2, "cannot run mailgw: %s\n", strerror(errno));
		_exit(127);
	}
	if (tool < 0 || waitpid(tool, &status, 0) < 0)
		status = 127 << 8;
	snprintf(line, sizeof(line), "status %d\n",
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	if (write(fd, line, strlen(line)) < 0)
		_exit(1);
	_exit(0);
}

int control_request(const char *queue_dir, const char *req, struct buf *out)
{
	char chunk[4096];
	const char *last;
	int fd = master_connect(queue_dir, req), e;

	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_len(out) + (size_t)n > CONTROL_OUTPUT_MAX)
			break;
		buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	/* The last line is "status N". */
	if (buf_len(out) < 9 || buf_str(out)[buf_len(out) - 1] != '\n')
		return -EPROTO;
	last = buf_str(out) + buf_len(out) - 1;
	while (last > buf_str(out) && last[-1] != '\n')
		last--;
	if (strncmp(last, "status ", 7) != 0)
		return -EPROTO;
	e = atoi(last + 7);
	buf_truncate(out, (size_t)(last - buf_str(out)));
	return e >= 0 && e <= 255 ? e : -EPROTO;
}
