/* main - the multi-call binary: dispatch on argv[0] or the first argument.
 *
 * `mailgw postconf -n` and a symlink `postconf -n` run the same code, as
 * busybox does. Unknown commands exit 2 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/log.h"

struct command {
	const char *name;
	int (*main)(int, char **);
	const char *help;
};

static int help_main(int argc, char **argv);
static int version_main(int argc, char **argv);

static const struct command commands[] = {
	{"postconf", postconf_main, "show or edit main.cf and master.cf parameters"},
	{"postconf-doc", postconf_doc_main, "print the parameter reference (docs/parameters.md)"},
	{"postmap", postmap_main, "build, query, dump or edit lookup tables"},
	{"postalias", postalias_main, "build or query alias tables"},
	{"newaliases", newaliases_main, "rebuild the alias database(s) of alias_database"},
	{"start", master_main, "start the mail system (returns once it accepts mail)"},
	{"start-fg", master_main, "run the mail system in the foreground"},
	{"stop", master_main, "stop the mail system (transactions in progress finish)"},
	{"reload", master_main, "re-read the configuration without dropping sessions"},
	{"status", master_main, "exit 0 when the mail system is running"},
	{"sendmail", sendmail_main, "submit a message (Sendmail-compatible options)"},
	{"mailq", mailq_main, "list the queue (postqueue -p)"},
	{"postqueue", postqueue_main, "list or flush the queue"},
	{"postsuper", postsuper_main, "delete, hold, release or requeue messages"},
	{"postcat", postcat_main, "show a queued message"},
	{"config", config_main, "check, render or apply the settings (conf-templates)"},
	{"webui-tls", webui_tls_main, "HTTPS front end of the web UI (TLS to busybox httpd)"},
	{"webui-token", webui_token_main, "print the web UI's one-time setup token (none once the admin password is set)"},
	{"passwd", passwd_main, "add, delete or list SMTP AUTH users (sasl_user_database)"},
	{"help", help_main, "list the commands"},
	{"--version", version_main, "print the version"},
	{NULL, NULL, NULL},
};

static int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mailgw %s - mail gateway firmware\n\n"
	       "usage: mailgw COMMAND [ARGS...]   (or a symlink named COMMAND)\n\n"
	       "commands:\n",
	       MAILGW_VERSION);
	for (const struct command *c = commands; c->name; c++)
		printf("  %-12s %s\n", c->name, c->help);
	return 0;
}

static int version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mailgw %s (%s)\n", MAILGW_VERSION, MAILGW_GITREV);
	return 0;
}

static const struct command *find(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? argv[0] : "mailgw";
	const char *slash = strrchr(base, '/');
	const struct command *c;

	if (slash)
		base = slash + 1;
	if (strcmp(base, "mailgw") != 0 && (c = find(base)) != NULL) {
		log_open(c->name, LOG_DEST_STDERR);
		return c->main(argc, argv);
	}
	/* `mailgw -c DIR COMMAND ...` as `postfix -c DIR`: the directory
	 * reaches every command through MAIL_CONFIG. */
	while (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		if (setenv("MAIL_CONFIG", argv[2], 1) != 0) {
			fprintf(stderr, "mailgw: cannot set MAIL_CONFIG\n");
			return 1;
		}
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		help_main(argc, argv);
		return 2;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0)
		return version_main(argc - 1, argv + 1);
	c = find(argv[1]);
	if (c == NULL) {
		fprintf(stderr,
			"mailgw: unknown command '%s'; 'mailgw help' lists them\n",
			argv[1]);
		return 2;
	}
	log_open(c->name, LOG_DEST_STDERR);
	return c->main(argc - 1, argv + 1);
}
