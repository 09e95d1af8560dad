"""Bounces, delivery status notifications and retries.

Layout: the relayhost is an accepting smtp-sink ("good"); transport_maps
sends bad.example to a second smtp-sink that answers 5xx to RCPT ("bad"),
and defer.example to a third answering 4xx ("soft"). Notifications go to
the envelope sender (sender.test), i.e. through the relayhost to the good
sink, where the test reads them.
"""
import email
import email.policy
import re

from peers import SmtpConn, wait_until

BAD_REPLY = "550 5.1.1 Recipient address rejected: no such user here"
SOFT_REPLY = "451 4.3.2 Try again later please"


def _setup(gateway, smtp_sink, good_opts=(), **main_cf):
    good = smtp_sink(options=good_opts)
    bad = smtp_sink(options=["-f", "RCPT", "-B", BAD_REPLY])
    soft = smtp_sink(options=["-r", "RCPT", "-b", SOFT_REPLY])
    tm = (f"inline:{{ bad.example=smtp:{bad.nexthop}, "
          f"defer.example=smtp:{soft.nexthop} }}")
    gw = gateway(relay_to=good.port, transport_maps=tm, **main_cf)
    gw.start()
    return gw, good, bad, soft


def _send(gw, sender, rcpts, *, mail_params="", rcpt_params="", subject="t",
          body=b"original body line\r\n", msgid=None):
    c = SmtpConn(gw.port)
    code, l = c.cmd(f"MAIL FROM:<{sender}>{' ' + mail_params if mail_params else ''}")
    assert code == 250, l
    for r in rcpts:
        code, l = c.cmd(f"RCPT TO:<{r}>{' ' + rcpt_params if rcpt_params else ''}")
        assert code == 250, (r, l)
    code, l = c.cmd("DATA")
    assert code == 354, l
    msgid = msgid or f"{subject.replace(' ', '.')}@sender.test"
    c.sock.sendall(f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\n"
                   f"Subject: {subject}\r\nMessage-ID: <{msgid}>\r\n\r\n".encode()
                   + body + b".\r\n")
    code, l = c.reply()
    assert code == 250, l
    qid = re.search(r"queued as (\S+)", " ".join(l))
    c.quit()
    return qid.group(1) if qid else None


def _dsns(sink, to=None):
    out = []
    for m in sink.messages():
        if m.sender == "" and (to is None or to in m.recipients):
            out.append(m)
    return out


def _parse_dsn(m):
    """(report message, list of per-recipient field dicts, returned part)."""
    msg = email.message_from_bytes(m.content, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status", msg["Content-Type"]
    parts = msg.get_payload()
    assert parts[0].get_content_type() == "text/plain", \
        [p.get_content_type() for p in parts]
    ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert len(ds) == 1, [p.get_content_type() for p in parts]
    blocks = ds[0].get_payload()
    # First block: per-message fields; then one per recipient.
    per_msg = dict(blocks[0].items())
    rcpts = [dict(b.items()) for b in blocks[1:]]
    assert "Reporting-MTA" in per_msg, per_msg
    returned = parts[2] if len(parts) > 2 else None
    return msg, per_msg, rcpts, returned


def test_5xx_bounce_dsn_to_sender(gateway, smtp_sink):
    gw, good, bad, soft = _setup(gateway, smtp_sink)
    qid = _send(gw, "sender@sender.test", ["nobody@bad.example"],
                subject="will bounce")
    gw.wait_log(r"to=<nobody@bad\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]"
                rf":{bad.port}, .*dsn=5\.1\.1, status=bounced \(host "
                r"127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 Recipient "
                r"address rejected: no such user here \(in reply to RCPT TO "
                r"command\)\)")
    if qid:
        gw.wait_log(rf"{qid}: sender non-delivery notification: \w+")
    wait_until(lambda: _dsns(good, "sender@sender.test"), 60,
               "the DSN at the sender's sink")
    gw.wait_queue_empty()
    (m,) = _dsns(good, "sender@sender.test")
    msg, per_msg, rcpts, returned = _parse_dsn(m)
    assert re.search(r"MAILER-DAEMON@", msg["From"] or ""), msg["From"]
    assert msg["To"] and "sender@sender.test" in msg["To"], msg["To"]
    assert "mx.test.example" in per_msg["Reporting-MTA"], per_msg
    assert len(rcpts) == 1, rcpts
    r = rcpts[0]
    assert r["Final-Recipient"].replace(" ", "").lower() == \
        "rfc822;nobody@bad.example", r
    assert r["Action"] == "failed", r
    assert r["Status"] == "5.1.1", r
    assert r["Remote-MTA"].replace(" ", "").lower() == "dns;127.0.0.1", r
    assert re.fullmatch(r"smtp;\s*" + re.escape(BAD_REPLY),
                        " ".join(r["Diagnostic-Code"].split())), r
    # Default RET: the whole original message comes back.
    assert returned is not None
    assert returned.get_content_type() in ("message/rfc822",
                                           "text/rfc822-headers"), \
        returned.get_content_type()
    raw = m.content.decode("utf-8", "replace")
    assert "Subject: will bounce" in raw
    assert "original body line" in raw, "RET default (FULL) must return the body"


def test_ret_hdrs_returns_headers_only(gateway, smtp_sink):
    gw, good, bad, soft = _setup(gateway, smtp_sink)
    _send(gw, "s1@sender.test", ["x@bad.example"], mail_params="RET=HDRS ENVID=abc123",
          subject="ret hdrs", body=b"SECRET-BODY-LINE\r\n")
    _send(gw, "s2@sender.test", ["y@bad.example"], mail_params="RET=FULL",
          subject="ret full", body=b"FULL-BODY-LINE\r\n")
    wait_until(lambda: len(_dsns(good)) >= 2, 60, "two DSNs")
    gw.wait_queue_empty()
    (hdrs,) = _dsns(good, "s1@sender.test")
    (full,) = _dsns(good, "s2@sender.test")
    _, per_msg, _, ret = _parse_dsn(hdrs)
    assert ret.get_content_type() == "text/rfc822-headers", ret.get_content_type()
    assert per_msg.get("Original-Envelope-Id") == "abc123", per_msg
    assert b"Subject: ret hdrs" in hdrs.content
    assert b"SECRET-BODY-LINE" not in hdrs.content
    _, _, _, ret = _parse_dsn(full)
    assert ret.get_content_type() == "message/rfc822", ret.get_content_type()
    assert b"FULL-BODY-LINE" in full.content


def test_null_sender_gets_no_bounce(gateway, smtp_sink):
    gw, good, bad, soft = _setup(gateway, smtp_sink)
    _send(gw, "", ["z@bad.example"], subject="null sender")
    gw.wait_log(r"to=<z@bad\.example>, .*status=bounced")
    gw.wait_queue_empty()
    assert good.messages() == [], good.messages()
    assert not gw.log_lines(r"non-delivery notification")


def test_notify_never_no_bounce(gateway, smtp_sink):
    gw, good, bad, soft = _setup(gateway, smtp_sink)
    _send(gw, "quiet@sender.test", ["n@bad.example"], rcpt_params="NOTIFY=NEVER",
          subject="notify never")
    gw.wait_log(r"to=<n@bad\.example>, .*status=bounced")
    gw.wait_queue_empty()
    assert _dsns(good) == [], _dsns(good)


def test_notify_success_relayed_dsn(gateway, smtp_sink):
    """The next hop does not announce DSN (smtp-sink -N): mailgw itself
    confirms NOTIFY=SUCCESS with an "Action: relayed" notification, as
    Postfix does. A failing recipient of the same message with
    NOTIFY=SUCCESS,FAILURE gets its failure DSN."""
    gw, good, bad, soft = _setup(gateway, smtp_sink, good_opts=["-N"])
    _send(gw, "notify@sender.test", ["ok@example.net", "fail@bad.example"],
          rcpt_params="NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig@example.net",
          subject="notify success")
    wait_until(lambda: len(_dsns(good, "notify@sender.test")) >= 2, 60,
               "success and failure notifications")
    gw.wait_queue_empty()
    delivered = [m for m in good.messages() if m.sender == "notify@sender.test"]
    assert len(delivered) == 1 and delivered[0].recipients == ["ok@example.net"]
    # Without DSN at the next hop, the NOTIFY parameters are not passed on.
    assert "NOTIFY" not in " ".join(delivered[0].rcpt_args)
    actions = {}
    for m in _dsns(good, "notify@sender.test"):
        _, _, rcpts, _ = _parse_dsn(m)
        for r in rcpts:
            actions[r["Final-Recipient"].split(";")[1].strip()] = r
    assert actions["ok@example.net"]["Action"] == "relayed", actions
    assert actions["ok@example.net"]["Status"].startswith("2."), actions
    assert actions["ok@example.net"].get("Original-Recipient", "").replace(
        " ", "") == "rfc822;orig@example.net", actions
    assert actions["fail@bad.example"]["Action"] == "failed", actions
    assert actions["fail@bad.example"]["Status"] == "5.1.1", actions


def test_no_success_dsn_when_next_hop_does_dsn(gateway, smtp_sink):
    """smtp-sink announces DSN: NOTIFY=SUCCESS is passed on and mailgw
    sends no notification of its own (the next hop answers for it)."""
    gw, good, bad, soft = _setup(gateway, smtp_sink)
    _send(gw, "pass@sender.test", ["ok@example.net"], rcpt_params="NOTIFY=SUCCESS",
          subject="notify passed on")
    (m,) = good.wait_count(1)
    gw.wait_queue_empty()
    assert "NOTIFY=SUCCESS" in " ".join(m.rcpt_args), m.rcpt_args
    assert _dsns(good) == []


def test_4xx_deferred_then_flushed(gateway, smtp_sink):
    """4xx from the next hop: status=deferred in the log, the message in
    deferred/ and in mailq; once the sink accepts, postqueue -f delivers it
    (the backoff is long, so only the flush can)."""
    gw, good, bad, soft = _setup(gateway, smtp_sink, minimal_backoff_time="600s",
                                 maximal_backoff_time="1200s",
                                 queue_run_delay="600s")
    qid = _send(gw, "patient@sender.test", ["later@defer.example"],
                subject="deferred")
    lines = gw.wait_log(r"to=<later@defer\.example>, .*dsn=4\.3\.2, "
                        r"status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: "
                        + re.escape(SOFT_REPLY) + r" \(in reply to RCPT TO command\)\)")
    logged_qid = re.search(r"\]: (\w+): to=", lines[0]).group(1)
    if qid:
        assert qid == logged_qid, (qid, lines[0])
    wait_until(lambda: gw.queue_files(["deferred"]), 30, "a file in deferred/")
    q = gw.cmd("mailq")
    assert q.rc == 0, q
    assert logged_qid in q.out, q.out
    assert "patient@sender.test" in q.out and "later@defer.example" in q.out, q.out
    assert "Try again later please" in q.out, q.out
    assert re.search(r"-- \d+ Kbytes in 1 Request\.", q.out), q.out
    soft.restart(options=[])
    assert soft.count() == 0
    r = gw.cmd("postqueue", "-f")
    assert r.rc == 0, r
    (m,) = soft.wait_count(1, timeout=60)
    assert m.recipients == ["later@defer.example"]
    gw.wait_log(rf"{logged_qid}: to=<later@defer\.example>, .*status=sent")
    gw.wait_queue_empty()
    q = gw.cmd("mailq")
    assert "Mail queue is empty" in q.out, q.out
    assert _dsns(good) == []


def test_4xx_retried_by_backoff(gateway, smtp_sink):
    """With a 1 s backoff the deferred message is retried on its own and
    delivered once the sink accepts; each attempt logs status=deferred."""
    gw, good, bad, soft = _setup(gateway, smtp_sink)
    _send(gw, "retry@sender.test", ["again@defer.example"], subject="retry")
    gw.wait_log(r"to=<again@defer\.example>, .*status=deferred", count=2,
                timeout=60)
    soft.restart(options=[])
    (m,) = soft.wait_count(1, timeout=60)
    gw.wait_log(r"to=<again@defer\.example>, .*status=sent")
    gw.wait_queue_empty()
    # A sink killed by the restart mid-transaction (its RCPT refused)
    # leaves an empty dump file: count delivered messages only.
    assert len([x for x in soft.messages() if x.rcpt_args]) == 1


def test_mixed_recipients_partial_bounce(gateway, smtp_sink):
    """One message, three recipients: one sent, one bounced, one deferred.
    Only the bounced one is in the DSN; the deferred one stays queued."""
    gw, good, bad, soft = _setup(gateway, smtp_sink, minimal_backoff_time="600s",
                                 maximal_backoff_time="1200s",
                                 queue_run_delay="600s")
    _send(gw, "mixed@sender.test",
          ["ok@example.net", "no@bad.example", "wait@defer.example"],
          subject="mixed")
    wait_until(lambda: _dsns(good, "mixed@sender.test"), 60, "the DSN")
    gw.wait_log(r"to=<wait@defer\.example>, .*status=deferred")
    gw.wait_log(r"to=<ok@example\.net>, .*status=sent")
    (m,) = _dsns(good, "mixed@sender.test")
    _, _, rcpts, _ = _parse_dsn(m)
    assert [r["Final-Recipient"].split(";")[1].strip() for r in rcpts] == \
        ["no@bad.example"], rcpts
    files = gw.queue_files()
    assert len(files) == 1, files
    delivered = [x for x in good.messages() if x.sender == "mixed@sender.test"]
    assert [x.recipients for x in delivered] == [["ok@example.net"]]
