/* keys - the keys process and its client (see keys.h). What it trusts:
 * its own configuration files (read as root); from smtpd, only the small
 * fixed-layout requests, each field checked again here (STYLE.md 12). */
#include "tls/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/params.h"
#include "core/log.h"
#include "core/mem.h"
#include "tls/certgen.h"

#define MSG_CERT 1
#define MSG_END  2
#define OP_SIGN  1
#define OP_DECRYPT 2
#define FILE_MAX (1024 * 1024)
#define CHAIN_MAX (256 * 1024)

struct keys_req {
	uint32_t op, hash_id, len;
	unsigned char data[TLS_KEYS_DATA_MAX];
};

struct keys_rep {
	int32_t status;
	uint32_t len;
	unsigned char data[TLS_KEYS_DATA_MAX];
};

static int read_file(const char *path, struct buf *b)
{
	char tmp[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (buf_append(b, tmp, (size_t)n) < 0)
			break;
	explicit_bzero(tmp, sizeof(tmp));
	int e = n < 0 ? -errno : buf_error(b) ? -EFBIG : 0;
	close(fd);
	return e;
}

static void chain_add(struct buf *chain, const void *der, size_t n)
{
	uint32_t l = (uint32_t)n;
	buf_append(chain, &l, sizeof(l));
	buf_append(chain, der, n);
}

/* Read one PEM file: every certificate into chain, the first private
 * key into *key (when key is not NULL and *key is still NULL). */
static int load_pem(const char *path, struct tls_key **key, struct buf *chain)
{
	struct buf f, der;
	char name[64];
	size_t used;
	int r, certs = 0;

	buf_init(&f, FILE_MAX);
	r = read_file(path, &f);
	if (r < 0) {
		msg_warn("cannot load TLS file %s: %s", path, strerror(-r));
		buf_free(&f);
		return TLS_ERR_CONFIG;
	}
	buf_init(&der, 64 * 1024);
	const char *p = f.data;
	size_t n = f.len;
	while ((r = tls_pem_next(p, n, &used, name, sizeof(name), &der)) ==
	       1) {
		p += used, n -= used;
		if (strcmp(name, "CERTIFICATE") == 0) {
			chain_add(chain, der.data, der.len);
			certs++;
		} else if (key != NULL && *key == NULL &&
			   strstr(name, "PRIVATE KEY") != NULL) {
			*key = tls_key_parse(p - used, used);
			if (*key == NULL)
				msg_warn("%s: cannot decode the private key",
					 path);
		}
	}
	if (r < 0)
		msg_warn("%s: malformed PEM", path);
	explicit_bzero(f.data, f.cap);
	explicit_bzero(der.data, der.cap);
	buf_free(&f);
	buf_free(&der);
	return r < 0 ? TLS_ERR_CONFIG : certs;
}

static int write_file(const char *path, const struct buf *b, mode_t mode)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || write(fd, b->data, b->len) != (ssize_t)b->len ||
	    fsync(fd) < 0) {
		int e = -errno;
		close(fd);
		unlink(tmp);
		return e;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

/* The self-signed pair in $data_directory, made on first use. */
static int self_signed(struct tls_key **key, struct buf *chain, int generate)
{
	const char *dir = conf_get("data_directory");
	const char *host = conf_get("myhostname");
	const char *kt = conf_get("smtpd_tls_selfsigned_key_type");
	int rsa = kt != NULL && strcmp(kt, "rsa") == 0;
	char crt[4096], kf[4096], lock[4096];
	struct stat st;
	int lfd = -1, r;

	if (dir == NULL || *dir != '/' || host == NULL || *host == 0) {
		msg_warn("no TLS certificate configured, and no "
			 "data_directory or myhostname for a self-signed one");
		return TLS_ERR_CONFIG;
	}
	snprintf(crt, sizeof(crt), "%s/smtpd-selfsigned-%s.pem", dir,
		 rsa ? "rsa" : "ecdsa");
	snprintf(kf, sizeof(kf), "%s/smtpd-selfsigned-%s.key", dir,
		 rsa ? "rsa" : "ecdsa");
	snprintf(lock, sizeof(lock), "%s/smtpd-selfsigned.lock", dir);
	if (generate) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			msg_warn("mkdir %s: %s", dir, strerror(errno));
		lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lfd >= 0 && lockf(lfd, F_LOCK, 0) < 0)
			msg_warn("lock %s: %s", lock, strerror(errno));
	}
	if (generate && (stat(crt, &st) < 0 || stat(kf, &st) < 0)) {
		struct buf cp, kp;
		char fp[96];
		buf_init(&cp, 64 * 1024);
		buf_init(&kp, 64 * 1024);
		r = tls_certgen(rsa ? TLS_CERTGEN_RSA : TLS_CERTGEN_EC, host,
				time(NULL), &cp, &kp, fp);
		if (r == 0 && (r = write_file(kf, &kp, 0600)) == 0)
			r = write_file(crt, &cp, 0644);
		explicit_bzero(kp.data, kp.cap);
		buf_free(&cp);
		buf_free(&kp);
		if (r != 0) {
			msg_warn("cannot create a self-signed certificate in "
				 "%s: %s",
				 dir, r < 0 && r > -4096 ? strerror(-r) : "");
			if (lfd >= 0)
				close(lfd);
			return TLS_ERR_CONFIG;
		}
		msg_info("created a self-signed certificate for %s (%s) in %s: "
			 "SHA-256 fingerprint %s",
			 host, rsa ? "RSA 2048" : "ECDSA P-256", crt, fp);
	}
	if (lfd >= 0)
		close(lfd);
	if (load_pem(crt, NULL, chain) <= 0 || load_pem(kf, key, chain) < 0 ||
	    *key == NULL)
		return TLS_ERR_CONFIG;
	return 0;
}

/* The pair of role's parameters (smtpd_tls_* or smtp_tls_*): chain
 * files, or cert and key file; the server's self-signed pair when none
 * is configured (the client then has no certificate: an error). */
static int keys_load(const char *role, struct tls_key **key,
		     struct buf *chain, int generate)
{
	char pn[3][64];
	snprintf(pn[0], sizeof(pn[0]), "%s_tls_chain_files", role);
	snprintf(pn[1], sizeof(pn[1]), "%s_tls_cert_file", role);
	snprintf(pn[2], sizeof(pn[2]), "%s_tls_key_file", role);
	const char *cf = conf_get(pn[0]);
	const char *cert = conf_get(pn[1]);
	const char *kf = conf_get(pn[2]);
	int r = 0;

	*key = NULL;
	buf_reset(chain);
	if (cf != NULL && *cf) {
		const char *cur = cf, *tok;
		size_t n;
		while (conf_list_next(&cur, &tok, &n)) {
			char path[4096];
			snprintf(path, sizeof(path), "%.*s", (int)n, tok);
			if (load_pem(path, key, chain) < 0)
				r = TLS_ERR_CONFIG;
		}
	} else if (cert != NULL && *cert) {
		if (load_pem(cert, NULL, chain) <= 0)
			r = TLS_ERR_CONFIG;
		if (load_pem(kf != NULL && *kf ? kf : cert, key, chain) < 0)
			r = TLS_ERR_CONFIG;
	} else if (strcmp(role, "smtpd") == 0) {
		r = self_signed(key, chain, generate);
	} else {
		r = TLS_ERR_CONFIG;
	}
	if (r == 0 && (*key == NULL || chain->len < 4)) {
		msg_warn("TLS: %s", *key == NULL ? "no private key found"
						 : "no certificate found");
		r = TLS_ERR_CONFIG;
	}
	if (r == 0) {
		uint32_t l;
		memcpy(&l, chain->data, sizeof(l));
		if (!tls_key_matches_cert(*key, (unsigned char *)chain->data + 4,
					  l)) {
			msg_warn("TLS: the private key does not match the "
				 "certificate");
			r = TLS_ERR_CONFIG;
		}
	}
	if (r != 0) {
		tls_key_free(*key);
		*key = NULL;
	}
	return r;
}

int tls_keys_load(struct tls_key **key, struct buf *chain, int generate)
{
	return keys_load("smtpd", key, chain, generate);
}

/* ---- the keys process ---- */

static const char *role_name(const char *role)
{
	return strcmp(role, "smtp") == 0 ? "qmgr" : "smtpd";
}

static size_t hash_len(unsigned id)
{
	static const size_t len[] = {36, 16, 20, 28, 32, 48, 64};
	return id < sizeof(len) / sizeof(*len) ? len[id] : 0;
}

/* Close what smtpd's set-up left open (its listeners, master's
 * readiness pipe) but the log (a file, or syslog's socket) and ours. */
static void close_inherited(int keep)
{
	for (int fd = 3; fd < 4096; fd++) {
		int acc = 0;
		socklen_t l = sizeof(acc);
		struct stat st;
		if (fd == keep || fstat(fd, &st) < 0)
			continue;
		if (S_ISFIFO(st.st_mode) ||
		    (S_ISSOCK(st.st_mode) &&
		     getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 &&
		     acc))
			close(fd);
	}
}

static _Noreturn void keys_main(int fd, uid_t uid, gid_t gid,
				const char *role)
{
	struct tls_key *key;
	struct buf chain;
	struct keys_req q;
	struct keys_rep a;

	prctl(PR_SET_NAME, "keys");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	log_set_program("keys");
	close_inherited(fd);
	buf_init(&chain, CHAIN_MAX);
	if (keys_load(role, &key, &chain, 1) < 0)
		msg_fatal("cannot load the %s TLS key and certificate",
			  strcmp(role, "smtp") == 0 ? "client" : "server");
	if (geteuid() == 0 &&
	    (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	     setresuid(uid, uid, uid) < 0))
		msg_fatal("keys: cannot drop privileges: %s", strerror(errno));
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (size_t off = 0; off + 4 <= chain.len;) {
		uint32_t l;
		struct buf m;
		memcpy(&l, chain.data + off, 4);
		buf_init(&m, CHAIN_MAX);
		uint32_t hdr[2] = {MSG_CERT, l};
		buf_append(&m, hdr, sizeof(hdr));
		buf_append(&m, chain.data + off + 4, l);
		if (send(fd, m.data, m.len, MSG_NOSIGNAL) < 0)
			_exit(0);
		buf_free(&m);
		off += 4 + l;
	}
	uint32_t end[2] = {MSG_END, 0};
	if (send(fd, end, sizeof(end), MSG_NOSIGNAL) < 0)
		_exit(0);
	buf_free(&chain);
	for (;;) {
		ssize_t n = recv(fd, &q, sizeof(q), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		memset(&a, 0, sizeof(a));
		a.status = -1;
		size_t hl = (size_t)n >= 12 ? hash_len(q.hash_id) : 0;
		if ((size_t)n < 12 || q.len > TLS_KEYS_DATA_MAX ||
		    (size_t)n != 12 + q.len) {
			msg_warn("bad request from %s (%zd bytes)",
				 role_name(role), n);
		} else if (q.op == OP_SIGN && hl != 0 && q.len == hl &&
			   (q.hash_id != 0 || tls_key_type(key) == TLS_KEY_RSA)) {
			size_t s = tls_key_sign(key, q.hash_id, q.data, q.len,
						a.data, sizeof(a.data));
			if (s > 0)
				a.status = 0, a.len = (uint32_t)s;
		} else if (q.op == OP_DECRYPT &&
			   tls_key_type(key) == TLS_KEY_RSA) {
			size_t s = tls_key_sign(key, TLS_SIGN_RSA_DECRYPT,
						q.data, q.len, a.data,
						sizeof(a.data));
			/* a failure is answered as such: the engine then
			 * goes on with random bytes (RFC 5246 7.4.7.1), so
			 * the peer cannot tell (no padding oracle) */
			if (s == 48)
				a.status = 0, a.len = 48;
		} else {
			msg_warn("bad request from %s (op %u)", role_name(role),
				 q.op);
		}
		if (send(fd, &a, 8 + a.len, MSG_NOSIGNAL) < 0)
			break;
	}
	tls_key_free(key);
	_exit(0);
}

static int keys_fork(uid_t uid, gid_t gid, const char *role)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		msg_fatal("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		msg_fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		keys_main(sv[1], uid, gid, role);
	}
	close(sv[1]);
	return sv[0];
}

int tls_keys_start(uid_t uid, gid_t gid)
{
	const char *lev = conf_get("smtpd_tls_security_level");
	int wrapper = conf_get_bool("smtpd_tls_wrappermode") > 0;

	if (!wrapper && (lev == NULL || *lev == 0 || strcmp(lev, "none") == 0))
		return -1;
	return keys_fork(uid, gid, "smtpd");
}

int tls_keys_start_client(uid_t uid, gid_t gid)
{
	const char *cf = conf_get("smtp_tls_chain_files");
	const char *cert = conf_get("smtp_tls_cert_file");

	if ((cf == NULL || *cf == 0) && (cert == NULL || *cert == 0))
		return -1;
	return keys_fork(uid, gid, "smtp");
}

int tls_keys_attach(int *fdp, struct tls_server *srv)
{
	const unsigned char *der[16];
	size_t len[16], n = 0;
	unsigned char *msgs[16];
	int r = TLS_ERR_CONFIG;

	for (;;) {
		struct pollfd p = {*fdp, POLLIN, 0};
		unsigned char *m = mem_alloc(CHAIN_MAX);
		ssize_t k;
		/* the keys process may be making a new RSA key */
		if (poll(&p, 1, 60000) <= 0 ||
		    (k = recv(*fdp, m, CHAIN_MAX, 0)) < 8) {
			mem_free(m);
			break;
		}
		uint32_t hdr[2];
		memcpy(hdr, m, sizeof(hdr));
		if (hdr[0] == MSG_END) {
			mem_free(m);
			r = tls_server_set_chain(srv, der, len, n);
			break;
		}
		if (hdr[0] != MSG_CERT || hdr[1] != (size_t)k - 8 || n == 16) {
			mem_free(m);
			break;
		}
		msgs[n] = m;
		der[n] = m + 8;
		len[n++] = hdr[1];
	}
	for (size_t i = 0; i < n; i++)
		mem_free(msgs[i]);
	if (r == 0)
		tls_server_set_signer(srv, tls_keys_sign, fdp);
	return r;
}

size_t tls_keys_sign(void *arg, unsigned hash_id, const unsigned char *hv,
		     size_t hvlen, unsigned char *sig, size_t max)
{
	int fd = *(int *)arg;
	struct keys_req q;
	struct keys_rep a;
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n = -1;

	if (hvlen > sizeof(q.data))
		return 0;
	q.op = hash_id == TLS_SIGN_RSA_DECRYPT ? OP_DECRYPT : OP_SIGN;
	q.hash_id = hash_id == TLS_SIGN_RSA_DECRYPT ? 0 : hash_id;
	q.len = (uint32_t)hvlen;
	memcpy(q.data, hv, hvlen);
	/* A keys process that is gone does not come back: smtpd exits and
	 * master starts both again (sessions lose only unacknowledged
	 * mail). */
	if (send(fd, &q, 12 + hvlen, MSG_NOSIGNAL) < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			msg_fatal("the keys process is gone");
		msg_warn("keys process: %s", strerror(errno));
		return 0;
	}
	if (poll(&p, 1, 10000) <= 0 || (n = recv(fd, &a, sizeof(a), 0)) < 8) {
		if (n == 0 || (p.revents & POLLHUP))
			msg_fatal("the keys process is gone");
		msg_warn("keys process: no answer");
		return 0;
	}
	if (a.status != 0 || a.len > max || (size_t)n != 8 + a.len)
		return 0;
	memcpy(sig, a.data, a.len);
	return a.len;
}
