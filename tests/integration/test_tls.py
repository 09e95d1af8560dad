"""TLS (issue 6) against real peers: openssl s_client, swaks, Python's ssl
(OpenSSL), a real Postfix on both sides, testssl.sh. Certificates come
from a small test CA that the tests make with openssl(1)."""
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import time

import pytest

from peers import swaks, wait_until

HOST = "mx.test.example"


def openssl(*args, input=None, timeout=30):
    return subprocess.run(["openssl", *args], input=input, capture_output=True,
                          text=True, timeout=timeout)


class TestCA:
    __test__ = False

    """A root CA and leaf certificates signed by it (RSA or EC keys)."""

    def __init__(self, d, name="Test Root CA"):
        self.d = d
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        self.key = d / "ca.key"
        self.crt = d / "ca.pem"
        r = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
                    "-out", self.crt, "-days", "30", "-subj", f"/CN={name}",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        assert r.returncode == 0, r.stderr
        os.chmod(self.crt, 0o644)

    def leaf(self, name, cn, sans, kind="ec"):
        key, csr, crt = (self.d / f"{name}.key", self.d / f"{name}.csr",
                         self.d / f"{name}.pem")
        newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
                  if kind == "ec" else ["-newkey", "rsa:2048"])
        r = openssl("req", "-new", *newkey, "-nodes", "-keyout", key,
                    "-out", csr, "-subj", f"/CN={cn}")
        assert r.returncode == 0, r.stderr
        ext = self.d / f"{name}.ext"
        ext.write_text("subjectAltName=" +
                       ",".join(f"DNS:{s}" for s in sans) + "\n"
                       "basicConstraints=CA:FALSE\n"
                       "extendedKeyUsage=serverAuth,clientAuth\n")
        r = openssl("x509", "-req", "-in", csr, "-CA", self.crt, "-CAkey",
                    self.key, "-CAcreateserial", "-out", crt, "-days", "30",
                    "-extfile", ext)
        assert r.returncode == 0, r.stderr
        for p in (key, crt):
            os.chmod(p, 0o644 if p == crt else 0o600)
        return key, crt


@pytest.fixture
def pubdir():
    """A directory under /tmp that mailgw's user can read (pytest's
    tmp_path is root-only)."""
    import tempfile
    import pathlib
    d = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-tls-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def s_client(port, *args, starttls=True, input="QUIT\n", timeout=30):
    argv = ["s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOST]
    if starttls:
        argv += ["-starttls", "smtp"]
    return openssl(*argv, *args, input=input, timeout=timeout)


def fingerprint(pem_path):
    r = openssl("x509", "-in", pem_path, "-noout", "-fingerprint", "-sha256")
    return r.stdout.strip().split("=", 1)[1]


def test_starttls_selfsigned(gateway, smtp_sink):
    """No certificate configured: a self-signed ECDSA P-256 one is made at
    the first start (key root-only, fingerprint logged); STARTTLS with
    TLS 1.2 ECDHE AEAD, Postfix's log line, ESMTPS and the Received
    clause; the key never enters smtpd (keys process)."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port, smtpd_tls_security_level="may",
                 smtpd_tls_loglevel="1", smtpd_tls_received_header="yes")
    gw.start()
    gw.wait_log(r"keys\[\d+\]: created a self-signed certificate for "
                r"mx\.test\.example \(ECDSA P-256\) in .*: SHA-256 "
                r"fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}$")
    data = gw.dir / "data"
    crt = data / "smtpd-selfsigned-ecdsa.pem"
    key = data / "smtpd-selfsigned-ecdsa.key"
    st = key.stat()
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
    fp = fingerprint(crt)
    assert fp in gw.log_text()
    r = openssl("x509", "-in", crt, "-noout", "-text")
    assert "DNS:mx.test.example" in r.stdout and "CA:FALSE" in r.stdout
    assert "prime256v1" in r.stdout or "P-256" in r.stdout

    r = s_client(gw.port, "-brief")
    assert "Protocol version: TLSv1.2" in r.stderr, r.stderr
    assert "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in r.stderr, r.stderr
    r = swaks(gw.port, "--tls", "--from", "a@origin.test", "--to",
              "b@example.net", "--header", "Subject: tls")
    assert r.returncode == 0, r.stdout
    assert "250-STARTTLS" in r.stdout
    # (a stray message from another run on the machine may share the
    # sink's port: pick ours by its subject)
    wait_until(lambda: [x for x in sink.messages()
                        if x.header("Subject") == "tls"], 60, "our message")
    m = [x for x in sink.messages() if x.header("Subject") == "tls"][0]
    rec = m.headers("Received")[0]
    assert re.search(r"\(using TLSv1\.2 with cipher ECDHE-ECDSA-AES\d+-GCM-"
                     r"SHA\d+ \(\d+/\d+ bits\)\)", rec), rec
    assert "with ESMTPS id" in rec, rec
    gw.wait_log(r"Anonymous TLS connection established from "
                r"\S+\[127\.0\.0\.1\]: TLSv1\.2 with cipher "
                r"ECDHE-ECDSA-AES\d+-GCM-SHA\d+ \(\d+/\d+ bits\)")
    gw.wait_log(r"disconnect from \S+\[127\.0\.0\.1\] ehlo=2 "
                r"starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7")
    # smtpd (mail_owner) has no key: the keys process (non-dumpable) has
    smtpd = gw.role_pids("smtpd")
    assert smtpd
    keys = [int(p) for p in os.listdir("/proc") if p.isdigit()
            and _comm(int(p)) == "keys" and _ppid(int(p)) in smtpd]
    assert keys, "no keys process under smtpd"
    # a non-dumpable process's /proc files belong to root (proc(5)), so
    # smtpd's user cannot read its memory
    assert os.stat(f"/proc/{keys[0]}/mem").st_uid == 0
    assert os.stat(f"/proc/{keys[0]}/status").st_uid == 0
    with open(f"/proc/{keys[0]}/status") as f:
        uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
    assert uids[0] != "0"  # not root either
    # a second start keeps the same certificate
    gw.stop()
    gw.start()
    assert fingerprint(crt) == fp


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        lines.append(line.decode().rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def test_starttls_discards_pipelined_commands(gateway):
    """RFC 3207 / CVE-2011-0411: a command sent in the same packet as
    STARTTLS is not executed after the handshake, and the SMTP state is
    reset (EHLO again; no transaction)."""
    gw = gateway(smtpd_tls_security_level="may")
    gw.start()
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    f = s.makefile("rb")
    assert _read_reply(f)[0].startswith("220")
    s.sendall(b"EHLO client.test\r\n")
    assert "250-STARTTLS" in _read_reply(f)
    s.sendall(b"MAIL FROM:<before@origin.test>\r\n")
    assert _read_reply(f)[0].startswith("250 2.1.0")
    # the injection: STARTTLS and a command in one write
    s.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@origin.test>\r\n")
    assert _read_reply(f) == ["220 2.0.0 Ready to start TLS"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname=HOST)
    tf = t.makefile("rb")
    t.sendall(b"RCPT TO:<x@example.net>\r\n")
    # no reply to the injected RSET/MAIL arrives first; the MAIL from
    # before STARTTLS is gone too
    assert _read_reply(tf)[0].startswith("503 5.5.1 Error: need MAIL")
    t.sendall(b"EHLO client.test\r\n")
    ehlo = _read_reply(tf)
    assert ehlo[0].startswith("250-mx.test.example")
    assert "250-STARTTLS" not in ehlo
    t.sendall(b"STARTTLS\r\n")
    assert _read_reply(tf)[0].startswith("554 5.5.1")
    t.sendall(b"QUIT\r\n")
    assert _read_reply(tf)[0].startswith("221")
    t.close()


def test_encrypt_level_and_wrappermode(gateway, tmp_path):
    """smtpd_tls_security_level=encrypt refuses MAIL before STARTTLS; a
    master.cf service with -o smtpd_tls_wrappermode=yes (SMTPS) speaks TLS
    first, with an RSA chain from smtpd_tls_chain_files (key, leaf, CA)
    that openssl verifies against the test CA; the STARTTLS port serves an
    ECDSA certificate from smtpd_tls_cert_file/key_file."""
    ca = TestCA(tmp_path / "ca")
    eckey, eccrt = ca.leaf("ec", HOST, [HOST])
    rsakey, rsacrt = ca.leaf("rsa", HOST, [HOST], kind="rsa")
    chain = tmp_path / "ca" / "rsa-chain.pem"
    chain.write_text(rsakey.read_text() + rsacrt.read_text() +
                     ca.crt.read_text())
    os.chmod(chain, 0o600)
    gw = gateway(smtpd_tls_security_level="encrypt",
                 smtpd_tls_cert_file=str(eccrt), smtpd_tls_key_file=str(eckey),
                 smtpd_tls_loglevel="1")
    from peers import free_port
    wport = free_port()
    gw.master_cf += (f"127.0.0.1:{wport} inet n - n - - smtpd\n"
                     "  -o smtpd_tls_wrappermode=yes\n"
                     f"  -o smtpd_tls_chain_files={chain}\n")
    gw.write_config()
    gw.start()
    c = gw.smtp()
    code, lines = c.cmd("MAIL FROM:<a@origin.test>")
    assert code == 530 and "Must issue a STARTTLS command first" in lines[0]
    c.close()
    r = s_client(gw.port, "-CAfile", ca.crt, "-verify_return_error",
                 "-verify_hostname", HOST)
    assert "Verification: OK" in r.stdout, r.stdout + r.stderr
    assert "ECDHE-ECDSA" in r.stdout
    r = s_client(wport, "-CAfile", ca.crt, "-verify_return_error",
                 "-verify_hostname", HOST, "-showcerts", starttls=False)
    assert "Verification: OK" in r.stdout, r.stdout + r.stderr
    assert "ECDHE-RSA-AES128-GCM-SHA256" in r.stdout, r.stdout
    assert "220 mx.test.example" in r.stdout
    assert " 1 s:CN = Test Root CA" in r.stdout  # the chain was sent
    # swaks over implicit TLS (--tlsc)
    r = swaks(wport, "--tlsc", "--from", "a@origin.test", "--to",
              "b@example.net", "--quit-after", "RCPT")
    assert r.returncode == 0, r.stdout
    # a session resumes from the cache
    r = s_client(gw.port, "-reconnect", input="")
    assert r.stdout.count("Reused, TLSv1.2") >= 4, r.stdout[-3000:]


class _TlsPipe:
    """A TLS client over Python's ssl with memory BIOs, so that the test
    decides what goes into each write: the handshake's last flight and
    the first application record leave in one segment."""

    @staticmethod
    def context():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def __init__(self, ctx, sock, session=None):
        self.sock = sock
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=HOST,
                                session=session)
        self.buf = b""

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.inc.write(data)

    def handshake_then(self, payload):
        """Handshake; then payload goes out in the same write as the
        client's Finished (resumed handshake) or right after it."""
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if self.out.pending:
                    self.sock.sendall(self.out.read())
                self._recv()
        self.obj.write(payload)
        self.sock.sendall(self.out.read())

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                try:
                    self.buf += self.obj.read(65536)
                except ssl.SSLWantReadError:
                    self._recv()
            line, self.buf = self.buf.split(b"\n", 1)
            lines.append(line.decode().rstrip("\r"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines


def test_first_tls_record_carries_commands(gateway):
    """The handshake's end and pipelined commands in one segment (client
    Finished + EHLO + MAIL of a resumed handshake, or EHLO + MAIL before
    the banner was read): MAIL is accepted at smtpd_tls_security_level=
    encrypt, i.e. the session knew TLS was on when the commands ran; in
    wrapper mode (SMTPS) and after STARTTLS; full and resumed."""
    from peers import free_port
    gw = gateway(smtpd_tls_security_level="encrypt", smtpd_tls_loglevel="2")
    wport = free_port()
    gw.master_cf += (f"127.0.0.1:{wport} inet n - n - - smtpd\n"
                     "  -o smtpd_tls_wrappermode=yes\n")
    gw.write_config()
    gw.start()
    cmds = b"EHLO client.test\r\nMAIL FROM:<a@origin.test>\r\n"
    for port, starttls in ((wport, False), (gw.port, True)):
        session, ctx = None, _TlsPipe.context()
        for n in range(3):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            if starttls:
                f = s.makefile("rb")
                assert _read_reply(f)[0].startswith("220 ")
                s.sendall(b"EHLO client.test\r\nSTARTTLS\r\n")
                assert _read_reply(f)[-1].startswith("250 ")
                assert _read_reply(f) == ["220 2.0.0 Ready to start TLS"]
            t = _TlsPipe(ctx, s, session)
            t.handshake_then(cmds)
            if not starttls:
                assert t.reply()[0].startswith("220 mx.test.example")
            ehlo = t.reply()
            assert ehlo[0] == "250-mx.test.example" and \
                "250-STARTTLS" not in ehlo, ehlo
            mail = t.reply()
            assert mail == ["250 2.1.0 Ok"], (port, n, mail)
            assert t.obj.session_reused == (n > 0), (port, n)
            session = t.obj.session
            s.close()
    gw.wait_log(r"Reusing old session")
    assert "Must issue a STARTTLS command first" not in gw.log_text()


def test_policy_refuses_old_protocols_and_suites(gateway):
    """Default policy: TLS 1.0/1.1 and CBC/RSA-kx suites are refused;
    smtpd_tls_protocols and smtpd_tls_cipher_suites open them for old
    peers."""
    gw = gateway(smtpd_tls_security_level="may")
    gw.start()
    for args in (["-tls1_1"], ["-tls1"],
                 ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
                 ["-tls1_2", "-cipher", "AES128-GCM-SHA256"]):
        r = s_client(gw.port, *args, "-brief")
        assert "CONNECTION ESTABLISHED" not in r.stderr, (args, r.stderr)
    gw.wait_log(r"SSL_accept error from \S+\[127\.0\.0\.1\]: ")
    gw.set(smtpd_tls_protocols=">=TLSv1", smtpd_tls_cipher_suites="aead cbc")
    gw.stop()
    gw.start()
    r = s_client(gw.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA",
                 "-brief")
    assert "Ciphersuite: ECDHE-ECDSA-AES128-SHA" in r.stderr, r.stderr


def test_stalled_handshake_blocks_nobody(gateway):
    """A client that sends STARTTLS and then nothing holds no one up: a
    second client completes its whole session meanwhile; the stalled one
    times out after smtpd_starttls_timeout, and the counters say so."""
    gw = gateway(smtpd_tls_security_level="may", smtpd_starttls_timeout="2s")
    gw.start()
    stalled = gw.smtp()
    assert stalled.cmd("STARTTLS")[0] == 220
    # and one that sends garbage instead of a ClientHello
    bad = gw.smtp()
    assert bad.cmd("STARTTLS")[0] == 220
    bad.sock.sendall(b"this is not TLS\r\n" * 20)
    t0 = time.monotonic()
    r = s_client(gw.port, "-brief")
    assert "CONNECTION ESTABLISHED" in r.stderr
    assert time.monotonic() - t0 < 2
    gw.wait_log(r"timeout after STARTTLS from \S+\[127\.0\.0\.1\]",
                timeout=10)
    gw.wait_log(r"SSL_accept error from \S+\[127\.0\.0\.1\]: ")
    stalled.close()
    bad.close()
    gw.stop()
    gw.wait_log(r"TLS handshakes: 1 completed \(0 resumed\), 1 failed, "
                r"1 timed out")


def test_postfix_sends_with_tls(gateway, smtp_sink, postfix_peer):
    """A real Postfix as TLS client (smtp_tls_security_level=encrypt):
    Postfix logs a TLS connection to mailgw and the mail arrives."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port, smtpd_tls_security_level="may",
                 smtpd_tls_loglevel="1")
    gw.start()
    pf = postfix_peer(relayhost=f"[127.0.0.1]:{gw.port}",
                      smtp_tls_security_level="encrypt",
                      smtp_tls_loglevel="1").start()
    r = swaks(pf.port, "--from", "a@origin.test", "--to", "b@example.net")
    assert r.returncode == 0, r.stdout
    sink.wait_count(1, timeout=60)
    wait_until(lambda: re.search(
        r"Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]"
        r":\d+: TLSv1\.2 with cipher ECDHE-ECDSA-", pf.log_text()), 30,
        "Postfix's TLS line")
    gw.wait_log(r"Anonymous TLS connection established from "
                r"\S+\[127\.0\.0\.1\]")


@pytest.mark.skipif(shutil.which("testssl") is None and
                    shutil.which("testssl.sh") is None,
                    reason="testssl.sh not installed")
def test_testssl(gateway, tmp_path):
    """testssl.sh (protocols, cipher categories, forward secrecy) against
    the STARTTLS port: no SSLv2/3, TLS 1.0/1.1, NULL, export, RC4, 3DES or
    CBC suites; forward secrecy for every suite. Its summary goes to
    build/testssl-summary.txt for the report."""
    gw = gateway(smtpd_tls_security_level="may")
    gw.start()
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    out = tmp_path / "testssl.json"
    r = subprocess.run(
        [exe, "--quiet", "--color", "0", "--warnings", "off", "--fast",
         "--sneaky", "--starttls", "smtp", "-p", "-s", "-f",
         "--jsonfile-pretty", str(out), f"127.0.0.1:{gw.port}"],
        capture_output=True, text=True, timeout=600)
    text = r.stdout
    summary = os.environ.get("MAILGW_BUILD", "") or str(
        __import__("pathlib").Path(__file__).resolve().parents[2] / "build")
    try:
        with open(os.path.join(summary, "testssl-summary.txt"), "w") as f:
            f.write(text)
    except OSError:
        pass
    import json
    res = json.loads(out.read_text())
    findings = {}
    for scan in res.get("scanResult", []):
        for sect in ("protocols", "ciphers", "fs", "pfs"):
            for item in scan.get(sect, []) or []:
                findings[item["id"]] = item["finding"]
    assert findings, text
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert findings.get(proto, "").startswith("not offered"), \
            (proto, findings.get(proto), text)
    assert findings.get("TLS1_2", "").startswith("offered"), text
    for cat in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                "cipherlist_LOW", "cipherlist_3DES_IDEA",
                "cipherlist_OBSOLETED"):
        if cat in findings:
            assert findings[cat].startswith("not offered"), (cat, text)
    fs = findings.get("FS") or findings.get("PFS") or ""
    assert "offered" in fs and "not" not in fs.split()[0], (fs, text)


def _relay_through(gw, pf, sink, n, rcpt):
    r = swaks(gw.port, "--from", "a@origin.test", "--to", rcpt,
              "--header", f"Subject: tls client {n}")
    assert r.returncode == 0, r.stdout


def test_client_levels_against_postfix(gateway, smtp_sink, postfix_peer,
                                       pubdir):
    """mailgw relays to a real Postfix that offers STARTTLS with a
    certificate from the test's CA: may (Trusted with the CA), verify
    with match= from smtp_tls_policy_maps (Verified, SNI sent), secure
    with a wrong CA and verify with a wrong name defer; encrypt against a
    server without TLS defers; may falls back to plaintext when the
    handshake fails (Postfix offering only TLS 1.3)."""
    tmp_path = pubdir
    ca = TestCA(tmp_path / "ca")
    other = TestCA(tmp_path / "other", name="Other CA")
    key, crt = ca.leaf("peer", "peer.test.example", ["peer.test.example"])
    sink = smtp_sink()
    pf = postfix_peer(relayhost=sink.nexthop, smtpd_tls_security_level="may",
                      smtpd_tls_cert_file=str(crt), smtpd_tls_key_file=str(key),
                      smtpd_tls_loglevel="1").start()
    dest = f"[127.0.0.1]:{pf.port}"
    policy = tmp_path / "tls_policy"

    def run_case(level_line, cafile, expect_log, sent=True):
        policy.write_text(f"{dest} {level_line}\n" if level_line else "")
        gw = gateway(relay_to=pf.port, smtp_tls_CAfile=str(cafile),
                     smtp_tls_loglevel="1",
                     smtp_tls_security_level="may",
                     smtp_tls_policy_maps=f"texthash:{policy}")
        gw.start()
        before = sink.count()
        r = swaks(gw.port, "--from", "a@origin.test", "--to",
                  "b@example.net")
        assert r.returncode == 0, r.stdout
        gw.wait_log(expect_log, timeout=30)
        if sent:
            gw.wait_log(r"to=<b@example\.net>, relay=127\.0\.0\.1.*"
                        r"status=sent")
            sink.wait_count(before + 1, timeout=60)
        else:
            gw.wait_log(r"to=<b@example\.net>, relay=.*status=deferred")
        gw.stop()
        return gw

    run_case("", ca.crt,
             rf"Trusted TLS connection established to 127\.0\.0\.1"
             rf"\[127\.0\.0\.1\]:{pf.port}: TLSv1\.2 with cipher ECDHE-ECDSA-")
    run_case("verify match=peer.test.example servername=peer.test.example",
             ca.crt, r"Verified TLS connection established to ")
    wait_until(lambda: "Anonymous TLS connection established from "
               "localhost[127.0.0.1]" in pf.log_text() or
               "TLS connection established from" in pf.log_text(), 10,
               "Postfix's TLS line")
    run_case("secure match=peer.test.example", other.crt,
             r"status=deferred \(Server certificate not trusted", sent=False)
    run_case("verify match=wrong.example", ca.crt,
             r"status=deferred \(Server certificate not verified", sent=False)
    run_case("secure match=.test.example", ca.crt,
             r"Verified TLS connection established to ")

    # may falls back to plaintext; encrypt defers
    pf.stop()
    pf.params["smtpd_tls_protocols"] = ">=TLSv1.3"
    pf.params["smtpd_tls_mandatory_protocols"] = ">=TLSv1.3"
    pf.write()
    pf.start()
    run_case("may", ca.crt, r"TLS handshake with .* failed; retrying in "
             r"plaintext")
    run_case("encrypt", ca.crt,
             r"status=deferred \(Cannot start TLS: handshake failure",
             sent=False)
    pf.stop()
    pf.params["smtpd_tls_security_level"] = "none"
    pf.write()
    pf.start()
    run_case("encrypt", ca.crt,
             r"status=deferred \(TLS is required, but was not offered by "
             r"host 127\.0\.0\.1\[127\.0\.0\.1\]\)", sent=False)


def test_client_wrappermode_to_postfix(gateway, smtp_sink, postfix_peer,
                                       pubdir):
    """smtp_tls_wrappermode=yes: mailgw speaks TLS first to a Postfix
    whose smtpd runs with smtpd_tls_wrappermode=yes (SMTPS), verified
    against the test CA."""
    ca = TestCA(pubdir / "ca")
    key, crt = ca.leaf("peer", "peer.test.example", ["peer.test.example"])
    sink = smtp_sink()
    pf = postfix_peer(relayhost=sink.nexthop, smtpd_tls_wrappermode="yes",
                      smtpd_tls_security_level="encrypt",
                      smtpd_tls_cert_file=str(crt),
                      smtpd_tls_key_file=str(key)).start()
    policy = pubdir / "policy"
    policy.write_text(f"[127.0.0.1]:{pf.port} verify "
                      "match=peer.test.example\n")
    gw = gateway(relay_to=pf.port, smtp_tls_wrappermode="yes",
                 smtp_tls_CAfile=str(ca.crt), smtp_tls_loglevel="1",
                 smtp_tls_policy_maps=f"texthash:{policy}")
    gw.start()
    r = swaks(gw.port, "--from", "a@origin.test", "--to", "b@example.net")
    assert r.returncode == 0, r.stdout
    gw.wait_log(rf"Verified TLS connection established to 127\.0\.0\.1"
                rf"\[127\.0\.0\.1\]:{pf.port}: TLSv1\.2")
    gw.wait_log(r"to=<b@example\.net>, relay=127\.0\.0\.1.*status=sent")
    sink.wait_count(1, timeout=60)


def test_keys_process_death_restarts_smtpd(gateway):
    """If the keys process dies, the next handshake makes smtpd exit
    (it cannot sign any more); master starts smtpd and a new keys
    process, and TLS works again."""
    gw = gateway(smtpd_tls_security_level="may")
    gw.start()
    smtpd = gw.role_pids("smtpd")
    keys = [int(p) for p in os.listdir("/proc") if p.isdigit()
            and _comm(int(p)) == "keys" and _ppid(int(p)) in smtpd]
    assert len(keys) == 1
    os.kill(keys[0], 9)
    s_client(gw.port, "-brief")
    gw.wait_log(r"fatal: the keys process is gone")

    def tls_ok():
        return "CONNECTION ESTABLISHED" in s_client(gw.port, "-brief").stderr
    wait_until(tls_ok, 30, "TLS after the restart")


class SServer:
    """openssl s_server on 127.0.0.1 as the TLS peer of mailgw's client in
    wrapper mode (smtp_tls_wrappermode=yes): it reports the SNI it got
    (-servername with a second context prints "Hostname in TLS
    extension"), the protocol and the cipher. It speaks no SMTP, so the
    delivery is deferred after the handshake; the test reads only what
    the handshake shows. One connection (-naccept 1); stopped by PID."""

    def __init__(self, tmp, name, key, crt, *args):
        from peers import free_port
        self.port = free_port()
        self.log = tmp / f"s_server-{name}.log"
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}",
             "-cert", str(crt), "-key", str(key), "-cert2", str(crt),
             "-key2", str(key), "-servername", "sni.never.test",
             "-naccept", "1", *args],
            stdin=subprocess.PIPE, stdout=open(self.log, "w"),
            stderr=subprocess.STDOUT)
        wait_until(lambda: "ACCEPT" in self.text(), 30, "s_server ACCEPT")

    def text(self):
        return self.log.read_text(errors="replace")

    def wait_handshake(self):
        """The handshake's outcome: the text after it ended."""
        wait_until(lambda: re.search(r"CIPHER is |:error:|ERROR",
                                     self.text()), 60,
                   f"s_server handshake on {self.port}")
        return self.text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def s_server(tmp_path):
    made = []

    def make(name, key, crt, *args):
        s = SServer(tmp_path, name, key, crt, *args)
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


def _wrapper_client(gateway, servers, policy_lines, **main_cf):
    """A mailgw whose client speaks SMTPS to each s_server through
    transport_maps (domain NAME.test -> the server NAME); one message
    with a recipient for each."""
    tm = ", ".join(f"{n}.test=smtp:[{host}]:{s.port}"
                   for n, (host, s) in servers.items())
    gw = gateway(transport_maps=f"inline:{{ {tm} }}",
                 smtp_tls_wrappermode="yes", smtp_tls_loglevel="1",
                 smtp_host_lookup="native", **main_cf)
    if policy_lines:
        policy = gw.dir / "tls_policy"
        policy.write_text("".join(f"{line}\n" for line in policy_lines))
        gw.set(smtp_tls_policy_maps=f"texthash:{policy}")
    gw.start()
    r = swaks(gw.port, "--from", "a@origin.test", "--to",
              ",".join(f"u@{n}.test" for n in servers))
    assert r.returncode == 0, r.stdout
    return gw


def test_client_sni(gateway, s_server, tmp_path):
    """smtp_tls_servername as Postfix: "hostname" sends the server's host
    name (localhost from [localhost]), never an address ([127.0.0.1]:
    no SNI); a literal name from the policy's servername= wins over
    main.cf; "nexthop" sends the next-hop name. What the peer saw is
    s_server's own report."""
    ca = TestCA(tmp_path / "ca")
    key, crt = ca.leaf("peer", "peer.test.example", ["peer.test.example"])
    srv = {"host": ("localhost", s_server("host", key, crt)),
           "addr": ("127.0.0.1", s_server("addr", key, crt)),
           "lit": ("127.0.0.1", s_server("lit", key, crt)),
           "nh": ("localhost", s_server("nh", key, crt))}
    gw = _wrapper_client(
        gateway, srv,
        [f"[127.0.0.1]:{srv['lit'][1].port} encrypt "
         "servername=sni.literal.test",
         f"[localhost]:{srv['nh'][1].port} encrypt servername=nexthop"],
        smtp_tls_servername="hostname")
    seen = {n: s.wait_handshake() for n, (_, s) in srv.items()}
    assert 'Hostname in TLS extension: "localhost"' in seen["host"], \
        seen["host"]
    assert "CIPHER is" in seen["addr"] and \
        "Hostname in TLS extension" not in seen["addr"], seen["addr"]
    assert 'Hostname in TLS extension: "sni.literal.test"' in seen["lit"]
    assert 'Hostname in TLS extension: "localhost"' in seen["nh"]
    for _, s in srv.values():
        gw.wait_log(rf"TLS connection established to \S+\[127\.0\.0\.1\]:"
                    rf"{s.port}: TLSv1\.2 with cipher ")


def test_client_policy_protocols_and_ciphers(gateway, s_server, tmp_path):
    """smtp_tls_policy_maps protocols= and ciphers= are applied: against a
    TLSv1.1-only server, protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1 refuses
    what the default (>=TLSv1) accepts; against a server with only
    AES128-GCM-SHA256 (RSA key exchange), the default suites (aead, cbc)
    find no shared cipher and ciphers=high (OpenSSL's HIGH) does."""
    ca = TestCA(tmp_path / "ca")
    key, crt = ca.leaf("peer", "peer.test.example", ["peer.test.example"],
                       kind="rsa")
    old = ("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    rsa = ("-tls1_2", "-cipher", "AES128-GCM-SHA256")
    srv = {"old": ("127.0.0.1", s_server("old", key, crt, *old)),
           "new": ("127.0.0.1", s_server("new", key, crt, *old)),
           "rsadef": ("127.0.0.1", s_server("rsadef", key, crt, *rsa)),
           "rsahigh": ("127.0.0.1", s_server("rsahigh", key, crt, *rsa))}
    p = {n: s.port for n, (_, s) in srv.items()}
    gw = _wrapper_client(
        gateway, srv,
        [f"[127.0.0.1]:{p['new']} encrypt "
         "protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1",
         f"[127.0.0.1]:{p['rsahigh']} encrypt ciphers=high"])
    for _, s in srv.values():
        s.wait_handshake()
    gw.wait_log(rf"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]"
                rf":{p['old']}: TLSv1\.1 with cipher ECDHE-RSA-")
    gw.wait_log(rf"SSL_connect error to 127\.0\.0\.1\[127\.0\.0\.1\]:"
                rf"{p['new']}: ")
    gw.wait_log(rf"SSL_connect error to 127\.0\.0\.1\[127\.0\.0\.1\]:"
                rf"{p['rsadef']}: ")
    gw.wait_log(rf"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]"
                rf":{p['rsahigh']}: TLSv1\.2 with cipher AES128-GCM-SHA256")
    assert "CIPHER is AES128-GCM-SHA256" in srv["rsahigh"][1].text()


def test_client_resumes_sessions_with_postfix(gateway, smtp_sink, postfix_peer,
                                              pubdir):
    """Client session resumption (smtp_tls_session_cache_timeout, kept in
    the delivering process's memory): three messages one after another to
    a real Postfix (STARTTLS, its server session cache in tlsmgr's
    database) go over three connections (smtp_tls_connection_reuse=no, as
    Postfix); the first handshake is full, the later ones resume: Postfix
    logs "Reusing old session" for them, and mailgw still says Verified
    (the trust saved with the session: a resumed handshake shows no
    certificate)."""
    ca = TestCA(pubdir / "ca")
    key, crt = ca.leaf("peer", "peer.test.example", ["peer.test.example"])
    sink = smtp_sink()
    pf = postfix_peer(
        relayhost=sink.nexthop, smtpd_tls_security_level="may",
        smtpd_tls_cert_file=str(crt), smtpd_tls_key_file=str(key),
        smtpd_tls_loglevel="2",
        smtpd_tls_session_cache_database="btree:${data_directory}/scache"
    ).start()
    policy = pubdir / "policy"
    policy.write_text(f"[127.0.0.1]:{pf.port} verify "
                      "match=peer.test.example\n")
    gw = gateway(relay_to=pf.port, smtp_tls_CAfile=str(ca.crt),
                 smtp_tls_loglevel="2",
                 smtp_tls_policy_maps=f"texthash:{policy}")
    gw.start()
    for n in range(3):
        r = swaks(gw.port, "--from", "a@origin.test", "--to",
                  f"b{n}@example.net")
        assert r.returncode == 0, r.stdout
        gw.wait_log(rf"to=<b{n}@example\.net>, relay=127\.0\.0\.1.*"
                    r"status=sent")
    sink.wait_count(3, timeout=60)
    wait_until(lambda: pf.log_text().count("Reusing old session") >= 2, 30,
               "Postfix: Reusing old session, twice")
    log = gw.log_text()
    assert len(re.findall(r"Verified TLS connection established to "
                          rf"127\.0\.0\.1\[127\.0\.0\.1\]:{pf.port}",
                          log)) == 3, log
    assert log.count(f"127.0.0.1[127.0.0.1]:{pf.port}: Reusing old "
                     "session") == 2, log


def test_client_certificate_to_postfix(gateway, smtp_sink, postfix_peer,
                                       pubdir):
    """smtp_tls_cert_file/smtp_tls_key_file: mailgw presents its client
    certificate to a Postfix with smtpd_tls_ask_ccert=yes, which verifies
    it against the test CA ("Trusted TLS connection established from",
    and its Received header names the client CN, verified OK). The key
    file is root's, mode 0600: qmgr (user mailgw) cannot read it; the
    keys process started for qmgr signs the CertificateVerify."""
    ca = TestCA(pubdir / "ca")
    key, crt = ca.leaf("peer", "peer.test.example", ["peer.test.example"])
    ckey, ccrt = ca.leaf("client", "client.test.example",
                         ["client.test.example"])
    assert stat.S_IMODE(ckey.stat().st_mode) == 0o600
    assert ckey.stat().st_uid == 0
    sink = smtp_sink()
    pf = postfix_peer(
        relayhost=sink.nexthop, smtpd_tls_security_level="may",
        smtpd_tls_cert_file=str(crt), smtpd_tls_key_file=str(key),
        smtpd_tls_ask_ccert="yes", smtpd_tls_CAfile=str(ca.crt),
        smtpd_tls_loglevel="1", smtpd_tls_received_header="yes").start()
    gw = gateway(relay_to=pf.port, smtp_tls_CAfile=str(ca.crt),
                 smtp_tls_security_level="encrypt", smtp_tls_loglevel="1",
                 smtp_tls_cert_file=str(ccrt), smtp_tls_key_file=str(ckey))
    gw.start()
    r = swaks(gw.port, "--from", "a@origin.test", "--to", "b@example.net",
              "--header", "Subject: client cert")
    assert r.returncode == 0, r.stdout
    gw.wait_log(r"to=<b@example\.net>, relay=127\.0\.0\.1.*status=sent")
    (m,) = [m for m in sink.wait_count(1) if b"client cert" in m.content]
    text = m.content.decode()
    assert re.search(r'\(Client CN "client\.test\.example", Issuer "[^"]*"'
                     r' \(verified OK\)\)', text), text
    wait_until(lambda: "Trusted TLS connection established from" in
               pf.log_text(), 30, "Postfix: Trusted TLS connection")
    # the key is not in qmgr: a keys process, qmgr's child, holds it
    qmgr = gw.role_pids("qmgr")
    keys = [int(p) for p in os.listdir("/proc") if p.isdigit()
            and _comm(int(p)) == "keys" and _ppid(int(p)) in qmgr]
    assert len(keys) == 1, (qmgr, keys)


def test_server_asks_client_certificates(gateway, smtp_sink, pubdir):
    """smtpd_tls_ask_ccert=yes with smtpd_tls_CAfile: permit_tls_clientcerts
    relays for a client whose certificate's SHA-256 fingerprint is in
    relay_clientcerts (Postfix's format), permit_tls_all_clientcerts for
    any certificate that verifies against the CA; a client without a
    certificate, or with a self-signed one, is Anonymous/Untrusted and
    gets Relay access denied. The clients are swaks --tls-cert (OpenSSL)."""
    ca = TestCA(pubdir / "ca")
    listed_key, listed_crt = ca.leaf("listed", "listed.test", ["listed.test"])
    other_key, other_crt = ca.leaf("other", "other.test", ["other.test"])
    self_key, self_crt = pubdir / "self.key", pubdir / "self.pem"
    r = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", self_key,
                "-out", self_crt, "-subj", "/CN=self.test", "-days", "2")
    assert r.returncode == 0, r.stderr
    certs = pubdir / "relay_clientcerts"
    certs.write_text(f"{fingerprint(listed_crt)} listed\n")
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port, mynetworks="10.255.0.0/16",
                 smtpd_client_event_limit_exceptions="",
                 smtpd_tls_security_level="may", smtpd_tls_ask_ccert="yes",
                 smtpd_tls_CAfile=str(ca.crt), smtpd_tls_loglevel="1",
                 relay_clientcerts=f"texthash:{certs}",
                 smtpd_relay_restrictions="permit_tls_clientcerts, "
                 "reject_unauth_destination")
    from peers import free_port
    gw.all_port = free_port()
    gw.master_cf += (f"127.0.0.1:{gw.all_port} inet n - n - - smtpd\n"
                     "  -o smtpd_relay_restrictions=permit_tls_all_clientcerts,"
                     "reject_unauth_destination\n")
    gw.write_config()
    gw.start()

    def send(port, *cert):
        extra = ["--tls-cert", str(cert[0]), "--tls-key", str(cert[1])] \
            if cert else []
        return swaks(port, "--tls", "--from", "a@origin.test", "--to",
                     "b@far.example", "--quit-after", "RCPT", *extra)

    denied = "5.7.1 <b@far.example>: Relay access denied"
    r = send(gw.port, listed_crt, listed_key)
    assert r.returncode == 0 and denied not in r.stdout, r.stdout
    for cert in ((), (other_crt, other_key), (self_crt, self_key)):
        assert denied in send(gw.port, *cert).stdout, cert
    for cert in ((listed_crt, listed_key), (other_crt, other_key)):
        r = send(gw.all_port, *cert)
        assert r.returncode == 0 and denied not in r.stdout, (cert, r.stdout)
    for cert in ((), (self_crt, self_key)):
        assert denied in send(gw.all_port, *cert).stdout, cert
    gw.wait_log(r"Trusted TLS connection established from ")
    gw.wait_log(r"Untrusted TLS connection established from ")
    gw.wait_log(r"Anonymous TLS connection established from ")
    gw.wait_log(r"client certificate SHA-256 fingerprint " +
                re.escape(fingerprint(listed_crt)) + "$")


@pytest.mark.parametrize("case", ["bad-level", "bad-attribute",
                                  "unavailable"])
def test_client_policy_errors_defer(gateway, smtp_sink, case):
    """A TLS policy that cannot be known never lowers protection: an entry
    with an unknown level or attribute and a policy table that does not
    open defer the mail with
    Postfix's "4.7.5 client TLS configuration problem" and a warning,
    where falling back to main.cf's level would have sent it in plaintext
    to the sink (which offers no STARTTLS). Fixing the entry lets it
    go."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    policy = gw.dir / "tls_policy"
    key = f"[127.0.0.1]:{sink.port}"
    entries = {"bad-level": f"{key} sekure\n",
               "bad-attribute": f"{key} encrypt protcols=!SSLv2\n",
               "unavailable": None}
    if case == "unavailable":
        gw.set(smtp_tls_policy_maps=f"lmdb:{gw.dir / 'missing'}")
    else:
        policy.write_text(entries[case])
        gw.set(smtp_tls_policy_maps=f"texthash:{policy}")
    gw.start()
    r = swaks(gw.port, "--from", "a@origin.test", "--to", "b@example.net")
    assert r.returncode == 0, r.stdout
    gw.wait_log(r"to=<b@example\.net>, relay=.*dsn=4\.7\.5, "
                r"status=deferred \(client TLS configuration problem\)")
    warning = {"bad-level": r"warning: smtp_tls_policy_maps: .*bad policy",
               "bad-attribute": r"warning: smtp_tls_policy_maps: .*"
                                r"bad policy",
               "unavailable": r"warning: smtp_tls_policy_maps: lmdb:.*"
                              r"is unavailable"}[case]
    gw.wait_log(warning)
    assert sink.count() == 0
    # the entry fixed, the queue flushed: delivered (no TLS offered, may)
    gw.stop()
    if case == "unavailable":
        gw.set(smtp_tls_policy_maps="")
    else:
        policy.write_text(f"{key} may\n")
    gw.start()
    assert gw.cmd("postqueue", "-f").rc == 0
    sink.wait_count(1, timeout=60)
