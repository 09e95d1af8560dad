/* commands - the entry points of the multi-call binary.
 *
 * Each command is `int NAME_main(int argc, char **argv)` with argv[0] the
 * command name; it returns the process exit status. main.c dispatches on the
 * basename of argv[0] or on the first argument. */
#ifndef MAILGW_COMMANDS_H
#define MAILGW_COMMANDS_H

int postconf_main(int argc, char **argv);  /* conf/postconf.c */
int postconf_doc_main(int argc, char **argv); /* conf/postconf.c */
int postmap_main(int argc, char **argv);   /* dict/postmap.c */
int postalias_main(int argc, char **argv); /* dict/postmap.c */
int newaliases_main(int argc, char **argv); /* dict/postmap.c */
/* master/master.c: argv[0] is start, start-fg, stop, reload or status */
int master_main(int argc, char **argv);
int sendmail_main(int argc, char **argv);  /* queue/sendmail.c */
int postqueue_main(int argc, char **argv); /* queue/postqueue.c */
int mailq_main(int argc, char **argv);     /* queue/postqueue.c */
int postsuper_main(int argc, char **argv); /* queue/postsuper.c */
int postcat_main(int argc, char **argv);   /* queue/postcat.c */
int config_main(int argc, char **argv);    /* conf/config.c */
int webui_tls_main(int argc, char **argv); /* webui/tlsproxy.c */
int webui_token_main(int argc, char **argv); /* webui/setuptoken.c */
int passwd_main(int argc, char **argv);    /* smtpd/passwd_cmd.c */

#endif
