"""Restrictions that ask the DNS and policy servers, against real peers:
Debian's nsd serving a test blocklist, an RHS blocklist and test domains
(on a 127.53.x.y:53 of its own; the gateway's dns_resolv_conf names it),
postgrey (greylisting) and policyd-spf (SPF) speaking the Postfix policy
protocol on loopback ports, started and stopped by PID here.
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from peers import Nsd, SmtpConn, free_port, kill_pid, wait_until

ZONES = {
    # reject_rbl_client: 127.0.0.1 is listed with a reason
    "bl.test": ("1.0.0.127 IN A 127.0.0.2\n"
                '1.0.0.127 IN TXT "Blocked, see http://bl.test/?ip=127.0.0.1"\n'),
    # reject_rhsbl_sender: bad.example is listed
    "rhsbl.test": "bad.example IN A 127.0.0.2\n",
    # domains with and without mail hosts
    "dom.test": ("good IN MX 10 mx.good\nmx.good IN A 192.0.2.10\n"
                 "aonly IN A 192.0.2.11\n"
                 "nullmx IN MX 0 .\n"
                 'spf IN TXT "v=spf1 ip4:192.0.2.1 -all"\n'),
    "example.net": "@ IN MX 10 mx\nmx IN A 192.0.2.20\n",
}


@pytest.fixture(scope="module")
def nsd():
    n = Nsd(ZONES).start().expect("1.0.0.127.bl.test", "A", "127.0.0.2")
    yield n
    n.cleanup()


def conn(gw, helo="client.test", source=None):
    return SmtpConn(gw.port, helo=helo, source=source)


def cmd(c, line, code, text=None):
    got, lines = c.cmd(line)
    joined = " ".join(lines)
    assert got == code, f"{line}: {got} {joined}"
    if text is not None:
        assert text in joined, f"{line}: {got} {joined}"
    return joined


@pytest.fixture
def dnsgw(gateway, smtp_sink, nsd):
    def make(**main_cf):
        sink = smtp_sink()
        params = dict(mynetworks="127.0.0.2/32",
                      relay_domains="example.net",
                      smtpd_relay_restrictions="permit_mynetworks, "
                                               "reject_unauth_destination")
        params.update(main_cf)
        gw = gateway(relay_to=sink.port, **params)
        gw.set(dns_resolv_conf=nsd.resolv_conf(gw.dir / "resolv.conf"))
        return gw, sink
    return make


def test_rbl_client_refused_with_list_text(dnsgw):
    """reject_rbl_client: the blocklist's TXT is the reason in the reply
    (default_rbl_reply), a reply filter that does not match lets the client
    through, rbl_reply_maps replaces the text; fail2ban's postfix filter
    (mode rbl) reads the log line."""
    gw, _ = dnsgw(smtpd_client_restrictions="reject_rbl_client bl.test=127.0.0.[3..9], "
                                            "reject_rbl_client bl.test")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@dom.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 554,
        "5.7.1 Service unavailable; Client host [127.0.0.1] blocked using "
        "bl.test; Blocked, see http://bl.test/?ip=127.0.0.1")
    c.quit()
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"Service unavailable; Client host \[127\.0\.0\.1\] blocked "
                r"using bl\.test; Blocked, see http://bl\.test/\?ip=127\.0\.0\.1; "
                r"from=<a@dom\.test> to=<u@example\.net> proto=ESMTP "
                r"helo=<client\.test>")
    lp = gw.dir / "f2b.log"
    lp.write_text(gw.log_text().replace(" mailgw/", " postfix/"))
    r = subprocess.run(["fail2ban-regex", str(lp),
                        "/etc/fail2ban/filter.d/postfix.conf[mode=rbl]"],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Failregex: (\d+) total", r.stdout)
    assert m and int(m.group(1)) == 1, r.stdout[-3000:] + r.stderr
    gw.stop()
    rbl_map = gw.dir / "rbl_reply"
    rbl_map.write_text("bl.test $rbl_code 5.7.1 Listed by $rbl_domain: "
                       "$rbl_reason (client $client_address)\n")
    gw.set(smtpd_client_restrictions="reject_rbl_client bl.test",
           rbl_reply_maps=f"texthash:{rbl_map}")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@dom.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 554,
        "5.7.1 Listed by bl.test: Blocked, see http://bl.test/?ip=127.0.0.1 "
        "(client 127.0.0.1)")
    c.quit()


def test_rhsbl_sender(dnsgw):
    gw, _ = dnsgw(smtpd_sender_restrictions="reject_rhsbl_sender rhsbl.test")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<x@bad.example>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 554,
        "5.7.1 Service unavailable; Sender address [x@bad.example] blocked "
        "using rhsbl.test")
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<x@good.dom.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 250)
    c.quit()


RFC_BLOCK = ("permit_mynetworks, "
             "check_recipient_access lmdb:{exempt}, "
             "reject_non_fqdn_sender, reject_non_fqdn_recipient, "
             "reject_unknown_sender_domain, reject_unknown_recipient_domain, "
             "reject_unauth_destination")


def test_rfc_conformance_block(dnsgw, mailgw):
    """The RFC-conformance block: postmaster@, abuse@, hostmaster@ and
    webmaster@ pass an lmdb table before the conformance checks; unknown
    domains are refused with 450 (a DNS failure too: never a hard reject);
    the trusted network passes everything."""
    gw, sink = dnsgw(relay_domains="example.net, nx.dom.test")
    exempt = gw.dir / "rfc_exempt"
    exempt.write_text("postmaster@ OK\nabuse@ OK\nhostmaster@ OK\n"
                      "webmaster@ OK\n")
    r = gw.cmd("postmap", f"lmdb:{exempt}")
    assert r.rc == 0, r
    gw.set(smtpd_recipient_restrictions=RFC_BLOCK.format(exempt=exempt),
           smtpd_helo_required="yes")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<x@nx.dom.test>", 250)
    for who in ("postmaster", "abuse", "hostmaster", "webmaster"):
        cmd(c, f"RCPT TO:<{who}@example.net>", 250)
    cmd(c, "RCPT TO:<user@example.net>", 450,
        "4.1.8 <x@nx.dom.test>: Sender address rejected: Domain not found")
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<x@nodot>", 250)
    cmd(c, "RCPT TO:<user@example.net>", 504,
        "5.5.2 <x@nodot>: Sender address rejected: need fully-qualified "
        "address")
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<x@aonly.dom.test>", 250)  # an A record is enough
    cmd(c, "RCPT TO:<user@example.net>", 250)
    cmd(c, "RCPT TO:<user@nx.dom.test>", 450,
        "4.1.2 <user@nx.dom.test>: Recipient address rejected: Domain not "
        "found")
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<x@nullmx.dom.test>", 250)
    cmd(c, "RCPT TO:<user@example.net>", 550,
        "5.7.27 <x@nullmx.dom.test>: Sender address rejected: Domain "
        "nullmx.dom.test does not accept mail (nullMX)")
    cmd(c, "RSET", 250)
    # a name in a zone nobody serves here: the server refuses, the
    # resolver gives up: a temporary failure, 450, never 5xx
    cmd(c, "MAIL FROM:<x@host.unserved.invalid>", 250)
    got = cmd(c, "RCPT TO:<user@example.net>", 450)
    assert "host.unserved.invalid" in got, got
    c.quit()
    # the trusted network skips the checks (swaks from 127.0.0.2)
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{gw.port}",
                        "--local-interface", "127.0.0.2", "--from",
                        "x@nx.dom.test", "--to", "user@elsewhere.org",
                        "--quit-after", "RCPT"], capture_output=True,
                       text=True, timeout=60)
    assert re.search(r"<-\s+250 2\.1\.5", r.stdout), r.stdout


BRIDGE = r'''
import os, socket, sys
port, argv = int(sys.argv[1]), sys.argv[2:]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
import signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        s.close(); os.dup2(c.fileno(), 0); os.dup2(c.fileno(), 1)
        os.execv(argv[0], argv)
    c.close()
'''


class Proc:
    def __init__(self, argv, log, **kw):
        self.log = open(log, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  start_new_session=True, **kw)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            kill_pid(self.p.pid)
        self.log.close()


def listening_tcp(port):
    try:
        socket_ = __import__("socket").create_connection(("127.0.0.1", port), 1)
        socket_.close()
        return True
    except OSError:
        return False


def test_greylisting_round_trip(dnsgw, tmp_path):
    """postgrey: the first try of a triplet is deferred with postgrey's
    text, a retry after the delay passes and carries postgrey's
    X-Greylist header."""
    port = free_port()
    # postgrey drops to its own user: its directory must be reachable
    db = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-pg-", dir="/tmp"))
    os.chmod(db, 0o755)
    subprocess.run(["chown", "postgrey", str(db)], check=True)
    pg = Proc(["/usr/sbin/postgrey", f"--inet=127.0.0.1:{port}",
               f"--dbdir={db}", "--delay=2", "--max-age=35",
               "--user=postgrey", "--group=postgrey",
               f"--pidfile={db}/pg.pid"], tmp_path / "postgrey.log")
    try:
        wait_until(lambda: listening_tcp(port), 30, "postgrey")
        gw, sink = dnsgw(smtpd_recipient_restrictions="reject_unauth_destination, "
                                                      f"check_policy_service inet:127.0.0.1:{port}")
        gw.start()
        c = conn(gw)
        cmd(c, "MAIL FROM:<a@good.dom.test>", 250)
        cmd(c, "RCPT TO:<u@example.net>", 450,
            "<u@example.net>: Recipient address rejected: Greylisted, see "
            "http://postgrey.schweikert.ch/help/example.net.html")
        c.quit()
        time.sleep(3.5)
        c = conn(gw)
        code, text = c.send("a@good.dom.test", ["u@example.net"],
                            b"Subject: grey\r\nMessage-ID: <g@x>\r\n\r\nb\r\n")
        assert code == 250, text
        c.quit()
        raw = sink.wait_count(1, 30)[0].raw  # a complete dump file
        assert re.search(rb"\nX-Greylist: delayed \d+ seconds by postgrey-",
                         raw), raw[:600]
        gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 450 "
                    r"4\.\d\.\d <u@example\.net>: Recipient address rejected: "
                    r"Greylisted")
    finally:
        pg.stop()
        shutil.rmtree(db, ignore_errors=True)


def test_spf_fail_through_policyd_spf(dnsgw, nsd, tmp_path):
    """policyd-spf (spawned per connection, as Postfix's spawn(8) would)
    looks the sender's SPF record up in nsd and the gateway refuses with
    its 550 5.7.23 text."""
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "spf.conf"
    conf.write_text("debugLevel = 1\nTestOnly = 1\nHELO_reject = Fail\n"
                    "Mail_From_reject = Fail\nPermError_reject = False\n"
                    "TempError_Defer = False\n"
                    "skip_addresses = 203.0.113.255/32\n")
    rc = nsd.resolv_conf(tmp_path / "resolv.conf")
    bridge = tmp_path / "bridge.py"
    bridge.write_text(BRIDGE)
    port = free_port()
    # policyd-spf reads /etc/resolv.conf: give it nsd in a mount
    # namespace of its own (the network is the host's loopback)
    sp = Proc(["unshare", "--mount", "sh", "-c",
               f"mount --bind {rc} /etc/resolv.conf && exec /usr/bin/python3 "
               f"{bridge} {port} /usr/bin/policyd-spf {conf}"],
              tmp_path / "spf.log")
    try:
        wait_until(lambda: listening_tcp(port), 30, "policyd-spf bridge")
        gw, _ = dnsgw(smtpd_recipient_restrictions="reject_unauth_destination, "
                                                   f"check_policy_service inet:127.0.0.1:{port}")
        gw.start()
        c = conn(gw, helo="client.dom.test")
        cmd(c, "MAIL FROM:<a@spf.dom.test>", 250)
        cmd(c, "RCPT TO:<u@example.net>", 550,
            "5.7.23 <u@example.net>: Recipient address rejected: Message "
            "rejected due to: SPF fail - not authorized")
        cmd(c, "RSET", 250)
        cmd(c, "MAIL FROM:<a@good.dom.test>", 250)  # no SPF record: none
        cmd(c, "RCPT TO:<u@example.net>", 250)
        c.quit()
    finally:
        sp.stop()


CAPTURE = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
out = open(sys.argv[2], "a")
while True:
    c, _ = s.accept()
    out.write("CONNECT\n"); out.flush()
    f = c.makefile("rwb")
    while True:
        req = []
        while True:
            line = f.readline()
            if not line or line == b"\n":
                break
            req.append(line.decode().rstrip("\n"))
        if not req:
            break
        out.write("|".join(req) + "\n"); out.flush()
        f.write(b"action=DUNNO\n\n"); f.flush()
    c.close()
'''

ATTRS_37 = ["request", "protocol_state", "protocol_name", "client_address",
            "client_name", "client_port", "reverse_client_name",
            "server_address", "server_port", "helo_name", "sender",
            "recipient", "recipient_count", "queue_id", "instance", "size",
            "etrn_domain", "stress", "sasl_method", "sasl_username",
            "sasl_sender", "ccert_subject", "ccert_issuer",
            "ccert_fingerprint", "ccert_pubkey_fingerprint",
            "encryption_protocol", "encryption_cipher",
            "encryption_keysize", "policy_context"]


def test_policy_protocol_and_failures(dnsgw, tmp_path):
    """Every attribute Postfix 3.7 sends, in its order, one connection
    reused for all requests; a server that is down gives
    smtpd_policy_service_default_action."""
    port = free_port()
    reqs = tmp_path / "requests"
    script = tmp_path / "capture.py"
    script.write_text(CAPTURE)
    cap = Proc([sys.executable, str(script), str(port), str(reqs)],
               tmp_path / "capture.log")
    try:
        wait_until(lambda: listening_tcp(port), 30, "capture server")
        gw, _ = dnsgw(smtpd_recipient_restrictions="reject_unauth_destination, "
                                                   f"check_policy_service inet:127.0.0.1:{port}",
                      smtpd_data_restrictions=f"check_policy_service inet:127.0.0.1:{port}")
        gw.start()
        c = conn(gw)
        code, text = c.send("a@good.dom.test", ["u@example.net", "v@example.net"],
                            b"Subject: p\r\nMessage-ID: <p@x>\r\n\r\nb\r\n")
        assert code == 250, text
        c.quit()
        wait_until(lambda: reqs.exists() and
                   len(reqs.read_text().splitlines()) >= 5, 30, "3 requests")
        lines = reqs.read_text().splitlines()
        # one connection for the three requests (reuse); the first
        # CONNECT is the readiness probe's
        assert lines[:2] == ["CONNECT", "CONNECT"], lines
        assert "CONNECT" not in lines[2:], lines
        lines = lines[2:]
        for line in lines:
            names = [kv.split("=", 1)[0] for kv in line.split("|")]
            assert names == ATTRS_37, names
        first = dict(kv.split("=", 1) for kv in lines[0].split("|"))
        assert first["protocol_state"] == "RCPT"
        assert first["client_address"] == "127.0.0.1"
        assert first["helo_name"] == "client.test"
        assert first["sender"] == "a@good.dom.test"
        assert first["recipient"] == "u@example.net"
        data = dict(kv.split("=", 1) for kv in lines[2].split("|"))
        assert data["protocol_state"] == "DATA"
        assert data["recipient_count"] == "2"
    finally:
        cap.stop()
    # the server is gone: after smtpd_policy_service_try_limit tries,
    # smtpd_policy_service_default_action
    gw.stop()
    gw.set(smtpd_policy_service_try_limit="2",
           smtpd_policy_service_retry_delay="1s")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@good.dom.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 451,
        "4.3.5 <u@example.net>: Recipient address rejected: Server "
        "configuration problem")
    c.quit()
    gw.wait_log(r"warning: problem talking to server 127\.0\.0\.1:%d: "
                r"Connection refused" % port)
    gw.stop()
    gw.set(smtpd_policy_service_default_action="DUNNO")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@good.dom.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 250)
    c.quit()


# RESTRICTION_CLASS_README (Postfix 3.7), "Postfix restriction classes",
# copied as it stands; only the table's path is this test's.
DOC_BLOCK = """
smtpd_restriction_classes = restrictive, permissive
# With Postfix < 2.3 specify reject_unknown_client.
restrictive = reject_unknown_sender_domain reject_unknown_client_hostname
permissive = permit

smtpd_recipient_restrictions =
    permit_mynetworks
    # reject_unauth_destination is not needed here if the mail
    # relay policy is specified with smtpd_relay_restrictions
    # (available with Postfix 2.10 and later).
    reject_unauth_destination
    check_recipient_access hash:{table}
"""


def test_postfix_documentation_block(dnsgw):
    """A restriction block from Postfix's documentation works unchanged:
    joe gets everything (permissive), jane only mail from senders with a
    DNS domain and clients with a hostname (restrictive)."""
    gw, _ = dnsgw()
    table = gw.dir / "recipient_access"
    table.write_text("joe@example.net       permissive\n"
                     "jane@example.net      restrictive\n")
    r = gw.cmd("postmap", f"hash:{table}")
    assert r.rc == 0, r
    gw.write_config()
    with open(gw.dir / "main.cf", "a") as f:
        f.write(DOC_BLOCK.format(table=table))
    r = gw.cmd("postconf", "-n")
    assert r.rc == 0 and "unused parameter" not in r.out + r.err, r
    gw.start()
    # from an address the hosts file does not name (127.0.0.1 is there)
    c = conn(gw, source="127.0.0.7")
    cmd(c, "MAIL FROM:<a@nx.dom.test>", 250)
    cmd(c, "RCPT TO:<joe@example.net>", 250)
    cmd(c, "RCPT TO:<jane@example.net>", 450,
        "4.1.8 <a@nx.dom.test>: Sender address rejected: Domain not found")
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<a@good.dom.test>", 250)
    # 127.0.0.7 has no name in this DNS
    cmd(c, "RCPT TO:<jane@example.net>", 450,
        "4.7.25 Client host rejected: cannot find your hostname, "
        "[127.0.0.7]")
    cmd(c, "RCPT TO:<joe@example.net>", 250)
    cmd(c, "RCPT TO:<other@example.net>", 250)
    c.quit()


UNIX_SERVER = r'''
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.bind(path); os.chmod(path, 0o666)
s.listen(4)
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    while True:
        line = f.readline()
        if not line:
            break
        if line == b"\n":
            f.write(b"action=REJECT over the unix socket\n\n"); f.flush()
    c.close()
'''


def test_policy_unix_socket(dnsgw, tmp_path):
    """check_policy_service unix:private/NAME is a socket under
    queue_directory, as in Postfix."""
    gw, _ = dnsgw(smtpd_recipient_restrictions="reject_unauth_destination, "
                                               "check_policy_service unix:private/testpolicy")
    gw.start()
    path = gw.queue / "private" / "testpolicy"
    path.parent.mkdir(mode=0o755, exist_ok=True)  # mailgw makes no private/
    script = tmp_path / "unix_server.py"
    script.write_text(UNIX_SERVER)
    srv = Proc([sys.executable, str(script), str(path)], tmp_path / "unix.log")
    try:
        wait_until(lambda: path.exists(), 30, "the policy socket")
        c = conn(gw)
        cmd(c, "MAIL FROM:<a@good.dom.test>", 250)
        cmd(c, "RCPT TO:<u@example.net>", 554,
            "5.7.1 <u@example.net>: Recipient address rejected: over the "
            "unix socket")
        c.quit()
    finally:
        srv.stop()
