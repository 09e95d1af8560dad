"""smtpd restrictions with Postfix's semantics: the flow between stages,
access-table results, warn_if_reject, defer_if_permit, restriction
classes, reject_multi_recipient_bounce, smtpd_delay_reject = no, and the
log lines pflogsumm and fail2ban's postfix filter read.

The client is 127.0.0.1 and mynetworks is 127.0.0.2/32, so the client is
untrusted. MAILGW_REFERENCE=postfix runs the same tests against a real
Postfix 3.7 to check that they encode Postfix's behaviour.
"""
import re
import subprocess

import pytest

from peers import PFLOGSUMM, SmtpConn, listening, wait_until


def conn(gw, helo="client.test"):
    return SmtpConn(gw.port, helo=helo)


def cmd(c, line, code, text=None):
    got, lines = c.cmd(line)
    joined = " ".join(lines)
    assert got == code, f"{line}: {got} {joined}"
    if text is not None:
        assert text in joined, f"{line}: {got} {joined}"
    return joined


def write(gw, name, text):
    p = gw.dir / name
    p.write_text(text)
    return f"texthash:{p}"


@pytest.fixture
def restricted(gateway, smtp_sink):
    def make(**main_cf):
        sink = smtp_sink()
        params = dict(mynetworks="127.0.0.2/32",
                      relay_domains="example.net, relay.test",
                      smtpd_relay_restrictions="permit_mynetworks, "
                                               "reject_unauth_destination")
        params.update(main_cf)
        gw = gateway(relay_to=sink.port, **params)
        return gw, sink
    return make


def test_helo_access_own_name_and_warn_if_reject(restricted):
    """A client claiming our own name is refused by check_helo_access (as
    SMTPD_ACCESS_README suggests); warn_if_reject in front of a restriction
    turns its reject into a reject_warning log line."""
    gw, _ = restricted()
    helo = write(gw, "helo_access",
                 "mx.test.example REJECT You are not me\n"
                 "localhost 550 5.7.1 Don't use my own hostname\n")
    gw.set(smtpd_helo_restrictions=f"check_helo_access {helo}",
           smtpd_sender_restrictions="warn_if_reject reject_non_fqdn_sender, "
                                     "warn_if_reject reject_unlisted_sender")
    gw.start()
    c = conn(gw, helo="mx.test.example")
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 554,
        "5.7.1 <mx.test.example>: Helo command rejected: You are not me")
    c.quit()
    c = conn(gw, helo="localhost")
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 550,
        "5.7.1 <localhost>: Helo command rejected: Don't use my own hostname")
    c.quit()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@nodot>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 250)
    c.quit()
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"<mx\.test\.example>: Helo command rejected: You are not me; "
                r"from=<a@sender\.test> to=<u@example\.net> proto=ESMTP "
                r"helo=<mx\.test\.example>")
    gw.wait_log(r"NOQUEUE: reject_warning: RCPT from \S+\[127\.0\.0\.1\]: 504 "
                r"5\.5\.2 <a@nodot>: Sender address rejected: need "
                r"fully-qualified address; from=<a@nodot> to=<u@example\.net> "
                r"proto=ESMTP helo=<client\.test>")


def test_access_results(restricted):
    """Each access(5) result with Postfix's meaning and lookup order."""
    gw, sink = restricted()
    rcpt = write(gw, "rcpt_access",
                 "ok@example.net OK\n"
                 "no@example.net REJECT Go away\n"
                 "later@example.net DEFER Try later\n"
                 "code@example.net 551 5.7.1 Custom code\n"
                 "dunno@example.net DUNNO\n"
                 "sub.example.net REJECT parent domain\n"
                 "class@example.net only_ok_senders\n"
                 "list@example.net reject_non_fqdn_sender, permit\n"
                 "warn@example.net WARN watch this\n"
                 "hold@example.net HOLD\n"
                 "user@ REJECT local part\n"
                 "prepend@example.net PREPEND X-Access: prepended\n"
                 "discard@example.net DISCARD\n")
    senders = write(gw, "senders", "good@sender.test OK\n")
    gw.set(smtpd_restriction_classes="only_ok_senders",
           only_ok_senders=f"check_sender_access {senders}, reject",
           smtpd_recipient_restrictions=f"check_recipient_access {rcpt}")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<bad@sender.test>", 250)
    cmd(c, "RCPT TO:<ok@example.net>", 250)
    cmd(c, "RCPT TO:<no@example.net>", 554,
        "5.7.1 <no@example.net>: Recipient address rejected: Go away")
    cmd(c, "RCPT TO:<later@example.net>", 450,
        "4.7.1 <later@example.net>: Recipient address rejected: Try later")
    cmd(c, "RCPT TO:<code@example.net>", 551,
        "5.7.1 <code@example.net>: Recipient address rejected: Custom code")
    cmd(c, "RCPT TO:<dunno@example.net>", 250)
    cmd(c, "RCPT TO:<x@a.sub.example.net>", 554,
        "<x@a.sub.example.net>: Recipient address rejected: parent domain")
    cmd(c, "RCPT TO:<class@example.net>", 554,
        "5.7.1 <class@example.net>: Recipient address rejected: Access denied")
    cmd(c, "RCPT TO:<user@example.net>", 554, "local part")
    cmd(c, "RCPT TO:<warn@example.net>", 250)
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<good@sender.test>", 250)
    cmd(c, "RCPT TO:<class@example.net>", 250)
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<x@nodot>", 250)
    cmd(c, "RCPT TO:<list@example.net>", 504,
        "<x@nodot>: Sender address rejected: need fully-qualified address")
    cmd(c, "RSET", 250)
    code, text = c.send("p@sender.test", ["prepend@example.net"],
                        b"Subject: prepend\r\nMessage-ID: <pre@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    code, text = c.send("d@sender.test", ["discard@example.net"],
                        b"Subject: discard\r\nMessage-ID: <dis@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    c.quit()
    msgs = sink.wait_count(1, 30)  # complete dump files, not just begun
    assert len(msgs) == 1, [m.content[:200] for m in msgs]
    assert b"\nX-Access: prepended\n" in msgs[0].raw, msgs[0].raw[:600]
    gw.wait_log(r"\w+: warn: RCPT from \S+\[127\.0\.0\.1\]: "
                r"watch this; from=<bad@sender\.test> to=<warn@example\.net>")
    gw.wait_log(r"\w+: discard: RCPT from \S+\[127\.0\.0\.1\]: "
                r"<discard@example\.net>: Recipient address triggers DISCARD "
                r"action; from=<d@sender\.test> to=<discard@example\.net>")


def test_multi_recipient_bounce(restricted):
    """reject_multi_recipient_bounce at RCPT and at DATA (MAIL FROM:<>)."""
    gw, _ = restricted(smtpd_recipient_restrictions="reject_multi_recipient_bounce",
                       smtpd_data_restrictions="reject_multi_recipient_bounce")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<>", 250)
    cmd(c, "RCPT TO:<a@example.net>", 250)
    cmd(c, "RCPT TO:<b@example.net>", 550,
        "5.5.3 <b@example.net>: Recipient address rejected: Multi-recipient "
        "bounce")
    cmd(c, "QUIT", 221)
    c.close()
    gw.stop()
    gw.set(smtpd_recipient_restrictions="")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<>", 250)
    cmd(c, "RCPT TO:<a@example.net>", 250)
    cmd(c, "RCPT TO:<b@example.net>", 250)
    cmd(c, "DATA", 550,
        "5.5.3 <DATA>: Data command rejected: Multi-recipient bounce")
    c.quit()
    # the queue file opened at the first accepted RCPT: the queue ID
    gw.wait_log(r"(?!NOQUEUE)[0-9A-Za-z]+: reject: DATA from \S+\[127\.0\.0\.1\]: 550 5\.5\.3 "
                r"<DATA>: Data command rejected: Multi-recipient bounce; "
                r"from=<> proto=ESMTP helo=<client\.test>")


def test_defer_if_permit_and_classes(restricted):
    """defer_if_permit in an early stage defers what a later stage permits;
    a later reject wins over it."""
    gw, _ = restricted(smtpd_client_restrictions="defer_if_permit",
                       smtpd_recipient_restrictions="check_recipient_access "
                                                    "inline:{ {no@example.net = REJECT} }")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<u@example.net>", 450,
        "[127.0.0.1]>: Client host rejected: defer_if_permit requested")
    cmd(c, "RCPT TO:<no@example.net>", 554,
        "<no@example.net>: Recipient address rejected: Access denied")
    c.quit()


def test_delay_reject_no(restricted):
    """smtpd_delay_reject = no: the client restrictions decide at the
    connection (the reject replaces the banner, later commands but QUIT get
    503), the sender's at MAIL."""
    gw, _ = restricted(smtpd_delay_reject="no",
                       smtpd_client_restrictions="check_client_access "
                                                 "inline:{ {127.0.0.1 = REJECT} }")
    gw.start()
    import socket
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    f = s.makefile("rb")
    first = f.readline().decode()
    assert re.match(r"554 5\.7\.1 <\S+\[127\.0\.0\.1\]>: Client host "
                    r"rejected: Access denied", first), first
    s.sendall(b"EHLO client.test\r\n")
    line = f.readline().decode()
    assert re.match(r"503 5\.7\.0 Error: access denied for "
                    r"\S+\[127\.0\.0\.1\]", line), line
    s.sendall(b"QUIT\r\n")
    assert f.readline().decode().startswith("221 ")
    s.close()
    gw.wait_log(r"NOQUEUE: reject: CONNECT from \S+\[127\.0\.0\.1\]: 554 "
                r"5\.7\.1 <\S+\[127\.0\.0\.1\]>: Client host rejected: "
                r"Access denied; proto=SMTP")
    gw.stop()
    gw.set(smtpd_client_restrictions="",
           smtpd_sender_restrictions="reject_non_fqdn_sender")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<x@nodot>", 504,
        "<x@nodot>: Sender address rejected: need fully-qualified address")
    c.quit()


def test_log_readers(restricted):
    """pflogsumm's reject report and fail2ban's postfix filter read the
    reject lines (fail2ban matches the ones its filter names: relay access
    denied, unknown users, non-FQDN HELO; not a plain "Access denied")."""
    gw, _ = restricted(smtpd_helo_restrictions="reject_non_fqdn_helo_hostname",
                       relay_recipient_maps="inline:{ {known@example.net = x} }",
                       smtpd_recipient_restrictions="check_recipient_access "
                                                    "inline:{ {no@example.net = REJECT} }")
    gw.start()
    c = conn(gw, helo="nodot")
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<known@example.net>", 504,
        "<nodot>: Helo command rejected: need fully-qualified hostname")
    c.quit()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<x@elsewhere.org>", 554, "Relay access denied")
    cmd(c, "RCPT TO:<y@elsewhere.org>", 554, "Relay access denied")
    cmd(c, "RCPT TO:<unknown@example.net>", 550,
        "5.1.1 <unknown@example.net>: Recipient address rejected: User "
        "unknown in relay recipient table")
    cmd(c, "RCPT TO:<no@example.net>", 554, "Access denied")
    cmd(c, "RCPT TO:<known@example.net>", 250)
    c.quit()
    gw.wait_log(r"NOQUEUE: reject: RCPT", count=5)
    r = subprocess.run(["perl", PFLOGSUMM, "--syslog-name=mailgw",
                        str(gw.maillog)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^\s*(\d+)\s+rejected\b", r.stdout, re.M)
    assert m and int(m.group(1)) == 5, r.stdout[:3000]
    detail = r.stdout[r.stdout.index("message reject detail"):]
    for want in ("Relay access denied", "need fully-qualified hostname",
                 "User unknown in relay recipient table"):
        assert want in detail, detail[:3000]
    # fail2ban-regex LOG FILTER, with Postfix's syslog name
    log = gw.log_text().replace(" mailgw/", " postfix/")
    lp = gw.dir / "f2b.log"
    lp.write_text(log)
    r = subprocess.run(["fail2ban-regex", "--print-all-matched", str(lp),
                        "/etc/fail2ban/filter.d/postfix.conf"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Failregex: (\d+) total", r.stdout)
    assert m and int(m.group(1)) == 4, r.stdout[-3000:]
    assert "127.0.0.1" in r.stdout, r.stdout[-3000:]


def test_rate_limits(restricted):
    """Postfix's anvil limits, built in: connections, messages (MAIL),
    recipients and new TLS sessions per client per anvil_rate_time_unit,
    each refused as Postfix does with its warning; a client in
    smtpd_client_event_limit_exceptions is not limited."""
    import socket
    import ssl
    gw, _ = restricted(anvil_rate_time_unit="60s",
                       smtpd_client_connection_rate_limit="5",
                       smtpd_client_message_rate_limit="2",
                       smtpd_client_recipient_rate_limit="3",
                       smtpd_client_new_tls_session_rate_limit="1",
                       smtpd_client_event_limit_exceptions="127.0.0.9",
                       smtpd_tls_security_level="may")
    gw.start()
    c = conn(gw)                                          # connection 1
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    for i in range(3):
        cmd(c, f"RCPT TO:<u{i}@example.net>", 250)
    cmd(c, "RCPT TO:<u3@example.net>", 450,
        "4.7.1 Error: too many recipients from 127.0.0.1")
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<b@sender.test>", 250)
    cmd(c, "RSET", 250)
    cmd(c, "MAIL FROM:<c@sender.test>", 450,
        "4.7.1 Error: too much mail from 127.0.0.1")
    c.quit()
    gw.wait_log(r"warning: Recipient address rate limit exceeded: 4 from "
                r"\S+\[127\.0\.0\.1\] for service \S+")
    gw.wait_log(r"warning: Message delivery request rate limit exceeded: 3 "
                r"from \S+\[127\.0\.0\.1\] for service \S+")

    def starttls(over=False):                        # connections 2-4
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        s.sendall(b"EHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"STARTTLS\r\n")
        line = f.readline().decode()
        after = None
        if line.startswith("220"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            t = ctx.wrap_socket(s, server_hostname="mx.test.example")
            tf = t.makefile("rb")
            if not over:    # the session goes on
                t.sendall(b"NOOP\r\n")
            # over the limit: the server says 421 unasked and closes
            after = tf.readline().decode()
            tf.close()
            t.close()
        else:
            s.close()
        return line, after
    line, after = starttls()
    assert line.startswith("220 2.0.0 Ready to start TLS"), line
    assert after.startswith("250 "), after
    # the session that goes over the limit ends after its handshake, the
    # next STARTTLS is refused before it (Postfix's smtpd_start_tls and
    # starttls_cmd)
    line, after = starttls(over=True)
    assert line.startswith("220 2.0.0 Ready to start TLS"), line
    assert re.match(r"421 4\.7\.0 mx\.test\.example Error: too many new TLS "
                    r"sessions from \S+\[127\.0\.0\.1\]", after), after
    gw.wait_log(r"warning: New TLS session rate limit exceeded: 2 from "
                r"\S+\[127\.0\.0\.1\] for service \S+")
    line, _ = starttls()
    assert re.match(r"454 4\.7\.0 Error: too many new TLS sessions from "
                    r"\S+\[127\.0\.0\.1\]", line), line
    gw.wait_log(r"warning: Refusing STARTTLS request from "
                r"\S+\[127\.0\.0\.1\] for service \S+")
    c = conn(gw)                                          # connection 5
    c.quit()
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    line = s.makefile("rb").readline().decode()           # connection 6
    s.close()
    assert line.startswith("421 4.7.0 mx.test.example Error: too many "
                           "connections from 127.0.0.1"), line
    gw.wait_log(r"warning: Connection rate limit exceeded: 6 from "
                r"\S+\[127\.0\.0\.1\] for service \S+")
    # the exception list: 127.0.0.9 is never limited
    for i in range(6):
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=30,
                                     source_address=("127.0.0.9", 0))
        assert s.makefile("rb").readline().startswith(b"220 "), i
        s.sendall(b"QUIT\r\n")
        s.close()


def test_recipient_delimiter(restricted):
    """recipient_delimiter in access lookups (access(5) "EMAIL ADDRESS
    EXTENSION": user+foo@domain, user@domain, domain, user+foo@, user@) and
    in relay_recipient_maps (user+foo@domain, user@domain, @domain)."""
    gw, sink = restricted(recipient_delimiter="+",
                          relay_recipient_maps="inline:{ {known@example.net = x}, "
                                               "{blocked@example.net = x}, "
                                               "{@relay.test = x} }")
    rcpt = write(gw, "rcpt_access",
                 "blocked@example.net REJECT base address\n"
                 "blocked+ok@example.net OK\n"
                 "local@ REJECT local part\n")
    gw.set(smtpd_recipient_restrictions=f"check_recipient_access {rcpt}")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<blocked+tag@example.net>", 554,
        "5.7.1 <blocked+tag@example.net>: Recipient address rejected: "
        "base address")
    cmd(c, "RCPT TO:<local+x@example.net>", 554,
        "<local+x@example.net>: Recipient address rejected: "
        "local part")
    cmd(c, "RCPT TO:<unknown+tag@example.net>", 550,
        "5.1.1 <unknown+tag@example.net>: Recipient address rejected: User "
        "unknown in relay recipient table")
    cmd(c, "RCPT TO:<anyone+x@relay.test>", 250)
    cmd(c, "RCPT TO:<blocked+ok@example.net>", 250)
    cmd(c, "RCPT TO:<known+tag@example.net>", 250)
    cmd(c, "DATA", 354)
    c.sock.sendall(b"Subject: ext\r\nMessage-ID: <ext@x>\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    c.quit()
    sink.wait_count(1)
    msgs = sink.messages()
    assert sorted(msgs[0].recipients) == ["anyone+x@relay.test",
                                          "blocked+ok@example.net",
                                          "known+tag@example.net"], msgs[0].raw[:400]


def test_hold_and_filter(restricted, smtp_sink):
    """HOLD puts the message in the hold queue (not delivered; mailq marks
    it with "!") until postsuper -H releases it; FILTER routes the whole
    message to transport:destination instead of its route (content_filter
    for that message, the last FILTER wins), here a second smtp-sink. Both
    are logged as Postfix logs them."""
    gw, sink = restricted()
    fsink = smtp_sink()
    rcpt = write(gw, "rcpt_access",
                 "held@example.net HOLD Quarantine\n"
                 f"filtered@example.net FILTER smtp:[127.0.0.1]:{fsink.port}\n"
                 "first@example.net FILTER smtp:[127.0.0.1]:9\n")
    gw.set(smtpd_recipient_restrictions=f"check_recipient_access {rcpt}")
    gw.start()
    c = conn(gw)
    code, text = c.send("a@sender.test", ["held@example.net",
                                          "filtered@example.net"],
                        b"Subject: held\r\nMessage-ID: <held@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    held = text.split()[-1]
    code, text = c.send("b@sender.test", ["first@example.net",
                                          "filtered@example.net"],
                        b"Subject: filtered\r\nMessage-ID: <filtered@x>\r\n\r\n"
                        b"body\r\n")
    assert code == 250, text
    code, text = c.send("c@sender.test", ["u@example.net"],
                        b"Subject: plain\r\nMessage-ID: <plain@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    c.quit()
    gw.wait_log(r"NOQUEUE: hold: RCPT from \S+\[127\.0\.0\.1\]: "
                r"<held@example\.net>: Recipient address Quarantine; "
                r"from=<a@sender\.test> to=<held@example\.net> proto=ESMTP "
                r"helo=<client\.test>")
    gw.wait_log(r"\w+: filter: RCPT from \S+\[127\.0\.0\.1\]: "
                r"<filtered@example\.net>: Recipient address triggers FILTER "
                rf"smtp:\[127\.0\.0\.1\]:{fsink.port}; from=<b@sender\.test> "
                r"to=<filtered@example\.net> proto=ESMTP helo=<client\.test>")
    # the later messages arrive; the held one stays in hold/
    fsink.wait_count(1)
    sink.wait_count(1)
    m = fsink.messages()[0]
    assert m.header("Subject") == "filtered", m.raw[:400]
    assert sorted(m.recipients) == ["filtered@example.net",
                                    "first@example.net"], m.raw[:400]
    assert sink.messages()[0].header("Subject") == "plain"
    wait_until(lambda: [p.name for p in gw.queue_files(["hold"])] == [held],
               30, "the held message in hold/")
    r = gw.cmd("mailq")
    assert r.rc == 0, r
    assert re.search(rf"^{held}!\s", r.out, re.M), r.out
    r = gw.cmd("postcat", "-q", held)
    assert r.rc == 0, r
    assert f"content_filter: smtp:[127.0.0.1]:{fsink.port}\n" in r.out, r.out
    assert fsink.count() == 1 and sink.count() == 1
    # released: delivered through its filter
    r = gw.cmd("postsuper", "-H", held)
    assert r.rc == 0, r
    fsink.wait_count(2)
    m = [m for m in fsink.messages() if m.header("Subject") == "held"]
    assert len(m) == 1, [x.raw[:200] for x in fsink.messages()]
    assert sorted(m[0].recipients) == ["filtered@example.net",
                                       "held@example.net"], m[0].raw[:400]
    gw.wait_queue_empty()
    assert sink.count() == 1


def test_prepend_every_stage(restricted):
    """PREPEND from the client, helo, sender, recipient and data
    restrictions is in the message (in that order, before our Received:);
    at end-of-data it comes too late: a warning, and no header."""
    gw, sink = restricted(
        smtpd_client_restrictions="check_client_access "
                                  "inline:{ {127.0.0.1 = PREPEND X-Client: c} }",
        smtpd_helo_restrictions="check_helo_access "
                                "inline:{ {client.test = PREPEND X-Helo: h} }",
        smtpd_sender_restrictions="check_sender_access "
                                  "inline:{ {a@sender.test = PREPEND X-Sender: s} }",
        smtpd_recipient_restrictions="check_recipient_access "
                                     "inline:{ {u@example.net = PREPEND X-Rcpt: r} }",
        smtpd_data_restrictions="check_sender_access "
                                "inline:{ {a@sender.test = PREPEND X-Data: d} }",
        smtpd_end_of_data_restrictions="check_sender_access "
                                       "inline:{ {a@sender.test = PREPEND X-Eod: e} }")
    gw.start()
    c = conn(gw)
    code, text = c.send("a@sender.test", ["u@example.net"],
                        b"Subject: prepend\r\nMessage-ID: <pre@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    c.quit()
    sink.wait_count(1)
    raw = sink.messages()[0].content
    want = [b"X-Client: c\n", b"X-Helo: h\n", b"X-Sender: s\n", b"X-Rcpt: r\n",
            b"X-Data: d\n", b"Received: "]
    at = [raw.find(w) for w in want]
    assert -1 not in at and at == sorted(at), raw[:800]
    assert b"X-Eod:" not in raw, raw[:800]
    gw.wait_log(r"warning: access table inline:\S.*: action PREPEND must be "
                r"used before smtpd_end_of_data_restrictions")


def test_queue_id_in_logs(restricted):
    """As Postfix (smtpd_delay_open_until_valid_rcpt = yes), the queue file
    opens at the first accepted RCPT: rejects before it log NOQUEUE, the
    ones after it the queue ID that "client=" and "queued as" name; after
    RSET a new transaction starts over with NOQUEUE."""
    gw, sink = restricted(smtpd_recipient_restrictions="check_recipient_access "
                                                       "inline:{ {no@example.net = REJECT} }")
    gw.start()
    c = conn(gw)
    cmd(c, "MAIL FROM:<a@sender.test>", 250)
    cmd(c, "RCPT TO:<no@example.net>", 554)
    cmd(c, "RCPT TO:<yes@example.net>", 250)
    cmd(c, "RCPT TO:<no@example.net>", 554)
    cmd(c, "RCPT TO:<x@elsewhere.org>", 554, "Relay access denied")
    cmd(c, "DATA", 354)
    c.sock.sendall(b"Subject: qid\r\nMessage-ID: <qid@x>\r\n\r\nbody\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    qid = lines[0].split()[-1]
    cmd(c, "MAIL FROM:<b@sender.test>", 250)
    cmd(c, "RCPT TO:<no@example.net>", 554)
    cmd(c, "RSET", 250)
    c.quit()
    sink.wait_count(1)
    tail = (r"; from=<a@sender\.test> to=<no@example\.net> proto=ESMTP "
            r"helo=<client\.test>")
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"<no@example\.net>: Recipient address rejected: Access "
                r"denied" + tail)
    gw.wait_log(rf"{qid}: client=\S+\[127\.0\.0\.1\]")
    gw.wait_log(rf"{qid}: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"<no@example\.net>: Recipient address rejected: Access "
                r"denied" + tail)
    gw.wait_log(rf"{qid}: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"<x@elsewhere\.org>: Relay access denied; "
                r"from=<a@sender\.test> to=<x@elsewhere\.org>")
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"<no@example\.net>: Recipient address rejected: Access "
                r"denied; from=<b@sender\.test>")
    assert len(gw.log_lines(r"NOQUEUE: reject: RCPT")) == 2, gw.log_text()[-3000:]
    assert len(gw.log_lines(rf"{qid}: reject: RCPT")) == 2, gw.log_text()[-3000:]


def test_rate_limit_per_service(restricted):
    """anvil counts per service and client, as Postfix's anvil(8) keys its
    counts by "service:address": two smtpd services of one master.cf do
    not share a client's connection rate (mailgw runs one smtpd process
    per service, so its in-process anvil is exactly that count)."""
    import socket
    from peers import free_port
    gw, _ = restricted(anvil_rate_time_unit="60s",
                       smtpd_client_connection_rate_limit="2")
    port2 = free_port()
    gw.master_cf = gw.default_master_cf() + \
        f"127.0.0.1:{port2} inet n - n - - smtpd\n"
    gw.write_config()
    gw.start()
    wait_until(lambda: listening(port2), 30, "the second smtpd service")

    def greeting(port):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = s.makefile("rb")
        line = f.readline().decode()
        if line.startswith("220"):
            s.sendall(b"QUIT\r\n")
            f.readline()
        f.close()
        s.close()
        return line
    for port in (gw.port, port2):
        assert greeting(port).startswith("220 "), port
        assert greeting(port).startswith("220 "), port
        line = greeting(port)
        assert line.startswith("421 4.7.0 mx.test.example Error: too many "
                               "connections from 127.0.0.1"), (port, line)
    gw.wait_log(r"warning: Connection rate limit exceeded: 3 from "
                r"\S+\[127\.0\.0\.1\] for service \S+", count=2)


def test_action_misuse_skipped(restricted):
    """Postfix skips, with a warning, an action that cannot take effect:
    FILTER without transport:destination, REDIRECT without an address,
    and with smtpd_delay_reject = no a HOLD in the client restrictions
    (they run outside a mail transaction). The mail is accepted and
    delivered as if the entry said DUNNO."""
    gw, sink = restricted(
        smtpd_delay_reject="no",
        smtpd_client_restrictions="check_client_access "
                                  "inline:{ {127.0.0.1 = HOLD} }")
    rcpt = write(gw, "rcpt_access",
                 "f@example.net FILTER nocolon\n"
                 "r@example.net REDIRECT nobody\n")
    gw.set(smtpd_recipient_restrictions=f"check_recipient_access {rcpt}")
    gw.start()
    c = conn(gw)
    code, text = c.send("a@sender.test", ["f@example.net", "r@example.net"],
                        b"Subject: skipped\r\nMessage-ID: <skip@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    c.quit()
    sink.wait_count(1)
    assert sorted(sink.messages()[0].recipients) == ["f@example.net",
                                                     "r@example.net"]
    gw.wait_log(r"warning: access table \S+ entry \"f@example\.net\" "
                r"requires transport:destination")
    gw.wait_log(r"warning: access table \S+ entry \"r@example\.net\" "
                r"requires user@domain target")
    gw.wait_log(r"warning: access table inline:.*: with smtpd_delay_reject=no, "
                r"action HOLD is always skipped in Client host or Helo "
                r"command restrictions")
    gw.wait_queue_empty()


def test_content_filter(restricted, smtp_sink):
    """content_filter = transport:destination sends mail from smtpd and
    from sendmail to the filter (a second smtp-sink here); a reinjection
    service with -o content_filter= delivers by the normal route."""
    from peers import free_port
    fsink = smtp_sink()
    gw, sink = restricted(content_filter=f"smtp:[127.0.0.1]:{fsink.port}")
    port2 = free_port()
    gw.master_cf = gw.default_master_cf() + \
        f"127.0.0.1:{port2} inet n - n - - smtpd\n  -o content_filter=\n"
    gw.write_config()
    gw.start()
    wait_until(lambda: listening(port2), 30, "the reinjection service")
    c = conn(gw)
    code, text = c.send("a@sender.test", ["u@example.net"],
                        b"Subject: smtpd\r\nMessage-ID: <cf1@x>\r\n\r\nbody\r\n")
    assert code == 250, text
    c.quit()
    r = gw.cmd("sendmail", "-f", "b@sender.test", "v@example.net",
               input="Subject: sendmail\nMessage-ID: <cf2@x>\n\nbody\n")
    assert r.rc == 0, r
    c = SmtpConn(port2, helo="filter.test")
    code, text = c.send("c@sender.test", ["w@example.net"],
                        b"Subject: reinjected\r\nMessage-ID: <cf3@x>\r\n\r\n"
                        b"body\r\n")
    assert code == 250, text
    c.quit()
    fsink.wait_count(2)
    sink.wait_count(1)
    assert sorted(m.header("Subject") for m in fsink.messages()) == \
        ["sendmail", "smtpd"]
    assert sink.messages()[0].header("Subject") == "reinjected"
    gw.wait_queue_empty()
