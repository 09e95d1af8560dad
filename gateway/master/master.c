/* master - supervisor of the smtpd and qmgr processes (service.h).
 *
 * Runs as root (or as mail_owner itself, for development): it checks the
 * configuration, creates the queue tree (queue/layout.h), binds every inet
 * smtpd listener of master.cf, then forks one child per smtpd service and
 * one qmgr. Children never exec: each drops privileges and calls its
 * role's entry point. master itself reads only its own configuration
 * files and one-line requests on a 0600 socket; it parses no network
 * input (STYLE.md rule 12).
 *
 * Generations: start makes generation 1; each good reload makes a new
 * generation with the new configuration, then sends SIGTERM to the old
 * one, which drains (service.h). Listeners whose address stays are passed
 * on as the same socket, so no connection is refused during a reload.
 * Exactly one qmgr: a qmgr child takes pid/qmgr.lock before it starts,
 * so a new one waits for the old one's exit (also for an orphan left by
 * a killed master). Children get SIGTERM when the master dies
 * (PR_SET_PDEATHSIG), so a killed master leaves nothing running for long.
 *
 * Log lines follow Postfix's master where it has the event ("daemon
 * started -- version", "warning: process ... pid N killed by signal 9",
 * "terminating on signal 15", "reload -- version"). */
#include "master/master.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "conf/mastercf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "core/str.h"
#include "master/control.h"
#include "master/endpoint.h"
#include "master/service.h"
#include "tls/keys.h"
#include "queue/layout.h"
#include "queue/spool.h"
#include "webui/setuptoken.h"

#define QMGR_LOCK      "pid/qmgr.lock"
#define LISTEN_BACKLOG 1024
#define BIND_RETRY_MS  5000 /* an orphan child may still hold the port */
#define KILL_SLACK_MS  3000 /* after the drain bound, before SIGKILL */

enum role { ROLE_SMTPD, ROLE_QMGR };

struct listener {
	char *key;      /* the bound address, net_addr_format() */
	char *endpoint; /* as master.cf names it */
	int fd;
	int keep; /* used by the configuration being installed */
};

/* One smtpd service of master.cf. */
struct service {
	char *name;
	unsigned line;
	size_t *lst; /* indexes into M.lst */
	size_t nlst;
	char **ovr; /* name, value, name, value... */
	size_t novr;
};

/* A running (or waiting to run) child of the current generation. */
struct slot {
	enum role role;
	size_t svc; /* smtpd: index into cur.svcs */
	pid_t pid;
	uint64_t started;
	unsigned fails;
	int ready;
	int ready_fd; /* read end, -1 when done */
	struct loop_timer restart;
};

struct config {
	struct service *svcs;
	size_t nsvcs;
};

static struct {
	struct loop *lp;
	char *dir; /* configuration directory */
	char *queue_dir;
	char *maillog;
	uid_t uid;
	gid_t gid;
	int privileged; /* running as root: drop to uid/gid in children */
	int detached;   /* start (not start-fg): children get /dev/null */
	pid_t pid;
	int pid_fd;
	int ctl_fd;
	uid_t webui_uid; /* webui_owner's uid, or (uid_t)-1 */
	int notify_fd; /* `start` waits on this for 'R' or 'E' */
	struct listener *lst;
	size_t nlst;
	struct config cur;
	struct slot *slots;
	size_t nslots;
	unsigned generation;
	pid_t *retired; /* old generations, draining */
	size_t nretired;
	int stopping;
	int announced; /* "daemon started" logged */
	unsigned drain_ms;
	struct loop_timer kill_timer;
} M;

/* ------------------------------------------------------------ config */

static void config_free(struct config *c)
{
	for (size_t i = 0; i < c->nsvcs; i++) {
		struct service *s = &c->svcs[i];

		mem_free(s->name);
		mem_free(s->lst);
		for (size_t j = 0; j < s->novr; j++)
			mem_free(s->ovr[j]);
		mem_free(s->ovr);
	}
	mem_free(c->svcs);
	memset(c, 0, sizeof(*c));
}

/* Postfix daemons mailgw does inside its own processes, or not at all
 * because the gateway has no use for them. */
static const char *const builtin[] = {
	"pickup",
	"cleanup",
	"qmgr",
	"oqmgr",
	"tlsmgr",
	"rewrite",
	"trivial-rewrite",
	"bounce",
	"defer",
	"trace",
	"verify",
	"flush",
	"proxymap",
	"proxywrite",
	"smtp",
	"lmtp",
	"relay",
	"showq",
	"error",
	"retry",
	"discard",
	"anvil",
	"scache",
	"postlogd",
	"local",
	"virtual",
	NULL,
};

static int is_builtin(const char *cmd)
{
	for (size_t i = 0; builtin[i]; i++)
		if (strcmp(builtin[i], cmd) == 0)
			return 1;
	return 0;
}

struct read_state {
	struct config *c;
	int quiet; /* client-side check: no per-entry log lines */
	int err;
};

static int read_entry(const struct mastercf_entry *e, void *arg)
{
	struct read_state *st = arg;
	const char *name = e->field[MASTERCF_F_SERVICE];
	const char *cmd = e->field[MASTERCF_F_COMMAND];
	struct service *s;

	if (e->type == MASTERCF_INET && strcmp(cmd, "smtpd") == 0) {
		for (size_t i = 0; i < st->c->nsvcs; i++)
			if (strcmp(st->c->svcs[i].name, name) == 0) {
				msg_error("%s/master.cf, line %u: duplicate "
					  "service \"%s\" (first on line %u)",
					  conf_dir(), e->line, name,
					  st->c->svcs[i].line);
				st->err = 1;
				return 0;
			}
		st->c->svcs = mem_realloc(
			st->c->svcs, (st->c->nsvcs + 1) * sizeof(*st->c->svcs));
		s = &st->c->svcs[st->c->nsvcs++];
		memset(s, 0, sizeof(*s));
		s->name = mem_strdup(name);
		s->line = e->line;
		for (size_t i = 0; i < e->nargs; i++) {
			if (e->args[i].name == NULL)
				continue;
			s->ovr = mem_realloc(s->ovr,
					     (s->novr + 2) * sizeof(*s->ovr));
			s->ovr[s->novr++] = mem_strdup(e->args[i].name);
			s->ovr[s->novr++] = mem_strdup(e->args[i].value);
		}
		return 0;
	}
	if (st->quiet)
		return 0;
	if ((e->type == MASTERCF_UNIX || e->type == MASTERCF_FIFO ||
	     e->type == MASTERCF_PASS) &&
	    is_builtin(cmd)) {
		if (strcmp(cmd, "smtp") == 0 || strcmp(cmd, "lmtp") == 0)
			msg_info("master.cf, line %u: service %s (%s): "
				 "delivery transport",
				 e->line, name, cmd);
		else
			msg_info(
				"master.cf, line %u: service %s (%s): built in",
				e->line, name, cmd);
		return 0;
	}
	msg_warn("master.cf, line %u: service %s (%s %s): not supported; "
		 "ignored",
		 e->line, name, mastercf_type_name(e->type), cmd);
	return 0;
}

/* Read master.cf into c. Errors are logged; 0 or -1. */
static int config_read(const char *dir, struct config *c, int quiet)
{
	struct read_state st = {c, quiet, 0};

	memset(c, 0, sizeof(*c));
	if (conf_master_read(dir, read_entry, &st) < 0 || st.err) {
		config_free(c);
		return -1;
	}
	if (c->nsvcs == 0)
		msg_warn("%s/master.cf: no inet service runs smtpd; no mail "
			 "will be received over SMTP",
			 dir ? dir : conf_dir());
	return 0;
}

/* ------------------------------------------------------------ listeners */

static ssize_t listener_find(const char *key)
{
	for (size_t i = 0; i < M.nlst; i++)
		if (M.lst[i].fd >= 0 && strcmp(M.lst[i].key, key) == 0)
			return (ssize_t)i;
	return -1;
}

static int bind_retry(const struct net_addr *a, int *fd)
{
	uint64_t end = loop_clock_ms() + BIND_RETRY_MS;
	int rc;

	while ((rc = net_listen(a, LISTEN_BACKLOG, fd)) == -EADDRINUSE &&
	       loop_clock_ms() < end) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return rc;
}

/* Resolve and bind (or take over) every endpoint of c. Marks kept
 * listeners; on error the ones bound here are closed again. 0 or -1. */
static int listeners_bind(struct config *c)
{
	size_t first_new = M.nlst;
	const char *ifaces = conf_get("inet_interfaces");
	const char *protos = conf_get("inet_protocols");

	for (size_t i = 0; i < M.nlst; i++)
		M.lst[i].keep = 0;
	for (size_t i = 0; i < c->nsvcs; i++) {
		struct service *s = &c->svcs[i];
		struct endpoint ep;
		struct net_addr addr[ENDPOINT_ADDR_MAX];
		const char *bad;
		int n, rc;

		rc = endpoint_parse(s->name, strlen(s->name), &ep);
		if (rc < 0) {
			msg_error("%s/master.cf, line %u: service \"%s\": %s",
				  conf_dir(), s->line, s->name,
				  endpoint_strerror(rc));
			goto fail;
		}
		n = endpoint_resolve(&ep, ifaces, protos, addr,
				     ENDPOINT_ADDR_MAX, &bad);
		if (n < 0) {
			msg_error("%s/master.cf, line %u: service \"%s\": "
				  "cannot find the address of \"%s\": %s",
				  conf_dir(), s->line, s->name,
				  bad ? bad : s->name, strerror(-n));
			goto fail;
		}
		for (int k = 0; k < n; k++) {
			struct buf key;
			ssize_t at;
			int fd;

			buf_init(&key, NET_ADDR_STRLEN + 1);
			net_addr_format(&addr[k], &key);
			at = listener_find(buf_str(&key));
			if (at < 0) {
				rc = bind_retry(&addr[k], &fd);
				if (rc < 0) {
					msg_error("service \"%s\": bind %s: %s",
						  s->name, buf_str(&key),
						  strerror(-rc));
					buf_free(&key);
					goto fail;
				}
				M.lst = mem_realloc(
					M.lst, (M.nlst + 1) * sizeof(*M.lst));
				at = (ssize_t)M.nlst++;
				M.lst[at].key = mem_strdup(buf_str(&key));
				M.lst[at].endpoint = mem_strdup(s->name);
				M.lst[at].fd = fd;
			}
			buf_free(&key);
			M.lst[at].keep = 1;
			s->lst = mem_realloc(s->lst,
					     (s->nlst + 1) * sizeof(*s->lst));
			s->lst[s->nlst++] = (size_t)at;
		}
	}
	return 0;
fail:
	for (size_t i = first_new; i < M.nlst; i++) {
		close(M.lst[i].fd);
		mem_free(M.lst[i].key);
		mem_free(M.lst[i].endpoint);
	}
	M.nlst = first_new;
	for (size_t i = 0; i < c->nsvcs; i++) {
		mem_free(c->svcs[i].lst);
		c->svcs[i].lst = NULL;
		c->svcs[i].nlst = 0;
	}
	return -1;
}

/* Close the listeners the installed configuration no longer uses, and
 * compact the table (service indexes are rebuilt by the caller). */
static void listeners_prune(struct config *c)
{
	size_t *map = mem_zalloc((M.nlst + 1) * sizeof(*map));
	size_t n = 0;

	for (size_t i = 0; i < M.nlst; i++) {
		if (!M.lst[i].keep) {
			msg_info("closing listener %s (service %s)",
				 M.lst[i].key, M.lst[i].endpoint);
			close(M.lst[i].fd);
			mem_free(M.lst[i].key);
			mem_free(M.lst[i].endpoint);
			continue;
		}
		map[i] = n;
		M.lst[n++] = M.lst[i];
	}
	for (size_t i = 0; i < c->nsvcs; i++)
		for (size_t j = 0; j < c->svcs[i].nlst; j++)
			c->svcs[i].lst[j] = map[c->svcs[i].lst[j]];
	M.nlst = n;
	mem_free(map);
}

/* ------------------------------------------------------------ children */

static void close_fds_except(const int *keep, size_t nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd;

	if (d == NULL) {
		for (int fd = 3; fd < 1024; fd++) {
			size_t i;

			for (i = 0; i < nkeep && keep[i] != fd; i++)
				;
			if (i == nkeep)
				close(fd);
		}
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		long v;
		size_t i;

		if (str_to_long(de->d_name, &v) < 0 || v < 3 || v == dfd)
			continue;
		for (i = 0; i < nkeep && keep[i] != (int)v; i++)
			;
		if (i == nkeep)
			close((int)v);
	}
	closedir(d);
}

static void drop_privileges(void)
{
	if (!M.privileged)
		return;
	if (setgroups(1, &M.gid) < 0 || setresgid(M.gid, M.gid, M.gid) < 0 ||
	    setresuid(M.uid, M.uid, M.uid) < 0)
		msg_fatal("cannot drop privileges to uid %ld: %s", (long)M.uid,
			  strerror(errno));
	if (M.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		msg_fatal("privileges were not dropped");
}

static _Noreturn void child_main(struct slot *sl, int ready_w)
{
	struct service_listener sls[ENDPOINT_ADDR_MAX * 4];
	struct service_ctx ctx;
	int keep[ENDPOINT_ADDR_MAX * 4 + 2];
	size_t nkeep = 0, nsl = 0;
	sigset_t none;
	int rc, lock_fd = -1, keys_fd = -1;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Ctrl-C or a hangup at the terminal of start-fg reaches the whole
	 * process group: only the master acts on them (graceful stop). */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != M.pid)
		_exit(0);

	keep[nkeep++] = ready_w;
	if (sl->role == ROLE_SMTPD) {
		const struct service *s = &M.cur.svcs[sl->svc];

		for (size_t i = 0;
		     i < s->nlst && nsl < sizeof(sls) / sizeof(sls[0]); i++) {
			sls[nsl].fd = M.lst[s->lst[i]].fd;
			sls[nsl].endpoint = M.lst[s->lst[i]].endpoint;
			keep[nkeep++] = sls[nsl].fd;
			nsl++;
		}
	}
	/* Nothing of the master's (loop, control socket, lock, other
	 * services' listeners and pipes) stays open in a child. */
	closelog();
	log_set_file(NULL);
	close_fds_except(keep, nkeep);
	if (M.detached) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
	}
	log_open(sl->role == ROLE_SMTPD ? "smtpd" : "qmgr",
		 *M.maillog ? 0 : LOG_DEST_SYSLOG);
	if (*M.maillog && log_set_file(M.maillog) < 0)
		_exit(1);
	/* ps and the tests tell the roles apart by name. */
	prctl(PR_SET_NAME, sl->role == ROLE_SMTPD ? "smtpd" : "qmgr");

	if (sl->role == ROLE_QMGR) {
		char path[4096];

		/* while root: the client certificate's key, if any */
		keys_fd = tls_keys_start_client(M.uid, M.gid);
		snprintf(path, sizeof(path), "%s/%s", M.queue_dir, QMGR_LOCK);
		lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock_fd < 0)
			msg_fatal("open %s: %s", path, strerror(errno));
		if (lockf(lock_fd, F_TLOCK, 0) < 0) {
			msg_info("waiting for the previous qmgr to exit");
			if (lockf(lock_fd, F_LOCK, 0) < 0)
				msg_fatal("lock %s: %s", path, strerror(errno));
		}
	}
	if (sl->role == ROLE_SMTPD) {
		const struct service *s = &M.cur.svcs[sl->svc];

		for (size_t i = 0; i + 1 < s->novr; i += 2)
			conf_set(s->ovr[i], s->ovr[i + 1]);
		/* while root: the keys process reads the key files */
		keys_fd = tls_keys_start(M.uid, M.gid);
	}
	drop_privileges();
	/* After the credential change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != M.pid)
		_exit(0);

	memset(&ctx, 0, sizeof(ctx));
	ctx.keys_fd = keys_fd;
	ctx.service =
		sl->role == ROLE_SMTPD ? M.cur.svcs[sl->svc].name : "qmgr";
	ctx.listeners = sls;
	ctx.nlisteners = nsl;
	ctx.ready_fd = ready_w;
	ctx.drain_ms = M.drain_ms;
	ctx.generation = M.generation;
	rc = sl->role == ROLE_SMTPD ? smtpd_service(&ctx) : qmgr_service(&ctx);
	(void)lock_fd; /* held until exit: one qmgr at a time */
	exit(rc);
}

static void on_ready(struct loop *lp, int fd, int ready, void *arg);
static void notify_start(int ok, const char *why);
static void begin_stop(int signo);

static void slot_close_ready(struct slot *sl)
{
	if (sl->ready_fd >= 0) {
		loop_fd_del(M.lp, sl->ready_fd, LOOP_ALL);
		close(sl->ready_fd);
		sl->ready_fd = -1;
	}
}

static const char *slot_name(const struct slot *sl)
{
	return sl->role == ROLE_SMTPD ? M.cur.svcs[sl->svc].name : "qmgr";
}

static void spawn(struct slot *sl)
{
	int p[2];
	pid_t pid;

	if (M.stopping)
		return;
	if (pipe2(p, O_CLOEXEC) < 0) {
		msg_warn("pipe: %s; retrying in 1 s", strerror(errno));
		loop_timer_set(M.lp, &sl->restart, 1000);
		return;
	}
	pid = fork();
	if (pid < 0) {
		msg_warn("fork: %s; retrying in 1 s", strerror(errno));
		close(p[0]);
		close(p[1]);
		loop_timer_set(M.lp, &sl->restart, 1000);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(sl, p[1]);
	}
	close(p[1]);
	sl->pid = pid;
	sl->started = loop_clock_ms();
	sl->ready = 0;
	slot_close_ready(sl);
	sl->ready_fd = p[0];
	loop_fd_add(M.lp, p[0], LOOP_READABLE, on_ready, sl);
	msg_debug("started %s pid %ld", slot_name(sl), (long)pid);
}

static int all_ready(void)
{
	for (size_t i = 0; i < M.nslots; i++)
		if (M.slots[i].role == ROLE_SMTPD && !M.slots[i].ready)
			return 0;
	return 1;
}

static void on_ready(struct loop *lp, int fd, int ready, void *arg)
{
	struct slot *sl = arg;
	char c = 0;
	ssize_t n;

	(void)lp;
	(void)ready;
	n = read(fd, &c, 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 1 && c == 'R') {
		sl->ready = 1;
		if (all_ready())
			notify_start(1, NULL);
	}
	slot_close_ready(sl);
}

static void on_restart(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)lp;
	(void)t;
	spawn(arg);
}

static struct slot *slots_new(const struct config *c, size_t *n)
{
	struct slot *s = mem_zalloc((c->nsvcs + 1) * sizeof(*s));

	for (size_t i = 0; i <= c->nsvcs; i++) {
		s[i].role = i < c->nsvcs ? ROLE_SMTPD : ROLE_QMGR;
		s[i].svc = i;
		s[i].ready_fd = -1;
		loop_timer_init(&s[i].restart, on_restart, &s[i]);
	}
	*n = c->nsvcs + 1;
	return s;
}

static void retire(pid_t pid)
{
	M.retired =
		mem_realloc(M.retired, (M.nretired + 1) * sizeof(*M.retired));
	M.retired[M.nretired++] = pid;
}

/* Hand the current children over to the retired list with SIGTERM. */
static void retire_slots(struct slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		loop_timer_cancel(M.lp, &s[i].restart);
		if (M.lp)
			slot_close_ready(&s[i]);
		if (s[i].pid > 0) {
			kill(s[i].pid, SIGTERM);
			retire(s[i].pid);
		}
	}
	mem_free(s);
}

static void describe_exit(int status, char *out, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(out, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, size, "exit status %d", WEXITSTATUS(status));
}

static void child_exited(pid_t pid, int status)
{
	char how[64];

	describe_exit(status, how, sizeof(how));
	for (size_t i = 0; i < M.nretired; i++)
		if (M.retired[i] == pid) {
			M.retired[i] = M.retired[--M.nretired];
			if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
				msg_warn("process %s pid %ld %s (old "
					 "generation)",
					 "mailgw", (long)pid, how);
			return;
		}
	for (size_t i = 0; i < M.nslots; i++) {
		struct slot *sl = &M.slots[i];
		uint64_t now = loop_clock_ms(), delay = 0;

		if (sl->pid != pid)
			continue;
		sl->pid = 0;
		slot_close_ready(sl);
		if (M.stopping)
			return;
		msg_warn("process %s pid %ld %s",
			 sl->role == ROLE_SMTPD ? "smtpd" : "qmgr", (long)pid,
			 how);
		if (M.notify_fd >= 0 && !sl->ready && sl->role == ROLE_SMTPD) {
			char why[256];

			snprintf(why, sizeof(why),
				 "smtpd of service %s %s during start-up",
				 slot_name(sl), how);
			notify_start(0, why);
			begin_stop(0);
			return;
		}
		if (now - sl->started < MASTER_FAST_EXIT_MS) {
			sl->fails++;
			delay = 1000ULL << (sl->fails < 7 ? sl->fails - 1 : 6);
			if (delay > MASTER_BACKOFF_MAX_S * 1000ULL)
				delay = MASTER_BACKOFF_MAX_S * 1000ULL;
			msg_warn("service %s (%s): bad command startup -- "
				 "throttling for %llu s",
				 slot_name(sl),
				 sl->role == ROLE_SMTPD ? "smtpd" : "qmgr",
				 (unsigned long long)(delay / 1000));
		} else {
			sl->fails = 0;
		}
		loop_timer_set(M.lp, &sl->restart, delay);
		return;
	}
}

static void stop_done_check(void)
{
	if (!M.stopping)
		return;
	for (size_t i = 0; i < M.nslots; i++)
		if (M.slots[i].pid > 0)
			return;
	if (M.nretired == 0)
		loop_stop(M.lp);
}

static void on_sigchld(struct loop *lp, int signo, void *arg)
{
	pid_t pid;
	int status;

	(void)lp;
	(void)signo;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		child_exited(pid, status);
	stop_done_check();
}

/* ------------------------------------------------------------ stop, reload */

static void on_kill_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)lp;
	(void)t;
	(void)arg;
	for (size_t i = 0; i < M.nslots; i++)
		if (M.slots[i].pid > 0) {
			msg_warn(
				"process pid %ld did not drain in time; killed",
				(long)M.slots[i].pid);
			kill(M.slots[i].pid, SIGKILL);
		}
	for (size_t i = 0; i < M.nretired; i++) {
		msg_warn("process pid %ld did not drain in time; killed",
			 (long)M.retired[i]);
		kill(M.retired[i], SIGKILL);
	}
}

static void begin_stop(int signo)
{
	if (M.stopping)
		return;
	M.stopping = 1;
	if (signo)
		msg_info("terminating on signal %d", signo);
	else
		msg_info("terminating on request");
	for (size_t i = 0; i < M.nslots; i++) {
		loop_timer_cancel(M.lp, &M.slots[i].restart);
		if (M.slots[i].pid > 0)
			kill(M.slots[i].pid, SIGTERM);
	}
	for (size_t i = 0; i < M.nretired; i++)
		kill(M.retired[i], SIGTERM);
	/* The port is free as soon as the children close their copies. */
	for (size_t i = 0; i < M.nlst; i++)
		if (M.lst[i].fd >= 0) {
			close(M.lst[i].fd);
			M.lst[i].fd = -1;
		}
	loop_timer_set(M.lp, &M.kill_timer, M.drain_ms + KILL_SLACK_MS);
	stop_done_check();
}

static unsigned drain_ms(void)
{
	long s = conf_get_time("master_drain_time");

	return s > 0 && s < 86400 ? (unsigned)s * 1000U : 60000U;
}

/* Re-read everything; install it as a new generation. 0, or -1 with why
 * set (the running generation is untouched). */
static int do_reload(char *why, size_t size)
{
	struct config nc = {0};
	struct slot *old;
	size_t nold;

	if (M.stopping) {
		snprintf(why, size, "the mail system is stopping");
		return -1;
	}
	if (config_read(M.dir, &nc, 0) < 0) {
		snprintf(why, size,
			 "errors in %s/master.cf (see the log); "
			 "the running configuration is unchanged",
			 M.dir);
		msg_warn("reload refused: %s", why);
		return -1;
	}
	if (conf_load_flags(M.dir, CONF_MAIN_CF_REQUIRED) < 0) {
		config_free(&nc);
		snprintf(why, size,
			 "errors in %s/main.cf (see the log); "
			 "the running configuration is unchanged",
			 M.dir);
		msg_warn("reload refused: %s", why);
		return -1;
	}
	if (listeners_bind(&nc) < 0) {
		config_free(&nc);
		snprintf(why, size,
			 "cannot bind the new listeners (see the "
			 "log); the running configuration is "
			 "unchanged");
		msg_warn("reload refused: %s", why);
		return -1;
	}
	listeners_prune(&nc);
	M.drain_ms = drain_ms();
	old = M.slots;
	nold = M.nslots;
	M.generation++;
	config_free(&M.cur);
	M.cur = nc;
	M.slots = slots_new(&M.cur, &M.nslots);
	/* New children first, so accepting never pauses; then the old
	 * generation drains. qmgr waits for the old one's lock. */
	for (size_t i = 0; i < M.nslots; i++)
		spawn(&M.slots[i]);
	retire_slots(old, nold);
	msg_info("reload -- version %s, configuration %s", MAILGW_VERSION,
		 M.dir);
	return 0;
}

static void on_signal(struct loop *lp, int signo, void *arg)
{
	char why[256];

	(void)lp;
	(void)arg;
	if (signo == SIGHUP)
		do_reload(why, sizeof(why));
	else
		begin_stop(signo);
}

/* ------------------------------------------------------------ control */

/* A control job (control.h) or a request webui_owner may not make:
 * answered here, 1; 0 for master's own requests. */
static int ctl_job(int c, const char *req, uid_t uid)
{
	struct control_job job;
	struct buf why;
	int rc;

	buf_init(&why, 256);
	rc = control_job_parse(req, strlen(req), conf_get("webui_directory"),
			       &job, &why);
	if (rc == 0 && uid != 0 && uid != geteuid() &&
	    strcmp(req, "status") != 0) {
		buf_puts(&why, "not allowed");
		rc = -1;
	}
	if (rc < 0) {
		dprintf(c, "error %s\n", buf_str(&why));
		msg_warn("control request refused: %s", buf_str(&why));
	} else if (rc > 0) {
		/* never the password of "users add" */
		msg_info("control: %.*s (uid %ld)",
			 job.input[0] ? (int)(strlen(req) - strlen(job.input) - 1)
				      : (int)strlen(req),
			 req, (long)uid);
		if (control_job_start(c, M.dir, M.maillog, &job) < 0)
			dprintf(c, "error cannot fork: %s\n", strerror(errno));
	}
	buf_free(&why);
	if (rc != 0)
		close(c);
	return rc != 0;
}

static void on_ctl(struct loop *lp, int fd, int ready, void *arg)
{
	char req[MASTER_REQUEST_MAX + 1], reply[MASTER_REPLY_MAX];
	struct timeval tv = {2, 0};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	size_t got = 0;
	int c, want_stop = 0;

	(void)lp;
	(void)ready;
	(void)arg;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid() &&
	     cred.uid != M.webui_uid)) {
		close(c);
		return;
	}
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < MASTER_REQUEST_MAX) {
		ssize_t n = read(c, req + got, MASTER_REQUEST_MAX - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(req, '\n', got))
			break;
	}
	req[got] = 0;
	req[strcspn(req, "\r\n")] = 0;
	if (ctl_job(c, req, cred.uid))
		return;
	if (strcmp(req, "status") == 0) {
		snprintf(reply, sizeof(reply), "ok %ld\n", (long)M.pid);
	} else if (strcmp(req, "reload") == 0) {
		char why[MASTER_REPLY_MAX - 16];

		if (do_reload(why, sizeof(why)) == 0)
			snprintf(reply, sizeof(reply), "ok\n");
		else
			snprintf(reply, sizeof(reply), "error %s\n", why);
	} else if (strcmp(req, "stop") == 0) {
		snprintf(reply, sizeof(reply), "ok\n");
		want_stop = 1;
	} else {
		snprintf(reply, sizeof(reply), "error unknown request\n");
	}
	if (write(c, reply, strlen(reply)) < 0)
		msg_debug("control reply: %s", strerror(errno));
	close(c);
	if (want_stop)
		begin_stop(0);
}

/* webui_owner's uid (it may make control jobs), or (uid_t)-1. Read at
 * start: a change takes a restart. */
static uid_t webui_uid(void)
{
	const char *w = conf_get("webui_owner");
	struct passwd *pw = w && *w ? getpwnam(w) : NULL;

	if (w && *w && pw == NULL)
		msg_warn("webui_owner %s: unknown user", w);
	return pw ? pw->pw_uid : (uid_t)-1;
}

static int ctl_open(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
			     M.queue_dir,
			     LAYOUT_MASTER_SOCK) >= sizeof(sun.sun_path)) {
		msg_error("queue_directory %s: too long for a socket path",
			  M.queue_dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(sun.sun_path); /* stale: we hold the pid lock */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, 0600) < 0 ||
	    (M.webui_uid != (uid_t)-1 && M.privileged &&
	     chown(sun.sun_path, M.webui_uid, (gid_t)-1) < 0) ||
	    listen(fd, 16) < 0) {
		msg_error("control socket %s: %s", sun.sun_path,
			  strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ pid lock */

static int pid_path(const char *queue_dir, char *out, size_t size)
{
	return (size_t)snprintf(out, size, "%s/%s", queue_dir,
				LAYOUT_MASTER_PID) < size
		       ? 0
		       : -ENAMETOOLONG;
}

pid_t master_running(const char *queue_dir)
{
	char path[4096];
	struct flock fl;
	int fd;

	if (pid_path(queue_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

static int pid_lock(void)
{
	char path[4096], text[32];
	struct flock fl;
	int fd, n;

	if (pid_path(M.queue_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;

		close(fd);
		return e == EAGAIN || e == EACCES ? -EALREADY : -e;
	}
	n = snprintf(text, sizeof(text), "%10ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		int e = errno;

		close(fd);
		return -e;
	}
	fchmod(fd, 0644);
	M.pid_fd = fd;
	return 0;
}

/* ------------------------------------------------------------ layout */

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != 0)
			continue;
		tmp[i] = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		tmp[i] = path[i];
	}
	return 0;
}

static int fix(int at, const char *name, mode_t mode, uid_t uid, gid_t gid,
	       int dir)
{
	struct stat st;

	if (dir && mkdirat(at, name, mode) < 0 && errno != EEXIST)
		return -errno;
	if (!dir && mkfifoat(at, name, mode) < 0 && errno != EEXIST)
		return -errno;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISFIFO(st.st_mode)) {
		if (dir)
			return -ENOTDIR;
		/* Something else where the FIFO belongs: replace it. */
		if (unlinkat(at, name, 0) < 0 || mkfifoat(at, name, mode) < 0)
			return -errno;
	}
	if (M.privileged &&
	    fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (fchmodat(at, name, mode, 0) < 0)
		return -errno;
	return 0;
}

static int layout_create(void)
{
	const char *data = conf_get("data_directory");
	uid_t ru = M.privileged ? 0 : M.uid;
	gid_t rg = M.privileged ? 0 : M.gid;
	int rc, fd;

	if ((rc = mkdir_p(M.queue_dir, 0755)) < 0)
		return rc;
	if ((rc = spool_create(M.queue_dir, M.uid, M.gid)) < 0)
		return rc;
	fd = open(M.queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((rc = fix(fd, LAYOUT_MAILDROP, LAYOUT_MAILDROP_MODE, M.uid, M.gid,
		      1)) < 0 ||
	    (rc = fix(fd, LAYOUT_PUBLIC, LAYOUT_PUBLIC_MODE, M.uid, M.gid, 1)) <
		    0 ||
	    (rc = fix(fd, LAYOUT_TRIGGER, LAYOUT_TRIGGER_MODE, M.uid, M.gid,
		      0)) < 0 ||
	    (rc = fix(fd, LAYOUT_PID, LAYOUT_PID_MODE, ru, rg, 1)) < 0) {
		close(fd);
		return rc;
	}
	close(fd);
	if (data && *data) {
		if ((rc = mkdir_p(data, 0755)) < 0)
			return rc;
		if (M.privileged && chown(data, M.uid, M.gid) < 0)
			return -errno;
		if (chmod(data, 0700) < 0)
			return -errno;
	}
	return 0;
}

/* ------------------------------------------------------------ start */

static void notify_start(int ok, const char *why)
{
	char msg[300];
	int n;

	if (ok && !M.announced) {
		M.announced = 1;
		msg_info("daemon started -- version %s, configuration %s",
			 MAILGW_VERSION, M.dir);
	}
	if (M.notify_fd < 0)
		return;
	n = snprintf(msg, sizeof(msg), "%c%s", ok ? 'R' : 'E', why ? why : "");
	if (write(M.notify_fd, msg, (size_t)n) < 0)
		msg_debug("notify: %s", strerror(errno));
	close(M.notify_fd);
	M.notify_fd = -1;
	if (ok && M.detached) {
		/* `start` has its answer: let go of its stderr. */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, 2);
			close(nul);
		}
		log_open("master",
			 M.maillog && *M.maillog ? 0 : LOG_DEST_SYSLOG);
		if (M.maillog && *M.maillog)
			log_set_file(M.maillog);
	}
}

/* Everything that can fail with a clear message before the fork. */
static int prepare(void)
{
	const char *owner = conf_get("mail_owner");
	const char *qd = conf_get("queue_directory");
	struct passwd *pw;

	if (config_read(M.dir, &M.cur, 0) < 0)
		return -1;
	if (qd == NULL || *qd != '/') {
		msg_error("file %s/main.cf: parameter queue_directory: "
			  "must be an absolute path: \"%s\"",
			  M.dir, qd ? qd : "");
		return -1;
	}
	M.queue_dir = mem_strdup(qd);
	pw = owner ? getpwnam(owner) : NULL;
	if (pw == NULL) {
		msg_error("file %s/main.cf: parameter mail_owner: unknown user "
			  "name value: %s",
			  M.dir, owner ? owner : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		msg_error("file %s/main.cf: parameter mail_owner: user %s has "
			  "privileged user ID",
			  M.dir, owner);
		return -1;
	}
	M.uid = pw->pw_uid;
	M.gid = pw->pw_gid;
	if (geteuid() == 0) {
		M.privileged = 1;
	} else if (geteuid() != M.uid) {
		msg_error("must be run by root (or by mail_owner %s)", owner);
		return -1;
	}
	return 0;
}

static void open_log(int to_stderr)
{
	const char *f = conf_get("maillog_file");
	int dests = to_stderr ? LOG_DEST_STDERR : 0;

	mem_free(M.maillog);
	M.maillog = mem_strdup(f ? f : "");
	if (*M.maillog == 0)
		dests |= LOG_DEST_SYSLOG;
	log_open("master", dests);
	if (*M.maillog) {
		int rc = log_set_file(M.maillog);

		if (rc < 0)
			msg_fatal("maillog_file %s: %s", M.maillog,
				  strerror(-rc));
	}
}

static int run_master(int foreground)
{
	int rc;
	pid_t other;

	M.dir = mem_strdup(conf_dir());
	if (prepare() < 0)
		msg_fatal("the mail system was not started");
	other = master_running(M.queue_dir);
	if (other > 0)
		msg_fatal("the mail system is already running (pid %ld)",
			  (long)other);
	if ((rc = layout_create()) < 0)
		msg_fatal("cannot create the queue under %s: %s", M.queue_dir,
			  strerror(-rc));
	if (listeners_bind(&M.cur) < 0)
		msg_fatal("the mail system was not started");
	M.drain_ms = drain_ms();
	M.generation = 1;

	if (!foreground) {
		int p[2];
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0)
			msg_fatal("pipe: %s", strerror(errno));
		pid = fork();
		if (pid < 0)
			msg_fatal("fork: %s", strerror(errno));
		if (pid > 0) {
			char msg[300];
			size_t got = 0;

			close(p[1]);
			for (;;) {
				ssize_t n;
				struct timeval tv = {MASTER_START_WAIT_S, 0};
				fd_set rs;

				FD_ZERO(&rs);
				FD_SET(p[0], &rs);
				if (select(p[0] + 1, &rs, NULL, NULL, &tv) <= 0)
					msg_fatal("the mail system did not "
						  "become ready in %d s; see "
						  "the mail log",
						  MASTER_START_WAIT_S);
				n = read(p[0], msg + got,
					 sizeof(msg) - 1 - got);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0 ||
				    (got += (size_t)n) >= sizeof(msg) - 1)
					break;
			}
			msg[got] = 0;
			if (got > 0 && msg[0] == 'R')
				return 0;
			msg_fatal("the mail system did not start: %s; see the "
				  "mail log%s%s",
				  got > 1 ? msg + 1 : "it exited",
				  *M.maillog ? " " : "", M.maillog);
		}
		close(p[0]);
		M.notify_fd = p[1];
		M.detached = 1;
		setsid();
		{
			int nul = open("/dev/null", O_RDWR);

			if (nul >= 0) {
				dup2(nul, 0);
				dup2(nul, 1);
				if (nul > 1)
					close(nul);
			}
		}
	} else {
		M.notify_fd = -1;
	}
	M.pid = getpid();
	if (chdir("/") < 0)
		msg_fatal("chdir /: %s", strerror(errno));
	if ((rc = pid_lock()) < 0)
		msg_fatal("%s/%s: %s", M.queue_dir, LAYOUT_MASTER_PID,
			  rc == -EALREADY ? "the mail system is already running"
					  : strerror(-rc));
	M.lp = loop_new();
	loop_timer_init(&M.kill_timer, on_kill_timer, NULL);
	loop_signal_add(M.lp, SIGCHLD, on_sigchld, NULL);
	loop_signal_add(M.lp, SIGTERM, on_signal, NULL);
	loop_signal_add(M.lp, SIGINT, on_signal, NULL);
	loop_signal_add(M.lp, SIGHUP, on_signal, NULL);
	signal(SIGPIPE, SIG_IGN);
	M.webui_uid = webui_uid();
	webui_token_announce();
	if ((M.ctl_fd = ctl_open()) < 0)
		msg_fatal("the mail system was not started");
	loop_fd_add(M.lp, M.ctl_fd, LOOP_READABLE, on_ctl, NULL);

	M.slots = slots_new(&M.cur, &M.nslots);
	for (size_t i = 0; i < M.nslots; i++)
		spawn(&M.slots[i]);
	if (all_ready()) /* no smtpd to wait for */
		notify_start(1, NULL);

	loop_run(M.lp);

	/* Stopped: every child is gone (or was killed after the bound). */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", M.queue_dir,
			 LAYOUT_MASTER_SOCK);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", M.queue_dir,
			 LAYOUT_MASTER_PID);
		unlink(path);
	}
	loop_free(M.lp);
	return M.notify_fd >= 0 ? 1 : 0;
}

/* ------------------------------------------------------------ commands */

int master_connect(const char *queue_dir, const char *req)
{
	struct sockaddr_un sun;
	struct timeval tv = {120, 0};
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
			     queue_dir,
			     LAYOUT_MASTER_SOCK) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, req, strlen(req)) < 0 || write(fd, "\n", 1) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int master_request(const char *queue_dir, const char *req, char *reply,
		   size_t size)
{
	size_t got = 0;
	int fd = master_connect(queue_dir, req);

	if (fd < 0)
		return fd;
	while (got + 1 < size) {
		ssize_t n = read(fd, reply + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(reply, '\n', got))
			break;
	}
	close(fd);
	reply[got] = 0;
	reply[strcspn(reply, "\r\n")] = 0;
	return got > 0 ? 0 : -EPROTO;
}

static const char *need_queue_dir(void)
{
	const char *qd = conf_get("queue_directory");

	if (qd == NULL || *qd == 0)
		msg_fatal("queue_directory is not set");
	return qd;
}

static int cmd_status(void)
{
	pid_t pid = master_running(need_queue_dir());

	if (pid > 0) {
		msg_info("the mail system is running: PID: %ld", (long)pid);
		return 0;
	}
	msg_info("the mail system is not running");
	return 1;
}

static int cmd_stop(void)
{
	const char *qd = need_queue_dir();
	pid_t pid = master_running(qd);
	char reply[MASTER_REPLY_MAX];
	uint64_t end;

	if (pid <= 0) {
		msg_error("the mail system is not running");
		return 1;
	}
	msg_info("stopping the mail system");
	if (master_request(qd, "stop", reply, sizeof(reply)) < 0 &&
	    kill(pid, SIGTERM) < 0)
		msg_fatal("cannot reach the master (pid %ld): %s", (long)pid,
			  strerror(errno));
	end = loop_clock_ms() + (uint64_t)drain_ms() + 15000;
	while (master_running(qd) > 0) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (loop_clock_ms() > end)
			msg_fatal("the master (pid %ld) did not stop in time",
				  (long)pid);
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int cmd_reload(void)
{
	const char *qd = need_queue_dir();
	char reply[MASTER_REPLY_MAX];
	struct config c = {0};
	int rc;

	if (master_running(qd) <= 0) {
		msg_error("the mail system is not running");
		return 1;
	}
	/* Check here too, so the errors reach the terminal. */
	if (config_read(NULL, &c, 1) < 0) {
		msg_error("configuration errors; reload refused, the running "
			  "configuration is unchanged");
		return 1;
	}
	config_free(&c);
	msg_info("refreshing the mail system");
	rc = master_request(qd, "reload", reply, sizeof(reply));
	if (rc < 0) {
		msg_error("cannot reach the master: %s", strerror(-rc));
		return 1;
	}
	if (strncmp(reply, "ok", 2) != 0) {
		msg_error("reload refused: %s",
			  strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply);
		return 1;
	}
	return 0;
}

int master_main(int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";
	int foreground = strcmp(verb, "start-fg") == 0;

	if (argc > 1) {
		msg_error("usage: mailgw [-c config_dir] %s", verb);
		return 2;
	}
	if (conf_load_flags(NULL, CONF_MAIN_CF_REQUIRED) < 0) {
		if (strcmp(verb, "reload") == 0)
			msg_error("configuration errors in %s; reload refused, "
				  "the running configuration is unchanged",
				  conf_dir());
		else
			msg_error("configuration errors in %s; nothing done",
				  conf_dir());
		return 1;
	}
	if (strcmp(verb, "status") == 0)
		return cmd_status();
	if (strcmp(verb, "stop") == 0)
		return cmd_stop();
	if (strcmp(verb, "reload") == 0)
		return cmd_reload();
	if (strcmp(verb, "start") != 0 && !foreground) {
		msg_error("unknown command \"%s\"", verb);
		return 2;
	}
	memset(&M, 0, sizeof(M));
	M.pid_fd = M.ctl_fd = M.notify_fd = -1;
	/* start: messages reach the terminal until the system is ready;
	 * start-fg: the log is the output (containers), unless it is a file. */
	open_log(!foreground || !conf_get("maillog_file") ||
		 !*conf_get("maillog_file"));
	if (!foreground)
		msg_info("starting the mail system");
	return run_master(foreground);
}
