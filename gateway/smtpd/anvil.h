/* anvil - per-client event rates, as Postfix's anvil(8) counts them for
 * smtpd_client_connection_rate_limit, smtpd_client_message_rate_limit,
 * smtpd_client_recipient_rate_limit, smtpd_client_new_tls_session_rate_limit
 * and smtpd_client_auth_rate_limit.
 *
 * Each client address has one window of anvil_rate_time_unit that starts
 * with its first event and restarts, with all counts at zero, at the first
 * event after it ended (Postfix's anvil resets a client's rates together
 * the same way). The table is bounded (ANVIL_BUCKETS x ANVIL_WAYS
 * clients): a new client takes a slot whose window has ended, else the
 * one whose window started first; losing a slot only forgets counts, so a
 * client is never refused for another's events. Built into each smtpd
 * process (no anvil server): with several smtpd processes each counts
 * what it accepted.
 *
 * Pure bookkeeping: the caller passes the clock (loop_clock_ms()). */
#ifndef MAILGW_SMTPD_ANVIL_H
#define MAILGW_SMTPD_ANVIL_H

#include <stdint.h>

#define ANVIL_BUCKETS 2048
#define ANVIL_WAYS    4
#define ANVIL_ADDR_MAX 64

enum anvil_event {
	ANVIL_CONN = 0, /* connections */
	ANVIL_MAIL,     /* MAIL FROM commands */
	ANVIL_RCPT,     /* RCPT TO commands */
	ANVIL_NEWTLS,   /* TLS handshakes that did not resume a session */
	ANVIL_AUTH,     /* AUTH commands */
	ANVIL_NEVENTS
};

struct anvil;

/* unit_ms: anvil_rate_time_unit (0: 60 s). */
struct anvil *anvil_new(uint64_t unit_ms);
void anvil_free(struct anvil *a);

/* Count one event of addr at now; returns the count in the current window,
 * this one included. */
long anvil_hit(struct anvil *a, const char *addr, enum anvil_event ev,
	       uint64_t now);
/* The count so far in the current window (0 when it ended). */
long anvil_peek(struct anvil *a, const char *addr, enum anvil_event ev,
		uint64_t now);

#endif
