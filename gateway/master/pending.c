/* pending - TEMPORARY link-time placeholders while issue 3's modules land
 * in parallel. Every symbol here is weak; the real definition replaces it.
 * This file is deleted before issue 3 is resolved. */
#include <stddef.h>

#include "commands.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "master/service.h"

#define PENDING(name) msg_fatal("%s: not built yet", name)
#define W __attribute__((weak))

W int smtpd_service(const struct service_ctx *ctx) { (void)ctx; PENDING("smtpd"); }
W int qmgr_service(const struct service_ctx *ctx) { (void)ctx; PENDING("qmgr"); }
W int master_main(int c, char **v) { (void)c; (void)v; PENDING("master"); }
W int sendmail_main(int c, char **v) { (void)c; (void)v; PENDING("sendmail"); }
W int postqueue_main(int c, char **v) { (void)c; (void)v; PENDING("postqueue"); }
W int mailq_main(int c, char **v) { (void)c; (void)v; PENDING("mailq"); }
W int postsuper_main(int c, char **v) { (void)c; (void)v; PENDING("postsuper"); }
W int postcat_main(int c, char **v) { (void)c; (void)v; PENDING("postcat"); }
W int transport_load(void) { PENDING("transport"); }
W const struct transport *transport_find(const char *n) { (void)n; PENDING("transport"); }
W const char *transport_get(const struct transport *t, const char *n) { (void)t; (void)n; PENDING("transport"); }
W long transport_get_int(const struct transport *t, const char *n) { (void)t; (void)n; PENDING("transport"); }
W long transport_get_time(const struct transport *t, const char *n) { (void)t; (void)n; PENDING("transport"); }
W int route_rcpt(const char *r, size_t l, struct route *o) { (void)r; (void)l; (void)o; PENDING("route"); }
W int route_same(const struct route *a, const struct route *b) { (void)a; (void)b; PENDING("route"); }
W struct smtp_client *smtp_client_new(struct loop *lp) { (void)lp; PENDING("smtp"); }
W int smtp_client_deliver(struct smtp_client *c, struct deliver_job *j) { (void)c; (void)j; PENDING("smtp"); }
W void smtp_client_flush(struct smtp_client *c) { (void)c; PENDING("smtp"); }
W size_t smtp_client_busy(const struct smtp_client *c) { (void)c; PENDING("smtp"); }
W void smtp_client_free(struct smtp_client *c) { (void)c; PENDING("smtp"); }
