"""A real Postfix 3.7 instance (own directories, loopback) on both sides of
mailgw: Postfix relays to mailgw, mailgw relays to Postfix, and messages
pass through both to an smtp-sink; SMTPUTF8 reaches a Postfix that stores
it in a Maildir.
"""
import os
import pwd
import re

from peers import SmtpConn, smtp_source, swaks, wait_until


def _queued_as(postfix_log, rcpt):
    """The queue ID the next hop gave ("queued as X") in Postfix's
    delivery line for rcpt."""
    for line in postfix_log.splitlines():
        if f"to=<{rcpt}>" in line and "status=sent" in line:
            m = re.search(r"queued as (\w+)\)", line)
            return m.group(1) if m else None
    return None


def test_postfix_to_mailgw_to_sink(gateway, smtp_sink, postfix_peer):
    """swaks -> Postfix -> mailgw -> smtp-sink, 1 + 50 messages."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    pf = postfix_peer(relayhost=f"[127.0.0.1]:{gw.port}").start()
    r = swaks(pf.port, "--from", "alice@origin.test", "--to", "bob@example.net",
              "--header", "Subject: via postfix", "--header",
              "Message-Id: <pf2gw.1@origin.test>", "--body", "hello through both\n")
    assert r.returncode == 0, r.stdout
    (m,) = sink.wait_count(1, timeout=60)
    assert m.sender == "alice@origin.test" and m.recipients == ["bob@example.net"]
    assert m.header("Message-ID") == "<pf2gw.1@origin.test>"
    assert b"hello through both" in m.body
    received = m.headers("Received")
    assert len(received) == 2, received   # swaks->Postfix, Postfix->mailgw
    assert "by mx.test.example" in received[0], received[0]
    assert "by peer.test.example" in received[1], received[1]
    # Postfix saw mailgw accept it: its log names mailgw's queue ID, which
    # is the ID of mailgw's own log trail.
    wait_until(lambda: _queued_as(pf.log_text(), "bob@example.net"), 30,
               "Postfix's status=sent line")
    qid = _queued_as(pf.log_text(), "bob@example.net")
    gw.wait_log(rf"{qid}: to=<bob@example\.net>, .*status=sent")
    gw.wait_log(rf"{qid}: removed")

    r = smtp_source(pf.port, sessions=5, count=50, size=2048,
                    sender="bulk@origin.test", rcpt="many@example.net",
                    extra=["-N"])
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = sink.wait_count(51, timeout=120)
    rcpts = sorted(x for mm in msgs for x in mm.recipients)
    assert len(rcpts) == 51 and len(set(rcpts)) == 51, rcpts[:5]
    wait_until(lambda: not pf.queue_files(), 60, "Postfix's queue to empty")
    gw.wait_queue_empty()


def test_mailgw_to_postfix_to_sink(gateway, smtp_sink, postfix_peer):
    """swaks -> mailgw -> Postfix -> smtp-sink; Postfix accepts mailgw's
    SMTP (PIPELINING, 8BITMIME) and delivers the same content."""
    sink = smtp_sink()
    pf = postfix_peer(relayhost=sink.nexthop).start()
    gw = gateway(relay_to=pf.port)
    gw.start()
    body = "Grüße, 8-bit body\n..leading dots\n" + "x" * 990 + "\n"
    r = swaks(gw.port, "--from", "carol@origin.test", "--to", "dave@example.net",
              "--header", "Subject: via mailgw", "--header",
              "Message-Id: <gw2pf.1@origin.test>", "--body", body)
    assert r.returncode == 0, r.stdout
    (m,) = sink.wait_count(1, timeout=60)
    assert m.sender == "carol@origin.test" and m.recipients == ["dave@example.net"]
    assert m.header("Message-ID") == "<gw2pf.1@origin.test>"
    assert "..leading dots" in m.body.decode("utf-8", "replace")
    assert ("x" * 990) in m.body.decode()
    assert "Grüße, 8-bit body" in m.body.decode("utf-8", "replace")
    # mailgw's log names Postfix's queue ID from its 250 reply.
    lines = gw.wait_log(rf"to=<dave@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                        rf"{pf.port}, .*status=sent \(250 2\.0\.0 Ok: queued as (\w+)\)")
    pf_qid = re.search(r"queued as (\w+)\)", lines[0]).group(1)
    wait_until(lambda: re.search(rf"{pf_qid}: to=<dave@example\.net>, .*status=sent",
                                 pf.log_text()), 30, "Postfix's delivery line")
    gw.wait_queue_empty()


def test_chain_postfix_mailgw_postfix(gateway, smtp_sink, postfix_peer):
    """Postfix A -> mailgw -> Postfix B -> sink with 100 messages from
    smtp-source: nothing lost, nothing doubled."""
    sink = smtp_sink()
    b = postfix_peer(relayhost=sink.nexthop, myhostname="b.test.example").start()
    gw = gateway(relay_to=b.port)
    gw.start()
    a = postfix_peer(relayhost=f"[127.0.0.1]:{gw.port}",
                     myhostname="a.test.example").start()
    r = smtp_source(a.port, sessions=10, count=100, size=1024,
                    sender="chain@origin.test", rcpt="end@example.net",
                    extra=["-N"])
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = sink.wait_count(100, timeout=180)
    rcpts = [x for mm in msgs for x in mm.recipients]
    assert len(rcpts) == 100 and len(set(rcpts)) == 100, sorted(rcpts)[:5]
    for mm in msgs[:5]:
        hops = " ".join(mm.headers("Received"))
        assert "by b.test.example" in hops and "by mx.test.example" in hops \
            and "by a.test.example" in hops, hops


def test_smtputf8_to_postfix_maildir(gateway, postfix_peer):
    """An SMTPUTF8 message (UTF-8 envelope and headers) goes from mailgw to
    a Postfix that offers SMTPUTF8 and stores it in a Maildir intact;
    Postfix's Received header shows the UTF8ESMTP protocol."""
    nobody = pwd.getpwnam("nobody")
    pf = postfix_peer(virtual_mailbox_domains="static:all",
                      virtual_mailbox_base="__BASE__",
                      virtual_mailbox_maps="static:catchall/",
                      virtual_uid_maps=f"static:{nobody.pw_uid}",
                      virtual_gid_maps=f"static:{nobody.pw_gid}",
                      smtputf8_enable="yes")
    base = pf.dir / "mail"
    base.mkdir()
    os.chown(base, nobody.pw_uid, nobody.pw_gid)
    pf.params["virtual_mailbox_base"] = str(base)
    pf.write()
    pf.start()
    gw = gateway(relay_to=pf.port)
    gw.start()
    c = SmtpConn(gw.port)
    assert "SMTPUTF8" in c.ext, c.ext
    sender, rcpt = "jöran@origin.test", "用户@example.net"
    code, l = c.cmd(f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME")
    assert code == 250, l
    code, l = c.cmd(f"RCPT TO:<{rcpt}>")
    assert code == 250, l
    code, l = c.cmd("DATA")
    assert code == 354, l
    content = (f"From: Jöran <{sender}>\r\nTo: <{rcpt}>\r\n"
               f"Subject: Grüße 日本\r\nMessage-ID: <utf8.1@origin.test>\r\n\r\n"
               f"Körper ✓\r\n").encode()
    c.sock.sendall(content + b".\r\n")
    code, l = c.reply()
    assert code == 250, l
    c.quit()
    wait_until(lambda: list((base / "catchall").rglob("new/*")), 60,
               "the message in Postfix's Maildir")
    (f,) = list((base / "catchall").rglob("new/*"))
    got = f.read_bytes()
    for piece in ("Subject: Grüße 日本\n", "Message-ID: <utf8.1@origin.test>\n",
                  "\n\nKörper ✓\n", f"Return-Path: <{sender}>\n",
                  f"Delivered-To: {rcpt}\n"):
        assert piece.encode() in got, (piece, got[:1000])
    # Postfix names the protocol UTF8SMTP/UTF8ESMTP when SMTPUTF8 was used.
    assert re.search(rb"by peer\.test\.example \(Postfix\) with UTF8E?SMTP", got), \
        got[:800]
    gw.wait_queue_empty()
