/* tlsproxy - the web UI's HTTPS front end (see tlsproxy.h).
 *
 * TLS 1.2 (RFC 5246) through tls/tls.h; the bytes inside are relayed
 * unparsed (busybox httpd parses HTTP) except the first request head,
 * which gets the client's address for the CGI (webui/httphead.h; the
 * child parses it after privileges are dropped). Trusts nothing from the
 * client: it only ever reaches the one upstream address given on the
 * command line. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "tls/keys.h"
#include "tls/server.h"
#include "tls/tls.h"
#include "webui/httphead.h"
#include "webui/setuptoken.h"
#include "webui/tlsproxy.h"

static volatile sig_atomic_t children;

static void on_chld(int sig)
{
	int e = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		children--;
	errno = e;
}

/* Write all of b to fd (non-blocking: what fits; the rest stays). */
static int flush_plain(int fd, struct buf *b)
{
	while (buf_len(b) > 0) {
		ssize_t n = write(fd, buf_str(b), buf_len(b));

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		buf_consume(b, (size_t)n);
	}
	return 0;
}

/* One connection: TLS on c, plaintext to up, until either side ends or
 * nothing moves for TLSPROXY_IDLE_S. */
static _Noreturn void relay(int cfd, int up, struct tls_server *srv,
			    const char *add)
{
	struct tls_conn *c = tls_conn_new_server(srv);
	struct buf in, out, head;
	int up_eof = 0, rc = 0, head_done = 0;

	buf_init(&in, TLSPROXY_BUF);  /* client -> upstream (decrypted) */
	buf_init(&out, TLSPROXY_BUF); /* upstream -> client (to encrypt) */
	buf_init(&head, TLSPROXY_BUF + HTTPHEAD_MAX);
	for (;;) {
		struct pollfd p[2];
		int want;

		rc = tls_conn_io(c, cfd, &in, &out);
		if (!head_done && buf_len(&in) > 0) {
			/* The request head gets the client's address (and
			 * loses any such field the client sent). */
			int n = httphead_rewrite(buf_str(&in), buf_len(&in),
						 add, &head);

			if (n < 0)
				break;
			if (n > 0) {
				buf_append(&head, buf_str(&in) + n,
					   buf_len(&in) - (size_t)n);
				if (buf_error(&head))
					break;
				buf_free(&in);
				in = head; /* its bound has room for the field */
				head_done = 1;
			}
		}
		if (head_done && flush_plain(up, &in) < 0)
			break;
		if (rc < 0 || (up_eof && buf_len(&out) == 0 &&
			       !(tls_conn_want(c) & LOOP_WRITABLE)))
			break;
		want = tls_conn_want(c);
		p[0].fd = cfd;
		p[0].events = (short)((want & LOOP_READABLE ? POLLIN : 0) |
				      (want & LOOP_WRITABLE ? POLLOUT : 0));
		p[1].fd = up;
		p[1].events =
			(short)((!up_eof && buf_len(&out) < TLSPROXY_BUF / 2
					 ? POLLIN
					 : 0) |
				(head_done && buf_len(&in) ? POLLOUT : 0));
		if (poll(p, 2, TLSPROXY_IDLE_S * 1000) <= 0)
			break;
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			char chunk[16384];
			ssize_t n = read(up, chunk, sizeof(chunk));

			if (n > 0) {
				buf_append(&out, chunk, (size_t)n);
			} else if (n == 0 || errno != EAGAIN) {
				up_eof = 1;
				tls_conn_close(c);
			}
		}
	}
	tls_conn_free(c);
	_exit(0);
}

/* The client's address without the port: 192.0.2.1 or 2001:db8::1. */
static void client_host(const struct net_addr *a, struct buf *out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->sa;
	char host[INET6_ADDRSTRLEN] = "unknown";

	if (a->sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	else if (a->sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
	buf_puts(out, host);
}

static int addr(const char *s, struct net_addr *a)
{
	int rc = net_addr_parse(a, s, strlen(s));

	if (rc < 0)
		msg_error("%s: %s", s, net_addr_strerror(rc));
	return rc;
}

/* The chain as tls_keys_load() returns it: {uint32 len, DER} records. */
static int set_chain(struct tls_server *srv, const struct buf *chain)
{
	const unsigned char *der[16];
	size_t len[16], n = 0;

	for (size_t off = 0; off + 4 <= buf_len(chain) && n < 16;) {
		uint32_t l;

		memcpy(&l, buf_str(chain) + off, 4);
		if (l > buf_len(chain) - off - 4)
			return TLS_ERR_CONFIG;
		der[n] = (const unsigned char *)buf_str(chain) + off + 4;
		len[n++] = l;
		off += 4 + l;
	}
	return tls_server_set_chain(srv, der, len, n);
}

int webui_tls_main(int argc, char **argv)
{
	const char *user = NULL;
	struct net_addr la, ua;
	struct tls_server *srv;
	struct tls_key *key = NULL;
	struct buf chain;
	struct passwd *pw = NULL;
	const char *wdir;
	char key_hex[WEBUI_TOKEN_HEX + 1] = "";
	int lfd, c, rc;

	while ((c = getopt(argc, argv, "u:")) != -1) {
		if (c != 'u')
			goto usage;
		user = optarg;
	}
	if (argc - optind != 2)
		goto usage;
	if (conf_load(NULL) < 0)
		return 1;
	if (addr(argv[optind], &la) < 0 || addr(argv[optind + 1], &ua) < 0)
		return 2;
	wdir = conf_get("webui_directory");
	if (user && (pw = getpwnam(user)) == NULL) {
		msg_error("unknown user %s", user);
		return 1;
	}
	buf_init(&chain, 256 * 1024);
	if (tls_keys_load(&key, &chain, 1) < 0)
		return 1;
	srv = tls_server_new();
	tls_server_set_cache(srv, 64);
	if (set_chain(srv, &chain) < 0) {
		msg_error("the TLS certificate chain cannot be used");
		return 1;
	}
	tls_server_set_signer(srv, tls_key_sign, key);
	if ((rc = net_listen(&la, 64, &lfd)) < 0) {
		msg_error("listen %s: %s", argv[optind], strerror(-rc));
		return 1;
	}
	if (pw && geteuid() == 0 &&
	    (setgroups(1, &pw->pw_gid) < 0 ||
	     setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	     setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)) {
		msg_error("cannot drop privileges: %s", strerror(errno));
		return 1;
	}
	prctl(PR_SET_DUMPABLE, 0); /* the key is in this process */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, on_chld);
	/* A new proxy key (as webui_owner): the CGI believes the client
	 * address field only with it. Without one the field is still
	 * stripped from what clients send, and none is added. */
	if (wdir && *wdir == '/' &&
	    (rc = webui_secret_new(wdir, WEBUI_PROXY_KEY_FILE, NULL, key_hex)) <
		    0) {
		msg_warn("%s/%s: %s: the web UI sees every client as %s", wdir,
			 WEBUI_PROXY_KEY_FILE, strerror(-rc), argv[optind + 1]);
		key_hex[0] = 0;
	}
	msg_info("web UI over HTTPS on %s, relayed to %s", argv[optind],
		 argv[optind + 1]);
	for (;;) {
		struct pollfd p = {lfd, POLLIN, 0};
		struct net_addr peer;
		struct buf field;
		int cfd, up;
		pid_t pid;

		if (children >= TLSPROXY_CONN_MAX) {
			poll(NULL, 0, 100);
			continue;
		}
		if (poll(&p, 1, -1) < 0 ||
		    (rc = net_accept(lfd, &cfd, &peer)) < 0)
			continue;
		pid = fork();
		if (pid == 0) {
			struct pollfd w;

			close(lfd);
			signal(SIGCHLD, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (net_connect(&ua, &up) < 0)
				_exit(1);
			w.fd = up;
			w.events = POLLOUT;
			if (poll(&w, 1, 10000) != 1 ||
			    net_connect_result(up) < 0)
				_exit(1);
			buf_init(&field, 256);
			if (key_hex[0]) {
				buf_printf(&field, "%s: %s ", HTTPHEAD_CLIENT,
					   key_hex);
				client_host(&peer, &field);
				buf_puts(&field, "\r\n");
			}
			relay(cfd, up, srv,
			      key_hex[0] && !buf_error(&field) ? buf_str(&field)
							      : NULL);
		}
		if (pid > 0)
			children++;
		close(cfd);
	}
usage:
	msg_error("usage: mailgw [-c config_dir] webui-tls [-u user] "
		  "LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT");
	return 2;
}
