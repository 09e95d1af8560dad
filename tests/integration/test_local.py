"""Local delivery through the whole gateway (issue 4): a recipient in
mydestination goes through alias_maps to an mbox file in
mail_spool_directory, in Postfix's mailbox format."""
import os
import pwd
import re

from peers import SmtpConn


def test_alias_to_mbox(gateway):
    gw = gateway()
    spool = gw.dir / "mail"
    spool.mkdir()
    pw = pwd.getpwnam("mailgw")
    os.chown(spool, pw.pw_uid, pw.pw_gid)
    (gw.dir / "team.inc").write_text("# the team\nmailgw\n")
    (gw.dir / "aliases").write_text(
        f"postmaster team\nteam :include:{gw.dir}/team.inc\n")
    gw.set(mydestination="$myhostname", mail_spool_directory=str(spool),
           alias_maps=f"texthash:{gw.dir}/aliases")
    gw.start()
    c = SmtpConn(gw.port)
    body = (b"From: <a@src.test>\r\nSubject: to the postmaster\r\n"
            b"Message-ID: <local1@src.test>\r\n\r\n"
            b"From the start of a line\r\nlast line\r\n")
    code, text = c.send("a@src.test", ["postmaster@mx.test.example"], body)
    c.quit()
    assert code == 250, text
    # One line per final target, as Postfix's local(8) logs aliases.
    gw.wait_log(r"mailgw/local\[\d+\]: \w+: to=<mailgw@mx\.test\.example>, "
                r"orig_to=<postmaster@mx\.test\.example>, relay=local, "
                r".*status=sent \(delivered to mailbox\)")
    gw.wait_queue_empty()
    box = (spool / "mailgw").read_bytes()
    assert re.match(rb"From a@src\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d "
                    rb"\d{4}\n", box), box[:80]
    assert b"\nReturn-Path: <a@src.test>\n" in box
    assert b"\nDelivered-To: postmaster@mx.test.example\n" in box
    assert b"\n>From the start of a line\nlast line\n\n" in box
    assert b"\r" not in box


def local_gateway(gateway, sink, aliases, maps_type="texthash"):
    """A gateway delivering $myhostname locally (mbox spool writable by
    mailgw) with the given aliases(5) text; other mail to the sink."""
    gw = gateway(relay_to=sink.port)
    spool = gw.dir / "mail"
    spool.mkdir()
    pw = pwd.getpwnam("mailgw")
    os.chown(spool, pw.pw_uid, pw.pw_gid)
    (gw.dir / "aliases").write_text(aliases)
    table = f"{maps_type}:{gw.dir}/aliases"
    gw.set(mydestination="$myhostname", mail_spool_directory=str(spool),
           alias_maps=table, alias_database=table)
    return gw, spool, table


def test_newaliases_nested_and_forward(gateway, smtp_sink):
    """newaliases builds the lmdb alias table; postmaster -> admins ->
    (a local user, boss -> an address elsewhere): the user's mailbox gets
    it, and a forwarded copy (Delivered-To: postmaster@...) is queued as
    a new message and relayed to the smarthost, as Postfix's local(8)."""
    sink = smtp_sink()
    gw, spool, table = local_gateway(
        gateway, sink, "# aliases(5)\npostmaster: admins\n"
        "admins: mailgw,\n  boss\nboss: chief@remote.example\n", "lmdb")
    r = gw.cmd("newaliases")
    assert r.rc == 0, r
    assert (gw.dir / "aliases.lmdb").exists()
    # The table answers as Postfix's postalias -q does.
    r = gw.cmd("postalias", "-q", "admins", table)
    assert r.rc == 0 and r.out.strip() == "mailgw, boss", r
    gw.start()
    c = SmtpConn(gw.port)
    body = (b"From: <a@src.test>\r\nSubject: for the postmaster\r\n"
            b"Message-ID: <fwd1@src.test>\r\n\r\nhello\r\n")
    code, text = c.send("a@src.test", ["postmaster@mx.test.example"], body)
    c.quit()
    assert code == 250, text
    gw.wait_log(r"mailgw/local\[\d+\]: \w+: to=<mailgw@mx\.test\.example>, "
                r"orig_to=<postmaster@mx\.test\.example>, relay=local, "
                r".*dsn=2\.0\.0, status=sent \(delivered to mailbox\)")
    (line,) = gw.wait_log(
        r"mailgw/local\[\d+\]: \w+: to=<chief@remote\.example>, "
        r"orig_to=<postmaster@mx\.test\.example>, relay=local, .*"
        r"dsn=2\.0\.0, status=sent \(forwarded as \w+\)")
    newqid = re.search(r"forwarded as (\w+)\)", line).group(1)
    gw.wait_log(rf"mailgw/cleanup\[\d+\]: {newqid}: "
                r"message-id=<fwd1@src\.test>")
    gw.wait_log(rf"{newqid}: to=<chief@remote\.example>, "
                rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sink.port}, "
                r".*status=sent")
    (m,) = sink.wait_count(1)
    assert m.sender == "a@src.test"
    assert m.recipients == ["chief@remote.example"]
    assert m.header("Delivered-To") == "postmaster@mx.test.example"
    assert m.header("Message-ID") == "<fwd1@src.test>"
    box = (spool / "mailgw").read_bytes()
    assert b"\nDelivered-To: postmaster@mx.test.example\n" in box
    assert b"\nhello\n" in box
    gw.wait_queue_empty()


def submit(gw, body, sender="a@src.test",
           rcpts=("postmaster@mx.test.example",)):
    c = SmtpConn(gw.port)
    code, text = c.send(sender, list(rcpts), body)
    c.quit()
    assert code == 250, text


def test_forwarded_copy_logs_message_id_escaped(gateway, smtp_sink):
    """The forwarded copy's cleanup line gets the Message-ID as smtpd's
    does: a folded value unfolded, control characters escaped (\\ooo),
    so a header from the network cannot forge or break a log line."""
    sink = smtp_sink()
    gw, _, _ = local_gateway(gateway, sink,
                             "postmaster chief@remote.example\n")
    gw.start()
    submit(gw, b"From: <a@src.test>\r\nSubject: folded id\r\n"
           b"Message-ID:\r\n <fwd2\x01x@src.test>\r\n\t(Jan 1 00:00:00 vm "
           b"mailgw/fake[1]: forged)\r\n\r\nhello\r\n")
    want = (r"<fwd2\\001x@src\.test>\\011\(Jan 1 00:00:00 vm "
            r"mailgw/fake\[1\]: forged\)$")
    (line,) = gw.wait_log(r"status=sent \(forwarded as \w+\)")
    newqid = re.search(r"forwarded as (\w+)\)", line).group(1)
    qid = re.search(r": (\w+): to=<chief@remote", line).group(1)
    # The original (smtpd) and the copy (the local agent) alike.
    gw.wait_log(rf"mailgw/cleanup\[\d+\]: {qid}: message-id={want}")
    gw.wait_log(rf"mailgw/cleanup\[\d+\]: {newqid}: message-id={want}")
    (m,) = sink.wait_count(1)
    assert m.recipients == ["chief@remote.example"]
    gw.wait_queue_empty()
    text = gw.log_text()
    assert "\x01" not in text
    assert not re.search(r"^\s*\(Jan 1", text, re.M)
    assert not [ln for ln in text.splitlines() if "mailgw/fake" in ln
                and "message-id=" not in ln]


def test_forwarding_loop_bounces(gateway, smtp_sink):
    """A message that comes back with our Delivered-To bounces 5.4.6."""
    sink = smtp_sink()
    gw, spool, _ = local_gateway(gateway, sink, "postmaster: mailgw\n")
    gw.start()
    c = SmtpConn(gw.port)
    body = (b"Delivered-To: postmaster@mx.test.example\r\n"
            b"From: <a@src.test>\r\nSubject: looped\r\n\r\nx\r\n")
    code, text = c.send("a@src.test", ["postmaster@mx.test.example"], body)
    c.quit()
    assert code == 250, text
    gw.wait_log(r"to=<postmaster@mx\.test\.example>, relay=local, .*"
                r"dsn=5\.4\.6, status=bounced \(mail forwarding loop for "
                r"postmaster@mx\.test\.example\)")
    # The notice goes to the sender through the smarthost.
    (m,) = sink.wait_count(1)
    assert m.recipients == ["a@src.test"] and m.sender == ""
    assert not (spool / "mailgw").exists()


def test_unknown_local_recipient_rejected_at_rcpt(gateway, smtp_sink):
    """local_recipient_maps (default unix:passwd.byname $alias_maps): an
    address in mydestination that is neither a user nor an alias is
    refused at RCPT with Postfix's text, never accepted and bounced."""
    sink = smtp_sink()
    gw, spool, _ = local_gateway(gateway, sink, "team mailgw\n")
    gw.start()
    c = SmtpConn(gw.port)  # greeting and EHLO done
    code, _ = c.cmd("MAIL FROM:<a@src.test>")
    assert code == 250
    code, lines = c.cmd("RCPT TO:<nosuchuser@mx.test.example>")
    text = " ".join(lines)
    assert code == 550, text
    assert text == ("5.1.1 <nosuchuser@mx.test.example>: Recipient "
            "address rejected: User unknown in local recipient "
            "table"), text
    for ok in ("mailgw@mx.test.example", "team@mx.test.example",
               "postmaster@mx.test.example", "abuse@mx.test.example"):
        code, lines = c.cmd(f"RCPT TO:<{ok}>")
        assert code == 250, (ok, lines)
    c.quit()
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 550 5\.1\.1 "
                r"<nosuchuser@mx\.test\.example>: Recipient address "
                r"rejected: User unknown in local recipient table; "
                r"from=<a@src\.test> to=<nosuchuser@mx\.test\.example> "
                r"proto=ESMTP helo=<client\.test>")
