/* postqueue - list or flush the queue; mailq.
 *
 * As Postfix's postqueue(1): -p (mailq format), -j (JSON lines), -f (flush
 * every deferred message), -i QID (flush one deferred message; root or
 * mail_owner), -s site (flush the mail for one destination),
 * -c config_dir, -v. The listing reads the spool directly (showq.h), so it
 * needs root or mail_owner; flushing writes a request on the qmgr FIFO
 * (trigger.h), which anyone may do, and fails as Postfix's does when the
 * mail system is down. mailq is "postqueue -p" (sendmail -bp calls it).
 * Exit statuses are those of Postfix 3.7 (EX_UNAVAILABLE also for a usage
 * error; mailq, being sendmail -bp, EX_TEMPFAIL). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "core/log.h"
#include "queue/qid.h"
#include "queue/qtool.h"
#include "queue/showq.h"
#include "queue/trigger.h"

#define USAGE                                                                  \
	"usage: postqueue -f | postqueue -i queueid | postqueue -j | "         \
	"postqueue -p | postqueue -s site"

static int list_queue(int json)
{
	struct spool sp;
	int status;

	qtool_spool_open(&sp, "Queue report unavailable", EX_UNAVAILABLE);
	status = showq_print(&sp, json);
	spool_close(&sp);
	return status;
}

static void flush_request(const char *req)
{
	int rc = trigger_send(qtool_queue_dir(), req);

	if (rc == 0 || rc == -EAGAIN)
		return;
	if (rc == -ENXIO || rc == -ENOENT || rc == -ECONNREFUSED)
		qtool_fatal(EX_UNAVAILABLE,
			    "Cannot flush mail queue - mail system is down");
	qtool_fatal(EX_UNAVAILABLE, "Cannot flush mail queue: %s",
		    strerror(-rc));
}

/* -i QID: make one deferred message due now and hand it to qmgr through
 * incoming/. This changes the queue file, so it takes root or mail_owner
 * (Postfix lets any user ask its flush service; mailgw has none yet). */
static void flush_one(const char *qid)
{
	struct spool sp;
	int rc;

	if (!qid_valid(qid))
		qtool_fatal(EX_USAGE, "invalid mail queue id: %s", qid);
	qtool_spool_open(&sp, "Cannot flush mail queue", EX_UNAVAILABLE);
	rc = qtool_update(&sp, SPOOL_DEFERRED, qid, -1, 1);
	if (rc == 0)
		rc = qtool_move(&sp, qid, SPOOL_DEFERRED, SPOOL_INCOMING);
	spool_close(&sp);
	if (rc == -ENOENT)
		return; /* not deferred (any more): nothing to do */
	if (rc < 0)
		qtool_fatal(EX_UNAVAILABLE, "Cannot flush %s: %s", qid,
			    strerror(-rc));
	rc = trigger_send(qtool_queue_dir(), "I");
	if (rc < 0 && rc != -EAGAIN && rc != -ENXIO && rc != -ENOENT)
		msg_warn("cannot tell qmgr: %s", strerror(-rc));
}

int postqueue_main(int argc, char **argv)
{
	const char *site = NULL;
	int mode = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:fi:jps:v")) != -1) {
		switch (c) {
		case 'c':
			qtool_config_dir(optarg);
			break;
		case 'f':
		case 'i':
		case 'j':
		case 'p':
		case 's':
			if (mode)
				qtool_fatal(EX_UNAVAILABLE, "%s", USAGE);
			mode = c;
			site = c == 's' || c == 'i' ? optarg : NULL;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			qtool_bad_option(optopt);
			qtool_fatal(EX_UNAVAILABLE, "%s", USAGE);
		}
	}
	if (mode == 0 || optind != argc)
		qtool_fatal(EX_UNAVAILABLE, "%s", USAGE);
	qtool_config(NULL);
	switch (mode) {
	case 'p':
		return list_queue(0);
	case 'j':
		return list_queue(1);
	case 'f':
		flush_request("F");
		return 0;
	case 'i':
		flush_one(site);
		return 0;
	default: {
		char req[TRIGGER_MAX];

		if (qtool_site_request(site, strlen(site), req) < 0)
			qtool_fatal(EX_USAGE, "Invalid request: \"%s\"", site);
		flush_request(req);
		return 0;
	}
	}
}

int mailq_main(int argc, char **argv)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:v")) != -1) {
		switch (c) {
		case 'c':
			qtool_config_dir(optarg);
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			qtool_bad_option(optopt);
			qtool_fatal(EX_TEMPFAIL,
				    "usage: mailq [-v] [-c config_dir]");
		}
	}
	if (optind != argc)
		qtool_fatal(EX_TEMPFAIL, "usage: mailq [-v] [-c config_dir]");
	qtool_config(NULL);
	return list_queue(0);
}
