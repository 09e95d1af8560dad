"""The client's host name, looked up at connect as Postfix's smtpd does
(PTR, then A of that name, verified when it lists the client address),
and the restrictions that read it: reject_unknown_client_hostname,
reject_unknown_reverse_client_hostname, check_client_access by name and
parent domains, check_reverse_client_hostname_access; the log's
"connect from name[addr]" and the Received header's "(name [addr])".

Debian's nsd serves 0.0.127.in-addr.arpa on a 127.53.x.y:53 of its own;
the client connects from 127.0.0.5 .. 127.0.0.9 by binding its source
address (all of 127/8 is loopback):

  127.0.0.5  PTR good.client.test, which has A 127.0.0.5   (verified)
  127.0.0.6  PTR forged.client.test, whose A is elsewhere  (reverse only)
  127.0.0.7  no PTR                                        (no name)
  127.0.0.8  PTR gone.client.test, which has no A          (reverse only)
  127.0.0.9  PTR "1.2.3.4", a numeric name                 (no name)

Each recipient below leads to one restriction class, so one session
shows what every restriction says about its client.
"""
import socket
import subprocess
import sys

import pytest

from peers import Nsd, SmtpConn, free_port, kill_pid, listening, wait_until

ZONES = {
    "0.0.127.in-addr.arpa": ("5 IN PTR good.client.test.\n"
                             "6 IN PTR forged.client.test.\n"
                             "8 IN PTR gone.client.test.\n"
                             "9 IN PTR 1.2.3.4.\n"),
    "client.test": ("good IN A 127.0.0.5\n"
                    "forged IN A 192.0.2.66\n"),
}

CLASSES = {
    "name": "reject_unknown_client_hostname",
    "rev": "reject_unknown_reverse_client_hostname",
    "acc": "check_client_access texthash:{dir}/client_access",
    "racc": "check_reverse_client_hostname_access "
            "texthash:{dir}/reverse_access",
    "ra": "check_reverse_client_a_access texthash:{dir}/reverse_a",
}


@pytest.fixture(scope="module")
def nsd():
    n = Nsd(ZONES).start().expect("5.0.0.127.in-addr.arpa", "PTR",
                                  "good.client.test.")
    yield n
    n.cleanup()


@pytest.fixture
def peergw(gateway, smtp_sink):
    """A gateway whose recipients <CLASS@example.net> each run one
    restriction class; unknown_client_reject_code 550 tells permanent
    failures (550) from temporary ones (450). dns: an Nsd, or None for
    the conftest's resolver that never answers."""
    def make(dns, rcpt_restrictions=None, **main_cf):
        sink = smtp_sink()
        params = dict(
            mynetworks="127.0.0.2/32",
            relay_domains="example.net",
            unknown_client_reject_code="550",
            smtpd_restriction_classes=", ".join(CLASSES),
            smtpd_relay_restrictions="permit_mynetworks, "
                                     "reject_unauth_destination")
        params.update(main_cf)
        gw = gateway(relay_to=sink.port, **params)
        for cls, spec in CLASSES.items():
            gw.params[cls] = spec.format(dir=gw.dir)
        (gw.dir / "client_access").write_text(
            "client.test REJECT name or parent domain matched\n"
            "127.0.0.7 REJECT address matched\n")
        (gw.dir / "reverse_access").write_text(
            "forged.client.test REJECT reverse name matched\n")
        (gw.dir / "reverse_a").write_text(
            "192.0.2.66 REJECT address of the reverse name matched\n")
        (gw.dir / "rcpt_access").write_text(
            "".join(f"{c}@example.net {c}\n" for c in CLASSES))
        gw.set(smtpd_recipient_restrictions=rcpt_restrictions or
               f"check_recipient_access texthash:{gw.dir}/rcpt_access")
        if dns is not None:
            gw.set(dns_resolv_conf=dns.resolv_conf(gw.dir / "resolv.conf",
                                               timeout=5, attempts=3))
        gw.start()
        return gw, sink
    return make


def rcpt_codes(gw, source):
    """{class: 'CODE text'} for one session from source."""
    c = SmtpConn(gw.port, source=source, helo="helo.client.test")
    out = {}
    code, _ = c.cmd("MAIL FROM:<s@sender.test>")
    assert code == 250
    for cls in CLASSES:
        code, lines = c.cmd(f"RCPT TO:<{cls}@example.net>")
        out[cls] = f"{code} {' '.join(lines)}"
    c.quit()
    return out


def expect(got, cls, code, text=None):
    assert got[cls].startswith(str(code)), f"{cls}: {got[cls]}"
    if text is not None:
        assert text in got[cls], f"{cls}: {got[cls]}"


def test_verified_name(peergw, nsd):
    """127.0.0.5's PTR name maps back to it: the name is in the log, in
    the Received header and in reject lines; both unknown-hostname
    restrictions pass; check_client_access matches the parent domain."""
    gw, sink = peergw(nsd)
    got = rcpt_codes(gw, "127.0.0.5")
    expect(got, "name", 250)
    expect(got, "rev", 250)
    expect(got, "acc", 554, "5.7.1 <good.client.test[127.0.0.5]>: Client "
           "host rejected: name or parent domain matched")
    expect(got, "racc", 250)
    expect(got, "ra", 250)
    gw.wait_log(r"smtpd\[\d+\]: connect from good\.client\.test"
                r"\[127\.0\.0\.5\]$")
    # (the queue ID once an earlier RCPT was accepted, as Postfix)
    gw.wait_log(r"\w+: reject: RCPT from good\.client\.test"
                r"\[127\.0\.0\.5\]: 554 5\.7\.1 <good\.client\.test"
                r"\[127\.0\.0\.5\]>: Client host rejected: name or parent "
                r"domain matched; from=<s@sender\.test> "
                r"to=<acc@example\.net> proto=ESMTP "
                r"helo=<helo\.client\.test>")
    # a message: Received names the helo, the verified name, the address
    c = SmtpConn(gw.port, source="127.0.0.5", helo="helo.client.test")
    code, text = c.send("s@sender.test", ["name@example.net"],
                        b"Subject: peer\r\n\r\nbody\r\n")
    assert code == 250, text
    c.quit()
    m = sink.wait_count(1)[0]
    assert b"Received: from helo.client.test (good.client.test " \
           b"[127.0.0.5])" in m.content, m.content[:400]
    gw.wait_log(r": client=good\.client\.test\[127\.0\.0\.5\]")


def test_unverified_and_missing_names(peergw, nsd):
    """A PTR name that does not map back is the reverse name only (the
    client name is unknown: 550 5.7.25 with unknown_client_reject_code
    550, the reverse checks see it); no PTR fails both checks
    permanently; a numeric PTR counts as none."""
    gw, _ = peergw(nsd)
    # forged: PTR forged.client.test, whose A is 192.0.2.66
    got = rcpt_codes(gw, "127.0.0.6")
    expect(got, "name", 550, "5.7.25 Client host rejected: cannot find "
           "your hostname, [127.0.0.6]")
    expect(got, "rev", 250)
    expect(got, "acc", 250)
    expect(got, "racc", 554, "5.7.1 <forged.client.test>: Unverified "
           "Client host rejected: reverse name matched")
    expect(got, "ra", 554, "5.7.1 <forged.client.test>: Unverified Client "
           "host rejected: address of the reverse name matched")
    gw.wait_log(r"warning: hostname forged\.client\.test does not resolve "
                r"to address 127\.0\.0\.6$")
    gw.wait_log(r"connect from unknown\[127\.0\.0\.6\]$")
    # gone: PTR gone.client.test, which does not exist
    got = rcpt_codes(gw, "127.0.0.8")
    expect(got, "name", 550, "5.7.25")
    expect(got, "rev", 250)
    gw.wait_log(r"warning: hostname gone\.client\.test does not resolve to "
                r"address 127\.0\.0\.8: Name or service not known")
    # no PTR at all
    got = rcpt_codes(gw, "127.0.0.7")
    expect(got, "name", 550, "5.7.25 Client host rejected: cannot find "
           "your hostname, [127.0.0.7]")
    expect(got, "rev", 550, "5.7.1 Client host rejected: cannot find your "
           "reverse hostname, [127.0.0.7]")
    expect(got, "acc", 554, "<unknown[127.0.0.7]>: Client host rejected: "
           "address matched")
    expect(got, "racc", 250)
    gw.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.7\]: 550 "
                r"5\.7\.1 Client host rejected: cannot find your reverse "
                r"hostname, \[127\.0\.0\.7\]; from=<s@sender\.test> "
                r"to=<rev@example\.net> proto=ESMTP "
                r"helo=<helo\.client\.test>")
    # numeric PTR
    got = rcpt_codes(gw, "127.0.0.9")
    expect(got, "name", 550, "5.7.25")
    expect(got, "rev", 550, "5.7.1")
    gw.wait_log(r"warning: numeric hostname: 1\.2\.3\.4$")
    gw.wait_log(r"connect from unknown\[127\.0\.0\.9\]$")


def test_no_answer_is_temporary(peergw):
    """A resolver that gives no answer: the names are unknown and both
    checks defer with 450, never 550."""
    gw, _ = peergw(None)
    got = rcpt_codes(gw, "127.0.0.5")
    expect(got, "name", 450, "4.7.25 Client host rejected: cannot find "
           "your hostname, [127.0.0.5]")
    expect(got, "rev", 450, "4.7.1 Client host rejected: cannot find your "
           "reverse hostname, [127.0.0.5]")
    gw.wait_log(r"connect from unknown\[127\.0\.0\.5\]$")


def test_peername_lookup_off(peergw, nsd):
    """smtpd_peername_lookup = no: no lookup, the client is unknown (a
    permanent status, as Postfix) even where the DNS has its name."""
    gw, _ = peergw(nsd, smtpd_peername_lookup="no")
    got = rcpt_codes(gw, "127.0.0.5")
    expect(got, "name", 550, "5.7.25")
    expect(got, "rev", 550, "5.7.1")
    expect(got, "acc", 250)
    gw.wait_log(r"connect from unknown\[127\.0\.0\.5\]$")


def test_unavailable_access_table(gateway):
    """An access table that does not open: Postfix's warnings naming the
    table and 451 4.3.5 Server configuration error for the request that
    needs it; the mail is not let through."""
    gw = gateway(mynetworks="127.0.0.2/32", relay_domains="example.net",
                 smtpd_peername_lookup="no")
    missing = gw.dir / "missing_access"
    gw.set(smtpd_client_restrictions=f"check_client_access lmdb:{missing}",
           smtpd_relay_restrictions="permit_mynetworks, "
                                    "reject_unauth_destination")
    gw.start()
    c = SmtpConn(gw.port)
    code, _ = c.cmd("MAIL FROM:<s@sender.test>")
    assert code == 250
    code, lines = c.cmd("RCPT TO:<u@example.net>")
    assert code == 451, lines
    assert "4.3.5 <unknown[127.0.0.1]>: Client host rejected: Server " \
           "configuration error" in " ".join(lines), lines
    c.quit()
    gw.wait_log(rf"warning: lmdb:{missing} is unavailable\. .*"
                rf"{missing}\.lmdb")
    gw.wait_log(rf'warning: lmdb:{missing} lookup error for "unknown"')
    gw.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 451 "
                r"4\.3\.5 <unknown\[127\.0\.0\.1\]>: Client host rejected: "
                r"Server configuration error;")


# A policy server that refuses every request and names the client in its
# reply, so the SMTP reply shows what smtpd sent it.
ECHO_POLICY = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    while True:
        attrs = {}
        while True:
            line = f.readline()
            if not line or line == b"\n":
                break
            k, _, v = line.decode().rstrip("\n").partition("=")
            attrs[k] = v
        if not attrs:
            break
        f.write(("action=REJECT client_name=%s reverse_client_name=%s\n\n"
                 % (attrs.get("client_name"),
                    attrs.get("reverse_client_name"))).encode())
        f.flush()
    c.close()
'''


def test_policy_attributes(peergw, nsd, tmp_path):
    """The policy service gets client_name (verified) and
    reverse_client_name (the PTR name even when not verified)."""
    port = free_port()
    script = tmp_path / "policy.py"
    script.write_text(ECHO_POLICY)
    log = open(tmp_path / "policy.log", "wb")
    p = subprocess.Popen([sys.executable, str(script), str(port)],
                         stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    log.close()
    try:
        wait_until(lambda: listening(port), 30, "policy server")
        gw, _ = peergw(nsd, rcpt_restrictions="check_policy_service "
                                              f"inet:127.0.0.1:{port}")
        for source, name, rev in (("127.0.0.5", "good.client.test",
                                   "good.client.test"),
                                  ("127.0.0.6", "unknown",
                                   "forged.client.test"),
                                  ("127.0.0.7", "unknown", "unknown")):
            c = SmtpConn(gw.port, source=source)
            code, _ = c.cmd("MAIL FROM:<s@sender.test>")
            assert code == 250
            code, lines = c.cmd("RCPT TO:<u@example.net>")
            c.quit()
            text = " ".join(lines)
            assert code == 554, text
            assert f"client_name={name} reverse_client_name={rev}" in text, \
                text
    finally:
        kill_pid(p.pid)


# A DNS server that holds back its answer for 5.0.0.127.in-addr.arpa
# until the file RELEASE exists; everything else is answered at once (PTR
# of 127.0.0.1: NXDOMAIN; A of good.client.test: 127.0.0.5). It notes
# each question in LOG, so the test waits for the question, not a time.
HOLD_DNS = r'''
import os, select, socket, struct, sys
addr, release, log = sys.argv[1:4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 53))
with open(log, "a") as f:
    f.write("ready\n")
held = []

def question(pkt):
    i, labels = 12, []
    while pkt[i]:
        labels.append(pkt[i + 1:i + 1 + pkt[i]].decode().lower())
        i += 1 + pkt[i]
    qtype = struct.unpack(">H", pkt[i + 1:i + 3])[0]
    return ".".join(labels), qtype, i + 5

def reply(pkt, peer):
    name, qtype, end = question(pkt)
    rr = b""
    if name == "5.0.0.127.in-addr.arpa" and qtype == 12:
        target = b"".join(bytes([len(l)]) + l.encode()
                          for l in "good.client.test".split(".")) + b"\0"
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 60, len(target)) \
            + target
    elif name == "good.client.test" and qtype == 1:
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) \
            + bytes([127, 0, 0, 5])
    flags = 0x8400 | (0 if rr else 3)
    hdr = pkt[:2] + struct.pack(">HHHHH", flags, 1, 1 if rr else 0, 0, 0)
    s.sendto(hdr + pkt[12:end] + rr, peer)

while True:
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        pkt, peer = s.recvfrom(4096)
        name, qtype, _ = question(pkt)
        with open(log, "a") as f:
            f.write(f"{name} {qtype}\n")
        if name == "5.0.0.127.in-addr.arpa" and not os.path.exists(release):
            held.append((pkt, peer))
        else:
            reply(pkt, peer)
    if held and os.path.exists(release):
        for pkt, peer in held:
            reply(pkt, peer)
        held = []
'''


def test_lookup_does_not_block_other_sessions(gateway, smtp_sink, tmp_path):
    """While one client's PTR answer is held back, its banner waits, and
    another client is served and relays a message meanwhile; when the
    answer comes, the first client gets its banner and its name."""
    addr = Nsd._free_addr()
    release, qlog = tmp_path / "release", tmp_path / "questions"
    script = tmp_path / "holddns.py"
    script.write_text(HOLD_DNS)
    out = open(tmp_path / "holddns.out", "wb")
    p = subprocess.Popen([sys.executable, str(script), addr, str(release),
                          str(qlog)], stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    out.close()
    try:
        wait_until(lambda: qlog.exists() or p.poll() is not None, 30,
                   "the DNS server to listen")
        assert p.poll() is None, (tmp_path / "holddns.out").read_text()
        sink = smtp_sink()
        gw = gateway(relay_to=sink.port, mynetworks="127.0.0.0/8")
        (gw.dir / "resolv.conf").write_text(
            f"nameserver {addr}\noptions timeout:30 attempts:1\n")
        gw.start()
        held = socket.create_connection(("127.0.0.1", gw.port), timeout=60,
                                        source_address=("127.0.0.5", 0))
        wait_until(lambda: qlog.exists() and "5.0.0.127.in-addr.arpa 12"
                   in qlog.read_text(), 30, "the held PTR question")
        # 127.0.0.7's question goes to the DNS server (no hosts entry)
        c = SmtpConn(gw.port, source="127.0.0.7")
        code, text = c.send("s@sender.test", ["u@example.net"],
                            b"Subject: meanwhile\r\n\r\nbody\r\n")
        assert code == 250, text
        c.quit()
        gw.wait_log(r"connect from unknown\[127\.0\.0\.7\]$")
        assert "7.0.0.127.in-addr.arpa 12" in qlog.read_text()
        held.setblocking(False)
        with pytest.raises(BlockingIOError):
            held.recv(1)  # no banner while the answer is held
        held.setblocking(True)
        release.write_text("")
        f = held.makefile("rb")
        assert f.readline().startswith(b"220 "), "banner after the answer"
        held.sendall(b"QUIT\r\n")
        f.readline()
        held.close()
        gw.wait_log(r"connect from good\.client\.test\[127\.0\.0\.5\]$")
        log = gw.log_text()
        assert log.index("connect from unknown[127.0.0.7]") < \
            log.index("connect from good.client.test[127.0.0.5]"), log
        sink.wait_count(1)
    finally:
        kill_pid(p.pid)
