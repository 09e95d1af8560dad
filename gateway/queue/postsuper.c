/* postsuper - delete, hold, release or requeue queued messages (root).
 *
 * As Postfix's postsuper(1) for -d, -h, -H, -r (a queue ID, ALL, or "-"
 * for IDs on stdin; optional queue names after the options restrict the
 * search), -p (purge old temporary files), -s (structure check: the
 * queue is flat, so it only purges), -c config_dir, -v. Messages and
 * counts are Postfix's ("QID: removed", "Deleted: 2 messages").
 *
 * qmgr works on the same files at the same time, so every step is one
 * that cannot lose a message: hold and release first append their H
 * record (the truth, docs/queue-format.md) and then move the file with a
 * rename that never replaces; a file that is gone from one queue
 * (ENOENT: qmgr moved it meanwhile) is looked for again in the others.
 * Release appends H 0 and a retry record due now and moves the file to
 * deferred/; requeue appends the retry record (and H 0 for a held one)
 * and moves the file to incoming/, where qmgr picks it up at once. A file
 * with a torn tail is left for qmgr to repair. At the end qmgr gets "R"
 * (rescan). -d also takes the maildrop names mailq lists, and corrupt/
 * may be named to empty it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#include "commands.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "queue/layout.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/qtool.h"
#include "queue/trigger.h"

#define USAGE                                                                  \
	"usage: postsuper [-psv] [-c config_dir] [-d queue_id] "               \
	"[-h queue_id] [-H queue_id] [-r queue_id] [queue...]"
#define MAX_TEMP_AGE (60 * 60 * 24) /* -p: temporary files older than this */
#define TRIES        2              /* passes over the queues per ID */
#define MAILDROP_Q   SPOOL_NQUEUES  /* maildrop/ in a queue set */

enum op { OP_DELETE, OP_HOLD, OP_RELEASE, OP_REQUEUE, OP_COUNT };

struct ids {
	char **v;
	size_t n;
};

static struct spool sp;
static unsigned counts[OP_COUNT];

static void ids_add(struct ids *ids, const char *id)
{
	ids->v = mem_realloc(ids->v, (ids->n + 1) * sizeof(*ids->v));
	ids->v[ids->n++] = mem_strdup(id);
}

/* One operation on one message found in queue q. 1 when done. */
static int apply(enum op op, enum spool_queue q, const char *qid)
{
	int rc;

	switch (op) {
	case OP_DELETE:
		rc = spool_remove(&sp, q, qid);
		if (rc == 0)
			msg_info("%s: removed", qid);
		return rc == 0 ? 1 : rc;
	case OP_HOLD:
		if (q == SPOOL_HOLD)
			return 0;
		if ((rc = qtool_update(&sp, q, qid, 1, 0)) < 0)
			return rc;
		if ((rc = qtool_move(&sp, qid, q, SPOOL_HOLD)) < 0)
			return rc;
		msg_info("%s: placed on hold", qid);
		return 1;
	case OP_RELEASE:
		if (q != SPOOL_HOLD)
			return 0;
		if ((rc = qtool_update(&sp, q, qid, 0, 1)) < 0)
			return rc;
		if ((rc = qtool_move(&sp, qid, q, SPOOL_DEFERRED)) < 0)
			return rc;
		msg_info("%s: released from hold", qid);
		return 1;
	default: /* OP_REQUEUE */
		if ((rc = qtool_update(&sp, q, qid, q == SPOOL_HOLD ? 0 : -1,
				       1)) < 0)
			return rc;
		if ((rc = qtool_move(&sp, qid, q, SPOOL_INCOMING)) < 0)
			return rc;
		msg_info("%s: requeued", qid);
		return 1;
	}
}

static int in_set(const int *queues, int q)
{
	for (; *queues >= 0; queues++)
		if (*queues == q)
			return 1;
	return 0;
}

/* -d NAME of a maildrop file (as mailq lists it). 1 when removed. */
static int delete_maildrop_one(const char *name)
{
	int fd = qtool_maildrop_open(&sp, name), dfd, rc;

	if (fd < 0)
		return 0;
	close(fd);
	dfd = openat(sp.root_fd, LAYOUT_MAILDROP,
		     O_PATH | O_DIRECTORY | O_CLOEXEC);
	rc = dfd >= 0 && unlinkat(dfd, name, 0) == 0;
	if (dfd >= 0)
		close(dfd);
	if (rc)
		msg_info("%s: removed", name);
	return rc;
}

/* One operation on one queue ID, searched in the queue set. */
static void apply_id(enum op op, const int *queues, const char *qid)
{
	if (!qid_valid(qid) && op == OP_DELETE && qtool_maildrop_name(qid) &&
	    in_set(queues, MAILDROP_Q)) {
		counts[op] += (unsigned)delete_maildrop_one(qid);
		return;
	}
	if (!qid_valid(qid)) {
		msg_warn("invalid mail queue id: %s", qid);
		return;
	}
	for (int tries = 0; tries < TRIES; tries++)
		for (const int *q = queues; *q >= 0; q++) {
			int rc;

			if (*q == MAILDROP_Q)
				continue;
			rc = apply(op, (enum spool_queue) * q, qid);
			if (rc == 1) {
				counts[op]++;
				return;
			}
			if (rc < 0 && rc != -ENOENT && rc != -EEXIST)
				return; /* warned */
		}
}

static int collect(const char *qid, void *arg)
{
	ids_add(arg, qid);
	return 0;
}

/* -d ALL also empties maildrop/ (files not yet picked up). */
static void delete_maildrop(void)
{
	struct dirent *de;
	DIR *d;
	int dfd = openat(sp.root_fd, LAYOUT_MAILDROP,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			counts[OP_DELETE]++;
	}
	closedir(d);
}

/* ALL: list every queue first, so that a message moved by this run (to
 * incoming/ by -r) is not met again in a later queue. */
static void apply_all(enum op op, const int *queues)
{
	struct ids ids[SPOOL_NQUEUES] = {{0}};

	for (const int *q = queues; *q >= 0; q++) {
		if (*q == MAILDROP_Q) {
			if (op == OP_DELETE)
				delete_maildrop();
			continue;
		}
		spool_list(&sp, (enum spool_queue) * q, collect, &ids[*q]);
	}
	for (int q = 0; q < SPOOL_NQUEUES; q++) {
		int only[2] = {q, -1};

		for (size_t i = 0; i < ids[q].n; i++) {
			apply_id(op, only, ids[q].v[i]);
			mem_free(ids[q].v[i]);
		}
		mem_free(ids[q].v);
	}
}

static void apply_stdin(enum op op, const int *queues)
{
	char line[256];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0])
			apply_id(op, queues, line);
	}
}

int postsuper_main(int argc, char **argv)
{
	/* Postfix's default queues per operation. */
	static const int def_delete[] = {SPOOL_HOLD,   SPOOL_INCOMING,
					 SPOOL_ACTIVE, SPOOL_DEFERRED,
					 MAILDROP_Q,   -1};
	static const int def_hold[] = {SPOOL_INCOMING, SPOOL_ACTIVE,
				       SPOOL_DEFERRED, -1};
	static const int def_release[] = {SPOOL_HOLD, -1};
	static const int def_requeue[] = {SPOOL_HOLD, SPOOL_INCOMING,
					  SPOOL_ACTIVE, SPOOL_DEFERRED, -1};
	static const int *defaults[OP_COUNT] = {def_delete, def_hold,
						def_release, def_requeue};
	static const char *done_text[OP_COUNT] = {
		"Deleted", "Placed on hold", "Released from hold", "Requeued"};
	struct ids todo[OP_COUNT] = {{0}};
	int user_q[SPOOL_NQUEUES + 2], purge = 0, c, any = 0;
	int asked[OP_COUNT] = {0};

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:d:h:H:r:psSv")) != -1) {
		switch (c) {
		case 'c':
			qtool_config_dir(optarg);
			break;
		case 'd':
			ids_add(&todo[OP_DELETE], optarg);
			break;
		case 'h':
			ids_add(&todo[OP_HOLD], optarg);
			break;
		case 'H':
			ids_add(&todo[OP_RELEASE], optarg);
			break;
		case 'r':
			ids_add(&todo[OP_REQUEUE], optarg);
			break;
		case 'p':
		case 's':
			purge = 1;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			qtool_bad_option(optopt);
			qtool_fatal(1, "%s", USAGE);
		}
	}
	if (getuid() != 0)
		qtool_fatal(1, "use of this command is reserved for the "
			       "superuser");
	qtool_config(NULL);
	/* Queue names after the options limit the search. */
	if (optind < argc) {
		size_t k = 0;

		for (int i = optind; i < argc; i++) {
			int q = strcmp(argv[i], LAYOUT_MAILDROP) == 0
					? MAILDROP_Q
					: qtool_queue_by_name(argv[i]);

			if (q < 0)
				qtool_fatal(1, "invalid directory name: %s",
					    argv[i]);
			if (k < SPOOL_NQUEUES + 1)
				user_q[k++] = q;
		}
		user_q[k] = -1;
	}
	qtool_spool_open(&sp, "postsuper", 1);
	if (purge) {
		int rc = spool_clean_temp(&sp,
					  (int64_t)time(NULL) - MAX_TEMP_AGE);

		if (rc < 0)
			msg_warn("cannot remove temporary files: %s",
				 strerror(-rc));
	}
	/* Postfix's order: requeue, delete, hold, release. */
	static const enum op order[] = {OP_REQUEUE, OP_DELETE, OP_HOLD,
					OP_RELEASE};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		enum op op = order[k];
		const int *queues = optind < argc ? user_q : defaults[op];
		int all = 0;

		asked[op] = todo[op].n > 0;
		for (size_t i = 0; i < todo[op].n; i++) {
			const char *id = todo[op].v[i];

			any = 1;
			if (strcmp(id, "ALL") == 0) {
				if (!all)
					apply_all(op, queues);
				all = 1;
			} else if (strcmp(id, "-") == 0) {
				apply_stdin(op, queues);
			} else {
				apply_id(op, queues, id);
			}
			mem_free(todo[op].v[i]);
		}
		mem_free(todo[op].v);
	}
	/* As Postfix 3.7: a count for every operation asked for, even 0. */
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		if (asked[order[k]])
			msg_info("%s: %u message%s", done_text[order[k]],
				 counts[order[k]],
				 counts[order[k]] == 1 ? "" : "s");
	if (any && (counts[OP_HOLD] || counts[OP_RELEASE] ||
		    counts[OP_REQUEUE] || counts[OP_DELETE]))
		(void)trigger_send(qtool_queue_dir(), "R");
	spool_close(&sp);
	return 0;
}
